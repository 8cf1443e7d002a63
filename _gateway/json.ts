/**
 * The gateway's JSON: how Pyro values are written to HTTP clients and how JSON request bodies
 * become call arguments. Standard JSON both ways (browsers parse it as is):
 *
 * - `bytes` travel as `{"$bytes": "<base64>"}`, both in results and in POSTed arguments;
 * - integers beyond 2^53 are written as their digits (Python's `json` does the same);
 * - `NaN` and the infinities are written as `null` (JSON has no token for them);
 * - tuples and sets are arrays, maps with other keys than strings are objects with the keys as
 *   text, dates are ISO text, complex numbers `{"__class__": "complex", "real", "imag"}`;
 * - errors are Pyro5's exception form (`__class__`, `__exception__`, `args`, `attributes`).
 *
 * @module
 */

import { URI } from "../uri.ts";
import { Complex } from "../value.ts";
import { isProxy } from "../proxy.ts";

/** The key that marks base64 `bytes` in gateway JSON. */
export const BYTES_KEY = "$bytes";

const MAX_DEPTH = 500;

function base64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function bytesOf(value: object): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return null;
}

/** Remote tracebacks and attributes of an error, in Pyro5's exception form. */
export interface ExceptionBody {
  /** Remote class name, e.g. `builtins.ValueError`. */
  __class__: string;
  /** Always true. */
  __exception__: true;
  /** The exception's arguments. */
  args: unknown[];
  /** Attributes, with `_pyroTraceback` when known. */
  attributes: Record<string, unknown>;
}

/**
 * Pyro5's exception form of an error: the remote class and traceback when the error came from
 * a remote object, the Pyro error class otherwise.
 */
export function exceptionBody(error: unknown): ExceptionBody {
  if (typeof error !== "object" || error === null || !(error instanceof Error)) {
    return {
      __class__: "builtins.Exception",
      __exception__: true,
      args: [String(error)],
      attributes: {},
    };
  }
  const e = error as Error & {
    remoteClass?: string;
    args?: unknown;
    attributes?: Record<string, unknown>;
    remoteAttributes?: Record<string, unknown>;
    remoteTraceback?: readonly string[];
  };
  const attributes: Record<string, unknown> = { ...(e.remoteAttributes ?? {}) };
  if (typeof e.remoteClass === "string") Object.assign(attributes, e.attributes ?? {});
  if (e.remoteTraceback) attributes._pyroTraceback = [...e.remoteTraceback];
  const className = typeof e.remoteClass === "string"
    ? e.remoteClass
    : isPyroName(e.name)
    ? `Pyro5.errors.${e.name}`
    : e.name === "TypeError"
    ? "builtins.TypeError"
    : e.name === "SyntaxError" || e.name === "RangeError"
    ? "builtins.ValueError"
    : "builtins.Exception";
  const args = typeof e.remoteClass === "string" && Array.isArray(e.args)
    ? [...e.args]
    : [e.message];
  return { __class__: className, __exception__: true, args, attributes };
}

const PYRO_NAMES = new Set([
  "PyroError",
  "NamingError",
  "DaemonError",
  "SecurityError",
  "CommunicationError",
  "ConnectionClosedError",
  "TimeoutError",
  "ProtocolError",
  "MessageTooLargeError",
  "SerializeError",
]);

function isPyroName(name: string): boolean {
  return PYRO_NAMES.has(name);
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function write(value: unknown, depth: number, seen: Set<object>): string {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return "null";
  }
  if (value === null) return "null";
  if (depth > MAX_DEPTH) throw new RangeError("Cannot write the result as JSON: nested too deeply");
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError("Cannot write the result as JSON: it contains a cycle");
  const bytes = bytesOf(obj);
  if (bytes !== null) return `{"${BYTES_KEY}":"${base64(bytes)}"}`;
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? "null" : quote(obj.toISOString());
  if (obj instanceof URI) return quote(obj.toString());
  if (obj instanceof Complex) {
    return `{"__class__":"complex","real":${write(obj.re, depth + 1, seen)},"imag":${
      write(obj.im, depth + 1, seen)
    }}`;
  }
  if (obj instanceof Error) return write(exceptionBody(obj), depth + 1, seen);
  if (isProxy(obj)) return quote(String(obj._pyroUri));
  seen.add(obj);
  try {
    if (Array.isArray(obj) || obj instanceof Set) {
      const items: string[] = [];
      for (const item of obj) items.push(write(item, depth + 1, seen));
      return `[${items.join(",")}]`;
    }
    const parts: string[] = [];
    if (obj instanceof Map) {
      for (const [k, v] of obj) {
        const key = typeof k === "string" ? k : k instanceof Uint8Array ? base64(k) : String(k);
        parts.push(`${quote(key)}:${write(v, depth + 1, seen)}`);
      }
    } else {
      for (const k in obj) {
        if (!Object.hasOwn(obj, k)) continue;
        parts.push(`${quote(k)}:${write((obj as Record<string, unknown>)[k], depth + 1, seen)}`);
      }
    }
    return `{${parts.join(",")}}`;
  } finally {
    seen.delete(obj);
  }
}

/**
 * Writes a Pyro value as standard JSON text (see the module doc for the mapping).
 *
 * @throws {TypeError} For cyclic data. {@linkcode RangeError} For data nested too deeply.
 */
export function toJson(value: unknown): string {
  return write(value, 0, new Set());
}

/** Turns `{"$bytes": "..."}` markers in parsed JSON back into bytes, in place where possible. */
export function reviveBytes(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH) throw new RangeError("Cannot read the request: nested too deeply");
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveBytes(value[i], depth + 1);
    return value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && keys[0] === BYTES_KEY && typeof record[BYTES_KEY] === "string") {
    try {
      return fromBase64(record[BYTES_KEY]);
    } catch {
      throw new SyntaxError(`Cannot read the request: "${BYTES_KEY}" holds invalid base64`);
    }
  }
  for (const k of keys) record[k] = reviveBytes(record[k], depth + 1);
  return record;
}
