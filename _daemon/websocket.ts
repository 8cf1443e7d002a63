/**
 * A daemon's WebSocket entrance (`Daemon.websocketHandler`): upgrades a request, answers the
 * opening exchange (`{"object": "PYRO:id@..."}` in, `{"object": id}` out, as the gateway's
 * relay does, so one proxy `via` option fits both), then hands the WebSocket, as a byte stream
 * of Pyro frames, to the daemon's ordinary connection handling.
 *
 * @example
 * ```ts
 * import { acceptWebSocket } from "./websocket.ts";
 *
 * const response = acceptWebSocket(new Request("http://127.0.0.1/pyro"), undefined, {
 *   isRegistered: () => true,
 *   serve: () => {},
 *   closing: () => false,
 * });
 * console.log(response.status); // 426: not a WebSocket request
 * ```
 *
 * @module
 */

import { DaemonError, NamingError, PyroError } from "../errors.ts";
import { log } from "../log.ts";
import { URI } from "../uri.ts";
import type { AcceptedConn } from "../_wire/listener.ts";
import { WebSocketByteStream } from "../_wire/websocket.ts";

/** What the daemon lends its WebSocket entrance. */
export interface WebSocketHost {
  /** Tells whether an object id is registered. */
  isRegistered(id: string): boolean;
  /** Serves an accepted connection like one from the TCP listener. */
  serve(conn: AcceptedConn): void;
  /** True once the daemon is closing. */
  closing(): boolean;
  /** Aborted when the daemon closes: WebSockets still in their opening exchange end. */
  signal?: AbortSignal;
  /** The largest frame body accepted. */
  maxMessageSize?: number;
  /** Milliseconds a new WebSocket has to send its hello. @default {10000} */
  helloTimeout?: number;
}

const NO_ADDRESS: Deno.Addr = { transport: "tcp", hostname: "0.0.0.0", port: 0 };

/** The object id a hello asks for: `PYRO:id@...` or a bare id. */
function objectIdOf(text: string): string {
  let hello: unknown;
  try {
    hello = JSON.parse(text);
  } catch {
    throw new PyroError("the hello is not JSON");
  }
  const object = (hello as { object?: unknown } | null)?.object;
  if (typeof object !== "string" || object.length > 1024) {
    throw new PyroError('the hello needs an "object" string');
  }
  if (!object.includes(":")) return object;
  const uri = new URI(object);
  if (uri.protocol !== "PYRO") {
    throw new NamingError(`a daemon resolves no names: connect to a PYRO: URI, not '${object}'`);
  }
  return uri.object;
}

/**
 * Upgrades a request to a Pyro WebSocket served by a daemon.
 *
 * @example
 * ```ts
 * import { acceptWebSocket, type WebSocketHost } from "./websocket.ts";
 *
 * // A plain HTTP request is answered before the daemon's side is asked anything.
 * const daemonSide = {} as WebSocketHost;
 * const response = acceptWebSocket(new Request("http://127.0.0.1/pyro"), undefined, daemonSide);
 * console.log(response.status, response.headers.get("upgrade")); // 426 websocket
 * ```
 *
 * @param request The upgrade request.
 * @param info The `Deno.serve` handler info (for the peer's address), if known.
 * @param host The daemon's side.
 * @returns The upgrade response; 426 for a plain request, 400 for a broken upgrade, 503 while
 *   the daemon closes.
 */
export function acceptWebSocket(
  request: Request,
  info: Deno.ServeHandlerInfo | undefined,
  host: WebSocketHost,
): Response {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return Response.json({ error: "this endpoint takes WebSocket connections" }, {
      status: 426,
      headers: { upgrade: "websocket" },
    });
  }
  if (host.closing()) {
    return Response.json({ error: "the daemon is closing" }, { status: 503 });
  }
  let remoteAddr = NO_ADDRESS;
  try {
    remoteAddr = info?.remoteAddr ?? NO_ADDRESS; // readable only while the request is open
  } catch {
    // the request is gone already
  }
  let upgraded: { socket: WebSocket; response: Response };
  try {
    upgraded = Deno.upgradeWebSocket(request);
  } catch (error) {
    return Response.json({ error: `Cannot upgrade: ${(error as Error).message}` }, {
      status: 400,
    });
  }
  const { socket, response } = upgraded;
  const hello = Promise.withResolvers<string>();
  const stream = new WebSocketByteStream(socket, {
    onText: hello.resolve,
    ...(host.maxMessageSize !== undefined ? { maxMessageSize: host.maxMessageSize } : {}),
  });
  const timer = setTimeout(() => {
    hello.reject(new PyroError("no hello received in time"));
  }, host.helloTimeout ?? 10_000);
  socket.addEventListener("close", () => hello.reject(new PyroError("closed")), { once: true });
  const onAbort = () => hello.reject(new PyroError("the daemon is closing"));
  host.signal?.addEventListener("abort", onAbort, { once: true });
  hello.promise.finally(() => host.signal?.removeEventListener("abort", onAbort)).catch(() => {});
  hello.promise.then((text) => {
    clearTimeout(timer);
    let id: string;
    try {
      id = objectIdOf(text);
      if (!host.isRegistered(id)) throw new DaemonError(`unknown object '${id}'`);
      if (host.closing()) throw new PyroError("the daemon is closing");
    } catch (error) {
      const e = error instanceof PyroError ? error : new PyroError(String(error));
      socket.send(JSON.stringify({ error: { __class__: e.name, message: e.message } }));
      socket.close(1008, e.name);
      return;
    }
    socket.send(JSON.stringify({ object: id }));
    host.serve({
      read: (p) => stream.read(p),
      write: (p) => stream.write(p),
      close: () => stream.close(),
      remoteAddr,
      peerCertificate: null,
    });
  }, (error: Error) => {
    clearTimeout(timer);
    if (error.message !== "closed") {
      log.info(`daemon: closing a WebSocket: ${error.message}`);
      stream.close();
    }
  });
  return response;
}
