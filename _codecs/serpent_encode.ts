/**
 * The serpent encoder: turns a value into the Python literal text that Python's `serpent` 1.41
 * library writes for the same value (as Pyro5 calls it: `module_in_classname=True`, bytes as
 * base64 maps), so that Python reads it back with `ast.literal_eval`.
 *
 * Used by serpent.ts; most code wants the serializer from there instead.
 *
 * @example Writing a call payload body
 * ```ts
 * import { encodeSerpentText } from "./serpent_encode.ts";
 * import { tuple } from "../value.ts";
 *
 * console.log(encodeSerpentText(tuple("thing", "echo", tuple("hi"), {})));
 * // ('thing','echo',('hi',),{})
 * ```
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import { AUTOPROXY, NOT_SPECIAL, replaceSpecial } from "../class_registry.ts";
import { Complex, isTuple, tuple } from "../value.ts";
import { dateToIso, unsupported } from "./common.ts";
import type { CallRequest } from "./types.ts";

/** The first line of every serpent payload. */
export const SERPENT_HEADER = "# serpent utf-8 python3.2\n";

/** Python's bracket nesting limit (its tokenizer refuses more than 200 open brackets). */
export const DEFAULT_MAX_DEPTH = 200;

const NAN_TEXT = "{'__class__':'float','value':'nan'}";

/** Characters that `repr()` keeps as they are inside `'...'`: printable ASCII minus `'` and `\`. */
const PLAIN_SINGLE = /^[ !"#$%&(-[\]-~]*$/;
/** Up to this length, {@linkcode isPlainSingle} loops instead of running PLAIN_SINGLE. */
const SHORT_PLAIN = 64;

/** Whether `text` is all printable ASCII but the quote and backslash (repr() keeps it as is). */
function isPlainSingle(text: string): boolean {
  const n = text.length;
  if (n > SHORT_PLAIN) return PLAIN_SINGLE.test(text);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c > 126 || c === 39 || c === 92) return false;
  }
  return true;
}

/**
 * Characters that `repr()` escapes besides `\` and the quote: every code point that
 * `str.isprintable()` rejects (categories Cc, Cf, Cs, Co, Cn, Zl, Zp, and Zs other than space).
 */
const NONPRINTABLE = /[\p{C}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u;

let bmpTable: Uint8Array | undefined;

/**
 * Per UTF-16 code unit: 0 keep, 1 escape, 2 surrogate (look at the pair). Built on first use
 * (a few milliseconds, once per process).
 */
function escapeTable(): Uint8Array {
  if (bmpTable !== undefined) return bmpTable;
  const table = new Uint8Array(0x10000);
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c < 0xe000) table[c] = 2;
    else if (NONPRINTABLE.test(String.fromCharCode(c))) table[c] = 1;
  }
  table[0x5c] = 1;
  bmpTable = table;
  return table;
}

/** Astral characters seen so far (mostly emoji): whether repr() escapes them. Bounded. */
const astral = new Map<string, boolean>();

function astralNeedsEscape(pair: string): boolean {
  let escape = astral.get(pair);
  if (escape === undefined) {
    escape = NONPRINTABLE.test(pair);
    if (astral.size < 4096) astral.set(pair, escape);
  }
  return escape;
}

function escapeChar(ch: string): string {
  switch (ch) {
    case "\\":
      return "\\\\";
    case "'":
      return "\\'";
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
  }
  const cp = ch.codePointAt(0)!;
  if (cp < 0x100) return "\\x" + cp.toString(16).padStart(2, "0");
  if (cp < 0x10000) return "\\u" + cp.toString(16).padStart(4, "0");
  return "\\U" + cp.toString(16).padStart(8, "0");
}

/**
 * Python's `repr()` of a str: `'...'`, or `"..."` when the text holds `'` but no `"`, with
 * Python's escapes. Printable non-ASCII characters stay as they are.
 *
 * @example
 * ```ts
 * import { pythonStrRepr } from "./serpent_encode.ts";
 * console.log(pythonStrRepr("it's\n")); // "it's\n"
 * ```
 *
 * @param text The string.
 * @returns The literal.
 */
export function pythonStrRepr(text: string): string {
  if (isPlainSingle(text)) return "'" + text + "'";
  const q = text.includes("'") && !text.includes('"') ? 34 : 39;
  const table = escapeTable();
  const n = text.length;
  let out = q === 39 ? "'" : '"';
  let seg = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const flag = c === q ? 1 : table[c]!;
    if (flag === 0) continue;
    if (flag === 2 && c < 0xdc00 && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) { // a pair: one astral character
        const pair = text.slice(i, i + 2);
        if (astralNeedsEscape(pair)) {
          out += text.slice(seg, i) + escapeChar(pair);
          seg = i + 2;
        }
        i++;
        continue;
      }
    }
    out += text.slice(seg, i) + escapeChar(text[i]!);
    seg = i + 1;
  }
  return out + text.slice(seg) + (q === 39 ? "'" : '"');
}

