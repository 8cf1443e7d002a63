/**
 * Private: a msgpack writer producing the bytes Python's `msgpack.packb(use_bin_type=True)` and
 * Pyro5's `default()` hook give: smallest int forms, float64 for every float, str for text,
 * bin for bytes, ext 0x30 complex, 0x31 big int, 0x32 datetime. It writes straight from the
 * value tree (no intermediate copy) into one growing buffer that is reused across calls.
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import { offerHeadroom } from "../_wire/protocol.ts";
import { POOL_MIN, takeBuffer } from "../_wire/buffer_pool.ts";
import { AUTOPROXY, hasClassHooks, NOT_SPECIAL, replaceSpecial } from "../class_registry.ts";
import { URI } from "../uri.ts";
import { Complex } from "../value.ts";
import {
  instanceToRecord,
  isIntNumber,
  isPlainObject,
  mapKeyToString,
  MAX_DEPTH,
  tooDeep,
  unsupported,
} from "./common.ts";

const NAME = "msgpack";
const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MIN = -(2n ** 63n);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const textEncoder = new TextEncoder();
/** Bytes kept free before the output, so a frame header and annotations can go in front of it. */
const HEADROOM = 256;
/** Outputs from this size on are handed over (no copy) together with their headroom. */
const HANDOVER = 64 * 1024;
/** Framed outputs up to this length are views made once per length (see `#take`). */
const VIEWS_MAX = 512;
/** Longer call prefixes (array head, object id, method name) are not kept. */
const CALL_PREFIX_MAX = 64;

const URI_KEYS = ["__class__", "Pyro5.core.URI", "state"];
/**
 * The start of a serialized URI, as `replaceSpecial` gives it: a map of two entries, key
 * `__class__` with `Pyro5.core.URI`, key `state`, and the head of its array of five.
 */
const URI_HEAD = Uint8Array.from([
  0x82,
  ...URI_KEYS.flatMap((k) => [0xa0 | k.length, ...textEncoder.encode(k)]),
  0x95,
]);

/** True when a for-in loop finds no key (then neither does `Object.keys`): no array made. */
function hasNoKeys(record: unknown): boolean {
  for (const _ in record as object) return false;
  return true;
}

/** A reusable msgpack writer; one instance is not re-entrant. */
export class MsgpackWriter {
  #buf = new Uint8Array(2048);
  #view = new DataView(this.#buf.buffer);
  /**
   * Views of `#buf` from HEADROOM, by length: a framed output is valid only until the next
   * encode anyway, and making a view costs about as much as writing a short payload.
   */
  #views: Uint8Array[] = [];
  /** The bytes of the last call up to its params, and the object id and method they are for. */
  #callPrefix = new Uint8Array(0);
  #callObject: string | null = null;
  #callMethod: string | null = null;
  #pos = HEADROOM;
  /** True while an encode is running (hooks that encode again get a fresh writer). */
  busy = false;

