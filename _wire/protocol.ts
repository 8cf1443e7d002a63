/**
 * Pyro5 wire framing (protocol version 502): the 40-byte header, annotation chunks, zlib
 * compression of the payload, and correlation ids.
 *
 * Every Pyro message is `[40-byte header][annotation chunks][payload]`, with big-endian
 * integers. {@linkcode encodeMessage} builds one frame in a single buffer and
 * {@linkcode decodeMessage} parses a whole frame. Errors use Python Pyro5's texts, such as
 * `"invalid data"` or `"message too large (X, max=Y)"`.
 *
 * @example Encoding and decoding a frame
 * ```ts
 * import { decodeMessage, encodeMessage, MessageType } from "./protocol.ts";
 *
 * const frame = encodeMessage({
 *   type: MessageType.PING,
 *   serializerId: 42,
 *   seq: 999,
 *   data: new TextEncoder().encode("ping"),
 * });
 * const msg = decodeMessage(frame);
 * console.log(msg.type === MessageType.PING, msg.seq); // true 999
 * ```
 *
 * @module
 */

import { deflateSync } from "node:zlib";
import { MessageTooLargeError, ProtocolError } from "../errors.ts";
import { allocBytes } from "./slab.ts";
import { inflatePayloadSync } from "./inflate.ts";
import {
  RANDOM_CORRELATION_ID,
  randomCorrelationIdShared,
  writeRandomCorrelationId,
} from "./correlation_id.ts";

export {
  correlationIdFromString,
  correlationIdToString,
  randomCorrelationId,
} from "./correlation_id.ts";

/**
 * The Pyro5 wire protocol version (502).
 *
 * @example
 * ```ts
 * import { PROTOCOL_VERSION } from "./protocol.ts";
 * console.log(PROTOCOL_VERSION); // 502
 * ```
 */
export const PROTOCOL_VERSION = 502;

/**
 * The size of a message header in bytes (40).
 *
 * @example
 * ```ts
 * import { HEADER_SIZE } from "./protocol.ts";
 * console.log(HEADER_SIZE); // 40
 * ```
 */
export const HEADER_SIZE = 40;

/**
 * The magic number in the last two header bytes (0x4dc5).
 *
 * @example
 * ```ts
 * import { MAGIC } from "./protocol.ts";
 * console.log(MAGIC.toString(16)); // "4dc5"
 * ```
 */
export const MAGIC = 0x4dc5;

/**
 * The default maximum of annotations plus payload bytes in one message (1 GiB, Pyro5's
 * `MAX_MESSAGE_SIZE`).
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_MESSAGE_SIZE } from "./protocol.ts";
 * console.log(DEFAULT_MAX_MESSAGE_SIZE); // 1073741824
 * ```
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 1073741824;

/**
 * Most annotation chunks in one message. Pyro uses a handful; 100,000 empty chunks (800 KB)
 * took 350 ms to read into a map, so a message with more is refused.
 */
const MAX_ANNOTATIONS = 1000;

/** Payloads longer than this many bytes are compressed when compression is on. */
const COMPRESSION_THRESHOLD = 100;

/**
 * The object id of every daemon's built-in object (`ping`, `get_metadata`, item streams).
 *
 * @example
 * ```ts
 * import { DAEMON_NAME } from "./protocol.ts";
 * console.log(`PYRO:${DAEMON_NAME}@127.0.0.1:9090`); // PYRO:Pyro.Daemon@127.0.0.1:9090
 * ```
 */
export const DAEMON_NAME = "Pyro.Daemon";

/**
 * The object id, and the table entry, of the name server itself.
 *
 * @example
 * ```ts
 * import { NAMESERVER_NAME } from "./protocol.ts";
 * console.log(`PYRO:${NAMESERVER_NAME}@127.0.0.1:9090`); // PYRO:Pyro.NameServer@127.0.0.1:9090
 * ```
 */
export const NAMESERVER_NAME = "Pyro.NameServer";

/**
 * The message types (header byte 0x06).
 *
 * @example
 * ```ts
 * import { MessageType } from "./protocol.ts";
 * console.log(MessageType.INVOKE); // 4
 * ```
 */
