/**
 * The msgpack serializer (Pyro5 id 4). Output matches Python's `msgpack.packb(use_bin_type=True)`
 * with Pyro5's hooks byte for byte (smallest ints, float64 for every float, bin for bytes,
 * ext 0x30 complex, 0x31 big int, 0x32 datetime). Input is read by our own one-pass decoder:
 * int64/uint64 within ±(2^53−1) become numbers and beyond become `bigint`; ext 0x30–0x33 and
 * the standard timestamp (−1) are understood; maps with non-string keys become `Map`s; maps
 * with a string `__class__` are revived.
 *
 * @example
 * ```ts
 * import { msgpackSerializer } from "./msgpack.ts";
 *
 * const bytes = msgpackSerializer.dumpsCall({ object: "thing", method: "echo", params: ["hi"], kwargs: {} });
 * console.log(Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""));
 * // 94a57468696e67a46563686f91a2686980
 * ```
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import type { CallRequest, Serializer } from "./types.ts";

export type { CallRequest, Serializer };
import { checkCall } from "./common.ts";
import { decodeMsgpack } from "./msgpack_decode.ts";
import { MsgpackWriter } from "./msgpack_encode.ts";

const NAME = "msgpack";

function loads(data: Uint8Array): unknown {
  try {
    return decodeMsgpack(data);
  } catch (e) {
    if (e instanceof SerializeError) throw e;
    throw new SerializeError(`Cannot deserialize msgpack: ${String(e)}`, { cause: e });
  }
}

const writer = new MsgpackWriter();

function writerFor(): MsgpackWriter {
  return writer.busy ? new MsgpackWriter() : writer;
}

function encodeFailed(e: unknown): SerializeError {
  if (e instanceof SerializeError) return e;
  return new SerializeError(`Cannot serialize with msgpack: ${String(e)}`, { cause: e });
}

function dumps(value: unknown): Uint8Array {
  try {
    return writerFor().encode(value);
  } catch (e) {
    throw encodeFailed(e);
  }
}

function dumpsCall(call: CallRequest): Uint8Array {
  try {
    return writerFor().encodeCall(call.object, call.method, call.params, call.kwargs ?? null);
  } catch (e) {
    throw encodeFailed(e);
  }
}

/**
 * Encodes a value into a transient view, valid only until the next msgpack encode: for bytes
 * that are copied into a frame at once (internal; saves one copy per message).
 *
 * @example
 * ```ts
 * import { dumpsTransient } from "./msgpack.ts";
 * console.log(dumpsTransient("hi")); // Uint8Array(3) [ 162, 104, 105 ]
 * ```
 *
 * @param value The value.
 * @returns The bytes, to be used before the next encode.
 */
export function dumpsTransient(value: unknown): Uint8Array {
  try {
    return writerFor().encode(value, true);
  } catch (e) {
    throw encodeFailed(e);
  }
}

/**
 * Encodes an INVOKE payload into a transient view, as {@linkcode dumpsTransient} (internal).
 *
 * @example
 * ```ts
 * import { dumpsCallTransient } from "./msgpack.ts";
 * console.log(dumpsCallTransient({ object: "o", method: "m", params: [], kwargs: null })[0]); // 148
 * ```
 *
 * @param call The call.
 * @returns The bytes, to be used before the next encode.
 */
export function dumpsCallTransient(call: CallRequest): Uint8Array {
  try {
    return writerFor().encodeCall(call.object, call.method, call.params, call.kwargs ?? null, true);
  } catch (e) {
    throw encodeFailed(e);
  }
}

function loadsCall(data: Uint8Array): CallRequest {
  const value = loads(data);
  if (!Array.isArray(value) || value.length !== 4) {
    throw new SerializeError("Cannot deserialize msgpack call: payload is not an array of 4");
  }
  return checkCall(value[0], value[1], value[2], value[3], NAME);
}

/**
 * The msgpack serializer (id 4), registered by serializer.ts.
 *
 * @example
 * ```ts
 * import { msgpackSerializer } from "./msgpack.ts";
 * const v = msgpackSerializer.loads(msgpackSerializer.dumps({ n: 2n ** 64n, b: new Uint8Array([1]) }));
 * console.log(v); // { n: 18446744073709551616n, b: Uint8Array(1) [ 1 ] }
 * ```
 */
export const msgpackSerializer: Serializer = Object.freeze({
  id: 4,
  name: NAME,
  dumps,
  loads,
  dumpsCall,
  loadsCall,
});
