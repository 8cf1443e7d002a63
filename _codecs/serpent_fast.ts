/**
 * Private: the serpent decoder's fast path. Python's serpent writes a small subset of the
 * literal syntax (no comments, compact separators, plain quotes), and most payloads of a call
 * are short: this parser reads that subset straight from the bytes, without decoding the
 * payload into a string first, and gives up ({@linkcode NOT_FAST}) on anything else — string
 * prefixes, adjacent literals, unusual numbers (radix, underscores, complex, past 400 digits),
 * comments, non-ASCII bytes outside strings, control bytes, invalid UTF-8, dicts with other
 * than string keys, `__proto__` keys, nesting past the limit — so that the full parser
 * (serpent_decode.ts), which reports errors with their position, reads it instead. Whatever it
 * accepts, it returns exactly the value the full parser gives.
 *
 * Short ASCII strings are interned in a small fixed table (an object id, a method name, a dict
 * key come again in every call): a hit costs a comparison instead of a new string. Strings with
 * other characters are decoded one by one. Long strings, strings with escapes or triple quotes
 * (by the full parser's own scanner) and number tokens of payloads past a few hundred bytes are
 * read from one native decode of the whole payload, made when first needed and used only when
 * the payload is all ASCII.
 *
 * Serpent's special maps are revived only once the whole payload has been read (a walk over
 * the values, in the full parser's bottom-up order), so that giving up half way never runs a
 * revival hook twice.
 *
 * @example
 * ```ts
 * import { fastDecode, NOT_FAST } from "./serpent_fast.ts";
 * const data = new TextEncoder().encode("('thing','echo',('hi',),{})");
 * const call = fastDecode(data, 0, { maxDepth: 200, call: true });
 * console.log(call === NOT_FAST, call); // false [ "thing", "echo", [ "hi" ], {} ]
 * ```
 *
 * @module
 */

import { markTuple } from "../value.ts";
import { reviveSpecial } from "./serpent_decode.ts";
import { type ScannedString, scanString } from "./serpent_lex.ts";

/**
 * Payloads up to this size are tried on the fast path. Each container takes two bytes or more,
 * so they cannot hold more than `MAX_CONTAINERS` (common.ts), which is not counted here.
 */
export const FAST_MAX = 65536;

/** What {@linkcode fastDecode} returns when the payload is not in its subset. */
export const NOT_FAST: unique symbol = Symbol("not fast");

/** Options of {@linkcode fastDecode}. */
export interface FastOptions {
  /** The deepest bracket nesting accepted (deeper input is left to the full parser). */
  maxDepth: number;
  /** The payload is a call: its own tuple and params stay plain arrays (as in serpent_decode.ts). */
  call: boolean;
}

/** Strings up to this length are interned. */
const INTERN_MAX = 32;
const INTERN_SLOTS = 1024;
const interned: (string | undefined)[] = new Array(INTERN_SLOTS).fill(undefined);

const utf8 = new TextDecoder();
/** What a long string decoded on its own may not hold here. */
const NOT_PLAIN = /[\\\n\r\0\ufffd]/;
/** For a string's bytes: a BOM there is a character, as in the whole payload's text. */
const segment = new TextDecoder("utf-8", { ignoreBOM: true });
/** Strings from this length on are read with {@linkcode FastParser.textOf}. */
const SHORT_STRING = 64;
/** Ints of more digits are left to the full parser (which applies Python's limit of 4300). */
const BIG_DIGITS = 400;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** In payloads up to this size, number tokens are copied out of the bytes; else from the text. */
const SMALL = 256;

/** The latin-1 (here: ASCII) string of `data[from..to)`. */
function asciiString(data: Uint8Array, from: number, to: number): string {
  if (to - from <= 12) { // short strings are flat copies in V8: concatenation is cheapest
    let s = "";
    for (let i = from; i < to; i++) s += String.fromCharCode(data[i]!);
    return s;
  }
  return String.fromCharCode.apply(null, data.subarray(from, to) as unknown as number[]);
}

/** The interned string of `data[from..to)` with hash `h`, made on a miss. */
function internedString(data: Uint8Array, from: number, to: number, h: number): string {
  const slot = h & (INTERN_SLOTS - 1);
  const hit = interned[slot];
  const n = to - from;
  if (hit !== undefined && hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === data[from + i]) i++;
    if (i === n) return hit;
  }
  const s = asciiString(data, from, to);
  interned[slot] = s;
  return s;
}

/** `text.indexOf(what, from)`, or the text's length when not found. */
function nextIndex(text: string, what: string, from: number): number {
  const at = text.indexOf(what, from);
  return at === -1 ? text.length : at;
}

function isNameByte(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 ||
    c > 127;
}

