/**
 * The gateway's connection guard: the sockets a stand-alone gateway accepts, counted and
 * bounded before `Deno.serve` sees them.
 *
 * `Deno.serve` (Deno 2.9.6) has no limit on connections, no deadline for a request head and no
 * idle timeout, and gives no access to its sockets: a client that connects and sends nothing,
 * or trickles a header, is kept for ever, and when the process runs out of file descriptors
 * the server stops for good (`server.finished` rejects with "Too many open files"). So
 * `startGateway` accepts the connections itself (`Deno.listen`) and relays each one to a
 * `Deno.serve` listening on a private loopback port, with:
 *
 * - a connection limit and a per-address cap ({@linkcode Admission}, as the daemon's): at a
 *   limit the connections idle the longest are closed to make room, those that never sent a
 *   request first;
 * - a deadline for the first request head (`headerTimeout`) and an idle timeout between
 *   requests on a kept connection (`idleTimeout`); a connection with a request in flight (a
 *   stream, a slow call) or upgraded to a WebSocket is never idle;
 * - a deadline for each write to a client that does not read (`writeTimeout`);
 * - survival when file descriptors run out: idle connections are closed and accepting goes on.
 *
 * A connection that has sent nothing costs one socket and a 1 KiB read buffer: the relay's
 * connection to the inner server is opened at the first byte.
 *
 * @module
 */

import { Admission, defaultMaxConnections, RateLog } from "../_daemon/admission.ts";
import { log } from "../log.ts";

/** Limits of a {@linkcode ConnectionGuard}. Times are milliseconds; 0 turns a deadline off. */
export interface GuardLimits {
  /** Connections at once. */
  readonly maxConnections: number;
  /** Connections from one IP address at once. */
  readonly maxConnectionsPerAddress: number;
  /** Time from connecting to the first complete request head. */
  readonly headerTimeout: number;
  /** Time a kept connection may wait with no request in flight. */
  readonly idleTimeout: number;
  /** Time one write to a client may take (a client that does not read). */
  readonly writeTimeout: number;
}

/**
 * The default connection limit of a gateway: a third of the daemon's (each client connection
 * uses three file descriptors: the client's, and both ends of the relay to `Deno.serve`).
 */
export function defaultGatewayConnections(): number {
  return Math.max(64, Math.floor(defaultMaxConnections() / 3));
}

const FIRST_READ = 1024;
const READ_SIZE = 16 * 1024;
const SWEEP_INTERVAL = 1000;

let nextId = 1;

/** One client connection and its relay to the inner server. */
class Guarded {
  readonly id = nextId++;
  readonly client: Deno.TcpConn;
  readonly remoteAddr: Deno.NetAddr;
  upstream: Deno.TcpConn | null = null;
  requests = 0;
  upgraded = false;
  handshaken = false;
  readonly receivingFrame = false;
  lastActive = performance.now();
  /** When the write to the client under way began, or -1. */
  writingSince = -1;
  closed = false;
  readonly #onClose: (g: Guarded) => void;

  constructor(client: Deno.TcpConn, onClose: (g: Guarded) => void) {
    this.client = client;
    this.remoteAddr = client.remoteAddr;
    this.#onClose = onClose;
  }

  /** A request in flight or an upgraded connection: never idle. */
  get callsInFlight(): number {
    return this.requests + (this.upgraded ? 1 : 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const conn of [this.client, this.upstream]) {
      try {
        conn?.close();
      } catch {
        // already closed
      }
    }
    this.#onClose(this);
  }
}

/**
 * Accepts a gateway's connections and relays them to its inner `Deno.serve`.
 *
 * @example
 * ```ts
 * import { ConnectionGuard } from "./guard.ts";
 *
 * const hello = (_request: Request, info: Deno.ServeHandlerInfo) =>
 *   new Response((info.remoteAddr as Deno.NetAddr).hostname);
 * let guard: ConnectionGuard | undefined;
 * await using inner = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (request, info) => guard!.serve(request, info, hello),
 * );
 * guard = new ConnectionGuard({ hostname: "127.0.0.1", port: 0 }, inner.addr, {
 *   maxConnections: 100,
 *   maxConnectionsPerAddress: 10,
 *   headerTimeout: 10_000,
 *   idleTimeout: 30_000,
 *   writeTimeout: 60_000,
 * });
 * const reply = await fetch(`http://127.0.0.1:${guard.addr.port}/`);
 * console.log(await reply.text()); // 127.0.0.1
 * await guard.close();
 * ```
 */
export class ConnectionGuard {
  readonly #listener: Deno.TcpListener;
  readonly #inner: Deno.NetAddr;
  readonly #limits: GuardLimits;
  readonly #admission: Admission;
  readonly #all = new Set<Guarded>();
  /** By the local port of the relay's connection to the inner server. */
  readonly #byPort = new Map<number, Guarded>();
  readonly #rateLog = new RateLog(10_000, (text) => log.warn(text));
  readonly #accepting: Promise<void>;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * Listens and starts accepting.
   *
   * @param listen Where to listen.
   * @param inner The inner server's address (loopback).
   * @param limits The limits.
   */
  constructor(
    listen: { hostname: string; port: number },
    inner: Deno.NetAddr,
    limits: GuardLimits,
  ) {
    this.#listener = Deno.listen({ hostname: listen.hostname, port: listen.port });
    this.#inner = inner;
    this.#limits = limits;
    this.#admission = new Admission(
      {
        maxConnections: limits.maxConnections,
        maxPerAddress: limits.maxConnectionsPerAddress,
        handshakeTimeout: limits.headerTimeout,
      },
      () => new Set(),
      "gateway",
    );
    if (limits.idleTimeout > 0 || limits.writeTimeout > 0) {
      const every = Math.min(
        limits.idleTimeout || Infinity,
        limits.writeTimeout || Infinity,
        SWEEP_INTERVAL,
      );
      this.#sweeper = setInterval(this.#sweep, every);
      Deno.unrefTimer(this.#sweeper);
    }
    this.#accepting = this.#accept();
  }

