/**
 * A linear-time matcher for the Python regular expressions that Name Server clients send
 * (`list(regex=...)`, `remove(regex=...)`), with Python's `re.match` meaning: anchored at the
 * start of the name, not at the end.
 *
 * JavaScript's `RegExp` backtracks, so a pattern such as `(a+)+$` can take exponential time on
 * a name sent by anyone. Instead the pattern is parsed with Python's syntax and run as a
 * Thompson automaton (a set of states advanced one character at a time), which costs at most
 * (name length × program size) steps, whatever the pattern; the sets met are cached as a lazily
 * built DFA, so a scan usually costs one table lookup per character. The price: backreferences,
 * lookaround, conditionals, atomic groups and possessive quantifiers, which need backtracking,
 * are refused with a clear error. Patterns are limited to {@linkcode MAX_PATTERN_LENGTH}
 * characters and {@linkcode MAX_PROGRAM_SIZE} automaton steps (counted repeats expand).
 *
 * @example
 * ```ts
 * import { compilePythonRegex } from "./regex.ts";
 * const match = compilePythonRegex("demo\\.b|other\\..*");
 * console.log(match("other.c"), match("xdemo.b")); // true false
 * ```
 *
 * @module
 */

import {
  classPred,
  MAX_PATTERN_LENGTH,
  MAX_PROGRAM_SIZE,
  type Node,
  parsePythonRegex,
  RegexSyntaxError,
} from "./regex_parse.ts";
import { type Inst, runner } from "./regex_run.ts";

export { MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE, RegexSyntaxError } from "./regex_parse.ts";

class Compiler {
  prog: Inst[] = [];
  emit(inst: Inst): number {
    if (this.prog.length >= MAX_PROGRAM_SIZE) {
      throw new RegexSyntaxError(`the pattern is too complex (over ${MAX_PROGRAM_SIZE} steps)`);
    }
    this.prog.push(inst);
    return this.prog.length - 1;
  }

  node(n: Node): void {
    switch (n.t) {
      case "char":
        this.emit({ op: "char", p: n.p });
        return;
      case "assert":
        this.emit({ op: "assert", a: n.a });
        return;
      case "cat":
        for (const item of n.items) this.node(item);
        return;
      case "alt": {
        const jumps: number[] = [];
        n.items.forEach((item, k) => {
          if (k < n.items.length - 1) {
            const split = this.emit({ op: "split", x: 0, y: 0 });
            (this.prog[split] as { x: number }).x = this.prog.length;
            this.node(item);
            jumps.push(this.emit({ op: "jmp", x: 0 }));
            (this.prog[split] as { y: number }).y = this.prog.length;
          } else {
            this.node(item);
          }
        });
        for (const j of jumps) (this.prog[j] as { x: number }).x = this.prog.length;
        return;
      }
      case "rep": {
        for (let k = 0; k < n.min; k++) this.node(n.node);
        if (n.max === Infinity) {
          const split = this.emit({ op: "split", x: 0, y: 0 });
          (this.prog[split] as { x: number }).x = this.prog.length;
          this.node(n.node);
          this.emit({ op: "jmp", x: split });
          (this.prog[split] as { y: number }).y = this.prog.length;
          return;
        }
        const splits: number[] = [];
        for (let k = n.min; k < n.max; k++) {
          const split = this.emit({ op: "split", x: 0, y: 0 });
          (this.prog[split] as { x: number }).x = this.prog.length;
          splits.push(split);
          this.node(n.node);
        }
        for (const s of splits) (this.prog[s] as { y: number }).y = this.prog.length;
      }
    }
  }
}

/** A compiled pattern: call it with a name; `prefix` is a literal every match starts with. */
export type PythonRegex = ((name: string) => boolean) & {
  /** A literal string that every matching name starts with (possibly empty). */
  readonly prefix: string;
};

/** The literal text a node always starts with, and whether the node is only that text. */
function literalPrefix(node: Node): [string, boolean] {
  const items = node.t === "cat" ? node.items : [node];
  let out = "";
  for (const item of items) {
    if (item.t === "assert" && (item.a === "start" || item.a === "bol") && out === "") continue;
    if (item.t === "char" && item.lit !== undefined) {
      out += item.lit;
      continue;
    }
    if (item.t === "cat") {
      const [inner, complete] = literalPrefix(item);
      out += inner;
      if (complete) continue;
    }
    return [out, false];
  }
  return [out, true];
}

/**
 * Compiles a Python regular expression into a function that tells whether a string matches it
 * at its start (Python's `re.match`), in time linear in the string's length.
 *
 * @example
 * ```ts
 * import { compilePythonRegex } from "./regex.ts";
 * const match = compilePythonRegex("(a+)+$");
 * console.log(match("a".repeat(10000) + "b")); // false, at once
 * console.log(compilePythonRegex("demo\\.x+").prefix); // "demo.x"
 * ```
 *
 * @param pattern The pattern, in Python's syntax.
 * @returns The matcher, with the literal prefix of every match.
 * @throws {RegexSyntaxError} For an invalid, unsupported, too long or too complex pattern.
 */
export function compilePythonRegex(pattern: string): PythonRegex {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new RegexSyntaxError(`the pattern is too long (over ${MAX_PATTERN_LENGTH} characters)`);
  }
  const { node: ast, flags } = parsePythonRegex(pattern);
  const compiler = new Compiler();
  compiler.node(ast);
  compiler.emit({ op: "match" });
  const prog = compiler.prog;
  const run = runner(prog, { multiline: flags.m, isWord: classPred("w", flags) });
  return Object.assign(run, { prefix: literalPrefix(ast)[0] });
}
