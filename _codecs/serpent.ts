/**
 * The serpent serializer (Pyro5 serializer id 1), the default of every Python Pyro5 process:
 * UTF-8 Python literal text, as written by Python's `serpent` 1.41 library, after the header
 * line `# serpent utf-8 python3.2`; one of the three built-in codecs of the registry.
 *
 * Values follow the shared value model (value.ts). Serpent keeps more of Python's types than
 * json and msgpack: tuples (arrays marked with `tuple()`), sets (`Set`), complex numbers,
 * dicts with non-string keys (`Map`), ints of any size (`bigint`), NaN and infinities.
 *
 * Known differences from Python: a whole float computed in JavaScript is sent as an int (`1.0`
 * is `1`), as with every codec; an empty `Set` is written `()` as serpent does, so it comes back
 * as an empty tuple; a Python str holding an escaped surrogate pair (`'\ud83d\ude00'`) arrives
 * as the character it spells; whether a character outside ASCII is printable (kept raw) or
 * escaped follows the Unicode version of the JavaScript engine, which may be newer than the
 * Python peer's. The decoder refuses `\N{name}` escapes and `...`, and accepts indentation and
 * serpent's own `(1.0+-0.0j)`, which Python's `ast.literal_eval` refuses.
 *
 * @example Encoding a call the way Python's proxy does
 * ```ts
 * import { serpentSerializer } from "./serpent.ts";
 *
 * const bytes = serpentSerializer.dumpsCall({
 *   object: "thing",
 *   method: "echo",
 *   params: ["hi"],
 *   kwargs: {},
 * });
 * console.log(new TextDecoder().decode(bytes));
 * // # serpent utf-8 python3.2
 * // ('thing','echo',('hi',),{})
 * console.log(serpentSerializer.loadsCall(bytes).params); // [ "hi" ]
 * ```
 *
 * @module
 */

import { PyroError, SerializeError } from "../errors.ts";
import type { CallRequest, FramedSerializer } from "./types.ts";
import { checkCall } from "./common.ts";
import {
  DEFAULT_MAX_DEPTH,
  encodeSerpent,
  encodeSerpentCall,
  SERPENT_HEADER,
} from "./serpent_encode.ts";
import { decodeSerpentText } from "./serpent_decode.ts";
import { FAST_MAX, fastDecode, NOT_FAST } from "./serpent_fast.ts";
import { shortAscii } from "./utf8.ts";
import { UriPayloadCache } from "./uri_cache.ts";

export { SERPENT_HEADER } from "./serpent_encode.ts";

/** Limits of a serpent serializer made by {@linkcode createSerpentSerializer}. */
export interface SerpentOptions {
  /**
   * The deepest container nesting written or read. Python's tokenizer refuses more than 200
   * nested brackets, so deeper data could not be read by a Python peer anyway.
   *
   * @default {200}
   */
  maxDepth?: number;
  /**
   * The largest payload `loads`/`loadsCall` accept, in bytes.
   *
   * @default {268435456}
   */
  maxInputSize?: number;
}

const DEFAULT_MAX_INPUT = 256 * 1024 * 1024;
const decoder = new TextDecoder("utf-8", { fatal: true });
/** Several times faster than the fatal decoder on large text; see {@linkcode decodeUtf8}. */
const lenient = new TextDecoder();
const HEADER_BYTES = new TextEncoder().encode(SERPENT_HEADER);

/** An encoding failure as the serializer's error (Pyro's own errors pass unchanged). */
function encodeFailed(e: unknown): PyroError {
  if (e instanceof PyroError) return e;
  return new SerializeError(`Cannot serialize with serpent: ${String(e)}`, { cause: e });
}

/**
 * UTF-8 text, refusing invalid bytes: decoded leniently first, and again strictly only when the
 * text holds U+FFFD (what invalid bytes become, or a real U+FFFD).
 */
function decodeUtf8(data: Uint8Array): string {
  const text = lenient.decode(data);
  return text.includes("\ufffd") ? decoder.decode(data) : text;
}

/** True when `data` starts with the `# serpent` header line. */
function startsWithHeader(data: Uint8Array): boolean {
  const n = HEADER_BYTES.length;
  if (data.length < n) return false;
  for (let i = 0; i < n; i++) if (data[i] !== HEADER_BYTES[i]) return false;
  return true;
}

