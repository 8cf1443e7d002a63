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

import { ConnectionClosedError } from "../errors.ts";
import {
  checkFramePrefix,
  decodeMessageBody,
  DEFAULT_MAX_MESSAGE_SIZE,
  Flags,
  type Header,
  HEADER_SIZE,
  type Message,
  readHeader,
  readPlainMessage,
} from "./protocol.ts";
import { largeBuffer, POOL_MIN, takeBuffer } from "./buffer_pool.ts";
import { inflatePayload } from "./inflate.ts";
import { unwatchDeadlines, watchDeadlines } from "./limits.ts";
import { errorMessage } from "./error_text.ts";
import { allocBytes } from "./slab.ts";

export type { Message } from "./protocol.ts";

/**
 * The byte stream a {@linkcode MessageConnection} runs over; `Deno.Conn` and `Deno.TlsConn`
 * fit.
 *
 * @example A message connection over bytes in memory
 * ```ts
 * import { type ByteStream, MessageConnection } from "./connection.ts";
 * import { encodeMessage, MessageType } from "./protocol.ts";
 *
 * const frame = encodeMessage({ type: MessageType.PING, serializerId: 4, seq: 5 });
 * let unread = true;
 * const stream: ByteStream = {
 *   read(p) {
 *     if (!unread) return Promise.resolve(null); // then the end of the stream
 *     unread = false;
 *     p.set(frame);
 *     return Promise.resolve(frame.length);
 *   },
 *   write: (p) => Promise.resolve(p.length),
 *   close: () => {},
 * };
 * const conn = new MessageConnection(stream);
 * console.log((await conn.receive())?.seq, await conn.receive()); // 5 null
 * conn.close();
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
  /**
   * The largest allowed payload after inflating a compressed one, in bytes; inflation stops
   * as soon as it passes this (see `_wire/inflate.ts`).
   *
   * @default {maxMessageSize}
   */
  maxInflatedSize?: number | undefined;
  /**
   * Milliseconds allowed to finish receiving a frame once its first bytes are in (a slow
   * sender); 0 means no limit.
   *
   * @default {0}
   */
  frameTimeout?: number | undefined;
  /**
   * Milliseconds allowed for one write to complete (a peer that does not read); 0 means no
   * limit. A write's clock starts at the first deadline sweep that sees it (sweeps run every
   * quarter of the shortest limit, at most every second), so a stuck write is found between
   * this many ms and half as long again (at most 2 s more) after it began.
   *
   * @default {0}
   */
  writeTimeout?: number | undefined;
  /**
   * Called once when a limit is exceeded, with a sentence saying which; the stream is then
   * closed, and pending and later receives and sends fail with `ConnectionClosedError`.
   */
  onTimeout?: ((reason: string) => void) | undefined;
  /**
   * Large frame bodies are mapped outside the C allocator (`largeBuffer` in buffer_pool.ts)
   * while more than 4 MiB of them are being received at once in the process, so that their
   * memory goes back to the system once freed: for the daemon, whose peers choose the sizes. A proxy keeps the C allocator, which reuses freed memory without page
   * faults (it cannot pool the buffers of replies, whose values may point into them).
   *
   * @default {false}
   */
  mappedBodies?: boolean | undefined;
}

/** Bytes of large frame bodies being received right now, in the whole process. */
let receivingLarge = 0;
/**
 * Beyond this many bytes of large bodies being received at once, a daemon's bodies are mapped
 * (`mappedBodies`): what the C allocator may keep of them after a burst stays about this size.
 */
const MAPPED_ABOVE = 4 * 1024 * 1024;

/** The read buffer size; frames that do not fit get a buffer of their own. */
const BUFFER_SIZE = 64 * 1024;
/** The buffer after the first when traffic is light; it grows to BUFFER_SIZE when traffic needs it. */
const INITIAL_BUFFER_SIZE = 4 * 1024;
/** Frame bodies up to this size are allocated in full as soon as their header is read. */
const EAGER_BODY_LIMIT = 16 * 1024 * 1024;
/** A read gets at least this much room; a buffer with less left is replaced. */
const MIN_READ = 1024;
/**
 * A new connection's first buffer is a share of a small slab rather than an `ArrayBuffer` of
 * its own (a fresh one costs about 1 us, a large share of a connection's
 * set-up): 512 bytes, room for a handshake and a first call, read into while at least
 * `FIRST_MIN_READ` bytes are left. An idle connection holds 512 bytes and keeps at most its
 * 8 KiB slab alive.
 */
