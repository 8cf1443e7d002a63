/**
 * The part of Python's `marshal` format (version 4) that Pyro5's serialized blobs use: the
 * `BLBI` annotation is `marshal.dumps((info, object_id, method))`. Reads None, booleans,
 * integers of any size, floats, str, bytes, tuples, lists, dicts, sets and back-references;
 * writes the same without references (Python reads both).
 *
 * @example Round trip of a blob's routing tuple
 * ```ts
 * import { marshalDumps, marshalLoads } from "./marshal.ts";
 * import { tuple } from "../value.ts";
 * const bytes = marshalDumps(tuple("info", "obj", "method"));
 * console.log(marshalLoads(bytes)); // [ "info", "obj", "method" ]
 * ```
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import { isTuple, markTuple } from "../value.ts";

const FLAG_REF = 0x80;
const MAX_DEPTH = 100;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

class Reader {
  #pos = 0;
  readonly #view: DataView;
  readonly refs: unknown[] = [];

  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.#pos >= this.bytes.length;
  }

  #need(n: number): number {
    const at = this.#pos;
    if (n < 0 || at + n > this.bytes.length) throw bad("truncated data");
    this.#pos += n;
    return at;
  }

  u8(): number {
    return this.bytes[this.#need(1)]!;
  }

  peek(): number {
    if (this.#pos >= this.bytes.length) throw bad("truncated data");
    return this.bytes[this.#pos]!;
  }

  i32(): number {
    return this.#view.getInt32(this.#need(4), true);
  }

  f64(): number {
    return this.#view.getFloat64(this.#need(8), true);
  }

  take(n: number): Uint8Array {
    const at = this.#need(n);
    return this.bytes.subarray(at, at + n);
  }
}

function bad(detail: string): SerializeError {
  return new SerializeError(`Cannot read Python marshal data: ${detail}`);
}

function text(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw bad("invalid UTF-8 in a str");
  }
}

function readValue(r: Reader, depth: number): unknown {
  if (depth > MAX_DEPTH) throw bad("nesting too deep");
  const code = r.u8();
  const ref = (code & FLAG_REF) !== 0;
  const type = String.fromCharCode(code & ~FLAG_REF);
  const keep = <T>(value: T): T => {
    if (ref) r.refs.push(value);
    return value;
  };
  switch (type) {
    case "N":
      return null;
    case "T":
      return true;
    case "F":
      return false;
    case "i":
      return keep(r.i32());
    case "l": {
      const n = r.i32();
      let value = 0n;
      for (let i = Math.abs(n) - 1, digits = r.take(2 * Math.abs(n)); i >= 0; i--) {
        value = (value << 15n) | BigInt(digits[2 * i]! | (digits[2 * i + 1]! << 8));
      }
      if (n < 0) value = -value;
      return keep(
        value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(value)
          : value,
      );
    }
    case "g":
      return keep(r.f64());
    case "s":
      return keep(r.take(r.i32()).slice());
    case "u":
    case "t":
    case "a":
    case "A":
      return keep(text(r.take(r.i32())));
    case "z":
    case "Z":
      return keep(text(r.take(r.u8())));
    case "(":
    case ")":
    case "[":
    case "<":
    case ">": {
      const n = type === ")" ? r.u8() : r.i32();
      if (n < 0) throw bad("negative length");
      const items: unknown[] = [];
      const holder: unknown = type === "<" || type === ">" ? new Set() : items;
      if (ref) r.refs.push(holder);
      for (let i = 0; i < n; i++) items.push(readValue(r, depth + 1));
      if (holder instanceof Set) {
        for (const item of items) holder.add(item);
        return holder;
      }
      return type === "[" ? items : markTuple(items);
    }
    case "{": {
      const dict: Record<string, unknown> = {};
      if (ref) r.refs.push(dict);
      while (r.peek() !== 0x30) { // "0" ends the dict
        const key = readValue(r, depth + 1);
        if (key === "__proto__") throw bad("'__proto__' key");
        dict[String(key)] = readValue(r, depth + 1);
      }
      r.u8();
      return dict;
    }
    case "r": {
      const index = r.i32();
      if (index < 0 || index >= r.refs.length) throw bad("bad reference");
      return r.refs[index];
    }
    default:
      throw bad(`unsupported type code 0x${code.toString(16)}`);
  }
}

/**
 * Reads Python `marshal` bytes.
 *
 * @example
 * ```ts
 * import { marshalLoads } from "./marshal.ts";
 * // Python: marshal.dumps(("i", "o", "m"))
 * const bytes = new Uint8Array([0xa9, 3, 0xda, 1, 0x69, 0xda, 1, 0x6f, 0xda, 1, 0x6d]);
 * console.log(marshalLoads(bytes)); // [ "i", "o", "m" ]
 * ```
 *
 * @param bytes The marshal data.
 * @returns The value: tuples as arrays marked with `TUPLE`, dicts as objects, sets as `Set`,
 *   ints beyond 2^53 as `bigint`, bytes as `Uint8Array`.
 * @throws {SerializeError} For malformed or unsupported data.
 */
