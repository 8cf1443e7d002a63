/**
 * The serpent decoder: a parser for the Python literal syntax that `ast.literal_eval` accepts
 * (never `eval`), producing values of the shared value model (value.ts). Serpent's special maps
 * are revived: the base64 bytes map becomes a `Uint8Array`, the float map a number, and other
 * `__class__` maps go through class_registry.ts `reviveDict`.
 *
 * Bounded: nesting depth, input size, the number of containers and number literal length have limits, and every
 * malformed input ends with a `SerializeError` that gives the position.
 *
 * @example
 * ```ts
 * import { decodeSerpentText } from "./serpent_decode.ts";
 * import { isTuple } from "../value.ts";
 *
 * const v = decodeSerpentText("# serpent utf-8 python3.2\n('thing','echo',('hi',),{})");
 * console.log(isTuple(v), v); // true [ "thing", "echo", [ "hi" ], {} ]
 * ```
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import { reviveDict } from "../class_registry.ts";
import { Complex, markTuple } from "../value.ts";
import { MAX_CONTAINERS } from "./common.ts";
import {
  describe,
  isIntToken,
  isPrefixedQuote,
  type ScannedNumber,
  type ScannedString,
  scanNumber,
  scanString,
  where,
} from "./serpent_lex.ts";

/** Limits of {@linkcode decodeSerpentText}. */
export interface DecodeLimits {
  /**
   * The deepest bracket nesting accepted (Python's own tokenizer stops at 200).
   *
   * @default {200}
   */
  maxDepth?: number;
  /**
   * Whether to revive serpent's bytes and float maps and to apply the `__class__` pass; false
   * keeps every dict as parsed (the wire form, as Python's `ast.literal_eval` returns it).
   *
   * @default {true}
   */
  revive?: boolean;
  /**
   * The text is a call `(object, method, params, kwargs)` read into a `CallRequest`: the call's
   * own tuple and its params are plain arrays (nobody sees them as tuples); deeper tuples are
   * marked as always.
   *
   * @default {false}
   */
  call?: boolean;
  /**
   * Text that preceded `text` and was already taken off (the `# serpent` header line): error
   * positions count it, as if it were still there.
   *
   * @default {""}
   */
  skipped?: string;
}

/** Recursive-descent parser over the decoded text. */
class Parser {
  pos = 0;
  /** Reused scanner results (no allocation per token). */
  readonly num: ScannedNumber = { value: 0, end: 0 };
  readonly str: ScannedString = { text: "", bytes: undefined, end: 0 };
  /** Tuples opened above this depth are left unmarked (a call's own tuple and its params). */
  plainDepth = 0;
  /** Containers still allowed (see MAX_CONTAINERS). */
  containers = MAX_CONTAINERS;
  /** Text taken off before `text` (counted in error positions). */
  skipped = "";
  constructor(readonly text: string, readonly maxDepth: number, readonly revive: boolean) {}

  fail(message: string, at: number = this.pos): never {
    const position = where(this.skipped + this.text, this.skipped.length + at);
    throw new SerializeError(`Invalid serpent data: ${message} at ${position}`);
  }

