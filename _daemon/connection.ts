/**
 * One client connection of a daemon: the handshake (CONNECT → CONNECTOK / CONNECTFAIL), then
 * INVOKE and PING until the peer leaves (sections 1.10, 3 and 4.3 of the protocol reference).
 *
 * Calls start in arrival order and may overlap while they await; each reply goes out as soon
 * as its call has finished (the client matches replies to calls by seq, so a fast call does
 * not wait behind a slow one), and replies that are ready together leave in one write. While
 * other connections are open in the process, a connection serves at most 32 buffered requests
 * in a row before they get a turn (alone, it serves what one read brought), and stops reading
 * while `maxCallsInFlight` replies are
 * unwritten, so one pipelining client cannot starve the others nor make the daemon buffer
 * without bound. Framing errors, unknown message types and unknown serializers close the
 * connection without a reply.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";
import {
  concatFrames,
  MessageConnection,
  type MessageReceiver,
  type SendListener,
} from "../_wire/connection.ts";
import { POOL_MIN, releaseBuffer } from "../_wire/buffer_pool.ts";
import { sameBytes } from "../_wire/bytes.ts";
import { allocBytes } from "../_wire/slab.ts";
import {
  type ConnectionInfo,
  ContextSlot,
  type PeerCertificate,
  runInSlot,
  runWithContext,
} from "../context.ts";
import { ConnectionClosedError, ProtocolError } from "../errors.ts";
import { log } from "../log.ts";
import { addressText } from "../_wire/address.ts";
import { errorText } from "../_wire/error_text.ts";
import { encodeMarshalString } from "../_wire/marshal.ts";
import {
  encodeBareFrame,
  encodeFrame,
  encodeMessage,
  Flags,
  type Message,
  MessageType,
} from "../_wire/protocol.ts";
import type { Serializer } from "../serializer.ts";
import { serializerForByte } from "../_codecs/registry.ts";
import { randomCorrelationIdShared } from "../_wire/correlation_id.ts";
import type { AcceptedConn } from "../_wire/tls_socket.ts";
import { type Reply, serveInvoke } from "./dispatch.ts";
import type { DaemonHost, Registration, Session } from "./host.ts";
import { DaemonRequest } from "./request.ts";
import { decodeDone, decodeTurn, LARGE_PAYLOAD } from "./decode_turn.ts";

/** The marshal serializer id, used for CONNECTFAIL before a CONNECT could be read. */
const MARSHAL = 2;
const PONG = new TextEncoder().encode("pong");

/** Options of one connection. */
export interface ConnectionOptions {
  /** Called once when the connection has been served and closed. */
  onEnd?: ((connection: DaemonConnection) => void) | undefined;
  /** Idle timeout in ms (0 = none). */
  idleTimeout: number;
  /** Calls of this connection whose replies are not written yet, before reading pauses. */
  maxCallsInFlight: number;
  /** Set to refuse the connection with this CONNECTFAIL reason. */
  denyReason?: string | undefined;
  /** Time to finish receiving a started frame, in ms (0 = none). */
  frameTimeout: number;
  /** Time for one write to complete, in ms (0 = none). */
  writeTimeout: number;
  /** Largest payload after inflating a compressed message, in bytes. */
  maxInflatedSize: number;
}

let nextConnectionId = 1;
const RESOLVED = Promise.resolve();
/**
 * Connections of any daemon in this process that are serving calls. With one, there is no
 * other connection to make way for, and requests buffered together are served (and their
 * replies written) in one go.
 */
let serving = 0;
/** Counts connections made and calls completed, for `lastActive`. */
let activity = 0;

/** Replies ready together up to this many bytes are joined in a slab and written as one. */
const SMALL_JOIN = 4096;
/** Replies ready together up to this many bytes are copied into one write buffer. */
const COALESCE_LIMIT = 256 * 1024;
/**
 * While more reply bytes than this wait to be written (a peer that reads slowly), the daemon
 * stops reading that connection's requests, as it does at `maxCallsInFlight`.
 */
const MAX_UNWRITTEN = 16 * 1024 * 1024;

/**
 * Requests served in a row from already received bytes before the connection lets the others
 * have a turn of the event loop (calls are served round-robin across busy connections), when
 * there are others.
 */
const FAIR_SHARE = 32;

