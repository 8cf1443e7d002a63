/**
 * Payload coding at the frame boundary (internal), shared by the daemon and the proxy:
 * encoding straight into the bytes a frame is built from, and decoding that gives a large
 * received buffer back to the pool when the values made from it do not point into it.
 *
 * @example
 * ```ts
 * import { dumpsForFrame } from "./frame.ts";
 * import { encodeMessage, MessageType } from "../_wire/protocol.ts";
 * import { getSerializer } from "../serializer.ts";
 * const msgpack = getSerializer("msgpack");
 * const frame = encodeMessage({
 *   type: MessageType.RESULT,
 *   serializerId: msgpack.id,
 *   seq: 1,
 *   data: dumpsForFrame(msgpack, "hi"),
 * });
 * console.log(frame.length); // 43
 * ```
 *
 * @module
 */

import { recycleReceived } from "../_wire/buffer_pool.ts";
import { dumpsCallShared, dumpsShared, jsonSerializer } from "./json.ts";
import { dumpsCallTransient, dumpsTransient, msgpackSerializer } from "./msgpack.ts";
import type { Message } from "../_wire/protocol.ts";
import type { CallRequest, Serializer } from "./types.ts";
import { serpentSerializer } from "./serpent.ts";

/**
 * Encodes a value for a frame that is built at once: msgpack bytes come straight from the
 * writer's buffer (valid only until the next encode), other formats as `dumps` makes them.
 *
 * @example
 * ```ts
 * import { dumpsForFrame } from "./frame.ts";
 * import { getSerializer } from "../serializer.ts";
 * console.log(dumpsForFrame(getSerializer("json"), [1]).length); // 3
 * ```
 *
 * @param serializer The format.
 * @param value The value.
 * @returns The bytes, to be framed before anything else is encoded.
 */
export function dumpsForFrame(serializer: Serializer, value: unknown): Uint8Array {
  if (serializer === msgpackSerializer) return dumpsTransient(value);
  return serializer === jsonSerializer ? dumpsShared(value) : serializer.dumps(value);
}

/**
 * Encodes an INVOKE payload for a frame that is built at once (as {@linkcode dumpsForFrame}).
 *
 * @example
 * ```ts
 * import { dumpsCallForFrame } from "./frame.ts";
 * import { getSerializer } from "../serializer.ts";
 * const call = { object: "o", method: "m", params: [], kwargs: null };
 * console.log(dumpsCallForFrame(getSerializer("msgpack"), call)[0]); // 148
 * ```
 *
 * @param serializer The format.
 * @param call The call.
 * @returns The bytes, to be framed before anything else is encoded.
 */
export function dumpsCallForFrame(serializer: Serializer, call: CallRequest): Uint8Array {
  if (serializer === msgpackSerializer) return dumpsCallTransient(call);
  return serializer === jsonSerializer ? dumpsCallShared(call) : serializer.dumpsCall(call);
}

/** True for the built-in formats whose decoded values never point into the payload. */
function decodesToCopies(serializer: Serializer): boolean {
  return serializer === jsonSerializer || serializer === serpentSerializer;
}

/**
 * Decodes a received payload; a large payload buffer goes back to the pool when nothing made
 * from it can still point into it.
 *
 * @example
 * ```ts
 * import { loadsReceived } from "./frame.ts";
 * import { decodeMessage, encodeMessage, MessageType } from "../_wire/protocol.ts";
 * import { getSerializer } from "../serializer.ts";
 * const json = getSerializer("json");
 * const msg = decodeMessage(encodeMessage({
 *   type: MessageType.RESULT, serializerId: json.id, seq: 1, data: json.dumps([1, 2]),
 * }));
 * console.log(loadsReceived(json, msg)); // [ 1, 2 ]
 * ```
 *
 * @param serializer The message's format.
 * @param msg The message (its payload is not used afterwards).
 * @returns The value.
 */
export function loadsReceived(serializer: Serializer, msg: Message): unknown {
  const value = serializer.loads(msg.data);
  if (decodesToCopies(serializer)) recycleReceived(msg.data, msg.annotations);
  return value;
}

/**
 * Decodes a received INVOKE payload, as {@linkcode loadsReceived}.
 *
 * @example
 * ```ts
 * import { loadsCallReceived } from "./frame.ts";
 * import { decodeMessage, encodeMessage, MessageType } from "../_wire/protocol.ts";
 * import { getSerializer } from "../serializer.ts";
 * const json = getSerializer("json");
 * const call = { object: "o", method: "m", params: [1], kwargs: {} };
 * const msg = decodeMessage(encodeMessage({
 *   type: MessageType.INVOKE, serializerId: json.id, seq: 1, data: json.dumpsCall(call),
 * }));
 * console.log(loadsCallReceived(json, msg).method); // "m"
 * ```
 *
 * @param serializer The message's format.
 * @param msg The message (its payload is not used afterwards).
 * @returns The call.
 */
export function loadsCallReceived(serializer: Serializer, msg: Message): CallRequest {
  const call = serializer.loadsCall(msg.data);
  if (decodesToCopies(serializer)) recycleReceived(msg.data, msg.annotations);
  return call;
}
