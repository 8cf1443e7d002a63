/**
 * A message connection: Pyro frames over any byte stream (TCP, TLS, Unix socket), used by
 * the daemon and the proxy alike.
 *
 * {@linkcode MessageConnection.receive} reassembles frames from partial and coalesced
 * reads; {@linkcode MessageConnection.send} writes one frame at once and gathers frames sent
 * meanwhile into one write.
 *
 * @example Sending and receiving over TCP
 * ```ts
 * import { MessageConnection } from "./connection.ts";
 * import { decodeMessage, encodeMessage, MessageType } from "./protocol.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const server = new MessageConnection(await listener.accept());
 * await client.send(encodeMessage({ type: MessageType.PING, serializerId: 4, seq: 1 }));
 * const msg = await server.receive();
 * console.log(msg?.type === MessageType.PING); // true
 * client.close();
 * console.log(await server.receive()); // null
 * server.close();
 * ```
 *
 * @module
 */

import { ConnectionClosedError } from "./errors.ts";
import {
  checkFramePrefix,
  decodeMessageBody,
  DEFAULT_MAX_MESSAGE_SIZE,
  type Header,
  HEADER_SIZE,
  type Message,
  parseHeader,
} from "./protocol.ts";
import { POOL_MIN, takeBuffer } from "./_buffer_pool.ts";

export type { Message } from "./protocol.ts";

/**
 * The byte stream a {@linkcode MessageConnection} runs over; `Deno.Conn` and `Deno.TlsConn`
 * fit.
 *
 * @example
 * ```ts
 * import type { ByteStream } from "./connection.ts";
 * const sink: ByteStream = {
 *   read: () => Promise.resolve(null),
 *   write: (p) => Promise.resolve(p.length),
 *   close: () => {},
 * };
 * console.log(typeof sink.read); // "function"
 * ```
 */
export interface ByteStream {
  /** Reads into `p`; resolves to the byte count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes from `p`; resolves to the byte count written (may be partial). */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream. */
  close(): void;
}

/** Options of {@linkcode MessageConnection}. */
export interface MessageConnectionOptions {
  /**
   * The largest allowed annotations plus payload size of a received message, in bytes.
   *
   * @default {1073741824}
   */
  maxMessageSize?: number | undefined;
}

/** The read buffer size; frames that do not fit get a buffer of their own. */
const BUFFER_SIZE = 64 * 1024;
/** An idle connection holds only this much; the buffer grows to BUFFER_SIZE when traffic needs it. */
const INITIAL_BUFFER_SIZE = 4 * 1024;
/** Frame bodies up to this size are allocated in full as soon as their header is read. */
const EAGER_BODY_LIMIT = 16 * 1024 * 1024;
/** Reads or writes of zero bytes in a row before the stream is considered broken. */
const MAX_EMPTY_IO = 100;

function describe(e: unknown): string {
  return e instanceof Error ? e.message || e.name : String(e);
}

/**
 * Joins frames into one buffer of `total` bytes, so that they go out in one write (internal).
 *
 * @example
 * ```ts
 * import { concatFrames } from "./connection.ts";
 * console.log(concatFrames([new Uint8Array([1]), new Uint8Array([2, 3])], 3)); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 *
 * @param chunks The frames, in order.
 * @param total Their total length.
 * @returns One buffer holding them all.
 */
