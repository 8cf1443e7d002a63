/**
 * The engine behind every proxy: connecting and the handshake, metadata, the call path
 * (sequence numbers, pipelining, timeouts, retries), results, item streams and the autoproxy
 * wire form. Users meet it through `createProxy` in proxy.ts.
 *
 * @example
 * ```ts
 * import { ProxyCore } from "./core.ts";
 * const core = new ProxyCore("PYRO:thing@127.0.0.1:9999", { serializer: "json" });
 * console.log(core.connected, core.serializer.name); // false "json"
 * ```
 *
 * @module
 */

import { config } from "../config.ts";
import { type ByteStream, MessageConnection } from "../_wire/connection.ts";
import {
  CommunicationError,
  ConnectionClosedError,
  ProtocolError,
  PyroError,
  SecurityError,
  SerializeError,
  TimeoutError,
} from "../errors.ts";
import { log } from "../log.ts";
import {
  DAEMON_NAME,
  EMPTY_ANNOTATIONS,
  encodeFrame,
  type EncodeOptions,
  Flags,
  type Message,
  MessageType,
} from "../_wire/protocol.ts";
import { dumpsCallForFrame, loadsReceived } from "../_codecs/frame.ts";
import { BLOB_ANNOTATION, blobCallPayload, blobInfoAnnotation } from "../_codecs/blob.ts";
import { heldMessage, SerializedBlob } from "../serialized_blob.ts";
import { Link, type Pending, type ReplyReader } from "./link.ts";
import {
  handshakeBytes,
  type HandshakeReply,
  handshakeReply,
  type HandshakeRequest,
  isRecord,
  stringList,
  toAnnotations,
  toCorrelationId,
} from "./handshake.ts";
import { ProxyCall } from "./call.ts";
import type { CallOptions, CorrelationIdInit, ProxyMetadata, ProxyOptions } from "./options.ts";
import { RemoteStream, type StreamHost } from "./stream.ts";
import { getSerializer, type Serializer } from "../serializer.ts";
import { clientTlsFromConfig } from "../tls.ts";
import { connectTransport, type TransportTlsOptions } from "../_wire/transport.ts";
import { URI } from "../uri.ts";
import {
  noteRetry,
  TELEMETRY,
  traceClientCall,
  traceConnect,
  traceStream,
} from "../_telemetry/mod.ts";
import { openWebSocket } from "../_wire/websocket.ts";
import { decodeWithRoute, type ViaRoute } from "./via.ts";

/** A byte stream to a daemon, and what it leads to. */
interface OpenedStream {
  stream: ByteStream;
  /** The URI for messages (the resolved one when connected directly). */
  uri: URI;
  /** The object id for CONNECT and calls. */
  objectId: string;
  /** Where the stream goes, for messages. */
  location: string;
}

const ascii = new TextDecoder();

/** locate.ts, once a proxy has resolved a name (imported lazily: it builds on this module). */
let locateModule: Promise<typeof import("../locate.ts")> | undefined;

/** The symbol under which a proxy (and nothing else) gives its core. */
export const CORE: unique symbol = Symbol.for("pyro.proxyCore");

/**
 * The core behind a proxy, or undefined for anything else.
 *
 * @example
 * ```ts
 * import { coreOf } from "./core.ts";
 * console.log(coreOf({})); // undefined
 * ```
 *
 * @param value Any value.
 * @returns The proxy's core.
 */
export function coreOf(value: unknown): ProxyCore | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const core = (value as Record<symbol, unknown>)[CORE];
  return core instanceof ProxyCore ? core : undefined;
}

/** A call of the daemon's built-in object. */
function daemonCall(method: string, params: unknown[], flags: number): ProxyCall {
  const call = new ProxyCall(method, params, {});
  call.target = DAEMON_NAME;
  call.flags = flags;
  return call;
}

/** Metadata as sets, for the checks on the call path. */
export interface MetadataSets {
  methods: Set<string>;
  oneway: Set<string>;
  attrs: Set<string>;
}

