/**
 * Payload coding at the frame boundary (internal), shared by the daemon and the proxy. It asks
 * the `Serializer` interface for its fast paths: `dumpsFramed`/`dumpsCallFramed` to encode
 * straight into the bytes a frame is built from, and `decodesToCopies` to give a large received
 * buffer back to the pool once decoded. A serializer without them gets `dumps`/`dumpsCall`
 * and keeps its buffers.
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
import type { Message } from "../_wire/protocol.ts";
import type { CallRequest, Serializer } from "./types.ts";

/**
 * Encodes a value for a frame that is built at once: with the serializer's `dumpsFramed` when
 * it has one (the bytes may be valid only until its next encode), else with `dumps`.
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
  return serializer.dumpsFramed !== undefined
    ? serializer.dumpsFramed(value)
    : serializer.dumps(value);
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
  if (serializer.dumpsCallFramed !== undefined) return serializer.dumpsCallFramed(call);
  // A serializer of the user's sees exactly the four fields of a call request, never the
  // proxy's own bookkeeping that travels on the same object (target, flags, options).
  const { object, method, params, kwargs } = call;
  return serializer.dumpsCall({ object, method, params, kwargs });
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
  if (serializer.decodesToCopies === true) recycleReceived(msg.data, msg.annotations);
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
  if (serializer.decodesToCopies === true) recycleReceived(msg.data, msg.annotations);
  return call;
}