export function marshalLoads(bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const value = readValue(r, 0);
  if (!r.done) throw bad("trailing bytes");
  return value;
}

class Writer {
  parts: number[] = [];

  byte(b: number): void {
    this.parts.push(b);
  }

  i32(n: number): void {
    this.parts.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  bytes(b: Uint8Array): void {
    for (const x of b) this.parts.push(x);
  }
}

function writeValue(w: Writer, v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new SerializeError("Cannot marshal: nesting too deep");
  if (v === null || v === undefined) return w.byte(0x4e); // N
  if (v === true) return w.byte(0x54); // T
  if (v === false) return w.byte(0x46); // F
  if (typeof v === "number" && Number.isSafeInteger(v) && !Object.is(v, -0)) {
    if (v >= -0x80000000 && v <= 0x7fffffff) {
      w.byte(0x69); // i
      return w.i32(v);
    }
    return writeLong(w, BigInt(v));
  }
  if (typeof v === "bigint") {
    if (v >= -0x80000000n && v <= 0x7fffffffn) {
      w.byte(0x69);
      return w.i32(Number(v));
    }
    return writeLong(w, v);
  }
  if (typeof v === "number") {
    w.byte(0x67); // g
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    return w.bytes(b);
  }
  if (typeof v === "string") {
    const b = utf8.encode(v);
    w.byte(0x75); // u
    w.i32(b.length);
    return w.bytes(b);
  }
  if (v instanceof Uint8Array) {
    w.byte(0x73); // s
    w.i32(v.length);
    return w.bytes(v);
  }
  if (Array.isArray(v) || v instanceof Set) {
    const items = [...v];
    w.byte(v instanceof Set ? 0x3c : isTuple(v) ? 0x28 : 0x5b); // < ( [
    w.i32(items.length);
    for (const item of items) writeValue(w, item, depth + 1);
    return;
  }
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    w.byte(0x7b); // {
    for (const [key, value] of Object.entries(v)) {
      writeValue(w, key, depth + 1);
      writeValue(w, value, depth + 1);
    }
    return w.byte(0x30); // 0
  }
  throw new SerializeError(`Cannot marshal a value of type ${typeof v}`);
}

function writeLong(w: Writer, v: bigint): void {
  const digits: number[] = [];
  let m = v < 0n ? -v : v;
  while (m > 0n) {
    digits.push(Number(m & 0x7fffn));
    m >>= 15n;
  }
  w.byte(0x6c); // l
  w.i32(v < 0n ? -digits.length : digits.length);
  for (const d of digits) w.byte(d & 0xff), w.byte(d >> 8);
}

/**
 * Writes a value as Python `marshal` bytes: None, booleans, integers, floats, str, bytes,
 * tuples (arrays marked with `tuple()`), lists, plain objects as dicts, and sets.
 *
 * @example
 * ```ts
 * import { marshalDumps } from "./marshal.ts";
 * console.log(marshalDumps(null)); // Uint8Array(1) [ 78 ]
 * ```
 *
 * @param value The value.
 * @returns The marshal bytes.
 * @throws {SerializeError} For values marshal cannot hold.
 */
export function marshalDumps(value: unknown): Uint8Array {
  const w = new Writer();
  writeValue(w, value, 0);
  return new Uint8Array(w.parts);
}