/** A call's INVOKE frame and what its reply needs. */
interface OutgoingCall {
  frame: Uint8Array;
  seq: number;
  timeout: number;
  signal: AbortSignal | undefined;
  serializerId: number;
  oneway: boolean;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** Why an idle link closed when its proxy was released (kept as the link's `error`). */
const RELEASED = new ConnectionClosedError("the proxy was released");

/**
 * Metadata of the objects connected to lately, by `object@location`: a new proxy's first call
 * to a method known as a plain (not oneway) one rides with its handshake. Bounded; the oldest
 * entry goes first.
 */
const knownMetadata = new Map<string, MetadataSets>();
const KNOWN_METADATA_MAX = 256;

function rememberMetadata(key: string, meta: MetadataSets): void {
  if (knownMetadata.get(key) === meta) return; // known already (its place in the order stays)
  knownMetadata.delete(key);
  knownMetadata.set(key, meta);
  if (knownMetadata.size > KNOWN_METADATA_MAX) {
    knownMetadata.delete(knownMetadata.keys().next().value!);
  }
}

function isPlainMethod(key: string, method: string): boolean {
  const meta = knownMetadata.get(key);
  return meta !== undefined && meta.methods.has(method) && !meta.oneway.has(method);
}

/** The sets made from each decoded CONNECTOK metadata map (see `#setHandshakeMetadata`). */
const handshakeMetadata = new WeakMap<object, MetadataSets>();

function hasKeys(record: Record<string, unknown>): boolean {
  for (const _ in record) return true;
  return false;
}

function noResult(): undefined {
  return undefined;
}

/** The encode options made last: proxies with the same settings share them (never changed). */
let lastEncodeOptions: Readonly<EncodeOptions> = Object.freeze({});

function encodeOptionsFor(compress: boolean, maxMessageSize: number): EncodeOptions {
  const last = lastEncodeOptions;
  if (last.compress === compress && last.maxMessageSize === maxMessageSize) return last;
  return lastEncodeOptions = Object.freeze({ compress, maxMessageSize });
}

/** Where a URI leads, for messages, and the `object@location` key of its connections. */
interface Place {
  location: string;
  key: string;
}

/**
 * Places by URI text: proxies made from the same text share the strings (and their hashes, in
 * the handshake and metadata caches). Bounded: cleared when full.
 */
const places = new Map<string, Place>();
const PLACES_MAX = 256;

function placeOf(uri: URI, text: string | undefined): Place {
  let place = text === undefined ? undefined : places.get(text);
  if (place === undefined) {
    const location = uri.location ?? String(uri);
    place = { location, key: `${uri.object}@${location}` };
    if (text !== undefined) {
      if (places.size >= PLACES_MAX) places.clear();
      places.set(text, place);
    }
  }
  return place;
}

function ignore(): void {}

/**
 * Closes a connection whose handshake outlasts the proxy's timeout, or when its signal aborts
 * (the abort listener itself: no closures).
 */
class HandshakeGuard {
  timedOut = false;
  readonly #link: Link;
  readonly #signal: AbortSignal | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(link: Link, timeout: number, signal: AbortSignal | undefined) {
    this.#link = link;
    this.#signal = signal;
    if (timeout > 0) this.#timer = setTimeout(handshakeTimedOut, timeout, this);
    signal?.addEventListener("abort", this, { once: true });
  }

  /** The abort listener. */
  handleEvent(): void {
    this.#link.conn.close();
  }

  /** The timer's end. */
  expire(): void {
    this.timedOut = true;
    this.#link.conn.close();
  }

  /** Throws when the timeout passed or the signal aborted. */
  check(): void {
    if (this.timedOut) throw new TimeoutError("receiving: timeout");
    this.#signal?.throwIfAborted();
  }

  /** The handshake is over. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener("abort", this);
  }
}

function handshakeTimedOut(guard: HandshakeGuard): void {
  guard.expire();
}

/** A connection's handshake request, and the first call riding with it. */
interface Opening {
  request: HandshakeRequest;
  out: OutgoingCall | null;
}

/** A first call that may ride with the handshake; `pending` is set when it does. */
interface FirstCall {
  call: ProxyCall;
  pending: Pending | null;
}

/**
 * The state behind one proxy (and its views and batches).
 *
 * @example
 * ```ts
 * import { ProxyCore } from "./core.ts";
 * const core = new ProxyCore("PYRO:thing@127.0.0.1:9999", {});
 * console.log(core.uri.toString(), core.seq); // PYRO:thing@127.0.0.1:9999 0
 * ```
 */
export class ProxyCore implements StreamHost, ReplyReader<unknown> {
  /** The URI as given (PYRONAME/PYROMETA URIs are resolved at every connect). */
  readonly uri: URI;
  serializer: Serializer;
  timeout: number;
  maxRetries: number;
  handshake: unknown;
  handshakeResponse: unknown = undefined;
  metadata: MetadataSets | null = null;
  /** Annotations of the latest reply (CONNECTOK included). */
  responseAnnotations: ReadonlyMap<string, Uint8Array> = EMPTY_ANNOTATIONS;
  readonly validateHandshake: ((response: unknown) => void | Promise<void>) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly correlationId: CorrelationIdInit | undefined;
  readonly annotations: Map<string, Uint8Array> | null;
  readonly encodeOptions: EncodeOptions;
  readonly maxMessageSize: number;
  readonly tls: TransportTlsOptions | false | undefined;
  readonly via: string | URL | undefined;
  readonly gatewayKey: { key: string } | undefined;
  /** No annotations, correlation id or compression: calls without options take #plainPayload. */
  readonly #plainFrames: boolean;
  /** The local address of the open connection (Pyro5's `_pyroLocalSocket`), or null. */
  localAddress: Deno.Addr | null = null;
  #seq = 0;
  /** The method last called that the metadata it was checked against shows exposed, not oneway. */
  #plainMethod = "";
  #plainMethodMeta: MetadataSets | null = null;
  #link: Link | null = null;
  #connecting: Promise<Link> | null = null;
  /** Where the proxy's own URI leads, and its `object@location` key (see `placeOf`). */
  #ownPlace: Place | undefined;
  /** The URI text the proxy was made from, if it was made from text. */
  readonly #uriText: string | undefined;

  constructor(uri: string | URI, options: ProxyOptions) {
    this.uri = uri instanceof URI ? uri : new URI(uri);
    this.#uriText = typeof uri === "string" ? uri : undefined;
    this.serializer = getSerializer(options.serializer ?? config.SERIALIZER);
    this.timeout = options.timeout ?? config.COMMTIMEOUT * 1000;
    this.maxRetries = options.maxRetries ?? config.MAX_RETRIES;
    this.handshake = "handshake" in options ? options.handshake : "hello";
    this.validateHandshake = options.validateHandshake;
    this.signal = options.signal;
    this.correlationId = options.correlationId;
    this.annotations = toAnnotations(options.annotations);
    this.maxMessageSize = options.maxMessageSize ?? config.MAX_MESSAGE_SIZE;
    this.encodeOptions = encodeOptionsFor(
      options.compression ?? config.COMPRESSION,
      this.maxMessageSize,
    );
    this.tls = options.tls;
    this.via = options.via;
    this.gatewayKey = options.gatewayKey !== undefined ? { key: options.gatewayKey } : undefined;
    this.#plainFrames = this.annotations === null && this.correlationId === undefined &&
      !this.encodeOptions.compress;
  }

  /** The current sequence number (the last one used). */
  get seq(): number {
    return this.#seq;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.#link !== null;
  }

  /** Changes the serializer; an open connection is released first. */
  setSerializer(name: string): void {
    const serializer = getSerializer(name);
    if (serializer === this.serializer) return;
    this.serializer = serializer;
    void this.release();
  }

  /** Sets metadata from a map or from an autoproxy state. */
  setMetadata(meta: unknown): void {
    if (!isRecord(meta)) throw new ProtocolError("invalid metadata");
    const methods = new Set(stringList(meta.methods));
    const attrs = new Set(stringList(meta.attrs));
    if (methods.size === 0 && attrs.size === 0) {
      throw new PyroError(
        `remote object '${this.uri}' doesn't expose any methods or attributes. ` +
          "Did you forget setting @expose on them?",
      );
    }
    this.metadata = { methods, oneway: new Set(stringList(meta.oneway)), attrs };
  }

  /**
   * Sets the metadata a handshake brought. The decoded map is this module's own (see
   * handshake.ts: a repeated CONNECTOK gives the same object), so its sets are made once.
   */
  #setHandshakeMetadata(meta: Record<string, unknown>): void {
    const known = handshakeMetadata.get(meta);
    if (known !== undefined) {
      this.metadata = known;
      return;
    }
    this.setMetadata(meta);
    handshakeMetadata.set(meta, this.metadata!);
  }

  /** The public view of the metadata. */
  publicMetadata(): ProxyMetadata | null {
    const m = this.metadata;
    if (m === null) return null;
    return Object.freeze({
      methods: Object.freeze([...m.methods]),
      oneway: Object.freeze([...m.oneway]),
      attrs: Object.freeze([...m.attrs]),
    });
  }

  /** Connects now if not connected (`_pyroBind`). */
  async bind(signal?: AbortSignal): Promise<void> {
    if (this.#link === null) await this.#ensureLink(signal ?? this.signal);
  }

  /**
   * Releases the connection, then connects again, trying up to `tries` times with `delay` ms
   * between tries (Pyro5's `_pyroReconnect`: 2 s apart, practically forever by default).
   */
  async reconnect(tries: number, delay: number, signal: AbortSignal | undefined): Promise<void> {
    await this.release();
    for (let left = tries; left > 0; left--) {
      try {
        await this.#ensureLink(signal ?? this.signal);
        return;
      } catch (error) {
        if (!(error instanceof CommunicationError) || left <= 1) {
          if (error instanceof CommunicationError) break;
          throw error;
        }
        log.debug(`proxy: reconnect to ${this.uri} failed: ${error.message}`);
        await abortableDelay(delay, signal ?? this.signal);
      }
    }
    throw new ConnectionClosedError("failed to reconnect");
  }

  /**
   * Gets the metadata (Pyro5's `_pyroGetMetadata`): takes `known` when given, otherwise asks
   * the daemon's `get_metadata` for `objectId` (the proxy's own object by default).
   */
  async getMetadata(
    objectId: string | undefined,
    known: unknown,
    signal: AbortSignal | undefined,
  ): Promise<ProxyMetadata | null> {
    if (known !== undefined && known !== null) {
      this.setMetadata(known);
      return this.publicMetadata();
    }
    const link = this.#link ?? await this.#ensureLink(signal ?? this.signal);
    if (objectId === undefined && this.metadata !== null) return this.publicMetadata();
    const meta = await this.#invoke(
      link,
      daemonCall("get_metadata", [objectId ?? link.objectId], 0),
    );
    this.setMetadata(meta);
    return this.publicMetadata();
  }

  /** Closes the connection; pending calls fail with ConnectionClosedError. */
  release(): Promise<void> {
    const link = this.#link;
    if (link === null) return RESOLVED;
    this.#link = null;
    this.localAddress = null;
    // Nobody waits for the error of an idle link: it is not built (with its stack) each time.
    link.fail(link.busy ? new ConnectionClosedError("the proxy was released") : RELEASED);
    return link.done;
  }

  /**
   * Gives the open link, connecting first when needed. Concurrent callers share one connect,
   * governed by the proxy's own signal and timeout; a caller's signal only stops its wait.
   */
  #ensureLink(signal: AbortSignal | undefined, first: FirstCall | null = null): Promise<Link> {
    if (this.#link !== null) return Promise.resolve(this.#link);
    if (this.#connecting === null) {
      // #connect clears #connecting itself before it settles (no finally step per connect).
      this.#connecting = TELEMETRY
        ? traceConnect(String(this.uri), () => this.#connect(this.signal), (l) => l.location)
          .finally(() => {
            this.#connecting = null;
          })
        : this.#connect(this.signal, first);
    }
    if (signal === undefined || signal === this.signal) return this.#connecting;
    if (signal.aborted) return Promise.reject(signal.reason);
    const { promise, resolve, reject } = Promise.withResolvers<Link>();
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    this.#connecting.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
    return promise;
  }

  async #resolveUri(signal: AbortSignal | undefined): Promise<URI> {
    if (this.uri.protocol === "PYRO") return this.uri;
    // Loaded lazily: locate.ts builds on this module (a name server proxy is a proxy).
    const { resolve } = await (locateModule ??= import("../locate.ts"));
    return await resolve(this.uri, {
      serializer: this.serializer.name,
      ...(signal ? { signal } : {}),
    });
  }

  /** Where a resolved URI leads, for messages and keys (the proxy's own URI's made once). */
  #location(uri: URI): string {
    if (uri !== this.uri) return uri.location ?? String(uri);
    return (this.#ownPlace ??= placeOf(uri, this.#uriText)).location;
  }

  /** The `object@location` key of a connection to `objectId` at `location`. */
  #key(objectId: string, location: string): string {
    const own = this.#ownPlace;
    if (own !== undefined && own.location === location && objectId === this.uri.object) {
      return own.key;
    }
    return `${objectId}@${location}`;
  }

