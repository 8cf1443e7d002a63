/**
 * What a daemon may call on a served object: the `@expose`, `@oneway` and `@behavior`
 * decorators (TC39 decorators, Deno's default) and the same marks as plain functions for code
 * that does not use decorators.
 *
 * Only exposed members are reachable remotely, as in Pyro5:
 *
 * - `@expose` on a class exposes every public method and accessor (getter/setter pair or
 *   `accessor` field) of the class and of its (non built-in) base classes, `constructor`
 *   excepted. On a method, getter, setter or `accessor` it exposes that member alone.
 * - `@oneway` marks a method as oneway in the metadata (and exposes it): a Python or
 *   TypeScript proxy then sends calls to it without waiting for an answer.
 * - `@behavior({ instanceMode, instanceCreator })` on a class chooses how a daemon makes
 *   instances when the class itself is registered: `"session"` (one per client connection, the
 *   default), `"single"` (one per daemon) or `"percall"` (one per call).
 * - Exposed accessors are remote attributes (metadata `attrs`); plain data properties never are.
 * - Names starting with `_` are private and never reachable, except dunder names such as
 *   `__len__` that are not on Pyro5's deny-list. `constructor`, `__proto__`, `prototype`,
 *   members of `Object.prototype` and dotted names are never reached either: a daemon only
 *   looks names up in the tables computed here, never with `object[name]`.
 *
 * Without decorators, call `expose(object)` on a plain object to expose all of its own
 * methods and accessors, mark single functions with `expose(fn)` / `oneway(fn)`, or pass the
 * names to `Daemon.register(target, { expose, oneway })`.
 *
 * Keyword arguments are bound to parameters by name (see daemon.ts). A method with a rest
 * parameter, or a last parameter named `kwargs`, gets keywords as a null-prototype object
 * marked so that {@linkcode isKwargs} recognises it.
 *
 * @example Decorators
 * ```ts
 * import { behavior, expose, oneway } from "./expose.ts";
 *
 * @expose
 * @behavior({ instanceMode: "single" })
 * class Thermostat {
 *   #target = 20;
 *   get target(): number { return this.#target; }
 *   set target(value: number) { this.#target = value; }
 *   reading(): number { return 19.5; }
 *   @oneway reset(): void { this.#target = 20; }
 *   _secret(): string { return "never reachable"; }
 * }
 * ```
 *
 * @example Plain objects
 * ```ts
 * import { expose, oneway } from "./expose.ts";
 *
 * const calculator = expose({
 *   add(a: number, b: number): number { return a + b; },
 *   log: oneway((message: string) => console.log(message)),
 * });
 * ```
 *
 * @module
 */

const EXPOSED: unique symbol = Symbol.for("pyro.exposed");
const ONEWAY: unique symbol = Symbol.for("pyro.oneway");
const BEHAVIOR: unique symbol = Symbol.for("pyro.behavior");
const KWARGS: unique symbol = Symbol.for("pyro.kwargs");
const CALLBACK: unique symbol = Symbol.for("pyro.callback");

/** How a daemon makes instances of a registered class (Pyro5's `instance_mode`). */
export type InstanceMode = "single" | "session" | "percall";

/**
 * Options of {@linkcode behavior}.
 *
 * @typeParam T The class's instance type.
 */
export interface BehaviorOptions<T = unknown> {
  /** How instances are made. @default {"session"} */
  instanceMode?: InstanceMode;
  /**
   * Makes an instance; gets the class and must return an instance of it (may be async).
   * Without it the constructor is called without arguments.
   */
  instanceCreator?: (cls: abstract new (...args: never[]) => T) => T | Promise<T>;
}

/** The behaviour of a registered class, as recorded by {@linkcode behavior}. */
export interface Behavior {
  /** How instances are made. */
  readonly instanceMode: InstanceMode;
  /** Makes an instance, if given. */
  readonly instanceCreator: ((cls: never) => unknown) | undefined;
}

/** Any class (constructor), as the decorators accept it. */
export type ClassLike = abstract new (...args: never[]) => unknown;
/** Any function or method, as the decorators accept it. */
export type FunctionLike = (this: never, ...args: never[]) => unknown;

type Marked = {
  [EXPOSED]?: boolean;
  [ONEWAY]?: boolean;
  [CALLBACK]?: boolean;
  [BEHAVIOR]?: Behavior;
};

