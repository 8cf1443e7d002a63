/**
 * The gateway's WebSocket routes: `/pyro/ws` (browser proxies: Pyro5 frames relayed to the
 * daemons) and `/pyro/client.js` (the browser build of the client). This file is the seam
 * between the HTTP gateway and the WebSocket relay: the router (router.ts) calls
 * {@linkcode createWebSocketRoutes} once per gateway and hands these two paths to it.
 *
 * Until the relay lands, both routes answer 501 with a JSON reason.
 *
 * @module
 */

import type { GatewayContext } from "./context.ts";

/** The WebSocket side of one gateway. */
export interface WebSocketRoutes {
  /** Handles `GET /pyro/ws` (the upgrade request). */
  relay(request: Request, info: Deno.ServeHandlerInfo): Response | Promise<Response>;
  /** Handles `GET /pyro/client.js` (the browser module). */
  clientModule(request: Request): Response | Promise<Response>;
  /** Closes every relayed connection; called when the gateway closes. */
  close(): Promise<void>;
}

function notAvailable(context: GatewayContext, what: string): Response {
  const body = {
    __class__: "Pyro5.errors.PyroError",
    __exception__: true,
    args: [`Cannot serve ${what}: not available in this gateway`],
    attributes: {},
  };
  return new Response(JSON.stringify(body), {
    status: 501,
    headers: context.headers({ "Content-Type": "application/json; charset=utf-8" }),
  });
}

/**
 * Makes the WebSocket routes of a gateway.
 *
 * @param context The gateway's shared context (exposure, key, lookups, lifetime).
 * @returns The routes.
 */
export function createWebSocketRoutes(context: GatewayContext): WebSocketRoutes {
  return {
    relay: () => notAvailable(context, "the WebSocket relay"),
    clientModule: () => notAvailable(context, "the browser client"),
    close: () => Promise.resolve(),
  };
}
