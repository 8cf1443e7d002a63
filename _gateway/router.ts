/**
 * The gateway's router: maps a request to its route.
 *
 * | Path | Route |
 * |---|---|
 * | `/` | redirect to `/pyro/` |
 * | `/pyro/` | the index page of exposed names |
 * | `/pyro/<name>/<member>` | a call, an attribute read or `$meta` (http.ts) |
 * | `/pyro/ws`, `/pyro/client.js` | the WebSocket relay and the browser client (ws.ts) |
 * | `/console/...` | the Name Server console (console.ts) |
 *
 * The index page and the console's lookups take a place among the calls in progress, as calls
 * do (the console's event stream, long-lived, has its own limit). `OPTIONS` answers CORS
 * preflights for every route. Anything else is a 404 in Pyro5's
 * exception form; an unexpected failure is a 500 in the same form, never a dropped connection.
 *
 * @module
 */

import type { GatewayContext } from "./context.ts";
import type { ConsoleRoutes } from "./console.ts";
import { type CallRoute, handleCall, splitCallPath } from "./http.ts";
import { indexPage } from "./index_page.ts";
import { errorResponse } from "./responses.ts";
import type { WebSocketRoutes } from "./ws.ts";
import { log } from "../log.ts";

/** The routes a gateway is made of. */
export interface Routes extends CallRoute {
  /** The console, or null when it is off. */
  readonly console: ConsoleRoutes | null;
  /** The WebSocket relay and browser client. */
  readonly ws: WebSocketRoutes;
}

/** A request handler in `Deno.serve`'s shape. */
export type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response>;

function redirect(context: GatewayContext, to: string): Response {
  return new Response(null, { status: 302, headers: context.headers({ Location: to }) });
}

async function route(
  routes: Routes,
  request: Request,
  info: Deno.ServeHandlerInfo,
): Promise<Response> {
  const { context } = routes;
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return errorResponse(context, 400, "builtins.ValueError", "Cannot parse the request URL");
  }
  const path = url.pathname;
  if (request.method === "OPTIONS") {
    return new Response(null, {
      status: 204,
      headers: context.headers({ Allow: "GET, POST, OPTIONS" }),
    });
  }
  if (path === "/" || path === "/pyro") return redirect(context, "/pyro/");
  if (path === "/pyro/") {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return methodNotAllowed(context, request);
    }
    return await limited(routes, info, () => indexPage(context, routes.targets));
  }
  if (path === "/pyro/ws") return await routes.ws.relay(request, info);
  if (path === "/pyro/client.js") return await routes.ws.clientModule(request);
  if (path.startsWith("/pyro/")) {
    const call = splitCallPath(path.slice("/pyro/".length));
    if (call !== null) return await handleCall(routes, request, url, call, hostOf(info));
  }
  if (routes.console !== null) {
    if (path === "/console") return redirect(context, "/console/");
    if (path.startsWith("/console/api/") && path !== "/console/api/events") {
      const consoleRoutes = routes.console;
      return await limited(routes, info, () => consoleRoutes.handle(request, url));
    }
    if (path.startsWith("/console/")) return await routes.console.handle(request, url);
  }
  return errorResponse(
    context,
    404,
    "Pyro5.errors.PyroError",
    `Cannot find ${JSON.stringify(path.slice(0, 200))}`,
  );
}

/**
 * Runs a route that talks to the Name Server or to objects under the gateway's limit of calls
 * in progress (the call route takes its place itself, after reading the body).
 */
async function limited(
  routes: Routes,
  info: Deno.ServeHandlerInfo,
  work: () => Promise<Response>,
): Promise<Response> {
  const release = await routes.limiter.acquire(routes.context.signal, hostOf(info));
  if (release === null) {
    return errorResponse(
      routes.context,
      503,
      "Pyro5.errors.PyroError",
      "Cannot serve the request now: too many calls in progress",
      { "Retry-After": "1" },
    );
  }
  try {
    return await work();
  } finally {
    release();
  }
}

/** The client's IP address, or null (a Unix socket, or a handler called without info). */
export function hostOf(info: Deno.ServeHandlerInfo): string | null {
  const addr = info.remoteAddr;
  return "hostname" in addr && addr.hostname !== "0.0.0.0" ? addr.hostname : null;
}

function methodNotAllowed(context: GatewayContext, request: Request): Response {
  return errorResponse(
    context,
    405,
    "Pyro5.errors.PyroError",
    `Cannot serve method ${request.method} here`,
    { Allow: "GET, OPTIONS" },
  );
}

/** Makes the gateway's request handler. */
export function createHandler(routes: Routes): Handler {
  return async (request, info) => {
    try {
      return await route(routes, request, info);
    } catch (error) {
      log.warn(
        `gateway: ${request.method} ${request.url} failed: ${(error as Error)?.stack ?? error}`,
      );
      return errorResponse(
        routes.context,
        500,
        "Pyro5.errors.PyroError",
        `Cannot serve the request: ${(error as Error)?.message ?? String(error)}`,
      );
    }
  };
}
