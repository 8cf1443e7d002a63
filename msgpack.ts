/**
 * The msgpack serializer (Pyro5 id 4). Output matches Python's `msgpack.packb(use_bin_type=True)`
 * with Pyro5's hooks byte for byte (smallest ints, float64 for every float, bin for bytes,
 * ext 0x30 complex, 0x31 big int, 0x32 datetime). Input is read with `npm:@msgpack/msgpack`:
 * int64/uint64 within ±(2^53−1) become numbers and beyond become `bigint`; ext 0x30–0x33 and
 * the standard timestamp (−1) are understood; maps with non-string keys become `Map`s; maps
 * with a string `__class__` are revived.
 *
 * @example
 * ```ts
 * import { msgpackSerializer } from "./msgpack.ts";
 *
 * const bytes = msgpackSerializer.dumpsCall({ object: "thing", method: "echo", params: ["hi"], kwargs: {} });
 * console.log(Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""));
 * // 94a57468696e67a46563686f91a2686980
 * ```
 *
 * @module
 */

// deno-lint-ignore no-import-prefix -- the team imports npm packages by full specifier
import * as msgpack from "npm:@msgpack/msgpack@^3";
import { SerializeError } from "./errors.ts";
import type { CallRequest, Serializer } from "./serializer.ts";

export type { CallRequest, Serializer };
import { reviveDict } from "./class_registry.ts";
import { Complex } from "./value.ts";
import { checkCall } from "./_codec_common.ts";
import { MsgpackWriter } from "./_msgpack_encode.ts";

const NAME = "msgpack";
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Marks keys rewritten by the key converter (a Unicode noncharacter). */
const KEY_MARK = "\uFDD0";
const KEY_MARK_CODE = 0xfdd0;
const DAYS_0001_TO_1970 = 719162; // date(1970, 1, 1).toordinal() - 1

/** Decode-time state, reset for each message. */
let sawClassKey = false;
let markedKeys = false;
const otherKeys: unknown[] = [];

function normalizeInt(n: bigint): number | bigint {
  return n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n;
}

function decodeExt(data: Uint8Array, type: number): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (type) {
    case 0x30:
      if (data.length !== 16) break;
      return new Complex(view.getFloat64(0, true), view.getFloat64(8, true));
    case 0x31: {
      const text = new TextDecoder().decode(data);
      if (!/^[+-]?[0-9]+$/.test(text.trim())) break;
      return normalizeInt(BigInt(text.trim()));
    }
    case 0x32:
      if (data.length !== 8) break;
      return new Date(view.getFloat64(0, true) * 1000);
    case 0x33: {
      const ordinal = data.length === 8
        ? Number(view.getBigInt64(0, true))
        : data.length === 4
        ? view.getInt32(0, true)
        : NaN;
      if (Number.isNaN(ordinal)) break;
      return new Date((ordinal - 1 - DAYS_0001_TO_1970) * 86400000);
    }
    case -1:
      return msgpack.decodeTimestampExtension(data);
    default:
      throw new SerializeError(`invalid ext code for msgpack: ${type}`);
  }
  throw new SerializeError(`Cannot deserialize msgpack: malformed ext ${type} data`);
}

const extensionCodec: msgpack.ExtensionCodecType<undefined> = {
  tryToEncode: () => null,
  decode: decodeExt,
};

function mapKeyConverter(key: unknown): string | number {
  if (typeof key === "string") {
    if (key.charCodeAt(0) === KEY_MARK_CODE) {
      markedKeys = true;
      return KEY_MARK + "s" + key;
    }
    if (key === "__class__") sawClassKey = true;
    return key;
  }
  markedKeys = true;
  otherKeys.push(key);
  return KEY_MARK + (otherKeys.length - 1);
}

const decoder = new msgpack.Decoder({ useBigInt64: true, extensionCodec, mapKeyConverter });

/** The decoder's private int64 readers, replaced below so that safe values come out as numbers. */
interface Int64Readers {
  view: DataView;
  pos: number;
  readU64AsBigInt: () => number | bigint;
  readI64AsBigInt: () => number | bigint;
}

/**
 * True when the decoder itself normalizes int64/uint64 (no need to scan the input for 0xcf/0xd3
 * bytes, which costs a pass over every payload, 1 MiB bytes included).
 */
const intsNormalized = (() => {
  const d = decoder as unknown as Int64Readers;
  if (typeof d.readU64AsBigInt !== "function" || typeof d.readI64AsBigInt !== "function") {
    return false;
  }
  d.readU64AsBigInt = function (this: Int64Readers) {
    const value = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return normalizeInt(value);
  };
  d.readI64AsBigInt = function (this: Int64Readers) {
    const value = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return normalizeInt(value);
  };
  return true;
})();

/** Rebuilds a map that had marked keys: a Map when some keys were not strings. */
function unmarkKeys(record: Record<string, unknown>, keys: readonly unknown[]): unknown {
  let allStrings = true;
  const entries: [unknown, unknown][] = [];
  for (const k of Object.keys(record)) {
    let key: unknown = k;
    if (k.charCodeAt(0) === KEY_MARK_CODE) {
      if (k.charCodeAt(1) === 0x73) key = k.slice(2);
      else {
        key = keys[Number(k.slice(1))];
        allStrings = false;
      }
    }
    entries.push([key, record[k]]);
  }
  if (!allStrings) return new Map(entries);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) out[k as string] = v;
  return typeof out.__class__ === "string" ? reviveDict(out) : out;
}

