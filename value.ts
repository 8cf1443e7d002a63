/**
 * The value model shared by every Pyro serializer: which TypeScript values travel as which
 * Python values, plus the two helper types Python has and JavaScript lacks
 * ({@linkcode tuple} and {@linkcode Complex}).
 *
 * ## Sending: TypeScript → Python
 *
 * | TypeScript | Python receives |
 * |---|---|
 * | `null`, `undefined` | `None` |
 * | `boolean` | `bool` |
 * | `string` | `str` |
 * | `number` that is a safe integer | `int` |
 * | any other `number` (`0.5`, `-0`, `NaN`, `±Infinity`, `2**60`) | `float` (json writes `NaN`, `Infinity`) |
 * | `bigint` of any size | `int` (msgpack: int64/uint64, beyond that ext 0x31) |
 * | `Uint8Array`, other typed arrays, `DataView`, `ArrayBuffer` | `bytes` (json: `SerializeError`, as in Pyro5) |
 * | `Array`, {@linkcode tuple} | `list` (serpent: `list`, `tuple`) |
 * | `Set` | `list` (serpent: `set`) |
 * | `Map` | `dict` (json, msgpack: non-string keys written as text: `1`, `1.5`, `true`, `null`) |
 * | plain object | `dict` (insertion order) |
 * | {@linkcode Complex} | `complex` (msgpack ext 0x30; json: `SerializeError`) |
 * | `Date` | msgpack: naive `datetime` (ext 0x32); json: ISO text `2020-01-02T03:04:05.123000+00:00` |
 * | `URI` (uri.ts) | `Pyro5.core.URI` |
 * | `Error` | an exception map (errors.ts `errorToDict`): Pyro errors, builtins, others as `builtins.RuntimeError` |
 * | `ExceptionWrapper` (class_registry.ts) | `Pyro5.core._ExceptionWrapper` |
 * | an object with an `AUTOPROXY` method (a daemon-registered object) | `Pyro5.client.Proxy` |
 * | an instance of a class with a `registerClassToDict` hook | the hook's map with its `__class__` |
 * | any other class instance | `dict` of its own enumerable properties |
 * | `function`, `symbol`, circular data | `SerializeError` |
 *
 * ## Receiving: Python → TypeScript
 *
 * | Python | TypeScript |
 * |---|---|
 * | `None` | `null` |
 * | `int` within ±(2^53−1) | `number` |
 * | `int` beyond ±(2^53−1) | `bigint` |
 * | `float` | `number` (`1.0` arrives as `1`) |
 * | `str` | `string` |
 * | `bytes` (msgpack) | `Uint8Array` |
 * | `list`, `tuple`, `set` | `Array` (serpent: tuples are marked with {@linkcode TUPLE}, sets are `Set`) |
 * | `dict` with string keys | plain object |
 * | `dict` with other keys (msgpack) | `Map` |
 * | `complex` (msgpack) | {@linkcode Complex} |
 * | `datetime` (msgpack ext 0x32), `date` (ext 0x33), `msgpack.Timestamp` (ext −1) | `Date` (a `date` at midnight UTC) |
 * | `datetime`, `date`, `UUID`, `Decimal` (json) | `string` |
 * | `Pyro5.core.URI` | `URI` |
 * | an exception | `Error`: the Pyro error class for `Pyro5.errors.*`, otherwise `RemoteError` |
 * | `Pyro5.core._ExceptionWrapper` | `ExceptionWrapper` |
 * | `Pyro5.client.Proxy` | a proxy (proxy.ts registers the hook) |
 * | a map with another `__class__` | a `registerDictToClass` hook's result, else the plain record |
 *
 * A `__proto__` key anywhere in received data, malformed data and unknown msgpack ext codes give
 * `SerializeError`.
 *
 * ## What is lossy
 *
 * - JavaScript has one number type: a whole Python `float` (`1.0`) arrives as `1` and goes back
 *   as `int`. Send floats only when the type does not matter, or agree on a convention.
 * - `-0` is sent as the float `-0.0`; `2**60` (a `number` but not a safe integer) is sent as a float.
 * - Python tuples arrive as arrays (serpent tuples are marked with {@linkcode TUPLE}), sets sent
 *   over json or msgpack arrive in Python as lists, `Map` keys become strings over json and msgpack.
 * - Dates: msgpack sends a naive `datetime` (seconds since the epoch, read by Python as local time)
 *   with millisecond precision; json and serpent send ISO text, which Python keeps as a `str`.
 *   Python's `date` arrives as a `Date` at midnight UTC.
 * - Plain objects keep insertion order except that JavaScript lists integer-like keys ("1", "2")
 *   first.
 * - Class instances lose their class unless both sides register hooks.
 *
 * @example Marking a tuple and a complex number
 * ```ts
 * import { Complex, isTuple, tuple } from "./value.ts";
 *
 * const point = tuple(1, 2);
 * console.log(isTuple(point), Array.isArray(point)); // true true
 * const z = new Complex(1, -2);
 * console.log(z.toString()); // (1-2j)
 * ```
 *
 * @module
 */