/** Byte-level parser of the common subset; every method returns NOT_FAST to give up. */
class FastParser {
  data: Uint8Array = new Uint8Array(0);
  pos = 0;
  maxDepth = 0;
  /** Tuples opened above this depth are left unmarked (a call's own tuple and its params). */
  plainDepth = 0;
  /** A dict that serpent's revival may replace was read. */
  reviving = false;
  /** See {@linkcode FastParser.textOf} ("" when not all ASCII). */
  text: string | null = null;
  /** What {@linkcode FastParser.escaped} scans into. */
  readonly scanned: ScannedString = { text: "", bytes: undefined, end: 0 };
  /** See {@linkcode FastParser.plainBetween}. */
  nextBackslash = -1;
  nextNewline = -1;
  nextReturn = -1;

  /** Reads one payload; the parser is free for the next one afterwards. */
  read(data: Uint8Array, start: number, options: FastOptions): unknown {
    this.data = data;
    this.pos = start;
    this.maxDepth = options.maxDepth;
    this.plainDepth = options.call ? 2 : 0;
    this.reviving = false;
    try {
      return this.document();
    } finally {
      this.data = EMPTY; // keep no payload alive
      this.text = null;
    }
  }

  /**
   * The payload as text, for long tokens (one native decode instead of one per token), when it
   * is all ASCII without NUL (so that its positions are the bytes'); else null.
   */
  textOf(): string | null {
    if (this.text === null) {
      const text = utf8.decode(this.data);
      // Every non-ASCII byte shortens the text or becomes U+FFFD.
      const ascii = text.length === this.data.length && !text.includes("\ufffd") &&
        !text.includes("\0");
      this.text = ascii ? text : "";
      this.nextBackslash = this.nextNewline = this.nextReturn = -1;
    }
    return this.text === "" ? null : this.text;
  }

  /** The text of a number token: copied out of a small payload, else sliced from its text. */
  token(from: number, to: number): string {
    const text = this.data.length > SMALL ? this.textOf() : null;
    return text !== null ? text.slice(from, to) : asciiString(this.data, from, to);
  }

  /**
   * Whether `text[from..to)` holds no backslash, `\n` or `\r`. The next position of each is
   * kept, so that checking every string of a payload scans it once.
   */
  plainBetween(text: string, from: number, to: number): boolean {
    if (this.nextBackslash < from) this.nextBackslash = nextIndex(text, "\\", from);
    if (this.nextNewline < from) this.nextNewline = nextIndex(text, "\n", from);
    if (this.nextReturn < from) this.nextReturn = nextIndex(text, "\r", from);
    return this.nextBackslash >= to && this.nextNewline >= to && this.nextReturn >= to;
  }

  /** Skips spaces, tabs, form feeds and newlines; returns the next byte or -1 at the end. */
  ws(): number {
    const d = this.data;
    let i = this.pos;
    if (i >= d.length) return -1;
    let c = d[i]!;
    if (c > 32) return c; // the usual case: no white space
    while (c === 32 || c === 10 || c === 13 || c === 9 || c === 12) {
      if (++i >= d.length) {
        this.pos = i;
        return -1;
      }
      c = d[i]!;
    }
    this.pos = i;
    return c;
  }

  document(): unknown {
    if (this.ws() === -1) return NOT_FAST;
    const value = this.value(0);
    if (value === NOT_FAST || this.ws() !== -1) return NOT_FAST;
    return value;
  }

  value(depth: number): unknown {
    const c = this.ws();
    switch (c) {
      case 39: // '
      case 34: // "
        return this.string(c);
      case 40: // (
        return this.paren(depth);
      case 91: // [
        return this.list(depth);
      case 123: // {
        return this.brace(depth);
      case 45: // -
        this.pos++;
        return this.number(true);
    }
    if (c >= 48 && c <= 57) return this.number(false);
    if (c === 78 || c === 84 || c === 70) return this.name(); // None True False
    return NOT_FAST;
  }

