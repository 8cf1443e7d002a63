/**
 * Wire helpers of the proxy: annotations and correlation ids in their wire form,
 * and the CONNECT / CONNECTOK / CONNECTFAIL exchange. Internal to the proxy.
 *
 * @example
 * ```ts
 * import { toCorrelationId } from "./handshake.ts";
 * const id = toCorrelationId("11112222-3333-4444-5555-666677778888");
 * console.log(id?.length, id?.[0]); // 16 17
 * ```
 *
 * @module
 */

import { decodeMarshalString } from "../_wire/marshal.ts";
import { CommunicationError, ProtocolError } from "../errors.ts";
import {
  correlationIdFromString,
  DEFAULT_MAX_MESSAGE_SIZE,
  encodeMessage,
  type EncodeOptions,
  Flags,
  HEADER_SIZE,
  type Message,
  MessageType,
  randomCorrelationId,
} from "../_wire/protocol.ts";
import { allocBytes } from "../_wire/slab.ts";
import { sameBytes } from "../_wire/bytes.ts";
import type { AnnotationsInit, CorrelationIdInit } from "./options.ts";
import { getSerializer, type Serializer } from "../serializer.ts";

const utf8 = new TextEncoder();

/**
 * Converts annotations to the wire form (strings as UTF-8).
 *
 * @example
 * ```ts
 * import { toAnnotations } from "./handshake.ts";
 * console.log(toAnnotations({ XREQ: "hi" })?.get("XREQ")); // Uint8Array [104, 105]
 * ```
 *
 * @param init The annotations, or undefined.
 * @returns The map, or null for undefined.
 * @throws {TypeError} For an id that does not have 4 characters.
 */
export function toAnnotations(init: AnnotationsInit | undefined): Map<string, Uint8Array> | null {
  if (init === undefined) return null;
  const out = new Map<string, Uint8Array>();
  const entries = init instanceof Map
    ? init.entries()
    : Object.entries(init as Record<string, Uint8Array | string>);
  for (const [id, value] of entries) {
    if (typeof id !== "string" || id.length !== 4) {
      throw new TypeError(`Cannot send annotation '${String(id)}': ids have 4 characters`);
    }
    out.set(id, typeof value === "string" ? utf8.encode(value) : value);
  }
  return out;
}

/** Converts a correlation id option to its 16 bytes, or null for none. */
export function toCorrelationId(init: CorrelationIdInit | undefined): Uint8Array | null {
  if (init === undefined || init === null) return null;
  if (init === true) return randomCorrelationId();
  if (typeof init === "string") return correlationIdFromString(init);
  if (init.length !== 16) throw new TypeError("Cannot use correlation id: it must have 16 bytes");
  return init;
}

/** True for a plain map (not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads a decoded list or set of names. */
export function stringList(value: unknown): string[] {
  if (value instanceof Set) return [...value].map(String);
  return Array.isArray(value) ? value.map(String) : [];
}

/**
 * CONNECT frames of new proxies with the default handshake (seq 0, no correlation id, no
 * annotations, built-in serializers), by `object@location`: the same bytes for every such
 * connection, written as they are. Bounded; the oldest goes first.
 */
const helloFrames = new Map<
  string,
  { serializerId: number; compress: boolean; frame: Uint8Array }
>();
const HELLO_FRAMES_MAX = 256;
const CACHED_SERIALIZERS = new Set([1, 3, 4]); // serpent, json, msgpack

/** The CONNECT frame of a request. */
function connectFrame(request: HandshakeRequest): Uint8Array {
  const { serializer, correlationId, annotations, encodeOptions, key } = request;
  const compress = encodeOptions.compress === true;
  const plain = key !== undefined && request.seq === 0 && correlationId === null &&
    (annotations === null || annotations.size === 0) && request.handshake === "hello" &&
    CACHED_SERIALIZERS.has(serializer.id);
  if (plain) {
    const known = helloFrames.get(key);
    const max = encodeOptions.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    if (
      known !== undefined && known.serializerId === serializer.id &&
      known.compress === compress && known.frame.length - HEADER_SIZE <= max
    ) {
      return known.frame;
    }
  }
  const frame = encodeMessage({
    type: MessageType.CONNECT,
    serializerId: serializer.id,
    seq: request.seq,
    flags: correlationId ? Flags.CORR_ID : 0,
    correlationId,
    annotations: annotations ?? undefined,
    data: serializer.dumps({ handshake: request.handshake, object: request.objectId }),
  }, encodeOptions);
  if (plain) {
    helloFrames.delete(key);
    helloFrames.set(key, { serializerId: serializer.id, compress, frame });
    if (helloFrames.size > HELLO_FRAMES_MAX) helloFrames.delete(helloFrames.keys().next().value!);
  }
  return frame;
}

/**
 * The latest CONNECTOK payload by serializer and `object@location`, decoded: a daemon sends
 * the same bytes to every connection for an object, which are then not decoded again (nor is
 * the metadata map rebuilt). Only for a handshake response that is not an object, which every
 * proxy must get as its own. Bounded; the oldest goes first.
 */
const okReplies = new Map<
  string,
  { serializerId: number; data: Uint8Array; handshake: unknown; meta: unknown }
>();
const OK_REPLIES_MAX = 256;

