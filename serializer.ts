/**
 * The serializer interface and the registry of serializers by Pyro5 id and name.
 *
 * Importing this module registers json (id 3) and msgpack (id 4); serpent (id 1) registers
 * itself from serpent.ts, which this module imports, so all three are always available. Every codec follows the value model
 * described in value.ts and throws `SerializeError` for values it cannot carry and for bad
 * input.
 *
 * @example Encoding a call and reading it back
 * ```ts
 * import { getSerializer } from "./serializer.ts";
 *
 * const json = getSerializer("json");
 * const bytes = json.dumpsCall({ object: "thing", method: "echo", params: ["hi"], kwargs: {} });
 * console.log(new TextDecoder().decode(bytes));
 * // {"object": "thing", "method": "echo", "params": ["hi"], "kwargs": {}}
 * console.log(json.loadsCall(bytes).method); // echo
 * ```
 *
 * @module
 */

import { SerializeError } from "./errors.ts";
import { byId, byName } from "./_codecs/registry.ts";
import { jsonSerializer } from "./_codecs/json.ts";
import { msgpackSerializer } from "./_codecs/msgpack.ts";
import "./_codecs/serpent.ts"; // registers serpent (id 1) itself

/**
 * The content of an INVOKE message: which object, which method, positional and keyword arguments.
 *
 * @example
 * ```ts
 * import type { CallRequest } from "./serializer.ts";
 * const call: CallRequest = { object: "thing", method: "echo", params: [1], kwargs: null };
 * console.log(call.method); // echo
 * ```
 */
export interface CallRequest {
  /** The object id, e.g. `thing` or `Pyro.NameServer`. */
  object: string;
  /** The method name, or `__getattr__`, `__setattr__`, `<batch>`. */
  method: string;
  /** Positional arguments. */
  params: unknown[];
  /** Keyword arguments; null for attribute access and batch calls (as Python sends them). */
  kwargs: Record<string, unknown> | null;
}

/**
 * A Pyro serializer: one wire format for values and call requests.
 *
 * @example Looking one up by id
 * ```ts
 * import { getSerializer, type Serializer } from "./serializer.ts";
 * const s: Serializer = getSerializer(4);
 * console.log(s.name, s.loads(s.dumps([1, "two"]))); // msgpack [ 1, "two" ]
 * ```
 */
export interface Serializer {
  /** The Pyro5 serializer id (header byte 0x07): 1 serpent, 3 json, 4 msgpack. */
  readonly id: number;
  /** The Pyro5 name: `serpent`, `json` or `msgpack`. */
  readonly name: string;
  /**
   * Encodes one value (CONNECT, CONNECTOK, CONNECTFAIL and RESULT payloads).
   *
   * @throws {SerializeError} For a value the format cannot carry.
   */
  dumps(value: unknown): Uint8Array;
  /**
   * Decodes one value, reviving URIs, exceptions and registered classes.
   *
   * @throws {SerializeError} For malformed data.
   */
  loads(data: Uint8Array): unknown;
  /** Encodes an INVOKE payload in this format's call form. */
  dumpsCall(call: CallRequest): Uint8Array;
  /**
   * Decodes an INVOKE payload.
   *
   * @throws {SerializeError} For malformed data or a payload of the wrong shape.
   */
  loadsCall(data: Uint8Array): CallRequest;
}

function key(idOrName: number | string): Serializer | undefined {
  return typeof idOrName === "number" ? byId.get(idOrName) : byName.get(idOrName);
}

/**
 * Adds a serializer (or replaces the one with the same id and name).
 *
 * @example
 * ```ts
 * import { getSerializer, registerSerializer } from "./serializer.ts";
 * registerSerializer(getSerializer("json")); // re-registering is harmless
 * ```
 *
 * @param serializer The serializer.
 */
export function registerSerializer(serializer: Serializer): void {
  byId.set(serializer.id, serializer);
  byName.set(serializer.name, serializer);
}

/**
 * Finds a serializer by Pyro5 id or name.
 *
 * @example
 * ```ts
 * import { getSerializer } from "./serializer.ts";
 * console.log(getSerializer("msgpack").id); // 4
 * ```
 *
 * @param idOrName The id (header byte) or name.
 * @returns The serializer.
 * @throws {SerializeError} When none is registered under that id or name.
 */
export function getSerializer(idOrName: number | string): Serializer {
  const serializer = key(idOrName);
  if (serializer === undefined) {
    throw new SerializeError(
      typeof idOrName === "number"
        ? `unknown serializer id: ${idOrName}`
        : `unknown serializer: '${idOrName}'`,
    );
  }
  return serializer;
}

/**
 * Tells whether a serializer is registered under an id or name.
 *
 * @example
 * ```ts
 * import { hasSerializer } from "./serializer.ts";
 * console.log(hasSerializer(3), hasSerializer(2)); // true false
 * ```
 *
 * @param idOrName The id (header byte) or name.
 * @returns True when registered.
 */
export function hasSerializer(idOrName: number | string): boolean {
  return key(idOrName) !== undefined;
}

registerSerializer(jsonSerializer);
registerSerializer(msgpackSerializer);