/**
 * Python's `repr()` of a float as serpent writes it: shortest round-trip digits, fixed notation
 * for exponents -4..15 (`0.0001`, `1000000000000000.0`), otherwise `1e+16` / `1e-05` forms;
 * infinities as `1e30000` / `-1e30000` and NaN as serpent's `{'__class__':'float','value':'nan'}`.
 *
 * @example
 * ```ts
 * import { pythonFloatRepr } from "./serpent_encode.ts";
 * console.log(pythonFloatRepr(1), pythonFloatRepr(1e16), pythonFloatRepr(1e-5)); // 1.0 1e+16 1e-05
 * ```
 *
 * @param value The number.
 * @returns The literal.
 */
export function pythonFloatRepr(value: number): string {
  const a = Math.abs(value);
  if (a >= 1e-4 && a < 1e16) {
    const s = String(value);
    return s.includes(".") ? s : s + ".0";
  }
  if (a === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  if (a === Infinity) return value > 0 ? "1e30000" : "-1e30000";
  if (a !== a) return NAN_TEXT;
  const e = value.toExponential();
  const at = e.indexOf("e");
  const exp = e.slice(at + 2);
  return e.slice(0, at) + "e" + e[at + 1] + (exp.length < 2 ? "0" + exp : exp);
}

function typeName(value: unknown): string {
  if (typeof value !== "object" || value === null) return typeof value;
  return value.constructor?.name ?? "object";
}

/** Writes serpent text for one value tree; one instance per call. */
class Encoder {
  out = "";
  constructor(readonly maxDepth: number) {}

  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case "string":
        this.out += pythonStrRepr(v);
        return;
      case "number":
        this.out += Number.isSafeInteger(v) && !Object.is(v, -0) ? String(v) : pythonFloatRepr(v);
        return;
      case "boolean":
        this.out += v ? "True" : "False";
        return;
      case "undefined":
        this.out += "None";
        return;
      case "bigint":
        this.out += v.toString();
        return;
      case "object":
        if (v === null) this.out += "None";
        else this.object(v, depth);
        return;
      default:
        throw unsupported(v, "serpent");
    }
  }

  checkDepth(depth: number): void {
    if (depth >= this.maxDepth) {
      throw new SerializeError(
        `Cannot serialize with serpent: nesting deeper than ${this.maxDepth} levels (or a circular reference)`,
      );
    }
  }

  object(v: object, depth: number): void {
    this.checkDepth(depth);
    const d = depth + 1;
    if (Array.isArray(v)) {
      if (isTuple(v)) this.tuple(v, d);
      else this.list(v, d);
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if ((proto === Object.prototype || proto === null) && !(AUTOPROXY in v)) {
      this.dict(v as Record<string, unknown>, d);
      return;
    }
    if (v instanceof Uint8Array) return this.bytes(v);
    if (ArrayBuffer.isView(v)) {
      return this.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
    if (v instanceof ArrayBuffer) return this.bytes(new Uint8Array(v));
    if (v instanceof Set) return this.set(v, d);
    if (v instanceof Map) return this.map(v, d);
    if (v instanceof Date) {
      this.out += pythonStrRepr(dateToIso(v, "serpent"));
      return;
    }
    if (v instanceof Complex) {
      this.out += "(" + pythonFloatRepr(v.re) + (v.im >= 0 ? "+" : "") + pythonFloatRepr(v.im) +
        "j)";
      return;
    }
    const replaced = replaceSpecial(v, "serpent");
    if (replaced !== NOT_SPECIAL) {
      this.value(pythonShape(replaced), d);
      return;
    }
    this.dict(v as Record<string, unknown>, d);
  }

  tuple(v: readonly unknown[], depth: number): void {
    this.out += "(";
    const n = v.length;
    for (let i = 0; i < n; i++) {
      if (i > 0) this.out += ",";
      this.value(v[i], depth);
    }
    this.out += n === 1 ? ",)" : ")";
  }

  list(v: readonly unknown[], depth: number): void {
    this.out += "[";
    const n = v.length;
    for (let i = 0; i < n; i++) {
      if (i > 0) this.out += ",";
      this.value(v[i], depth);
    }
    this.out += "]";
  }

  dict(v: Record<string, unknown>, depth: number): void {
    this.out += "{";
    let first = true;
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      if (first) first = false;
      else this.out += ",";
      this.out += pythonStrRepr(k) + ":";
      this.value(v[k], depth);
    }
    this.out += "}";
  }

  map(v: Map<unknown, unknown>, depth: number): void {
    this.out += "{";
    let first = true;
    for (const [k, item] of v) {
      if (first) first = false;
      else this.out += ",";
      this.key(k, depth);
      this.out += ":";
      this.value(item, depth);
    }
    this.out += "}";
  }

  set(v: Set<unknown>, depth: number): void {
    if (v.size === 0) {
      this.out += "()"; // Python has no empty-set literal; serpent writes an empty tuple
      return;
    }
    this.out += "{";
    let first = true;
    for (const item of v) {
      if (first) first = false;
      else this.out += ",";
      this.key(item, depth);
    }
    this.out += "}";
  }

  /** A dict key or set element: only what Python can hash (serpent refuses other keys too). */
  key(k: unknown, depth: number): void {
    const t = typeof k;
    if (
      t === "string" || t === "number" || t === "bigint" || t === "boolean" ||
      k instanceof Complex || (isTuple(k) && k.every(isHashable))
    ) {
      this.value(k, depth);
      return;
    }
    throw new SerializeError(
      `Cannot serialize a dict key or set element of type '${
        typeName(k)
      }' with serpent: use str, number, bool or tuple`,
    );
  }

  bytes(v: Uint8Array): void {
    // Python writes repr() of a dict here, hence the spaces.
    this.out += "{'data': '" + v.toBase64() + "', 'encoding': 'base64'}";
  }
}

