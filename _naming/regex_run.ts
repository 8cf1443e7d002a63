/**
 * The two ways `regex.ts` runs a compiled pattern (its automaton program) over a name, both in
 * time linear in the name's length: a lazily built DFA, one table lookup per character once
 * warm, and the automaton simulation (a set of states advanced one character at a time, at
 * most the program's size in steps per character), which takes over for a pattern whose DFA
 * would need more states than are cached.
 *
 * @example
 * ```ts
 * import { runner } from "./regex_run.ts";
 * // the program of "ab?": a, split(b | end), b, match
 * const match = runner([
 *   { op: "char", p: (c) => c === "a" },
 *   { op: "split", x: 2, y: 3 },
 *   { op: "char", p: (c) => c === "b" },
 *   { op: "match" },
 * ], { multiline: false, isWord: (c) => /\w/.test(c) });
 * console.log(match("abc"), match("b")); // true false
 * ```
 *
 * @module
 */

import type { Assert, Pred } from "./regex_parse.ts";

/** One automaton instruction. */
export type Inst =
  | { op: "char"; p: Pred }
  | { op: "split"; x: number; y: number }
  | { op: "jmp"; x: number }
  | { op: "assert"; a: Assert }
  | { op: "match" };

/** What the assertions of a program need besides the characters. */
export interface RunOptions {
  /** `(?m)`: `$` also before every line break. */
  multiline: boolean;
  /** Whether a character is a word character (for `\\b`, `\\B`). */
  isWord: (c: string) => boolean;
}

/**
 * The matcher of a program: the lazy DFA while its cache holds the states met, then (for this
 * pattern, from then on) the automaton simulation.
 *
 * @example
 * ```ts
 * import { runner } from "./regex_run.ts";
 * const match = runner([{ op: "assert", a: "end" }, { op: "match" }], {
 *   multiline: false,
 *   isWord: () => false,
 * });
 * console.log(match(""), match("x")); // true false
 * ```
 *
 * @param prog The program; the last instruction is `match`.
 * @param options What the assertions need.
 * @returns A function telling whether the program matches at the start of a string.
 */