function mark(target: unknown, key: typeof EXPOSED | typeof ONEWAY | typeof CALLBACK): void {
  Object.defineProperty(target, key, { value: true, configurable: true });
}

function isMarked(
  target: unknown,
  key: typeof EXPOSED | typeof ONEWAY | typeof CALLBACK,
): boolean {
  if (target === null || (typeof target !== "object" && typeof target !== "function")) {
    return false;
  }
  return Object.hasOwn(target as object, key) && (target as Marked)[key] === true;
}

function refuseKind(kind: string, name: unknown, what: string): never {
  throw new TypeError(
    `Cannot ${what} ${kind} '${String(name)}': only methods, getters, setters and accessors can be`,
  );
}

function decorate(
  target: unknown,
  context: DecoratorContext | undefined,
  what: "expose" | "oneway",
): unknown {
  if (context === undefined) {
    if (what === "oneway" && typeof target !== "function") {
      throw new TypeError("Cannot mark a non-function as oneway");
    }
    if (target === null || (typeof target !== "object" && typeof target !== "function")) {
      throw new TypeError("Cannot expose a value that is not an object or a function");
    }
    mark(target, EXPOSED);
    if (what === "oneway") mark(target, ONEWAY);
    return target;
  }
  if ("static" in context && context.static) {
    refuseKind(`static ${context.kind}`, context.name, what);
  }
  switch (context.kind) {
    case "class":
      if (what === "oneway") refuseKind("class", context.name, "mark as oneway");
      mark(target, EXPOSED);
      return undefined;
    case "method":
      mark(target, EXPOSED);
      if (what === "oneway") mark(target, ONEWAY);
      return undefined;
    case "getter":
    case "setter":
      if (what === "oneway") refuseKind(context.kind, context.name, "mark as oneway");
      mark(target, EXPOSED);
      return undefined;
    case "accessor": {
      if (what === "oneway") refuseKind(context.kind, context.name, "mark as oneway");
      const value = target as ClassAccessorDecoratorTarget<unknown, unknown>;
      mark(value.get, EXPOSED);
      mark(value.set, EXPOSED);
      return undefined;
    }
    default:
      refuseKind(context.kind, context.name, what);
  }
}

/**
 * Exposes a class, a member, a plain object or a function to remote callers.
 *
 * As a decorator: on a class, every public method and accessor of it and its non built-in base
 * classes; on a method, getter, setter or `accessor` field, that member. Called on a plain
 * object, all of the object's own methods and accessors; called on a function, that function
 * (for use as a property of a plain object). Fields and static members cannot be exposed.
 *
 * @example As a class decorator
 * ```ts
 * import { expose } from "./expose.ts";
 *
 * @expose
 * class Greeter {
 *   greet(name: string): string { return `hello ${name}`; }
 * }
 * ```
 *
 * @example On single members
 * ```ts
 * import { expose } from "./expose.ts";
 *
 * class Counter {
 *   #n = 0;
 *   @expose increment(): number { return ++this.#n; }
 *   @expose get count(): number { return this.#n; }
 *   internal(): void {} // not exposed
 * }
 * ```
 *
 * @example On a plain object
 * ```ts
 * import { expose } from "./expose.ts";
 * const echo = expose({ echo: (x: unknown) => x });
 * ```
 */
export function expose<T extends ClassLike>(target: T, context: ClassDecoratorContext<T>): void;
/** Decorator form for methods. */
export function expose(target: FunctionLike, context: ClassMethodDecoratorContext): void;
/** Decorator form for getters. */
export function expose<V>(
  target: (this: never) => V,
  context: ClassGetterDecoratorContext<unknown, V>,
): void;
/** Decorator form for setters. */
export function expose<V>(
  target: (this: never, value: V) => void,
  context: ClassSetterDecoratorContext<unknown, V>,
): void;
/** Decorator form for `accessor` fields. */
export function expose<This, V>(
  target: ClassAccessorDecoratorTarget<This, V>,
  context: ClassAccessorDecoratorContext<This, V>,
): void;
/** Function form: exposes a plain object's own members, or one function. */
export function expose<T extends object>(target: T): T;
export function expose(target: unknown, context?: DecoratorContext): unknown {
  return decorate(target, context, "expose");
}

