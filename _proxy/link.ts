/**
 * One open proxy connection after its handshake: pipelined requests, replies matched to their
 * calls by sequence number (in request order from Python Pyro5, which answers one call at a
 * time; in the order calls finish from our daemon), per-call timeouts and abort signals. Internal to the
 * proxy (see proxy.ts); exported for the proxy's own modules only.
 *
 * @example
 * ```ts
 * import { MessageConnection } from "../_wire/connection.ts";
 * import { Link } from "./link.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = new MessageConnection(await Deno.connect({ port: listener.addr.port }));
 * const link = new Link(conn, 4, "127.0.0.1", "thing");
 * link.fail(new Error("done"));
 * console.log(link.closed); // true
 * ```
 *
 * @module
 */

import type { MessageConnection, MessageReceiver, SendListener } from "../_wire/connection.ts";
import {
  CommunicationError,
  ConnectionClosedError,
  ProtocolError,
  SerializeError,
  TimeoutError,
} from "../errors.ts";
import {
  encodeFrame,
  type EncodeOptions,
  Flags,
  HEADER_SIZE,
  type Message,
  MessageType,
  writePlainHeader,
} from "../_wire/protocol.ts";
import { POOL_MIN, releaseBuffer } from "../_wire/buffer_pool.ts";
import { allocBytes } from "../_wire/slab.ts";
import { errorMessage } from "../_wire/error_text.ts";
import type { CallOptions } from "./options.ts";

/**
 * Turns a reply into a call's result (the proxy core): one object for every call instead of a
 * closure per call.
 *
 * @example
 * ```ts
 * import type { ReplyReader } from "./link.ts";
 * const reader: ReplyReader<number> = { readReply: (_link, msg) => msg.data.length };
 * console.log(typeof reader.readReply); // function
 * ```
 */
export interface ReplyReader<T> {
  /**
   * The result of a call from its reply; what it throws rejects the call.
   *
   * @param link The link the reply came on.
   * @param msg The reply.
   * @param options The call's options.
   */
  readReply(link: Link, msg: Message, options: CallOptions | null): T;
}

/**
 * Who hears that a link has closed (the proxy whose connection it is).
 *
 * @example
 * ```ts
 * import type { LinkOwner } from "./link.ts";
 * const owner: LinkOwner = { linkClosed: (link) => console.log(link.location) };
 * console.log(typeof owner.linkClosed); // function
 * ```
 */
export interface LinkOwner {
  /** The link has closed. */
  linkClosed(link: Link): void;
}

/** The resolving functions of the promise made last (see `capture`). */
let capturedResolve: ((value: never) => void) | null = null;
let capturedReject: ((error: unknown) => void) | null = null;

