/**
 * The json serializer (Pyro5 id 3). The writer produces the bytes Python's `json.dumps` gives
 * for the same data (separators `", "` and `": "`, insertion order, raw UTF-8, `NaN` and
 * `Infinity` tokens, big integers as digits, floats as Python's `repr`). The reader takes
 * Python's output, including the non-standard number tokens and integers beyond 2^53 (read as
 * `bigint`), and revives `__class__` maps. Bytes and complex numbers have no json form.
 *
 * @example
 * ```ts
 * import { jsonSerializer } from "./json.ts";
 *
 * const bytes = jsonSerializer.dumps({ a: [1, 2.5, NaN], big: 2n ** 64n });
 * console.log(new TextDecoder().decode(bytes));
 * // {"a": [1, 2.5, NaN], "big": 18446744073709551616}
 * ```
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import type { CallRequest, FramedSerializer } from "./types.ts";
import { AUTOPROXY, NOT_SPECIAL, replaceSpecial, reviveDict } from "../class_registry.ts";
import { Complex } from "../value.ts";
import { parseJsonSlow } from "./json_parse.ts";
import { encodeText, shortAscii } from "./utf8.ts";
import { UriPayloadCache } from "./uri_cache.ts";
import {
  type CallFields,
  FALLBACK,
  FAST_READ_MAX,
  readCallFast,
  readJsonFast,
  writeCallFast,
  writeJsonFast,
} from "./json_fast.ts";
import {
  checkCall,
  dateToIso,
  instanceToRecord,
  isIntNumber,
  isPlainObject,
  mapKeyToString,
  MAX_CONTAINERS,
  MAX_DEPTH,
  pythonFloat,
  tooDeep,
  unsupported,
} from "./common.ts";

const NAME = "json";
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Decodes far faster than the fatal one; a U+FFFD in its output sends the text to the latter. */
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
/** Characters that need an escape (or a check for lone surrogates) in a json string. */
// deno-lint-ignore no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
/** Control characters: the one part of the escape check that long strings leave to a regex. */
// deno-lint-ignore no-control-regex -- control characters are exactly what must be escaped
const CONTROL = /[\u0000-\u001f]/;
/** From this length on, a string is checked by native scans rather than by NEEDS_ESCAPE. */
const LONG_STRING = 1024;

/** Up to this length, a string is checked by a loop rather than by NEEDS_ESCAPE (no regex call). */
const SHORT_STRING = 64;

/** Whether a short string holds nothing NEEDS_ESCAPE would find. */
function isPlainShort(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** Quotes a string exactly as Python's `json.dumps(ensure_ascii=False)` does. */
function quote(s: string): string {
  if (s.length <= SHORT_STRING) return isPlainShort(s) ? '"' + s + '"' : JSON.stringify(s);
  if (s.length < LONG_STRING) return !NEEDS_ESCAPE.test(s) ? '"' + s + '"' : JSON.stringify(s);
  // Long: NEEDS_ESCAPE costs 0.7-1.9 ms per MiB of one-byte text, the scans below 0.3-0.4 ms,
  // nearly all of it the control-character class (measured with `deno run` loops).
  const plain = s.indexOf('"') < 0 && s.indexOf("\\") < 0 && s.isWellFormed() && !CONTROL.test(s);
  return plain ? '"' + s + '"' : JSON.stringify(s);
}

function writeNumber(x: number): string {
  return isIntNumber(x) ? String(x) : pythonFloat(x);
}

function writeValue(value: unknown, depth: number): string {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      return writeNumber(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "undefined":
      return "null";
    case "object":
      if (value === null) return "null";
      if (depth > MAX_DEPTH) throw tooDeep(NAME);
      return writeObject(value, depth + 1);
    default:
      throw unsupported(value, NAME);
  }
}

function writeArray(items: ArrayLike<unknown>, depth: number): string {
  const n = items.length;
  if (n === 0) return "[]";
  let out = "[" + writeValue(items[0], depth);
  for (let i = 1; i < n; i++) out += ", " + writeValue(items[i], depth);
  return out + "]";
}

function writeRecord(record: Record<string, unknown>, depth: number): string {
  let out = "";
  for (const k in record) {
    if (!Object.hasOwn(record, k)) continue;
    out += (out === "" ? "{" : ", ") + quote(k) + ": " + writeValue(record[k], depth);
  }
  return out === "" ? "{}" : out + "}";
}

function writeMap(map: Map<unknown, unknown>, depth: number): string {
  let out = "";
  for (const [k, v] of map) {
    out += (out === "" ? "{" : ", ") + JSON.stringify(mapKeyToString(k, NAME)) + ": " +
      writeValue(v, depth);
  }
  return out === "" ? "{}" : out + "}";
}

function writeObject(value: object, depth: number): string {
  if (Array.isArray(value)) return writeArray(value, depth);
  if (isPlainObject(value) && !(AUTOPROXY in value)) {
    return writeRecord(value, depth);
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) throw unsupported(value, NAME);
  const replacement = replaceSpecial(value, NAME);
  if (replacement !== NOT_SPECIAL) return writeValue(replacement, depth);
  if (value instanceof Set) return writeArray([...value], depth);
  if (value instanceof Map) return writeMap(value, depth);
  if (value instanceof Date) return JSON.stringify(dateToIso(value, NAME));
  if (value instanceof Complex) throw unsupported(value, NAME);
  return writeRecord(instanceToRecord(value), depth);
}

function revive(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, "__proto__")) {
    throw new SerializeError("Cannot deserialize json: the key __proto__ is not allowed");
  }
  for (const k in record) record[k] = revive(record[k]);
  return typeof record.__class__ === "string" ? reviveDict(record) : record;
}