/**
 * Marks a method as oneway (and exposes it): proxies send calls to it without waiting for the
 * result, and the daemon sends no reply. The daemon honours the caller's oneway flag for any
 * method; a oneway method called normally runs and returns its result as usual.
 *
 * @example As a decorator
 * ```ts
 * import { expose, oneway } from "./expose.ts";
 *
 * @expose
 * class Logger {
 *   @oneway write(line: string): void { console.log(line); }
 * }
 * ```
 *
 * @example On a function of a plain object
 * ```ts
 * import { expose, oneway } from "./expose.ts";
 * const logger = expose({ write: oneway((line: string) => console.log(line)) });
 * ```
 */
export function oneway(target: FunctionLike, context: ClassMethodDecoratorContext): void;
/** Function form: marks a function as exposed and oneway and returns it. */
export function oneway<T extends FunctionLike>(target: T): T;
export function oneway(target: unknown, context?: DecoratorContext): unknown {
  return decorate(target, context, "oneway");
}

/**
 * Marks a method as a callback (Pyro5's `@callback`, and exposes it): when it throws, the
 * caller gets the error as usual, and the daemon serving it also raises it on its own side, as
 * Pyro5 does: it logs the error with its stack as a warning and closes that connection (the
 * caller's next call reconnects). Use it on the methods of objects a client serves for a server
 * to call back, so that their failures are not only seen by the server.
 *
 * @example
 * ```ts
 * import { callback, expose } from "./expose.ts";
 *
 * @expose
 * class Listener {
 *   @callback
 *   notify(event: string): void {
 *     if (event === "") throw new RangeError("empty event");
 *   }
 * }
 * ```
 */
export function callback(target: FunctionLike, context: ClassMethodDecoratorContext): void;
/** Function form: marks a function as exposed and a callback and returns it. */
export function callback<T extends FunctionLike>(target: T): T;
export function callback(target: unknown, context?: DecoratorContext): unknown {
  if (typeof target !== "function") throw new TypeError("Cannot mark a non-function as a callback");
  if (context !== undefined && context.kind !== "method") {
    refuseKind(context.kind, context.name, "mark as a callback");
  }
  if (context !== undefined && "static" in context && context.static) {
    refuseKind("static method", context.name, "mark as a callback");
  }
  mark(target, EXPOSED);
  mark(target, CALLBACK);
  return context === undefined ? target : undefined;
}

/**
 * Tells whether a function carries the callback mark (internal).
 *
 * @example
 * ```ts
 * import { callback, isCallbackMark } from "./expose.ts";
 * console.log(isCallbackMark(callback(() => {}))); // true
 * ```
 *
 * @param target Anything.
 * @returns True when marked by {@linkcode callback}.
 */
export function isCallbackMark(target: unknown): boolean {
  return isMarked(target, CALLBACK);
}

/**
 * Sets how a daemon makes instances of a class that is registered as a class (Pyro5's
 * `@behavior`). Works as a class decorator or called on the class.
 *
 * @example
 * ```ts
 * import { behavior, expose } from "./expose.ts";
 *
 * @expose
 * @behavior({ instanceMode: "percall" })
 * class Worker {
 *   work(): string { return "done"; }
 * }
 * ```
 *
 * @param options The instance mode and an optional creator.
 * @returns A class decorator.
 */
export function behavior<T>(
  options: BehaviorOptions<T>,
): <C extends abstract new (...args: never[]) => T>(
  target: C,
  context?: ClassDecoratorContext<C>,
) => void {
  const mode = options.instanceMode ?? "session";
  if (mode !== "single" && mode !== "session" && mode !== "percall") {
    throw new TypeError(
      `Cannot use instance mode '${String(mode)}': use single, session or percall`,
    );
  }
  if (options.instanceCreator !== undefined && typeof options.instanceCreator !== "function") {
    throw new TypeError("Cannot use an instance creator that is not a function");
  }
  const recorded: Behavior = {
    instanceMode: mode,
    instanceCreator: options.instanceCreator as ((cls: never) => unknown) | undefined,
  };
  return (target) => {
    Object.defineProperty(target, BEHAVIOR, { value: recorded, configurable: true });
  };
}

/**
 * Returns the behaviour recorded by {@linkcode behavior} for a class (session mode by default).
 *
 * @example
 * ```ts
 * import { behaviorOf } from "./expose.ts";
 * class Plain {}
 * console.log(behaviorOf(Plain).instanceMode); // "session"
 * ```
 *
 * @param cls The class.
 * @returns Its behaviour.
 */
