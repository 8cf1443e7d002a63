/**
 * The options of proxies and calls, and the {@linkcode Kwargs} marker for Python keyword
 * arguments. Re-exported by proxy.ts, which is where users get them.
 *
 * @example
 * ```ts
 * import type { CallOptions, ProxyOptions } from "./options.ts";
 *
 * const proxyOptions: ProxyOptions = { serializer: "json", timeout: 5000, maxRetries: 1 };
 * const callOptions: CallOptions = { annotations: { XREQ: "hello" }, correlationId: true };
 * console.log(proxyOptions, callOptions);
 * ```
 *
 * @module
 */

import type { TransportTlsOptions } from "../_wire/transport.ts";

/** Annotation values by 4-character id; strings are sent as UTF-8. */
export type AnnotationsInit =
  | Record<string, Uint8Array | string>
  | ReadonlyMap<string, Uint8Array | string>;

/**
 * A correlation id: UUID text or 16 bytes, `true` for a fresh random id per message, or
 * `null` for none.
 */
export type CorrelationIdInit = string | Uint8Array | true | null;

/** The metadata a daemon gives for an object (Pyro5's `get_metadata`). */
export interface ProxyMetadata {
  /** Exposed method names. */
  readonly methods: readonly string[];
  /** Method names marked oneway. */
  readonly oneway: readonly string[];
  /** Exposed attribute (property) names. */
  readonly attrs: readonly string[];
}

/** Options of a proxy. Times are milliseconds. */
export interface ProxyOptions {
  /**
   * The serializer: "msgpack", "json" or "serpent".
   *
   * @default {config.SERIALIZER}
   */
  serializer?: string;
  /**
   * Connect and call timeout in milliseconds; 0 means none. A call that times out fails with
   * TimeoutError and closes the connection.
   *
   * @default {config.COMMTIMEOUT * 1000}
   */
  timeout?: number;
  /**
   * Handshake data sent with CONNECT (any serializable value).
   *
   * @default {"hello"}
   */
  handshake?: unknown;
  /** Checks the daemon's handshake reply; throw to refuse the connection. */
  validateHandshake?: (response: unknown) => void | Promise<void>;
  /**
   * Automatic reconnects and retries after ConnectionClosedError or TimeoutError (as Pyro5's
   * `MAX_RETRIES`). A proxy for a `PYRONAME:` or `PYROMETA:` URI also tries again when it cannot
   * connect to the daemon it was given, resolving the name again: a call that was never sent is
   * safe to repeat, and the name may lead to another, live daemon.
   *
   * @default {config.MAX_RETRIES}
   */
  maxRetries?: number;
  /** The default abort signal of every call and connection attempt. */
  signal?: AbortSignal;
  /**
   * Compress payloads longer than 100 bytes.
   *
   * @default {config.COMPRESSION}
   */
  compression?: boolean;
  /**
   * The largest message accepted or sent, in bytes.
   *
   * @default {config.MAX_MESSAGE_SIZE}
   */
  maxMessageSize?: number;
  /** The correlation id of every message (CONNECT included) unless a call says otherwise. */
  correlationId?: CorrelationIdInit;
  /** Annotations sent with every message (CONNECT included) unless a call says otherwise. */
  annotations?: AnnotationsInit;
  /**
   * TLS settings (PEM text), or false for plain TCP. By default TLS is used when `config.SSL`
   * is set, with the files named by `config.SSL_CACERTS`, `SSL_CLIENTCERT` and `SSL_CLIENTKEY`.
   */
  tls?: TransportTlsOptions | false;
  /**
   * Reach the object over a WebSocket instead of TCP: the `ws:`/`wss:` URL of a gateway's
   * `/pyro/ws` endpoint (which resolves `PYRONAME:` names itself) or of a daemon's
   * `websocketHandler`. The frames are the same; only the transport differs.
   */
  via?: string | URL;
  /** The gateway key, sent inside the WebSocket's opening exchange (only with `via`). */
  gatewayKey?: string;
}

/** Options of one call. Times are milliseconds. */
export interface CallOptions {
  /** Aborts the call: it fails with the signal's reason (the connection stays usable). */
  signal?: AbortSignal;
  /** The call's timeout, replacing the proxy's; 0 means none. */
  timeout?: number;
  /** Request annotations, replacing the proxy's. */
  annotations?: AnnotationsInit;
  /** The correlation id, replacing the proxy's (`null` = none). */
  correlationId?: CorrelationIdInit;
  /** Send as oneway (flag 0x04): resolve once sent, without a reply. */
  oneway?: boolean;
  /** Filled with the reply's annotations when the call completes. */
  responseAnnotations?: Map<string, Uint8Array>;
}

/** Options of the raw `_pyroCall`: a call without the local metadata checks. */
export interface RawCallOptions extends CallOptions {
  /** Keyword arguments; `null` sends null (as Python does for attribute access). @default {{}} */
  kwargs?: Record<string, unknown> | null;
  /** Another object id in the same daemon (Python's `objectId` argument of `_pyroInvoke`). */
  objectId?: string;
}

/**
 * Keyword arguments for a remote call: pass `kwargs({...})` as the last argument.
 *
 * @example
 * ```ts
 * import { Kwargs } from "./options.ts";
 * const k = new Kwargs({ b: 3 });
 * console.log(k.values.b); // 3
 * ```
 */
export class Kwargs {
  /** The keyword arguments by name. */
  readonly values: Record<string, unknown>;

  /**
   * Wraps keyword arguments.
   *
   * @param values The keyword arguments by name.
   */
  constructor(values: Record<string, unknown>) {
    this.values = values;
  }
}

/**
 * Joins call options: `extra` wins over `base`, member by member. Returns one of its arguments
 * unchanged when the other adds nothing.
 *
 * @example
 * ```ts
 * import { mergeCallOptions } from "./options.ts";
 * console.log(mergeCallOptions({ timeout: 5000, oneway: true }, { timeout: 100 })); // { timeout: 100, oneway: true }
 * ```
 *
 * @param base The options in force (a proxy view's or a batch's), or null.
 * @param extra The options of this call, if any.
 * @returns The options of the call, or null for none.
 */
export function mergeCallOptions<T extends CallOptions>(
  base: CallOptions | null,
  extra: T | undefined,
): CallOptions | null {
  if (extra === undefined) return base;
  if (base === null) return extra;
  return { ...base, ...extra };
}