/**
 * True when a parsed value holds an integer that `JSON.parse` may have rounded: one beyond
 * 2^53, which Python's integers are not limited to. (Floats that large give false alarms, which
 * only cost a second, exact parse.)
 */
function mayHaveRounded(value: unknown): boolean {
  if (typeof value !== "object" || value === null) {
    return typeof value === "number" && isRounded(value);
  }
  const pending: object[] = [];
  let node: object | undefined = value;
  do {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === "object") {
          if (v !== null) pending.push(v);
        } else if (typeof v === "number" && isRounded(v)) return true;
      }
    } else {
      const record = node as Record<string, unknown>;
      for (const k in record) {
        const v = record[k];
        if (typeof v === "object") {
          if (v !== null) pending.push(v);
        } else if (typeof v === "number" && isRounded(v)) return true;
      }
    }
    node = pending.pop();
  } while (node !== undefined);
  return false;
}

function isRounded(x: number): boolean {
  // JSON.parse reads an int of more than 308 digits as Infinity (it never sees NaN or Infinity
  // tokens: those go to the exact reader).
  return (Number.isInteger(x) && !Number.isSafeInteger(x)) || x === Infinity || x === -Infinity;
}

/** Deepest nesting accepted (as the exact reader's limit). */
const MAX_NESTING = 5000;

/** The longest run of digits accepted in a number (as serpent's longest number literal). */
const MAX_DIGITS = 10_000;

/**
 * What makes a text too costly to parse, or null: brackets outside strings nested deeper than
 * `MAX_NESTING`, more than `MAX_CONTAINERS` lists and dicts, or a number of more than
 * `MAX_DIGITS` digits. `JSON.parse` has no limits of its own: it builds every level of
 * `[[[[...` before it fails (a megabyte of brackets cost 270 ms), every one of a million empty
 * lists, and reads a 4 MB number (Python refuses ints over 4300 digits). Strings are skipped
 * with `indexOf`, so long texts cost little.
 */