/**
 * Makes a serpent serializer with its own limits. The registered one ({@linkcode serpentSerializer})
 * uses the defaults; use this for a codec with tighter bounds (it is not registered).
 *
 * @example
 * ```ts
 * import { createSerpentSerializer } from "./serpent.ts";
 * const strict = createSerpentSerializer({ maxDepth: 10, maxInputSize: 4096 });
 * console.log(strict.loads(new TextEncoder().encode("[1, (2, 3), {'a': None}]")));
 * // [ 1, [ 2, 3 ], { a: null } ]
 * ```
 *
 * @param options Nesting and size limits.
 * @returns The serializer (id 1, name `serpent`).
 */
export function createSerpentSerializer(options: SerpentOptions = {}): FramedSerializer {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxInputSize = options.maxInputSize ?? DEFAULT_MAX_INPUT;
  const fastValue = { maxDepth, call: false };
  const fastCall = { maxDepth, call: true };
  // Whole-payload URIs (Name Server lookup replies), per serializer: see uri_cache.ts.
  const uris = new UriPayloadCache(SERPENT_HEADER + "{'__class__':'Pyro5.core.URI','state':(");
  const loadsValue = (data: Uint8Array) => loads(data);

  function dumps(value: unknown, framed = false): Uint8Array {
    try {
      return encodeSerpent(value, maxDepth, framed);
    } catch (e) {
      throw encodeFailed(e);
    }
  }

  function loads(data: Uint8Array, call = false): unknown {
    if (data.byteLength > maxInputSize) {
      throw new SerializeError(
        `Invalid serpent data: ${data.byteLength} bytes is more than the limit of ${maxInputSize}`,
      );
    }
    // Small payloads as Python's serpent writes them (most calls and results) are read straight
    // from the bytes; the full parser reads the rest and reports errors.
    const headed = startsWithHeader(data);
    if (headed && data.length <= FAST_MAX) {
      const value = fastDecode(data, HEADER_BYTES.length, call ? fastCall : fastValue);
      if (value !== NOT_FAST) return value;
    }
    // Small ASCII payloads skip the TextDecoder call, and the header line that starts them all
    // is not decoded only to be skipped as a comment.
    let text = shortAscii(headed ? data.subarray(HEADER_BYTES.length) : data);
    let skipped = headed && text !== null ? SERPENT_HEADER : "";
    if (text === null) {
      skipped = "";
      try {
        text = decodeUtf8(data);
      } catch (e) {
        throw new SerializeError("Invalid serpent data: not valid UTF-8", { cause: e });
      }
    }
    try {
      return decodeSerpentText(text, { maxDepth, call, skipped });
    } catch (e) {
      if (e instanceof SerializeError) throw e;
      throw new SerializeError(`Invalid serpent data: ${String(e)}`, { cause: e });
    }
  }

  function dumpsCall(call: CallRequest, framed = false): Uint8Array {
    // Python's proxy passes its args tuple; a batch passes a list of call tuples.
    try {
      return encodeSerpentCall(call, maxDepth, framed);
    } catch (e) {
      throw encodeFailed(e);
    }
  }

  return {
    id: 1,
    name: "serpent",
    dumps: (value) => dumps(value),
    loads: (data) => uris.loads(data, loadsValue),
    dumpsCall: (call) => dumpsCall(call),
    loadsCall(data: Uint8Array): CallRequest {
      const value = loads(data, true);
      if (!Array.isArray(value) || value.length !== 4) {
        throw new SerializeError(
          "Cannot deserialize serpent call: expected a tuple (object, method, params, kwargs)",
        );
      }
      return checkCall(value[0], value[1], value[2], value[3], "serpent");
    },
    // Framed: small output is a view into the writer's buffer, valid until its next use.
    dumpsFramed: (value) => dumps(value, true),
    dumpsCallFramed: (call) => dumpsCall(call, true),
    decodesToCopies: true,
  };
}

/**
 * The serpent serializer (id 1) with default limits, one of the three built-in codecs of the
 * registry.
 *
 * @example
 * ```ts
 * import { serpentSerializer } from "./serpent.ts";
 * import { isTuple, tuple } from "../value.ts";
 *
 * const text = new TextDecoder().decode(serpentSerializer.dumps({ point: tuple(1, 2.5), tags: new Set(["a"]) }));
 * console.log(text); // # serpent utf-8 python3.2\n{'point':(1,2.5),'tags':{'a'}}
 * ```
 */
export const serpentSerializer: FramedSerializer = createSerpentSerializer();