  /** The address listened on. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Client connections open now. */
  get connections(): number {
    return this.#all.size;
  }

  /** The limits in force. */
  get limits(): GuardLimits {
    return this.#limits;
  }

  /**
   * Serves one request of the inner server: counts it on its client connection (so that the
   * connection is not idle while it is served) and passes the client's address on.
   *
   * @param request The request.
   * @param info The inner server's info (its peer is the relay).
   * @param handler The gateway's handler.
   * @returns The handler's response.
   */
  async serve(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    handler: (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>,
  ): Promise<Response> {
    const g = this.#byPort.get(info.remoteAddr.port);
    if (g === undefined) return await handler(request, info); // not through the guard
    g.handshaken = true;
    g.requests++;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      g.requests--;
      g.lastActive = performance.now();
    };
    info.completed.then(end, end);
    const response = await handler(request, {
      remoteAddr: g.remoteAddr,
      completed: info.completed,
    });
    if (response.status === 101) g.upgraded = true;
    return response;
  }

  /** Stops accepting and closes every client connection. */
  async close(): Promise<void> {
    if (this.#closed) return await this.#accepting;
    this.#closed = true;
    clearInterval(this.#sweeper);
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    for (const g of [...this.#all]) g.close();
    this.#admission.close();
    this.#rateLog.close();
    await this.#accepting;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        // Out of file descriptors (or another transient failure): make room and go on.
        const freed = this.#admission.relieve(16);
        this.#rateLog.note(
          "accept",
          `gateway: cannot accept a connection (${
            (error as Error).message
          }): closed ${freed} idle connections`,
        );
        if (freed === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      const host = conn.remoteAddr.hostname;
      const verdict = this.#admission.admit(host);
      if (!verdict.admit) {
        refuse(conn);
        continue;
      }
      const g = new Guarded(conn, (closed) => this.#forget(closed));
      this.#all.add(g);
      this.#admission.add(g, host);
      void this.#relay(g);
    }
  }

  #forget(g: Guarded): void {
    this.#all.delete(g);
    this.#admission.remove(g);
    if (g.upstream !== null) this.#byPort.delete(g.upstream.localAddr.port);
  }

  /** Client bytes to the inner server and back, until either side ends. */
  async #relay(g: Guarded): Promise<void> {
    const first = new Uint8Array(FIRST_READ);
    let n: number | null;
    try {
      n = await g.client.read(first);
    } catch {
      n = null;
    }
    if (n === null || g.closed) return g.close();
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({ hostname: this.#inner.hostname, port: this.#inner.port });
    } catch (error) {
      this.#rateLog.note(
        "inner",
        `gateway: cannot relay a connection: ${(error as Error).message}`,
      );
      return g.close();
    }
    if (g.closed) {
      upstream.close();
      return;
    }
    g.client.setNoDelay(true);
    upstream.setNoDelay(true);
    g.upstream = upstream;
    this.#byPort.set(upstream.localAddr.port, g);
    try {
      await writeAll(upstream, first.subarray(0, n));
    } catch {
      return g.close();
    }
    await Promise.all([
      this.#pump(g, g.client, upstream, false),
      this.#pump(g, upstream, g.client, true),
    ]);
  }

  async #pump(g: Guarded, from: Deno.Conn, to: Deno.Conn, toClient: boolean): Promise<void> {
    const buf = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null || g.closed) break;
        if (toClient) g.writingSince = performance.now(); // watched by the sweeper
        await writeAll(to, buf.subarray(0, n));
        if (toClient) g.writingSince = -1;
      }
    } catch {
      // a side closed
    }
    g.close();
  }

  #sweep = (): void => {
    const now = performance.now();
    const { idleTimeout, writeTimeout } = this.#limits;
    let idle = 0, stalled = 0;
    for (const g of this.#all) {
      if (writeTimeout > 0 && g.writingSince >= 0 && now - g.writingSince > writeTimeout) {
        g.close();
        stalled++;
      } else if (
        idleTimeout > 0 && g.handshaken && g.callsInFlight === 0 && g.writingSince < 0 &&
        now - g.lastActive > idleTimeout
      ) {
        g.close();
        idle++;
      }
    }
    if (idle > 0) {
      this.#rateLog.note("idle", `gateway: closed ${idle} connections idle for ${idleTimeout} ms`);
    }
    if (stalled > 0) {
      this.#rateLog.note(
        "write",
        `gateway: closed ${stalled} connections that did not read their answers for ${writeTimeout} ms`,
      );
    }
  };
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

const REFUSAL = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n" +
    "Retry-After: 1\r\nContent-Length: 42\r\n\r\nCannot serve: too many connections, retry\n",
);

/** Tells a refused client why (without waiting for it to read) and closes. */
function refuse(conn: Deno.TcpConn): void {
  conn.write(REFUSAL).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  });
}
