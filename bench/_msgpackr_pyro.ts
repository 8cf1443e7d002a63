/**
 * Bench only: `npm:msgpackr` (records off) wrapped to give Pyro5's msgpack semantics as far as
 * the library allows, so that `codec_libs.ts` can measure it against our own codec on equal
 * terms. Two forms:
 *
 * - **raw**: `new Packr({ useRecords: false })` used as it comes (the library's best case; its
 *   bytes and values differ from Pyro5's in the ways `codec_libs.ts` lists).
 * - **pyro**: a walk before `pack` (Pyro5's special classes, sets, typed arrays, `Map` keys,
 *   ints beyond 32 bits as `bigint`, big ints as ext 0x31, depth limit) and one after `unpack`
 *   (maps with string keys back to records, `__class__` revival, `__proto__` refused, int64 as
 *   number when safe), with Pyro5's extension types registered and msgpackr's own extension
 *   types (undefined, Set, Error, RegExp, typed arrays, pointers, records) refused on input.
 *
 * msgpackr has no hook to write a number in a chosen form, so two things cannot be made exact:
 * `-0` goes out as the int `0` (Python: float `-0.0`), and positive ints from 2^32 to 2^63 go
 * out as int64 (0xd3) where Python writes uint64 (0xcf).
 *
 * @module
 */

import { addExtension, Packr, REUSE_BUFFER_MODE, Unpackr } from "npm:msgpackr@2.1.4";
import { SerializeError } from "../errors.ts";
import { AUTOPROXY, NOT_SPECIAL, replaceSpecial, reviveDict } from "../class_registry.ts";
import {
  checkCall,
  instanceToRecord,
  isIntNumber,
  isPlainObject,
  mapKeyToString,
  MAX_DEPTH,
  tooDeep,
  unsupported,
} from "../_codecs/common.ts";
import type { CallRequest } from "../serializer.ts";
import { Complex } from "../value.ts";

const NAME = "msgpack";
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MIN = -(2n ** 63n);
const DAYS_0001_TO_1970 = 719162;
const utf8 = new TextDecoder();
const textEncoder = new TextEncoder();

/** A big integer beyond 64 bits, written as Pyro5's ext 0x31 (decimal text). */
class BigText {
  constructor(readonly text: string) {}
}

function failed(detail: string): SerializeError {
  return new SerializeError(`Cannot deserialize msgpack: ${detail}`);
}

function le64(x: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, x, true);
  return out;
}

addExtension({
  Class: Complex,
  type: 0x30,
  pack(c: Complex) {
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    view.setFloat64(0, c.re, true);
    view.setFloat64(8, c.im, true);
    return out;
  },
  unpack(data: Uint8Array) {
    if (data.length !== 16) throw failed("malformed ext 48 data");
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return new Complex(view.getFloat64(0, true), view.getFloat64(8, true));
  },
});
addExtension({
  Class: BigText,
  type: 0x31,
  pack: (b: BigText) => textEncoder.encode(b.text),
  unpack(data: Uint8Array) {
    const text = utf8.decode(data).trim();
    if (!/^[+-]?[0-9]+$/.test(text)) throw failed("malformed ext 49 data");
    return BigInt(text); // made a number when safe by the walk after unpack
  },
});
addExtension({
  Class: Date,
  type: 0x32,
  pack(d: Date) {
    const t = d.getTime();
    if (Number.isNaN(t)) throw new SerializeError("Cannot serialize with msgpack: invalid Date");
    return le64(t / 1000);
  },
  unpack(data: Uint8Array) {
    if (data.length !== 8) throw failed("malformed ext 50 data");
    return new Date(new DataView(data.buffer, data.byteOffset, 8).getFloat64(0, true) * 1000);
  },
});
/** Only for decoding: no class of ours is written as ext 0x33. */
class PyDate {}
addExtension({
  Class: PyDate,
  type: 0x33,
  pack: () => new Uint8Array(0),
  unpack(data: Uint8Array) {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const ordinal = data.length === 8
      ? Number(view.getBigInt64(0, true))
      : data.length === 4
      ? view.getInt32(0, true)
      : NaN;
    if (Number.isNaN(ordinal)) throw failed("malformed ext 51 data");
    return new Date((ordinal - 1 - DAYS_0001_TO_1970) * 86400000);
  },
});
// msgpackr's own extension types are not Pyro5's: refuse them on input.
for (const type of [0, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78]) {
  addExtension({
    type,
    unpack() {
      throw failed(`invalid ext code for msgpack: ${type}`);
    },
  });
}