export const MessageType = {
  /** Client to daemon, the first message on every connection. */
  CONNECT: 1,
  /** Daemon to client: the handshake was accepted. */
  CONNECTOK: 2,
  /** Daemon to client: the handshake was refused; the daemon closes the connection. */
  CONNECTFAIL: 3,
  /** Client to daemon: a method call. */
  INVOKE: 4,
  /** Daemon to client: the result of a call. */
  RESULT: 5,
  /** Either way: a ping; the answer carries the raw payload `pong`. */
  PING: 6,
} as const;

/**
 * The message flags (header u16 at 0x08).
 *
 * @example
 * ```ts
 * import { Flags } from "./protocol.ts";
 * const flags = Flags.EXCEPTION | Flags.CORR_ID;
 * console.log((flags & Flags.EXCEPTION) !== 0); // true
 * ```
 */
export const Flags = {
  /** The RESULT payload is a serialized exception. */
  EXCEPTION: 0x01,
  /** The payload is a zlib stream. */
  COMPRESSED: 0x02,
  /** INVOKE: the client wants no RESULT. */
  ONEWAY: 0x04,
  /** The payload is a batch of calls or the list of batch results. */
  BATCH: 0x08,
  /** RESULT: the call produced an item stream, whose id is in annotation `STRM`. */
  ITEMSTREAMRESULT: 0x10,
  /** INVOKE: serialized-blob pass-through; object and method are in annotation `BLBI`. */
  KEEPSERIALIZED: 0x20,
  /** Header bytes 0x14 to 0x23 carry a correlation id. */
  CORR_ID: 0x40,
} as const;

const TYPE_NAMES: readonly string[] = [
  "",
  "CONNECT",
  "CONNECTOK",
  "CONNECTFAIL",
  "INVOKE",
  "RESULT",
  "PING",
];

/**
 * Gives the name of a message type, for log and error messages.
 *
 * @example
 * ```ts
 * import { messageTypeName } from "./protocol.ts";
 * console.log(messageTypeName(5)); // "RESULT"
 * console.log(messageTypeName(9)); // "UNKNOWN(9)"
 * ```
 *
 * @param type The message type number.
 * @returns The name, such as `"INVOKE"`, or `"UNKNOWN(n)"` for a number Pyro does not use.
 */
export function messageTypeName(type: number): string {
  return (type >= 1 && TYPE_NAMES[type]) || `UNKNOWN(${type})`;
}

/** A decoded message. The payload is inflated and the COMPRESSED flag cleared. */
export interface Message {
  /** The message type, see {@linkcode MessageType}. */
  type: number;
  /** The serializer id (1 serpent, 2 marshal, 3 json, 4 msgpack). */
  serializerId: number;
  /** The flags, see {@linkcode Flags}; never includes COMPRESSED. */
  flags: number;
  /** The sequence number (u16). */
  seq: number;
  /** The 16 raw correlation id bytes when flag CORR_ID is set, otherwise null. */
  correlationId: Uint8Array | null;
  /**
   * The annotation chunks in wire order; a repeated id keeps the last value. Read-only: a
   * message without annotations shares one empty map.
   */
  annotations: ReadonlyMap<string, Uint8Array>;
  /** The payload (inflated when it arrived compressed). */
  data: Uint8Array;
}

/** What {@linkcode encodeMessage} needs to build a frame. */
export interface MessageInit {
  /** The message type, see {@linkcode MessageType}. */
  type: number;
  /** The serializer id (u8). */
  serializerId: number;
  /** The sequence number (u16). */
  seq: number;
  /**
   * The flags. COMPRESSED is decided by the encoder; CORR_ID follows `correlationId`.
   *
   * @default {0}
   */
  flags?: number | undefined;
  /** 16 correlation id bytes; when given, flag CORR_ID is set. */
  correlationId?: Uint8Array | null | undefined;
  /** Annotation chunks: ids of exactly 4 ASCII characters, values of any length. */
  annotations?: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array> | undefined;
  /**
   * The payload.
   *
   * @default {new Uint8Array(0)}
   */
  data?: Uint8Array | undefined;
}

