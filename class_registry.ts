/**
 * The `__class__` convention of Pyro5 (section 2.2 of the protocol reference): how special
 * objects are turned into plain maps on the way out and how maps with a `__class__` key are
 * turned back into objects on the way in. Every codec calls {@linkcode replaceSpecial} for
 * objects that are not plain data and {@linkcode reviveDict} for every decoded map with a string
 * `__class__`.
 *
 * Users extend it with {@linkcode registerClassToDict} and {@linkcode registerDictToClass}, the
 * counterparts of Python's `register_class_to_dict` and `register_dict_to_class`.
 *
 * @example A class that travels as a map in both directions
 * ```ts
 * import { registerClassToDict, registerDictToClass } from "./class_registry.ts";
 *
 * class Point {
 *   constructor(public x: number, public y: number) {}
 * }
 * registerClassToDict(Point, (p) => ({ x: p.x, y: p.y }), { className: "geometry.Point" });
 * registerDictToClass("geometry.Point", (_name, d) => new Point(Number(d.x), Number(d.y)));
 * ```
 *
 * @module
 */

import { dictToError, errorToDict, isExceptionDict, SerializeError } from "./errors.ts";
import { URI } from "./uri.ts";

/**
 * The symbol under which a daemon installs the autoproxy method on registered objects. The
 * method gets the serializer name and returns the replacement (a `Pyro5.client.Proxy` map).
 *
 * @example
 * ```ts
 * import { AUTOPROXY, replaceSpecial } from "./class_registry.ts";
 * const served = {
 *   [AUTOPROXY]: (serializer: string) => ({ __class__: "Pyro5.client.Proxy", state: [serializer] }),
 * };
 * console.log(replaceSpecial(served, "json")); // { __class__: "Pyro5.client.Proxy", state: [ "json" ] }
 * ```
 */
export const AUTOPROXY: unique symbol = Symbol.for("pyro.autoproxy");

/**
 * Returned by {@linkcode replaceSpecial} when the object has no special replacement.
 *
 * @example
 * ```ts
 * import { NOT_SPECIAL, replaceSpecial } from "./class_registry.ts";
 * console.log(replaceSpecial(new Map(), "json") === NOT_SPECIAL); // true
 * ```
 */
export const NOT_SPECIAL: unique symbol = Symbol("pyro.notSpecial");

/** An object carrying an autoproxy method (see {@linkcode AUTOPROXY}). */
interface Autoproxied {
  [AUTOPROXY]: (serializerName: string) => unknown;
}

/**
 * Python's `Pyro5.core._ExceptionWrapper`: an exception stored as a result, as batch calls do.
 *
 * @example
 * ```ts
 * import { ExceptionWrapper } from "./class_registry.ts";
 * const w = new ExceptionWrapper(new TypeError("bad"));
 * console.log(w.error instanceof TypeError); // true
 * ```
 */
export class ExceptionWrapper {
  /** The wrapped error. */
  readonly error: Error;

  /**
   * Wraps an error.
   *
   * @param error The error to carry.
   */
  constructor(error: Error) {
    this.error = error;
  }

  /**
   * Throws the wrapped error (Python's `raise_if_exception`).
   *
   * @throws The wrapped error, always.
   */
  raiseIfError(): never {
    throw this.error;
  }
}

/**
 * Converts an instance into a map for the wire. It may return its own `__class__`; otherwise
 * the registered class name is added.
 *
 * @example
 * ```ts
 * import type { ClassToDict } from "./class_registry.ts";
 * const toDict: ClassToDict<Date> = (d) => ({ iso: d.toISOString() });
 * console.log(toDict(new Date(0), "json"));
 * ```
 */
export type ClassToDict<T> = (value: T, serializerName: string) => Record<string, unknown>;

/**
 * Rebuilds an object from a decoded map whose `__class__` is the registered name.
 *
 * @example
 * ```ts
 * import type { DictToClass } from "./class_registry.ts";
 * const fromDict: DictToClass = (_name, d) => new Date(String(d.iso));
 * console.log(fromDict("demo.When", { iso: "2020-01-01T00:00:00Z" }));
 * ```
 */
export type DictToClass = (className: string, dict: Record<string, unknown>) => unknown;

