/**
 * Private: the json codec's fast paths for small payloads, straight between bytes and values
 * without a text in between (a call and its result are a few dozen bytes: decoding them to a
 * string, `JSON.parse` and the checks after it cost more than reading the bytes).
 *
 * {@linkcode readJsonFast} reads plain ASCII json (no escapes, no `NaN`/`Infinity` tokens, no
 * number `JSON.parse` could round) and {@linkcode writeJsonFast} writes strings of printable
 * ASCII, numbers, booleans, null, lists and plain records. Both give up ({@linkcode FALLBACK},
 * `null`) at anything else, and the general path in json.ts then does the work: results are
 * the same either way.
 *
 * @module
 */

import { AUTOPROXY, hasClassHooks, reviveDict } from "../class_registry.ts";
import { URI } from "../uri.ts";
import { isIntNumber, isPlainObject, pythonFloat } from "./common.ts";

/** What {@linkcode readJsonFast} returns when the general reader has to do the work. */
export const FALLBACK: unique symbol = Symbol("json fast path: fall back");

/** Payloads up to this size are tried by the fast reader. */
export const FAST_READ_MAX = 2048;
/** Deeper nesting goes to the general path (which has its own limits). */
const MAX_NESTING = 64;

/** Character codes of one string being read, reused (one array per length). */
const CODES: number[][] = [];
for (let i = 0; i <= 64; i++) CODES.push(new Array<number>(i).fill(0));

/** The keys of a call, returned as the same (internalized) strings every time. */
const KNOWN_KEYS = ["object", "method", "params", "kwargs"];
const KNOWN_BYTES = KNOWN_KEYS.map((k) => Array.from(k, (c) => c.charCodeAt(0)));

/** Reader state: the bytes and the position (module-level: reads do not nest). */
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;
let reading = false;

/**
 * Reads a whole json payload of plain ASCII, or returns {@linkcode FALLBACK}.
 *
 * @example
 * ```ts
 * import { FALLBACK, readJsonFast } from "./json_fast.ts";
 * const bytes = new TextEncoder().encode('{"params": [1, "a", true], "kwargs": {}}');
 * console.log(readJsonFast(bytes)); // { params: [ 1, "a", true ], kwargs: {} }
 * console.log(readJsonFast(new TextEncoder().encode("[NaN]")) === FALLBACK); // true
 * ```
 *
 * @param data The payload.
 * @returns The value (`__class__` dicts revived), or FALLBACK.
 */
export function readJsonFast(data: Uint8Array): unknown {
  if (reading) return FALLBACK; // a revived class reading json: the general path
  reading = true;
  buf = data;
  pos = 0;
  try {
    if (data[0] === 0x22) {
      // A string alone (a typical reply): no value dispatch, no space to skip.
      const text = readString();
      if (text !== FALLBACK && pos === data.length) return text;
      pos = 0;
    }
    const value = readValue(0);
    if (value === FALLBACK) return FALLBACK;
    skipSpace();
    return pos === data.length ? value : FALLBACK;
  } finally {
    buf = EMPTY;
    reading = false;
  }
}

const EMPTY = new Uint8Array(0);

/** The four fields of a call as {@linkcode readCallFast} reads them (kwargs: undefined if absent). */
export interface CallFields {
  /** The `object` field. */
  object: unknown;
  /** The `method` field. */
  method: unknown;
  /** The `params` field. */
  params: unknown;
  /** The `kwargs` field; undefined when the payload has none. */
  kwargs: unknown;
}

/**
 * Reads an INVOKE payload (a json object with `object`, `method`, `params`, `kwargs`) as
 * {@linkcode readJsonFast} reads values, straight into its fields (no record in between), or
 * returns {@linkcode FALLBACK}: also for a `__class__` or `__proto__` key, which the general
 * path treats as it treats them anywhere.
 *
 * @example
 * ```ts
 * import { readCallFast } from "./json_fast.ts";
 * const text = '{"object": "thing", "method": "echo", "params": [1], "kwargs": {}}';
 * console.log(readCallFast(new TextEncoder().encode(text)));
 * // { object: "thing", method: "echo", params: [ 1 ], kwargs: {} }
 * ```
 *
 * @param data The payload.
 * @returns The fields, or FALLBACK.
 */