function tooCostly(text: string): string | null {
  let depth = 0;
  let containers = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > MAX_DIGITS) return `a number of more than ${MAX_DIGITS} digits`;
      continue;
    }
    digits = 0;
    if (c === 0x22) {
      for (;;) {
        const q = text.indexOf('"', i + 1);
        if (q < 0) return null;
        let slashes = 0;
        while (text.charCodeAt(q - 1 - slashes) === 0x5c) slashes++;
        i = q;
        if (slashes % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_NESTING) return `nesting deeper than ${MAX_NESTING} levels`;
      if (++containers > MAX_CONTAINERS) {
        return `more than ${MAX_CONTAINERS} lists, tuples, dicts and sets in one payload`;
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return null;
}

function parseText(text: string): unknown {
  const costly = text.length > MAX_NESTING ? tooCostly(text) : null;
  if (costly !== null) throw new SerializeError(`Cannot deserialize json: ${costly}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // Python writes non-finite floats as bare NaN and Infinity tokens, which JSON.parse refuses.
    if (text.includes("NaN") || text.includes("Infinity")) return parseJsonSlow(text, reviveDict);
    throw new SerializeError(`Cannot deserialize json: ${(e as Error).message}`, { cause: e });
  }
  // Scanning the text for long digit runs instead costs about 1 ms per MiB (a regex).
  if (mayHaveRounded(value)) return parseJsonSlow(text, reviveDict);
  // A key spelled with \u escapes may still read __class__ or __proto__ once parsed.
  const walk = text.includes("__class__") || text.includes("__proto__") || text.includes("\\u");
  return walk ? revive(value) : value;
}

/** Whole-payload URIs (Name Server lookup replies), see uri_cache.ts. */
const uris = new UriPayloadCache('{"__class__": "Pyro5.core.URI", "state": [');

function loads(data: Uint8Array): unknown {
  return uris.loads(data, decode);
}

function decode(data: Uint8Array): unknown {
  if (data.length <= FAST_READ_MAX) {
    let value: unknown;
    try {
      value = readJsonFast(data);
    } catch (e) {
      // A revived class's hook failed: as the general path reports it.
      if (e instanceof SerializeError) throw e;
      throw new SerializeError(`Cannot deserialize json: ${String(e)}`, { cause: e });
    }
    if (value !== FALLBACK) return value;
  }
  let text = shortAscii(data);
  if (text === null) {
    try {
      text = lenientDecoder.decode(data);
      if (text.includes("\uFFFD")) text = decoder.decode(data); // throws for invalid UTF-8
    } catch (e) {
      throw new SerializeError("Cannot deserialize json: invalid UTF-8", { cause: e });
    }
  }
  try {
    return parseText(text);
  } catch (e) {
    if (e instanceof SerializeError) throw e;
    throw new SerializeError(`Cannot deserialize json: ${String(e)}`, { cause: e });
  }
}

function dumps(value: unknown): Uint8Array {
  return dumpsWith(value, false);
}

/**
 * `dumpsFramed`: small outputs are views into the fast writer's buffer (valid until the next
 * encode) or a shared slab (no buffer of their own).
 */
function dumpsFramed(value: unknown): Uint8Array {
  return writeJsonFast(value) ?? dumpsWith(value, true);
}

function dumpsWith(value: unknown, framed: boolean): Uint8Array {
  try {
    return encodeText(writeValue(value, 0), framed);
  } catch (e) {
    if (e instanceof SerializeError) throw e;
    throw new SerializeError(`Cannot serialize with json: ${String(e)}`, { cause: e });
  }
}

function dumpsCall(call: CallRequest): Uint8Array {
  return dumpsCallWith(call, false);
}

/** `dumpsCallFramed`, as {@linkcode dumpsFramed}. */
function dumpsCallFramed(call: CallRequest): Uint8Array {
  return writeCallFast(call.object, call.method, call.params, call.kwargs) ??
    dumpsCallWith(call, true);
}

function dumpsCallWith(call: CallRequest, framed: boolean): Uint8Array {
  try {
    const text = `{"object": ${quote(call.object)}, "method": ${quote(call.method)}, "params": ${
      writeArray(call.params, 1)
    }, "kwargs": ${
      call.kwargs === null || call.kwargs === undefined ? "null" : writeRecord(call.kwargs, 1)
    }}`;
    return encodeText(text, framed);
  } catch (e) {
    if (e instanceof SerializeError) throw e;
    throw new SerializeError(`Cannot serialize with json: ${String(e)}`, { cause: e });
  }
}

function loadsCall(data: Uint8Array): CallRequest {
  if (data.length <= FAST_READ_MAX) {
    let fields: CallFields | typeof FALLBACK;
    try {
      fields = readCallFast(data);
    } catch (e) {
      // A revived class's hook failed: as the general path reports it.
      if (e instanceof SerializeError) throw e;
      throw new SerializeError(`Cannot deserialize json: ${String(e)}`, { cause: e });
    }
    if (fields !== FALLBACK) {
      const { object, method, params, kwargs } = fields;
      if (
        typeof object === "string" && typeof method === "string" && Array.isArray(params) &&
        (kwargs === null ||
          (typeof kwargs === "object" && !Array.isArray(kwargs) && isPlainObject(kwargs)))
      ) {
        return fields as CallRequest; // the fields are the call, checked as checkCall does
      }
      return checkCall(object, method, params, kwargs, NAME);
    }
  }
  const value = decode(data);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SerializeError("Cannot deserialize json call: payload is not an object");
  }
  const v = value as Record<string, unknown>;
  if (!Object.hasOwn(v, "kwargs")) {
    throw new SerializeError("Cannot deserialize json call: the key 'kwargs' is missing");
  }
  return checkCall(v.object, v.method, v.params, v.kwargs, NAME);
}

/**
 * The json serializer (id 3), one of the three built-in codecs of the registry.
 *
 * @example
 * ```ts
 * import { jsonSerializer } from "./json.ts";
 * const call = jsonSerializer.loadsCall(
 *   new TextEncoder().encode('{"object": "thing", "method": "echo", "params": [NaN], "kwargs": null}'),
 * );
 * console.log(call.params); // [ NaN ]
 * ```
 */
export const jsonSerializer: FramedSerializer = Object.freeze({
  id: 3,
  name: NAME,
  dumps,
  loads,
  dumpsCall,
  loadsCall,
  dumpsFramed,
  dumpsCallFramed,
  decodesToCopies: true,
});