/** Options of {@linkcode encodeMessage}. */
export interface EncodeOptions {
  /**
   * Compress payloads longer than 100 bytes with zlib level 4, as Pyro5 does with
   * `COMPRESSION=True`.
   *
   * @default {false}
   */
  compress?: boolean | undefined;
  /**
   * The largest allowed annotations plus payload size, in bytes.
   *
   * @default {1073741824}
   */
  maxMessageSize?: number | undefined;
}

/** Options of {@linkcode decodeMessage}. */
export interface DecodeOptions {
  /**
   * The largest allowed annotations plus payload size, in bytes.
   *
   * @default {1073741824}
   */
  maxMessageSize?: number | undefined;
  /**
   * The largest allowed payload after inflating a compressed one, in bytes (inflation stops
   * there).
   *
   * @default {maxMessageSize}
   */
  maxInflatedSize?: number | undefined;
}

/** A parsed message header. */
export interface Header {
  /** The message type. */
  type: number;
  /** The serializer id. */
  serializerId: number;
  /** The flags as sent (COMPRESSED still set if the payload is compressed). */
  flags: number;
  /** The sequence number. */
  seq: number;
  /** The payload length as transmitted (after compression). */
  dataSize: number;
  /** The total length of the annotation chunks. */
  annotationsSize: number;
  /** The 16 correlation id bytes (a copy) when flag CORR_ID is set, otherwise null. */
  correlationId: Uint8Array | null;
}