export function readCallFast(data: Uint8Array): CallFields | typeof FALLBACK {
  if (reading) return FALLBACK;
  reading = true;
  buf = data;
  pos = 0;
  try {
    const call: CallFields = {
      object: undefined,
      method: undefined,
      params: undefined,
      kwargs: undefined,
    };
    if (readCallLayout(call)) return call;
    pos = 0;
    let hasKwargs = false;
    skipSpace();
    if (buf[pos] !== 0x7b) return FALLBACK;
    pos++;
    skipSpace();
    if (buf[pos] === 0x7d) return FALLBACK; // {}: the general path says what is missing
    for (;;) {
      skipSpace();
      const key = readKey();
      if (key === FALLBACK || key === "__proto__" || key === "__class__") return FALLBACK;
      skipSpace();
      if (buf[pos] !== 0x3a) return FALLBACK;
      pos++;
      const v = readValue(1);
      if (v === FALLBACK) return FALLBACK;
      switch (key) {
        case "object":
          call.object = v;
          break;
        case "method":
          call.method = v;
          break;
        case "params":
          call.params = v;
          break;
        case "kwargs": // null and absent differ: a payload without kwargs is refused
          call.kwargs = v;
          hasKwargs = true;
          break;
      }
      skipSpace();
      const c = buf[pos];
      pos++;
      if (c === 0x2c) continue;
      if (c === 0x7d) break;
      return FALLBACK;
    }
    skipSpace();
    return pos === data.length && hasKwargs ? call : FALLBACK;
  } finally {
    buf = EMPTY;
    reading = false;
  }
}

/** Whether the bytes at pos are `lit` (then pos moves past them). */
function literal(lit: Uint8Array): boolean {
  const b = buf;
  const p = pos;
  const n = lit.length;
  if (p + n > b.length) return false;
  for (let i = 0; i < n; i++) if (b[p + i] !== lit[i]) return false;
  pos = p + n;
  return true;
}

/**
 * The layout Python Pyro5 and our proxy write, `{"object": "..", "method": "..", "params":
 * [..], "kwargs": ..}`, read without the key loop; false for anything else (the caller then
 * reads the payload again from the start with the general key loop).
 */
function readCallLayout(call: CallFields): boolean {
  if (!literal(CALL_OBJECT) || buf[pos] !== 0x22) return false;
  const object = readCachedString(OBJECT_SLOT);
  if (object === FALLBACK || !literal(CALL_METHOD) || buf[pos] !== 0x22) return false;
  const method = readCachedString(METHOD_SLOT);
  if (method === FALLBACK || !literal(CALL_PARAMS) || buf[pos] !== 0x5b) return false;
  const params = readArray(2);
  if (params === FALLBACK || !literal(CALL_KWARGS)) return false;
  const kwargs = readValue(1);
  if (kwargs === FALLBACK || buf[pos] !== 0x7d) return false;
  pos++;
  skipSpace();
  if (pos !== buf.length) return false;
  call.object = object;
  call.method = method;
  call.params = params;
  call.kwargs = kwargs;
  return true;
}

/** The last object id and method name read, with their bytes: the next call mostly repeats them. */
interface CachedString {
  bytes: Uint8Array;
  text: string;
}
const OBJECT_SLOT: CachedString = { bytes: new Uint8Array(64), text: "" };
const METHOD_SLOT: CachedString = { bytes: new Uint8Array(64), text: "" };

