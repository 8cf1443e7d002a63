/**
 * Response helpers shared by the gateway's routes: JSON bodies, errors in Pyro5's exception
 * form with the status that fits, and the CORS headers.
 *
 * @module
 */

import type { GatewayContext } from "./context.ts";
import { type ExceptionBody, exceptionBody, toJson } from "./json.ts";

/** The content type of every JSON answer. */
export const JSON_TYPE = "application/json; charset=utf-8";

/** The CORS headers for an origin (empty origin = none). */
export function corsHeaders(origin: string): Record<string, string> {
  if (origin === "") return {};
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers":
      "Content-Type, X-Pyro-Gateway-Key, X-Pyro-Options, X-Pyro-Correlation-Id",
    "Access-Control-Expose-Headers": "X-Pyro-Correlation-Id",
    "Access-Control-Max-Age": "600",
    ...(origin === "*" ? {} : { "Vary": "Origin" }),
  };
}

/** A JSON response with the context's headers. */
export function jsonResponse(
  context: GatewayContext,
  value: unknown,
  status = 200,
  extra: HeadersInit = {},
): Response {
  const headers = context.headers(extra);
  headers.set("Content-Type", JSON_TYPE);
  return new Response(toJson(value), { status, headers });
}

/** The exception form of a gateway-level error (bad request, forbidden, not found...). */
export function errorBody(className: string, message: string): ExceptionBody {
  return { __class__: className, __exception__: true, args: [message], attributes: {} };
}

/** A gateway-level error response: `status` with Pyro5's exception form and a message. */
export function errorResponse(
  context: GatewayContext,
  status: number,
  className: string,
  message: string,
  extra: HeadersInit = {},
): Response {
  return jsonResponse(context, errorBody(className, message), status, extra);
}

/** The status for an error raised while reaching or calling a Pyro object. */
export function statusOf(error: unknown): number {
  const e = error as { name?: string; remoteClass?: string; remoteTraceback?: unknown } | null;
  if (e === null || typeof e !== "object") return 500;
  if (e.remoteClass !== undefined || e.remoteTraceback !== undefined) return 500; // raised remotely
  switch (e.name) {
    case "NamingError":
      return 404;
    case "SecurityError":
      return 403;
    case "TimeoutError":
      return 504;
    case "CommunicationError":
    case "ConnectionClosedError":
    case "ProtocolError":
    case "MessageTooLargeError":
      return 502;
    default:
      return 500;
  }
}

/** The response for an error raised while reaching or calling a Pyro object. */
export function callErrorResponse(
  context: GatewayContext,
  error: unknown,
  extra: HeadersInit = {},
): Response {
  return jsonResponse(context, exceptionBody(error), statusOf(error), extra);
}