function checkUint(value: number, bits: 8 | 16, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new RangeError(`Cannot encode message: ${what} must be a u${bits}, got ${value}`);
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

const EMPTY = new Uint8Array(0);
const NO_ENTRIES: readonly (readonly [string, Uint8Array])[] = [];

function putU32(bytes: Uint8Array, pos: number, value: number): void {
  bytes[pos] = value >>> 24;
  bytes[pos + 1] = (value >>> 16) & 0xff;
  bytes[pos + 2] = (value >>> 8) & 0xff;
  bytes[pos + 3] = value & 0xff;
}

/** Buffers whose bytes before a payload view are free for one frame header (see below). */
const headroom = new WeakSet<ArrayBufferLike>();
/**
 * Offers not taken yet (at least: an offered buffer may be dropped unframed). While none are,
 * a frame skips the look-up: only large payloads are offered, small frames are the hot path.
 */
let offered = 0;

/**
 * Declares that the bytes of `data.buffer` before `data` are unused, so that
 * {@linkcode encodeMessage} may build the frame in place in front of the payload instead of
 * copying a large payload into a new buffer. Used once: the first frame built from `data`
 * takes the room. For codecs that hand over their output buffer; internal to the library.
 *
 * @example
 * ```ts
 * import { encodeMessage, HEADER_SIZE, offerHeadroom } from "./protocol.ts";
 * const buffer = new Uint8Array(HEADER_SIZE + 3);
 * const data = buffer.subarray(HEADER_SIZE);
 * data.set([1, 2, 3]);
 * offerHeadroom(data);
 * const frame = encodeMessage({ type: 5, serializerId: 4, seq: 1, data });
 * console.log(frame.buffer === buffer.buffer); // true
 * ```
 *
 * @param data A payload view into a buffer nobody else uses.
 */
export function offerHeadroom(data: Uint8Array): void {
  if (headroom.has(data.buffer)) return;
  headroom.add(data.buffer);
  offered++;
}

function tooLarge(size: number, max: number): MessageTooLargeError {
  return new MessageTooLargeError(`message too large (${size}, max=${max})`);
}

/**
 * Builds one frame (header, annotation chunks, payload) in a single buffer.
 *
 * With `compress` on, a payload longer than 100 bytes is deflated (zlib, level 4) and flag
 * COMPRESSED is set. A `correlationId` sets flag CORR_ID.
 *
 * @example A call with a correlation id and an annotation
 * ```ts
 * import { encodeMessage, Flags, MessageType, randomCorrelationId } from "./protocol.ts";
 *
 * const frame = encodeMessage({
 *   type: MessageType.INVOKE,
 *   serializerId: 4,
 *   seq: 1,
 *   correlationId: randomCorrelationId(),
 *   annotations: { XREQ: new Uint8Array([1, 2, 3]) },
 *   data: new Uint8Array([0x94, 0xa1, 0x6f, 0xa1, 0x6d, 0x90, 0x80]),
 * });
 * console.log(frame.length, (frame[9]! & Flags.CORR_ID) !== 0); // 58 true
 * ```
 *
 * @param msg The message fields.
 * @param options Compression and the size limit.
 * @returns The whole frame.
 * @throws {ProtocolError} For an annotation id that is not 4 ASCII characters, a bad
 *   annotation value or correlation id.
 * @throws {MessageTooLargeError} When annotations plus payload exceed the maximum.
 * @throws {RangeError} When type, serializer id, flags or seq do not fit their fields.
 */
export function encodeMessage(msg: MessageInit, options?: EncodeOptions): Uint8Array {
  return encode(msg, options, false);
}

/**
 * Builds one frame like {@linkcode encodeMessage}, but a small frame is a view into a shared
 * slab (see `_slab.ts`) rather than a buffer of its own: for frames that are written and
 * dropped (internal; the daemon and the proxy use it for every call).
 *
 * @example
 * ```ts
 * import { encodeFrame, MessageType } from "./protocol.ts";
 * console.log(encodeFrame({ type: MessageType.RESULT, serializerId: 4, seq: 1 }).length); // 40
 * ```
 *
 * @param msg The message fields.
 * @param options Compression and the size limit.
 * @returns The whole frame.
 * @throws {ProtocolError} As {@linkcode encodeMessage}.
 * @throws {MessageTooLargeError} As {@linkcode encodeMessage}.
 * @throws {RangeError} As {@linkcode encodeMessage}.
 */
export function encodeFrame(msg: MessageInit, options?: EncodeOptions): Uint8Array {
  return encode(msg, options, true);
}

/**
 * Builds a frame without annotations as {@linkcode encodeFrame} does, from its fields rather
 * than a message object (internal: the daemon's reply to a call; the header fields come from a
 * received frame). Compression and large payloads built in place take the general way.
 *
 * @example
 * ```ts
 * import { encodeBareFrame, MessageType } from "./protocol.ts";
 * const frame = encodeBareFrame(MessageType.RESULT, 4, 1, 0, null, new Uint8Array([0xc0]));
 * console.log(frame.length); // 41
 * ```
 *
 * @param type The message type.
 * @param serializerId The serializer id.
 * @param seq The sequence number.
 * @param flags The flags (COMPRESSED and CORR_ID are decided here).
 * @param correlationId 16 correlation id bytes, `RANDOM_CORRELATION_ID` for fresh random ones
 *   written straight into the frame, or null.
 * @param data The payload.
 * @param options Compression and the size limit.
 * @returns The whole frame.
 * @throws {ProtocolError} As {@linkcode encodeMessage}.
 * @throws {MessageTooLargeError} As {@linkcode encodeMessage}.
 * @throws {RangeError} As {@linkcode encodeMessage}.
 */
export function encodeBareFrame(
  type: number,
  serializerId: number,
  seq: number,
  flags: number,
  correlationId: Uint8Array | null,
  data: Uint8Array,
  options?: EncodeOptions,
): Uint8Array {
  const n = data.length;
  if (
    (options?.compress && n > COMPRESSION_THRESHOLD) || offered > 0 ||
    n > (options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE) ||
    (type | serializerId) >>> 8 !== 0 || (seq | flags) >>> 16 !== 0 ||
    (correlationId !== null && correlationId.length !== 16)
  ) {
    const corr = correlationId === RANDOM_CORRELATION_ID
      ? randomCorrelationIdShared()
      : correlationId;
    return encode({ type, serializerId, seq, flags, correlationId: corr, data }, options, true);
  }
  flags &= ~(Flags.COMPRESSED | Flags.CORR_ID);
  if (correlationId !== null) flags |= Flags.CORR_ID;
  const frame = allocBytes(HEADER_SIZE + n); // zeroed: no annotations
  writePlainHeader(frame, type, serializerId, seq, n);
  frame[8] = flags >> 8;
  frame[9] = flags & 0xff;
  if (correlationId === RANDOM_CORRELATION_ID) writeRandomCorrelationId(frame, 20);
  else if (correlationId !== null) frame.set(correlationId, 20);
  if (n <= 32) {
    for (let i = 0; i < n; i++) frame[HEADER_SIZE + i] = data[i]!; // cheaper than set() when small
  } else {
    frame.set(data, HEADER_SIZE);
  }
  return frame;
}

function encode(msg: MessageInit, options: EncodeOptions | undefined, shared: boolean): Uint8Array {
  checkUint(msg.type, 8, "type");
  checkUint(msg.serializerId, 8, "serializer id");
  checkUint(msg.seq, 16, "seq");
  let flags = msg.flags ?? 0;
  checkUint(flags, 16, "flags");
  flags &= ~(Flags.COMPRESSED | Flags.CORR_ID);

  const corr = msg.correlationId ?? null;
  if (corr !== null) {
    if (!(corr instanceof Uint8Array) || corr.length !== 16) {
      throw new ProtocolError("correlation id must be 16 bytes");
    }
    flags |= Flags.CORR_ID;
  }

  const ann = msg.annotations;
  const entries: readonly (readonly [string, Uint8Array])[] = ann === undefined
    ? NO_ENTRIES
    : ann instanceof Map
    ? (ann.size === 0 ? NO_ENTRIES : [...ann])
    : Object.entries(ann);
  let annotationsSize = 0;
  for (const [id, value] of entries) {
    if (typeof id !== "string" || id.length !== 4 || !isAscii(id)) {
      throw new ProtocolError("annotation identifier must be 4 ascii characters");
    }
    if (!(value instanceof Uint8Array)) {
      throw new ProtocolError("annotation data must be a Uint8Array");
    }
    annotationsSize += 8 + value.length;
  }

  let data = msg.data ?? EMPTY;
  if (options?.compress && data.length > COMPRESSION_THRESHOLD) {
    const z = deflateSync(data, { level: 4 });
    data = new Uint8Array(z.buffer, z.byteOffset, z.length);
    flags |= Flags.COMPRESSED;
  }

  const max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const size = data.length + annotationsSize;
  if (size > max) throw tooLarge(size, max);

  const prefix = HEADER_SIZE + annotationsSize;
  const inPlace = offered > 0 && data.byteOffset >= prefix && headroom.delete(data.buffer);
  if (inPlace) offered--;
  const frame = inPlace
    ? new Uint8Array(data.buffer, data.byteOffset - prefix, prefix + data.length)
    : shared
    ? allocBytes(HEADER_SIZE + size)
    : new Uint8Array(HEADER_SIZE + size);
  if (inPlace) frame.fill(0, 0, HEADER_SIZE);
  writePlainHeader(frame, msg.type, msg.serializerId, msg.seq, data.length);
  frame[8] = flags >> 8;
  frame[9] = flags & 0xff;
  putU32(frame, 16, annotationsSize);
  if (corr !== null) frame.set(corr, 20);
  let pos = HEADER_SIZE;
  for (const [id, value] of entries) {
    frame[pos] = id.charCodeAt(0);
    frame[pos + 1] = id.charCodeAt(1);
    frame[pos + 2] = id.charCodeAt(2);
    frame[pos + 3] = id.charCodeAt(3);
    putU32(frame, pos + 4, value.length);
    frame.set(value, pos + 8);
    pos += 8 + value.length;
  }
  if (!inPlace) frame.set(data, pos);
  return frame;
}

/**
 * Writes the 40-byte header of a frame without flags, correlation id or annotations into the
 * start of `frame`, whose other header bytes must be zero (internal: the proxy's call path
 * builds such frames in a buffer of its own; {@linkcode encodeFrame} makes every other kind).
 * The fields are not checked: type and serializer id are constants of the caller, `seq` a
 * u16 and `dataSize` the payload length within the size limit.
 *
 * @example
 * ```ts
 * import { decodeMessage, HEADER_SIZE, MessageType, writePlainHeader } from "./protocol.ts";
 * const frame = new Uint8Array(HEADER_SIZE + 1);
 * writePlainHeader(frame, MessageType.INVOKE, 4, 7, 1);
 * frame[HEADER_SIZE] = 0xc0; // msgpack nil
 * console.log(decodeMessage(frame).seq); // 7
 * ```
 *
 * @param frame The frame (header bytes 8, 9 and 16 to 37 zero).
 * @param type The message type.
 * @param serializerId The serializer id.
 * @param seq The sequence number.
 * @param dataSize The payload length.
 */
export function writePlainHeader(
  frame: Uint8Array,
  type: number,
  serializerId: number,
  seq: number,
  dataSize: number,
): void {
  frame[0] = 0x50; // P
  frame[1] = 0x59; // Y
  frame[2] = 0x52; // R
  frame[3] = 0x4f; // O
  frame[4] = PROTOCOL_VERSION >> 8;
  frame[5] = PROTOCOL_VERSION & 0xff;
  frame[6] = type;
  frame[7] = serializerId;
  frame[10] = seq >> 8;
  frame[11] = seq & 0xff;
  putU32(frame, 12, dataSize);
  frame[38] = MAGIC >> 8;
  frame[39] = MAGIC & 0xff;
}

/**
 * Checks the first bytes of a frame the way Python does after reading 6 bytes: the tag,
 * then the protocol version. Fewer than 4 bytes are not checked.
 *
 * @example
 * ```ts
 * import { checkFramePrefix } from "./protocol.ts";
 * try {
 *   checkFramePrefix(new TextEncoder().encode("GET / HTTP/1.1"));
 * } catch (e) {
 *   console.log((e as Error).message); // "invalid data"
 * }
 * ```
 *
 * @param bytes The first bytes received (any length).
 * @throws {ProtocolError} `"invalid data"` or `"invalid protocol version: N"`.
 */
export function checkFramePrefix(bytes: Uint8Array): void {
  if (bytes.length < 4) return;
  if (bytes[0] !== 0x50 || bytes[1] !== 0x59 || bytes[2] !== 0x52 || bytes[3] !== 0x4f) {
    throw new ProtocolError("invalid data");
  }
  if (bytes.length < 6) return;
  const version = (bytes[4]! << 8) | bytes[5]!;
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(`invalid protocol version: ${version}`);
  }
}

