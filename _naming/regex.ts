/**
 * A linear-time matcher for the Python regular expressions that Name Server clients send
 * (`list(regex=...)`, `remove(regex=...)`), with Python's `re.match` meaning: anchored at the
 * start of the name, not at the end.
 *
 * JavaScript's `RegExp` backtracks, so a pattern such as `(a+)+$` can take exponential time on
 * a name sent by anyone. Instead the pattern is parsed with Python's syntax and run as a
 * Thompson automaton (a set of states advanced one character at a time), which costs at most
 * (name length × program size) steps, whatever the pattern. The price: backreferences,
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
  type Assert,
  classPred,
  MAX_PATTERN_LENGTH,
  MAX_PROGRAM_SIZE,
  type Node,
  parsePythonRegex,
  type Pred,
  RegexSyntaxError,
} from "./regex_parse.ts";

export { MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE, RegexSyntaxError } from "./regex_parse.ts";

type Inst =
  | { op: "char"; p: Pred }
  | { op: "split"; x: number; y: number }
  | { op: "jmp"; x: number }
  | { op: "assert"; a: Assert }
  | { op: "match" };

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

/** The character (one or two UTF-16 units) at a position of a string. */
function charAt(s: string, i: number): string {
  const code = s.charCodeAt(i);
  if (code >= 0xd800 && code <= 0xdbff && i + 1 < s.length) {
    const low = s.charCodeAt(i + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return s.slice(i, i + 2);
  }
  return s[i]!;
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
  const size = prog.length;
  const multiline = flags.m;
  const word = classPred("w", flags);
  const isWord = (c: string | undefined): boolean => c !== undefined && word(c);
  const mark = new Int32Array(size).fill(-1);
  const stack = new Int32Array(2 * size + 2);
  let cur = new Int32Array(size);
  let nxt = new Int32Array(size);
  let generation = 0;

  const match = (input: string): boolean => {
    const n = input.length;
    if (generation > 2_000_000_000 - n) {
      mark.fill(-1);
      generation = 0;
    }
    let found = false;
    let i = 0;
    let prev: string | undefined;
    let ch: string | undefined = n > 0 ? charAt(input, 0) : undefined;
    let gen = ++generation;
    // Follows jumps, splits and assertions from `pc` at the current position; collects the
    // character-consuming states into `list` and returns the new length.
    const add = (list: Int32Array, length: number, pc: number): number => {
      let top = 0;
      stack[top++] = pc;
      while (top > 0) {
        const p = stack[--top]!;
        if (mark[p] === gen) continue;
        mark[p] = gen;
        const inst = prog[p]!;
        switch (inst.op) {
          case "jmp":
            stack[top++] = inst.x;
            break;
          case "split":
            stack[top++] = inst.y;
            stack[top++] = inst.x;
            break;
          case "match":
            found = true;
            break;
          case "assert":
            if (checkAssert(inst.a, prev, ch, i, n, multiline, isWord)) stack[top++] = p + 1;
            break;
          case "char":
            list[length++] = p;
        }
      }
      return length;
    };
    let length = add(cur, 0, 0);
    while (!found && length > 0 && ch !== undefined) {
      const c = ch;
      prev = c;
      i += c.length;
      ch = i < n ? charAt(input, i) : undefined;
      gen = ++generation;
      let nextLength = 0;
      for (let k = 0; k < length; k++) {
        const pc = cur[k]!;
        if ((prog[pc] as { p: Pred }).p(c)) nextLength = add(nxt, nextLength, pc + 1);
      }
      [cur, nxt] = [nxt, cur];
      length = nextLength;
    }
    return found;
  };
  const positional = prog.every((inst) =>
    inst.op !== "assert" || inst.a === "start" || inst.a === "bol"
  );
  const run = positional ? lazyDfa(prog, size) : match;
  return Object.assign(run, { prefix: literalPrefix(ast)[0] });
}

interface DState {
  readonly pcs: Int32Array;
  readonly accept: boolean;
  readonly next: Map<string, DState>;
}

/** The most DFA states cached per pattern. */
const MAX_DFA_STATES = 4096;

function keyOf(state: { pcs: ArrayLike<number>; accept: boolean }): string {
  return (state.accept ? "A" : "") + Array.prototype.join.call(state.pcs, ",");
}

/**
 * A lazily built DFA for programs whose assertions depend only on the previous character
 * (start of string or line): the same sets of states as the automaton simulation, computed
 * once per (state set, character) and cached, so a long scan costs a map lookup per character.
 */
function lazyDfa(prog: Inst[], size: number): (input: string) => boolean {
  const mark = new Int32Array(size).fill(-1);
  let generation = 0;
  const cache = new Map<string, DState>();
  const stack: number[] = [];
  const closure = (seeds: number[], atStart: boolean, prev: string | undefined): DState => {
    const gen = ++generation;
    const pcs: number[] = [];
    let accept = false;
    stack.length = 0;
    for (let k = seeds.length - 1; k >= 0; k--) stack.push(seeds[k]!);
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (mark[p] === gen) continue;
      mark[p] = gen;
      const inst = prog[p]!;
      if (inst.op === "jmp") stack.push(inst.x);
      else if (inst.op === "split") stack.push(inst.y, inst.x);
      else if (inst.op === "match") accept = true;
      else if (inst.op === "assert") {
        if (atStart || (inst.a === "bol" && prev === "\n")) stack.push(p + 1);
      } else pcs.push(p);
    }
    const key = keyOf({ pcs, accept });
    let state = cache.get(key);
    if (!state) {
      state = { pcs: Int32Array.from(pcs), accept, next: new Map() };
      if (cache.size < MAX_DFA_STATES) cache.set(key, state);
    }
    return state;
  };
  let start: DState | undefined;
  return (input: string): boolean => {
    start ??= closure([0], true, undefined);
    let state = start;
    for (let i = 0; i < input.length && !state.accept && state.pcs.length > 0;) {
      const c = charAt(input, i);
      i += c.length;
      let next = state.next.get(c);
      if (next === undefined) {
        const seeds: number[] = [];
        for (const pc of state.pcs) if ((prog[pc] as { p: Pred }).p(c)) seeds.push(pc + 1);
        next = closure(seeds, false, c);
        // Only cached states are linked, so memory stays bounded; past the cap, the scan goes
        // on at the automaton's speed.
        if (cache.get(keyOf(next)) === next && state.next.size < 256) state.next.set(c, next);
      }
      state = next;
    }
    return state.accept;
  };
}

function checkAssert(
  a: Assert,
  prev: string | undefined,
  next: string | undefined,
  i: number,
  n: number,
  multiline: boolean,
  isWord: (c: string | undefined) => boolean,
): boolean {
  switch (a) {
    case "start":
      return i === 0;
    case "bol":
      return i === 0 || prev === "\n";
    case "end":
      return i === n;
    case "eol":
      return i === n || (next === "\n" && (multiline || i === n - 1));
    case "wordb":
      return isWord(prev) !== isWord(next);
    case "nwordb":
      return isWord(prev) === isWord(next);
  }
}