  #tlsOptions(): TransportTlsOptions | undefined {
    if (this.tls === false) return undefined;
    return this.tls ?? clientTlsFromConfig();
  }

  /** Opens the byte stream: TCP, TLS or Unix socket, or a WebSocket with `via`. */
  async #open(signal: AbortSignal | undefined): Promise<OpenedStream> {
    const timeout = this.timeout;
    if (this.via !== undefined) {
      const hello = { object: String(this.uri), ...this.gatewayKey };
      const opened = await openWebSocket(this.via, hello, {
        timeout,
        signal,
        maxMessageSize: this.maxMessageSize,
      });
      return { ...opened, uri: this.uri, location: String(this.via) };
    }
    const uri = this.uri.protocol === "PYRO" ? this.uri : await this.#resolveUri(signal);
    const stream = await connectTransport(uri, { timeout, signal, tls: this.#tlsOptions() });
    return { stream, uri, objectId: uri.object, location: this.#location(uri) };
  }

  /**
   * Connects. With `first`, when an earlier connection to the same object showed its method
   * to be a plain one, that call's INVOKE goes out in the same write as CONNECT (its reply is
   * registered on the new link before the link reads), saving a round trip.
   */
  async #connect(signal: AbortSignal | undefined, first: FirstCall | null = null): Promise<Link> {
    // A PYRO: URI without a gateway is connected to directly (no #open step).
    const direct = this.uri.protocol === "PYRO" && this.via === undefined;
    const opening = direct
      ? connectTransport(this.uri, { timeout: this.timeout, signal, tls: this.#tlsOptions() })
      : this.#open(signal);
    // For a PYRO: URI, what goes out first is made while the connection is being set up.
    let early: Opening | null = null;
    let earlyError: unknown = undefined;
    const seq0 = this.#seq;
    if (direct) {
      try {
        early = this.#opening(this.uri.object, this.#location(this.uri), first);
      } catch (error) {
        earlyError = error;
      }
    }
    let opened: OpenedStream | Deno.Conn;
    try {
      opened = await opening;
    } catch (error) {
      this.#seq = seq0; // the first call was not sent
      this.#connecting = null;
      throw error;
    }
    let raw: ByteStream;
    let uri: URI;
    let objectId: string;
    let location: string;
    if (direct) {
      raw = opened as Deno.Conn;
      uri = this.uri;
      objectId = uri.object;
      location = this.#location(uri);
    } else {
      ({ stream: raw, uri, objectId, location } = opened as OpenedStream);
    }
    const link = new Link(
      new MessageConnection(raw, { maxMessageSize: this.maxMessageSize }),
      this.serializer.id,
      location,
      objectId,
    );
    // The proxy's timeout and signal close the connection while the handshake runs.
    const guard = this.timeout > 0 || signal !== undefined
      ? new HandshakeGuard(link, this.timeout, signal)
      : null;
    try {
      if (earlyError !== undefined) throw earlyError;
      const { request, out } = early ?? this.#opening(objectId, location, first);
      if (out !== null) {
        // Registered before reading: its reply may come in the same read as CONNECTOK.
        const pending = first!.pending = link.expect(out.seq, out.timeout, out.signal);
        pending.promise.catch(ignore); // awaited once connected; fails with the connect else
      }
      const reply = handshakeReply(await link.open(request.bytes!), request);
      if (guard !== null) guard.check();
      this.responseAnnotations = reply.annotations;
      this.handshakeResponse = reply.handshake;
      const meta = reply.meta;
      if (isRecord(meta) && hasKeys(meta) && this.validateHandshake === undefined) {
        this.#setHandshakeMetadata(meta); // the common case: nothing more to wait for
      } else await this.#afterHandshake(link, reply);
      const key = request.key!;
      rememberMetadata(key, this.metadata!);
      guard?.stop();
      if (!link.closed) {
        // (A link reads from the start: a message after CONNECTOK may have closed it already.)
        link.owner = this;
        this.#link = link;
        this.localAddress = (raw as Partial<Deno.Conn>).localAddr ?? null;
      }
      if (log.debugging) log.debug(`proxy: connected to ${key} (seq ${this.#seq})`);
      this.#connecting = null;
      return link;
    } catch (error) {
      guard?.stop();
      link.fail(new ConnectionClosedError("handshake failed"));
      await link.done;
      this.#connecting = null;
      if (guard?.timedOut) throw new TimeoutError("receiving: timeout", { cause: error });
      if (signal?.aborted) throw signal.reason;
      if (error instanceof PyroError) throw error;
      const text = error instanceof Error ? error.message : String(error);
      throw new CommunicationError(`Cannot connect to ${uri}: ${text}`, { cause: error });
    }
  }

  /**
   * After CONNECTOK, what may take a round trip or a promise: the metadata from
   * `get_metadata` when CONNECTOK carries none, and the proxy's handshake check.
   */
  async #afterHandshake(link: Link, reply: HandshakeReply): Promise<void> {
    const meta = reply.meta;
    if (isRecord(meta) && hasKeys(meta)) this.#setHandshakeMetadata(meta);
    else {
      this.setMetadata(await this.#invoke(link, daemonCall("get_metadata", [link.objectId], 0)));
    }
    if (this.validateHandshake) await this.validateHandshake(reply.handshake);
  }

  /**
   * The handshake request of a connection to `objectId` at `location`, with the first call's
   * INVOKE when it may ride along (an earlier connection to the same object showed its method
   * to be a plain one); the bytes to write are made here.
   */
  #opening(objectId: string, location: string, first: FirstCall | null): Opening {
    const seq = this.#seq; // CONNECT's; the first call takes the next one
    const key = this.#key(objectId, location);
    const out = first !== null && isPlainMethod(key, first.call.method)
      ? this.#encodeInvoke(first.call, objectId)
      : null;
    const request: HandshakeRequest = {
      serializer: this.serializer,
      seq,
      correlationId: toCorrelationId(this.correlationId),
      annotations: this.annotations,
      handshake: this.handshake,
      objectId,
      location,
      key,
      encodeOptions: this.encodeOptions,
    };
    if (out !== null) request.then = out.frame;
    request.bytes = handshakeBytes(request);
    return { request, out };
  }

  /**
   * A link of this proxy has closed (internal: see `Link.owner`).
   *
   * @param link The link.
   */
  linkClosed(link: Link): void {
    if (this.#link === link) {
      this.#link = null;
      this.localAddress = null;
    }
    if (log.debugging) {
      log.debug(`proxy: connection to ${link.location} closed: ${link.error?.message}`);
    }
  }

  /**
   * Makes a call (with retries), connecting first when needed.
   *
   * @param call The call.
   * @returns Its result.
   */
  call(call: ProxyCall): Promise<unknown> {
    if (TELEMETRY) return this.#traced(call, (c) => this.#send(c));
    return this.#send(call);
  }

  #send(call: ProxyCall): Promise<unknown> {
    const link = this.#link;
    if (link !== null && this.maxRetries === 0) {
      // The fast path: connected, no retries.
      return this.#invoke(link, call);
    }
    return this.#callWithRetries(call);
  }

  async #callWithRetries(call: ProxyCall): Promise<unknown> {
    const signal = call.options?.signal ?? this.signal;
    for (let attempt = 0;; attempt++) {
      let connected = false;
      try {
        const link = this.#link ?? await this.#ensureLink(signal);
        connected = true;
        return await this.#invoke(link, call);
      } catch (error) {
        const retriable = connected
          ? error instanceof ConnectionClosedError || error instanceof TimeoutError
          : this.#reconnectable(error);
        if (attempt >= this.maxRetries || signal?.aborted || !retriable) throw error;
        log.debug(`proxy: retrying ${call.method} after ${(error as Error).message}`);
        if (TELEMETRY) noteRetry(attempt + 1, error);
        if (this.#link !== null && this.#link.closed) this.#link = null;
      }
    }
  }

  /**
   * Sends a call inside its client span (telemetry on). The annotations and the correlation id
   * are settled here, so that the span records the id sent and the request carries `W3TC`.
   */
  #traced(call: ProxyCall, send: (call: ProxyCall) => Promise<unknown>): Promise<unknown> {
    const options = call.options;
    const correlationId = toCorrelationId(
      options?.correlationId !== undefined ? options.correlationId : this.correlationId,
    );
    const oneway = (call.flags & Flags.ONEWAY) !== 0 || options?.oneway === true;
    return traceClientCall({
      objectId: call.target ?? this.#link?.objectId ?? this.uri.object ?? "",
      method: call.method,
      serializer: this.serializer.name,
      kind: call.flags & Flags.BATCH
        ? "batch"
        : oneway
        ? "oneway"
        : call.method === "get_next_stream_item"
        ? "stream"
        : "call",
      correlationId,
      annotations: options?.annotations !== undefined
        ? toAnnotations(options.annotations)
        : this.annotations,
      location: () => this.#link?.location ?? null,
    }, (annotations) => {
      call.options = { ...options, annotations, correlationId };
      return send(call);
    });
  }

  /** Calls a method of the proxy's object after the local metadata checks. */
  callMethod(name: string, args: unknown[], options: CallOptions | null): Promise<unknown> {
    const meta = this.metadata;
    if (meta === null) return this.#callMethodAfterConnect(name, args, options);
    const call = ProxyCall.fromArgs(name, args);
    if (name !== this.#plainMethod || meta !== this.#plainMethodMeta) {
      if (!meta.methods.has(name)) return Promise.reject(this.#notExposed(name));
      if (meta.oneway.has(name)) call.flags = Flags.ONEWAY;
      else {
        this.#plainMethod = name;
        this.#plainMethodMeta = meta;
      }
    }
    call.options = options;
    return this.call(call);
  }

  #callMethodAfterConnect(
    name: string,
    args: unknown[],
    options: CallOptions | null,
  ): Promise<unknown> {
    return this.#canPipeline(args, options)
      ? this.#firstCall(name, args, options)
      : this.#connectThenCall(name, args, options);
  }

  /** Connects (with retries), then calls. */
  async #connectThenCall(
    name: string,
    args: unknown[],
    options: CallOptions | null,
  ): Promise<unknown> {
    const signal = options?.signal ?? this.signal;
    for (let attempt = 0;; attempt++) {
      try {
        await this.#ensureLink(signal);
        break;
      } catch (error) {
        if (attempt >= this.maxRetries || signal?.aborted || !this.#reconnectable(error)) {
          throw error;
        }
      }
    }
    return this.callMethod(name, args, options);
  }

  /** A call that goes out with the handshake when it can (see `#canPipeline`). */
  async #firstCall(name: string, args: unknown[], options: CallOptions | null): Promise<unknown> {
    const call = ProxyCall.fromArgs(name, args);
    call.options = options;
    const first: FirstCall = { call, pending: null };
    const link = await this.#ensureLink(options?.signal ?? this.signal, first);
    const pending = first.pending;
    if (pending === null) return this.callMethod(name, args, options); // joined another connect
    const msg = await pending.promise;
    // The call went out by the metadata of an earlier connection to the same object; this
    // connection's metadata decides, as Pyro5 checks before sending (it differs only when the
    // object changed in between: the answer then stands for what a proxy may call).
    const meta = this.metadata!;
    if (!meta.methods.has(name)) throw this.#notExposed(name);
    if (meta.oneway.has(name)) return undefined;
    return this.#result(link, msg, options);
  }

  /**
   * Whether a first call may go out with the handshake: not when anything between the two
   * could still stop the call on this side (a handshake check, retries, tracing), nor for
   * forwarded blobs, explicit oneway calls or a gateway route.
   */
  #canPipeline(args: unknown[], options: CallOptions | null): boolean {
    return this.#connecting === null && this.#link === null && !TELEMETRY &&
      this.maxRetries === 0 && this.validateHandshake === undefined && this.via === undefined &&
      options?.oneway !== true && !(args[0] instanceof SerializedBlob);
  }

  /**
   * Whether a failed connect may be tried again within the retries: a connection that could not
   * be made behind a name (the call was never sent), since resolving the name again may find a
   * live daemon (PYROMETA picks among several, and a dead daemon's registration stays until
   * autoclean removes it), and a connection closed or timed out while connecting.
   */
  #reconnectable(error: unknown): boolean {
    return error instanceof ConnectionClosedError || error instanceof TimeoutError ||
      (this.uri.protocol !== "PYRO" && error instanceof CommunicationError);
  }

  #notExposed(name: string): PyroError {
    if (this.metadata?.attrs.has(name)) {
      return new PyroError(
        `'${name}' is a remote attribute of '${this.uri}': use _pyroGet('${name}') or _pyroSet('${name}', value)`,
      );
    }
    return new PyroError(
      `remote object '${this.uri}' has no exposed attribute or method '${name}'`,
    );
  }

  /** Reads a remote attribute (`__getattr__`). */
  async getAttribute(name: string, options: CallOptions | null): Promise<unknown> {
    await this.#checkAttribute(name, options);
    const call = new ProxyCall("__getattr__", [name], null);
    call.options = options;
    return this.call(call);
  }

  /** Writes a remote attribute (`__setattr__`). */
  async setAttribute(name: string, value: unknown, options: CallOptions | null): Promise<void> {
    await this.#checkAttribute(name, options);
    const call = new ProxyCall("__setattr__", [name, value], null);
    call.options = options;
    await this.call(call);
  }

  async #checkAttribute(name: string, options: CallOptions | null): Promise<void> {
    if (this.metadata === null) await this.#ensureLink(options?.signal ?? this.signal);
    if (!this.metadata!.attrs.has(name)) {
      throw new PyroError(`remote object '${this.uri}' has no exposed attribute '${name}'`);
    }
  }

  /**
   * One request on one link: encode, send, and the reply decoded as it is read (the promise of
   * the call is the link's, no promise in between).
   */
  #invoke(link: Link, call: ProxyCall): Promise<unknown> {
    if (TELEMETRY) return this.#invokeInContext(link, call);
    try {
      if (this.#plainFrames && call.options === null && call.flags === 0) {
        const data = this.#plainPayload(link, call);
        if (data !== null) {
          const seq = this.#seq;
          const pending = link.expectResult(seq, this.timeout, this.signal, this, null);
          link.send(link.invokeFrame(seq, data, this.encodeOptions));
          return pending.promise;
        }
      }
      const out = this.#encodeInvoke(call, link.objectId);
      if (out.oneway) return link.sendAndWait(out.frame).then(noResult);
      const pending = link.expectResult(out.seq, out.timeout, out.signal, this, call.options);
      if (out.serializerId !== this.serializer.id) pending.serializerId = out.serializerId; // a blob
      link.send(out.frame);
      return pending.promise;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The INVOKE payload of a call without options or flags from a proxy without annotations,
   * correlation id or compression (the common call), taking the next sequence number; null for
   * a call that needs {@linkcode ProxyCore.#encodeInvoke} (a blob, a payload over the limit).
   * The bytes are the serializer's until its next encode: framed at once by the link.
   */
  #plainPayload(link: Link, call: ProxyCall): Uint8Array | null {
    if (call.params[0] instanceof SerializedBlob) return null;
    this.signal?.throwIfAborted();
    const seq = this.#seq = (this.#seq + 1) & 0xffff;
    call.object = call.target ?? link.objectId;
    const data = dumpsCallForFrame(this.serializer, call);
    if (data.length > this.maxMessageSize) {
      this.#seq = (seq - 1) & 0xffff; // #encodeInvoke takes it again, and throws
      return null;
    }
    return data;
  }

  /**
   * The result of a call from its reply (the links' {@linkcode ReplyReader}; internal).
   *
   * @param link The link.
   * @param msg The reply.
   * @param options The call's options.
   * @returns The result.
   */
  readReply(link: Link, msg: Message, options: CallOptions | null): unknown {
    return this.#result(link, msg, options);
  }

  /**
   * {@linkcode ProxyCore.#invoke} with the reply decoded in the caller's async context, where
   * telemetry finds the call's span (a stream result starts its span as the call's child).
   */
  async #invokeInContext(link: Link, call: ProxyCall): Promise<unknown> {
    const out = this.#encodeInvoke(call, link.objectId);
    if (out.oneway) {
      await link.sendAndWait(out.frame);
      return undefined;
    }
    const pending = link.expect(out.seq, out.timeout, out.signal);
    if (out.serializerId !== this.serializer.id) pending.serializerId = out.serializerId; // a blob
    link.send(out.frame);
    const msg = await pending.promise;
    return this.#result(link, msg, call.options);
  }

  /** Encodes a call into its INVOKE frame, taking the next sequence number. */
  #encodeInvoke(call: ProxyCall, objectId: string): OutgoingCall {
    const serializer = this.serializer;
    const options = call.options;
    let flags = call.flags;
    let correlationId: Uint8Array | null = null;
    let annotations: Map<string, Uint8Array> | null = this.annotations;
    let timeout = this.timeout;
    let signal = this.signal;
    if (options !== null) {
      correlationId = toCorrelationId(
        options.correlationId !== undefined ? options.correlationId : this.correlationId,
      );
      if (options.annotations !== undefined) annotations = toAnnotations(options.annotations);
      if (options.timeout !== undefined) timeout = options.timeout;
      if (options.signal !== undefined) signal = options.signal;
      if (options.oneway) flags |= Flags.ONEWAY;
    } else if (this.correlationId !== undefined) {
      correlationId = toCorrelationId(this.correlationId);
    }
    if (correlationId !== null) flags |= Flags.CORR_ID;
    signal?.throwIfAborted();
    const seq = this.#seq = (this.#seq + 1) & 0xffff;
    call.object = call.target ?? objectId;
    let serializerId = serializer.id;
    let data: Uint8Array;
    if (call.params[0] instanceof SerializedBlob) {
      const blob = blobRequest(serializer, call, call.params[0], annotations);
      ({ data, serializerId, annotations } = blob);
      flags |= Flags.KEEPSERIALIZED;
    } else {
      // Encoded last: with msgpack the bytes are the writer's own until framed.
      data = dumpsCallForFrame(serializer, call);
    }
    const frame = encodeFrame({
      type: MessageType.INVOKE,
      serializerId,
      seq,
      flags,
      correlationId,
      annotations: annotations ?? undefined,
      data,
    }, this.encodeOptions);
    return { frame, seq, timeout, signal, serializerId, oneway: (flags & Flags.ONEWAY) !== 0 };
  }

  /** This proxy's WebSocket route, handed to proxies inside its replies. */
  #route(): ViaRoute {
    const route: ViaRoute = { via: this.via! };
    if (this.gatewayKey !== undefined) route.gatewayKey = this.gatewayKey.key;
    return route;
  }

  #result(link: Link, msg: Message, options: CallOptions | null): unknown {
    this.responseAnnotations = msg.annotations;
    const out = options?.responseAnnotations;
    if (out !== undefined) {
      out.clear();
      for (const [k, v] of msg.annotations) out.set(k, v);
    }
    if (msg.flags & Flags.ITEMSTREAMRESULT) {
      const id = msg.annotations.get("STRM");
      if (id === undefined) {
        throw new ProtocolError(
          "result of call is an iterator, but the server is not configured to allow streaming",
        );
      }
      const streamId = ascii.decode(id);
      return new RemoteStream(TELEMETRY ? traceStream(this, streamId) : this, streamId);
    }
    const serializer = msg.serializerId === this.serializer.id
      ? this.serializer
      : getSerializer(msg.serializerId); // the reply to a forwarded blob
    const value = this.via === undefined
      ? loadsReceived(serializer, msg)
      : decodeWithRoute(this.#route(), () => loadsReceived(serializer, msg));
    if (msg.flags & Flags.EXCEPTION) {
      const error = value instanceof Error ? value : new PyroError(String(value));
      if (error instanceof CommunicationError || error instanceof SecurityError) {
        this.#drop(link, error);
      }
      throw error;
    }
    return value;
  }

  /**
   * Lets go of a link after a remote error of the CommunicationError family or a SecurityError,
   * as Pyro5's proxy does: the daemon closes the connection after sending one, so the next call
   * must connect again instead of writing into a closing socket.
   */
  #drop(link: Link, error: Error): void {
    if (this.#link === link) {
      this.#link = null;
      this.localAddress = null;
    }
    link.fail(
      new ConnectionClosedError(`the connection was released after a remote ${error.name}`),
    );
  }

  /** Fetches the next stream item over the current connection. */
  streamNext(streamId: string): Promise<unknown> {
    const link = this.#link;
    if (link === null) {
      return Promise.reject(
        new ConnectionClosedError("the proxy for this stream result has been closed"),
      );
    }
    const call = daemonCall("get_next_stream_item", [streamId], 0);
    if (TELEMETRY) return this.#traced(call, (c) => this.#invoke(link, c));
    return this.#invoke(link, call);
  }

  /** Closes a stream on the server (oneway); errors are ignored. */
  async streamClose(streamId: string): Promise<void> {
    const link = this.#link;
    if (link === null) return;
    try {
      const call = daemonCall("close_stream", [streamId], Flags.ONEWAY);
      if (TELEMETRY) await this.#traced(call, (c) => this.#invoke(link, c));
      else await this.#invoke(link, call);
    } catch (error) {
      log.debug(`proxy: close_stream failed: ${(error as Error).message}`);
    }
  }

  /** The wire form of this proxy (Pyro5.client.Proxy map), for autoproxy and callbacks. */
  toProxyMap(): Record<string, unknown> {
    const m = this.metadata;
    return {
      __class__: "Pyro5.client.Proxy",
      state: [
        this.uri.toString(),
        m ? [...m.oneway] : [],
        m ? [...m.methods] : [],
        m ? [...m.attrs] : [],
        this.handshake,
        this.serializer.name,
      ],
    };
  }
}

/** Waits `ms` milliseconds, or rejects with the signal's reason when it aborts. */
function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The payload, serializer id and annotations of a call whose only argument is a blob (Pyro5's
 * KEEPSERIALIZED request): a held message goes on as it came, local data is serialized in the
 * parameters' place; the `BLBI` annotation routes it.
 */
function blobRequest(
  serializer: Serializer,
  call: ProxyCall,
  blob: SerializedBlob,
  annotations: ReadonlyMap<string, Uint8Array> | null,
): { data: Uint8Array; serializerId: number; annotations: Map<string, Uint8Array> } {
  if (call.params.length !== 1 || (call.kwargs !== null && Object.keys(call.kwargs).length > 0)) {
    throw new SerializeError("if SerializedBlob is used, it must be the only argument");
  }
  const withInfo = new Map(annotations ?? []);
  withInfo.set(BLOB_ANNOTATION, blobInfoAnnotation(blob.info, call.object, call.method));
  const held = heldMessage(blob);
  if (held !== null) {
    return { data: held.data, serializerId: held.serializerId, annotations: withInfo };
  }
  return {
    data: blobCallPayload(serializer, call.object, call.method, blob.data),
    serializerId: serializer.id,
    annotations: withInfo,
  };
}