  /**
   * Encodes a value and returns a fresh copy of the bytes.
   *
   * @param value The value.
   * @param framed Return a view into the writer's own buffer when small (no copy), valid
   *   only until the writer's next use; for bytes that are framed at once.
   * @returns The msgpack bytes.
   */
  encode(value: unknown, framed = false): Uint8Array {
    this.busy = true;
    this.#pos = HEADROOM;
    try {
      this.#write(value, 0);
      return this.#take(framed);
    } finally {
      this.busy = false;
      if (this.#buf.length > 1 << 20) this.#resize(2048); // do not keep a huge buffer alive
    }
  }

  /**
   * Encodes an INVOKE payload `[object, method, params, kwargs]`.
   *
   * @returns The msgpack bytes (a framed view as with {@linkcode MsgpackWriter.encode}).
   */
  encodeCall(
    object: string,
    method: string,
    params: unknown[],
    kwargs: unknown,
    framed = false,
  ): Uint8Array {
    this.busy = true;
    this.#pos = HEADROOM;
    try {
      if (object === this.#callObject && method === this.#callMethod) {
        // The same object and method as the call before: their bytes again.
        const prefix = this.#callPrefix;
        const n = prefix.length;
        this.#ensure(n);
        const buf = this.#buf;
        const p = this.#pos;
        for (let i = 0; i < n; i++) buf[p + i] = prefix[i]!; // short: a loop beats set()
        this.#pos = p + n;
      } else {
        this.#ensure(1);
        this.#buf[this.#pos++] = 0x94;
        this.#string(object);
        this.#string(method);
        if (this.#pos - HEADROOM <= CALL_PREFIX_MAX) {
          this.#callPrefix = this.#buf.slice(HEADROOM, this.#pos);
          this.#callObject = object;
          this.#callMethod = method;
        }
      }
      this.#array(params, 1);
      if (kwargs === null || kwargs === undefined) this.#u8(0xc0);
      else if (hasNoKeys(kwargs)) this.#u8(0x80); // most calls: no list of keys to make
      else this.#record(kwargs as Record<string, unknown>, 1);
      return this.#take(framed);
    } finally {
      this.busy = false;
      if (this.#buf.length > 1 << 20) this.#resize(2048);
    }
  }

  /**
   * The output: when small, a copy (or with `framed`, a view of the writer's buffer); when
   * large, the buffer itself (no copy), whose headroom `encodeMessage` may then fill with the
   * frame header.
   */
  #take(framed: boolean): Uint8Array {
    const end = this.#pos;
    const n = end - HEADROOM;
    if (n < HANDOVER) {
      if (!framed) return this.#buf.slice(HEADROOM, end);
      if (n > VIEWS_MAX) return this.#buf.subarray(HEADROOM, end);
      return this.#views[n] ??= this.#buf.subarray(HEADROOM, end);
    }
    const out = this.#buf.subarray(HEADROOM, end);
    offerHeadroom(out);
    this.#buf = new Uint8Array(2048);
    this.#view = new DataView(this.#buf.buffer);
    this.#views = [];
    return out;
  }

  #resize(size: number): void {
    const spare = size >= POOL_MIN ? takeBuffer(size, size * 2) : null;
    const next = spare !== null ? new Uint8Array(spare) : new Uint8Array(size);
    if (size > this.#buf.length) next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
    this.#views = [];
  }

  #ensure(n: number): void {
    const need = this.#pos + n;
    if (need > this.#buf.length) this.#resize(Math.max(need, this.#buf.length * 2));
  }

  #u8(b: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = b;
  }