const FIRST_BUFFER_SIZE = 512;
const FIRST_SLAB_SIZE = 8 * 1024;
const FIRST_MIN_READ = 64;
let firstSlab = new Uint8Array(0);
let firstUsed = 0;

function firstBuffer(): Uint8Array {
  if (firstUsed === firstSlab.length) {
    firstSlab = new Uint8Array(FIRST_SLAB_SIZE);
    firstUsed = 0;
  }
  return firstSlab.subarray(firstUsed, firstUsed += FIRST_BUFFER_SIZE);
}
/** Reads or writes of zero bytes in a row before the stream is considered broken. */
const MAX_EMPTY_IO = 100;

const EMPTY_FRAME = new Uint8Array(0);

/**
 * Who gets the messages of a connection in listen mode ({@linkcode MessageConnection.listen}).
 *
 * @example
 * ```ts
 * import type { MessageReceiver } from "./connection.ts";
 * const receiver: MessageReceiver = {
 *   message: (msg) => console.log(`message ${msg.seq}`),
 *   ended: (error) => console.log(error === null ? "end" : error.message),
 * };
 * receiver.ended(null); // end
 * ```
 */
export interface MessageReceiver {
  /**
   * A message arrived. A returned promise holds the next read back until it settles.
   *
   * @param msg The message (its views point into the read buffer, never overwritten).
   */
  message(msg: Message): Promise<void> | void;
  /**
   * Listening ended: null at a clean end of stream or after close, else why.
   *
   * @param error The error, or null.
   */
  ended(error: Error | null): void;
}

/**
 * Who waits for a frame given to {@linkcode MessageConnection.sendWith}.
 *
 * @example
 * ```ts
 * import type { SendListener } from "./connection.ts";
 * const listener: SendListener = {
 *   sent: (frame) => console.log(`${frame.length} bytes written`),
 *   sendFailed: (error) => console.log(error.message),
 * };
 * listener.sent(new Uint8Array(40)); // 40 bytes written
 * ```
 */
export interface SendListener {
  /** The frame has been written. */
  sent(frame: Uint8Array): void;
  /** The frame could not be written; the connection sends nothing more. */
  sendFailed(error: Error): void;
}

