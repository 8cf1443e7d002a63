/**
 * The WebSocket route of a reply being decoded: proxies found inside it (autoproxies) reach
 * their daemon the way the proxy that received them does, with the same `via` and gateway key.
 * Set only while a reply of a `via` proxy decodes, which happens synchronously.
 *
 * @example
 * ```ts
 * import { currentRoute, decodeWithRoute } from "./via.ts";
 *
 * const seen = decodeWithRoute({ via: "ws://127.0.0.1:8080/pyro/ws" }, () => currentRoute());
 * console.log(seen?.via, currentRoute()); // "ws://127.0.0.1:8080/pyro/ws" null
 * ```
 *
 * @module
 */

/** How a proxy reaches its daemon over WebSocket. */
export interface ViaRoute {
  /** The WebSocket URL. */
  via: string | URL;
  /** The gateway key, if any. */
  gatewayKey?: string;
}

let current: ViaRoute | null = null;

/**
 * The route of the reply being decoded, or null.
 *
 * @example
 * ```ts
 * import { currentRoute } from "./via.ts";
 * console.log(currentRoute()); // null outside a decode
 * ```
 */
export function currentRoute(): ViaRoute | null {
  return current;
}

/**
 * Runs a (synchronous) decode with a route set.
 *
 * @example
 * ```ts
 * import { decodeWithRoute } from "./via.ts";
 * console.log(decodeWithRoute({ via: "ws://127.0.0.1/" }, () => 42)); // 42
 * ```
 *
 * @param route The route.
 * @param decode The decode.
 * @returns What the decode returns.
 */
export function decodeWithRoute<T>(route: ViaRoute, decode: () => T): T {
  const outer = current;
  current = route;
  try {
    return decode();
  } finally {
    current = outer;
  }
}