/** {@linkcode readString}, returning the slot's string when the bytes are the same as last time. */
function readCachedString(slot: CachedString): string | typeof FALLBACK {
  const b = buf;
  const start = pos + 1;
  const text = slot.text;
  const n = text.length;
  const cached = slot.bytes;
  if (n > 0 && b[start + n] === 0x22) {
    let i = 0;
    while (i < n && b[start + i] === cached[i]) i++;
    if (i === n) {
      pos = start + n + 1;
      return text;
    }
  }
  const s = readString();
  if (s !== FALLBACK && s.length <= cached.length) {
    for (let i = 0; i < s.length; i++) cached[i] = s.charCodeAt(i);
    slot.text = s;
  }
  return s;
}

function skipSpace(): void {
  const b = buf;
  let p = pos;
  while (p < b.length) {
    const c = b[p]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    p++;
  }
  pos = p;
}

function readValue(depth: number): unknown {
  skipSpace();
  const b = buf;
  if (pos >= b.length) return FALLBACK;
  const c = b[pos]!;
  switch (c) {
    case 0x22: // "
      return readString();
    case 0x5b: // [
      return depth < MAX_NESTING ? readArray(depth + 1) : FALLBACK;
    case 0x7b: // {
      return depth < MAX_NESTING ? readObject(depth + 1) : FALLBACK;
    case 0x74: // t
      return word(0x72, 0x75, 0x65, -1) ? true : FALLBACK;
    case 0x66: // f
      return word(0x61, 0x6c, 0x73, 0x65) ? false : FALLBACK;
    case 0x6e: // n
      return word(0x75, 0x6c, 0x6c, -1) ? null : FALLBACK;
  }
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return readNumber();
  return FALLBACK;
}

/** Matches the rest of true, false or null (the first letter is at pos; -1: no fourth). */
function word(a: number, b2: number, c: number, d: number): boolean {
  const b = buf;
  const p = pos;
  if (b[p + 1] !== a || b[p + 2] !== b2 || b[p + 3] !== c) return false;
  if (d < 0) {
    pos = p + 4;
    return true;
  }
  if (b[p + 4] !== d) return false;
  pos = p + 5;
  return true;
}