  string(q: number): unknown {
    const d = this.data;
    const quote = this.pos;
    const from = quote + 1;
    const n = d.length;
    let h = 0;
    let wide = false;
    let i = from;
    const limit = Math.min(n, from + SHORT_STRING);
    for (; i < limit; i++) {
      const c = d[i]!;
      if (c === q) break;
      if (c === 92) return this.escaped(quote);
      if (c < 32) return NOT_FAST; // a newline, NUL or another control byte: the full parser
      if (c > 127) wide = true;
      h = (Math.imul(h, 31) + c) | 0;
    }
    let value: string;
    if (i === limit && i < n) { // a long string: its end and its checks are native
      const end = d.indexOf(q, i);
      if (end === -1) return NOT_FAST;
      // Non-ASCII at its start: the payload's text would not be used, so do not make it.
      const text = wide ? null : this.textOf();
      if (text !== null) {
        if (!this.plainBetween(text, i, end)) return this.escaped(quote);
        value = text.slice(from, end);
      } else {
        value = segment.decode(d.subarray(from, end));
        if (NOT_PLAIN.test(value)) return NOT_FAST; // escapes, newlines, NUL, not UTF-8
      }
      i = end;
    } else {
      if (i >= n) return NOT_FAST; // unterminated
      if (i === from && d[i + 1] === q) return this.escaped(quote); // triple-quoted
      if (wide) {
        value = segment.decode(d.subarray(from, i));
        if (value.includes("\ufffd")) return NOT_FAST; // not UTF-8 (or a real U+FFFD)
      } else {
        value = i - from <= INTERN_MAX ? internedString(d, from, i, h) : asciiString(d, from, i);
      }
    }
    this.pos = i + 1;
    const next = this.ws();
    if (next === 39 || next === 34) return NOT_FAST; // an adjacent literal to join
    return value;
  }

  /**
   * A string literal with escapes or triple quotes, by the full parser's scanner on the
   * payload's text (when all ASCII).
   */
  escaped(quote: number): unknown {
    const text = this.textOf();
    const res = this.scanned;
    if (text === null || scanString(text, quote, res) !== null) return NOT_FAST;
    this.pos = res.end;
    const next = this.ws();
    if (next === 39 || next === 34) return NOT_FAST; // an adjacent literal to join
    return res.text;
  }

  /** A decimal int of up to 15 digits, or a float without underscores; no complex forms. */
  number(negative: boolean): unknown {
    const d = this.data;
    const start = this.pos;
    let i = start;
    let c = d[i] ?? -1;
    if (!(c >= 48 && c <= 57)) return NOT_FAST; // also "- 5" and "-.5": the full parser's
    let v = 0; // exact up to 15 digits
    do {
      v = v * 10 + (c - 48);
      c = d[++i] ?? -1;
    } while (c >= 48 && c <= 57);
    const digits = i - start;
    if (c !== 46 && c !== 101 && c !== 69) {
      // Leading zeros, 1_000, 0x1, 5j, and ints near Python's digit limit: the full parser.
      if (isNameByte(c) || (d[start] === 48 && digits > 1) || digits > BIG_DIGITS) {
        return NOT_FAST;
      }
      this.pos = i;
      if (digits > 15) {
        const big = BigInt(this.token(start, i));
        const signed = negative ? -big : big;
        return signed <= SAFE && signed >= -SAFE ? Number(signed) : signed;
      }
      return negative ? (v === 0 ? 0 : -v) : v; // Python's -0 is the int 0
    }
    if (d[start] === 48 && i - start > 1) return NOT_FAST;
    if (c === 46) {
      c = d[++i] ?? -1;
      while (c >= 48 && c <= 57) c = d[++i] ?? -1;
    }
    if (c === 101 || c === 69) {
      c = d[++i] ?? -1;
      if (c === 43 || c === 45) c = d[++i] ?? -1;
      if (!(c >= 48 && c <= 57)) return NOT_FAST;
      while (c >= 48 && c <= 57) c = d[++i] ?? -1;
    }
    if (isNameByte(c) || c === 46 || i - start > 400) return NOT_FAST;
    this.pos = i;
    const x = Number(this.token(start, i));
    return negative ? -x : x;
  }

  name(): unknown {
    const d = this.data;
    const i = this.pos;
    let word: unknown = NOT_FAST;
    let len = 0;
    if (d[i] === 78 && d[i + 1] === 111 && d[i + 2] === 110 && d[i + 3] === 101) {
      word = null;
      len = 4;
    } else if (d[i] === 84 && d[i + 1] === 114 && d[i + 2] === 117 && d[i + 3] === 101) {
      word = true;
      len = 4;
    } else if (
      d[i] === 70 && d[i + 1] === 97 && d[i + 2] === 108 && d[i + 3] === 115 && d[i + 4] === 101
    ) {
      word = false;
      len = 5;
    }
    if (word === NOT_FAST || isNameByte(d[i + len] ?? -1)) return NOT_FAST;
    this.pos = i + len;
    return word;
  }

