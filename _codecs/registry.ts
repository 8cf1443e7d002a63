/**
 * The registry of serializers by Pyro5 id and name. The three built-in codecs are entered
 * here explicitly, so no module registers anything as a side effect of being imported.
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import { jsonSerializer } from "./json.ts";
import { msgpackSerializer } from "./msgpack.ts";
import { serpentSerializer } from "./serpent.ts";
import type { Serializer } from "./types.ts";

const BUILT_IN: readonly Serializer[] = [serpentSerializer, jsonSerializer, msgpackSerializer];
const byId = new Map<number, Serializer>(BUILT_IN.map((s) => [s.id, s]));
const byName = new Map<string, Serializer>(BUILT_IN.map((s) => [s.name, s]));
/** The same by header byte, as a list (one indexed read per received message). */
const byHeaderByte: (Serializer | undefined)[] = new Array(256).fill(undefined);
for (const s of BUILT_IN) byHeaderByte[s.id] = s;

function key(idOrName: number | string): Serializer | undefined {
  return typeof idOrName === "number" ? byId.get(idOrName) : byName.get(idOrName);
}

/**
 * Adds a serializer (or replaces the one with the same id and name).
 *
 * @example
 * ```ts
 * import { getSerializer, registerSerializer } from "../serializer.ts";
 * registerSerializer(getSerializer("json")); // re-registering is harmless
 * ```
 *
 * @param serializer The serializer.
 */
export function registerSerializer(serializer: Serializer): void {
  byId.set(serializer.id, serializer);
  byName.set(serializer.name, serializer);
  const id = serializer.id;
  if (Number.isInteger(id) && id >= 0 && id < 256) byHeaderByte[id] = serializer;
}

/**
 * Finds a serializer by the id byte of a received header (internal: the daemon's look-up per
 * request).
 *
 * @example
 * ```ts
 * import { serializerForByte } from "./registry.ts";
 * console.log(serializerForByte(4)?.name, serializerForByte(9)); // "msgpack" undefined
 * ```
 *
 * @param id The header's serializer byte (0 to 255).
 * @returns The serializer, or undefined when none has that id.
 */
export function serializerForByte(id: number): Serializer | undefined {
  return byHeaderByte[id & 0xff];
}

/**
 * Finds a serializer by Pyro5 id or name.
 *
 * @example
 * ```ts
 * import { getSerializer } from "../serializer.ts";
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
 * import { hasSerializer } from "../serializer.ts";
 * console.log(hasSerializer(3), hasSerializer(2)); // true false
 * ```
 *
 * @param idOrName The id (header byte) or name.
 * @returns True when registered.
 */
export function hasSerializer(idOrName: number | string): boolean {
  return key(idOrName) !== undefined;
}