  /** Skips spaces, tabs, form feeds, newlines, `#` comments and backslash continuations. */
  ws(): number {
    const t = this.text;
    let i = this.pos;
    const first = t.charCodeAt(i);
    if (first > 35 && first !== 92) return first; // the usual case: no white space at all
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9 || c === 12) i++;
      else if (c === 35) {
        const nl = t.indexOf("\n", i);
        i = nl === -1 ? t.length : nl + 1;
      } else if (c === 92 && (t.charCodeAt(i + 1) === 10 || t.charCodeAt(i + 1) === 13)) i += 2;
      else break;
    }
    this.pos = i;
    return i < t.length ? t.charCodeAt(i) : -1;
  }

  document(): unknown {
    this.ws();
    if (this.pos >= this.text.length) this.fail("no value");
    const value = this.value(0);
    if (this.ws() !== -1) this.fail(`unexpected ${describe(this.text, this.pos)} after the value`);
    return value;
  }

  value(depth: number): unknown {
    const c = this.ws();
    switch (c) {
      case 40: // (
        return this.paren(depth);
      case 91: // [
        return this.list(depth);
      case 123: // {
        return this.brace(depth);
      case 39: // '
      case 34: // "
        return this.strings();
      case 45: // -
      case 43: // +
        return this.signed();
      case -1:
        return this.fail("unexpected end of data");
    }
    if ((c >= 48 && c <= 57) || c === 46) return this.number(false);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) return this.name();
    return this.fail(`unexpected ${describe(this.text, this.pos)}`);
  }

  /** A number with at most one sign, and the `real+imagj` / `real-imagj` complex form. */
  signed(): unknown {
    const negative = this.text.charCodeAt(this.pos) === 45;
    this.pos++;
    const c = this.ws();
    if (!((c >= 48 && c <= 57) || c === 46)) this.fail("a sign must be followed by a number");
    return this.number(negative);
  }

  number(negative: boolean): unknown {
    const start = this.pos;
    const n = this.num;
    const error = scanNumber(this.text, start, n);
    if (error !== null) this.fail(error, start);
    this.pos = n.end;
    let v = n.value;
    if (negative) {
      if (v instanceof Complex) v = new Complex(-v.re, -v.im);
      else if (v === 0) v = isIntToken(this.text, start, n.end) ? 0 : -0; // Python: -0 is int 0
      else v = -v as number | bigint;
    }
    if (v instanceof Complex) return v;
    // A real followed by + or - and an imaginary literal: Python's BinOp complex form.
    const save = this.pos;
    const op = this.ws();
    if (op === 43 || op === 45) {
      this.pos++;
      let c = this.ws();
      let unaryMinus = false;
      if (c === 43 || c === 45) { // serpent itself writes (1.0+-0.0j); Python cannot read that
        unaryMinus = c === 45;
        this.pos++;
        c = this.ws();
      }
      const at = this.pos;
      const im = this.num;
      const ok = ((c >= 48 && c <= 57) || c === 46) && scanNumber(this.text, at, im) === null;
      if (!ok || !(im.value instanceof Complex)) {
        return this.fail("expected an imaginary number after the operator", at);
      }
      this.pos = im.end;
      // Python's arithmetic: complex(real, +0.0) plus or minus (±0.0, ±imag).
      const rightRe = unaryMinus ? -0 : 0;
      const rightIm = unaryMinus ? -im.value.im : im.value.im;
      return op === 43
        ? new Complex(Number(v) + rightRe, 0 + rightIm)
        : new Complex(Number(v) - rightRe, 0 - rightIm);
    }
    this.pos = save;
    return v;
  }

  name(): unknown {
    const t = this.text;
    const start = this.pos;
    let i = start + 1;
    for (;;) {
      const c = t.charCodeAt(i);
      if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || (c >= 48 && c <= 57)) i++;
      else break;
    }
    const word = t.slice(start, i);
    const q = t.charCodeAt(i);
    if ((q === 39 || q === 34) && i - start <= 2) return this.strings();
    this.pos = i;
    switch (word) {
      case "None":
        return null;
      case "True":
        return true;
      case "False":
        return false;
      case "set":
        if (this.ws() === 40) {
          this.pos++;
          if (this.ws() === 41) {
            this.pos++;
            return new Set();
          }
        }
        return this.fail("only set() is accepted as a call");
    }
    return this.fail(
      `unexpected name '${word.length > 40 ? word.slice(0, 40) + "..." : word}'`,
      start,
    );
  }

  /** One string literal or several adjacent ones (Python joins them). */
  strings(): string | Uint8Array {
    let text: string | undefined;
    let bytes: number[] | undefined;
    for (;;) {
      const start = this.pos;
      const s = this.str;
      const error = scanString(this.text, start, s);
      if (error !== null) return this.fail(error, start);
      this.pos = s.end;
      if (s.bytes) {
        if (text !== undefined) this.fail("cannot mix bytes and str literals", start);
        if (bytes === undefined) bytes = s.bytes;
        else for (const b of s.bytes) bytes.push(b);
      } else {
        if (bytes !== undefined) this.fail("cannot mix bytes and str literals", start);
        text = text === undefined ? s.text : text + s.text;
      }
      const save = this.pos;
      const c = this.ws();
      if (c === 39 || c === 34 || isPrefixedQuote(this.text, this.pos)) continue;
      this.pos = save;
      return bytes !== undefined ? new Uint8Array(bytes) : text!;
    }
  }

  enter(depth: number): number {
    if (depth >= this.maxDepth) {
      this.fail(`nesting deeper than ${this.maxDepth} levels`);
    }
    if (--this.containers < 0) {
      this.fail(`more than ${MAX_CONTAINERS} lists, tuples, dicts and sets in one payload`);
    }
    this.pos++;
    return depth + 1;
  }

  /** `()`, `(x)`, `(x,)`, `(x, y, ...)`. */
  paren(depth: number): unknown {
    const d = this.enter(depth);
    if (this.ws() === 41) {
      this.pos++;
      return depth < this.plainDepth ? [] : markTuple([]);
    }
    const first = this.value(d);
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
      items.push(this.value(d));
      c = this.ws();
    }
    if (c !== 41) this.expected("',' or ')'");
    this.pos++;
    // Marking costs a property definition on the array (a slow path in V8).
    return depth < this.plainDepth ? items : markTuple(items);
  }

  list(depth: number): unknown[] {
    const d = this.enter(depth);
    const items: unknown[] = [];
    let c = this.ws();
    while (c !== 93) {
      items.push(this.value(d));
      c = this.ws();
      if (c === 44) {
        this.pos++;
        c = this.ws();
      } else if (c !== 93) this.expected("',' or ']'");
    }
    this.pos++;
    return items;
  }

  /** `{}` (a dict), `{k: v, ...}` or `{x, ...}` (a set). */
  brace(depth: number): unknown {
    const d = this.enter(depth);
    if (this.ws() === 125) {
      this.pos++;
      return {};
    }
    const first = this.value(d);
    let c = this.ws();
    if (c !== 58) { // a set
      const set = new Set<unknown>([first]);
      while (c === 44) {
        this.pos++;
        c = this.ws();
        if (c === 125) break;
        set.add(this.value(d));
        c = this.ws();
      }
      if (c !== 125) this.expected("',', ':' or '}'");
      this.pos++;
      return set;
    }
    let obj: Record<string, unknown> | null = {};
    let map: Map<unknown, unknown> | null = null;
    let key = first;
    for (;;) {
      const keyAt = this.pos;
      this.pos++; // the colon
      const item = this.value(d);
      if (obj !== null && typeof key === "string") {
        if (key === "__proto__") this.fail("the key '__proto__' is refused", keyAt);
        obj[key] = item;
      } else {
        if (map === null) {
          map = new Map(obj === null ? [] : Object.entries(obj));
          obj = null;
        }
        map.set(key, item);
      }
      c = this.ws();
      if (c === 44) {
        this.pos++;
        c = this.ws();
        if (c === 125) break;
        key = this.value(d);
        if (this.ws() !== 58) this.expected("':'");
        continue;
      }
      if (c !== 125) this.expected("',' or '}'");
      break;
    }
    this.pos++;
    return map ?? (this.revive ? reviveSpecial(obj!) : obj!);
  }

  expected(what: string): never {
    return this.fail(
      this.pos >= this.text.length
        ? `unexpected end of data, expected ${what}`
        : `expected ${what} but found ${describe(this.text, this.pos)}`,
    );
  }
}