/**
 * Options for {@linkcode registerClassToDict}.
 *
 * @example
 * ```ts
 * import type { ClassToDictOptions } from "./class_registry.ts";
 * const o: ClassToDictOptions = { className: "demo.Thing" };
 * console.log(o.className);
 * ```
 */
export interface ClassToDictOptions {
  /**
   * The `__class__` value added to the map unless the hook sets one.
   *
   * @default the constructor's name
   */
  className?: string;
}

interface ClassHook {
  fn: ClassToDict<never>;
  className: string;
}

const classHooks = new Map<object, ClassHook>(); // keyed by prototype
const dictHooks = new Map<string, DictToClass>();

/**
 * Registers how instances of a class (and of its subclasses, unless they have their own
 * hook) are turned into a map for every serializer.
 *
 * @example
 * ```ts
 * import { registerClassToDict, replaceSpecial, unregisterClassToDict } from "./class_registry.ts";
 * class Money {
 *   constructor(readonly cents: number) {}
 * }
 * registerClassToDict(Money, (m) => ({ cents: m.cents }), { className: "shop.Money" });
 * console.log(replaceSpecial(new Money(5), "json")); // { cents: 5, __class__: "shop.Money" }
 * unregisterClassToDict(Money);
 * ```
 *
 * @param ctor The class.
 * @param fn The conversion.
 * @param options The class name to put in `__class__`.
 */
export function registerClassToDict<T extends object>(
  // deno-lint-ignore no-explicit-any
  ctor: abstract new (...args: any[]) => T,
  fn: ClassToDict<T>,
  options: ClassToDictOptions = {},
): void {
  classHooks.set(ctor.prototype as object, {
    fn: fn as ClassToDict<never>,
    className: options.className ?? ctor.name,
  });
}

/**
 * Removes a hook added by {@linkcode registerClassToDict}.
 *
 * @example
 * ```ts
 * import { unregisterClassToDict } from "./class_registry.ts";
 * unregisterClassToDict(Date); // nothing registered: no effect
 * ```
 *
 * @param ctor The class.
 */
// deno-lint-ignore no-explicit-any
export function unregisterClassToDict(ctor: abstract new (...args: any[]) => unknown): void {
  classHooks.delete(ctor.prototype as object);
}

/**
 * Registers how decoded maps with a given `__class__` are rebuilt, in every serializer and at
 * any depth. It takes precedence over the built-in forms (as in Python).
 *
 * @example
 * ```ts
 * import { registerDictToClass, reviveDict, unregisterDictToClass } from "./class_registry.ts";
 * registerDictToClass("shop.Money", (_name, d) => ({ cents: Number(d.cents) }));
 * console.log(reviveDict({ __class__: "shop.Money", cents: 5 })); // { cents: 5 }
 * unregisterDictToClass("shop.Money");
 * ```
 *
 * @param className The `__class__` value.
 * @param fn The conversion.
 */
export function registerDictToClass(className: string, fn: DictToClass): void {
  dictHooks.set(className, fn);
}

/**
 * Removes a hook added by {@linkcode registerDictToClass}.
 *
 * @example
 * ```ts
 * import { unregisterDictToClass } from "./class_registry.ts";
 * unregisterDictToClass("shop.Money");
 * ```
 *
 * @param className The `__class__` value.
 */
export function unregisterDictToClass(className: string): void {
  dictHooks.delete(className);
}

/**
 * Tells whether any {@linkcode registerClassToDict} hook is registered. While none is, a codec
 * may write the built-in form of a `URI` straight away, as {@linkcode replaceSpecial} would
 * give it.
 *
 * @example
 * ```ts
 * import { hasClassHooks } from "./class_registry.ts";
 * console.log(hasClassHooks()); // false
 * ```
 *
 * @returns True when at least one hook is registered.
 */
export function hasClassHooks(): boolean {
  return classHooks.size > 0;
}

/**
 * Tells whether a {@linkcode registerDictToClass} hook is registered for a class name. While
 * none is for `Pyro5.core.URI`, a codec may reuse a URI it revived from the same bytes before.
 *
 * @example
 * ```ts
 * import { hasDictHook } from "./class_registry.ts";
 * console.log(hasDictHook("Pyro5.core.URI")); // false
 * ```
 *
 * @param className The `__class__` value.
 * @returns True when a hook is registered for it.
 */
