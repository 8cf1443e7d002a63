/**
 * The gateway's WebSocket endpoint (`/pyro/ws`): a browser proxy opens a WebSocket, says which
 * name it wants (and the gateway key) in one text message, and from then on every binary
 * message is one Pyro5 frame, relayed unchanged to the daemon that serves the name (TCP, TLS
 * or Unix socket) and back.
 *
 * The relay reads each frame the browser sends and lets through only what concerns the object
 * it opened: CONNECT and INVOKE for that object id, and the daemon calls a proxy needs
 * (`get_metadata` of that object, `get_next_stream_item`, `close_stream`, `ping`). Anything else
 * closes the WebSocket (code 1008), so nothing reaches an object the exposure rules keep out.
 *
 * @example
 * ```ts
 * import { WebSocketRelay } from "./ws_relay.ts";
 * import { URI } from "../uri.ts";
 *
 * const relay = new WebSocketRelay({
 *   exposed: (name) => name.startsWith("http."),
 *   resolve: (name) => Promise.resolve(new URI(`PYRO:${name}@127.0.0.1:9999`)),
 * });
 * console.log(relay.connections); // 0
 * await relay.close();
 * ```
 *
 * @module
 */

import { concatFrames } from "../_wire/connection.ts";
import { DAEMON_NAME, Flags, type Message, MessageType } from "../_wire/protocol.ts";
import { decodeMessage, DEFAULT_MAX_MESSAGE_SIZE } from "../_wire/protocol.ts";
import { DEFAULT_MAX_INFLATED_SIZE } from "../_wire/inflate.ts";
import { FrameSplitter, type WebSocketHello } from "../_wire/websocket.ts";
import { connectTransport, type TransportTlsOptions } from "../_wire/transport.ts";
import { CommunicationError, NamingError, PyroError, SecurityError } from "../errors.ts";
import { log } from "../log.ts";
import { getSerializer } from "../serializer.ts";
import { URI } from "../uri.ts";

/** Options of {@linkcode WebSocketRelay}. */
export interface WebSocketRelayOptions {
  /** Tells whether a name is exposed (the gateway's `-e` expression). */
  exposed: (name: string) => boolean;
  /** Finds the daemon URI of an exposed name; throws NamingError for an unknown one. */
  resolve: (name: string) => Promise<URI>;
  /** Drops a cached lookup whose daemon could not be reached (it is looked up once more). */
  forget?: (name: string) => void;
  /** The gateway key the hello must carry; null or empty for none. */
  key?: string | null | undefined;
  /** TLS settings for daemons reached over TLS. */
  tls?: TransportTlsOptions | undefined;
  /** Milliseconds to connect to a daemon. @default {10000} */
  connectTimeout?: number;
  /** Milliseconds a new WebSocket has to send its hello. @default {10000} */
  helloTimeout?: number;
  /** WebSockets served at once (idle ones included); more get 503. @default {2048} */
  maxConnections?: number;
  /**
   * WebSockets from one IP address at once; more get 503.
   *
   * @default {a quarter of `maxConnections`, at least 64}
   */
  maxConnectionsPerAddress?: number;
  /**
   * The largest message a browser may send; a larger one closes the WebSocket with 1009.
   * (Deno itself drops a WebSocket whose message passes 64 MiB.)
   *
   * @default {67108864}
   */
  maxClientMessageSize?: number;
  /**
   * Milliseconds a browser may leave more than 4 MiB of replies unread before its WebSocket
   * is closed (1008); meanwhile the relay stops reading from the daemon. 0 = no limit.
   *
   * @default {60000}
   */
  sendTimeout?: number;
  /**
   * Frames a browser may have sent whose answers have not come back yet (oneway calls do not
   * count); past it the WebSocket is closed (1008). A browser proxy waits for its answers, so
   * only a flood reaches it.
   *
   * @default {1024}
   */
  maxFramesInFlight?: number;
  /**
   * Milliseconds between pings to a quiet browser; one that does not answer is closed. A
   * client whose network went away without closing its connection is noticed only this way;
   * Deno's own default is 120 s.
   *
   * @default {30000}
   */
  pingInterval?: number;
  /** The largest frame body relayed. @default {1073741824} */
  maxMessageSize?: number;
  /** Bytes from the browser waiting for the daemon to read them before the relay gives up. */
  maxPendingBytes?: number;
  /**
   * Tells whether a page of another origin may open a WebSocket (browsers send `Origin`; other
   * clients do not and are always let in, as are pages of the gateway's own origin). By
   * default no other origin may.
   */
  allowOrigin?: (origin: string) => boolean;
}

