/**
 * The msgpack decoder (internal to `msgpack.ts`): one pass over the bytes, straight into the
 * values Pyro5 sends.
 *
 * - Maps whose keys are all strings become plain records (a `__class__` record goes through
 *   the dict-to-class hooks); maps with any other key become `Map`s. A `__proto__` key is
 *   refused.
 * - Integers beyond ±(2^53−1) become `bigint`; bin becomes a `Uint8Array` view into the input
 *   (no copy).
 * - Pyro5's extension types: 0x30 complex, 0x31 big integer as text, 0x32 datetime, 0x33 date,
 *   and the msgpack timestamp (−1).
 * - Nesting deeper than 1000 levels, more than a million arrays and maps, truncated input, bytes after the value and unknown
 *   extension types are `SerializeError`s.
 *
 * @example
 * ```ts
 * import { decodeMsgpack } from "./msgpack_decode.ts";
 * console.log(decodeMsgpack(new Uint8Array([0x92, 0x01, 0xa1, 0x78]))); // [ 1, "x" ]
 * ```
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import { hasDictHook, reviveDict } from "../class_registry.ts";
import { URI } from "../uri.ts";
import { checkCall, MAX_CONTAINERS, MAX_DEPTH, tooManyContainers } from "./common.ts";
import type { CallRequest } from "./types.ts";
import { Complex } from "../value.ts";

const utf8 = new TextDecoder();
const DAYS_0001_TO_1970 = 719162; // date(1970, 1, 1).toordinal() - 1
/** Strings up to this length are read by a loop when ASCII (cheaper than a TextDecoder call). */
const SHORT_STRING = 32;
/** A reused array of character codes for each short string length. */
const CODES: number[][] = Array.from({ length: SHORT_STRING + 1 }, (_, n) => new Array(n).fill(0));
/**
 * The keys of a serialized URI's two-entry map as Pyro5 and we send them, `__class__:
 * "Pyro5.core.URI"` then the key `state`: matched as bytes, so the three strings are not decoded
 * for every URI a Name Server lookup returns.
 */
const URI_KEYS = Uint8Array.from(
  ["__class__", "Pyro5.core.URI", "state"].flatMap((k) =>
    [0xa0 | k.length, ...k].map((c) => typeof c === "number" ? c : c.charCodeAt(0))
  ),
);

const URI_CLASS = "Pyro5.core.URI";

/**
 * URIs revived lately, by a hash of their state's bytes: a proxy gets the same few URIs over
 * and over (Name Server lookups, PYRONAME resolution), and a hit costs a hash and a compare
 * instead of decoding five values and building the URI. URIs are immutable; these are frozen
 * and shared. Bounded: cleared when full. Unused while a dict hook for URIs is registered.
 */
const uriCache = new Map<number, { bytes: Uint8Array; uri: URI }>();
const URI_CACHE_MAX = 256;

/**
 * Where a URI state of plain items ends: the array of five at `p`, each item a str, nil or
 * unsigned int (no PYROMETA tag list); -1 for anything else or when truncated.
 */
function plainStateEnd(b: Uint8Array, p: number): number {
  if (b[p] !== 0x95) return -1;
  p++;
  for (let i = 0; i < 5; i++) {
    const t = b[p];
    if (t === undefined) return -1;
    if (t < 0x80 || t === 0xc0) p += 1;
    else if (t >= 0xa0 && t < 0xc0) p += 1 + (t & 0x1f);
    else if (t === 0xd9) p += 2 + (b[p + 1] ?? 0xffff);
    else if (t === 0xcc) p += 2;
    else if (t === 0xcd) p += 3;
    else if (t === 0xce) p += 5;
    else return -1;
  }
  return p <= b.length ? p : -1;
}

/** FNV-1a over `b[start..end)`. */
function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h;
}

