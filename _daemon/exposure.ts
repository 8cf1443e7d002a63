/**
 * Exposure tables: what a daemon may reach on a served object or class, computed once from
 * the marks that expose.ts puts on classes and functions. A daemon looks names up only in these
 * tables, never with `object[name]`.
 *
 * @module
 */

import { isExposedMark, isOnewayMark, isPrivateName } from "../expose.ts";
import { declaredParams, type Params, paramsOf } from "./params.ts";

/** A remote attribute: an exposed accessor. */
export interface ExposedAttribute {
  /** The getter, if exposed. */
  readonly get: ((this: unknown) => unknown) | undefined;
  /** The setter, if exposed. */
  readonly set: ((this: unknown, value: unknown) => unknown) | undefined;
}

/** The exposure table of a served object or class: the only way a daemon reaches members. */
export interface ExposedMembers {
  /** The class name, for error messages. */
  readonly className: string;
  /** Exposed methods by name. */
  readonly methods: ReadonlyMap<string, (...args: unknown[]) => unknown>;
  /** Names of oneway methods. */
  readonly oneway: ReadonlySet<string>;
  /** Exposed accessors by name. */
  readonly attrs: ReadonlyMap<string, ExposedAttribute>;
  /** Public names that exist but are not exposed. */
  readonly unexposed: ReadonlySet<string>;
  /** Each method's parameters, for keyword arguments (read once, when the table is made). */
  readonly params: ReadonlyMap<string, Params>;
  /** The declared (exact) signatures, checked on every call; null when none were declared. */
  readonly declared: ReadonlyMap<string, Params> | null;
}

/**
 * A method may carry, under this symbol, the function that a daemon calls in its place for
 * remote calls (same parameters): the Name Server's methods answer with a promise when called
 * in-process, and with a plain value, when they have one at once, on the wire.
 */
export const REMOTE_CALL: unique symbol = Symbol("pyro.remoteCall");

/** Explicit exposure lists, e.g. from `Daemon.register` options. */
export interface ExposeLists {
  /** Method or accessor names to expose. */
  expose?: readonly string[];
  /** Method names to expose as oneway. */
  oneway?: readonly string[];
  /** Parameter names by method, for keyword arguments (see `declaredParams` in params.ts). */
  params?: Readonly<Record<string, readonly string[]>>;
}

/** Pyro5's metadata map (section 3.3 of the protocol reference). */
export interface Metadata {
  /** Exposed method names. */
  methods: string[];
  /** Oneway method names (a subset of methods). */
  oneway: string[];
  /** Exposed attribute (accessor) names. */
  attrs: string[];
}

/**
 * Pyro5's metadata map as it travels: sets of names, as Pyro5 sends them (serpent writes set
 * literals, json and msgpack lists).
 */
export interface WireMetadata {
  /** Exposed method names. */
  methods: Set<string>;
  /** Oneway method names. */
  oneway: Set<string>;
  /** Exposed attribute names. */
  attrs: Set<string>;
}

/**
 * The metadata of an exposure table as it travels (sets, as Pyro5 sends them).
 *
 * @param table The exposure table.
 * @returns The metadata with sets of names.
 */
export function wireMetadataOf(table: ExposedMembers): WireMetadata {
  let meta = wireMetadataCache.get(table);
  if (meta === undefined) {
    meta = {
      methods: new Set(table.methods.keys()),
      oneway: new Set(table.oneway),
      attrs: new Set(table.attrs.keys()),
    };
    wireMetadataCache.set(table, meta);
  }
  return meta;
}

/** The wire metadata of each table, made once (tables do not change; nobody alters it). */
const wireMetadataCache = new WeakMap<ExposedMembers, WireMetadata>();

function isNativeConstructor(ctor: unknown): boolean {
  if (typeof ctor !== "function") return false;
  try {
    return /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(ctor));
  } catch {
    return true;
  }
}

interface Builder {
  methods: Map<string, (...args: unknown[]) => unknown>;
  oneway: Set<string>;
  attrs: Map<string, ExposedAttribute>;
  unexposed: Set<string>;
  seen: Set<string>;
}