const TUPLE_STATE = new Set(["Pyro5.core.URI", "Pyro5.client.Proxy", "Pyro5.server.Daemon"]);

/**
 * Gives Pyro's special maps the tuples Python writes in them (URI and proxy `state`, exception
 * `args`), so that the text is the same as Python's; Python accepts lists there too.
 */
function pythonShape(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const map = value as Record<string, unknown>;
  const cls = map.__class__;
  if (typeof cls !== "string") return value;
  const out: Record<string, unknown> = { ...map };
  if (TUPLE_STATE.has(cls) && Array.isArray(map.state) && !isTuple(map.state)) {
    out.state = tuple(
      ...map.state.map((x) =>
        Array.isArray(x) && !isTuple(x) && cls !== "Pyro5.core.URI" ? tuple(...x) : x
      ),
    );
  }
  if (map.__exception__ === true && Array.isArray(map.args) && !isTuple(map.args)) {
    out.args = tuple(...map.args);
  }
  if (cls === "Pyro5.core._ExceptionWrapper") out.exception = pythonShape(map.exception);
  return out;
}

function isHashable(k: unknown): boolean {
  const t = typeof k;
  return t === "string" || t === "number" || t === "bigint" || t === "boolean" ||
    k instanceof Complex || (isTuple(k) && k.every(isHashable));
}

/**
 * Encodes a value as serpent text without the header line.
 *
 * @example
 * ```ts
 * import { encodeSerpentText } from "./serpent_encode.ts";
 * console.log(encodeSerpentText({ a: [1, 2.5, null], b: new Set([1]) })); // {'a':[1,2.5,None],'b':{1}}
 * ```
 *
 * @param value The value.
 * @param maxDepth The deepest container nesting allowed.
 * @returns The Python literal text.
 * @throws {SerializeError} For functions, symbols, unhashable keys, too deep or circular data.
 */
export function encodeSerpentText(value: unknown, maxDepth: number = DEFAULT_MAX_DEPTH): string {
  const encoder = new Encoder(maxDepth);
  encoder.value(value, 0);
  return encoder.out;
}

/**
 * Serpent text for a call, Python's 4-tuple `(object, method, params, kwargs)`: the same text
 * as encoding `tuple(object, method, tuple(...params), kwargs)`, without marking arrays as
 * tuples on the way (params stay as given when already a tuple, or for a `<batch>` call's list).
 *
 * @example
 * ```ts
 * import { encodeSerpentCall } from "./serpent_encode.ts";
 * console.log(encodeSerpentCall({ object: "o", method: "echo", params: ["hi"], kwargs: null }));
 * // ('o','echo',('hi',),None)
 * ```
 *
 * @param call The call.
 * @param maxDepth The deepest container nesting allowed.
 * @returns The Python literal text.
 * @throws {SerializeError} As `encodeSerpentText`.
 */
export function encodeSerpentCall(call: CallRequest, maxDepth: number = DEFAULT_MAX_DEPTH): string {
  const e = new Encoder(maxDepth);
  e.checkDepth(0);
  e.out = "(";
  e.value(call.object, 1);
  e.out += ",";
  e.value(call.method, 1);
  e.out += ",";
  const params = call.params;
  if (isTuple(params) || call.method === "<batch>") e.value(params, 1);
  else {
    e.checkDepth(1);
    e.tuple(params, 2);
  }
  e.out += ",";
  e.value(call.kwargs, 1);
  e.out += ")";
  return e.out;
}