/**
 * Parses and checks a 40-byte header (extra bytes after it are ignored). The size limit is
 * checked here, before anything is allocated for the body.
 *
 * @example
 * ```ts
 * import { encodeMessage, MessageType, parseHeader } from "./protocol.ts";
 * const frame = encodeMessage({ type: MessageType.RESULT, serializerId: 4, seq: 7 });
 * const header = parseHeader(frame);
 * console.log(header.seq, header.dataSize); // 7 0
 * ```
 *
 * @param header At least the 40 header bytes.
 * @param maxMessageSize The largest allowed annotations plus payload size.
 * @returns The header fields.
 * @throws {ProtocolError} With Python's texts: `"invalid data"`, `"invalid protocol version:
 *   N"`, `"invalid magic number"`, or a truncated-header message.
 * @throws {MessageTooLargeError} `"message too large (X, max=Y)"`.
 */
export function parseHeader(
  header: Uint8Array,
  maxMessageSize: number = DEFAULT_MAX_MESSAGE_SIZE,
): Header {
  const parsed = readHeader(header, 0, header.length, maxMessageSize);
  if (parsed.correlationId !== null) parsed.correlationId = parsed.correlationId.slice();
  return parsed;
}

/**
 * Parses and checks the header at `offset` of a receive buffer (internal): as
 * {@linkcode parseHeader}, but the correlation id is a view into `buf`, not a copy.
 *
 * @example
 * ```ts
 * import { encodeMessage, MessageType, readHeader } from "./protocol.ts";
 * const frame = encodeMessage({ type: MessageType.RESULT, serializerId: 4, seq: 7 });
 * console.log(readHeader(frame, 0, frame.length, 1024).seq); // 7
 * ```
 *
 * @param buf The buffer.
 * @param offset Where the header starts.
 * @param end Where the received bytes end (at least 40 after `offset` for a whole header).
 * @param maxMessageSize The largest allowed annotations plus payload size.
 * @returns The header fields.
 * @throws {ProtocolError} As {@linkcode parseHeader}.
 * @throws {MessageTooLargeError} As {@linkcode parseHeader}.
 */
