/**
 * Python-style argument handling for the Name Server's remote methods: binding positional
 * arguments and a trailing keyword-arguments object (see `isKwargs` in `expose.ts`) to named
 * parameters, and Python's truthiness for boolean-ish flags (Pyro5's `resolve()` sends `0.0`
 * where a boolean is meant).
 *
 * @example
 * ```ts
 * import { bindArgs, truthy } from "./args.ts";
 * const [name, flag] = bindArgs("lookup", ["name", "return_metadata"], [undefined, false], ["x", 0]);
 * console.log(name, truthy(flag)); // x false
 * ```
 *
 * @module
 */

import { isKwargs } from "../expose.ts";

/** Marks a parameter without a default value in {@linkcode bindArgs}. */
export const required: unique symbol = Symbol("required");

/**
 * Binds call arguments to parameters the way Python does: positional first, then keywords by
 * name, then defaults. The last argument is taken as keyword arguments when `isKwargs` says so.
 * Errors are Python's `TypeError` texts.
 *
 * @example
 * ```ts
 * import { bindArgs, required } from "./args.ts";
 * import { makeKwargs } from "../expose.ts";
 * const bound = bindArgs("list", ["prefix", "regex"], [null, null], [makeKwargs({ regex: "a.*" })]);
 * console.log(bound); // [ null, "a.*" ]
 * console.log(bindArgs("f", ["a"], [required], [1])); // [ 1 ]
 * ```
 *
 * @param method The method name, for error messages.
 * @param names The parameter names, in order.
 * @param defaults The default of each parameter, or {@linkcode required}.
 * @param args The arguments as the daemon passed them.
 * @returns One value per parameter.
 * @throws {TypeError} For too many, missing, unknown or duplicate arguments.
 */
export function bindArgs(
  method: string,
  names: readonly string[],
  defaults: readonly unknown[],
  args: readonly unknown[],
): unknown[] {
  let positional = args;
  let kwargs: Record<string, unknown> | null = null;
  const last = args[args.length - 1];
  if (args.length > 0 && isKwargs(last)) {
    kwargs = last;
    positional = args.slice(0, -1);
  }
  if (positional.length > names.length) {
    const min = defaults.filter((d) => d === required).length;
    const range = min === names.length
      ? `${names.length + 1}`
      : `from ${min + 1} to ${names.length + 1}`;
    throw new TypeError(
      `${method}() takes ${range} positional argument${range === "1" ? "" : "s"} but ${
        positional.length + 1
      } were given`,
    );
  }
  const bound: unknown[] = names.map((
    _,
    i,
  ) => (i < positional.length ? positional[i] : defaults[i]));
  if (kwargs) {
    for (const key of Object.keys(kwargs)) {
      const index = names.indexOf(key);
      if (index < 0) throw new TypeError(`${method}() got an unexpected keyword argument '${key}'`);
      if (index < positional.length) {
        throw new TypeError(`${method}() got multiple values for argument '${key}'`);
      }
      bound[index] = kwargs[key];
    }
  }
  const missing = names.filter((_, i) => bound[i] === required);
  if (missing.length > 0) {
    const list = missing.map((m) => `'${m}'`);
    const text = list.length === 1
      ? list[0]
      : list.length === 2
      ? `${list[0]} and ${list[1]}`
      : `${list.slice(0, -1).join(", ")}, and ${list[list.length - 1]}`; // Python's wording
    throw new TypeError(
      `${method}() missing ${missing.length} required positional argument${
        missing.length === 1 ? "" : "s"
      }: ${text}`,
    );
  }
  return bound;
}

/**
 * Python's truthiness: `None`, `False`, zero, empty strings, empty lists, sets and dicts are
 * false; everything else is true.
 *
 * @example
 * ```ts
 * import { truthy } from "./args.ts";
 * console.log(truthy(0.0), truthy([]), truthy("x")); // false false true
 * ```
 *
 * @param value Any decoded value.
 * @returns Whether Python would treat it as true.
 */
export function truthy(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === "number") return value !== 0; // NaN is true in Python
  if (typeof value === "bigint") return value !== 0n;
  if (typeof value === "string") return value.length > 0;
  if (typeof value === "boolean") return value;
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    return (value as { length: number }).length > 0;
  }
  if (value instanceof Map || value instanceof Set) return value.size > 0;
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.keys(value).length > 0;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === null) {
    return Object.keys(value).length > 0;
  }
  return true;
}
