/**
 * {@linkcode SerializedBlob}: Pyro5's way to pass call data through an intermediate daemon
 * without decoding it (message flag 0x20, KEEPSERIALIZED). A client wraps the data in a blob and
 * passes the blob as the only argument of a call; the daemon hands the method a blob holding
 * the still-serialized message, which the method can forward, as it is, with another proxy call,
 * or decode with {@linkcode SerializedBlob.deserialized}. Works both ways with Python's
 * `Pyro5.api.SerializedBlob`.
 *
 * @example A dispatcher that forwards without decoding
 * ```ts
 * import { createProxy, Daemon, expose, SerializedBlob } from "./mod.ts";
 *
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const worker = daemon.register(expose({
 *   work: (blob: SerializedBlob) => [blob.info, blob.deserialized()],
 * }));
 * const dispatcher = daemon.register(expose({
 *   async dispatch(blob: SerializedBlob) {
 *     await using w = createProxy<{ work(b: SerializedBlob): unknown }>(worker);
 *     return await w.work(blob); // the payload travels on undecoded
 *   },
 * }));
 * await using d = createProxy<{ dispatch(b: SerializedBlob): unknown }>(dispatcher);
 * console.log(await d.dispatch(new SerializedBlob("job-1", { n: 42 }))); // [ "job-1", { n: 42 } ]
 * ```
 *
 * @module
 */

import { getSerializer } from "./serializer.ts";
import { SerializeError } from "./errors.ts";

/** A serialized call message held by a blob: its serializer id and payload bytes. */
export interface SerializedMessage {
  /** The serializer id of the payload. */
  readonly serializerId: number;
  /** The INVOKE payload, as it came in. */
  readonly data: Uint8Array;
}

/** The messages held by received blobs. */
const held = new WeakMap<SerializedBlob, SerializedMessage>();

/**
 * Data that stays serialized on its way through intermediate daemons (Pyro5's
 * `SerializedBlob`). Pass it as the only argument of a call.
 *
 * @example Making a blob and reading it back
 * ```ts
 * import { SerializedBlob } from "./serialized_blob.ts";
 * const blob = new SerializedBlob("info", ["any", "data"]);
 * console.log(blob.info, blob.deserialized()); // info [ "any", "data" ]
 * ```
 */
export class SerializedBlob {
  /** Small descriptive data about the blob (an id or a name); it must be marshallable. */
  readonly info: unknown;
  readonly #data: unknown;

  /**
   * Wraps data in a blob.
   *
   * @param info Descriptive data: a string, number, tuple, ... (Python `marshal` must hold it).
   * @param data The payload: anything the call's serializer can carry.
   */
  constructor(info: unknown, data: unknown) {
    this.info = info;
    this.#data = data;
  }

  /** True when the blob holds a received, still-serialized message (not local data). */
  get containsBlob(): boolean {
    return held.has(this);
  }

  /**
   * The payload, decoded now if it is still serialized.
   *
   * @returns The data the blob was made with.
   * @throws {SerializeError} When the held message cannot be decoded.
   */
  deserialized(): unknown {
    const message = held.get(this);
    if (message === undefined) return this.#data;
    const value = getSerializer(message.serializerId).loads(message.data);
    if (Array.isArray(value) && value.length === 4) return value[2]; // serpent, msgpack
    if (typeof value === "object" && value !== null && "params" in value) {
      return (value as { params: unknown }).params; // json
    }
    throw new SerializeError("Cannot deserialize the blob: not a call message");
  }

  /** The local payload (not serialized yet); undefined for a held message. */
  get data(): unknown {
    return this.#data;
  }
}

/**
 * Makes a blob that holds a received message (internal: the daemon does this for calls with
 * the KEEPSERIALIZED flag).
 *
 * @example
 * ```ts
 * import { heldMessage, receivedBlob } from "./serialized_blob.ts";
 * const blob = receivedBlob("info", { serializerId: 3, data: new TextEncoder().encode('{"params": [1]}') });
 * console.log(blob.containsBlob, heldMessage(blob)?.serializerId, blob.deserialized()); // true 3 [ 1 ]
 * ```
 *
 * @param info The blob's info.
 * @param message The received message.
 * @returns The blob.
 */
export function receivedBlob(info: unknown, message: SerializedMessage): SerializedBlob {
  const blob = new SerializedBlob(info, undefined);
  held.set(blob, { serializerId: message.serializerId, data: message.data });
  return blob;
}

/**
 * The message a blob holds, or null for a blob of local data (internal).
 *
 * @example
 * ```ts
 * import { heldMessage, SerializedBlob } from "./serialized_blob.ts";
 * console.log(heldMessage(new SerializedBlob("i", 1))); // null
 * ```
 *
 * @param blob The blob.
 * @returns The held message.
 */
export function heldMessage(blob: SerializedBlob): SerializedMessage | null {
  return held.get(blob) ?? null;
}