/** A promise executor that is not a closure per promise: it leaves the functions above. */
function capture(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * A request waiting for its reply. Doubles as the abort listener (no per-call closure).
 *
 * @example A pending call fails when its link closes
 * ```ts
 * import { Link } from "./link.ts";
 * import { MessageConnection } from "../_wire/connection.ts";
 *
 * // A peer that has gone: every read is the end of the stream.
 * const gone = {
 *   read: () => Promise.resolve(null),
 *   write: (p: Uint8Array) => Promise.resolve(p.length),
 *   close() {},
 * };
 * const link = new Link(new MessageConnection(gone), 4, "127.0.0.1:9999", "thing");
 * const pending = link.expect(1, 0, undefined); // registered before its request is sent
 * link.start();
 * await pending.promise.catch((e) => console.log(e.name, e.message)); // ConnectionClosedError receiving: not enough data
 * await link.done;
 * ```
 */
export class Pending<T = Message> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  readonly link: Link;
  readonly seq: number;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  signal: AbortSignal | null = null;
  abandoned = false;
  /** The serializer of the expected reply when not the link's (a forwarded blob's). */
  serializerId = -1;
  /** Turns the reply into what the promise resolves to; null: the reply message itself. */
  readonly reader: ReplyReader<T> | null;
  /** The call's options, for the reader. */
  readonly options: CallOptions | null;

  constructor(
    link: Link,
    seq: number,
    reader: ReplyReader<T> | null = null,
    options: CallOptions | null = null,
  ) {
    this.promise = new Promise<T>(capture);
    this.resolve = capturedResolve as (value: T) => void;
    this.reject = capturedReject!;
    capturedResolve = capturedReject = null; // not kept alive by the module
    this.link = link;
    this.seq = seq;
    this.reader = reader;
    this.options = options;
  }

  /** The abort listener: the call fails with the signal's reason; its late reply is dropped. */
  handleEvent(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    const reason = this.signal?.reason;
    this.#clear();
    this.reject(reason);
  }

  settle(msg: Message): void {
    if (this.abandoned) return;
    this.#clear();
    const reader = this.reader;
    if (reader === null) {
      this.resolve(msg as T); // T is Message without a reader (see Link.expect)
      return;
    }
    let value: T;
    try {
      value = reader.readReply(this.link, msg, this.options);
    } catch (e) {
      this.reject(e);
      return;
    }
    this.resolve(value);
  }

  fail(error: unknown): void {
    if (this.abandoned) return;
    this.abandoned = true;
    this.#clear();
    this.reject(error);
  }

  #clear(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.signal !== null) {
      this.signal.removeEventListener("abort", this);
      this.signal = null;
    }
  }
}

/**
 * Microtask turns the read loop of a young link lets pass before reading again when no call is
 * waiting: enough for `await proxy.method(); await proxy._pyroRelease()` to close first (6
 * turns), and for `resolve()`'s lookup and release of its name server proxy (8), with room.
 */
const IDLE_HOPS = 10;
/** Replies after which a link no longer lets those turns pass. */
const EARLY_REPLIES = 4;
/** Plain INVOKE frames up to this size are built in the link's own frame buffer. */
const FRAME_BUFFER_SIZE = 512;

/** Lets IDLE_HOPS microtask turns pass (fewer once the link closes). */
async function idleHops(link: Link): Promise<void> {
  for (let i = 0; i < IDLE_HOPS && !link.closed; i++) await null;
}

function onCallTimeout(pending: Pending<unknown>): void {
  pending.timer = undefined;
  pending.link.timedOut(pending);
}

function asCommunicationError(error: unknown): Error {
  if (error instanceof CommunicationError) return error;
  return new ConnectionClosedError(`receiving: connection lost: ${errorMessage(error)}`, {
    cause: error,
  });
}

/**
 * A connected, handshaken connection of a proxy.
 *
 * @example One call over a link to a daemon
 * ```ts
 * import { Daemon } from "../daemon.ts";
 * import { expose } from "../expose.ts";
 * import { MessageConnection } from "../_wire/connection.ts";
 * import { encodeFrame, MessageType } from "../_wire/protocol.ts";
 * import { getSerializer } from "../serializer.ts";
 * import { handshakeBytes } from "./handshake.ts";
 * import { Link } from "./link.ts";
 *
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * daemon.register(expose({ echo: (x: unknown) => x }), "echo");
 * const { port } = daemon.addr as Deno.NetAddr;
 * const json = getSerializer("json");
 * const conn = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port }));
 * const link = new Link(conn, json.id, daemon.locationStr, "echo");
 * const ok = await link.open(handshakeBytes({
 *   serializer: json, seq: 0, correlationId: null, annotations: null, handshake: "hello",
 *   objectId: "echo", location: daemon.locationStr, encodeOptions: {},
 * }));
 * console.log(ok.type === MessageType.CONNECTOK); // true
 * const pending = link.expect(1, 0, undefined);
 * const call = { object: "echo", method: "echo", params: ["hi"], kwargs: {} };
 * link.send(encodeFrame({ type: MessageType.INVOKE, serializerId: json.id, seq: 1, data: json.dumpsCall(call) }));
 * console.log(json.loads((await pending.promise).data)); // hi
 * link.fail(new Error("done"));
 * await link.done;
 * ```
 */
