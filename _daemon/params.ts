/**
 * Keyword arguments for TypeScript methods: a method's parameter names, read once from its
 * source text (`Function.prototype.toString`) and cached, and the binding of a Python caller's
 * keyword arguments to them, with Python's `TypeError` texts.
 *
 * The rule, per parameter of the method's own list:
 * - a plain name (`x`, `x = 1`) can be given by position or by keyword; one with a default
 *   value may be left out;
 * - a destructured parameter (`{ a, b }`, `[a, b]`) has no name: it is positional only;
 * - a final parameter named `kwargs` collects the keywords no other parameter takes (Python's
 *   `**kwargs`), as a Kwargs object (see `isKwargs` in expose.ts);
 * - a rest parameter (`...args`) means the method reads keywords itself: it gets the positional
 *   arguments as sent and the Kwargs object as its last argument, as do methods whose source
 *   cannot be read (native or bound functions).
 *
 * @example Binding keywords to `greet(name, greeting = "Hello")`
 * ```ts
 * import { bindKeywords, paramsOf } from "./params.ts";
 * const params = paramsOf(function greet(name: string, greeting = "Hello") {
 *   return `${greeting}, ${name}`;
 * });
 * console.log(bindKeywords(params, "Greeter.greet", [], { name: "Ann" })); // ["Ann"]
 * ```
 *
 * @module
 */

import { makeKwargs } from "../expose.ts";

/** What binding needs to know of a method's parameter list. */
export interface Params {
  /** The parameter names in order; null for a destructured (positional-only) parameter. */
  readonly names: readonly (string | null)[];
  /** Whether each parameter has a default value. */
  readonly defaults: readonly boolean[];
  /** The index of the parameter that collects unknown keywords (`kwargs`), or -1. */
  readonly collector: number;
  /**
   * True when the method takes keywords itself (a rest parameter, or a source that cannot be
   * read): it gets the Kwargs object as its last argument.
   */
  readonly takesKwargsObject: boolean;
  /**
   * True for a declared signature (the `params` register option): it is checked on every call,
   * positional ones too, as Python checks a `def` (a parameter without `=` is required).
   */
  readonly exact: boolean;
}

/** Parameters of a method that reads keywords itself. */
export const KWARGS_OBJECT: Params = Object.freeze({
  names: [],
  defaults: [],
  collector: -1,
  takesKwargsObject: true,
  exact: false,
});

const cache = new WeakMap<object, Params>();

/**
 * The parameters of a function, read from its source once and cached.
 *
 * @param fn The method.
 * @returns Its parameters, or {@linkcode KWARGS_OBJECT} when it has a rest parameter or its
 *   source cannot be read.
 */
export function paramsOf(fn: (...args: never[]) => unknown): Params {
  let params = cache.get(fn);
  if (params === undefined) {
    params = parse(fn);
    cache.set(fn, params);
  }
  return params;
}

/**
 * Parameters declared by name (the `params` register option): plain names, `"**kwargs"` (or
 * `"kwargs"` last) for the collector, `"*args"` for a method that reads keywords itself; a name
 * ending in `"="` has a default. A declared signature is exact: every call, positional or with
 * keywords, is checked against it as Python checks a `def`.
 *
 * @param names The declared names.
 * @returns The parameters.
 */
export function declaredParams(names: readonly string[]): Params {
  if (names.some((n) => n.startsWith("*") && !n.startsWith("**"))) return KWARGS_OBJECT;
  const out: string[] = [];
  const defaults: boolean[] = [];
  let collector = -1;
  for (const [i, raw] of names.entries()) {
    let name = raw.trim();
    if (name.startsWith("**")) {
      name = name.slice(2);
      collector = i;
    } else if (name === "kwargs" && i === names.length - 1) collector = i;
    const hasDefault = name.endsWith("=");
    if (hasDefault) name = name.slice(0, -1).trim();
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
      throw new TypeError(`Cannot declare parameter '${raw}': not a name`);
    }
    out.push(name);
    defaults.push(hasDefault);
  }
  return { names: out, defaults, collector, takesKwargsObject: false, exact: true };
}

/** Splits the text of a parameter list at its top-level commas. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === "`") {
      i = skipString(text, i);
    } else if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map(stripComments).map((p) => p.trim()).filter((p) => p !== "");
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
}

/** The index of a string literal's closing quote (template literals with nesting). */
function skipString(text: string, start: number): number {
  const quote = text[start]!;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\") i++;
    else if (c === quote) return i;
    else if (quote === "`" && c === "$" && text[i + 1] === "{") {
      let depth = 1;
      for (i += 2; i < text.length && depth > 0; i++) {
        const d = text[i]!;
        if (d === '"' || d === "'" || d === "`") i = skipString(text, i);
        else if (d === "{") depth++;
        else if (d === "}") depth--;
      }
      i--;
    }
  }
  return text.length;
}