function scan(
  holder: object,
  wholeExposed: boolean,
  explicit: ReadonlySet<string>,
  explicitOneway: ReadonlySet<string>,
  b: Builder,
): void {
  for (const name of Object.getOwnPropertyNames(holder)) {
    if (name === "constructor" || b.seen.has(name)) continue;
    b.seen.add(name);
    if (isPrivateName(name)) continue;
    const d = Object.getOwnPropertyDescriptor(holder, name);
    if (d === undefined) continue;
    const listed = explicit.has(name) || explicitOneway.has(name);
    if (typeof d.value === "function") {
      const fn = d.value as (...args: unknown[]) => unknown;
      if (wholeExposed || listed || isExposedMark(fn)) {
        b.methods.set(name, fn);
        if (explicitOneway.has(name) || isOnewayMark(fn)) b.oneway.add(name);
      } else {
        b.unexposed.add(name);
      }
    } else if (d.get !== undefined || d.set !== undefined) {
      const exposedGet = d.get !== undefined &&
        (wholeExposed || listed || isExposedMark(d.get));
      const exposedSet = d.set !== undefined &&
        (wholeExposed || listed || isExposedMark(d.set));
      if (exposedGet || exposedSet) {
        b.attrs.set(name, {
          get: exposedGet ? d.get as (this: unknown) => unknown : undefined,
          set: exposedSet ? d.set as (this: unknown, value: unknown) => unknown : undefined,
        });
      } else {
        b.unexposed.add(name);
      }
    } else {
      b.unexposed.add(name);
    }
  }
}

const tableCache = new WeakMap<object, ExposedMembers>();

/**
 * Computes the exposure table of an object or a class: what a daemon may call. Class
 * instances are described by their prototype chain (up to the first built-in prototype);
 * plain objects (prototype `Object.prototype` or null) by their own properties.
 *
 * @example
 * ```ts
 * import { expose } from "../expose.ts";
 * import { exposedMembers, metadataOf } from "./exposure.ts";
 * const table = exposedMembers(expose({ ping: () => "pong" }));
 * console.log(metadataOf(table)); // { methods: ["ping"], oneway: [], attrs: [] }
 * ```
 *
 * @param target A served object, or a class registered for instance modes.
 * @param lists Extra names to expose.
 * @returns The table.
 */
export function exposedMembers(target: object, lists?: ExposeLists): ExposedMembers {
  const explicit = new Set(lists?.expose ?? []);
  const explicitOneway = new Set(lists?.oneway ?? []);
  for (const name of [...explicit, ...explicitOneway]) {
    if (isPrivateName(name) || name === "constructor" || name.includes(".")) {
      throw new TypeError(`Cannot expose '${name}': the name is private or invalid`);
    }
  }
  const hasLists = explicit.size > 0 || explicitOneway.size > 0 || lists?.params !== undefined;
  const isClass = typeof target === "function";
  const start: object | null = isClass
    ? (target as { prototype?: unknown }).prototype as object | null ?? null
    : Object.getPrototypeOf(target);
  const plain = !isClass && (start === Object.prototype || start === null);
  const cacheKey = plain ? target : start;
  if (!hasLists && cacheKey !== null && tableCache.has(cacheKey)) return tableCache.get(cacheKey)!;
  const b: Builder = {
    methods: new Map(),
    oneway: new Set(),
    attrs: new Map(),
    unexposed: new Set(),
    seen: new Set(),
  };
  let className = "object";
  if (plain) {
    scan(target, isExposedMark(target), explicit, explicitOneway, b);
  } else {
    let classExposed = false;
    let proto = start;
    let first = true;
    while (proto !== null && proto !== Object.prototype && proto !== Function.prototype) {
      const ctor = Object.hasOwn(proto, "constructor")
        ? (proto as { constructor: unknown }).constructor
        : undefined;
      if (isNativeConstructor(ctor)) break;
      if (first) {
        className = typeof ctor === "function" && ctor.name ? ctor.name : "object";
        first = false;
      }
      if (isExposedMark(ctor)) classExposed = true;
      scan(proto, classExposed, explicit, explicitOneway, b);
      proto = Object.getPrototypeOf(proto);
    }
  }
  for (const name of [...explicit, ...explicitOneway]) {
    if (!b.methods.has(name) && !b.attrs.has(name)) {
      throw new TypeError(`Cannot expose '${name}': no such method or accessor`);
    }
    if (explicitOneway.has(name) && !b.methods.has(name)) {
      throw new TypeError(`Cannot mark '${name}' as oneway: it is not a method`);
    }
  }
  const params = new Map<string, Params>();
  for (const [name, fn] of b.methods) {
    params.set(name, paramsOf(fn));
    const remote = (fn as { [REMOTE_CALL]?: (...args: unknown[]) => unknown })[REMOTE_CALL];
    if (typeof remote === "function") b.methods.set(name, remote);
  }
  const declared = lists?.params === undefined ? null : new Map<string, Params>();
  for (const [name, names] of Object.entries(lists?.params ?? {})) {
    if (!b.methods.has(name)) {
      throw new TypeError(
        `Cannot declare the parameters of '${name}': it is not an exposed method`,
      );
    }
    const signature = declaredParams(names);
    params.set(name, signature);
    if (signature.exact) declared!.set(name, signature);
  }
  const table: ExposedMembers = { className, ...b, params, declared };
  if (!hasLists && cacheKey !== null) tableCache.set(cacheKey, table);
  return table;
}

