/**
 * An HTTP gateway to Pyro objects, compatible with Python Pyro5's `pyro5-httpgateway`: any
 * object the Name Server knows (TypeScript or Python) whose name matches the expose pattern can
 * be called with plain HTTP and JSON, from `curl`, any HTTP client or a web page.
 *
 * | Request | Answer |
 * |---|---|
 * | `GET /pyro/<name>/<method>?a=1&b=x` | the method's result as JSON (query parameters are keyword arguments, as text) |
 * | `POST /pyro/<name>/<method>` with `{"args": [...], "kwargs": {...}}` | the same, with typed arguments |
 * | `GET /pyro/<name>/<attribute>` | the attribute's value |
 * | `GET /pyro/<name>/$meta` | `{"methods": [...], "attributes": [...], "oneway": [...]}` |
 * | `GET /pyro/` | an index page of the exposed names (`/` redirects to it) |
 * | `GET /console/` | the Name Server console |
 *
 * Headers: `X-Pyro-Gateway-Key` (or a `$key` query parameter) when a key is set;
 * `X-Pyro-Options: oneway` to call without waiting; `X-Pyro-Correlation-Id` (a UUID) is
 * passed on to the object, or generated, and echoed in the answer. A remote exception is a 500
 * with Pyro5's exception form (`__class__`, `__exception__`, `args`, `attributes` with the
 * remote `_pyroTraceback`); an unknown name or member is a 404, an unexposed name or wrong key
 * a 403, an unreachable object a 502, a timeout a 504, a bad request a 4xx with the reason.
 * A remote generator streams as NDJSON, or as Server-Sent Events for `Accept:
 * text/event-stream`; bytes travel as `{"$bytes": "<base64>"}`.
 *
 * Differences from Pyro5's gateway: POSTed JSON arguments; 404/403/502/504/4xx instead of 500 or
 * plain text; kept connections (up to `connectionsPerTarget` per object, a lookup cached for
 * `nsCacheTime` and renewed when the object cannot be reached); streamed generators; `$bytes`;
 * standard JSON out (`NaN` and infinities as `null`); msgpack towards the objects by default;
 * the `X-Pyro-*` headers allowed in CORS preflights; limits on body size, body time and calls
 * in progress; every exposed name on the index page (Pyro5: the first 10).
 *
 * @example Calling an object through the gateway
 * ```ts
 * import { startNameServer } from "./naming.ts";
 * import { Daemon } from "./daemon.ts";
 * import { expose } from "./expose.ts";
 * import { startGateway } from "./gateway.ts";
 *
 * await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(expose({ add: (a: number, b: number) => a + b }), "calc");
 * ns.nameServer.register("http.calc", uri.toString());
 *
 * await using gateway = await startGateway({
 *   host: "127.0.0.1",
 *   port: 0,
 *   ns: `127.0.0.1:${ns.uri.port}`,
 * });
 * const reply = await fetch(`${gateway.url}pyro/http.calc/add`, {
 *   method: "POST",
 *   headers: { "Content-Type": "application/json" },
 *   body: JSON.stringify({ args: [2, 3] }),
 * });
 * console.log(await reply.json()); // 5
 * ```
 *
 * @module
 */

import { config } from "./config.ts";
import { hostPort } from "./_wire/address.ts";
import { compilePythonRegex } from "./_naming/regex.ts";
import type { GatewayContext, GatewaySettings } from "./_gateway/context.ts";
import { createConsole } from "./_gateway/console.ts";
import { ConnectionGuard, defaultGatewayConnections } from "./_gateway/guard.ts";
import { Limiter } from "./_gateway/limiter.ts";
import { corsHeaders } from "./_gateway/responses.ts";
import { createHandler } from "./_gateway/router.ts";
import { Targets } from "./_gateway/targets.ts";
import { createWebSocketRoutes } from "./_gateway/ws.ts";

