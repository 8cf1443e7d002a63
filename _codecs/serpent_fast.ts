/**
 * Private: the serpent decoder's fast path. Python's serpent writes a small subset of the
 * literal syntax (no comments, escapes only where needed, compact separators), and most
 * payloads of a call are short ASCII: this parser reads that subset straight from the bytes,
 * without decoding the payload into a string first, and gives up ({@linkcode NOT_FAST}) on
 * anything else — escapes, string prefixes, adjacent literals, big or unusual numbers,
 * comments, non-ASCII bytes, control characters, dicts with other than string keys,
 * `__proto__` keys, nesting past the limit — so that the full parser (serpent_decode.ts), which
 * reports errors with their position, reads it instead. Whatever it accepts, it returns
 * exactly the value the full parser gives.
 *
 * Short strings are interned in a small fixed table (an object id, a method name, a dict key
 * come again in every call): a hit costs a comparison instead of a new string.
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

/** Payloads up to this size are tried on the fast path (a few thousand containers at most). */
export const FAST_MAX = 4096;

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

function isNameByte(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 ||
    c > 127;
}

/** Byte-level parser of the common subset; every method returns NOT_FAST to give up. */
class FastParser {
  pos: number;
  /** Tuples opened above this depth are left unmarked (a call's own tuple and its params). */
  readonly plainDepth: number;
  /** A dict that serpent's revival may replace was read. */
  reviving = false;

  constructor(readonly data: Uint8Array, start: number, readonly maxDepth: number, call: boolean) {
    this.pos = start;
    this.plainDepth = call ? 2 : 0;
  }

  /** Skips spaces, tabs, form feeds and newlines; returns the next byte or -1 at the end. */
  ws(): number {
    const d = this.data;
    let i = this.pos;
    let c = i < d.length ? d[i]! : -1;
    while (c === 32 || c === 10 || c === 13 || c === 9 || c === 12) {
      c = ++i < d.length ? d[i]! : -1;
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
    const from = this.pos + 1;
    const n = d.length;
    let h = 0;
    let i = from;
    for (; i < n; i++) {
      const c = d[i]!;
      if (c === q) break;
      if (c < 32 || c > 126 || c === 92) return NOT_FAST; // escapes, control bytes, non-ASCII
      h = (h * 31 + c) | 0;
    }
    // Unterminated, triple-quoted (''' begins as ''), or an adjacent literal to join.
    if (i >= n || (i === from && d[i + 1] === q)) return NOT_FAST;
    this.pos = i + 1;
    const next = this.ws();
    if (next === 39 || next === 34) return NOT_FAST;
    return i - from <= INTERN_MAX ? internedString(d, from, i, h) : asciiString(d, from, i);
  }

  /** A decimal int of up to 15 digits, or a float without underscores; no complex forms. */
  number(negative: boolean): unknown {
    const d = this.data;
    const start = this.pos;
    let i = start;
    let c = d[i] ?? -1;
    if (!(c >= 48 && c <= 57)) return NOT_FAST; // also "- 5" and "-.5": the full parser's
    let v = 0;
    do {
      v = v * 10 + (c - 48);
      c = d[++i] ?? -1;
    } while (c >= 48 && c <= 57 && i - start <= 15);
    if (c !== 46 && c !== 101 && c !== 69) {
      // Leading zeros, 16 digits or more (maybe a bigint), 1_000, 0x1, 5j: the full parser.
      if (i - start > 15 || isNameByte(c) || (d[start] === 48 && i - start > 1)) return NOT_FAST;
      this.pos = i;
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
    const x = Number(asciiString(d, start, i));
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
 * console.log(fastDecode(bytes("'\\n'"), 0, { maxDepth: 200, call: false }) === NOT_FAST); // true
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
  const parser = new FastParser(data, start, options.maxDepth, options.call);
  const value = parser.document();
  return value === NOT_FAST || !parser.reviving ? value : revive(value);
}