/** True for requests without `Origin` and for pages of the request's own host. */
function sameOrigin(req: Request, origin: string): boolean {
  try {
    return new URL(origin).host === new URL(req.url).host;
  } catch {
    return false;
  }
}

/** Daemon methods a browser proxy needs besides the object's own. */
const DAEMON_CALLS = new Set(["get_next_stream_item", "close_stream", "ping"]);
/** The longest hello text accepted. */
const MAX_HELLO = 4096;
/** Bytes a browser may have waiting in the WebSocket send buffer before the relay stops reading. */
const HIGH_WATER = 4 * 1024 * 1024;
const READ_SIZE = 64 * 1024;
/** Milliseconds a closed WebSocket's peer has to answer the close handshake. */
const CLOSE_GRACE = 2000;

/** Compares two strings in time that does not depend on where they differ. */
function sameKey(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= a.charCodeAt(i % (a.length || 1)) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The name a hello asks for: `PYRONAME:name` or a bare name. */
function nameOf(object: string): string {
  if (!object.includes(":")) return object;
  const uri = new URI(object);
  if (uri.protocol !== "PYRONAME") {
    throw new NamingError(`the gateway serves names only (PYRONAME:<name>), not '${object}'`);
  }
  return uri.object;
}

/**
 * Relays browser WebSockets to daemons.
 *
 * @example
 * ```ts
 * import { WebSocketRelay } from "./ws_relay.ts";
 * import { URI } from "../uri.ts";
 *
 * const relay = new WebSocketRelay({
 *   exposed: () => true,
 *   resolve: (name) => Promise.resolve(new URI(`PYRO:${name}@127.0.0.1:9999`)),
 * });
 * const response = relay.handle(new Request("http://127.0.0.1/pyro/ws"));
 * console.log(response.status); // 426: not a WebSocket request
 * await relay.close();
 * ```
 */
export class WebSocketRelay {
  readonly #options: WebSocketRelayOptions;
  readonly #sessions = new Set<RelaySession>();
  readonly #perAddress = new Map<string, number>();
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  /** @param options What is exposed, how names resolve, the key and the limits. */
  constructor(options: WebSocketRelayOptions) {
    this.#options = options;
  }

  /** WebSockets open now (idle ones included). */
  get connections(): number {
    return this.#sessions.size;
  }

  /**
   * Upgrades a request to a relayed WebSocket.
   *
   * @param req A WebSocket upgrade request.
   * @param info The `Deno.serve` handler info: the client's address, for the per-address cap.
   * @returns The upgrade response; 426 for a plain request, 400 for a broken upgrade, 403 for
   *   a page of another origin that is not allowed, 503 when full or closed.
   */
  handle(req: Request, info?: Deno.ServeHandlerInfo): Response {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ error: "this endpoint takes WebSocket connections" }, {
        status: 426,
        headers: { upgrade: "websocket" },
      });
    }
    const origin = req.headers.get("origin");
    if (origin !== null && !sameOrigin(req, origin) && !this.#options.allowOrigin?.(origin)) {
      return Response.json({ error: `WebSocket connections from '${origin}' are not allowed` }, {
        status: 403,
      });
    }
    const max = this.#options.maxConnections ?? 2048;
    if (this.#closed || this.#sessions.size >= max) {
      return Response.json({ error: `too many WebSocket connections (limit ${max})` }, {
        status: 503,
      });
    }
    const remote = info?.remoteAddr;
    const host = remote !== undefined && "hostname" in remote ? remote.hostname : null;
    const perAddress = this.#options.maxConnectionsPerAddress ?? Math.max(64, max >> 2);
    const mine = host === null ? 0 : this.#perAddress.get(host) ?? 0;
    if (mine >= perAddress) {
      return Response.json(
        { error: `too many WebSocket connections from one address (limit ${perAddress})` },
        { status: 503 },
      );
    }
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(req, {
        idleTimeout: Math.max(1, Math.round((this.#options.pingInterval ?? 30_000) / 1000)),
      });
    } catch (error) {
      return Response.json({ error: `Cannot upgrade: ${(error as Error).message}` }, {
        status: 400,
      });
    }
    const { socket, response } = upgraded;
    const session = new RelaySession(socket, this.#options);
    this.#sessions.add(session);
    if (host !== null) this.#perAddress.set(host, mine + 1);
    const running = session.run().finally(() => {
      this.#sessions.delete(session);
      this.#running.delete(running);
      if (host !== null) {
        const left = (this.#perAddress.get(host) ?? 1) - 1;
        if (left > 0) this.#perAddress.set(host, left);
        else this.#perAddress.delete(host);
      }
    });
    this.#running.add(running);
    return response;
  }

  /** Closes every relayed WebSocket and its daemon connection. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const session of this.#sessions) session.close(1001, "the gateway is shutting down");
    await Promise.all(this.#running);
  }
}

/** One browser WebSocket and its daemon connection. */
class RelaySession {
  readonly #ws: WebSocket;
  readonly #options: WebSocketRelayOptions;
  readonly #max: number;
  #conn: Deno.Conn | null = null;
  #objectId = "";
  #connected = false;
  #closed = false;
  /** The wait for the hello, ended by close() too. */
  #hello: PromiseWithResolvers<string> | null = null;
  readonly #done = Promise.withResolvers<void>();
  // browser -> daemon
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Frames sent whose answers have not come back. */
  #awaiting = 0;
  #writing = false;

  constructor(ws: WebSocket, options: WebSocketRelayOptions) {
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    this.#options = options;
    this.#max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  async run(): Promise<void> {
    const ws = this.#ws;
    const hello = Promise.withResolvers<string>();
    this.#hello = hello;
    const helloTimer = setTimeout(
      () => this.close(1008, "no hello received in time"),
      this.#options.helloTimeout ?? 10_000,
    );
    ws.onmessage = (e) => {
      if (typeof e.data === "string") hello.resolve(e.data);
      else this.close(1008, "a hello (text) must come first");
    };
    ws.onclose = () => {
      hello.reject(new Error("closed"));
      this.close(1000, "");
    };
    hello.promise.catch(() => {});
    try {
      let text: string;
      try {
        text = await hello.promise;
      } catch {
        return;
      } finally {
        clearTimeout(helloTimer);
      }
      ws.onmessage = this.#onFrame;
      try {
        await this.#open(text);
      } catch (error) {
        this.#refuse(error);
        return;
      }
      await this.#pipeFromDaemon();
    } finally {
      this.close(1000, "");
      await this.#done.promise;
    }
  }

  /** Checks the hello, resolves the name and connects to the daemon. */
  async #open(text: string): Promise<void> {
    if (text.length > MAX_HELLO) throw new PyroError("the hello is too long");
    let hello: Partial<WebSocketHello>;
    try {
      hello = JSON.parse(text);
    } catch {
      throw new PyroError("the hello is not JSON");
    }
    if (typeof hello !== "object" || hello === null || typeof hello.object !== "string") {
      throw new PyroError('the hello needs an "object" string');
    }
    const key = this.#options.key;
    if (key) {
      if (typeof hello.key !== "string" || !sameKey(hello.key, key)) {
        throw new SecurityError("the gateway key is missing or wrong");
      }
    }
    const name = nameOf(hello.object);
    if (!this.#options.exposed(name)) {
      throw new SecurityError(`name '${name}' is not exposed by this gateway`);
    }
    let uri = await this.#options.resolve(name);
    const connectOptions = {
      timeout: this.#options.connectTimeout ?? 10_000,
      tls: this.#options.tls,
    };
    let conn: Deno.Conn;
    try {
      try {
        conn = await connectTransport(uri, connectOptions);
      } catch (error) {
        if (this.#options.forget === undefined) throw error;
        this.#options.forget(name); // the target may have moved: look it up again
        uri = await this.#options.resolve(name);
        conn = await connectTransport(uri, connectOptions);
      }
    } catch (error) {
      // The browser hears the name, not the daemon's address.
      log.warn(`gateway: WebSocket for '${name}': ${(error as Error).message}`);
      const reason = (error as Error).message.split(": ").pop();
      throw new CommunicationError(`Cannot connect to '${name}': ${reason}`, { cause: error });
    }
    if (this.#closed) {
      conn.close();
      return;
    }
    this.#conn = conn;
    this.#objectId = uri.object;
    this.#ws.send(JSON.stringify({ object: uri.object }));
    log.debug(`gateway: WebSocket relays '${name}' to ${uri}`);
  }

  #refuse(error: unknown): void {
    const known = error instanceof PyroError;
    const message = error instanceof Error ? error.message : String(error);
    if (!known) log.warn(`gateway: WebSocket open failed: ${message}`);
    if (this.#closed) return;
    const className = known ? error.name : "CommunicationError";
    try {
      this.#ws.send(JSON.stringify({ error: { __class__: className, message } }));
    } catch {
      // already closing
    }
    this.close(1008, className);
  }

  /** A frame from the browser: checked, then queued for the daemon. */
  #onFrame = (e: MessageEvent): void => {
    if (this.#closed) return;
    if (typeof e.data === "string") {
      this.close(1008, "text after the hello");
      return;
    }
    const frame = new Uint8Array(e.data as ArrayBuffer);
    const largest = this.#options.maxClientMessageSize ?? 64 * 1024 * 1024;
    if (frame.length > largest) {
      log.warn(`gateway: WebSocket closed: a message of ${frame.length} bytes (limit ${largest})`);
      this.close(1009, `message larger than ${largest} bytes`);
      return;
    }
    const refusal = this.#check(frame);
    if (refusal !== null) {
      log.warn(`gateway: WebSocket closed: ${refusal}`);
      this.close(1008, refusal.slice(0, 120));
      return;
    }
    if (!(((frame[8]! << 8) | frame[9]!) & Flags.ONEWAY)) {
      const most = this.#options.maxFramesInFlight ?? 1024;
      if (++this.#awaiting > most) {
        log.warn(`gateway: WebSocket closed: more than ${most} frames awaiting answers`);
        this.close(1008, `more than ${most} frames awaiting answers`);
        return;
      }
    }
    const limit = this.#options.maxPendingBytes ?? 64 * 1024 * 1024;
    if (this.#pendingBytes + frame.length > limit && this.#pendingBytes > 0) {
      this.close(1009, "the daemon does not keep up");
      return;
    }
    this.#pending.push(frame);
    this.#pendingBytes += frame.length;
    if (!this.#writing) void this.#writeToDaemon();
  };

  /** Why a frame may not pass, or null. */
  #check(frame: Uint8Array): string | null {
    let msg: Message;
    try {
      // A compressed frame is inflated to be checked: no further than a daemon would.
      msg = decodeMessage(frame, {
        maxMessageSize: this.#max,
        maxInflatedSize: Math.min(this.#max, DEFAULT_MAX_INFLATED_SIZE),
      });
    } catch (error) {
      return `invalid frame: ${(error as Error).message}`;
    }
    try {
      switch (msg.type) {
        case MessageType.PING:
          return null;
        case MessageType.CONNECT: {
          if (this.#connected) return "CONNECT twice";
          const data = getSerializer(msg.serializerId).loads(msg.data) as Record<string, unknown>;
          if (data?.object !== this.#objectId) return "CONNECT for another object";
          this.#connected = true;
          return null;
        }
        case MessageType.INVOKE: {
          if (!this.#connected) return "INVOKE before CONNECT";
          const call = getSerializer(msg.serializerId).loadsCall(msg.data);
          if (call.object === this.#objectId) return null;
          if (call.object === DAEMON_NAME) {
            if (DAEMON_CALLS.has(call.method)) return null;
            if (call.method === "get_metadata" && call.params[0] === this.#objectId) return null;
          }
          return `object '${call.object}' is not reachable through this WebSocket`;
        }
        default:
          return `message type ${msg.type} is not sent by proxies`;
      }
    } catch (error) {
      return `invalid frame: ${(error as Error).message}`;
    }
  }

  async #writeToDaemon(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.length > 0 && this.#conn !== null && !this.#closed) {
        const chunks = this.#pending;
        const data = chunks.length === 1 ? chunks[0]! : concatFrames(chunks, this.#pendingBytes);
        this.#pending = [];
        this.#pendingBytes = 0;
        let off = 0;
        while (off < data.length) off += await this.#conn.write(data.subarray(off));
      }
    } catch (error) {
      log.debug(`gateway: writing to the daemon failed: ${(error as Error).message}`);
      this.close(1011, "connection to the daemon lost");
    } finally {
      this.#writing = false;
    }
  }

  /** Daemon bytes to the browser, one binary message per frame, until either side ends. */
  async #pipeFromDaemon(): Promise<void> {
    const conn = this.#conn;
    if (conn === null) return;
    const ws = this.#ws;
    const splitter = new FrameSplitter((frame) => {
      if (this.#awaiting > 0) this.#awaiting--;
      ws.send(frame);
    }, this.#max);
    try {
      for (;;) {
        const buf = new Uint8Array(READ_SIZE);
        const n = await conn.read(buf);
        if (n === null || this.#closed) break;
        splitter.push(buf.subarray(0, n));
        if (ws.bufferedAmount > HIGH_WATER) await this.#drained();
      }
      this.close(1000, "");
    } catch (error) {
      if (!this.#closed) {
        log.debug(`gateway: reading from the daemon failed: ${(error as Error).message}`);
        this.close(1011, "connection to the daemon lost");
      }
    }
  }

  /**
   * Waits until the browser has read enough of its replies; closes the WebSocket when it has
   * not for `sendTimeout`. (WebSocket has no drain event: the buffer is polled, less often the
   * longer it stays full.)
   */
  async #drained(): Promise<void> {
    const ws = this.#ws;
    const timeout = this.#options.sendTimeout ?? 60_000;
    const start = performance.now();
    let wait = 5;
    while (ws.bufferedAmount > HIGH_WATER && !this.#closed) {
      if (timeout > 0 && performance.now() - start > timeout) {
        log.warn(`gateway: WebSocket closed: its replies were not read for ${timeout} ms`);
        this.close(1008, "replies not read");
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(100, wait * 2);
    }
  }

  /** Closes the WebSocket and the daemon connection. Idempotent. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#hello?.reject(new Error("closed"));
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CLOSED) this.#done.resolve();
    else {
      ws.addEventListener("close", () => this.#done.resolve(), { once: true });
      // A peer that never answers the close handshake does not hold the relay up.
      const grace = setTimeout(() => this.#done.resolve(), CLOSE_GRACE);
      this.#done.promise.then(() => clearTimeout(grace));
      if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
      else if (ws.readyState === WebSocket.CONNECTING) {
        ws.addEventListener("open", () => ws.close(code, reason), { once: true });
      }
    }
  }
}