  /** `()`, `(x)`, `(x,)`, `(x, y, ...)`. */
  paren(depth: number): unknown {
    if (depth >= this.maxDepth) return NOT_FAST;
    this.pos++;
    const d = depth + 1;
    if (this.ws() === 41) {
      this.pos++;
      return depth < this.plainDepth ? [] : markTuple([]);
    }
    const first = this.value(d);
    if (first === NOT_FAST) return NOT_FAST;
    let c = this.ws();
    if (c === 41) {
      this.pos++;
      return first; // parentheses around a single value
    }
    const items = [first];
    while (c === 44) {
      this.pos++;
      c = this.ws();
      if (c === 41) break;
      const item = this.value(d);
      if (item === NOT_FAST) return NOT_FAST;
      items.push(item);
      c = this.ws();
    }
    if (c !== 41) return NOT_FAST;
    this.pos++;
    return depth < this.plainDepth ? items : markTuple(items);
  }

  list(depth: number): unknown {
    if (depth >= this.maxDepth) return NOT_FAST;
    this.pos++;
    const d = depth + 1;
    const items: unknown[] = [];
    let c = this.ws();
    while (c !== 93) {
      const item = this.value(d);
      if (item === NOT_FAST) return NOT_FAST;
      items.push(item);
      c = this.ws();
      if (c === 44) {
        this.pos++;
        c = this.ws();
      } else if (c !== 93) return NOT_FAST;
    }
    this.pos++;
    return items;
  }

  /** `{}`, a dict with string keys, or a set of strings, numbers, booleans, None and tuples. */
  brace(depth: number): unknown {
    if (depth >= this.maxDepth) return NOT_FAST;
    this.pos++;
    const d = depth + 1;
    let c = this.ws();
    if (c === 125) {
      this.pos++;
      return {};
    }
    const first = this.value(d);
    if (first === NOT_FAST) return NOT_FAST;
    c = this.ws();
    if (c !== 58) return this.set(first, d, c);
    const obj: Record<string, unknown> = {};
    let key = first;
    for (;;) {
      if (typeof key !== "string" || key === "__proto__") return NOT_FAST; // a Map, or refused
      this.pos++; // the colon
      const item = this.value(d);
      if (item === NOT_FAST) return NOT_FAST;
      obj[key] = item;
      c = this.ws();
      if (c !== 44) break;
      this.pos++;
      c = this.ws();
      if (c === 125) break;
      key = this.value(d);
      if (key === NOT_FAST || this.ws() !== 58) return NOT_FAST;
    }
    if (c !== 125) return NOT_FAST;
    this.pos++;
    if (typeof obj.__class__ === "string" || obj.encoding === "base64") this.reviving = true;
    return obj;
  }

  set(first: unknown, d: number, c: number): unknown {
    if (typeof first === "object" && first !== null && !Array.isArray(first)) return NOT_FAST;
    const set = new Set<unknown>([first]);
    while (c === 44) {
      this.pos++;
      c = this.ws();
      if (c === 125) break;
      const item = this.value(d);
      if (item === NOT_FAST) return NOT_FAST;
      if (typeof item === "object" && item !== null && !Array.isArray(item)) return NOT_FAST;
      set.add(item);
      c = this.ws();
    }
    if (c !== 125) return NOT_FAST;
    this.pos++;
    return set;
  }
}

const EMPTY = new Uint8Array(0);
/** One parser for every payload (a read runs no user code, so it is never re-entered). */
const shared = new FastParser();

/** Serpent's revival of a value read without it, bottom-up as the full parser revives. */
function revive(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
    return value;
  }
  if (value instanceof Set) {
    for (const item of value) if (Array.isArray(item)) revive(item);
    return value;
  }
  const obj = value as Record<string, unknown>;
  for (const k in obj) obj[k] = revive(obj[k]);
  return Object.keys(obj).length === 0 ? obj : reviveSpecial(obj);
}

/**
 * Reads a serpent payload of the common subset from `data[start..]` (after the header line).
 *
 * @example
 * ```ts
 * import { fastDecode, NOT_FAST } from "./serpent_fast.ts";
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * console.log(fastDecode(bytes("{'a':[1,2.5,None]}"), 0, { maxDepth: 200, call: false }));
 * // { a: [ 1, 2.5, null ] }
 * console.log(fastDecode(bytes("b'x'"), 0, { maxDepth: 200, call: false }) === NOT_FAST); // true
 * ```
 *
 * @param data The payload.
 * @param start Where the literal starts.
 * @param options The nesting limit and whether it is a call.
 * @returns The value, as the full parser would give it, or {@linkcode NOT_FAST}.
 * @throws {SerializeError} When serpent's revival of a special map fails (as it would there).
 */
export function fastDecode(data: Uint8Array, start: number, options: FastOptions): unknown {
  if (data.length > FAST_MAX) return NOT_FAST;
  const parser = shared;
  const value = parser.read(data, start, options);
  // Revival runs user hooks, which may decode again: the parser is done with this payload.
  return value === NOT_FAST || !parser.reviving ? value : revive(value);
}