export function hasDictHook(className: string): boolean {
  return dictHooks.has(className);
}

function classHookFor(value: object): ClassHook | undefined {
  if (classHooks.size === 0) return undefined;
  for (let p = Object.getPrototypeOf(value); p !== null; p = Object.getPrototypeOf(p)) {
    const hook = classHooks.get(p as object);
    if (hook !== undefined) return hook;
  }
  return undefined;
}

/**
 * Gives the wire replacement of a special object: an autoproxied object (its `AUTOPROXY`
 * method's result), a `URI`, an `Error` (Pyro5's exception map, with traceback), an
 * {@linkcode ExceptionWrapper} or an instance of a class with a {@linkcode registerClassToDict}
 * hook. Anything else gives {@linkcode NOT_SPECIAL}; the codecs then handle `Set`, `Map`, `Date`,
 * `Complex`, bytes and other class instances themselves.
 *
 * @example
 * ```ts
 * import { replaceSpecial } from "./class_registry.ts";
 * import { URI } from "./uri.ts";
 * console.log(replaceSpecial(new URI("PYRO:obj@localhost:9090"), "json"));
 * // { __class__: "Pyro5.core.URI", state: [ "PYRO", "obj", null, "localhost", 9090 ] }
 * ```
 *
 * @param value The object to look at.
 * @param serializerName The serializer in use (passed to autoproxy and class hooks).
 * @returns The plain replacement, or {@linkcode NOT_SPECIAL}.
 * @throws {SerializeError} When a hook fails.
 */
export function replaceSpecial(value: object, serializerName: string): unknown {
  const auto = (value as Partial<Autoproxied>)[AUTOPROXY];
  if (typeof auto === "function") return auto.call(value, serializerName);
  const hook = classHookFor(value);
  if (hook !== undefined) {
    let dict: Record<string, unknown>;
    try {
      dict = (hook.fn as ClassToDict<object>)(value, serializerName);
    } catch (e) {
      throw new SerializeError(`Cannot serialize ${hook.className}: ${String(e)}`, { cause: e });
    }
    return typeof dict.__class__ === "string" ? dict : { ...dict, __class__: hook.className };
  }
  if (value instanceof URI) return { __class__: "Pyro5.core.URI", state: value.toState() };
  if (value instanceof ExceptionWrapper) {
    return { __class__: "Pyro5.core._ExceptionWrapper", exception: errorToDict(value.error) };
  }
  if (value instanceof Error) return errorToDict(value);
  return NOT_SPECIAL;
}

/**
 * Rebuilds the object a decoded map with a string `__class__` stands for: a registered
 * {@linkcode registerDictToClass} hook's result (proxy.ts registers `Pyro5.client.Proxy` this
 * way), a `URI`, an {@linkcode ExceptionWrapper}, an `Error` for exception maps (see errors.ts
 * `dictToError`); any other map is returned unchanged as a plain record. Children are expected to
 * be revived already (codecs work bottom-up).
 *
 * @example
 * ```ts
 * import { reviveDict } from "./class_registry.ts";
 * const e = reviveDict({ __class__: "builtins.ValueError", __exception__: true, args: ["bad"], attributes: {} });
 * console.log(e instanceof Error); // true
 * ```
 *
 * @param map The decoded map.
 * @returns The revived object, or the map itself.
 * @throws {SerializeError} When a known form is malformed or a hook fails.
 */
export function reviveDict(map: Record<string, unknown>): unknown {
  const className = map.__class__ as string;
  const hook = dictHooks.get(className);
  try {
    if (hook !== undefined) return hook(className, map);
    if (className === "Pyro5.core.URI") return URI.fromState(map.state);
    if (className === "Pyro5.core._ExceptionWrapper") {
      const ex = map.exception;
      if (ex instanceof Error) return new ExceptionWrapper(ex);
      if (isExceptionDict(ex)) return new ExceptionWrapper(dictToError(ex));
      throw new TypeError("exception is not an exception map");
    }
    if (isExceptionDict(map)) return dictToError(map);
  } catch (e) {
    if (e instanceof SerializeError) throw e;
    throw new SerializeError(`Cannot deserialize ${className}: ${String(e)}`, { cause: e });
  }
  return map;
}