export function runner(prog: Inst[], options: RunOptions): (input: string) => boolean {
  const dfa = lazyDfa(prog, options);
  let simulate: ((input: string) => boolean) | null = null;
  return (input) => {
    if (simulate === null) {
      const found = dfa(input);
      if (found !== undefined) return found;
      simulate = simulation(prog, options);
    }
    return simulate(input);
  };
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

/** The automaton simulation of a program. */
function simulation(prog: Inst[], options: RunOptions): (input: string) => boolean {
  const size = prog.length;
  const multiline = options.multiline;
  const isWord = (c: string | undefined): boolean => c !== undefined && options.isWord(c);
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
  return match;
}

/** The states one DFA state stands for at a position, and what is known there. */
class DState {
  /** Next states of ASCII characters by code (a packed table, filled as they are seen). */
  ascii: (DState | undefined)[] | null = null;
  /** The same for the input's last character, when assertions wait. */
  asciiLast: (DState | undefined)[] | null = null;
  /** Next states of other characters, keyed `$` + character when it is the input's last. */
  next: Map<string, DState> | null = null;
  /** Whether a match ends at the end of the input, once known. */
  acceptAtEnd: boolean | null = null;
  /** Whether assertions wait for the next character. */
  readonly waits: boolean;
  /** No instruction is live: nothing can match from here. */
  readonly dead: boolean;

  constructor(
    /** Character-consuming instructions. */
    readonly pcs: Int32Array,
    /** Assertions that look ahead (`$`, `\Z`, `\b`, `\B`), waiting for the next character. */
    readonly pend: Int32Array,
    /** A match ends here. */
    readonly accept: boolean,
    /** Where the state is: at the start, after a line break, after a word character. */
    readonly at: Position,
  ) {
    this.waits = pend.length > 0;
    this.dead = pcs.length === 0 && pend.length === 0;
  }
}

/** The most DFA states cached per pattern. */
const MAX_DFA_STATES = 4096;
/** The most instructions held by the cached states of a pattern, all together. */
const MAX_DFA_INSTRUCTIONS = 1 << 18;
/** The most transitions kept per state for characters beyond ASCII. */
const MAX_OTHER_TRANSITIONS = 256;

/** The closure of some instructions at one position. */
interface Expansion {
  pcs: number[];
  pend: number[];
  accept: boolean;
}

/** Where a closure is taken: what the assertions that look back need. */
interface Position {
  atStart: boolean;
  afterNewline: boolean;
  afterWord: boolean;
}

function asciiTable(): (DState | undefined)[] {
  return new Array<DState | undefined>(128).fill(undefined);
}

/**
 * A lazily built DFA. Each state is the set of automaton instructions live at a position,
 * computed once per (state, character) and cached, so a scan costs one table lookup per
 * character. The assertions that look back (`^`, `\A`) are decided when a state is made;
 * those that look ahead (`$`, `\Z`, `\b`, `\B`) wait in the state until the next character,
 * or the end, is seen, so a step from such a state may also depend on whether that character
 * is the input's last. A scan that needs a state past {@linkcode MAX_DFA_STATES} (or past
 * {@linkcode MAX_DFA_INSTRUCTIONS} held by all of them) gives up and returns undefined.
 */
function lazyDfa(prog: Inst[], options: RunOptions): (input: string) => boolean | undefined {
  const { multiline, isWord } = options;
  const mark = new Int32Array(prog.length).fill(-1);
  let generation = 0;
  const cache = new Map<string, DState>();
  let cachedInstructions = 0;
  const stack: number[] = [];

  /**
   * Follows jumps, splits and assertions from `seeds`. Assertions that look ahead are decided
   * by `ahead` when given, else left pending.
   */
  const expand = (
    seeds: ArrayLike<number>,
    at: Position,
    ahead?: (a: Assert) => boolean,
  ): Expansion => {
    const gen = ++generation;
    const pcs: number[] = [];
    const pend: number[] = [];
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
      else if (inst.op === "char") pcs.push(p);
      else if (inst.a === "start" || inst.a === "bol") {
        if (at.atStart || (inst.a === "bol" && at.afterNewline)) stack.push(p + 1);
      } else if (ahead === undefined) pend.push(p);
      else if (ahead(inst.a)) stack.push(p + 1);
    }
    return { pcs, pend, accept };
  };

  const ACCEPTED = new DState(new Int32Array(0), new Int32Array(0), true, {
    atStart: false,
    afterNewline: false,
    afterWord: false,
  });

  const keyOf = (at: Position, pcs: ArrayLike<number>, pend: ArrayLike<number>): string =>
    `${at.atStart ? "S" : ""}${at.afterNewline ? "N" : ""}${at.afterWord ? "W" : ""}${
      Array.prototype.join.call(pcs, ",")
    }/${Array.prototype.join.call(pend, ",")}`;

  /** The cached state of an expansion, made if new; null when the cache is full. */
  const intern = (e: Expansion, at: Position): DState | null => {
    if (e.accept) return ACCEPTED;
    const key = keyOf(at, e.pcs, e.pend);
    const known = cache.get(key);
    if (known !== undefined) return known;
    const held = cachedInstructions + e.pcs.length + e.pend.length;
    if (cache.size >= MAX_DFA_STATES || held > MAX_DFA_INSTRUCTIONS) return null;
    const state = new DState(Int32Array.from(e.pcs), Int32Array.from(e.pend), false, at);
    cache.set(key, state);
    cachedInstructions = held;
    return state;
  };

  /** The step from `state` over `c`; `last` tells whether `c` ends the input. */
  const step = (state: DState, c: string, last: boolean): DState | null => {
    let pcs: ArrayLike<number> = state.pcs;
    if (state.waits) {
      const nextWord = isWord(c);
      const e = expand(state.pend, state.at, (a) => {
        switch (a) {
          case "eol":
            return c === "\n" && (multiline || last);
          case "wordb":
            return state.at.afterWord !== nextWord;
          case "nwordb":
            return state.at.afterWord === nextWord;
          default:
            return false; // \Z: not at the end
        }
      });
      if (e.accept) return ACCEPTED;
      if (e.pcs.length > 0) pcs = [...state.pcs, ...e.pcs];
    }
    const seeds: number[] = [];
    for (let k = 0; k < pcs.length; k++) {
      const pc = pcs[k]!;
      if ((prog[pc] as { p: Pred }).p(c)) seeds.push(pc + 1);
    }
    const at = { atStart: false, afterNewline: c === "\n", afterWord: isWord(c) };
    return intern(expand(seeds, at), at);
  };

  const acceptsAtEnd = (state: DState): boolean =>
    state.acceptAtEnd ??= state.waits &&
      expand(state.pend, state.at, (a) =>
        a === "nwordb" ? !state.at.afterWord : a !== "wordb" || state.at.afterWord)
        .accept;

  const atStart = { atStart: true, afterNewline: false, afterWord: false };
  let start: DState | null = null;
  return (input: string): boolean | undefined => {
    start ??= intern(expand([0], atStart), atStart);
    if (start === null) return undefined;
    let state = start;
    const n = input.length;
    let i = 0;
    for (;;) {
      if (state.accept) return true;
      if (i >= n) return acceptsAtEnd(state);
      if (state.dead) return false;
      const code = input.charCodeAt(i);
      let next: DState | undefined;
      if (code < 128) {
        i++;
        const table = i === n && state.waits
          ? (state.asciiLast ??= asciiTable())
          : (state.ascii ??= asciiTable());
        next = table[code];
        if (next === undefined) {
          const made = step(state, String.fromCharCode(code), i === n);
          if (made === null) return undefined;
          next = table[code] = made;
        }
      } else {
        const c = charAt(input, i);
        i += c.length;
        const key = i === n && state.waits ? "$" + c : c;
        const links = state.next ??= new Map();
        next = links.get(key);
        if (next === undefined) {
          const made = step(state, c, i === n);
          if (made === null) return undefined;
          if (links.size < MAX_OTHER_TRANSITIONS) links.set(key, made);
          next = made;
        }
      }
      state = next;
    }
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