/** Options of {@linkcode createGateway} and {@linkcode startGateway}. Times are milliseconds. */
export interface GatewayOptions {
  /**
   * Host name or address to listen on ({@linkcode startGateway} only).
   *
   * @default {"localhost"}
   */
  host?: string;
  /**
   * TCP port to listen on; 0 picks a free one ({@linkcode startGateway} only).
   *
   * @default {8080}
   */
  port?: number;
  /**
   * The Name Server: `"HOST:PORT"`, `"HOST"` (default port) or its `PYRO:` URI. Without it the
   * Name Server is located as `locateNS()` does (config, then broadcast).
   */
  ns?: string;
  /**
   * Names that may be reached: a Python regular expression matched at the start of the name
   * (like Python's `re.match`). The empty string exposes every name.
   *
   * @default {"http\\."}
   */
  expose?: string;
  /**
   * The `Access-Control-Allow-Origin` value, e.g. `"*"`; empty = no CORS headers.
   *
   * @default {""}
   */
  cors?: string;
  /** A key clients must send (`X-Pyro-Gateway-Key` header or `$key` parameter); empty = none. */
  key?: string;
  /**
   * Connect and call timeout towards the objects; 0 = none.
   *
   * @default {config.COMMTIMEOUT * 1000, or 30000 when that is 0}
   */
  timeout?: number;
  /**
   * The serializer towards the objects: msgpack carries bytes both ways; json is Pyro5's
   * gateway choice (no bytes).
   *
   * @default {"msgpack"}
   */
  serializer?: string;
  /**
   * The largest request body accepted, in bytes (413 past it).
   *
   * @default {1048576}
   */
  maxBodySize?: number;
  /**
   * How long a client may take to send its request body (408 past it).
   *
   * @default {10000}
   */
  requestTimeout?: number;
  /**
   * Calls in progress at once; up to four times as many wait, more get a 503.
   *
   * @default {128}
   */
  maxConcurrentCalls?: number;
  /**
   * Calls in progress and waiting together from one client IP address (index pages and
   * console lookups count as calls); more get a 503 at once, so that one client cannot take
   * every place. Raise it behind a proxy or NAT that many clients share.
   *
   * @default {a quarter of the places and the queue (`maxConcurrentCalls * 5 / 4`), at least 16}
   */
  maxCallsPerAddress?: number;
  /**
   * Connections kept per target object.
   *
   * @default {4}
   */
  connectionsPerTarget?: number;
  /**
   * How long a Name Server answer is reused (a target that cannot be reached is looked up
   * again at once).
   *
   * @default {5000}
   */
  nsCacheTime?: number;
  /**
   * Serve the Name Server console at `/console/`.
   *
   * @default {true}
   */
  console?: boolean;
  /**
   * Accept the connections in the gateway's own guard, which bounds them (the limits below);
   * false serves with `Deno.serve` alone, which has no connection limit, no header or idle
   * deadline and stops for good when the process runs out of file descriptors: only behind a
   * reverse proxy that bounds connections itself. The guard relays every byte once more
   * (measured: a fifth to a third more gateway CPU per small call) ({@linkcode startGateway} only).
   *
   * @default {true}
   */
  guard?: boolean;
  /**
   * Client connections at once ({@linkcode startGateway} only): at the limit, the connections
   * idle the longest are closed to make room (those that never sent a request first); a
   * newcomer is refused with a 503 only when every connection is busy.
   *
   * @default {a third of the daemon's default (each connection takes three file descriptors), at least 64}
   */
  maxConnections?: number;
  /**
   * Client connections from one IP address at once ({@linkcode startGateway} only); raise it
   * behind a proxy or NAT that many clients share.
   *
   * @default {a quarter of `maxConnections`, at least 64}
   */
  maxConnectionsPerAddress?: number;
  /**
   * Time from connecting to the first complete request head, after which a connection is
   * closed ({@linkcode startGateway} only; 0 = none); also the time a new WebSocket has to
   * send its hello (0 = 10 s there).
   *
   * @default {10000}
   */
  headerTimeout?: number;
  /**
   * Time a kept-alive connection may wait for its next request ({@linkcode startGateway} only;
   * 0 = none). A connection with a request in flight or upgraded to a WebSocket is not idle;
   * a quiet WebSocket is pinged at this interval instead, and closed when its client does not
   * answer (0 = 30 s there).
   *
   * @default {30000}
   */
  idleTimeout?: number;
  /**
   * Time one write to a client may take before the connection is dropped (a client that does
   * not read its answer; {@linkcode startGateway} only; 0 = none); also the time a WebSocket
   * client may leave more than 4 MiB of replies unread before it is closed (code 1008).
   *
   * @default {60000}
   */
  writeTimeout?: number;
  /**
   * WebSockets relayed at once (`/pyro/ws`, idle ones included); more get a 503.
   *
   * @default {2048}
   */
  maxWebSockets?: number;
  /**
   * WebSockets relayed at once from one IP address; more get a 503.
   *
   * @default {a quarter of `maxWebSockets`, at least 64}
   */
  maxWebSocketsPerAddress?: number;
  /**
   * The largest WebSocket message (one Pyro frame) a client may send; a larger one closes
   * its WebSocket with code 1009. Deno drops any WebSocket whose message passes 64 MiB.
   *
   * @default {16777216}
   */
  maxWebSocketMessageSize?: number;
  /** Closes the gateway when aborted. */
  signal?: AbortSignal;
}

