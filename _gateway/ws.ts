/**
 * The gateway's WebSocket routes: `/pyro/ws` (browser proxies: Pyro5 frames relayed to the
 * daemons, see ws_relay.ts) and `/pyro/client.js` (the browser build of the client, built on
 * first request and kept, see `_browser/build.ts`). This file is the seam between the HTTP
 * gateway and the WebSocket relay: the router (router.ts) calls
 * {@linkcode createWebSocketRoutes} once per gateway and hands these two paths to it.
 *
 * @example
 * ```ts
 * import { createWebSocketRoutes } from "./ws.ts";
 * console.log(typeof createWebSocketRoutes); // "function"; the gateway calls it once
 * ```
 *
 * @module
 */

import type { GatewayContext } from "./context.ts";
import { WebSocketRelay } from "./ws_relay.ts";
import { browserClient } from "../_browser/build.ts";
import { clientTlsFromConfig } from "../tls.ts";
import { log } from "../log.ts";

/** The WebSocket side of one gateway. */
export interface WebSocketRoutes {
  /** Handles `GET /pyro/ws` (the upgrade request). */
  relay(request: Request, info: Deno.ServeHandlerInfo): Response | Promise<Response>;
  /** Handles `GET /pyro/client.js` (the browser module). */
  clientModule(request: Request): Response | Promise<Response>;
  /** Closes every relayed connection; called when the gateway closes. */
  close(): Promise<void>;
}

/**
 * Makes the WebSocket routes of a gateway.
 *
 * @example
 * ```ts
 * import { createWebSocketRoutes } from "./ws.ts";
 * console.log(createWebSocketRoutes.length); // 1: the gateway context
 * ```
 *
 * @param context The gateway's shared context (exposure, key, lookups, lifetime).
 * @returns The routes.
 */
export function createWebSocketRoutes(context: GatewayContext): WebSocketRoutes {
  const relay = new WebSocketRelay({
    exposed: (name) => context.isExposed(name),
    resolve: (name) => context.resolve(name, context.signal),
    forget: (name) => context.forget(name),
    key: context.settings.key,
    tls: clientTlsFromConfig(),
    connectTimeout: context.settings.timeout || 10_000,
    helloTimeout: context.settings.webSocketHelloTimeout,
    maxConnections: context.settings.maxWebSockets,
    maxConnectionsPerAddress: context.settings.maxWebSocketsPerAddress,
    maxClientMessageSize: context.settings.maxWebSocketMessageSize,
    maxPendingBytes: context.settings.maxWebSocketMessageSize,
    sendTimeout: context.settings.webSocketSendTimeout,
    pingInterval: context.settings.webSocketPingInterval,
    // Pages of other origins as the CORS setting (-c) allows them for HTTP calls.
    allowOrigin: (origin) => context.settings.cors === "*" || context.settings.cors === origin,
  });
  return {
    relay: (request, info) => relay.handle(request, info),
    clientModule: async () => {
      try {
        return new Response(await browserClient(), {
          headers: context.headers({
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": "no-cache",
          }),
        });
      } catch (error) {
        const message = (error as Error).message;
        log.error(`gateway: ${message}`);
        const body = {
          __class__: "Pyro5.errors.PyroError",
          __exception__: true,
          args: [message],
          attributes: {},
        };
        return new Response(JSON.stringify(body), {
          status: 500,
          headers: context.headers({ "Content-Type": "application/json; charset=utf-8" }),
        });
      }
    },
    close: () => relay.close(),
  };
}