export function readHeader(
  buf: Uint8Array,
  offset: number,
  end: number,
  maxMessageSize: number,
): Header {
  const have = end - offset;
  if (
    have < HEADER_SIZE || buf[offset] !== 0x50 || buf[offset + 1] !== 0x59 ||
    buf[offset + 2] !== 0x52 || buf[offset + 3] !== 0x4f ||
    ((buf[offset + 4]! << 8) | buf[offset + 5]!) !== PROTOCOL_VERSION
  ) {
    checkFramePrefix(buf.subarray(offset, end));
    throw new ProtocolError(`invalid data: truncated header (${have} of ${HEADER_SIZE} bytes)`);
  }
  if (((buf[offset + 38]! << 8) | buf[offset + 39]!) !== MAGIC) {
    throw new ProtocolError("invalid magic number");
  }
  const dataSize = u32(buf, offset + 12);
  const annotationsSize = u32(buf, offset + 16);
  if (dataSize + annotationsSize > maxMessageSize) {
    throw tooLarge(dataSize + annotationsSize, maxMessageSize);
  }
  const flags = (buf[offset + 8]! << 8) | buf[offset + 9]!;
  return {
    type: buf[offset + 6]!,
    serializerId: buf[offset + 7]!,
    flags,
    seq: (buf[offset + 10]! << 8) | buf[offset + 11]!,
    dataSize,
    annotationsSize,
    correlationId: flags & Flags.CORR_ID ? buf.subarray(offset + 20, offset + 36) : null,
  };
}