function notifyFailed(listeners: (SendListener | Uint8Array)[], error: Error): void {
  for (let i = 0; i < listeners.length; i += 2) (listeners[i] as SendListener).sendFailed(error);
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
  const out = allocBytes(total); // small joins share a slab (see slab.ts)
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
 * Receiving reads into 64 KiB buffers: a read may bring part of a frame or many frames,
 * which later calls return without reading again. Returned messages are views into the
 * buffer (no copy per frame), and a buffer is never written again where it has returned
 * bytes: when it runs out of room, the unread bytes move to a new one. A frame larger than
 * the buffer is read into a buffer of its own, allocated once its header has passed the size
 * check.
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
  /** The largest payload the receive loop reads in one step (`readPlainMessage`). */
  #plainMax: number;
  #maxInflated: number;
  readonly #mappedBodies: boolean;
  #closed = false;
  // receiving
  #buf = firstBuffer();
  #start = 0;
  #end = 0;
  #rxError: Error | null = null;
  #rxTail: Promise<unknown> = Promise.resolve();
  #rxCount = 0;
  /** Listen mode: who gets the messages, and empty reads in a row. */
  #receiver: MessageReceiver | null = null;
  #emptyReads = 0;
  // sending: the buffer being written, how much of it is out, and who waits for it
  #writing = false;
  #txError: Error | null = null;
  #wData: Uint8Array = EMPTY_FRAME;
  #wOff = 0;
  #wEmpty = 0;
  #wDone: PromiseWithResolvers<void> | null = null;
  #wListener: SendListener | null = null;
  #wFrame: Uint8Array | null = null;
  /** Listeners and their frames, in pairs, of a write of several frames. */
  #wListeners: (SendListener | Uint8Array)[] | null = null;
  // frames sent meanwhile, written together next: for send() and for sendWith()
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #batch: PromiseWithResolvers<void> | null = null;
  #pendingListeners: (SendListener | Uint8Array)[] | null = null;
  // deadlines (timestamps, checked by a shared sweeper; 0 = none pending; a write's is -1 until
  // the sweeper first sees it, which saves reading the clock for every write)
  readonly #frameTimeout: number;
  readonly #writeTimeout: number;
  readonly #onTimeout: ((reason: string) => void) | undefined;
  #frameDeadline = 0;
  #writeDeadline = 0;
  #writeSize = 0;
  #timedOut = false;
  /** Its place in the shared deadline sweeper (limits.ts; internal). */
  deadlineSlot = -1;

  /**
   * Wraps a byte stream.
   *
   * @param stream The stream, e.g. a `Deno.Conn` (call `setNoDelay(true)` on TCP yourself).
   * @param options The size limit for received messages.
   */
  constructor(stream: ByteStream, options?: MessageConnectionOptions) {
    this.#stream = stream;
    this.#max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#plainMax = Math.min(this.#max, BUFFER_SIZE - HEADER_SIZE);
    this.#maxInflated = options?.maxInflatedSize ?? this.#max;
    this.#mappedBodies = options?.mappedBodies === true;
    this.#frameTimeout = Math.max(0, options?.frameTimeout ?? 0);
    this.#writeTimeout = Math.max(0, options?.writeTimeout ?? 0);
    this.#onTimeout = options?.onTimeout;
    const frameTimeout = this.#frameTimeout;
    const writeTimeout = this.#writeTimeout;
    if (frameTimeout > 0 || writeTimeout > 0) {
      watchDeadlines(
        this,
        frameTimeout > 0 && writeTimeout > 0
          ? Math.min(frameTimeout, writeTimeout)
          : frameTimeout + writeTimeout,
      );
    }
  }

  /**
   * Checks the frame and write deadlines (called by the shared sweeper; internal).
   *
   * @param now The current time, as `Date.now()`.
   */
  checkDeadlines(now: number): void {
    if (this.#frameDeadline !== 0 && now >= this.#frameDeadline) {
      this.#expire(`a frame was not completed within ${this.#frameTimeout} ms (slow sender)`);
    } else if (this.#writeDeadline < 0) {
      this.#writeDeadline = now + this.#writeTimeout; // a write began since the last sweep
    } else if (this.#writeDeadline !== 0 && now >= this.#writeDeadline) {
      this.#expire(
        `a write of ${this.#writeSize} bytes did not complete within ${this.#writeTimeout} ms`,
      );
    }
  }

  #expire(reason: string): void {
    if (this.#timedOut || this.#closed) return;
    this.#timedOut = true;
    unwatchDeadlines(this);
    const error = new ConnectionClosedError(`connection closed: ${reason}`);
    this.#rxError ??= error;
    this.#txError ??= error;
    try {
      this.#onTimeout?.(reason);
    } finally {
      try {
        this.#stream.close();
      } catch {
        // already closed
      }
    }
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
   * True when a whole frame (or a malformed header) waits in the buffer: the next
   * {@linkcode MessageConnection.receive} settles without reading.
   */
  get hasBufferedFrame(): boolean {
    const avail = this.#end - this.#start;
    if (avail < HEADER_SIZE) return false;
    try {
      const header = readHeader(this.#buf, this.#start, this.#end, this.#max);
      return avail >= HEADER_SIZE + header.annotationsSize + header.dataSize;
    } catch {
      return true; // receive() reports it at once
    }
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
      : this.#rxTail.then(this.#receiveNext ??= () => this.#receiveOne(), this.#receiveNext);
    this.#rxTail = p;
    return p;
  }

  /** Made by the first receive after another (most connections listen instead). */
  #receiveNext: (() => Promise<Message | null>) | undefined;

  /** One receive: the frame loop (one async function, reads inlined: this is the hot path). */
  async #receiveOne(): Promise<Message | null> {
    let emptyReads = 0;
    try {
      if (this.#rxError) throw this.#rxError;
      for (;;) {
        if (this.#closed) return null;
        const buf = this.#buf;
        const start = this.#start;
        const avail = this.#end - start;
        if (avail >= HEADER_SIZE) {
          const header = readHeader(buf, start, this.#end, this.#max);
          const total = HEADER_SIZE + header.annotationsSize + header.dataSize;
          if (avail >= total) {
            // A view: bytes once returned are never overwritten (see #fresh).
            this.#start = start + total;
            this.#frameDeadline = 0;
            const body = buf.subarray(start + HEADER_SIZE, start + total);
            if (header.flags & Flags.COMPRESSED) return await this.#inflated(header, body);
            return decodeMessageBody(header, body, this.#max);
          }
          if (total > BUFFER_SIZE) return await this.#readLarge(header, total);
          if (start + total > buf.length) this.#fresh(total);
        } else if (avail > 0) {
          checkFramePrefix(buf.subarray(start, this.#end));
        }
        this.#prepareRead();
        let n: number | null;
        try {
          n = await this.#stream.read(this.#buf.subarray(this.#end));
        } catch (e) {
          if (this.#closed && !this.#timedOut) return null; // closed here: no error to build
          throw this.#readFailed(e);
        }
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
      }
    } catch (e) {
      if (this.#closed) return null;
      this.#rxError ??= e instanceof Error ? e : new Error(String(e));
      throw e;
    } finally {
      this.#rxCount--;
    }
  }

  /**
   * Delivers every message to `receiver` as it is read, instead of {@linkcode receive} calls
   * (no promise per message): a read goes out as soon as the buffered messages are delivered,
   * or once the promise `message` returned settles. Compressed and large frames take the
   * receive path. `ended` is called once: with null at a clean end of stream and after
   * {@linkcode close}, else with the error `receive` would throw. Nothing is delivered before
   * `listen` returns. Call it once, with no receive pending.
   *
   * @example Listening for pings
   * ```ts
   * import { MessageConnection } from "./connection.ts";
   * import { encodeMessage, MessageType } from "./protocol.ts";
   *
   * const frame = encodeMessage({ type: MessageType.PING, serializerId: 4, seq: 9 });
   * let unread = true;
   * const conn = new MessageConnection({
   *   read(p) {
   *     if (!unread) return Promise.resolve(null);
   *     unread = false;
   *     p.set(frame);
   *     return Promise.resolve(frame.length);
   *   },
   *   write: (p) => Promise.resolve(p.length),
   *   close() {},
   * });
   * const { promise, resolve } = Promise.withResolvers<void>();
   * conn.listen({ message: (msg) => console.log(msg.seq), ended: () => resolve() }); // 9
   * await promise;
   * conn.close();
   * ```
   *
   * @param receiver Gets the messages and the end.
   */
  listen(receiver: MessageReceiver): void {
    this.#receiver = receiver;
    queueMicrotask(this.#pump); // never a message before listen() returns
  }

  /** Delivers the buffered messages, then reads (listen mode; the hot path). */
  #pump = (): void => {
    const receiver = this.#receiver!;
    try {
      if (this.#rxError) throw this.#rxError;
      for (;;) {
        if (this.#closed) {
          this.#ended(null);
          return;
        }
        const buf = this.#buf;
        const start = this.#start;
        const plain = readPlainMessage(buf, start, this.#end, this.#plainMax);
        if (plain !== null) {
          // The common case in one step: a whole small frame without annotations.
          this.#start = start + HEADER_SIZE + plain.data.length;
          this.#frameDeadline = 0;
          const wait = receiver.message(plain);
          if (wait !== undefined) {
            wait.then(this.#pump, this.#pump);
            return;
          }
          continue;
        }
        const avail = this.#end - start;
        if (avail >= HEADER_SIZE) {
          const header = readHeader(buf, start, this.#end, this.#max);
          const total = HEADER_SIZE + header.annotationsSize + header.dataSize;
          if (header.flags & Flags.COMPRESSED || total > BUFFER_SIZE) {
            // Off the hot path: receive() inflates and reads large bodies.
            this.receive().then((m) => this.#slowMessage(m), (e) => this.#ended(e));
            return;
          }
          if (avail >= total) {
            // A view: bytes once returned are never overwritten (see #fresh).
            this.#start = start + total;
            this.#frameDeadline = 0;
            const msg = decodeMessageBody(header, buf.subarray(start + HEADER_SIZE, start + total));
            const wait = receiver.message(msg);
            if (wait !== undefined) {
              wait.then(this.#pump, this.#pump);
              return;
            }
            continue;
          }
          if (start + total > buf.length) this.#fresh(total);
        } else if (avail > 0) {
          checkFramePrefix(buf.subarray(start, this.#end));
        }
        this.#prepareRead();
        this.#stream.read(this.#buf.subarray(this.#end)).then(this.#pumped, this.#pumpFailed);
        return;
      }
    } catch (e) {
      this.#ended(e);
    }
  };

  #pumped = (n: number | null): void => {
    if (n === null) {
      if (this.#closed || this.#end === this.#start) this.#ended(null);
      else this.#ended(new ConnectionClosedError("receiving: not enough data"));
      return;
    }
    if (n === 0) {
      if (++this.#emptyReads > MAX_EMPTY_IO) {
        this.#ended(
          new ConnectionClosedError("receiving: connection lost: stream returns no data"),
        );
        return;
      }
    } else {
      this.#emptyReads = 0;
    }
    this.#end += n;
    this.#pump();
  };

  #pumpFailed = (e: unknown): void => {
    if (this.#closed && !this.#timedOut) this.#ended(null); // closed here: no error to build
    else this.#ended(this.#readFailed(e));
  };

  #slowMessage(msg: Message | null): void {
    if (msg === null) {
      this.#ended(null);
      return;
    }
    const wait = this.#receiver!.message(msg);
    if (wait !== undefined) wait.then(this.#pump, this.#pump);
    else this.#pump();
  }

  /** Ends listen mode: tells the receiver once. */
  #ended(e: unknown): void {
    const receiver = this.#receiver;
    if (receiver === null) return;
    this.#receiver = null;
    if (e === null || this.#closed) {
      receiver.ended(null);
      return;
    }
    const error = e instanceof Error ? e : new Error(String(e));
    this.#rxError ??= error;
    receiver.ended(error);
  }

  /** Makes room for the next read, and starts the frame deadline when a frame has begun. */
  #prepareRead(): void {
    const room = this.#buf.length - this.#end;
    if (room < MIN_READ && (room < FIRST_MIN_READ || this.#buf.length !== FIRST_BUFFER_SIZE)) {
      this.#fresh(HEADER_SIZE);
    }
    if (this.#frameTimeout > 0 && this.#frameDeadline === 0 && this.#end > this.#start) {
      this.#frameDeadline = Date.now() + this.#frameTimeout; // a frame has begun
    }
  }

  /**
   * Moves the unread bytes to a new buffer with room for a frame of `need` bytes. Returned
   * messages are views into the old buffer, so it is never written again: it is freed once
   * they are gone. An idle connection keeps its small first buffer; traffic gets full-size ones.
   */
  #fresh(need: number): void {
    const unread = this.#buf.subarray(this.#start, this.#end);
    const next = new Uint8Array(
      this.#start === 0 && unread.length + need <= INITIAL_BUFFER_SIZE
        ? INITIAL_BUFFER_SIZE
        : BUFFER_SIZE,
    );
    next.set(unread);
    this.#buf = next;
    this.#end = unread.length;
    this.#start = 0;
  }

  /**
   * Reads a frame larger than the shared buffer into a body buffer of its own. Bodies up to
   * 16 MiB are allocated at once; larger ones grow as their bytes arrive, so that a header
   * alone cannot make the process reserve a gigabyte.
   */
  async #readLarge(header: Header, total: number): Promise<Message | null> {
    const size = total - HEADER_SIZE;
    receivingLarge += size;
    try {
      return await this.#receiveLarge(header, size);
    } finally {
      receivingLarge -= size;
    }
  }

  async #receiveLarge(header: Header, size: number): Promise<Message | null> {
    // A spare buffer of about the right size saves the cost of fresh memory (page faults).
    const spare = size >= POOL_MIN && size <= EAGER_BODY_LIMIT
      ? takeBuffer(size, size + (size >> 2))
      : null;
    if (spare !== null && spare.byteLength > size) new Uint8Array(spare, size).fill(0);
    let body = spare !== null
      ? new Uint8Array(spare, 0, size)
      : this.#body(Math.min(size, EAGER_BODY_LIMIT));
    let filled = this.#end - this.#start - HEADER_SIZE;
    body.set(this.#buf.subarray(this.#start + HEADER_SIZE, this.#end));
    this.#start = this.#end;
    let emptyReads = 0;
    while (filled < size) {
      if (filled === body.length) {
        const bigger = this.#body(Math.min(size, body.length * 2));
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
    this.#frameDeadline = 0;
    if (header.flags & Flags.COMPRESSED) return await this.#inflated(header, body);
    return decodeMessageBody(header, body, this.#max);
  }

  /**
   * A body buffer: mapped (see `mappedBodies`) while more than `MAPPED_ABOVE` bytes of large
   * bodies are being received at once in the process, else from the C allocator, which reuses
   * freed memory without page faults (a daemon's 1 MiB echo: 540 against 1,218 us of server CPU
   * per call when every body was mapped).
   */
  #body(size: number): Uint8Array {
    return this.#mappedBodies && receivingLarge > MAPPED_ABOVE
      ? largeBuffer(size)
      : new Uint8Array(size);
  }

  /** Decodes a compressed message, inflating its payload in bounded steps (off the hot path). */
  async #inflated(header: Header, body: Uint8Array): Promise<Message | null> {
    const msg = decodeMessageBody({ ...header, flags: header.flags & ~Flags.COMPRESSED }, body);
    msg.data = await inflatePayload(msg.data, this.#maxInflated);
    return this.#closed ? null : msg;
  }

  async #read(p: Uint8Array): Promise<number | null> {
    try {
      return await this.#stream.read(p);
    } catch (e) {
      throw this.#readFailed(e);
    }
  }

  #readFailed(e: unknown): Error {
    if (this.#timedOut) return this.#rxError!;
    return new ConnectionClosedError(`receiving: connection lost: ${errorMessage(e)}`, {
      cause: e,
    });
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
      const done = Promise.withResolvers<void>();
      this.#begin(frame, done, null, frame);
      return done.promise;
    }
    this.#pending.push(frame);
    this.#pendingBytes += frame.length;
    this.#batch ??= Promise.withResolvers<void>();
    return this.#batch.promise;
  }

  /**
   * Sends one frame as {@linkcode MessageConnection.send} does, without a promise: `listener`
   * hears when it has been written (`sent`, with the frame) or that writing failed
   * (`sendFailed`, never synchronously).
   *
   * @example
   * ```ts
   * import { MessageConnection } from "./connection.ts";
   * import { encodeMessage, MessageType } from "./protocol.ts";
   *
   * const conn = new MessageConnection({
   *   read: () => Promise.resolve(null),
   *   write: (p) => Promise.resolve(p.length),
   *   close() {},
   * });
   * const { promise, resolve } = Promise.withResolvers<number>();
   * conn.sendWith(encodeMessage({ type: MessageType.PING, serializerId: 4, seq: 1 }), {
   *   sent: (frame) => resolve(frame.length),
   *   sendFailed: (e) => console.log(e.message),
   * });
   * console.log(await promise); // 40
   * conn.close();
   * ```
   *
   * @param frame The whole frame.
   * @param listener Told when the frame is written or cannot be.
   */
  sendWith(frame: Uint8Array, listener: SendListener): void {
    const error = this.#closed
      ? new ConnectionClosedError("sending: connection closed")
      : this.#txError;
    if (error !== null) {
      queueMicrotask(() => listener.sendFailed(error));
      return;
    }
    if (!this.#writing) {
      this.#begin(frame, null, listener, frame);
      return;
    }
    this.#pending.push(frame);
    this.#pendingBytes += frame.length;
    (this.#pendingListeners ??= []).push(listener, frame);
  }

  /** Starts writing `data`, with who waits for it (a promise, a listener and its frame). */
  #begin(
    data: Uint8Array,
    done: PromiseWithResolvers<void> | null,
    listener: SendListener | null,
    frame: Uint8Array | null,
  ): void {
    this.#writing = true;
    this.#wData = data;
    this.#wOff = 0;
    this.#wEmpty = 0;
    this.#wDone = done;
    this.#wListener = listener;
    this.#wFrame = frame;
    this.#writeChunk();
  }

  /** Writes the rest of the current buffer (one write; #wrote goes on). */
  #writeChunk(): void {
    const data = this.#wData;
    const off = this.#wOff;
    if (this.#writeTimeout > 0) {
      this.#writeDeadline = -1; // stamped by the next sweep (checkDeadlines)
      this.#writeSize = data.length - off;
    }
    let written: Promise<number>;
    try {
      written = this.#stream.write(off === 0 ? data : data.subarray(off));
    } catch (e) {
      this.#wroteError(e);
      return;
    }
    written.then(this.#wrote, this.#wroteError);
  }

  #wrote = (n: number): void => {
    if (n === 0 && ++this.#wEmpty > MAX_EMPTY_IO) {
      this.#writeFailed(
        new ConnectionClosedError("sending: connection lost: stream accepts no data"),
      );
      return;
    }
    this.#wOff += n;
    if (this.#wOff < this.#wData.length) {
      this.#writeChunk();
      return;
    }
    this.#writeDeadline = 0;
    const done = this.#wDone;
    const listener = this.#wListener;
    const frame = this.#wFrame;
    const listeners = this.#wListeners;
    this.#wData = EMPTY_FRAME;
    this.#wDone = null;
    this.#wListener = null;
    this.#wFrame = null;
    this.#wListeners = null;
    this.#writeNext();
    done?.resolve();
    if (listener !== null) listener.sent(frame!);
    if (listeners !== null) {
      for (let i = 0; i < listeners.length; i += 2) {
        (listeners[i] as SendListener).sent(listeners[i + 1] as Uint8Array);
      }
    }
  };

  #wroteError = (e: unknown): void => {
    let error: Error;
    if (this.#closed) error = new ConnectionClosedError("sending: connection closed");
    else if (this.#timedOut && this.#txError !== null) error = this.#txError;
    else {
      error = new ConnectionClosedError(`sending: connection lost: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    this.#writeFailed(error);
  };

  /** After a write: writes the frames gathered meanwhile, or ends the writing state. */
  #writeNext(): void {
    const chunks = this.#pending;
    if (chunks.length === 0) {
      this.#writing = false;
      return;
    }
    const data = chunks.length === 1 ? chunks[0]! : concatFrames(chunks, this.#pendingBytes);
    const batch = this.#batch;
    const listeners = this.#pendingListeners;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#batch = null;
    this.#pendingListeners = null;
    if (this.#closed) {
      this.#writing = false;
      const error = new ConnectionClosedError("sending: connection closed");
      batch?.reject(error);
      if (listeners !== null) notifyFailed(listeners, error);
      return;
    }
    this.#begin(data, batch, null, null);
    this.#wListeners = listeners;
  }

  /** A write failed: it, the frames queued behind it and every later send fail. */
  #writeFailed(error: Error): void {
    this.#txError ??= error;
    this.#writing = false;
    this.#writeDeadline = 0;
    const done = this.#wDone;
    const listener = this.#wListener;
    const listeners = this.#wListeners;
    const batch = this.#batch;
    const queued = this.#pendingListeners;
    this.#wData = EMPTY_FRAME;
    this.#wDone = null;
    this.#wListener = null;
    this.#wFrame = null;
    this.#wListeners = null;
    this.#batch = null;
    this.#pendingListeners = null;
    this.#pending = [];
    this.#pendingBytes = 0;
    done?.reject(error);
    listener?.sendFailed(error);
    if (listeners !== null) notifyFailed(listeners, error);
    batch?.reject(this.#txError);
    if (queued !== null) notifyFailed(queued, this.#txError);
  }

  /**
   * Closes the stream. Pending and later sends reject with `ConnectionClosedError`; pending
   * and later receives resolve to null. Calling it again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#frameTimeout > 0 || this.#writeTimeout > 0) unwatchDeadlines(this);
    try {
      this.#stream.close();
    } catch {
      // already closed by the peer or the runtime
    }
  }
}
