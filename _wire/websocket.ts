/**
 * Pyro frames over a WebSocket: a {@linkcode ByteStream} that a `MessageConnection` runs over
 * exactly as over TCP, so the proxy and the daemon need no second implementation. Every
 * binary message carries one whole Pyro5 frame, unchanged; text messages carry the opening
 * exchange only (see {@linkcode openWebSocket} and docs in README "Web").
 *
 * Works with the platform `WebSocket` alone (browsers and Deno), no Deno API.
 *
 * @example A frame splitter feeding a WebSocket-like sink
 * ```ts
 * import { FrameSplitter } from "./websocket.ts";
 * import { encodeMessage, MessageType } from "./protocol.ts";
 *
 * const frames: number[] = [];
 * const splitter = new FrameSplitter((frame) => frames.push(frame.length));
 * const ping = encodeMessage({ type: MessageType.PING, serializerId: 4, seq: 1 });
 * const two = new Uint8Array(ping.length * 2);
 * two.set(ping);
 * two.set(ping, ping.length);
 * splitter.push(two.subarray(0, 50));
 * splitter.push(two.subarray(50));
 * console.log(frames); // [ 40, 40 ]
 * ```
 *
 * @module
 */

import type { ByteStream } from "./connection.ts";
import { errorMessage } from "./error_text.ts";
import { CommunicationError, ConnectionClosedError, TimeoutError } from "../errors.ts";
import * as errors from "../errors.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, HEADER_SIZE, readHeader } from "./protocol.ts";

/**
 * Cuts a byte stream into whole Pyro frames (reading each header's sizes), handing each frame
 * to `emit` once complete. Frames that arrive whole are handed over as views, without a copy.
 *
 * @example
 * ```ts
 * import { FrameSplitter } from "./websocket.ts";
 * const splitter = new FrameSplitter((frame) => console.log(frame.length));
 * console.log(splitter.buffered); // 0
 * ```
 */
export class FrameSplitter {
  readonly #emit: (frame: Uint8Array) => void;
  readonly #max: number;
  #partial: Uint8Array | null = null;
  #filled = 0;

  /**
   * @param emit Receives each frame, in order.
   * @param maxMessageSize The largest frame body accepted.
   */
  constructor(emit: (frame: Uint8Array) => void, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE) {
    this.#emit = emit;
    this.#max = maxMessageSize;
  }

  /** Bytes held of a frame not yet complete. */
  get buffered(): number {
    return this.#filled;
  }