export function concatFrames(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/**
 * Pyro frames over a byte stream.
 *
 * Receiving uses one reusable 64 KiB buffer: a read may bring part of a frame or many
 * frames, which later calls return without reading again. A frame larger than the buffer is
 * read into a buffer of its own, allocated once its header has passed the size check.
 * Returned payloads are never overwritten by later reads.
 *
 * Sending writes a frame at once when no write is under way; frames sent meanwhile are
 * concatenated and written together in one write when the current one finishes.
 *
 * @example Echoing one message
 * ```ts
 * import { MessageConnection } from "./connection.ts";
 * import { encodeMessage, MessageType } from "./protocol.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const server = new MessageConnection(await listener.accept());
 * await client.send(encodeMessage({ type: MessageType.PING, serializerId: 42, seq: 3 }));
 * const ping = await server.receive();
 * await server.send(encodeMessage({ type: MessageType.PING, serializerId: 42, seq: ping!.seq }));
 * console.log((await client.receive())?.seq); // 3
 * client.close();
 * server.close();
 * ```
 */
export class MessageConnection {
  #stream: ByteStream;
  #max: number;
  #closed = false;
  // receiving
  #buf = new Uint8Array(INITIAL_BUFFER_SIZE);
  #start = 0;
  #end = 0;
  #rxError: Error | null = null;
  #rxTail: Promise<unknown> = Promise.resolve();
  #rxCount = 0;
  // sending
  #writing = false;
  #txError: Error | null = null;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #batch: PromiseWithResolvers<void> | null = null;

  /**
   * Wraps a byte stream.
   *
   * @param stream The stream, e.g. a `Deno.Conn` (call `setNoDelay(true)` on TCP yourself).
   * @param options The size limit for received messages.
   */
  constructor(stream: ByteStream, options?: MessageConnectionOptions) {
    this.#stream = stream;
    this.#max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** True once {@linkcode MessageConnection.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True when received bytes are waiting in the buffer (more of a frame, or more frames). */
  get hasBufferedData(): boolean {
    return this.#end > this.#start;
  }

  /**
   * Receives the next message. Concurrent calls are served one after another.
   *
   * @returns The message, or null at a clean end of stream (at a frame boundary) and after
   *   {@linkcode MessageConnection.close}.
   * @throws {ConnectionClosedError} `"receiving: not enough data"` when the stream ends
   *   inside a frame, `"receiving: connection lost: ..."` when reading fails.
   * @throws {ProtocolError} For a malformed frame (and on every later call).
   * @throws {MessageTooLargeError} When a header announces more than the maximum.
   */
  receive(): Promise<Message | null> {
    const p = this.#rxCount++ === 0
      ? this.#receiveOne()
      : this.#rxTail.then(this.#receiveNext, this.#receiveNext);
    this.#rxTail = p;
    return p;
  }

  #receiveNext = (): Promise<Message | null> => this.#receiveOne();

  async #receiveOne(): Promise<Message | null> {
    try {
      if (this.#closed) return null;
      if (this.#rxError) throw this.#rxError;
      return await this.#nextFrame();
    } catch (e) {
      if (this.#closed) return null;
      this.#rxError ??= e instanceof Error ? e : new Error(String(e));
      throw e;
    } finally {
      this.#rxCount--;
    }
  }

  async #nextFrame(): Promise<Message | null> {
    let emptyReads = 0;
    for (;;) {
      if (this.#closed) return null;
      const avail = this.#end - this.#start;
      if (avail >= HEADER_SIZE) {
        const buf = this.#buf;
        const start = this.#start;
        const header = parseHeader(buf.subarray(start, start + HEADER_SIZE), this.#max);
        const total = HEADER_SIZE + header.annotationsSize + header.dataSize;
        if (avail >= total) {
          // One copy of the body, so later reads cannot overwrite the returned payload.
          const body = buf.slice(start + HEADER_SIZE, start + total);
          this.#start = start + total;
          if (this.#start === this.#end) this.#start = this.#end = 0;
          return decodeMessageBody(header, body, this.#max);
        }
        if (total > buf.length) {
          if (total > BUFFER_SIZE) return await this.#readLarge(header, total);
          this.#grow();
          continue;
        }
        if (start + total > buf.length) this.#compact();
      } else if (avail === 0) {
        this.#start = this.#end = 0;
      } else {
        checkFramePrefix(this.#buf.subarray(this.#start, this.#end));
        if (this.#start + HEADER_SIZE > this.#buf.length) this.#compact();
      }
      const n = await this.#read(this.#buf.subarray(this.#end));
      if (n === null) {
        if (this.#end === this.#start) return null;
        throw new ConnectionClosedError("receiving: not enough data");
      }
      if (n === 0) {
        if (++emptyReads > MAX_EMPTY_IO) {
          throw new ConnectionClosedError("receiving: connection lost: stream returns no data");
        }
      } else {
        emptyReads = 0;
      }
      this.#end += n;
      // A read that filled the small starting buffer means traffic: take the full-size one.
      if (this.#end === this.#buf.length) this.#grow();
    }
  }

  /** Replaces the small starting buffer by a full-size one, keeping the unread bytes. */
  #grow(): void {
    if (this.#buf.length >= BUFFER_SIZE) return;
    const bigger = new Uint8Array(BUFFER_SIZE);
    bigger.set(this.#buf.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buf = bigger;
  }

  /**
   * Reads a frame larger than the shared buffer into a body buffer of its own. Bodies up to
   * 16 MiB are allocated at once; larger ones grow as their bytes arrive, so that a header
   * alone cannot make the process reserve a gigabyte.
   */
  async #readLarge(header: Header, total: number): Promise<Message | null> {
    const size = total - HEADER_SIZE;
    // A spare buffer of about the right size saves the cost of fresh memory (page faults).
    const spare = size >= POOL_MIN && size <= EAGER_BODY_LIMIT
      ? takeBuffer(size, size + (size >> 2))
      : null;
    if (spare !== null && spare.byteLength > size) new Uint8Array(spare, size).fill(0);
    let body = spare !== null
      ? new Uint8Array(spare, 0, size)
      : new Uint8Array(Math.min(size, EAGER_BODY_LIMIT));
    let filled = this.#end - this.#start - HEADER_SIZE;
    body.set(this.#buf.subarray(this.#start + HEADER_SIZE, this.#end));
    this.#start = this.#end = 0;
    let emptyReads = 0;
    while (filled < size) {
      if (filled === body.length) {
        const bigger = new Uint8Array(Math.min(size, body.length * 2));
        bigger.set(body);
        body = bigger;
      }
      const n = await this.#read(body.subarray(filled));
      if (this.#closed) return null;
      if (n === null) throw new ConnectionClosedError("receiving: not enough data");
      if (n === 0 && ++emptyReads > MAX_EMPTY_IO) {
        throw new ConnectionClosedError("receiving: connection lost: stream returns no data");
      }
      filled += n;
    }
    return decodeMessageBody(header, body, this.#max);
  }

  #compact(): void {
    this.#buf.copyWithin(0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#start = 0;
  }

  async #read(p: Uint8Array): Promise<number | null> {
    try {
      return await this.#stream.read(p);
    } catch (e) {
      throw new ConnectionClosedError(`receiving: connection lost: ${describe(e)}`, { cause: e });
    }
  }

  /**
   * Sends one frame (as made by `encodeMessage`). Frames sent while a write is under way are
   * written together, in order, in one write.
   *
   * @param frame The whole frame.
   * @returns A promise that settles when the frame has been written.
   * @throws {ConnectionClosedError} `"sending: connection lost: ..."` when writing fails
   *   (and for every later send), `"sending: connection closed"` after close.
   */
  send(frame: Uint8Array): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ConnectionClosedError("sending: connection closed"));
    }
    if (this.#txError) return Promise.reject(this.#txError);
    if (!this.#writing) {
      this.#writing = true;
      const p = this.#writeAll(frame);
      p.then(this.#writeNext, this.#writeFailed);
      return p;
    }
    this.#pending.push(frame);
    this.#pendingBytes += frame.length;
    this.#batch ??= Promise.withResolvers<void>();
    return this.#batch.promise;
  }

  #writeNext = (): void => {
    const batch = this.#batch;
    if (batch === null) {
      this.#writing = false;
      return;
    }
    const chunks = this.#pending;
    const data = chunks.length === 1 ? chunks[0]! : concatFrames(chunks, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#batch = null;
    if (this.#closed) {
      batch.reject(new ConnectionClosedError("sending: connection closed"));
      this.#writing = false;
      return;
    }
    const p = this.#writeAll(data);
    p.then(batch.resolve, batch.reject);
    p.then(this.#writeNext, this.#writeFailed);
  };

  #writeFailed = (e: unknown): void => {
    this.#txError ??= e instanceof Error ? e : new Error(String(e));
    this.#writing = false;
    const batch = this.#batch;
    this.#batch = null;
    this.#pending = [];
    this.#pendingBytes = 0;
    batch?.reject(this.#txError);
  };

  async #writeAll(data: Uint8Array): Promise<void> {
    let off = 0;
    let emptyWrites = 0;
    while (off < data.length) {
      let n: number;
      try {
        n = await this.#stream.write(off === 0 ? data : data.subarray(off));
      } catch (e) {
        if (this.#closed) throw new ConnectionClosedError("sending: connection closed");
        throw new ConnectionClosedError(`sending: connection lost: ${describe(e)}`, { cause: e });
      }
      if (n === 0 && ++emptyWrites > MAX_EMPTY_IO) {
        throw new ConnectionClosedError("sending: connection lost: stream accepts no data");
      }
      off += n;
    }
  }

  /**
   * Closes the stream. Pending and later sends reject with `ConnectionClosedError`; pending
   * and later receives resolve to null. Calling it again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#stream.close();
    } catch {
      // already closed by the peer or the runtime
    }
  }
}
