/**
 * Private token scanners of the serpent decoder: Python number literals and string/bytes
 * literals with every prefix, quote form and escape that `ast.literal_eval` accepts (except
 * `\N{name}`, which needs Unicode's name table), plus small helpers for error positions.
 * Scanners fill in a reused result object and return an error text instead of throwing, so
 * that the parser can add the position.
 *
 * @module
 */

import { Complex } from "../value.ts";

/** Python refuses to convert decimal ints longer than this (sys.int_info.default_max_str_digits). */
export const MAX_INT_DIGITS = 4300;
/** Our bound on any number literal's length, digits and underscores included. */
export const MAX_NUMBER_LENGTH = 10000;

/** A scanned number literal (filled in by {@linkcode scanNumber}). */
export interface ScannedNumber {
  /** The value: number (floats and safe ints), bigint, or Complex for `...j` literals. */
  value: number | bigint | Complex;
  /** Index after the literal. */
  end: number;
}

/** A scanned string literal (filled in by {@linkcode scanString}). */
export interface ScannedString {
  /** The text of a str literal. */
  text: string;
  /** The byte values of a bytes literal (undefined for str). */
  bytes: number[] | undefined;
  /** Index after the literal. */
  end: number;
}

const RADIX = /0(?:[xX](?:_?[0-9a-fA-F])+|[oO](?:_?[0-7])+|[bB](?:_?[01])+)/y;
const DECIMAL =
  /(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][-+]?[0-9](?:_?[0-9])*)?[jJ]?/y;
const SAFE = 9007199254740991n;

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 ||
    c > 127;
}

function set(out: ScannedNumber, value: number | bigint | Complex, end: number): null {
  out.value = value;
  out.end = end;
  return null;
}

function intValue(big: bigint): number | bigint {
  return big <= SAFE && big >= -SAFE ? Number(big) : big;
}

/**
 * Scans a number literal starting at `start` (a digit or `.`), without a sign.
 *
 * @param t The text.
 * @param start Where the literal starts.
 * @param out Receives the number and its end.
 * @returns Null, or an error text.
 */
export function scanNumber(t: string, start: number, out: ScannedNumber): string | null {
  if (scanPlainNumber(t, start, out)) return null;
  // The regular expressions see at most one character more than the longest literal allowed,
  // so that a megabyte of digits costs no more than a long literal.
  const w = t.length - start > MAX_NUMBER_LENGTH
    ? t.slice(start, start + MAX_NUMBER_LENGTH + 1)
    : t;
  const from = w === t ? start : 0;
  RADIX.lastIndex = from;
  if (RADIX.test(w)) {
    const end = start + RADIX.lastIndex - from;
    if (end - start > MAX_NUMBER_LENGTH) return "number literal too long";
    if (isNameChar(t.charCodeAt(end))) return "invalid number literal";
    const tok = t.slice(start, end).replaceAll("_", "").toLowerCase();
    return set(out, intValue(BigInt(tok)), end);
  }
  DECIMAL.lastIndex = from;
  if (!DECIMAL.test(w)) return "invalid number literal";
  const end = start + DECIMAL.lastIndex - from;
  const len = end - start;
  if (len > MAX_NUMBER_LENGTH) return "number literal too long";
  if (isNameChar(t.charCodeAt(end))) return "invalid decimal literal";
  let tok = t.slice(start, end);
  if (tok.includes("_")) tok = tok.replaceAll("_", "");
  const last = tok.charCodeAt(tok.length - 1) | 0x20;
  if (last === 106) { // j
    return set(out, new Complex(0, Number(tok.slice(0, -1))), end);
  }
  if (tok.includes(".") || tok.includes("e") || tok.includes("E")) {
    return set(out, Number(tok), end);
  }
  if (tok.length > 1 && tok.charCodeAt(0) === 48) {
    if (!/^0+$/.test(tok)) return "leading zeros in decimal integer literals are not permitted";
    return set(out, 0, end);
  }
  if (tok.length <= 15) return set(out, Number(tok), end);
  if (tok.length > MAX_INT_DIGITS) {
    return `integer literal of ${tok.length} digits exceeds Python's limit of ${MAX_INT_DIGITS}`;
  }
  return set(out, intValue(BigInt(tok)), end);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * The common cases without regular expressions: a short decimal int (`123`) or a float without
 * underscores (`1.5`, `2e-05`). Returns false for anything else (the full scanner decides).
 */
function scanPlainNumber(t: string, start: number, out: ScannedNumber): boolean {
  let i = start;
  let c = t.charCodeAt(i);
  if (c === 48 && (isDigit(t.charCodeAt(i + 1)) || isNameChar(t.charCodeAt(i + 1)))) return false;
  if (!isDigit(c)) return false;
  let v = 0;
  do {
    v = v * 10 + (c - 48);
    c = t.charCodeAt(++i);
  } while (isDigit(c) && i - start <= 400);
  if (c !== 46 && c !== 101 && c !== 69) {
    return i - start <= 15 && !isNameChar(c) && set(out, v, i) === null;
  }
  if (c === 46) {
    c = t.charCodeAt(++i);
    while (isDigit(c) && i - start <= 400) c = t.charCodeAt(++i);
  }
  if (c === 101 || c === 69) {
    c = t.charCodeAt(++i);
    if (c === 43 || c === 45) c = t.charCodeAt(++i);
    if (!isDigit(c)) return false;
    while (isDigit(c) && i - start <= 400) c = t.charCodeAt(++i);
  }
  if (isNameChar(c) || c === 46 || i - start > 400) return false;
  return set(out, Number(t.slice(start, i)), i) === null;
}

/** The character codes of the one-letter escapes by the letter's code, -1 for others. */
const SIMPLE_CODES = new Int32Array(128).fill(-1);

const SIMPLE_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};
for (const [letter, char] of Object.entries(SIMPLE_ESCAPES)) {
  SIMPLE_CODES[letter.charCodeAt(0)] = char.charCodeAt(0);
}