function readNumber(): unknown {
  const b = buf;
  const start = pos;
  let p = start;
  const negative = b[p] === 0x2d;
  if (negative) p++;
  const first = p;
  let value = 0;
  while (p < b.length && b[p]! >= 0x30 && b[p]! <= 0x39) value = value * 10 + (b[p++]! - 0x30);
  const digits = p - first;
  if (digits === 0 || (digits > 1 && b[first] === 0x30)) return FALLBACK; // JSON.parse refuses
  const c = b[p];
  if (c !== 0x2e && c !== 0x65 && c !== 0x45 && digits <= 15) {
    pos = p;
    return negative ? -value : value;
  }
  // A fraction, an exponent or many digits: as JSON.parse reads them, unless it could round.
  if (c === 0x2e) {
    p++;
    const f = p;
    while (p < b.length && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
    if (p === f) return FALLBACK;
  }
  if (b[p] === 0x65 || b[p] === 0x45) {
    p++;
    if (b[p] === 0x2b || b[p] === 0x2d) p++;
    const e = p;
    while (p < b.length && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
    if (p === e) return FALLBACK;
  }
  let text = "";
  for (let i = start; i < p; i++) text += String.fromCharCode(b[i]!);
  const x = Number(text);
  // Integers beyond 2^53 are Python ints (bigint) and overflow is an error: the general path.
  if ((Number.isInteger(x) && !Number.isSafeInteger(x)) || x === Infinity || x === -Infinity) {
    return FALLBACK;
  }
  pos = p;
  return x;
}

/** A string of printable ASCII without escapes; anything else falls back. */
function readString(): string | typeof FALLBACK {
  const b = buf;
  const start = pos + 1;
  let p = start;
  for (;;) {
    if (p >= b.length) return FALLBACK;
    const c = b[p]!;
    if (c === 0x22) break;
    if (c < 0x20 || c >= 0x80 || c === 0x5c) return FALLBACK;
    p++;
  }
  pos = p + 1;
  const n = p - start;
  if (n > 64) {
    let s = "";
    for (let i = start; i < p; i += 1024) {
      s += String.fromCharCode.apply(
        null,
        b.subarray(i, Math.min(p, i + 1024)) as unknown as number[],
      );
    }
    return s;
  }
  const codes = CODES[n]!;
  for (let i = 0; i < n; i++) codes[i] = b[start + i]!;
  return String.fromCharCode.apply(null, codes);
}

/** A key: the keys of a call come back as the same strings each time. */
function readKey(): string | typeof FALLBACK {
  const b = buf;
  const start = pos + 1;
  if (b[pos] !== 0x22) return FALLBACK;
  if (b[start + 6] === 0x22) {
    for (let k = 0; k < KNOWN_BYTES.length; k++) {
      const known = KNOWN_BYTES[k]!;
      let i = 0;
      while (i < 6 && b[start + i] === known[i]) i++;
      if (i === 6) {
        pos = start + 7;
        return KNOWN_KEYS[k]!;
      }
    }
  }
  return readString();
}

function readArray(depth: number): unknown {
  pos++; // [
  const out: unknown[] = [];
  skipSpace();
  if (buf[pos] === 0x5d) {
    pos++;
    return out;
  }
  for (;;) {
    const v = readValue(depth);
    if (v === FALLBACK) return FALLBACK;
    out.push(v);
    skipSpace();
    const c = buf[pos];
    pos++;
    if (c === 0x2c) continue;
    if (c === 0x5d) return out;
    return FALLBACK;
  }
}

function readObject(depth: number): unknown {
  pos++; // {
  const record: Record<string, unknown> = {};
  skipSpace();
  if (buf[pos] === 0x7d) {
    pos++;
    return record;
  }
  for (;;) {
    skipSpace();
    const key = readKey();
    if (key === FALLBACK || key === "__proto__") return FALLBACK; // the general path refuses it
    skipSpace();
    if (buf[pos] !== 0x3a) return FALLBACK;
    pos++;
    const v = readValue(depth);
    if (v === FALLBACK) return FALLBACK;
    record[key] = v;
    skipSpace();
    const c = buf[pos];
    pos++;
    if (c === 0x2c) continue;
    if (c === 0x7d) break;
    return FALLBACK;
  }
  return typeof record.__class__ === "string" ? reviveDict(record) : record;
}

/** Writer state: output bytes (reused; a result is valid until the next write) and position. */
let out = new Uint8Array(4096);
let at = 0;
let writing = false;
/** Longest output of the fast writer; longer values take the general path. */
const FAST_WRITE_MAX = 4096;
const NUMBER_TEXT = 32;

/**
 * Views of `out` by length, made once each: making a view costs about as much as writing a
 * short payload, and a result is only valid until the next write anyway.
 */
let views: Uint8Array[] = [];
const VIEWS_MAX = 512;

/** The first n bytes of `out`. */
function view(n: number): Uint8Array {
  if (n > VIEWS_MAX) return out.subarray(0, n);
  return views[n] ??= out.subarray(0, n);
}

/**
 * Writes a value as json.ts's general writer would, into a shared buffer: the bytes are valid
 * until the next call. Returns null when the value needs the general writer.
 *
 * @example
 * ```ts
 * import { writeJsonFast } from "./json_fast.ts";
 * const bytes = writeJsonFast({ a: [1, 2.5, "x"], b: null });
 * console.log(new TextDecoder().decode(bytes!)); // {"a": [1, 2.5, "x"], "b": null}
 * console.log(writeJsonFast("é")); // null
 * ```
 *
 * @param value The value.
 * @returns A view of the bytes, or null.
 */
export function writeJsonFast(value: unknown): Uint8Array | null {
  if (writing) return null; // a getter writing json meanwhile: the general path
  writing = true;
  try {
    at = 0;
    return writeValue(value, 0) ? view(at) : null;
  } finally {
    writing = false;
  }
}

/**
 * Writes an INVOKE payload (`{"object": ..., "method": ..., "params": [...], "kwargs": ...}`)
 * as {@linkcode writeJsonFast} writes values.
 *
 * @example
 * ```ts
 * import { writeCallFast } from "./json_fast.ts";
 * const bytes = writeCallFast("thing", "echo", ["hi"], {});
 * console.log(new TextDecoder().decode(bytes!));
 * // {"object": "thing", "method": "echo", "params": ["hi"], "kwargs": {}}
 * ```
 *
 * @param object The object id.
 * @param method The method name.
 * @param params The positional arguments.
 * @param kwargs The keyword arguments, or null.
 * @returns A view of the bytes (valid until the next write), or null.
 */
export function writeCallFast(
  object: string,
  method: string,
  params: unknown[],
  kwargs: Record<string, unknown> | null | undefined,
): Uint8Array | null {
  if (writing || typeof object !== "string" || typeof method !== "string") return null;
  if (!Array.isArray(params)) return null;
  writing = true;
  try {
    at = 0;
    return writeCall(object, method, params, kwargs) ? view(at) : null;
  } finally {
    writing = false;
  }
}

/**
 * The bytes of the last call up to its params (`{"object": .., "method": .., "params": `),
 * for the object id and method name they were written for: the next call mostly repeats them.
 */
let prefix: Uint8Array = new Uint8Array(0);
let prefixObject: string | null = null;
let prefixMethod: string | null = null;
/** Longer prefixes are not kept. */
const PREFIX_MAX = 256;

function writeCall(
  object: string,
  method: string,
  params: unknown[],
  kwargs: Record<string, unknown> | null | undefined,
): boolean {
  if (object === prefixObject && method === prefixMethod) {
    if (!bytes(prefix)) return false;
  } else {
    if (
      !bytes(CALL_OBJECT) || !writeString(object) || !bytes(CALL_METHOD) ||
      !writeString(method) || !bytes(CALL_PARAMS)
    ) return false;
    if (at <= PREFIX_MAX) {
      prefix = out.slice(0, at);
      prefixObject = object;
      prefixMethod = method;
    }
  }
  if (!writeArray(params, 1)) return false;
  if (kwargs === null || kwargs === undefined) return bytes(CALL_KWARGS_NULL_END);
  if (hasNoKeys(kwargs)) return bytes(CALL_KWARGS_EMPTY_END); // most calls
  return bytes(CALL_KWARGS) && writeRecord(kwargs, 1) && bytes(CLOSE_BRACE);
}

/** True when a for-in loop finds no key (then writeRecord would write `{}`). */
function hasNoKeys(record: Record<string, unknown>): boolean {
  for (const _ in record) return false;
  return true;
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const CALL_OBJECT = ascii('{"object": ');
const CALL_METHOD = ascii(', "method": ');
const CALL_PARAMS = ascii(', "params": ');
const CALL_KWARGS = ascii(', "kwargs": ');
const CLOSE_BRACE = ascii("}");
const CALL_KWARGS_NULL_END = ascii(', "kwargs": null}');
const CALL_KWARGS_EMPTY_END = ascii(', "kwargs": {}}');
const NULL = ascii("null");
const TRUE = ascii("true");
const FALSE = ascii("false");

/** Makes room for n more bytes (within FAST_WRITE_MAX). */
function room(n: number): boolean {
  if (at + n <= out.length) return true;
  if (at + n > FAST_WRITE_MAX) return false;
  const bigger = new Uint8Array(FAST_WRITE_MAX);
  bigger.set(out.subarray(0, at));
  out = bigger;
  views = [];
  return true;
}

function bytes(b: Uint8Array): boolean {
  const n = b.length;
  if (!room(n)) return false;
  const o = out;
  const p = at;
  if (n > 24) o.set(b, p); // a call's kept prefix: set() beats a loop from about this length
  else for (let i = 0; i < n; i++) o[p + i] = b[i]!; // short: a loop beats set()
  at = p + n;
  return true;
}

function writeText(s: string): boolean {
  const n = s.length;
  if (!room(n)) return false;
  for (let i = 0; i < n; i++) out[at + i] = s.charCodeAt(i);
  at += n;
  return true;
}

/** A string of printable ASCII other than `"` and `\`, quoted; false for anything else. */
function writeString(s: string): boolean {
  const n = s.length;
  if (!room(n + 2)) return false;
  const o = out;
  let p = at;
  o[p++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) return false;
    o[p++] = c;
  }
  o[p++] = 0x22;
  at = p;
  return true;
}

function writeValue(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
      return writeString(value);
    case "number":
      return writeNumber(value);
    case "boolean":
      return bytes(value ? TRUE : FALSE);
    case "undefined":
      return bytes(NULL);
    case "object":
      if (value === null) return bytes(NULL);
      if (depth >= MAX_NESTING) return false;
      if (Array.isArray(value)) return writeArray(value, depth + 1);
      if (isPlainObject(value) && !(AUTOPROXY in value)) return writeRecord(value, depth + 1);
      if (value instanceof URI && !hasClassHooks() && !(AUTOPROXY in value)) {
        return writeUri(value, depth + 1);
      }
      return false;
    default:
      return false;
  }
}

const URI_HEAD = ascii('{"__class__": "Pyro5.core.URI", "state": [');
const URI_TAIL = ascii("]}");
const COMMA = ascii(", ");

/**
 * A URI as json.ts writes the map `replaceSpecial` makes of it (the same bytes), from its
 * fields without building the map (Name Server lookups); `depth` is the map's.
 */
function writeUri(uri: URI, depth: number): boolean {
  if (depth + 1 > MAX_NESTING) return false;
  if (!bytes(URI_HEAD) || !writeString(uri.protocol) || !bytes(COMMA)) return false;
  if (
    uri.protocol === "PYROMETA" ? !writeArray([...uri.tags], depth + 2) : !writeString(uri.object)
  ) {
    return false;
  }
  const { sockname, host, port } = uri;
  return bytes(COMMA) && (sockname === null ? bytes(NULL) : writeString(sockname)) &&
    bytes(COMMA) && (host === null ? bytes(NULL) : writeString(host)) && bytes(COMMA) &&
    (port === null ? bytes(NULL) : writeNumber(port)) && bytes(URI_TAIL);
}

function writeNumber(x: number): boolean {
  if ((x | 0) === x && x >= 0 && (x !== 0 || 1 / x > 0) && room(10)) {
    // A small non-negative integer: its digits, without a string.
    if (x < 10) {
      out[at++] = 0x30 + x;
      return true;
    }
    let n = 0;
    for (let y = x; y > 0; y = (y / 10) | 0) n++;
    let p = at + n;
    for (let y = x; y > 0; y = (y / 10) | 0) out[--p] = 0x30 + (y % 10);
    at += n;
    return true;
  }
  const text = isIntNumber(x) ? String(x) : pythonFloat(x);
  return text.length <= NUMBER_TEXT && writeText(text);
}

function writeArray(items: unknown[], depth: number): boolean {
  const n = items.length;
  if (!room(1)) return false;
  out[at++] = 0x5b;
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      if (!room(2)) return false;
      out[at++] = 0x2c;
      out[at++] = 0x20;
    }
    if (!writeValue(items[i], depth)) return false;
  }
  if (!room(1)) return false;
  out[at++] = 0x5d;
  return true;
}

function writeRecord(record: Record<string, unknown>, depth: number): boolean {
  if (!room(1)) return false;
  out[at++] = 0x7b;
  let first = true;
  for (const k in record) {
    if (!Object.hasOwn(record, k)) continue;
    if (!first) {
      if (!room(2)) return false;
      out[at++] = 0x2c;
      out[at++] = 0x20;
    }
    first = false;
    if (!writeString(k) || !room(2)) return false;
    out[at++] = 0x3a;
    out[at++] = 0x20;
    if (!writeValue(record[k], depth)) return false;
  }
  if (!room(1)) return false;
  out[at++] = 0x7d;
  return true;
}