/** What the CONNECT message carries. */
export interface HandshakeRequest {
  /** The proxy's serializer. */
  serializer: Serializer;
  /** The proxy's current sequence number (not incremented for CONNECT). */
  seq: number;
  /** The correlation id, if any. */
  correlationId: Uint8Array | null;
  /** Request annotations, if any. */
  annotations: Map<string, Uint8Array> | null;
  /** The handshake data. */
  handshake: unknown;
  /** The object id to connect to. */
  objectId: string;
  /** The daemon's location, for messages. */
  location: string;
  /**
   * `object@location`, under which CONNECT frames and CONNECTOK replies are kept for the next
   * proxy (see `connectFrame` and `okReplies`); none are kept without it.
   */
  key?: string;
  /** Compression and size limit. */
  encodeOptions: EncodeOptions;
  /** A frame (the first call's INVOKE) written together with CONNECT, in one write. */
  then?: Uint8Array;
  /** The bytes to write, when made beforehand by {@linkcode handshakeBytes}. */
  bytes?: Uint8Array;
}

/** What CONNECTOK brought. */
export interface HandshakeReply {
  /** The daemon's handshake reply. */
  handshake: unknown;
  /** The metadata map, or null/empty (then ask `Pyro.Daemon.get_metadata`). */
  meta: unknown;
  /** The reply's annotations. */
  annotations: ReadonlyMap<string, Uint8Array>;
}

/**
 * The bytes that open a handshake: the CONNECT frame, and the `then` frame after it.
 *
 * @example
 * ```ts
 * import { getSerializer } from "../serializer.ts";
 * import { handshakeBytes } from "./handshake.ts";
 * const bytes = handshakeBytes({
 *   serializer: getSerializer("json"), seq: 0, correlationId: null, annotations: null,
 *   handshake: "hello", objectId: "echo", location: "127.0.0.1:9999", encodeOptions: {},
 * });
 * console.log(bytes[6]); // 1 (CONNECT)
 * ```
 *
 * @param request What to send.
 * @returns The bytes, for one write.
 */
export function handshakeBytes(request: HandshakeRequest): Uint8Array {
  const connect = connectFrame(request);
  const then = request.then;
  if (then === undefined) return connect;
  // One write for both frames, in a slab (the joined bytes are written and dropped).
  const out = allocBytes(connect.length + then.length);
  out.set(connect);
  out.set(then, connect.length);
  return out;
}

/**
 * Reads the daemon's answer to CONNECT (the first message of the connection).
 *
 * @example Connecting to a daemon
 * ```ts
 * import { Daemon } from "../daemon.ts";
 * import { expose } from "../expose.ts";
 * import { MessageConnection } from "../_wire/connection.ts";
 * import { getSerializer } from "../serializer.ts";
 * import { handshakeBytes, handshakeReply, type HandshakeRequest } from "./handshake.ts";
 * import { Link } from "./link.ts";
 *
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * daemon.register(expose({ echo: (x: unknown) => x }), "echo");
 * const { port } = daemon.addr as Deno.NetAddr;
 * const conn = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port }));
 * const request: HandshakeRequest = {
 *   serializer: getSerializer("json"), seq: 0, correlationId: null, annotations: null,
 *   handshake: "hello", objectId: "echo", location: daemon.locationStr, encodeOptions: {},
 * };
 * const link = new Link(conn, 3, daemon.locationStr, "echo");
 * const reply = handshakeReply(await link.open(handshakeBytes(request)), request);
 * console.log(reply.meta); // { methods: ["echo"], oneway: [], attrs: [] }
 * link.fail(new Error("done"));
 * await link.done;
 * ```
 *
 * @param msg The first message the daemon sent.
 * @param request What was sent.
 * @returns The CONNECTOK contents.
 * @throws {CommunicationError} "connection to <location> rejected: <reason>" for CONNECTFAIL.
 * @throws {ProtocolError} For another message type or a malformed reply.
 */
export function handshakeReply(msg: Message, request: HandshakeRequest): HandshakeReply {
  const location = request.location;
  if (msg.type === MessageType.CONNECTFAIL) {
    const reason = msg.serializerId === 2
      ? decodeMarshalString(msg.data)
      : String(getSerializer(msg.serializerId).loads(msg.data));
    throw new CommunicationError(`connection to ${location} rejected: ${reason}`);
  }
  if (msg.type !== MessageType.CONNECTOK) {
    throw new ProtocolError(`cannot connect to ${location}: invalid msg type ${msg.type} received`);
  }
  const key = request.key;
  const known = key === undefined ? undefined : okReplies.get(key);
  if (
    known !== undefined && known.serializerId === msg.serializerId &&
    sameBytes(known.data, msg.data)
  ) {
    return { handshake: known.handshake, meta: known.meta, annotations: msg.annotations };
  }
  const reply = getSerializer(msg.serializerId).loads(msg.data);
  if (!isRecord(reply) || !("handshake" in reply) || !("meta" in reply)) {
    throw new ProtocolError(`cannot connect to ${location}: invalid handshake reply`);
  }
  const response = reply.handshake;
  if (key !== undefined && (typeof response !== "object" || response === null)) {
    // A copy in a slab: the message is a view into the connection's read buffer.
    const data = allocBytes(msg.data.length);
    data.set(msg.data);
    okReplies.delete(key);
    okReplies.set(key, {
      serializerId: msg.serializerId,
      data,
      handshake: response,
      meta: reply.meta,
    });
    if (okReplies.size > OK_REPLIES_MAX) okReplies.delete(okReplies.keys().next().value!);
  }
  return { handshake: response, meta: reply.meta, annotations: msg.annotations };
}