/**
 * The non-enumerable symbol that marks an array as a Python tuple.
 *
 * @example
 * ```ts
 * import { TUPLE, tuple } from "./value.ts";
 * console.log(tuple("a")[TUPLE]); // true
 * ```
 */
export const TUPLE: unique symbol = Symbol.for("pyro.tuple");

/**
 * An array marked as a Python tuple.
 *
 * @example
 * ```ts
 * import { type Tuple, tuple } from "./value.ts";
 * const t: Tuple<number> = tuple(1, 2, 3);
 * console.log(t.length); // 3
 * ```
 */
export type Tuple<T = unknown> = T[] & { readonly [TUPLE]: true };

/**
 * Makes an array that serializers write as a Python tuple (serpent) or a list (json, msgpack).
 *
 * @example
 * ```ts
 * import { tuple } from "./value.ts";
 * const t = tuple("thing", 42);
 * console.log(t); // [ "thing", 42 ]
 * ```
 *
 * @param items The tuple's elements.
 * @returns A new array, marked with {@linkcode TUPLE}.
 */
export function tuple<T extends unknown[]>(...items: T): Tuple<T[number]> {
  return markTuple(items);
}

/**
 * Marks an existing array as a tuple, in place, and returns it.
 *
 * @example
 * ```ts
 * import { isTuple, markTuple } from "./value.ts";
 * const a = markTuple([1, 2]);
 * console.log(isTuple(a)); // true
 * ```
 *
 * @param items The array to mark.
 * @returns The same array, typed as a tuple.
 */
export function markTuple<T>(items: T[]): Tuple<T> {
  Object.defineProperty(items, TUPLE, { value: true, enumerable: false });
  return items as Tuple<T>;
}

/**
 * Tells whether a value is an array marked as a tuple.
 *
 * @example
 * ```ts
 * import { isTuple, tuple } from "./value.ts";
 * console.log(isTuple(tuple()), isTuple([])); // true false
 * ```
 *
 * @param value Any value.
 * @returns True for a marked array.
 */
export function isTuple(value: unknown): value is Tuple {
  return Array.isArray(value) && (value as Partial<Tuple>)[TUPLE] === true;
}

/**
 * A complex number, Python's `complex`.
 *
 * @example
 * ```ts
 * import { Complex } from "./value.ts";
 * const z = new Complex(1.5, 2);
 * console.log(z.re, z.im, z.equals(new Complex(1.5, 2))); // 1.5 2 true
 * ```
 */
export class Complex {
  /** The real part. */
  readonly re: number;
  /** The imaginary part. */
  readonly im: number;

  /**
   * Makes a complex number.
   *
   * @param re The real part.
   * @param im The imaginary part.
   */
  constructor(re: number, im = 0) {
    this.re = re;
    this.im = im;
  }

  /**
   * Compares with another complex number (NaN parts are equal to NaN parts).
   *
   * @param other The other number.
   * @returns True when both parts are the same.
   */
  equals(other: Complex): boolean {
    return Object.is(this.re, other.re) && Object.is(this.im, other.im);
  }

  /**
   * Python's `repr` form, e.g. `(1-2j)` or `2j`.
   *
   * @returns The text.
   */
  toString(): string {
    const part = (x: number) =>
      Number.isNaN(x) ? "nan" : x === Infinity ? "inf" : x === -Infinity ? "-inf" : String(x);
    if (this.re === 0 && !Object.is(this.re, -0)) return `${part(this.im)}j`;
    const im = part(this.im);
    const sign = im.startsWith("-") ? "" : "+";
    return `(${part(this.re)}${sign}${im}j)`;
  }
}

/**
 * A value that every serializer can carry, recursively. Codecs accept `unknown` and also take
 * URIs, errors, `ExceptionWrapper`, autoproxied objects and instances of classes with hooks;
 * this type names the plain data part of the model.
 *
 * @example
 * ```ts
 * import type { Value } from "./value.ts";
 * const v: Value = { name: "thing", sizes: [1, 2n, 3.5], raw: new Uint8Array([1]), when: null };
 * console.log(Object.keys(v as object).length); // 4
 * ```
 */
export type Value =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Date
  | Complex
  | Value[]
  | Set<Value>
  | Map<Value, Value>
  | { [key: string]: Value };