/** Settled: waiting for it lets one microtask turn pass. */
const NEXT_TURN: Promise<void> = Promise.resolve();

const yes = (): true => true;
const no = (): false => false;

/** Starts listen mode (run in the connection's context slot). */
function listen(mc: MessageConnection, receiver: MessageReceiver): void {
  mc.listen(receiver);
}

/** Lets the event loop serve other connections (I/O included) before going on. */
function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * CONNECTOK's payload for the default handshake response, by metadata object (made once per
 * registration's table) and serializer: built-in serializers only (their `dumps` hands out
 * bytes of their own).
 */
const helloPayloads = new WeakMap<object, Map<number, Uint8Array>>();
const CACHED_SERIALIZERS = new Set([1, 3, 4]); // serpent, json, msgpack

/** CONNECTOK's payload: the handshake response and the object's metadata. */
function connectOkData(serializer: Serializer, response: unknown, meta: object): Uint8Array {
  if (response !== "hello" || !CACHED_SERIALIZERS.has(serializer.id)) {
    return serializer.dumps({ handshake: response, meta });
  }
  let bySerializer = helloPayloads.get(meta);
  if (bySerializer === undefined) helloPayloads.set(meta, bySerializer = new Map());
  let data = bySerializer.get(serializer.id);
  if (data === undefined) {
    data = serializer.dumps({ handshake: response, meta });
    bySerializer.set(serializer.id, data);
  }
  return data;
}

/** CONNECT's fields. */
interface ConnectFields {
  handshake: unknown;
  object: unknown;
}

/**
 * The latest CONNECT payload per serializer with its decoded fields, when its handshake data
 * is not an object (which every hook call must get as its own): clients of one kind send the
 * same bytes for one object, and those are not decoded again.
 */
const lastConnect = new Map<number, { data: Uint8Array; fields: ConnectFields }>();
const CONNECT_CACHE_MAX = 256;

/** Decodes CONNECT's payload: a map with `handshake` and `object`. */
function connectFields(serializer: Serializer, data: Uint8Array): ConnectFields {
  const cacheable = CACHED_SERIALIZERS.has(serializer.id) && data.length <= CONNECT_CACHE_MAX;
  const last = cacheable ? lastConnect.get(serializer.id) : undefined;
  if (last !== undefined && sameBytes(last.data, data)) return last.fields;
  const request = serializer.loads(data);
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    throw new TypeError("handshake data must be a map with 'handshake' and 'object'");
  }
  const map = request as Record<string, unknown>;
  if (!Object.hasOwn(map, "handshake")) throw new TypeError("'handshake'");
  if (!Object.hasOwn(map, "object")) throw new TypeError("'object'");
  const fields = { handshake: map.handshake, object: map.object };
  if (cacheable && (typeof fields.handshake !== "object" || fields.handshake === null)) {
    // A copy in a slab: the payload is a view into the connection's read buffer.
    const copy = allocBytes(data.length);
    copy.set(data);
    lastConnect.set(serializer.id, { data: copy, fields });
  }
  return fields;
}

/** The connection as calls see it; its storage is made when first used. */
class Info implements ConnectionInfo {
  readonly id: number = nextConnectionId++;
  readonly peerCertificate: PeerCertificate | null;
  readonly #connection: DaemonConnection;
  readonly #conn: AcceptedConn;
  #remoteAddress: string | null | undefined;
  #storage: Map<unknown, unknown> | undefined;

  constructor(connection: DaemonConnection, conn: AcceptedConn) {
    this.#connection = connection;
    this.#conn = conn;
    this.peerCertificate = conn.peerCertificate ?? null;
  }

  /** The peer's address as text (made when first asked for: logs and calls). */
  get remoteAddress(): string | null {
    if (this.#remoteAddress === undefined) {
      try {
        this.#remoteAddress = addressText(this.#conn.remoteAddr);
      } catch {
        this.#remoteAddress = null;
      }
    }
    return this.#remoteAddress;
  }

  get storage(): Map<unknown, unknown> {
    return this.#storage ??= new Map();
  }

  close(): void {
    this.#connection.close();
  }
}

/** The per-connection state of calls; the map of session instances is made when first used. */
class SessionState implements Session {
  readonly host: DaemonHost;
  readonly info: ConnectionInfo;
  #instances: Map<Registration, Promise<object>> | undefined;

