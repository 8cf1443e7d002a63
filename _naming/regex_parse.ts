/**
 * The parser behind `_naming_regex.ts`: Python's regular expression syntax (the subset that can
 * be matched in linear time) into a small syntax tree whose character tests are predicates.
 *
 * @example
 * ```ts
 * import { parsePythonRegex } from "./regex_parse.ts";
 * const { node, flags } = parsePythonRegex("(?i)demo\\..*");
 * console.log(node.t, flags.i); // cat true
 * ```
 *
 * @module
 */

/** The longest pattern accepted, in characters. */
export const MAX_PATTERN_LENGTH = 1000;
/** The largest automaton accepted, in instructions. */
export const MAX_PROGRAM_SIZE = 20000;

/**
 * A pattern that cannot be compiled; the message follows Python's `re.error` style.
 *
 * @example
 * ```ts
 * import { compilePythonRegex, RegexSyntaxError } from "./regex.ts";
 * try { compilePythonRegex("(a"); } catch (e) { console.log(e instanceof RegexSyntaxError); }
 * ```
 */
export class RegexSyntaxError extends SyntaxError {
  /** Makes the error. */
  constructor(message: string) {
    super(message);
    this.name = "RegexSyntaxError";
  }
}

/** A test of one character. */
export type Pred = (c: string) => boolean;
/** A zero-width assertion. */
export type Assert = "bol" | "eol" | "start" | "end" | "wordb" | "nwordb";
/** A syntax tree node. */
export type Node =
  | { t: "char"; p: Pred; lit?: string }
  | { t: "assert"; a: Assert }
  | { t: "cat"; items: Node[] }
  | { t: "alt"; items: Node[] }
  | { t: "rep"; node: Node; min: number; max: number };

/** The global flags of a pattern. */
export interface Flags {
  /** `(?i)`: ignore case. */
  i: boolean;
  /** `(?m)`: `^` and `$` also at line breaks. */
  m: boolean;
  /** `(?s)`: `.` also matches a line break. */
  s: boolean;
  /** `(?a)`: `\\d`, `\\w`, `\\s` are ASCII only. */
  a: boolean;
}

// Python's \s includes the separators \x1c-\x1f, which JavaScript's \s does not.
// deno-lint-ignore no-control-regex
const UNI_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
const UNI_WORD = /[\p{L}\p{N}_]/u;
const UNI_DIGIT = /\p{Nd}/u;

/** The predicate of `\\d`, `\\w`, `\\s` and their negations. */
export function classPred(letter: string, flags: Flags): Pred {
  const lower = letter.toLowerCase();
  let p: Pred;
  if (lower === "d") p = flags.a ? (c) => c >= "0" && c <= "9" : (c) => UNI_DIGIT.test(c);
  else if (lower === "w") {
    p = flags.a ? (c) => /^[A-Za-z0-9_]$/.test(c) : (c) => UNI_WORD.test(c);
  } else p = flags.a ? (c) => /^[ \t\n\r\f\v]$/.test(c) : (c) => UNI_SPACE.test(c);
  return letter === lower ? p : (c) => !p(c);
}

function caseless(p: Pred, flags: Flags): Pred {
  if (!flags.i) return p;
  return (c) => p(c) || p(c.toLowerCase()) || p(c.toUpperCase());
}

class Parser {
  pos = 0;
  flags: Flags = { i: false, m: false, s: false, a: false };
  chars: string[];
  constructor(readonly source: string) {
    this.chars = [...source];
  }

  fail(message: string, at = this.pos): never {
    throw new RegexSyntaxError(`${message} at position ${at}`);
  }

  unsupported(what: string, at: number): never {
    throw new RegexSyntaxError(
      `${what} at position ${at} is not supported by the name server (it cannot be matched in linear time)`,
    );
  }

  peek(offset = 0): string | undefined {
    return this.chars[this.pos + offset];
  }

  parse(): Node {
    this.globalFlags();
    const node = this.alternation();
    if (this.pos < this.chars.length) this.fail("unbalanced parenthesis");
    return node;
  }

  globalFlags(): void {
    while (this.peek() === "(" && this.peek(1) === "?" && /[aiLmsux]/.test(this.peek(2) ?? "")) {
      let j = this.pos + 2;
      while (/[aiLmsux]/.test(this.chars[j] ?? "")) j++;
      if (this.chars[j] !== ")") return;
      for (const f of this.chars.slice(this.pos + 2, j)) {
        if (f === "x" || f === "L") this.unsupported(`the (?${f}) flag`, this.pos);
        if (f === "i" || f === "m" || f === "s" || f === "a") this.flags[f] = true;
      }
      this.pos = j + 1;
    }
  }