  /**
   * Adds bytes.
   *
   * @throws {ProtocolError} For bytes that are not Pyro frames.
   */
  push(bytes: Uint8Array): void {
    let pos = 0;
    if (this.#partial !== null) pos = this.#fill(bytes);
    while (pos < bytes.length) {
      const left = bytes.length - pos;
      if (left >= HEADER_SIZE) {
        const h = readHeader(bytes, pos, bytes.length, this.#max);
        const total = HEADER_SIZE + h.annotationsSize + h.dataSize;
        if (left >= total) {
          this.#emit(bytes.subarray(pos, pos + total));
          pos += total;
          continue;
        }
        this.#partial = new Uint8Array(total);
      } else {
        this.#partial = new Uint8Array(HEADER_SIZE); // grows once the header is complete
      }
      this.#partial.set(bytes.subarray(pos));
      this.#filled = left;
      return;
    }
  }

  /** Completes the held frame from `bytes`; returns how many bytes it took. */
  #fill(bytes: Uint8Array): number {
    let taken = 0;
    for (;;) {
      const partial = this.#partial!;
      const n = Math.min(partial.length - this.#filled, bytes.length - taken);
      partial.set(bytes.subarray(taken, taken + n), this.#filled);
      this.#filled += n;
      taken += n;
      if (this.#filled < partial.length) return taken;
      if (partial.length === HEADER_SIZE) {
        const h = readHeader(partial, 0, HEADER_SIZE, this.#max);
        const total = HEADER_SIZE + h.annotationsSize + h.dataSize;
        if (total > HEADER_SIZE) {
          const grown = new Uint8Array(total);
          grown.set(partial);
          this.#partial = grown;
          continue;
        }
      }
      this.#partial = null;
      this.#filled = 0;
      this.#emit(partial);
      return taken;
    }
  }
}

/** Options of {@linkcode WebSocketByteStream}. */
export interface WebSocketByteStreamOptions {
  /**
   * Received bytes allowed to wait unread (a peer sending faster than we read); past this the
   * WebSocket is closed (code 1009). One message larger than this is still taken when nothing
   * else waits.
   *
   * @default {16777216}
   */
  maxQueuedBytes?: number;
  /**
   * Bytes allowed in the WebSocket's send buffer (`bufferedAmount`) before writes wait for it
   * to drain.
   *
   * @default {4194304}
   */
  highWaterMark?: number;
  /** The largest frame body accepted. @default {1073741824} */
  maxMessageSize?: number;
  /** Called with the first text message (the opening exchange); later ones close the stream. */
  onText?: (text: string) => void;
}

/** How often a writer checks whether a full send buffer has drained, in ms. */
const DRAIN_POLL = 5;

/** The WebSocket close codes that mean a normal end of stream. */
const CLEAN_CLOSE = new Set([1000, 1001, 1005]);

/**
 * A {@linkcode ByteStream} over an open WebSocket: reads give the bytes of received binary
 * messages, writes are cut into whole frames and sent one frame per binary message.
 *
 * @example
 * ```ts
 * import { WebSocketByteStream } from "./websocket.ts";
 * console.log(typeof WebSocketByteStream.prototype.read); // "function"
 * ```
 */
export class WebSocketByteStream implements ByteStream {
  readonly #ws: WebSocket;
  readonly #splitter: FrameSplitter;
  readonly #maxQueued: number;
  readonly #highWater: number;
  #onText: ((text: string) => void) | undefined;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #endError: Error | null = null;
  #waiting: PromiseWithResolvers<void> | null = null;

  /**
   * @param ws An open WebSocket (or one still connecting: writes need it open).
   * @param options Limits and the text handler.
   */
  constructor(ws: WebSocket, options: WebSocketByteStreamOptions = {}) {
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    this.#maxQueued = options.maxQueuedBytes ?? 16 * 1024 * 1024;
    this.#highWater = options.highWaterMark ?? 4 * 1024 * 1024;
    this.#onText = options.onText;
    this.#splitter = new FrameSplitter((frame) => ws.send(frame), options.maxMessageSize);
    ws.addEventListener("message", this.#onMessage);
    ws.addEventListener("close", this.#onClose);
    ws.addEventListener("error", this.#onError);
    if (ws.readyState >= 2) this.#end(null);
  }

  /** The WebSocket underneath. */
  get socket(): WebSocket {
    return this.#ws;
  }

  #onMessage = (event: MessageEvent): void => {
    const data = event.data;
    if (typeof data === "string") {
      const onText = this.#onText;
      this.#onText = undefined; // one text message: the opening exchange
      if (onText !== undefined) onText(data);
      else this.#fail(1002, "unexpected text message");
      return;
    }
    if (!(data instanceof ArrayBuffer)) return;
    if (this.#queued > 0 && this.#queued + data.byteLength > this.#maxQueued) {
      this.#fail(1009, `more than ${this.#maxQueued} bytes received and not read`);
      return;
    }
    this.#queue.push(new Uint8Array(data));
    this.#queued += data.byteLength;
    this.#wake();
  };

  #onClose = (event: CloseEvent): void => {
    this.#end(
      CLEAN_CLOSE.has(event.code) ? null : new ConnectionClosedError(
        `connection closed by the peer (code ${event.code}${
          event.reason ? `: ${event.reason}` : ""
        })`,
      ),
    );
  };

  #onError = (): void => {
    // A close event follows with the code; nothing to do until then.
  };

  #end(error: Error | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endError = error;
    this.#ws.removeEventListener("message", this.#onMessage);
    this.#wake();
  }

  #fail(code: number, reason: string): void {
    this.#end(new ConnectionClosedError(`connection closed: ${reason}`));
    try {
      this.#ws.close(code, reason);
    } catch {
      // already closing
    }
  }

  #wake(): void {
    const w = this.#waiting;
    if (w !== null) {
      this.#waiting = null;
      w.resolve();
    }
  }

  /** Copies received bytes into `p`; null at a clean close once everything was read. */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#queue.length === 0) {
      if (this.#ended) {
        if (this.#endError !== null) throw this.#endError;
        return null;
      }
      this.#waiting ??= Promise.withResolvers<void>();
      await this.#waiting.promise;
    }
    let n = 0;
    while (n < p.length && this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const take = Math.min(head.length, p.length - n);
      p.set(take === head.length ? head : head.subarray(0, take), n);
      n += take;
      if (take === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(take);
    }
    this.#queued -= n;
    return n;
  }

  /** Sends the frames in `p` (one binary message each); waits while the send buffer is full. */
  async write(p: Uint8Array): Promise<number> {
    const ws = this.#ws;
    if (this.#ended || ws.readyState !== 1) {
      throw this.#endError ?? new ConnectionClosedError("connection closed");
    }
    while (ws.bufferedAmount > this.#highWater) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL));
      if (ws.readyState !== 1) {
        throw this.#endError ?? new ConnectionClosedError("connection closed");
      }
    }
    this.#splitter.push(p);
    return p.length;
  }

  /** Closes the WebSocket (code 1000). */
  close(): void {
    this.#end(null);
    this.#ws.removeEventListener("close", this.#onClose);
    this.#ws.removeEventListener("error", this.#onError);
    if (this.#ws.readyState <= 1) this.#ws.close(1000);
  }
}

/** The opening message a client sends on a Pyro WebSocket. */
export interface WebSocketHello {
  /** The object: `PYRONAME:name`, a bare name, or (to a daemon) `PYRO:id@...` or an id. */
  object: string;
  /** The gateway key, when the gateway asks for one. */
  key?: string;
}

/** The answer to {@linkcode WebSocketHello}: the object id to use, or why not. */
export type WebSocketWelcome =
  | { object: string }
  | { error: { __class__: string; message: string } };

/** Options of {@linkcode openWebSocket}. */
export interface OpenWebSocketOptions {
  /** Milliseconds for opening and the opening exchange; 0 means no limit. @default {0} */
  timeout?: number;
  /** Cancels the attempt. */
  signal?: AbortSignal | undefined;
  /** The gateway key. */
  key?: string | undefined;
  /** The largest frame body accepted. */
  maxMessageSize?: number;
}

/** An open Pyro WebSocket after the opening exchange. */
export interface OpenedWebSocket {
  /** The object id to put in CONNECT and INVOKE messages. */
  objectId: string;
  /** The stream to run a `MessageConnection` over. */
  stream: WebSocketByteStream;
}

const ERROR_CLASSES: Record<string, new (message: string) => Error> = {
  NamingError: errors.NamingError,
  SecurityError: errors.SecurityError,
  DaemonError: errors.DaemonError,
  CommunicationError: errors.CommunicationError,
  ConnectionClosedError: errors.ConnectionClosedError,
  ProtocolError: errors.ProtocolError,
  PyroError: errors.PyroError,
};

/**
 * Opens a Pyro WebSocket: connects to `url`, sends the hello (`{"object", "key"}` as one text
 * message) and reads the welcome (`{"object": id}`, or `{"error": ...}` and a close).
 *
 * @example
 * ```ts
 * import { openWebSocket } from "./websocket.ts";
 * import { CommunicationError } from "../errors.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close(); // nothing listens there any more
 * try {
 *   await openWebSocket(`ws://127.0.0.1:${listener.addr.port}/pyro/ws`, { object: "x" });
 * } catch (e) {
 *   console.log(e instanceof CommunicationError); // true
 * }
 * ```
 *
 * @param url The `ws:` or `wss:` URL of a gateway's `/pyro/ws` or a daemon's handler.
 * @param hello The object wanted (and the key).
 * @param options Timeout, abort signal and limits.
 * @returns The object id and the stream.
 * @throws {CommunicationError} "Cannot connect to <url>: <reason>".
 * @throws {NamingError} For a name the gateway does not know (and other classes it names).
 * @throws {TimeoutError} When the timeout passes first.
 */
export async function openWebSocket(
  url: string | URL,
  hello: WebSocketHello,
  options: OpenWebSocketOptions = {},
): Promise<OpenedWebSocket> {
  const timeout = options.timeout ?? 0;
  const signal = options.signal;
  signal?.throwIfAborted();
  let ws: WebSocket;
  try {
    ws = new WebSocket(url);
  } catch (error) {
    throw new CommunicationError(`Cannot connect to ${url}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const welcome = Promise.withResolvers<string>();
  const stream = new WebSocketByteStream(ws, {
    onText: welcome.resolve,
    ...(options.maxMessageSize !== undefined ? { maxMessageSize: options.maxMessageSize } : {}),
  });
  const opened = Promise.withResolvers<void>();
  const failed = Promise.withResolvers<never>();
  failed.promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => failed.reject(signal!.reason);
  const onClose = (e: CloseEvent) => {
    const reason = e.reason || (e.code === 1006 ? "connection refused" : `code ${e.code}`);
    failed.reject(new CommunicationError(`Cannot connect to ${url}: ${reason}`));
  };
  ws.addEventListener("open", () => opened.resolve(), { once: true });
  ws.addEventListener("close", onClose);
  signal?.addEventListener("abort", onAbort, { once: true });
  if (timeout > 0) {
    timer = setTimeout(
      () => failed.reject(new TimeoutError(`Cannot connect to ${url}: timeout`)),
      timeout,
    );
  }
  try {
    await Promise.race([opened.promise, failed.promise]);
    ws.send(JSON.stringify(hello));
    const answer = parseWelcome(await Promise.race([welcome.promise, failed.promise]));
    if ("error" in answer) {
      const Class = ERROR_CLASSES[answer.error.__class__] ?? errors.CommunicationError;
      throw new Class(answer.error.message);
    }
    return { objectId: answer.object, stream };
  } catch (error) {
    stream.close();
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    ws.removeEventListener("close", onClose);
  }
}

function parseWelcome(text: string): WebSocketWelcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = null;
  }
  if (typeof value === "object" && value !== null) {
    const v = value as Record<string, unknown>;
    if (typeof v.object === "string") return { object: v.object };
    const e = v.error as Record<string, unknown> | undefined;
    if (typeof e === "object" && e !== null && typeof e.message === "string") {
      return { error: { __class__: String(e.__class__), message: e.message } };
    }
  }
  throw new errors.ProtocolError(`invalid WebSocket welcome: ${text.slice(0, 80)}`);
}