  constructor(host: DaemonHost, info: ConnectionInfo) {
    this.host = host;
    this.info = info;
  }

  get instances(): Map<Registration, Promise<object>> {
    return this.#instances ??= new Map();
  }
}

/** A client connection of a daemon. */
export class DaemonConnection implements MessageReceiver {
  /** The connection as calls see it. */
  readonly info: ConnectionInfo;
  readonly #host: DaemonHost;
  readonly #mc: MessageConnection;
  readonly #options: ConnectionOptions;
  readonly #session: Session;
  #closed = false;
  #draining = false;
  #repliesStopped = false;
  #inFlight = 0;
  /** Ready replies (in the order they finished) that will leave together in one write. */
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  /** Calls covered by the batch, including those without a reply frame. */
  #batchCalls = 0;
  #batchClose = false;
  /** Reply bytes handed to the writer and not written yet. */
  #unwritten = 0;
  /** A lone reply frame being written (see #flush), the calls it covers, close after it. */
  #lone: Uint8Array | null = null;
  #loneCalls = 0;
  #loneClose = false;
  #flushTimer: ReturnType<typeof setImmediate> | undefined;
  /** CONNECTOK waits in the batch for the reply to the call that came with CONNECT. */
  #connectOkHeld = false;
  #zero: PromiseWithResolvers<void> | null = null;
  #slot: PromiseWithResolvers<void> | null = null;
  #reading = false;
  /** Holds the context of the call served without an async storage entry of its own. */
  readonly #contextSlot = new ContextSlot();
  /** True while an asynchronous call holds the slot; overlapping calls get their own entry. */
  #slotBusy = false;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Wraps an accepted connection.
   *
   * @param conn The accepted connection.
   * @param host The daemon.
   * @param maxMessageSize The message size limit.
   * @param options Limits and whether to refuse.
   */
  constructor(
    conn: AcceptedConn,
    host: DaemonHost,
    maxMessageSize: number,
    options: ConnectionOptions,
  ) {
    this.#host = host;
    this.#options = options;
    this.#mc = new MessageConnection(conn, {
      maxMessageSize,
      frameTimeout: options.frameTimeout,
      writeTimeout: options.writeTimeout,
      maxInflatedSize: options.maxInflatedSize,
      mappedBodies: true,
      onTimeout: (reason) =>
        log.warn(`daemon: closing connection from ${this.info.remoteAddress}: ${reason}`),
    });
    this.info = new Info(this, conn);
    this.#session = new SessionState(host, this.info);
  }

  /** Number of calls whose replies are not written yet. */
  get callsInFlight(): number {
    return this.#inFlight;
  }

  /**
   * When the connection was made or last had all its replies written, as a count of such
   * events in the process (cheaper than a clock, and orders connections the same way).
   */
  lastActive: number = ++activity;
  #handshaken = false;

  /** True once the Pyro handshake has completed. */
  get handshaken(): boolean {
    return this.#handshaken;
  }

  /** True while part of a request is received but not all of it. */
  get receivingFrame(): boolean {
    return this.#mc.hasBufferedData;
  }

  /** The connection id. */
  get id(): number {
    return this.info.id;
  }

  /**
   * Resolves once the connection has been served and closed (see `run`); in listen mode made
   * when first asked for (the daemon asks only when it closes).
   */
  get done(): Promise<void> {
    if (this.#done === undefined) {
      if (this.#over) return RESOLVED;
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#done = promise;
      this.#resolveDone = resolve;
    }
    return this.#done;
  }

  #done: Promise<void> | undefined;
  /** Served (listen mode): `done` resolves at once. */
  #over = false;

  /** True when the connection is being refused (CONNECTFAIL). */
  get refused(): boolean {
    return this.#options.denyReason !== undefined;
  }

  /** Serves the connection until it closes (see `done`), then calls `onEnd`. */
  run(): void {
    if (this.#options.idleTimeout > 0) this.#done = this.#run();
    // Listen mode from the first message on (CONNECT included): no promise per step.
    else runInSlot(this.#contextSlot, listen, this.#mc, this);
  }

  /** Resolves `done` in listen mode. */
  #resolveDone: (() => void) | undefined;

  /** With an idle timeout: the handshake, then the receive loop. */
  async #run(): Promise<void> {
    try {
      await runInSlot(this.#contextSlot, () => this.#handshakeAndServe());
    } catch (e) {
      log.warn(`daemon: connection ${this.info.remoteAddress} failed: ${errorText(e)}`);
    } finally {
      this.#finish();
    }
  }

  /** The handshake, then the calls; run in the connection's context slot. */
  async #handshakeAndServe(): Promise<void> {
    if (!(await this.#handshake())) return;
    const wait = this.#beforeNext();
    if (wait !== undefined) await wait;
    if (this.#closed) return;
    await this.#serveReceiving();
  }

  /** Served: closes and tells the daemon (once). */
  #finish(): void {
    if (this.#handshaken) serving--;
    this.close();
    this.#options.onEnd?.(this);
  }

  /**
   * Stops serving new requests, waits (up to `timeout` ms) for the replies of calls in flight,
   * then closes.
   *
   * @param timeout The longest wait, in ms.
   */
  async shutdown(timeout: number): Promise<void> {
    this.#draining = true;
    if (!this.#closed && this.#inFlight > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      });
      try {
        await Promise.race([this.#drained(), expired]);
      } finally {
        clearTimeout(timer);
      }
    }
    this.close();
  }

  /** Closes the connection now; replies not yet written are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#mc.close();
    this.#flush(); // drops a held batch and clears its timer
    this.#slot?.resolve();
    this.#zero?.resolve();
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  async #drained(): Promise<void> {
    if (this.#inFlight === 0 || this.#closed) return;
    this.#zero ??= Promise.withResolvers<void>();
    await this.#zero.promise;
  }

  #armIdle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const ms = this.#options.idleTimeout;
    if (ms > 0 && this.#reading && this.#inFlight === 0 && !this.#closed) {
      this.#idleTimer = setTimeout(() => {
        log.info(`daemon: closing idle connection from ${this.info.remoteAddress}`);
        this.close();
      }, ms);
    }
  }

  #receive(): Promise<Message | null> {
    // Without an idle timeout there is nothing to arm around the read.
    return this.#options.idleTimeout > 0 ? this.#receiveWatched() : this.#mc.receive();
  }

  async #receiveWatched(): Promise<Message | null> {
    this.#reading = true;
    this.#armIdle();
    try {
      return await this.#mc.receive();
    } finally {
      this.#reading = false;
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }

  /** The request of a CONNECT or INVOKE message, or null (logged) for an unknown serializer. */
  #request(msg: Message): DaemonRequest | null {
    const serializer = serializerForByte(msg.serializerId);
    if (serializer === undefined) {
      log.warn(
        `daemon: closing connection from ${this.info.remoteAddress}: unknown serializer id ${msg.serializerId}`,
      );
      return null;
    }
    return new DaemonRequest(this.#session, msg, serializer);
  }

  async #sendQuietly(frame: Uint8Array): Promise<void> {
    try {
      await this.#mc.send(frame);
    } catch (e) {
      log.debug(`daemon: cannot send to ${this.info.remoteAddress}: ${errorText(e)}`);
    }
  }

  async #refuse(seq: number, reason: string): Promise<void> {
    log.warn(`daemon: refusing connection from ${this.info.remoteAddress}: ${reason}`);
    const frame = encodeMessage({
      type: MessageType.CONNECTFAIL,
      serializerId: MARSHAL,
      seq,
      annotations: this.#host.annotations(),
      data: encodeMarshalString(reason),
    });
    await this.#sendQuietly(frame);
  }

  /** The handshake of the receive loop: true once done, false when the connection closes. */
  async #handshake(): Promise<boolean> {
    let msg: Message | null;
    try {
      msg = await this.#receive();
    } catch (e) {
      await this.#handshakeFailed(e);
      return false;
    }
    if (msg === null) return false;
    return await this.#opened(msg);
  }

  /** Receiving CONNECT failed: a malformed frame is refused, anything else logged. */
  #handshakeFailed(e: unknown): Promise<void> | undefined {
    if (e instanceof ProtocolError && !this.#closed) return this.#refuse(0, e.message);
    log.info(`daemon: handshake with ${this.info.remoteAddress} failed: ${errorText(e)}`);
    return undefined;
  }

  /**
   * Answers the first message (CONNECT): true once the handshake is done, false when the
   * connection closes, or a promise of either (an asynchronous handshake hook, a refusal).
   */
  #opened(msg: Message): boolean | Promise<boolean> {
    if (this.#options.denyReason !== undefined) {
      return this.#refuse(msg.seq, this.#options.denyReason).then(no);
    }
    if (msg.type !== MessageType.CONNECT) {
      return this.#refuse(0, `invalid msg type ${msg.type} received (expected: 1)`).then(no);
    }
    const req = this.#request(msg);
    if (req === null) return false;
    // The handshake hook sees the request as the current context (the connection's slot).
    const slot = this.#contextSlot;
    slot.current = req;
    let object: unknown;
    let response: unknown;
    try {
      const fields = connectFields(req.serializer, req.message.data);
      object = fields.object;
      response = this.#host.validateHandshake(fields.handshake, req);
    } catch (e) {
      slot.current = undefined;
      return this.#connectReply(req, e, true);
    }
    // Waited for only when it is a promise: the default answers at once.
    if (typeof (response as PromiseLike<unknown> | null)?.then === "function") {
      return Promise.resolve(response).then(
        (r) => this.#answered(req, object, r),
        (e) => {
          slot.current = undefined;
          return this.#connectReply(req, e, true);
        },
      );
    }
    return this.#answered(req, object, response);
  }

  /** The handshake hook answered: CONNECTOK with the object's metadata, or CONNECTFAIL. */
  #answered(req: DaemonRequest, object: unknown, response: unknown): boolean | Promise<boolean> {
    let data: unknown;
    let failed = false;
    try {
      data = connectOkData(req.serializer, response ?? null, this.#host.metadata(object));
    } catch (e) {
      data = e;
      failed = true;
    } finally {
      this.#contextSlot.current = undefined;
    }
    return this.#connectReply(req, data, failed);
  }

  /**
   * Sends CONNECTOK (`data`: its payload) or, when `failed`, CONNECTFAIL (`data`: why); on
   * CONNECTOK the handshake is done.
   */
  #connectReply(req: DaemonRequest, data: unknown, failed: boolean): boolean | Promise<boolean> {
    let type: number = MessageType.CONNECTOK;
    let bytes: Uint8Array;
    if (failed) {
      type = MessageType.CONNECTFAIL;
      const reason = data instanceof Error ? data.message : String(data);
      log.info(`daemon: handshake with ${this.info.remoteAddress} refused: ${reason}`);
      bytes = req.serializer.dumps(reason);
    } else {
      bytes = data as Uint8Array;
    }
    // In a slab (encodeFrame): the frame is written and dropped. Without annotations, a fresh
    // correlation id (when the request had none) is written straight into the frame.
    const annotations = req.replyAnnotations;
    const frame = annotations.size === 0
      ? encodeBareFrame(
        type,
        req.serializerId,
        req.seq,
        0,
        req.replyCorrelationId,
        bytes,
        this.#host.encodeOptions,
      )
      : encodeFrame({
        type,
        serializerId: req.serializerId,
        seq: req.seq,
        correlationId: req.correlationIdBytes,
        annotations,
        data: bytes,
      }, this.#host.encodeOptions);
    if (type !== MessageType.CONNECTOK) return this.#sendQuietly(frame).then(no);
    this.#handshaken = true;
    this.lastActive = ++activity;
    serving++;
    if (this.#mc.hasBufferedFrame && !this.#closed) {
      // The first call came with CONNECT: CONNECTOK waits in the reply batch so that the two
      // replies leave in one write when the call answers at once; otherwise it leaves alone
      // once that message is handled (see #serve: a call that takes longer does not hold it).
      this.#inFlight++;
      this.#batch.push(frame);
      this.#batchBytes += frame.length;
      this.#batchCalls++;
      this.#connectOkHeld = true;
      return true;
    }
    return this.#sendQuietly(frame).then(yes);
  }

  /** Served (listen mode): closes, tells the daemon, resolves `done`. */
  #served(): void {
    try {
      this.#finish();
    } finally {
      this.#over = true;
      this.#resolveDone?.();
    }
  }

  /**
   * A message in listen mode (see `MessageReceiver`): CONNECT first, then the requests. A
   * returned promise holds the next read back until it settles.
   *
   * @param msg The message.
   * @returns What to wait for before the next message, if anything.
   */
  message(msg: Message): Promise<void> | undefined {
    if (!this.#handshaken) return this.#onConnect(msg);
    const go = this.#handle(msg);
    if (go === true) {
      const wait = this.#beforeNext();
      if (wait !== undefined || !this.#mc.hasBufferedData) return wait;
      // Requests already buffered: a microtask turn before the next, as a receive loop has,
      // so that what a request set going finishes first (the finally of a stream it closed).
      return NEXT_TURN;
    }
    if (go === false) {
      this.close(); // listening ends
      return undefined;
    }
    return go.then((ok) => {
      if (!ok) this.close();
      else return this.#beforeNext();
    });
  }

  /** The first message in listen mode: the handshake. */
  #onConnect(msg: Message): Promise<void> | undefined {
    const ok = this.#opened(msg);
    if (ok === true) return this.#beforeNext();
    if (ok === false) {
      this.close(); // listening ends
      return undefined;
    }
    return ok.then((yes) => {
      if (!yes) this.close();
      else return this.#beforeNext();
    });
  }

  /**
   * Listen mode ended (see `MessageReceiver`): at the end of the stream, after close, or on a
   * receive error.
   *
   * @param error Why, or null.
   */
  ended(error: Error | null): void {
    if (!this.#handshaken) {
      // Before the handshake: a malformed first frame is refused, anything else logged.
      const refusing = error !== null ? this.#handshakeFailed(error) : undefined;
      if (refusing === undefined) this.#served();
      else refusing.then(() => this.#served());
      return;
    }
    if (error !== null) {
      this.#lost(error);
      this.#served();
      return;
    }
    // The peer has finished sending: let running calls finish and answer, then close.
    if (this.#inFlight === 0 || this.#closed) this.#served();
    else this.#drained().then(() => this.#served());
  }

  /** The receive loop (with an idle timeout). */
  async #serveReceiving(): Promise<void> {
    while (!this.#closed) {
      let msg: Message | null;
      try {
        msg = await this.#receive();
      } catch (e) {
        this.#lost(e);
        return;
      }
      if (msg === null) break;
      let go = this.#handle(msg);
      if (go !== true && go !== false) go = await go;
      if (!go) return;
      const wait = this.#beforeNext();
      if (wait !== undefined) await wait;
    }
    // The peer has finished sending: let running calls finish and answer, then close.
    await this.#drained();
  }

  /** Logs why receiving failed. */
  #lost(e: unknown): void {
    if (e instanceof ConnectionClosedError) {
      if (!this.#closed) {
        log.info(`daemon: connection from ${this.info.remoteAddress} lost: ${errorText(e)}`);
      }
    } else {
      log.warn(`daemon: closing connection from ${this.info.remoteAddress}: ${errorText(e)}`);
    }
  }

  /** Requests served in a row from buffered bytes (see FAIR_SHARE). */
  #burst = 0;
  #first = true;

  /**
   * What to wait for before the next request, if anything: room for more calls in flight
   * (`maxCallsInFlight`, unwritten bytes) and, after FAIR_SHARE buffered requests in a row, a
   * turn for the other connections.
   */
  #beforeNext(): Promise<void> | undefined {
    if (this.#connectOkHeld && !this.#first) this.#flush(); // the first message did not reply at once
    this.#first = false;
    if (this.#inFlight >= this.#options.maxCallsInFlight || this.#unwritten > MAX_UNWRITTEN) {
      return this.#room();
    }
    if (!this.#mc.hasBufferedData) {
      this.#burst = 0; // the next request comes from a read, which gives the others their turn
    } else if (++this.#burst >= FAIR_SHARE && serving > 1) {
      this.#burst = 0;
      return yieldTurn();
    }
    return undefined;
  }

  /** Waits until calls in flight and unwritten bytes are below their limits, then as #beforeNext. */
  async #room(): Promise<void> {
    while (
      (this.#inFlight >= this.#options.maxCallsInFlight || this.#unwritten > MAX_UNWRITTEN) &&
      !this.#closed
    ) {
      this.#slot ??= Promise.withResolvers<void>();
      await this.#slot.promise;
    }
    if (this.#closed) return;
    const more = this.#beforeNext();
    if (more !== undefined) await more;
  }

  /**
   * Handles one request: true to go on, false to stop (the connection closes), or a promise of
   * either (a large request waiting for its decode turn).
   */
  #handle(msg: Message): boolean | Promise<boolean> {
    if (this.#draining) return true;
    if (msg.type === MessageType.PING) {
      const frame = encodeMessage({
        type: MessageType.PING,
        serializerId: msg.serializerId,
        seq: msg.seq,
        correlationId: msg.correlationId ?? randomCorrelationIdShared(),
        annotations: this.#host.annotations(),
        data: PONG,
      });
      this.#enqueue({ frame, close: false });
      return true;
    }
    if (msg.type !== MessageType.INVOKE) {
      log.warn(
        `daemon: closing connection from ${this.info.remoteAddress}: unexpected message type ${msg.type}`,
      );
      return false;
    }
    if (msg.data.length >= LARGE_PAYLOAD) {
      // Large decodes share a budget per turn of the event loop, process-wide (decode_turn.ts).
      const turn = decodeTurn();
      if (turn !== undefined) {
        return turn.then(() => {
          if (this.#closed || this.#draining) {
            decodeDone();
            return true;
          }
          return this.#invoke(msg, true);
        });
      }
      return this.#invoke(msg, true);
    }
    return this.#invoke(msg, false);
  }

  /** Serves an INVOKE (`large`: holding a decode turn); false for an unknown serializer. */
  #invoke(msg: Message, large: boolean): boolean {
    const req = this.#request(msg);
    if (req === null) {
      if (large) decodeDone();
      return false;
    }
    const reply = this.#dispatch(req);
    if (large) decodeDone();
    if (msg.flags & Flags.ONEWAY) {
      Promise.resolve(reply).then((r) => {
        if (r.close) this.close();
      }, (e) => {
        log.warn(`daemon: oneway call failed: ${errorText(e)}`);
      });
    } else {
      this.#enqueue(reply);
    }
    return true;
  }

  /**
   * Runs one call in its context: in the connection's slot when no other call holds it (the
   * cheap way), otherwise with an async storage entry of its own.
   */
  #dispatch(req: DaemonRequest): Reply | Promise<Reply> {
    const slot = this.#contextSlot;
    try {
      if (this.#slotBusy) return runWithContext(req, () => serveInvoke(req));
      slot.current = req;
      let reply: Reply | Promise<Reply>;
      try {
        reply = serveInvoke(req);
      } catch (e) {
        slot.current = undefined;
        throw e;
      }
      if (!(reply instanceof Promise)) {
        slot.current = undefined;
        return reply;
      }
      // The call goes on asynchronously and keeps the slot until it has its reply.
      this.#slotBusy = true;
      const release = () => {
        this.#slotBusy = false;
        if (slot.current === req) slot.current = undefined;
      };
      reply.then(release, release);
      return reply;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Counts a call in flight; its reply joins the batch as soon as the call has finished. */
  #enqueue(reply: Reply | Promise<Reply>): void {
    this.#inFlight++;
    if (!(reply instanceof Promise)) {
      const frame = reply.frame;
      if (
        frame !== null && !reply.close && this.#batchCalls === 0 && this.#lone === null &&
        !this.#closed && !this.#repliesStopped && !this.#mc.hasBufferedData
      ) {
        // The usual case, as #flush writes it: a reply ready alone, no write of this kind
        // under way and no request buffered whose reply could join it.
        this.#unwritten += frame.length;
        this.#lone = frame;
        this.#loneCalls = 1;
        this.#loneClose = false;
        this.#mc.sendWith(frame, this.#loneListener);
        return;
      }
      this.#batchReply(reply);
      this.#flushOrDefer();
      return;
    }
    // The handlers are made by the first asynchronous call (most connections have none).
    reply.then(
      this.#finished ??= (r: Reply): void => {
        this.#batchReply(r);
        this.#flushOrDefer();
      },
      this.#failed ??= (e: unknown): void => {
        log.warn(`daemon: call failed without a reply: ${errorText(e)}`);
        this.#batchReply({ frame: null, close: true });
        this.#flushOrDefer();
      },
    );
  }

  #finished: ((r: Reply) => void) | undefined;
  #failed: ((e: unknown) => void) | undefined;

  /** Adds a finished call's reply to the batch. */
  #batchReply(r: Reply): void {
    this.#batchCalls++;
    if (this.#closed || this.#repliesStopped) return;
    if (r.frame !== null) {
      this.#batch.push(r.frame);
      this.#batchBytes += r.frame.length;
    }
    if (r.close) {
      // Pyro5 drops the connection right after this reply: later replies are not sent.
      this.#draining = true;
      this.#repliesStopped = true;
      this.#batchClose = true;
    }
  }

  /**
   * Writes the batch now, or, while further requests are buffered (whose replies may join),
   * at the next turn of the event loop at the latest. A reply never waits for calls that are
   * still running: replies are matched to calls by seq.
   */
  #flushOrDefer(): void {
    if (this.#batchCalls === 0) return;
    if (!this.#mc.hasBufferedData || this.#batchClose || this.#closed) {
      this.#flush();
    } else {
      this.#flushTimer ??= setImmediate(this.#flush);
    }
  }

  #flush = (): void => {
    this.#connectOkHeld = false;
    if (this.#flushTimer !== undefined) {
      clearImmediate(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    const frames = this.#batch;
    const calls = this.#batchCalls;
    const close = this.#batchClose;
    const bytes = this.#batchBytes;
    if (calls === 0) return;
    this.#batchBytes = 0;
    this.#batchCalls = 0;
    this.#batchClose = false;
    if (frames.length === 0 || this.#closed) {
      while (frames.length > 0) frames.pop();
      this.#written(calls);
      if (close) this.close();
      return;
    }
    this.#unwritten += bytes;
    if (this.#lone === null && (frames.length === 1 || bytes <= SMALL_JOIN)) {
      // The usual case, one reply (or a few small ones, such as CONNECTOK and the first call's
      // reply, joined in a slab) and no write of this kind under way: its state waits in
      // fields for bound handlers (no closures, and the batch array is kept).
      const frame = frames.length === 1 ? frames[0]! : concatFrames(frames, bytes);
      // Emptied by pops: setting the length to 0 would drop the array's backing store, and
      // the next push would allocate one.
      while (frames.length > 0) frames.pop();
      this.#lone = frame;
      this.#loneCalls = calls;
      this.#loneClose = close;
      this.#mc.sendWith(frame, this.#loneListener);
      return;
    }
    this.#batch = [];
    let sent: Promise<void>;
    if (frames.length === 1) sent = this.#mc.send(frames[0]!);
    else if (bytes <= COALESCE_LIMIT) sent = this.#mc.send(concatFrames(frames, bytes));
    else {
      // Large frames are not copied together; the connection queues them behind each other.
      for (let i = 0; i < frames.length - 1; i++) this.#mc.send(frames[i]!).catch(() => {});
      sent = this.#mc.send(frames[frames.length - 1]!);
    }
    sent.then(() => {
      this.#unwritten -= bytes;
      // The frames were built for this connection only: large ones give their memory back.
      if (bytes >= POOL_MIN) {
        for (const f of frames) if (f.length >= POOL_MIN) releaseBuffer(f.buffer);
      }
      this.#written(calls);
      if (close) this.close();
    }, (e) => {
      log.debug(`daemon: cannot send to ${this.info.remoteAddress}: ${errorText(e)}`);
      this.#unwritten -= bytes;
      this.#written(calls);
      this.close();
    });
  };

  /** Hears about the lone reply frame's write. */
  readonly #loneListener: SendListener = {
    sent: () => this.#loneSent(),
    sendFailed: (e) => this.#loneFailed(e),
  };

  #loneSent(): void {
    const frame = this.#lone!;
    this.#lone = null;
    this.#unwritten -= frame.length;
    if (frame.length >= POOL_MIN) releaseBuffer(frame.buffer); // built for this connection only
    this.#written(this.#loneCalls);
    if (this.#loneClose) this.close();
  }

  #loneFailed(e: unknown): void {
    log.debug(`daemon: cannot send to ${this.info.remoteAddress}: ${errorText(e)}`);
    const frame = this.#lone!;
    this.#lone = null;
    this.#unwritten -= frame.length;
    this.#written(this.#loneCalls);
    this.close();
  }

  /** Accounts for calls whose replies were written (or dropped). */
  #written(calls: number): void {
    this.#inFlight -= calls;
    const slot = this.#slot;
    this.#slot = null;
    slot?.resolve();
    if (this.#inFlight === 0) {
      this.lastActive = ++activity;
      const zero = this.#zero;
      this.#zero = null;
      zero?.resolve();
      if (this.#options.idleTimeout > 0) this.#armIdle();
    }
  }
}