function sameBytes(a: Uint8Array, b: Uint8Array, start: number): boolean {
  const n = a.length;
  for (let i = 0; i < n; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

function failed(detail: string): SerializeError {
  return new SerializeError(`Cannot deserialize msgpack: ${detail}`);
}

function truncated(): SerializeError {
  return failed("truncated data");
}

/** Decodes the Pyro5 extension types and the msgpack timestamp. */
function decodeExt(data: Uint8Array, type: number): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (type) {
    case 0x30:
      if (data.length !== 16) break;
      return new Complex(view.getFloat64(0, true), view.getFloat64(8, true));
    case 0x31: {
      const text = utf8.decode(data).trim();
      if (!/^[+-]?[0-9]+$/.test(text)) break;
      const n = BigInt(text);
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(n)
        : n;
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
    case -1: {
      // timestamp 32 (u32 seconds), 64 (30-bit nanoseconds, 34-bit seconds), 96 (u32, i64)
      let seconds: number;
      let nanos = 0;
      if (data.length === 4) seconds = view.getUint32(0);
      else if (data.length === 8) {
        const hi = view.getUint32(0);
        nanos = hi >>> 2;
        seconds = (hi & 0x3) * 4294967296 + view.getUint32(4);
      } else if (data.length === 12) {
        nanos = view.getUint32(0);
        seconds = Number(view.getBigInt64(4));
      } else break;
      return new Date(seconds * 1000 + nanos / 1e6);
    }
    default:
      throw failed(`invalid ext code for msgpack: ${type}`);
  }
  throw failed(`malformed ext ${type} data`);
}

/** One decode: the input and the read position. */
class Reader {
  buf: Uint8Array;
  pos = 0;
  /** Arrays and maps still allowed (see MAX_CONTAINERS). */
  containers = MAX_CONTAINERS;
  #view: DataView | null = null;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  /** Starts over on other bytes (a reused reader). */
  reset(buf: Uint8Array): this {
    this.buf = buf;
    this.pos = 0;
    this.containers = MAX_CONTAINERS;
    this.#view = null;
    return this;
  }

  get view(): DataView {
    return this.#view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Moves past `n` bytes and returns where they start. */
  take(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) throw truncated();
    this.pos = at + n;
    return at;
  }

  u8(): number {
    return this.buf[this.take(1)]!;
  }

  u16(): number {
    const p = this.take(2);
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u32(): number {
    const p = this.take(4);
    const b = this.buf;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  int64(signed: boolean): number | bigint {
    const p = this.take(8);
    const view = this.view;
    const hi = signed ? view.getInt32(p) : view.getUint32(p);
    const n = hi * 4294967296 + view.getUint32(p + 4);
    if (Number.isSafeInteger(n)) return n;
    return signed ? view.getBigInt64(p) : view.getBigUint64(p);
  }

  str(n: number): string {
    const p = this.take(n);
    const b = this.buf;
    if (n <= SHORT_STRING) {
      // One string from the character codes (no string per character on the way).
      const codes = CODES[n]!;
      let all = 0;
      for (let i = 0; i < n; i++) all |= codes[i] = b[p + i]!;
      if (all < 0x80) return String.fromCharCode.apply(null, codes);
    }
    return utf8.decode(b.subarray(p, p + n));
  }

  bin(n: number): Uint8Array {
    const p = this.take(n);
    return this.buf.subarray(p, p + n);
  }

  ext(n: number): unknown {
    const p = this.take(n + 1);
    const type = (this.buf[p]! << 24) >> 24;
    return decodeExt(this.buf.subarray(p + 1, p + 1 + n), type);
  }

  array(n: number, depth: number): unknown[] {
    if (n > this.buf.length - this.pos) throw truncated(); // each item takes a byte at least
    if (--this.containers < 0) throw tooManyContainers("msgpack");
    // Small arrays (a call, its params) as literals: exactly their size, items in order.
    switch (n) {
      case 0:
        return [];
      case 1:
        return [this.value(depth)];
      case 2:
        return [this.value(depth), this.value(depth)];
      case 3:
        return [this.value(depth), this.value(depth), this.value(depth)];
      case 4:
        return [this.value(depth), this.value(depth), this.value(depth), this.value(depth)];
    }
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(this.value(depth));
    return out;
  }

  map(n: number, depth: number): unknown {
    if (2 * n > this.buf.length - this.pos) throw truncated();
    if (--this.containers < 0) throw tooManyContainers("msgpack");
    if (n === 2 && this.#uriKeys()) return this.#uri(depth);
    const record: Record<string, unknown> = {};
    let map: Map<unknown, unknown> | null = null;
    for (let i = 0; i < n; i++) {
      const key = this.value(depth);
      const value = this.value(depth);
      if (map !== null) map.set(key, value);
      else if (typeof key === "string") {
        if (key === "__proto__") throw failed("the key __proto__ is not allowed");
        record[key] = value;
      } else {
        map = new Map(Object.entries(record));
        map.set(key, value);
      }
    }
    if (map !== null) return map;
    return typeof record.__class__ === "string" ? reviveDict(record) : record;
  }

  /** A URI's state (after its map's keys), from the cache when the same bytes came lately. */
  #uri(depth: number): unknown {
    const b = this.buf;
    const start = this.pos;
    const end = hasDictHook(URI_CLASS) ? -1 : plainStateEnd(b, start);
    let hash = 0;
    if (end > 0) {
      hash = hashBytes(b, start, end);
      const hit = uriCache.get(hash);
      if (hit !== undefined && hit.bytes.length === end - start && sameBytes(hit.bytes, b, start)) {
        // The checks of the state array's own way (nesting depth, container count).
        if (depth > MAX_DEPTH) throw failed(`value nested more than ${MAX_DEPTH} levels`);
        if (--this.containers < 0) throw tooManyContainers("msgpack");
        this.pos = end;
        return hit.uri;
      }
    }
    const uri = reviveDict({ __class__: URI_CLASS, state: this.value(depth) });
    if (end > 0 && uri instanceof URI) {
      if (uriCache.size >= URI_CACHE_MAX) uriCache.clear();
      uriCache.set(hash, { bytes: b.slice(start, end), uri: Object.freeze(uri) });
    }
    return uri;
  }

  /** Skips the keys of a serialized URI's map (see {@linkcode URI_KEYS}) when they come next. */
  #uriKeys(): boolean {
    const b = this.buf;
    const p = this.pos;
    const n = URI_KEYS.length;
    if (p + n > b.length) return false;
    for (let i = 0; i < n; i++) if (b[p + i] !== URI_KEYS[i]) return false;
    this.pos = p + n;
    return true;
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw failed(`value nested more than ${MAX_DEPTH} levels`);
    const b = this.u8();
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0xa0 && b < 0xc0) return this.str(b & 0x1f);
    if (b < 0x90) return this.map(b & 0x0f, depth + 1);
    if (b < 0xa0) return this.array(b & 0x0f, depth + 1);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.bin(this.u8());
      case 0xc5:
        return this.bin(this.u16());
      case 0xc6:
        return this.bin(this.u32());
      case 0xc7:
        return this.ext(this.u8());
      case 0xc8:
        return this.ext(this.u16());
      case 0xc9:
        return this.ext(this.u32());
      case 0xca:
        return this.view.getFloat32(this.take(4));
      case 0xcb:
        return this.view.getFloat64(this.take(8));
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        return this.int64(false);
      case 0xd0:
        return (this.u8() << 24) >> 24;
      case 0xd1:
        return (this.u16() << 16) >> 16;
      case 0xd2:
        return this.u32() | 0;
      case 0xd3:
        return this.int64(true);
      case 0xd4:
        return this.ext(1);
      case 0xd5:
        return this.ext(2);
      case 0xd6:
        return this.ext(4);
      case 0xd7:
        return this.ext(8);
      case 0xd8:
        return this.ext(16);
      case 0xd9:
        return this.str(this.u8());
      case 0xda:
        return this.str(this.u16());
      case 0xdb:
        return this.str(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth + 1);
      case 0xdd:
        return this.array(this.u32(), depth + 1);
      case 0xde:
        return this.map(this.u16(), depth + 1);
      case 0xdf:
        return this.map(this.u32(), depth + 1);
      default:
        throw failed(`invalid type byte 0x${b.toString(16)}`);
    }
  }
}

/** Bytes after the type byte, for the types of fixed size (0xc0 to 0xdf; -1: not fixed). */
const FIXED = new Int8Array(32).fill(-1);
for (
  const [b, n] of [[0xc0, 0], [0xc2, 0], [0xc3, 0], [0xca, 4], [0xcb, 8], [0xcc, 1], [0xcd, 2]]
) {
  FIXED[b! - 0xc0] = n!;
}
for (const [b, n] of [[0xce, 4], [0xcf, 8], [0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8]]) {
  FIXED[b! - 0xc0] = n!;
}
for (const [b, n] of [[0xd4, 2], [0xd5, 3], [0xd6, 5], [0xd7, 9], [0xd8, 17]]) {
  FIXED[b! - 0xc0] = n!;
}

/**
 * True when the values in `data` include more than `limit` arrays and maps: one pass over the
 * type bytes that allocates nothing (a few ms for 4 MB of empty arrays, where decoding the first
 * million of them took 50 ms and 90 MB of heap). Values are a flat sequence of type bytes, so
 * a count of the values still to come is all the nesting needs; malformed input ends the count
 * (the decoder reports it).
 */
function countsMoreContainers(data: Uint8Array, limit: number): boolean {
  const n = data.length;
  let count = 0;
  let p = 0;
  // Values still to come before the first value is complete: the scan stops there (bytes
  // after it are an error the decoder reports at once).
  let pending = 1;
  while (p < n && pending > 0) {
    const b = data[p]!;
    pending--;
    if (b < 0x80 || b >= 0xe0) p++;
    else if (b < 0xa0) { // fixmap, fixarray
      if (++count > limit) return true;
      pending += b < 0x90 ? 2 * (b & 0x0f) : b & 0x0f;
      p++;
    } else if (b < 0xc0) p += 1 + (b & 0x1f); // fixstr
    else if (b === 0xdc || b === 0xde) {
      if (++count > limit) return true;
      const items = ((data[p + 1] ?? 0) << 8) | (data[p + 2] ?? 0);
      pending += b === 0xde ? 2 * items : items;
      p += 3;
    } else if (b === 0xdd || b === 0xdf) {
      if (++count > limit) return true;
      const items = (((data[p + 1] ?? 0) << 24) >>> 0) +
        (((data[p + 2] ?? 0) << 16) | ((data[p + 3] ?? 0) << 8) | (data[p + 4] ?? 0));
      pending += b === 0xdf ? 2 * items : items;
      p += 5;
    } else if (b === 0xc4 || b === 0xd9) p += 2 + (data[p + 1] ?? 0); // bin8, str8
    else if (b === 0xc5 || b === 0xda) p += 3 + (((data[p + 1] ?? 0) << 8) | (data[p + 2] ?? 0));
    else if (b === 0xc6 || b === 0xdb) {
      p += 5 + (((data[p + 1] ?? 0) << 24) >>> 0) + (((data[p + 2] ?? 0) << 16) |
        ((data[p + 3] ?? 0) << 8) | (data[p + 4] ?? 0));
    } else if (b === 0xc7) p += 3 + (data[p + 1] ?? 0); // ext8
    else if (b === 0xc8) p += 4 + (((data[p + 1] ?? 0) << 8) | (data[p + 2] ?? 0));
    else if (b === 0xc9) {
      p += 6 + (((data[p + 1] ?? 0) << 24) >>> 0) + (((data[p + 2] ?? 0) << 16) |
        ((data[p + 3] ?? 0) << 8) | (data[p + 4] ?? 0));
    } else {
      const size = FIXED[b - 0xc0]!;
      if (size < 0) return false; // 0xc1: invalid, the decoder says so
      p += 1 + size;
    }
  }
  return false;
}

/**
 * Decodes one msgpack value that must fill `data` exactly.
 *
 * @example
 * ```ts
 * import { decodeMsgpack } from "./msgpack_decode.ts";
 * console.log(decodeMsgpack(new Uint8Array([0x81, 0xa1, 0x61, 0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0]))); // { a: 9007199254740992n }
 * ```
 *
 * @param data The bytes.
 * @returns The value; bin values are views into `data`.
 * @throws {SerializeError} For malformed or truncated input, bytes after the value, nesting
 *   deeper than 1000 levels, unknown extension types and `__proto__` keys.
 */
export function decodeMsgpack(data: Uint8Array): unknown {
  // Only a payload of a million bytes or more can hold more than a million arrays and maps.
  if (data.length > MAX_CONTAINERS && countsMoreContainers(data, MAX_CONTAINERS)) {
    throw tooManyContainers("msgpack");
  }
  // A dict hook run while decoding may decode too: it gets a reader of its own.
  if (valueReaderBusy) return readWhole(new Reader(data), data);
  valueReaderBusy = true;
  const reader = valueReader.reset(data);
  try {
    return readWhole(reader, data);
  } finally {
    reader.reset(EMPTY);
    valueReaderBusy = false;
  }
}

/** The reader of {@linkcode decodeMsgpack}, reused while no decode of it is running. */
const valueReader = new Reader(new Uint8Array(0));
let valueReaderBusy = false;

/** The one value that fills `data`. */
function readWhole(reader: Reader, data: Uint8Array): unknown {
  const value = reader.value(0);
  if (reader.pos !== data.length) {
    throw failed(`${data.length - reader.pos} extra byte(s) after the value`);
  }
  return value;
}

/** The last object id or method name read by {@linkcode decodeMsgpackCall}, with its bytes. */
interface CachedName {
  readonly bytes: Uint8Array;
  length: number;
  text: string;
}
const NAME_MAX = SHORT_STRING;
const OBJECT_NAME: CachedName = { bytes: new Uint8Array(NAME_MAX), length: -1, text: "" };
const METHOD_NAME: CachedName = { bytes: new Uint8Array(NAME_MAX), length: -1, text: "" };

/**
 * Reads a call's object id or method name: the same string as last time when its bytes are the
 * same (a daemon mostly gets calls of one object and method in a row, and a string seen before
 * has its hash computed already, which the look-ups by name use), else as `value` would.
 */
function cachedName(reader: Reader, slot: CachedName): unknown {
  const b = reader.buf;
  const p = reader.pos;
  const tag = b[p];
  if (tag === undefined || tag < 0xa0 || tag >= 0xc0) return reader.value(1);
  const n = tag & 0x1f;
  if (n === slot.length && p + 1 + n <= b.length) {
    const cached = slot.bytes;
    let i = 0;
    while (i < n && b[p + 1 + i] === cached[i]) i++;
    if (i === n) {
      reader.pos = p + 1 + n;
      return slot.text;
    }
  }
  const text = reader.value(1) as string;
  if (n <= NAME_MAX) {
    slot.bytes.set(b.subarray(p + 1, p + 1 + n));
    slot.length = n;
    slot.text = text;
  }
  return text;
}

const EMPTY = new Uint8Array(0);
/** The reader of {@linkcode decodeMsgpackCall}, reused while no decode of it is running. */
const callReader = new Reader(new Uint8Array(0));
let callReaderBusy = false;

/**
 * Decodes an INVOKE payload, an array of four (object id, method name, params, kwargs), as
 * {@linkcode decodeMsgpack} would, and checks its shape; the object id and method name of the
 * previous call are reused when their bytes repeat.
 *
 * @example
 * ```ts
 * import { decodeMsgpackCall } from "./msgpack_decode.ts";
 * const call = new Uint8Array([0x94, 0xa1, 0x6f, 0xa1, 0x6d, 0x91, 0x01, 0x80]);
 * console.log(decodeMsgpackCall(call)); // { object: "o", method: "m", params: [ 1 ], kwargs: {} }
 * ```
 *
 * @param data The payload.
 * @returns The call.
 * @throws {SerializeError} As {@linkcode decodeMsgpack}, and for a value that is not a call.
 */
export function decodeMsgpackCall(data: Uint8Array): CallRequest {
  if (data[0] !== 0x94 || data.length > MAX_CONTAINERS) return callOf(decodeMsgpack(data));
  // A dict hook run while decoding may decode a call too: it gets a reader of its own.
  const reader = callReaderBusy ? new Reader(data) : callReader.reset(data);
  const shared = reader === callReader;
  callReaderBusy = true;
  try {
    reader.pos = 1;
    reader.containers--;
    const object = cachedName(reader, OBJECT_NAME);
    const method = cachedName(reader, METHOD_NAME);
    const params = reader.value(1);
    const p = reader.pos;
    const last = data[p];
    if (
      (last === 0x80 || last === 0xc0) && p + 1 === data.length && typeof object === "string" &&
      typeof method === "string" && Array.isArray(params)
    ) {
      // The usual ending, kwargs an empty map (or nil): the call's shape needs no more checks.
      if (last === 0xc0) return { object, method, params, kwargs: null };
      if (--reader.containers < 0) throw tooManyContainers("msgpack");
      reader.pos = p + 1;
      return { object, method, params, kwargs: {} };
    }
    const kwargs = reader.value(1);
    if (reader.pos !== data.length) {
      throw failed(`${data.length - reader.pos} extra byte(s) after the value`);
    }
    return checkCall(object, method, params, kwargs, "msgpack");
  } finally {
    if (shared) {
      reader.reset(EMPTY);
      callReaderBusy = false;
    }
  }
}

/** The call of a decoded payload. */
function callOf(value: unknown): CallRequest {
  if (!Array.isArray(value) || value.length !== 4) {
    throw new SerializeError("Cannot deserialize msgpack call: payload is not an array of 4");
  }
  return checkCall(value[0], value[1], value[2], value[3], "msgpack");
}