/** A gateway: a request handler that can be mounted in any `Deno.serve` app. */
export interface Gateway extends AsyncDisposable {
  /**
   * Serves one request (pass the `Deno.serve` handler info for the WebSocket relay and logs).
   */
  handler(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response>;
  /** Closes the connections to the objects and ends live streams. */
  close(): Promise<void>;
}

/** A gateway listening on its own port, as {@linkcode startGateway} returns it. */
export interface GatewayServer extends Gateway {
  /** The address listened on. */
  readonly addr: Deno.NetAddr;
  /** The base URL, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** The connection limits in force; null without the guard (`guard: false`). */
  readonly limits: Readonly<ConnectionLimits> | null;
  /** Client connections open now; null without the guard (`guard: false`). */
  readonly connections: number | null;
}

/** The connection limits of a gateway listening on its own port. Times are milliseconds. */
export interface ConnectionLimits {
  /** Client connections at once. */
  maxConnections: number;
  /** Client connections from one IP address at once. */
  maxConnectionsPerAddress: number;
  /** Time from connecting to the first complete request head (0 = none). */
  headerTimeout: number;
  /** Time a kept-alive connection may wait for its next request (0 = none). */
  idleTimeout: number;
  /** Time one write to a client may take (0 = none). */
  writeTimeout: number;
}

/** The connection limits of {@linkcode GatewayOptions}, defaults filled in. */
function connectionLimitsOf(options: GatewayOptions): ConnectionLimits {
  const maxConnections = options.maxConnections ?? defaultGatewayConnections();
  return {
    maxConnections,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ??
      Math.max(64, Math.floor(maxConnections / 4)),
    headerTimeout: options.headerTimeout ?? 10_000,
    idleTimeout: options.idleTimeout ?? 30_000,
    writeTimeout: options.writeTimeout ?? 60_000,
  };
}

/** The defaults of {@linkcode GatewayOptions}. */
function settingsOf(options: GatewayOptions): GatewaySettings {
  const exposeSource = options.expose ?? "http\\.";
  const timeout = options.timeout ?? (config.COMMTIMEOUT > 0 ? config.COMMTIMEOUT * 1000 : 30_000);
  const maxWebSockets = options.maxWebSockets ?? 2048;
  return {
    exposeSource,
    expose: exposeSource === "" ? null : compilePythonRegex(exposeSource),
    cors: options.cors ?? "",
    key: options.key ?? "",
    timeout,
    serializer: options.serializer ?? "msgpack",
    maxBodySize: options.maxBodySize ?? 1024 * 1024,
    requestTimeout: options.requestTimeout ?? 10_000,
    maxConcurrentCalls: options.maxConcurrentCalls ?? 128,
    nsCacheTime: options.nsCacheTime ?? 5000,
    console: options.console ?? true,
    maxWebSockets,
    maxWebSocketsPerAddress: options.maxWebSocketsPerAddress ??
      Math.max(64, Math.floor(maxWebSockets / 4)),
    maxWebSocketMessageSize: options.maxWebSocketMessageSize ?? 16 * 1024 * 1024,
    webSocketHelloTimeout: options.headerTimeout || 10_000,
    webSocketSendTimeout: options.writeTimeout ?? 60_000,
    webSocketPingInterval: options.idleTimeout || 30_000,
  };
}

function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < y.length; i++) diff |= y[i]! ^ (x[i % Math.max(1, x.length)] ?? 0);
  return diff === 0;
}

const LOCAL_INFO: Deno.ServeHandlerInfo = {
  remoteAddr: { transport: "tcp", hostname: "0.0.0.0", port: 0 },
  completed: Promise.resolve(),
};

/**
 * Makes a gateway without listening: mount its `handler` in an existing `Deno.serve` app.
 *
 * @example Inside an existing app
 * ```ts
 * import { createGateway } from "./gateway.ts";
 *
 * await using gateway = createGateway({ ns: "127.0.0.1:9090" });
 * const app = (request: Request, info: Deno.ServeHandlerInfo): Promise<Response> | Response => {
 *   const { pathname } = new URL(request.url);
 *   if (pathname.startsWith("/pyro/") || pathname.startsWith("/console/")) {
 *     return gateway.handler(request, info);
 *   }
 *   return new Response("my app");
 * };
 * // Use it as Deno.serve(app); here it answers one request directly.
 * const info = {
 *   remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 50000 },
 *   completed: Promise.resolve(),
 * };
 * const response = await app(new Request("http://127.0.0.1/"), info);
 * console.log(await response.text()); // my app
 * ```
 *
 * @param options The Name Server, exposure, key, CORS and limits.
 * @returns The gateway.
 * @throws {SyntaxError} For an expose pattern that is not a valid Python regular expression.
 */