/**
 * Forgets the cached exposure table of an object's class (or of a plain object), so that the
 * next {@linkcode exposedMembers} call reads the members again.
 *
 * @param target A served object, or a registered class.
 */
export function forgetExposedMembers(target: object): void {
  const isClass = typeof target === "function";
  const start: object | null = isClass
    ? (target as { prototype?: unknown }).prototype as object | null ?? null
    : Object.getPrototypeOf(target);
  const plain = !isClass && (start === Object.prototype || start === null);
  const key = plain ? target : start;
  if (key !== null) tableCache.delete(key);
}

/**
 * Returns Pyro5's metadata map for an exposure table.
 *
 * @example
 * ```ts
 * import { expose } from "../expose.ts";
 * import { exposedMembers, metadataOf } from "./exposure.ts";
 * console.log(metadataOf(exposedMembers(expose({ a() {} }))).methods); // ["a"]
 * ```
 *
 * @param table The exposure table.
 * @returns The metadata.
 */
export function metadataOf(table: ExposedMembers): Metadata {
  return {
    methods: [...table.methods.keys()],
    oneway: [...table.oneway],
    attrs: [...table.attrs.keys()],
  };
}

/** Makes an error that travels as Python's `builtins.AttributeError`. */
function attributeError(message: string): Error {
  const error = new Error(message);
  error.name = "AttributeError";
  return error;
}

/**
 * Finds an exposed method by name, or throws Pyro5's `AttributeError` texts.
 *
 * @example
 * ```ts
 * import { expose } from "../expose.ts";
 * import { exposedMembers, lookupMethod } from "./exposure.ts";
 * const table = exposedMembers(expose({ hi: () => "hi" }));
 * console.log(lookupMethod(table, "hi")()); // "hi"
 * ```
 *
 * @param table The exposure table.
 * @param name The requested name.
 * @returns The method (call it with the instance as `this`).
 */
export function lookupMethod(table: ExposedMembers, name: string): (...args: unknown[]) => unknown {
  if (isPrivateName(name)) throw attributeError(`attempt to access private attribute '${name}'`);
  const fn = table.methods.get(name);
  if (fn !== undefined) return fn;
  if (table.unexposed.has(name) || table.attrs.has(name) || name === "constructor") {
    throw attributeError(`attempt to access unexposed attribute '${name}'`);
  }
  throw attributeError(`'${table.className}' object has no attribute '${name}'`);
}

function lookupAttribute(table: ExposedMembers, name: string): ExposedAttribute {
  const attr = typeof name === "string" && !isPrivateName(name) ? table.attrs.get(name) : undefined;
  if (attr === undefined) {
    if (typeof name === "string" && (table.methods.has(name) || table.unexposed.has(name))) {
      throw attributeError(`attempt to access unexposed or unknown remote attribute '${name}'`);
    }
    throw attributeError(`type object '${table.className}' has no attribute '${String(name)}'`);
  }
  return attr;
}

/**
 * Reads an exposed attribute (Pyro5's remote `__getattr__`).
 *
 * @example
 * ```ts
 * import { expose } from "../expose.ts";
 * import { exposedMembers, getExposedAttribute } from "./exposure.ts";
 * const obj = expose({ get answer() { return 42; } });
 * console.log(getExposedAttribute(exposedMembers(obj), obj, "answer")); // 42
 * ```
 *
 * @param table The exposure table.
 * @param instance The object to read from.
 * @param name The attribute name.
 * @returns The value.
 */
export function getExposedAttribute(
  table: ExposedMembers,
  instance: object,
  name: string,
): unknown {
  const attr = lookupAttribute(table, name);
  if (attr.get === undefined) {
    throw attributeError(`attempt to access unexposed or unknown remote attribute '${name}'`);
  }
  return attr.get.call(instance);
}

/**
 * Writes an exposed attribute (Pyro5's remote `__setattr__`).
 *
 * @example
 * ```ts
 * import { expose } from "../expose.ts";
 * import { exposedMembers, setExposedAttribute } from "./exposure.ts";
 * let stored = 0;
 * const obj = expose({ get v() { return stored; }, set v(x: number) { stored = x; } });
 * setExposedAttribute(exposedMembers(obj), obj, "v", 5);
 * console.log(stored); // 5
 * ```
 *
 * @param table The exposure table.
 * @param instance The object to write to.
 * @param name The attribute name.
 * @param value The new value.
 * @returns What the setter returned (normally undefined).
 */
export function setExposedAttribute(
  table: ExposedMembers,
  instance: object,
  name: string,
  value: unknown,
): unknown {
  const attr = lookupAttribute(table, name);
  if (attr.set === undefined) {
    throw attributeError(`attempt to access unexposed or unknown remote attribute '${name}'`);
  }
  return attr.set.call(instance, value);
}