  #head16(b: number, n: number): void {
    this.#ensure(3);
    this.#buf[this.#pos] = b;
    this.#view.setUint16(this.#pos + 1, n);
    this.#pos += 3;
  }

  #head32(b: number, n: number): void {
    this.#ensure(5);
    this.#buf[this.#pos] = b;
    this.#view.setUint32(this.#pos + 1, n);
    this.#pos += 5;
  }

  #int(n: number): void {
    this.#ensure(9);
    const buf = this.#buf, view = this.#view, p = this.#pos;
    if (n >= 0) {
      if (n < 0x80) {
        buf[p] = n;
        this.#pos = p + 1;
      } else if (n < 0x100) {
        buf[p] = 0xcc;
        buf[p + 1] = n;
        this.#pos = p + 2;
      } else if (n < 0x10000) {
        buf[p] = 0xcd;
        view.setUint16(p + 1, n);
        this.#pos = p + 3;
      } else if (n < 0x100000000) {
        buf[p] = 0xce;
        view.setUint32(p + 1, n);
        this.#pos = p + 5;
      } else {
        buf[p] = 0xcf;
        view.setBigUint64(p + 1, BigInt(n));
        this.#pos = p + 9;
      }
    } else if (n >= -0x20) {
      buf[p] = n & 0xff;
      this.#pos = p + 1;
    } else if (n >= -0x80) {
      buf[p] = 0xd0;
      view.setInt8(p + 1, n);
      this.#pos = p + 2;
    } else if (n >= -0x8000) {
      buf[p] = 0xd1;
      view.setInt16(p + 1, n);
      this.#pos = p + 3;
    } else if (n >= -0x80000000) {
      buf[p] = 0xd2;
      view.setInt32(p + 1, n);
      this.#pos = p + 5;
    } else {
      buf[p] = 0xd3;
      view.setBigInt64(p + 1, BigInt(n));
      this.#pos = p + 9;
    }
  }

  #float(x: number): void {
    this.#ensure(9);
    this.#buf[this.#pos] = 0xcb;
    this.#view.setFloat64(this.#pos + 1, x);
    this.#pos += 9;
  }

  #bigint(n: bigint): void {
    if (n >= MIN_SAFE && n <= MAX_SAFE) return this.#int(Number(n));
    if (n >= 0n && n <= UINT64_MAX) {
      this.#ensure(9);
      this.#buf[this.#pos] = 0xcf;
      this.#view.setBigUint64(this.#pos + 1, n);
      this.#pos += 9;
    } else if (n < 0n && n >= INT64_MIN) {
      this.#ensure(9);
      this.#buf[this.#pos] = 0xd3;
      this.#view.setBigInt64(this.#pos + 1, n);
      this.#pos += 9;
    } else {
      this.#ext(0x31, textEncoder.encode(n.toString()));
    }
  }

  #string(s: string): void {
    const n = s.length;
    if (n < 32) {
      // Short strings: ASCII fast path without a TextEncoder call.
      this.#ensure(1 + n);
      const buf = this.#buf;
      let p = this.#pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[this.#pos] = 0xa0 | n;
        this.#pos = p;
        return;
      }
    }
    // General case: encode after a 5-byte header slot, then fit the header.
    const max = n * 3;
    this.#ensure(5 + max);
    const start = this.#pos;
    const { written } = textEncoder.encodeInto(s, this.#buf.subarray(start + 5, start + 5 + max));
    const head = written < 32 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5;
    if (head !== 5) this.#buf.copyWithin(start + head, start + 5, start + 5 + written);
    const buf = this.#buf;
    if (head === 1) buf[start] = 0xa0 | written;
    else if (head === 2) {
      buf[start] = 0xd9;
      buf[start + 1] = written;
    } else if (head === 3) {
      buf[start] = 0xda;
      this.#view.setUint16(start + 1, written);
    } else {
      buf[start] = 0xdb;
      this.#view.setUint32(start + 1, written);
    }
    this.#pos = start + head + written;
  }

  #bytes(b: Uint8Array): void {
    const n = b.length;
    if (n < 0x100) {
      this.#ensure(2 + n);
      this.#buf[this.#pos++] = 0xc4;
      this.#buf[this.#pos++] = n;
    } else if (n < 0x10000) this.#head16(0xc5, n);
    else this.#head32(0xc6, n);
    this.#ensure(n);
    this.#buf.set(b, this.#pos);
    this.#pos += n;
  }

  #ext(type: number, data: Uint8Array): void {
    const n = data.length;
    const fixed = n === 1
      ? 0xd4
      : n === 2
      ? 0xd5
      : n === 4
      ? 0xd6
      : n === 8
      ? 0xd7
      : n === 16
      ? 0xd8
      : 0;
    this.#ensure(6 + n);
    if (fixed !== 0) this.#buf[this.#pos++] = fixed;
    else if (n < 0x100) {
      this.#buf[this.#pos++] = 0xc7;
      this.#buf[this.#pos++] = n;
    } else if (n < 0x10000) this.#head16(0xc8, n);
    else this.#head32(0xc9, n);
    this.#buf[this.#pos++] = type & 0xff;
    this.#buf.set(data, this.#pos);
    this.#pos += n;
  }

  #arrayHead(n: number): void {
    if (n < 16) this.#u8(0x90 | n);
    else if (n < 0x10000) this.#head16(0xdc, n);
    else this.#head32(0xdd, n);
  }

  #mapHead(n: number): void {
    if (n < 16) this.#u8(0x80 | n);
    else if (n < 0x10000) this.#head16(0xde, n);
    else this.#head32(0xdf, n);
  }

  #array(items: ArrayLike<unknown>, depth: number): void {
    const n = items.length;
    this.#arrayHead(n);
    for (let i = 0; i < n; i++) this.#write(items[i], depth);
  }

  #record(record: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(record);
    this.#mapHead(keys.length);
    for (const k of keys) {
      this.#string(k);
      this.#write(record[k], depth);
    }
  }

  #map(map: Map<unknown, unknown>, depth: number): void {
    this.#mapHead(map.size);
    for (const [k, v] of map) {
      if (k instanceof Uint8Array) this.#bytes(k);
      else this.#string(mapKeyToString(k, NAME));
      this.#write(v, depth);
    }
  }

  #write(value: unknown, depth: number): void {
    switch (typeof value) {
      case "string":
        return this.#string(value);
      case "number":
        return isIntNumber(value) ? this.#int(value) : this.#float(value);
      case "boolean":
        return this.#u8(value ? 0xc3 : 0xc2);
      case "bigint":
        return this.#bigint(value);
      case "undefined":
        return this.#u8(0xc0);
      case "object":
        if (value === null) return this.#u8(0xc0);
        if (depth > MAX_DEPTH) throw tooDeep(NAME);
        return this.#object(value, depth + 1);
      default:
        throw unsupported(value, NAME);
    }
  }

  #object(value: object, depth: number): void {
    if (Array.isArray(value)) return this.#array(value, depth);
    if (value instanceof Uint8Array) return this.#bytes(value);
    if (isPlainObject(value) && !(AUTOPROXY in value)) return this.#record(value, depth);
    if (value instanceof URI && !hasClassHooks() && !(AUTOPROXY in value)) {
      return this.#uri(value, depth);
    }
    if (ArrayBuffer.isView(value)) {
      return this.#bytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    }
    if (value instanceof ArrayBuffer) return this.#bytes(new Uint8Array(value));
    const replacement = replaceSpecial(value, NAME);
    if (replacement !== NOT_SPECIAL) return this.#write(replacement, depth);
    if (value instanceof Set) return this.#array([...value], depth);
    if (value instanceof Map) return this.#map(value, depth);
    if (value instanceof Date) return this.#date(value);
    if (value instanceof Complex) {
      const data = new Uint8Array(16);
      const view = new DataView(data.buffer);
      view.setFloat64(0, value.re, true);
      view.setFloat64(8, value.im, true);
      return this.#ext(0x30, data);
    }
    return this.#record(instanceToRecord(value), depth);
  }

  /** A URI as its `Pyro5.core.URI` map, written without building the map (Name Server lookups). */
  #uri(uri: URI, depth: number): void {
    // The depths are those of the map's way: the map at `depth`, its state array one deeper.
    if (depth + 1 > MAX_DEPTH) throw tooDeep(NAME);
    const n = URI_HEAD.length;
    this.#ensure(n);
    const buf = this.#buf;
    const p = this.#pos;
    for (let i = 0; i < n; i++) buf[p + i] = URI_HEAD[i]!;
    this.#pos = p + n;
    this.#string(uri.protocol);
    if (uri.protocol === "PYROMETA") this.#write([...uri.tags], depth + 2);
    else this.#string(uri.object);
    // The usual items straight to their writers (the general #write for anything else).
    const { sockname, host, port } = uri;
    if (sockname === null) this.#u8(0xc0);
    else this.#string(sockname);
    if (host === null) this.#u8(0xc0);
    else this.#string(host);
    if (typeof port === "number" && isIntNumber(port)) this.#int(port);
    else this.#write(port, depth + 2);
  }

  #date(date: Date): void {
    const t = date.getTime();
    if (Number.isNaN(t)) throw new SerializeError("Cannot serialize with msgpack: invalid Date");
    const data = new Uint8Array(8);
    new DataView(data.buffer).setFloat64(0, t / 1000, true);
    this.#ext(0x32, data);
  }
}