export class Link implements SendListener, MessageReceiver {
  readonly conn: MessageConnection;
  readonly serializerId: number;
  /** "host:port", "[::1]:port" or "./u:path", for messages. */
  readonly location: string;
  /** The object id the handshake was made for (the resolved one for PYRONAME URIs). */
  readonly objectId: string;
  /**
   * Calls awaiting their reply, in request order, from #head; a call answered out of order
   * leaves a hole (undefined) until the calls before it are answered too.
   */
  #queue: (Pending<unknown> | undefined)[] = [];
  #head = 0;
  #holes = 0;
  #early = EARLY_REPLIES;
  closed = false;
  /** Why the link closed, once it has. */
  error: Error | null = null;
  /** Resolves when the read loop has ended. */
  done: Promise<void> = Promise.resolve();
  /** Told once when the link closes. */
  owner: LinkOwner | null = null;
  /**
   * The buffer plain INVOKE frames are built in (a share of a slab, made at the first), free
   * again once the frame built in it has been written; its views by frame length, made once.
   */
  #frameBuf: Uint8Array | null = null;
  #frameViews: Uint8Array[] = [];
  #frameFree = true;

  constructor(conn: MessageConnection, serializerId: number, location: string, objectId: string) {
    this.conn = conn;
    this.serializerId = serializerId;
    this.location = location;
    this.objectId = objectId;
  }

  /**
   * Opens the connection: writes `bytes` (CONNECT, and the first call's INVOKE with it), reads
   * in listen mode and gives the first message read, CONNECTOK or not (any other closes the
   * link). Calls registered beforehand get their replies as they follow, in the same read.
   *
   * @param bytes What to write first.
   * @returns The first message; rejects with the link's error when it closes before one.
   */
  open(bytes: Uint8Array): Promise<Message> {
    const opening = this.#opening = Promise.withResolvers<Message>();
    this.#openBytes = bytes;
    this.conn.sendWith(bytes, this);
    this.start();
    return opening.promise;
  }

  /** The first message awaited (see open), or null. */
  #opening: PromiseWithResolvers<Message> | null = null;
  /** What open() wrote: not ours to give back to the buffer pool once written. */
  #openBytes: Uint8Array | null = null;

  /** Starts reading replies. */
  start(): void {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.done = promise;
    this.#readEnded = resolve;
    this.conn.listen(this);
  }

  #readEnded: () => void = () => {};

  /**
   * A reply arrived (internal: the connection's listen mode).
   *
   * @param msg The reply.
   * @returns A promise when the next read is to wait.
   */
  message(msg: Message): Promise<void> | undefined {
    if (this.closed) return undefined;
    const opening = this.#opening;
    if (opening !== null) {
      // The handshake's answer; the first call's reply may follow in the same read.
      this.#opening = null;
      opening.resolve(msg);
      if (msg.type !== MessageType.CONNECTOK) {
        this.fail(new ConnectionClosedError("handshake failed"));
      }
      return undefined;
    }
    this.#dispatch(msg);
    if (
      this.#early > 0 && this.#head === this.#queue.length && !(msg.flags & Flags.EXCEPTION)
    ) {
      // A young link with nothing awaited after a normal reply: let the caller's
      // continuation run first. A short-lived proxy released right after its last reply
      // then closes with no read pending (a read cancelled by the close costs the runtime
      // an error object with its stack, about as much as the call); otherwise the next read
      // starts a few microtasks later. Not after an exception, which a daemon may follow
      // by closing the connection: that is noticed at once. Long-lived links skip this (it
      // costs about 0.1 us a turn).
      this.#early--;
      return idleHops(this);
    }
    return undefined;
  }

  /**
   * Reading ended (internal: the connection's listen mode).
   *
   * @param error Why, or null at the end of the stream.
   */
  ended(error: Error | null): void {
    if (error !== null) this.fail(asCommunicationError(error));
    else if (!this.closed) this.fail(new ConnectionClosedError("receiving: not enough data"));
    this.#readEnded();
  }