function setString(
  res: ScannedString,
  text: string,
  bytes: number[] | undefined,
  end: number,
): null {
  res.text = text;
  res.bytes = bytes;
  res.end = end;
  return null;
}

/** The value of `count` hex digits at `i`, or -1. */
function hexValue(t: string, i: number, count: number): number {
  let v = 0;
  for (let k = i; k < i + count; k++) {
    const c = t.charCodeAt(k);
    const d = c >= 48 && c <= 57
      ? c - 48
      : (c | 0x20) >= 97 && (c | 0x20) <= 102
      ? (c | 0x20) - 87
      : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * Scans a string or bytes literal starting at `start` (its prefix letters or its quote).
 *
 * @param t The text.
 * @param start Where the literal starts.
 * @param res Receives the literal's value and end.
 * @returns Null, or an error text.
 */
export function scanString(t: string, start: number, res: ScannedString): string | null {
  let i = start;
  let raw = false;
  let bytes = false;
  let prefix = "";
  for (;;) {
    const c = t.charCodeAt(i);
    if (c === 39 || c === 34) break;
    prefix += String.fromCharCode(c | 0x20);
    i++;
  }
  switch (prefix) {
    case "":
    case "u":
      break;
    case "r":
      raw = true;
      break;
    case "b":
      bytes = true;
      break;
    case "br":
    case "rb":
      raw = bytes = true;
      break;
    default:
      return prefix.includes("f")
        ? "f-strings are not literals"
        : `invalid string prefix '${t.slice(start, i)}'`;
  }
  const q = t.charCodeAt(i);
  const triple = t.charCodeAt(i + 1) === q && t.charCodeAt(i + 2) === q;
  i += triple ? 3 : 1;
  if (!triple && !bytes) {
    // Fast path: no escapes, no newline before the closing quote. Short strings by a loop,
    // long ones with indexOf (native and much faster per character).
    const limit = i + 32;
    let j = i;
    for (; j < limit; j++) {
      const c = t.charCodeAt(j);
      if (c === q) return setString(res, t.slice(i, j), undefined, j + 1);
      if (c === 92 || c === 10 || c === 13 || c !== c) break;
    }
    if (j === limit) {
      const end = t.indexOf(q === 39 ? "'" : '"', j);
      if (end !== -1) {
        const seg = t.slice(i, end);
        if (
          seg.indexOf("\\", 32) === -1 && seg.indexOf("\n", 32) === -1 &&
          seg.indexOf("\r", 32) === -1
        ) {
          return setString(res, seg, undefined, end + 1);
        }
      }
    }
  }
  const n = t.length;
  // Byte values, or the UTF-16 code units of the text: appending to a string once per escape
  // cost 140 ms for a million escapes (ropes of one-character pieces), this a tenth of it.
  const out: number[] = [];
  let seg = i;
  const flush = (to: number) => {
    for (let k = seg; k < to; k++) out.push(t.charCodeAt(k));
  };
  const put = (code: number) => {
    if (code < 0x10000) out.push(code);
    else out.push(0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff));
  };
  for (;;) {
    if (i >= n) return "unterminated string literal";
    const c = t.charCodeAt(i);
    if (c === q) {
      if (!triple) break;
      if (t.charCodeAt(i + 1) === q && t.charCodeAt(i + 2) === q) break;
      i++;
      continue;
    }
    if (c === 10 || c === 13) {
      if (!triple) return "unterminated string literal (newline in a single-quoted string)";
      if (c === 13) { // newlines are normalised to \n, as Python's tokenizer does
        flush(i);
        put(10);
        i += t.charCodeAt(i + 1) === 10 ? 2 : 1;
        seg = i;
        continue;
      }
      i++;
      continue;
    }
    if (bytes && c > 127) return "bytes can only contain ASCII literal characters";
    if (c !== 92) {
      i++;
      continue;
    }
    // A backslash.
    if (i + 1 >= n) return "unterminated string literal";
    const e = t.charCodeAt(i + 1);
    if (bytes && e > 127) return "bytes can only contain ASCII literal characters";
    if (raw) {
      if (e === 13 && t.charCodeAt(i + 2) === 10) { // keep the backslash, normalise the newline
        flush(i);
        put(92);
        put(10);
        i += 3;
        seg = i;
      } else i += 2; // the backslash stays, the next character cannot end the literal
      continue;
    }
    flush(i);
    i += 2;
    const simple = e < 128 ? SIMPLE_CODES[e]! : -1;
    if (simple >= 0) out.push(simple);
    else if (e === 10) { /* line continuation */ }
    else if (e === 13) {
      if (t.charCodeAt(i) === 10) i++;
    } else if (e >= 48 && e <= 55) { // octal
      let code = e - 48;
      for (let k = 0; k < 2; k++) {
        const d = t.charCodeAt(i) - 48;
        if (d < 0 || d > 7) break;
        code = code * 8 + d;
        i++;
      }
      if (bytes && code > 255) return "invalid octal escape in a bytes literal";
      out.push(code);
    } else if (e === 120) { // x
      const v = hexValue(t, i, 2);
      if (v < 0) return "truncated \\xXX escape";
      out.push(v);
      i += 2;
    } else if (!bytes && (e === 117 || e === 85)) { // u, U
      const len = e === 117 ? 4 : 8;
      const v = hexValue(t, i, len);
      if (v < 0) return `truncated \\${String.fromCharCode(e)}${"X".repeat(len)} escape`;
      if (v > 0x10ffff) return "illegal Unicode character in a \\U escape";
      put(v);
      i += len;
    } else if (!bytes && e === 78) { // N
      return "\\N{...} escapes are not supported";
    } else {
      // Python keeps unknown escapes as they are (with a deprecation warning).
      out.push(92);
      seg = i - 1;
      continue;
    }
    seg = i;
  }
  flush(i);
  const end = i + (triple ? 3 : 1);
  return bytes ? setString(res, "", out, end) : setString(res, unitsToString(out), undefined, end);
}

/** A string from UTF-16 code units, in chunks (an argument list has a size limit). */
function unitsToString(units: number[]): string {
  const CHUNK = 8192;
  if (units.length <= CHUNK) return String.fromCharCode(...units);
  const parts: string[] = [];
  for (let k = 0; k < units.length; k += CHUNK) {
    parts.push(String.fromCharCode(...units.slice(k, k + CHUNK)));
  }
  return parts.join("");
}

/** Whether a number token is an int literal (no point, no exponent; radix forms count). */
export function isIntToken(t: string, start: number, end: number): boolean {
  const c = t.charCodeAt(start + 1) | 0x20;
  if (t.charCodeAt(start) === 48 && (c === 120 || c === 111 || c === 98)) return true;
  for (let i = start; i < end; i++) {
    const d = t.charCodeAt(i) | 0x20;
    if (d === 46 || d === 101) return false;
  }
  return true;
}

/** Whether a string prefix (1 or 2 letters of r, b, u, f) and a quote start at `i`. */
export function isPrefixedQuote(t: string, i: number): boolean {
  for (let k = 0; k < 3; k++) {
    const q = t.charCodeAt(i + k);
    if (q === 39 || q === 34) return k > 0;
    const c = q | 0x20;
    if (k === 2 || (c !== 114 && c !== 98 && c !== 117 && c !== 102)) return false;
  }
  return false;
}

/** A position for error messages: line, column and offset. */
export function where(text: string, at: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < at; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${at - lineStart + 1} (offset ${at})`;
}

/** The character at `at`, quoted when printable, for error messages. */
export function describe(text: string, at: number): string {
  if (at >= text.length) return "end of data";
  const cp = text.codePointAt(at)!;
  return cp >= 0x20 && cp < 0x7f
    ? `'${String.fromCodePoint(cp)}'`
    : `character U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}