export function createGateway(options: GatewayOptions = {}): Gateway {
  const settings = settingsOf(options);
  const lifetime = new AbortController();
  const targets = new Targets({
    ns: options.ns ?? null,
    serializer: settings.serializer,
    timeout: settings.timeout,
    cacheTime: settings.nsCacheTime,
    connectionsPerTarget: options.connectionsPerTarget ?? 4,
  });
  const cors = corsHeaders(settings.cors);
  const context: GatewayContext = {
    settings,
    signal: lifetime.signal,
    isExposed: (name) => settings.expose === null || settings.expose(name),
    hasKey: (request, url) => {
      if (settings.key === "") return true;
      const given = request.headers.get("X-Pyro-Gateway-Key") || url.searchParams.get("$key") || "";
      return timingSafeEqual(given, settings.key);
    },
    resolve: (name) => targets.resolve(name),
    forget: (name) => targets.forget(name),
    headers: (extra = {}) => {
      const headers = new Headers(extra);
      for (const [k, v] of Object.entries(cors)) headers.set(k, v);
      return headers;
    },
  };
  const limiter = new Limiter(
    settings.maxConcurrentCalls,
    settings.maxConcurrentCalls * 4,
    options.maxCallsPerAddress ?? Math.max(16, settings.maxConcurrentCalls * 5 / 4),
  );
  const consoleRoutes = settings.console ? createConsole(context, targets) : null;
  const ws = createWebSocketRoutes(context);
  const handle = createHandler({ context, targets, limiter, console: consoleRoutes, ws });
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      lifetime.abort();
      await consoleRoutes?.close();
      await ws.close();
      await targets.close();
    })();
    return closing;
  };
  const onAbort = () => void close();
  if (options.signal?.aborted) void close();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  return {
    handler: (request, info) => handle(request, info ?? LOCAL_INFO),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Starts a gateway listening on its own port (Pyro5's `pyro5-httpgateway`).
 *
 * @example
 * ```ts
 * import { startGateway } from "./gateway.ts";
 *
 * await using gateway = await startGateway({ host: "127.0.0.1", port: 0, ns: "127.0.0.1:9" });
 * const reply = await fetch(gateway.url, { redirect: "manual" });
 * await reply.body?.cancel();
 * console.log(reply.status, reply.headers.get("Location")); // 302 /pyro/
 * ```
 *
 * @param options Where to listen, the Name Server, exposure, key, CORS and limits.
 * @returns The running gateway.
 */
export async function startGateway(options: GatewayOptions = {}): Promise<GatewayServer> {
  const gateway = createGateway(options);
  const limits = options.guard === false ? null : connectionLimitsOf(options);
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const stop = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  let guard: ConnectionGuard | null = null;
  try {
    // Deno.serve listens on a private loopback port; the guard accepts the clients (see
    // _gateway/guard.ts for why).
    server = Deno.serve(
      {
        hostname: limits === null ? options.host ?? "localhost" : "127.0.0.1",
        port: limits === null ? options.port ?? 8080 : 0,
        signal: stop.signal,
        onListen: (addr) => listening.resolve(addr),
        onError: (error) => {
          return new Response(
            JSON.stringify({
              __class__: "Pyro5.errors.PyroError",
              __exception__: true,
              args: [`Cannot serve the request: ${(error as Error)?.message ?? error}`],
              attributes: {},
            }),
            { status: 500, headers: { "Content-Type": "application/json; charset=utf-8" } },
          );
        },
      },
      (request, info) =>
        guard?.serve(request, info, gateway.handler) ?? gateway.handler(request, info),
    );
    const inner = await listening.promise;
    if (limits !== null) {
      guard = new ConnectionGuard(
        { hostname: options.host ?? "localhost", port: options.port ?? 8080 },
        inner,
        limits,
      );
    }
  } catch (e) {
    stop.abort();
    await server?.finished;
    await gateway.close();
    throw e;
  }
  const addr = guard?.addr ?? await listening.promise;
  const finished = server.finished;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      await gateway.close(); // ends streams first, so the server can drain
      await guard?.close();
      stop.abort();
      await finished;
    })();
    return closing;
  };
  const onAbort = () => void close();
  if (options.signal?.aborted) void close();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  return {
    addr,
    url: `http://${hostPort(addr.hostname, addr.port)}/`,
    finished,
    limits,
    get connections() {
      return guard?.connections ?? null;
    },
    handler: gateway.handler,
    close,
    [Symbol.asyncDispose]: close,
  };
}
