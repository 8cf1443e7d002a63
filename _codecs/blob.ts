/**
 * The wire side of serialized blobs (flag 0x20, KEEPSERIALIZED): the `BLBI` annotation, which
 * is Python `marshal.dumps((info, object_id, method))`, and the INVOKE payload of a blob of local
 * data (the call with the blob's data in the parameters' place, as Pyro5 writes it).
 *
 * @example Reading the routing annotation back
 * ```ts
 * import { blobInfoAnnotation, readBlobInfo } from "./blob.ts";
 * const bytes = blobInfoAnnotation("job-1", "worker", "work");
 * console.log(readBlobInfo(bytes)); // { info: "job-1", object: "worker", method: "work" }
 * ```
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import type { Serializer } from "./types.ts";
import { tuple } from "../value.ts";
import { marshalDumps, marshalLoads } from "./marshal.ts";

/** The annotation id that carries a blob's info and routing. */
export const BLOB_ANNOTATION = "BLBI";

/** What the `BLBI` annotation says. */
export interface BlobInfo {
  /** The blob's info. */
  info: unknown;
  /** The object id the call goes to. */
  object: string;
  /** The method name. */
  method: string;
}

/**
 * Encodes the `BLBI` annotation.
 *
 * @param info The blob's info.
 * @param object The target object id.
 * @param method The method name.
 * @returns The annotation bytes.
 */
export function blobInfoAnnotation(info: unknown, object: string, method: string): Uint8Array {
  return marshalDumps(tuple(info, object, method));
}

/**
 * Decodes the `BLBI` annotation.
 *
 * @param bytes The annotation bytes.
 * @returns The info and routing.
 * @throws {SerializeError} For a malformed annotation.
 */
export function readBlobInfo(bytes: Uint8Array): BlobInfo {
  const value = marshalLoads(bytes);
  if (
    !Array.isArray(value) || value.length !== 3 || typeof value[1] !== "string" ||
    typeof value[2] !== "string"
  ) {
    throw new SerializeError("Cannot read the BLBI annotation: expected (info, object, method)");
  }
  return { info: value[0], object: value[1], method: value[2] };
}

/**
 * The INVOKE payload for a blob of local data: Pyro5's call with the data where the
 * parameters go (`(object, method, data, {})`; json: `{"object", "method", "params", "kwargs"}`).
 *
 * @param serializer The call's serializer.
 * @param object The target object id.
 * @param method The method name.
 * @param data The blob's data.
 * @returns The payload bytes.
 */
export function blobCallPayload(
  serializer: Serializer,
  object: string,
  method: string,
  data: unknown,
): Uint8Array {
  if (Array.isArray(data)) {
    return serializer.dumpsCall({ object, method, params: data, kwargs: {} });
  }
  if (serializer.name === "json") {
    return serializer.dumps({ object, method, params: data, kwargs: {} });
  }
  return serializer.dumps(tuple(object, method, data, {}));
}
