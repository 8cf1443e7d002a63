/**
 * Python's `repr()` of a str and of a float, as serpent writes them: the quoting and escapes
 * of a string literal (printable non-ASCII characters kept), and the shortest round-trip float
 * digits in Python's notation. Used by the serpent writer (serpent_encode.ts).
 *
 * @example
 * ```ts
 * import { pythonFloatRepr, pythonStrRepr } from "./serpent_repr.ts";
 * console.log(pythonStrRepr("it's"), pythonFloatRepr(0.5)); // "it's" 0.5
 * ```
 *
 * @module
 */

const NAN_TEXT = "{'__class__':'float','value':'nan'}";

/** Characters that `repr()` keeps as they are inside `'...'`: printable ASCII minus `'` and `\`. */
const PLAIN_SINGLE = /^[ !"#$%&(-[\]-~]*$/;
/** Up to this length, {@linkcode isPlainSingle} loops instead of running PLAIN_SINGLE. */
const SHORT_PLAIN = 64;

/** Whether `text` is all printable ASCII but the quote and backslash (repr() keeps it as is). */
export function isPlainSingle(text: string): boolean {
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
 * import { pythonStrRepr } from "./serpent_repr.ts";
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
 * import { pythonFloatRepr } from "./serpent_repr.ts";
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