function u32(buf: Uint8Array, i: number): number {
  return ((buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!) >>> 0;
}

/**
 * The message of a whole frame without annotations or compression at `offset` of a receive
 * buffer, read in one step (internal: the receive loop's common case, no header object in
 * between); null for anything else (fewer bytes than the frame, annotations, a compressed
 * or oversized payload, a malformed header), which {@linkcode readHeader} then takes. The
 * payload and correlation id are views into `buf`.
 *
 * @example
 * ```ts
 * import { encodeMessage, MessageType, readPlainMessage } from "./protocol.ts";
 * const frame = encodeMessage({ type: MessageType.RESULT, serializerId: 4, seq: 7, data: new Uint8Array([0xc0]) });
 * console.log(readPlainMessage(frame, 0, frame.length, 1024)?.seq); // 7
 * console.log(readPlainMessage(frame, 0, frame.length - 1, 1024)); // null
 * ```
 *
 * @param buf The buffer.
 * @param offset Where the frame starts.
 * @param end Where the received bytes end.
 * @param maxSize The largest payload taken here.
 * @returns The message, or null.
 */
export function readPlainMessage(
  buf: Uint8Array,
  offset: number,
  end: number,
  maxSize: number,
): Message | null {
  if (
    end - offset < HEADER_SIZE ||
    (buf[offset + 16]! | buf[offset + 17]! | buf[offset + 18]! | buf[offset + 19]!) !== 0
  ) return null;
  const dataSize = u32(buf, offset + 12);
  const flags = (buf[offset + 8]! << 8) | buf[offset + 9]!;
  if (
    dataSize > maxSize || offset + HEADER_SIZE + dataSize > end || flags & Flags.COMPRESSED ||
    buf[offset] !== 0x50 || buf[offset + 1] !== 0x59 || buf[offset + 2] !== 0x52 ||
    buf[offset + 3] !== 0x4f || ((buf[offset + 4]! << 8) | buf[offset + 5]!) !== PROTOCOL_VERSION ||
    ((buf[offset + 38]! << 8) | buf[offset + 39]!) !== MAGIC
  ) return null;
  const start = offset + HEADER_SIZE;
  return {
    type: buf[offset + 6]!,
    serializerId: buf[offset + 7]!,
    flags,
    seq: (buf[offset + 10]! << 8) | buf[offset + 11]!,
    correlationId: flags & Flags.CORR_ID ? buf.subarray(offset + 20, offset + 36) : null,
    annotations: EMPTY_ANNOTATIONS,
    data: buf.subarray(start, start + dataSize),
  };
}

/**
 * An empty annotations map, shared by every received message without annotations and by the
 * daemon and proxy wherever they have none (never changed; internal).
 *
 * @example
 * ```ts
 * import { EMPTY_ANNOTATIONS } from "./protocol.ts";
 * console.log(EMPTY_ANNOTATIONS.size); // 0
 * ```
 */
export const EMPTY_ANNOTATIONS: ReadonlyMap<string, Uint8Array> = new Map();

/**
 * Decodes the part of a frame after the header (annotation chunks and payload). The
 * annotation values and an uncompressed payload are views into `body`, not copies.
 *
 * @example
 * ```ts
 * import { decodeMessageBody, encodeMessage, HEADER_SIZE, parseHeader } from "./protocol.ts";
 * const frame = encodeMessage({ type: 5, serializerId: 3, seq: 1, data: new Uint8Array([0x31]) });
 * const msg = decodeMessageBody(parseHeader(frame), frame.subarray(HEADER_SIZE));
 * console.log(msg.data); // Uint8Array(1) [ 49 ]
 * ```
 *
 * @param header The parsed header.
 * @param body Exactly `annotationsSize + dataSize` bytes.
 * @param maxMessageSize The largest allowed inflated payload.
 * @returns The message.
 * @throws {ProtocolError} For a body of the wrong length, bad annotation chunks or a payload
 *   that does not inflate.
 */
export function decodeMessageBody(
  header: Header,
  body: Uint8Array,
  maxMessageSize: number = DEFAULT_MAX_MESSAGE_SIZE,
): Message {
  const annSize = header.annotationsSize;
  if (body.length !== annSize + header.dataSize) {
    throw new ProtocolError("payload length doesn't match message header");
  }
  const annotations = annSize === 0 ? EMPTY_ANNOTATIONS : new Map<string, Uint8Array>();
  let i = 0;
  let chunks = 0;
  while (i < annSize) {
    if (annSize - i < 8) {
      throw new ProtocolError("annotation parsing did not consume all annotation data");
    }
    if (++chunks > MAX_ANNOTATIONS) {
      throw new ProtocolError(`too many annotation chunks (more than ${MAX_ANNOTATIONS})`);
    }
    const length = ((body[i + 4]! << 24) | (body[i + 5]! << 16) | (body[i + 6]! << 8) |
      body[i + 7]!) >>> 0;
    if (i + 8 + length > annSize) {
      throw new ProtocolError("annotation chunk length exceeds remaining data");
    }
    const a = body[i]!, b = body[i + 1]!, c = body[i + 2]!, d = body[i + 3]!;
    if ((a | b | c | d) > 0x7f) {
      throw new ProtocolError("annotation identifier must be 4 ascii characters");
    }
    (annotations as Map<string, Uint8Array>).set(
      String.fromCharCode(a, b, c, d),
      body.subarray(i + 8, i + 8 + length),
    );
    i += 8 + length;
  }
  let data = annSize === 0 ? body : body.subarray(annSize);
  let flags = header.flags;
  if (flags & Flags.COMPRESSED) {
    data = inflatePayloadSync(data, maxMessageSize);
    flags &= ~Flags.COMPRESSED;
  }
  return {
    type: header.type,
    serializerId: header.serializerId,
    flags,
    seq: header.seq,
    correlationId: header.correlationId,
    annotations,
    data,
  };
}

/**
 * Decodes a whole frame: header, annotation chunks and payload (inflated when compressed).
 * Annotation values and an uncompressed payload are views into `frame`.
 *
 * @example
 * ```ts
 * import { decodeMessage } from "./protocol.ts";
 * const hex = "5059524f01f605040000000100000003000000000000000000000000000000000000000000004dc5a26869";
 * const frame = new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
 * const msg = decodeMessage(frame);
 * console.log(msg.type, msg.serializerId, msg.seq, msg.data.length); // 5 4 1 3
 * ```
 *
 * @param frame Exactly one frame.
 * @param options The size limit.
 * @returns The message.
 * @throws {ProtocolError} With Python Pyro5's texts for malformed frames.
 * @throws {MessageTooLargeError} When the header announces more than the maximum.
 */
export function decodeMessage(frame: Uint8Array, options?: DecodeOptions): Message {
  const max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const header = parseHeader(frame, max);
  return decodeMessageBody(header, frame.subarray(HEADER_SIZE), options?.maxInflatedSize ?? max);
}