export function behaviorOf(cls: ClassLike | FunctionLike): Behavior {
  const own = Object.hasOwn(cls, BEHAVIOR) ? (cls as Marked)[BEHAVIOR] : undefined;
  return own ?? { instanceMode: "session", instanceCreator: undefined };
}

/** Pyro5's dunder names that stay private even though they are dunders. */
const PRIVATE_DUNDERS: ReadonlySet<string> = new Set([
  "__init__",
  "__init_subclass__",
  "__class__",
  "__module__",
  "__weakref__",
  "__call__",
  "__new__",
  "__del__",
  "__repr__",
  "__str__",
  "__format__",
  "__nonzero__",
  "__bool__",
  "__coerce__",
  "__cmp__",
  "__eq__",
  "__ne__",
  "__hash__",
  "__ge__",
  "__gt__",
  "__le__",
  "__lt__",
  "__dir__",
  "__enter__",
  "__exit__",
  "__copy__",
  "__deepcopy__",
  "__sizeof__",
  "__getattr__",
  "__setattr__",
  "__hasattr__",
  "__getattribute__",
  "__delattr__",
  "__instancecheck__",
  "__subclasscheck__",
  "__getinitargs__",
  "__getnewargs__",
  "__getstate__",
  "__setstate__",
  "__reduce__",
  "__reduce_ex__",
  "__subclasshook__",
]);

/**
 * Tells whether a name is private by Pyro5's rule: it starts with `_`, unless it is a dunder
 * (longer than 4 characters, starting and ending with `__`) that is not on Pyro5's deny-list.
 *
 * @example
 * ```ts
 * import { isPrivateName } from "./expose.ts";
 * console.log(isPrivateName("_x"), isPrivateName("__len__"), isPrivateName("__init__")); // true false true
 * ```
 *
 * @param name A member name.
 * @returns True when the name can never be called remotely.
 */
export function isPrivateName(name: string): boolean {
  if (name.charCodeAt(0) !== 0x5f) return false; // every private name starts with "_"
  if (PRIVATE_DUNDERS.has(name)) return true;
  return !(name.length > 4 && name.startsWith("__") && name.endsWith("__"));
}

/**
 * Tells whether an argument is the keyword-arguments object a daemon passes to a method with
 * a rest parameter (as its last argument) or a `kwargs` parameter.
 *
 * @example A method taking keyword arguments
 * ```ts
 * import { expose, isKwargs } from "./expose.ts";
 *
 * const service = expose({
 *   // Python: def kw(a, b=2, **extra)
 *   kw(...args: unknown[]) {
 *     const kwargs = isKwargs(args.at(-1)) ? { ...(args.pop() as Record<string, unknown>) } : {};
 *     const [a = kwargs.a, b = kwargs.b ?? 2] = args;
 *     delete kwargs.a;
 *     delete kwargs.b;
 *     return { a, b, extra: kwargs };
 *   },
 * });
 * ```
 *
 * @param value An argument.
 * @returns True for a kwargs object.
 */
export function isKwargs(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.hasOwn(value, KWARGS);
}

/**
 * Makes the kwargs object a daemon passes to a method (a null-prototype copy, marked for
 * {@linkcode isKwargs}).
 *
 * @example
 * ```ts
 * import { isKwargs, makeKwargs } from "./expose.ts";
 * console.log(isKwargs(makeKwargs({ b: 3 }))); // true
 * ```
 *
 * @param map The decoded kwargs map.
 * @returns The marked object.
 */
export function makeKwargs(map: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(map)) {
    Object.defineProperty(result, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  Object.defineProperty(result, KWARGS, { value: true });
  return result;
}

/**
 * Tells whether a function, class or object carries the exposed mark (internal).
 *
 * @example
 * ```ts
 * import { expose, isExposedMark } from "./expose.ts";
 * console.log(isExposedMark(expose(() => 1))); // true
 * ```
 *
 * @param target Anything.
 * @returns True when marked by {@linkcode expose} or {@linkcode oneway}.
 */
export function isExposedMark(target: unknown): boolean {
  return isMarked(target, EXPOSED);
}

/**
 * Tells whether a function carries the oneway mark (internal).
 *
 * @example
 * ```ts
 * import { isOnewayMark, oneway } from "./expose.ts";
 * console.log(isOnewayMark(oneway(() => {}))); // true
 * ```
 *
 * @param target Anything.
 * @returns True when marked by {@linkcode oneway}.
 */
export function isOnewayMark(target: unknown): boolean {
  return isMarked(target, ONEWAY);
}