  alternation(): Node {
    const items = [this.sequence()];
    while (this.peek() === "|") {
      this.pos++;
      items.push(this.sequence());
    }
    return items.length === 1 ? items[0]! : { t: "alt", items };
  }

  sequence(): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === "|" || c === ")") break;
      const atom = this.atom();
      if (atom === null) continue;
      items.push(this.quantified(atom));
    }
    return items.length === 1 ? items[0]! : { t: "cat", items };
  }

  quantified(atom: Node): Node {
    let node = atom;
    let quantified = false;
    for (;;) {
      const at = this.pos;
      const q = this.quantifier();
      if (q === null) return node;
      if (quantified) this.fail("multiple repeat", at);
      if (atom.t === "assert") this.fail("nothing to repeat", at);
      if (this.peek() === "?") this.pos++;
      else if (this.peek() === "+") this.unsupported("a possessive quantifier", this.pos);
      node = { t: "rep", node, min: q[0], max: q[1] };
      quantified = true;
    }
  }

  quantifier(): [number, number] | null {
    const c = this.peek();
    if (c === "*") return this.pos++, [0, Infinity];
    if (c === "+") return this.pos++, [1, Infinity];
    if (c === "?") return this.pos++, [0, 1];
    if (c !== "{") return null;
    const m = /^\{(\d*)(,(\d*))?\}/.exec(this.chars.slice(this.pos, this.pos + 24).join(""));
    if (!m || (m[1] === "" && m[2] === undefined)) return null;
    const min = m[1] === "" ? 0 : Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
    if (max < min) this.fail("min repeat greater than max repeat", this.pos + 1);
    if (min > MAX_PROGRAM_SIZE || (max !== Infinity && max > MAX_PROGRAM_SIZE)) {
      this.fail("the repeat count is too large");
    }
    this.pos += m[0].length;
    return [min, max];
  }

  atom(): Node | null {
    const at = this.pos;
    const c = this.chars[this.pos++]!;
    switch (c) {
      case "*":
      case "+":
      case "?":
        this.fail("nothing to repeat", at);
        break;
      case "{":
        this.pos--;
        if (this.quantifier() !== null) this.fail("nothing to repeat", at);
        this.pos = at + 1;
        return this.literal("{");
      case ".":
        return { t: "char", p: this.flags.s ? () => true : (ch) => ch !== "\n" };
      case "^":
        return { t: "assert", a: this.flags.m ? "bol" : "start" };
      case "$":
        return { t: "assert", a: "eol" };
      case "[":
        return this.charClass(at);
      case "(":
        return this.group(at);
      case "\\":
        return this.escape(at);
    }
    return this.literal(c);
  }

  literal(c: string): Node {
    if (this.flags.i) return { t: "char", p: caseless((ch) => ch === c, this.flags) };
    return { t: "char", p: (ch) => ch === c, lit: c };
  }

  group(at: number): Node | null {
    if (this.peek() === "?") {
      const kind = this.peek(1);
      if (kind === ":") {
        this.pos += 2;
      } else if (kind === "P" && this.peek(2) === "<") {
        const end = this.chars.indexOf(">", this.pos);
        if (end < 0) this.fail("missing >, unterminated name", this.pos + 3);
        const name = this.chars.slice(this.pos + 3, end).join("");
        if (!/^[\p{L}_][\p{L}\p{N}_]*$/u.test(name)) {
          this.fail(`bad character in group name '${name}'`, this.pos + 3);
        }
        this.pos = end + 1;
      } else if (kind === "P" && this.peek(2) === "=") {
        this.unsupported("a backreference", at);
      } else if (kind === "#") {
        const end = this.chars.indexOf(")", this.pos);
        if (end < 0) this.fail("missing ), unterminated comment", at);
        this.pos = end + 1;
        return null;
      } else if (
        kind === "=" || kind === "!" || (kind === "<" && /[=!]/.test(this.peek(2) ?? ""))
      ) {
        this.unsupported("a lookaround assertion", at);
      } else if (kind === "(") {
        this.unsupported("a conditional group", at);
      } else if (kind === ">") {
        this.unsupported("an atomic group", at);
      } else if (kind !== undefined && /[aiLmsux-]/.test(kind)) {
        this.unsupported("a scoped or misplaced flag group", at);
      } else {
        this.fail(`unknown extension ?${kind ?? ""}`, at + 1);
      }
    }
    const node = this.alternation();
    if (this.peek() !== ")") this.fail("missing ), unterminated subpattern", at);
    this.pos++;
    return node;
  }

  /** Reads an escape that stands for one character, or returns null. */
  charEscape(letter: string, at: number, inClass: boolean): string | null {
    const hex = (n: number): string => {
      const digits = this.chars.slice(this.pos, this.pos + n).join("");
      if (digits.length !== n || !/^[0-9a-fA-F]+$/.test(digits)) {
        this.fail(`incomplete escape \\${letter}${digits}`, at);
      }
      this.pos += n;
      const code = parseInt(digits, 16);
      if (code > 0x10ffff) this.fail(`bad escape \\${letter}${digits}`, at);
      return String.fromCodePoint(code);
    };
    switch (letter) {
      case "n":
        return "\n";
      case "t":
        return "\t";
      case "r":
        return "\r";
      case "f":
        return "\f";
      case "v":
        return "\v";
      case "a":
        return "\x07";
      case "x":
        return hex(2);
      case "u":
        return hex(4);
      case "U":
        return hex(8);
      case "b":
        return inClass ? "\b" : null;
      case "0": {
        let digits = "0";
        while (digits.length < 3 && /[0-7]/.test(this.peek() ?? "")) {
          digits += this.chars[this.pos++];
        }
        return String.fromCharCode(parseInt(digits, 8));
      }
    }
    if (
      /[1-7]/.test(letter) && /[0-7]/.test(this.peek() ?? "") && /[0-7]/.test(this.peek(1) ?? "")
    ) {
      const digits = letter + this.chars[this.pos]! + this.chars[this.pos + 1]!;
      this.pos += 2;
      return String.fromCharCode(parseInt(digits, 8));
    }
    if (/[1-9]/.test(letter)) {
      if (inClass) this.fail(`bad escape \\${letter}`, at);
      this.unsupported("a backreference", at);
    }
    if (/[A-Za-z]/.test(letter)) {
      if ("dDwWsS".includes(letter) || (!inClass && "AZbB".includes(letter))) return null;
      this.fail(`bad escape \\${letter}`, at);
    }
    return letter;
  }

  escape(at: number): Node {
    const letter = this.chars[this.pos++];
    if (letter === undefined) this.fail("bad escape (end of pattern)", at);
    const ch = this.charEscape(letter, at, false);
    if (ch !== null) return this.literal(ch);
    if (letter === "A") return { t: "assert", a: "start" };
    if (letter === "Z") return { t: "assert", a: "end" };
    if (letter === "b") return { t: "assert", a: "wordb" };
    if (letter === "B") return { t: "assert", a: "nwordb" };
    return { t: "char", p: classPred(letter, this.flags) };
  }

  charClass(at: number): Node {
    const negate = this.peek() === "^";
    if (negate) this.pos++;
    const preds: Pred[] = [];
    let first = true;
    for (;;) {
      const c = this.chars[this.pos];
      if (c === undefined) this.fail("unterminated character set", at);
      if (c === "]" && !first) {
        this.pos++;
        break;
      }
      first = false;
      const itemAt = this.pos;
      const lo = this.classAtom();
      if (typeof lo !== "string") {
        preds.push(lo);
        continue;
      }
      if (this.peek() === "-" && this.peek(1) !== undefined && this.peek(1) !== "]") {
        this.pos++;
        const hi = this.classAtom();
        if (typeof hi !== "string") this.fail(`bad character range ${lo}-\\?`, itemAt);
        if (hi.codePointAt(0)! < lo.codePointAt(0)!) {
          this.fail(`bad character range ${lo}-${hi}`, itemAt);
        }
        preds.push((ch) => inRange(ch, lo, hi));
      } else {
        preds.push((ch) => ch === lo);
      }
    }
    const any = caseless((ch) => preds.some((p) => p(ch)), this.flags);
    return { t: "char", p: negate ? (ch) => !any(ch) : any };
  }

  classAtom(): string | Pred {
    const at = this.pos;
    const c = this.chars[this.pos++]!;
    if (c !== "\\") return c;
    const letter = this.chars[this.pos++];
    if (letter === undefined) this.fail("unterminated character set", at);
    const ch = this.charEscape(letter, at, true);
    return ch ?? classPred(letter, this.flags);
  }
}

function inRange(ch: string, lo: string, hi: string): boolean {
  const c = ch.codePointAt(0)!;
  return c >= lo.codePointAt(0)! && c <= hi.codePointAt(0)!;
}

/**
 * Parses a pattern.
 *
 * @example
 * ```ts
 * import { parsePythonRegex } from "./regex_parse.ts";
 * console.log(parsePythonRegex("a|b").node.t); // alt
 * ```
 *
 * @param pattern The pattern, in Python's syntax.
 * @returns The tree and the global flags.
 * @throws {RegexSyntaxError} For an invalid or unsupported pattern.
 */
export function parsePythonRegex(pattern: string): { node: Node; flags: Flags } {
  const parser = new Parser(pattern);
  const node = parser.parse();
  return { node, flags: parser.flags };
}
