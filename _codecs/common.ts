/**
 * Private helpers shared by the json and msgpack codecs: Python's float `repr`, dict key
 * stringification, class-instance flattening and the common error texts.
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import type { CallRequest } from "./types.ts";

/** Nesting deeper than this is refused (it is almost always a circular reference). */
export const MAX_DEPTH = 1000;

/**
 * The most containers (lists, tuples, dicts, sets) that one decoded payload may hold. Each
 * costs tens of bytes of heap and tens of nanoseconds for a byte or two of input: without a
 * bound, a 4 MB msgpack payload of empty arrays takes 4 million arrays, about 130 MB of heap
 * and a third of a second of the daemon's one thread. A million still allows a list of a
 * million small tuples or dicts.
 */
export const MAX_CONTAINERS = 1_000_000;

/** The error for a payload with more than {@linkcode MAX_CONTAINERS} containers. */
export function tooManyContainers(serializerName: string): SerializeError {
  return new SerializeError(
    `Cannot deserialize ${serializerName}: more than ${MAX_CONTAINERS} lists, tuples, dicts and sets in one payload`,
  );
}

/** The error for a value nested too deeply. */
export function tooDeep(serializerName: string): SerializeError {
  return new SerializeError(
    `Cannot serialize with ${serializerName}: value nested more than ${MAX_DEPTH} levels (circular reference?)`,
  );
}

/** The error for a value the serializer cannot carry, in Pyro5's wording. */
export function unsupported(value: unknown, serializerName: string): SerializeError {
  return new SerializeError(
    `don't know how to serialize ${describe(value)} using serializer ${serializerName}`,
  );
}

function describe(value: unknown): string {
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (typeof value === "symbol") return `symbol ${value.description ?? ""}`.trimEnd();
  if (typeof value === "object" && value !== null) {
    return `class ${(value as { constructor?: { name?: string } }).constructor?.name ?? "Object"}`;
  }
  return typeof value;
}

/** Tells whether an object is a plain record (prototype Object.prototype or null). */
export function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Formats a number the way Python's `repr(float)` does: `1.0`, `0.1`, `1e-05`, `1e+16`,
 * `-0.0`, and `NaN`, `Infinity`, `-Infinity` as json writes them.
 */
export function pythonFloat(x: number): string {
  if (x !== x) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const abs = x < 0 ? -x : x;
  if (abs >= 1e-4 && abs < 1e16) {
    // Python's repr uses fixed notation here, and so does String() with the same digits.
    const fixed = String(x);
    return fixed.includes(".") ? fixed : fixed + ".0";
  }
  const exp = x.toExponential();
  const e = exp.indexOf("e");
  const exponent = Number(exp.slice(e + 1));
  const digits = exp.slice(0, e);
  const sign = exponent < 0 ? "-" : "+";
  const absExp = exponent < 0 ? -exponent : exponent;
  return `${digits}e${sign}${absExp < 10 ? "0" : ""}${absExp}`;
}

/** Tells whether a number travels as a Python int (a safe integer other than -0). */
export function isIntNumber(x: number): boolean {
  return Number.isSafeInteger(x) && !(x === 0 && 1 / x < 0);
}

/**
 * Stringifies a `Map` key the way Python's json does for dict keys: str as is, int as digits,
 * float as repr, `true`/`false`, `null`. Other keys are refused.
 */
export function mapKeyToString(key: unknown, serializerName: string): string {
  switch (typeof key) {
    case "string":
      return key;
    case "number":
      return isIntNumber(key) ? String(key) : pythonFloat(key);
    case "bigint":
      return key.toString();
    case "boolean":
      return key ? "true" : "false";
    case "undefined":
      return "null";
    case "object":
      if (key === null) return "null";
  }
  throw new SerializeError(
    `Cannot serialize with ${serializerName}: dict keys must be str, int, float, bool or None, not ${
      typeof key === "object" ? (key as object).constructor?.name ?? "object" : typeof key
    }`,
  );
}

/** Python's `datetime.isoformat()` of a Date as an aware UTC datetime (json's form of a Date). */
export function dateToIso(date: Date, serializerName: string): string {
  const t = date.getTime();
  if (Number.isNaN(t)) {
    throw new SerializeError(`Cannot serialize with ${serializerName}: invalid Date`);
  }
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const ms = date.getUTCMilliseconds();
  const base = iso.slice(0, iso.indexOf("."));
  return `${base}${ms === 0 ? "" : "." + String(ms * 1000).padStart(6, "0")}+00:00`;
}

/** The own enumerable string-keyed properties of a class instance, as a plain record. */
export function instanceToRecord(value: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    if (k === "__proto__") {
      Object.defineProperty(out, k, {
        value: (value as Record<string, unknown>)[k],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      out[k] = (value as Record<string, unknown>)[k];
    }
  }
  return out;
}

/**
 * Checks the shape of a decoded INVOKE payload (shared with msgpack).
 *
 * @param object The object id.
 * @param method The method name.
 * @param params The positional arguments.
 * @param kwargs The keyword arguments or null.
 * @param serializerName For the error text.
 * @returns The call request.
 */
export function checkCall(
  object: unknown,
  method: unknown,
  params: unknown,
  kwargs: unknown,
  serializerName: string,
): CallRequest {
  if (typeof object !== "string" || typeof method !== "string" || !Array.isArray(params)) {
    throw new SerializeError(
      `Cannot deserialize ${serializerName} call: object and method must be strings and params a list`,
    );
  }
  if (kwargs !== null && kwargs !== undefined) {
    if (typeof kwargs !== "object" || Array.isArray(kwargs) || !isPlainObject(kwargs)) {
      throw new SerializeError(
        `Cannot deserialize ${serializerName} call: kwargs must be a map with string keys or null`,
      );
    }
    return { object, method, params, kwargs };
  }
  return { object, method, params, kwargs: null };
}