/** The text of the parameter list of a function's source, or null. */
function parameterText(source: string): string | null {
  let i = 0;
  // Skip to the first "(" outside strings and comments; an arrow without parens has none.
  for (; i < source.length; i++) {
    const c = source[i]!;
    if (c === "(") break;
    if (c === "=" && source[i + 1] === ">") {
      const head = stripComments(source.slice(0, i)).trim().replace(/^async\s+/, "");
      return /^[A-Za-z_$][\w$]*$/.test(head) ? head : null;
    }
    if (c === "{") return null;
  }
  if (i >= source.length) return null;
  let depth = 0;
  for (let j = i; j < source.length; j++) {
    const c = source[j]!;
    if (c === '"' || c === "'" || c === "`") j = skipString(source, j);
    else if (c === "/" && source[j + 1] === "/") {
      const end = source.indexOf("\n", j);
      j = end < 0 ? source.length : end;
    } else if (c === "/" && source[j + 1] === "*") {
      const end = source.indexOf("*/", j + 2);
      j = end < 0 ? source.length : end + 1;
    } else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return source.slice(i + 1, j);
  }
  return null;
}

function parse(fn: (...args: never[]) => unknown): Params {
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return KWARGS_OBJECT;
  }
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) return KWARGS_OBJECT;
  const text = parameterText(source);
  if (text === null) return KWARGS_OBJECT;
  const names: (string | null)[] = [];
  const defaults: boolean[] = [];
  for (const part of splitTopLevel(text)) {
    if (part.startsWith("...")) return KWARGS_OBJECT;
    const eq = topLevelEquals(part);
    const target = (eq < 0 ? part : part.slice(0, eq)).trim();
    names.push(/^[A-Za-z_$][\w$]*$/.test(target) ? target : null);
    defaults.push(eq >= 0);
  }
  const last = names.length - 1;
  return {
    names,
    defaults,
    collector: last >= 0 && names[last] === "kwargs" ? last : -1,
    takesKwargsObject: false,
    exact: false,
  };
}

/** The index of a parameter's default `=` (not `==`, `=>` or inside brackets), or -1. */
function topLevelEquals(part: string): number {
  let depth = 0;
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '"' || c === "'" || c === "`") i = skipString(part, i);
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "=" && depth === 0 && part[i + 1] !== "=" && part[i + 1] !== ">") return i;
  }
  return -1;
}

function typeError(message: string): TypeError {
  return new TypeError(message);
}

function quotedList(names: string[]): string {
  const q = names.map((n) => `'${n}'`);
  if (q.length === 1) return q[0]!;
  if (q.length === 2) return `${q[0]} and ${q[1]}`;
  return `${q.slice(0, -1).join(", ")}, and ${q.at(-1)}`;
}

/**
 * Binds a call's positional and keyword arguments to a method's parameters, as Python does.
 *
 * @param params The method's parameters.
 * @param qualname The method's name for messages (`Class.method`).
 * @param args The positional arguments.
 * @param kwargs The keyword arguments (non-empty).
 * @returns The arguments to apply.
 * @throws {TypeError} With Python's texts: an unexpected keyword argument, multiple values for
 *   an argument, or missing required arguments.
 */
export function bindKeywords(
  params: Params,
  qualname: string,
  args: readonly unknown[],
  kwargs: Record<string, unknown>,
): unknown[] {
  if (params.takesKwargsObject) return [...args, makeKwargs(kwargs)];
  const { names, defaults, collector } = params;
  const positional = collector >= 0 ? collector : names.length;
  const bound: unknown[] = [...args];
  const filled: boolean[] = names.map((_, i) => i < args.length);
  let extra: Record<string, unknown> | undefined;
  for (const key of Object.keys(kwargs)) {
    const index = names.indexOf(key);
    if (index >= 0 && index !== collector) {
      if (filled[index]) throw typeError(`${qualname}() got multiple values for argument '${key}'`);
      bound[index] = kwargs[key];
      filled[index] = true;
    } else if (collector >= 0) {
      (extra ??= {})[key] = kwargs[key];
    } else {
      throw typeError(`${qualname}() got an unexpected keyword argument '${key}'`);
    }
  }
  // Python reports keyword mistakes first, then surplus positional arguments, then missing ones.
  if (args.length > positional) {
    // Python counts `self` for methods of classes (`Class.method`).
    const self = qualname.includes(".") ? 1 : 0;
    const most = positional + self;
    let least = self;
    for (let i = 0; i < positional; i++) if (!defaults[i]) least = i + 1 + self;
    const takes = least === most ? `${most}` : `from ${least} to ${most}`;
    const given = args.length + self;
    throw typeError(
      `${qualname}() takes ${takes} positional argument${takes === "1" ? "" : "s"} ` +
        `but ${given} ${given === 1 ? "was" : "were"} given`,
    );
  }
  // A declared signature knows every required parameter; a read one only those before the
  // last given (JavaScript cannot tell an optional parameter without a default).
  const last = params.exact ? positional - 1 : filled.lastIndexOf(true);
  const missing: string[] = [];
  for (let i = 0; i <= last && i < positional; i++) {
    if (!filled[i] && !defaults[i]) missing.push(names[i] ?? `<argument ${i + 1}>`);
  }
  if (missing.length > 0) {
    throw typeError(
      `${qualname}() missing ${missing.length} required positional argument${
        missing.length === 1 ? "" : "s"
      }: ${quotedList(missing)}`,
    );
  }
  if (collector >= 0) {
    bound.length = Math.max(bound.length, collector);
    bound[collector] = makeKwargs(extra ?? {});
  }
  return bound;
}
