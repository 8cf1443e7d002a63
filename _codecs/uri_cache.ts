/**
 * Private: a small cache of URIs revived from whole payloads, for the text codecs (json,
 * serpent). A proxy gets the same few URIs as whole replies over and over (Name Server lookups,
 * PYRONAME resolution): a payload that starts as a URI's map does, is short and holds no other
 * dict is looked up by a hash of its bytes, then compared, and a hit returns the URI revived from
 * the same bytes before instead of parsing them and building it again. URIs are immutable; the
 * cached ones are frozen and shared. Bounded (cleared when full), and unused while a dict hook
 * for `Pyro5.core.URI` is registered. (msgpack has its own, on the URI's state bytes.)
 *
 * @example A json lookup reply, decoded twice
 * ```ts
 * import { UriPayloadCache } from "./uri_cache.ts";
 * import { jsonSerializer } from "./json.ts";
 *
 * const cache = new UriPayloadCache('{"__class__": "Pyro5.core.URI", "state": [');
 * const data = new TextEncoder().encode(
 *   '{"__class__": "Pyro5.core.URI", "state": ["PYRO", "obj", null, "localhost", 9090]}',
 * );
 * const loads = (bytes: Uint8Array) => cache.loads(bytes, jsonSerializer.loads);
 * console.log(loads(data) === loads(data)); // true
 * ```
 *
 * @module
 */

import { hasDictHook } from "../class_registry.ts";
import { URI } from "../uri.ts";

const URI_CLASS = "Pyro5.core.URI";
/** Longer payloads are not cached (a URI's map is well under this). */
const MAX_PAYLOAD = 512;
/** Entries kept; the cache is cleared when it is full. */
const MAX_ENTRIES = 64;

/** One cache of URIs by the bytes of the whole payload they were revived from. */
export class UriPayloadCache {
  readonly #prefix: Uint8Array;
  readonly #entries = new Map<number, { bytes: Uint8Array; uri: URI }>();

  /**
   * Makes an empty cache.
   *
   * @example
   * ```ts
   * import { UriPayloadCache } from "./uri_cache.ts";
   * const cache = new UriPayloadCache("{'__class__':'Pyro5.core.URI','state':(");
   * console.log(cache instanceof UriPayloadCache); // true
   * ```
   *
   * @param prefix How a payload holding one URI starts in this format (ASCII).
   */
  constructor(prefix: string) {
    this.#prefix = Uint8Array.from(prefix, (c) => c.charCodeAt(0));
  }

  /**
   * Decodes a payload with `decode`, or returns the URI that the same bytes gave lately. Only
   * payloads that decode to a URI are kept; anything else is decoded every time.
   *
   * @example
   * ```ts
   * import { UriPayloadCache } from "./uri_cache.ts";
   * import { jsonSerializer } from "./json.ts";
   * const cache = new UriPayloadCache('{"__class__": "Pyro5.core.URI", "state": [');
   * console.log(cache.loads(new TextEncoder().encode("[1]"), jsonSerializer.loads)); // [ 1 ]
   * ```
   *
   * @param data The whole payload.
   * @param decode The codec's decoder (its limits and errors apply to every miss).
   * @returns The decoded value.
   */
  loads(data: Uint8Array, decode: (data: Uint8Array) => unknown): unknown {
    const key = this.#key(data);
    if (key < 0) return decode(data);
    const hit = this.#entries.get(key);
    if (hit !== undefined && sameBytes(hit.bytes, data)) return hit.uri;
    const value = decode(data);
    if (value instanceof URI) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
      this.#entries.set(key, { bytes: data.slice(), uri: Object.freeze(value) });
    }
    return value;
  }

  /**
   * The hash of a payload that may be cached (it starts as a URI's map, is short, holds no other
   * `{`, and no dict hook for URIs is registered), or -1.
   */
  #key(data: Uint8Array): number {
    const prefix = this.#prefix;
    const n = prefix.length;
    const end = data.length;
    if (end <= n || end > MAX_PAYLOAD) return -1;
    for (let i = 0; i < n; i++) if (data[i] !== prefix[i]) return -1;
    if (hasDictHook(URI_CLASS)) return -1;
    let h = 0x811c9dc5; // FNV-1a
    for (let i = n; i < end; i++) {
      const b = data[i]!;
      if (b === 0x7b) return -1; // another dict: its revival may not be the same twice
      h = Math.imul(h ^ b, 0x01000193);
    }
    return h >>> 0;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (b.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