/** The value as msgpackr must see it to write Pyro5's bytes (copy on write). */
function prep(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (!isIntNumber(value) || (value >= -0x80000000 && value <= 0xffffffff)) return value;
      return BigInt(value);
    case "bigint":
      if (value >= MIN_SAFE && value <= MAX_SAFE) return prep(Number(value), depth);
      if (value <= UINT64_MAX && value >= INT64_MIN) return value;
      return new BigText(value.toString());
    case "undefined":
      return null;
    case "object":
      if (value === null) return null;
      if (depth > MAX_DEPTH) throw tooDeep(NAME);
      return prepObject(value, depth + 1);
    default:
      throw unsupported(value, NAME);
  }
}

function prepArray(items: readonly unknown[], depth: number): unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    const p = prep(v, depth);
    if (p !== v && out === null) out = items.slice(0, i);
    if (out !== null) out.push(p);
  }
  return out ?? (items as unknown[]);
}

function prepRecord(record: Record<string, unknown>, depth: number): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const k in record) {
    const v = record[k];
    const p = prep(v, depth);
    if (p !== v && out === null) out = { ...record };
    if (out !== null) out[k] = p;
  }
  return out ?? record;
}

function prepObject(value: object, depth: number): unknown {
  if (Array.isArray(value)) return prepArray(value, depth);
  if (value instanceof Uint8Array) return value;
  if (isPlainObject(value) && !(AUTOPROXY in value)) return prepRecord(value, depth);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  const replacement = replaceSpecial(value, NAME);
  if (replacement !== NOT_SPECIAL) return prep(replacement, depth);
  if (value instanceof Set) return prepArray([...value], depth);
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of value) {
      out.set(k instanceof Uint8Array ? k : mapKeyToString(k, NAME), prep(v, depth));
    }
    return out;
  }
  if (value instanceof Date || value instanceof Complex) return value;
  return prepRecord(instanceToRecord(value), depth);
}

/** The decoded value with Pyro5's meaning (arrays fixed in place; maps become records). */
function fix(value: unknown, depth: number): unknown {
  if (typeof value === "bigint") {
    return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
  }
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH) throw failed(`value nested more than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fix(value[i], depth + 1);
    return value;
  }
  if (value instanceof Map) {
    let stringKeys = true;
    for (const k of value.keys()) {
      if (typeof k !== "string") {
        stringKeys = false;
        break;
      }
    }
    if (!stringKeys) {
      const out = new Map<unknown, unknown>();
      for (const [k, v] of value) out.set(fix(k, depth + 1), fix(v, depth + 1));
      return out;
    }
    const record: Record<string, unknown> = {};
    for (const [k, v] of value as Map<string, unknown>) {
      if (k === "__proto__") throw failed("the key __proto__ is not allowed");
      record[k] = fix(v, depth + 1);
    }
    return typeof record.__class__ === "string" ? reviveDict(record) : record;
  }
  return value;
}

function encodeFailed(e: unknown): SerializeError {
  if (e instanceof SerializeError) return e;
  return new SerializeError(`Cannot serialize with msgpack: ${String(e)}`, { cause: e });
}

function decodeFailed(e: unknown): SerializeError {
  if (e instanceof SerializeError) return e;
  return new SerializeError(`Cannot deserialize msgpack: ${String(e)}`, { cause: e });
}

const rawPackr = new Packr({ useRecords: false, largeBigIntToString: true });
const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "bigint" });

/** msgpackr used as it comes (records off). */
export const msgpackrRaw = {
  dumps: (value: unknown): Uint8Array => rawPackr.pack(value),
  loads: (data: Uint8Array): unknown => rawPackr.unpack(data),
  dumpsCall: (c: CallRequest): Uint8Array =>
    rawPackr.pack([c.object, c.method, c.params, c.kwargs]),
  loadsCall: (data: Uint8Array): unknown => rawPackr.unpack(data),
};

/** msgpackr with Pyro5's semantics as far as it allows (see the module doc). */
export const msgpackrPyro = {
  dumps(value: unknown, transient = false): Uint8Array {
    try {
      const v = prep(value, 0);
      return transient ? packr.pack(v, REUSE_BUFFER_MODE) : packr.pack(v);
    } catch (e) {
      throw encodeFailed(e);
    }
  },
  dumpsCall(c: CallRequest, transient = false): Uint8Array {
    try {
      const v = [c.object, c.method, prepArray(c.params, 2), prep(c.kwargs ?? null, 1)];
      return transient ? packr.pack(v, REUSE_BUFFER_MODE) : packr.pack(v);
    } catch (e) {
      throw encodeFailed(e);
    }
  },
  loads(data: Uint8Array): unknown {
    let value: unknown;
    try {
      value = unpackr.unpack(data);
    } catch (e) {
      throw decodeFailed(e);
    }
    return fix(value, 0);
  },
  loadsCall(data: Uint8Array): CallRequest {
    const value = msgpackrPyro.loads(data);
    if (!Array.isArray(value) || value.length !== 4) {
      throw new SerializeError("Cannot deserialize msgpack call: payload is not an array of 4");
    }
    return checkCall(value[0], value[1], value[2], value[3], NAME);
  },
};