  #dispatch(msg: Message): void {
    const queue = this.#queue;
    let head = this.#head;
    if (head === queue.length) {
      this.fail(new ProtocolError(`invoke: unexpected message (type ${msg.type}, seq ${msg.seq})`));
      return;
    }
    if (msg.type !== MessageType.RESULT) {
      this.fail(new ProtocolError(`invalid msg type ${msg.type} received (expected: 5)`));
      return;
    }
    let i = head;
    if (queue[head]!.seq !== msg.seq) {
      // Answered out of order: most often the latest call (a fast one next to a slow one).
      i = queue.length - 1;
      while (i > head && queue[i]?.seq !== msg.seq) i--;
      if (i === head) {
        this.fail(
          new ProtocolError(
            `invoke: reply sequence out of sync, got ${msg.seq} expected ${queue[head]!.seq}`,
          ),
        );
        return;
      }
    }
    const pending = queue[i]!;
    if (
      msg.serializerId !== this.serializerId &&
      (pending.serializerId < 0 || msg.serializerId !== pending.serializerId)
    ) {
      this.fail(new SerializeError(`invalid serializer in response: ${msg.serializerId}`));
      return;
    }
    queue[i] = undefined;
    if (i !== head) {
      this.#holes++;
    } else {
      head++;
      while (head < queue.length && queue[head] === undefined) {
        head++;
        this.#holes--;
      }
    }
    if (head === queue.length) {
      // Emptied by pops (every entry is undefined by now): setting the length to 0 would drop
      // the array's backing store, and the next call's push allocate a new one (about 40 ns).
      while (queue.length > 0) queue.pop();
      head = 0;
      this.#holes = 0;
    } else if (this.#holes > 1024 && this.#holes * 2 > queue.length - head) {
      // Many answered calls behind a long one: drop the holes.
      this.#queue = queue.slice(head).filter((p) => p !== undefined);
      head = 0;
      this.#holes = 0;
    }
    this.#head = head;
    pending.settle(msg);
  }

  /**
   * Registers a request before its frame is sent.
   *
   * @param seq The request's sequence number.
   * @param timeout Milliseconds until the call fails with TimeoutError (0 = none).
   * @param signal Aborts the call.
   */
  expect(seq: number, timeout: number, signal: AbortSignal | undefined): Pending {
    return this.#register(new Pending(this, seq), timeout, signal);
  }

  /**
   * Registers a request like {@linkcode Link.expect}, whose promise resolves to the reply as
   * `reader` turns it (run as the reply is read; what it throws rejects the promise).
   *
   * @param seq The request's sequence number.
   * @param timeout Milliseconds until the call fails with TimeoutError (0 = none).
   * @param signal Aborts the call.
   * @param reader Turns the reply message into the result.
   * @param options The call's options, handed to the reader.
   */
  expectResult<T>(
    seq: number,
    timeout: number,
    signal: AbortSignal | undefined,
    reader: ReplyReader<T>,
    options: CallOptions | null,
  ): Pending<T> {
    return this.#register(new Pending(this, seq, reader, options), timeout, signal);
  }

  #register<T>(
    pending: Pending<T>,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Pending<T> {
    const seq = pending.seq;
    if (this.closed) throw this.error ?? new ConnectionClosedError("connection closed");
    if (
      this.#queue.length - this.#head > 0xffff || // every sequence number is taken
      // After replies out of order, a call 65,536 calls old may still hold this number.
      (this.#holes > 0 && this.#queue.some((p, i) => i >= this.#head && p?.seq === seq))
    ) {
      throw new ProtocolError(`too many calls in flight: sequence number ${seq} is still in use`);
    }
    this.#queue.push(pending as Pending<unknown>); // stays until its reply arrives, even if abandoned
    if (signal !== undefined) {
      if (signal.aborted) {
        pending.fail(signal.reason);
        return pending;
      }
      pending.signal = signal;
      signal.addEventListener("abort", pending);
    }
    if (timeout > 0) {
      pending.timer = setTimeout(onCallTimeout, timeout, pending as Pending<unknown>);
    }
    return pending;
  }

  /**
   * An INVOKE frame without flags, correlation id or annotations around `data` (internal: the
   * proxy's call path). While the frame built before has been written, a small frame is a view
   * of the link's own buffer (no new view, the header bytes that never change written
   * already); otherwise a share of a slab. A large one is built by {@linkcode encodeFrame},
   * in place in front of the payload when its codec left room there (no copy, no fresh
   * memory). Send it with {@linkcode Link.send} before the next.
   *
   * @param seq The call's sequence number.
   * @param data The payload (at most the message size limit).
   * @param options The proxy's encode options (the size limit, no compression).
   * @returns The frame.
   */
  invokeFrame(seq: number, data: Uint8Array, options: EncodeOptions): Uint8Array {
    const total = HEADER_SIZE + data.length;
    if (total > FRAME_BUFFER_SIZE) {
      const type = MessageType.INVOKE;
      return encodeFrame({ type, serializerId: this.serializerId, seq, data }, options);
    }
    let frame: Uint8Array;
    if (this.#frameFree) {
      this.#frameFree = false;
      const buf = this.#frameBuf ??= allocBytes(FRAME_BUFFER_SIZE);
      frame = this.#frameViews[total] ??= buf.subarray(0, total);
    } else {
      frame = allocBytes(total);
    }
    writePlainHeader(frame, MessageType.INVOKE, this.serializerId, seq, data.length);
    frame.set(data, HEADER_SIZE);
    return frame;
  }

  /** Sends a frame; a failure closes the link and fails every pending call. */
  send(frame: Uint8Array): void {
    this.conn.sendWith(frame, this);
  }

  /**
   * A frame of {@linkcode Link.send} has been written (internal).
   *
   * @param frame The frame.
   */
  sent(frame: Uint8Array): void {
    if (frame === this.#openBytes) {
      this.#openBytes = null;
      return;
    }
    if (frame.length <= FRAME_BUFFER_SIZE && frame === this.#frameViews[frame.length]) {
      this.#frameFree = true; // a view of the frame buffer (they are made once per length)
    } else if (frame.length >= POOL_MIN) releaseBuffer(frame.buffer); // the frame is ours
  }

  /**
   * A frame of {@linkcode Link.send} could not be written (internal).
   *
   * @param error Why.
   */
  sendFailed(error: Error): void {
    this.#onSendError(error);
  }

  /** Sends a frame and waits until it is written (oneway calls). */
  async sendAndWait(frame: Uint8Array): Promise<void> {
    if (this.closed) throw this.error ?? new ConnectionClosedError("connection closed");
    try {
      await this.conn.send(frame);
    } catch (error) {
      this.#onSendError(error);
      throw this.error ?? error;
    }
  }

  #onSendError = (error: unknown): void => {
    if (error instanceof CommunicationError) this.fail(error);
    else {
      this.fail(
        new ConnectionClosedError(`sending: connection lost: ${errorMessage(error)}`, {
          cause: error,
        }),
      );
    }
  };

  /** A call timed out: it fails with TimeoutError, the link closes (Pyro5 semantics). */
  timedOut(pending: Pending<unknown>): void {
    pending.fail(new TimeoutError("receiving: timeout"));
    this.fail(new ConnectionClosedError("connection closed after a call timed out"));
  }

  /** True while calls wait for their replies. */
  get busy(): boolean {
    return this.#queue.length > this.#head;
  }

  /** Closes the link; every pending call fails with `error`. Idempotent. */
  fail(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.error = error;
    this.conn.close();
    const opening = this.#opening;
    if (opening !== null) {
      this.#opening = null;
      opening.reject(error);
    }
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) queue[i]?.fail(error);
    this.#queue = [];
    this.#head = 0;
    this.#holes = 0;
    this.owner?.linkClosed(this);
  }
}
