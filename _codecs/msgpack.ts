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
import type { CallRequest, FramedSerializer } from "./types.ts";
import { decodeMsgpack, decodeMsgpackCall } from "./msgpack_decode.ts";
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

/** `dumpsFramed`: small outputs are views into the writer's buffer, valid until its next use. */
function dumpsFramed(value: unknown): Uint8Array {
  try {
    return writerFor().encode(value, true);
  } catch (e) {
    throw encodeFailed(e);
  }
}

/** `dumpsCallFramed`, as {@linkcode dumpsFramed}. */
function dumpsCallFramed(call: CallRequest): Uint8Array {
  try {
    return writerFor().encodeCall(call.object, call.method, call.params, call.kwargs ?? null, true);
  } catch (e) {
    throw encodeFailed(e);
  }
}

function loadsCall(data: Uint8Array): CallRequest {
  try {
    return decodeMsgpackCall(data);
  } catch (e) {
    if (e instanceof SerializeError) throw e;
    throw new SerializeError(`Cannot deserialize msgpack: ${String(e)}`, { cause: e });
  }
}

/**
 * The msgpack serializer (id 4), one of the three built-in codecs of the registry. Its values may
 * hold views into the payload (bin values), so `decodesToCopies` is false.
 *
 * @example
 * ```ts
 * import { msgpackSerializer } from "./msgpack.ts";
 * const v = msgpackSerializer.loads(msgpackSerializer.dumps({ n: 2n ** 64n, b: new Uint8Array([1]) }));
 * console.log(v); // { n: 18446744073709551616n, b: Uint8Array(1) [ 1 ] }
 * ```
 */
export const msgpackSerializer: FramedSerializer = Object.freeze({
  id: 4,
  name: NAME,
  dumps,
  loads,
  dumpsCall,
  loadsCall,
  dumpsFramed,
  dumpsCallFramed,
  decodesToCopies: false,
});