/**
 * Serpent's bytes and NaN maps, then the `__class__` pass: what a parsed dict with string keys
 * becomes.
 *
 * @example
 * ```ts
 * import { reviveSpecial } from "./serpent_decode.ts";
 * console.log(reviveSpecial({ data: "aGk=", encoding: "base64" })); // Uint8Array(2) [ 104, 105 ]
 * ```
 *
 * @param obj The dict as parsed.
 * @returns The value it stands for (the dict itself for an ordinary dict).
 * @throws {SerializeError} For a bytes map with bad base64, or a failed revival.
 */
export function reviveSpecial(obj: Record<string, unknown>): unknown {
  const cls = obj.__class__;
  if (typeof cls === "string") {
    if (cls === "float" && typeof obj.value === "string") return pythonFloat(obj.value);
    return reviveDict(obj);
  }
  if (obj.encoding === "base64" && typeof obj.data === "string") {
    let n = 0;
    for (const _ in obj) n++;
    if (n === 2) {
      try {
        return Uint8Array.fromBase64(obj.data);
      } catch {
        throw new SerializeError("Invalid serpent data: bad base64 text in a bytes map");
      }
    }
  }
  return obj;
}

/** Python's `float(text)` for the texts serpent's float map can hold. */
function pythonFloat(text: string): number {
  const t = text.trim().toLowerCase();
  const body = t.startsWith("-") || t.startsWith("+") ? t.slice(1) : t;
  const sign = t.startsWith("-") ? -1 : 1;
  if (body === "nan") return NaN;
  if (body === "inf" || body === "infinity") return sign * Infinity;
  if (/^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(body) && body.length < 1000) {
    return sign * Number(body);
  }
  throw new SerializeError(
    `Invalid serpent data: could not convert string to float: '${text.slice(0, 40)}'`,
  );
}

/**
 * Parses serpent text (a Python literal, usually after the `# serpent` header comment) into a
 * value: tuples become arrays marked as tuples, sets `Set`, dicts plain objects (or `Map` when a
 * key is not a string), ints beyond ±(2^53−1) `bigint`, and the special maps are revived.
 *
 * @example
 * ```ts
 * import { decodeSerpentText } from "./serpent_decode.ts";
 * console.log(decodeSerpentText("{'a':(1,),'b':{1,2},'c':123456789012345678901234567890}"));
 * ```
 *
 * @param text The text.
 * @param limits Nesting limit and whether to revive special maps.
 * @returns The value.
 * @throws {SerializeError} For anything that is not a valid literal, with its position.
 */
export function decodeSerpentText(text: string, limits: DecodeLimits = {}): unknown {
  const skipped = limits.skipped ?? "";
  const nul = text.indexOf("\0");
  if (nul !== -1) {
    const position = where(skipped + text, skipped.length + nul);
    throw new SerializeError(`Invalid serpent data: a NUL character at ${position}`);
  }
  const parser = new Parser(text, limits.maxDepth ?? 200, limits.revive ?? true);
  if (limits.call === true) parser.plainDepth = 2;
  parser.skipped = skipped;
  return parser.document();
}