/** Bottom-up pass: safe bigints to numbers, marked keys, `__class__` revival. In place. */
function fix(value: unknown, keys: readonly unknown[]): unknown {
  if (typeof value === "bigint") return normalizeInt(value);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (typeof v === "object" || typeof v === "bigint") value[i] = fix(v, keys);
    }
    return value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value; // bytes, Date, Complex
  const record = value as Record<string, unknown>;
  let marked = false;
  for (const k in record) {
    const v = record[k];
    if (typeof v === "object" || typeof v === "bigint") record[k] = fix(v, keys);
    if (k.charCodeAt(0) === KEY_MARK_CODE) marked = true;
  }
  if (marked) return unmarkKeys(record, keys);
  return typeof record.__class__ === "string" ? reviveDict(record) : record;
}

function loads(data: Uint8Array): unknown {
  sawClassKey = false;
  markedKeys = false;
  otherKeys.length = 0;
  let value: unknown;
  try {
    value = decoder.decode(data);
  } catch (e) {
    if (e instanceof SerializeError) throw e;
    const detail = e instanceof RangeError ? `truncated data (${e.message})` : (e as Error).message;
    throw new SerializeError(`Cannot deserialize msgpack: ${detail}`, { cause: e });
  }
  // Walk only when something needs fixing: unsafe int64/uint64, marked keys, __class__.
  if (
    !sawClassKey && !markedKeys &&
    (intsNormalized || (data.indexOf(0xcf) < 0 && data.indexOf(0xd3) < 0))
  ) {
    return value;
  }
  const keys = markedKeys ? otherKeys.splice(0) : [];
  try {
    return fix(value, keys);
  } catch (e) {
    if (e instanceof SerializeError) throw e;
    throw new SerializeError(`Cannot deserialize msgpack: ${String(e)}`, { cause: e });
  }
}

const writer = new MsgpackWriter();

function writerFor(): MsgpackWriter {
  return writer.busy ? new MsgpackWriter() : writer;
}

function encodeFailed(e: unknown): SerializeError {
  if (e instanceof SerializeError) return e;
  return new SerializeError(`Cannot serialize with msgpack: ${String(e)}`, { cause: e });
}

function dumps(value: unknown): Uint8Array {
  try {
    return writerFor().encode(value);
  } catch (e) {
    throw encodeFailed(e);
  }
}

function dumpsCall(call: CallRequest): Uint8Array {
  try {
    return writerFor().encodeCall(call.object, call.method, call.params, call.kwargs ?? null);
  } catch (e) {
    throw encodeFailed(e);
  }
}

/**
 * Encodes a value into a transient view, valid only until the next msgpack encode: for bytes
 * that are copied into a frame at once (internal; saves one copy per message).
 *
 * @example
 * ```ts
 * import { dumpsTransient } from "./msgpack.ts";
 * console.log(dumpsTransient("hi")); // Uint8Array(3) [ 162, 104, 105 ]
 * ```
 *
 * @param value The value.
 * @returns The bytes, to be used before the next encode.
 */
export function dumpsTransient(value: unknown): Uint8Array {
  try {
    return writerFor().encode(value, true);
  } catch (e) {
    throw encodeFailed(e);
  }
}

/**
 * Encodes an INVOKE payload into a transient view, as {@linkcode dumpsTransient} (internal).
 *
 * @example
 * ```ts
 * import { dumpsCallTransient } from "./msgpack.ts";
 * console.log(dumpsCallTransient({ object: "o", method: "m", params: [], kwargs: null })[0]); // 148
 * ```
 *
 * @param call The call.
 * @returns The bytes, to be used before the next encode.
 */
export function dumpsCallTransient(call: CallRequest): Uint8Array {
  try {
    return writerFor().encodeCall(call.object, call.method, call.params, call.kwargs ?? null, true);
  } catch (e) {
    throw encodeFailed(e);
  }
}

function loadsCall(data: Uint8Array): CallRequest {
  const value = loads(data);
  if (!Array.isArray(value) || value.length !== 4) {
    throw new SerializeError("Cannot deserialize msgpack call: payload is not an array of 4");
  }
  return checkCall(value[0], value[1], value[2], value[3], NAME);
}

/**
 * The msgpack serializer (id 4), registered by serializer.ts.
 *
 * @example
 * ```ts
 * import { msgpackSerializer } from "./msgpack.ts";
 * const v = msgpackSerializer.loads(msgpackSerializer.dumps({ n: 2n ** 64n, b: new Uint8Array([1]) }));
 * console.log(v); // { n: 18446744073709551616n, b: Uint8Array(1) [ 1 ] }
 * ```
 */
export const msgpackSerializer: Serializer = Object.freeze({
  id: 4,
  name: NAME,
  dumps,
  loads,
  dumpsCall,
  loadsCall,
});
