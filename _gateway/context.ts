/**
 * What the gateway's route handlers share: the resolved settings, the exposure and key checks,
 * the name lookups (cached), the common response headers and the gateway's lifetime signal.
 * The HTTP call routes, the console and the WebSocket relay (ws.ts) all receive one
 * {@linkcode GatewayContext}.
 *
 * @module
 */

import type { URI } from "../uri.ts";

/** The gateway's settings with every default filled in. Times are milliseconds. */
export interface GatewaySettings {
  /** The expose pattern as given (empty = every name). */
  readonly exposeSource: string;
  /** The expose pattern as a Python `re.match` (anchored at the start); null = every name. */
  readonly expose: ((name: string) => boolean) | null;
  /** The `Access-Control-Allow-Origin` value; empty = no CORS headers. */
  readonly cors: string;
  /** The gateway key; empty = none required. */
  readonly key: string;
  /** Connect and call timeout towards the Pyro objects (0 = none). */
  readonly timeout: number;
  /** The serializer used towards the Pyro objects. */
  readonly serializer: string;
  /** The largest request body accepted, in bytes. */
  readonly maxBodySize: number;
  /** How long a client may take to send its request body. */
  readonly requestTimeout: number;
  /** How many calls may be in progress at once; more wait in a short queue, then get 503. */
  readonly maxConcurrentCalls: number;
  /** How long a Name Server answer is reused. */
  readonly nsCacheTime: number;
  /** Whether the console (`/console/`) is served. */
  readonly console: boolean;
  /** WebSockets relayed at once. */
  readonly maxWebSockets: number;
  /** WebSockets relayed at once from one IP address. */
  readonly maxWebSocketsPerAddress: number;
  /** The largest WebSocket message a client may send. */
  readonly maxWebSocketMessageSize: number;
  /** Time a new WebSocket has to send its hello. */
  readonly webSocketHelloTimeout: number;
  /** Time a WebSocket client may leave its replies unread (0 = no limit). */
  readonly webSocketSendTimeout: number;
  /** Time between pings to a quiet WebSocket client (one that does not answer is closed). */
  readonly webSocketPingInterval: number;
}

/** What the route handlers of one gateway share. */
export interface GatewayContext {
  /** The settings. */
  readonly settings: GatewaySettings;
  /** Aborted when the gateway closes: long-lived responses (streams, sockets) end with it. */
  readonly signal: AbortSignal;
  /** Tells whether a name may be reached through the gateway (the expose pattern). */
  isExposed(name: string): boolean;
  /**
   * Tells whether a request carries the gateway key, in the `X-Pyro-Gateway-Key` header or the
   * `$key` query parameter (always true when no key is set).
   */
  hasKey(request: Request, url: URL): boolean;
  /** The current `PYRO:` URI of a name (a Name Server lookup, cached for `nsCacheTime`). */
  resolve(name: string, signal?: AbortSignal): Promise<URI>;
  /** Drops the cached lookup of a name (its target moved or stopped answering). */
  forget(name: string): void;
  /** Response headers with the CORS headers added (when CORS is on). */
  headers(extra?: HeadersInit): Headers;
}
