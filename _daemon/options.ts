/**
 * The options of a daemon, of `Daemon.register` and of `Daemon.uriFor` (re-exported by
 * daemon.ts).
 *
 * @module
 */

import type { CallContext, ConnectionInfo } from "../context.ts";
import type { ServerTlsOptions } from "../tls.ts";

/** Options of a `Daemon`. Times are in milliseconds. */
export interface DaemonOptions {
  /** The host name or address to bind to. @default {config.HOST ("localhost")} */
  host?: string;
  /** The TCP port; 0 picks a free one. @default {0} */
  port?: number;
  /** Listen on this Unix domain socket path instead of TCP. */
  unixSocket?: string;
  /** Host to put in the URIs the daemon hands out (NAT). @default {config.NATHOST} */
  natHost?: string;
  /** Port to put in handed-out URIs with `natHost`; 0 = the bound port. @default {config.NATPORT} */
  natPort?: number;
  /** Largest accepted message (annotations plus payload) in bytes. @default {config.MAX_MESSAGE_SIZE} */
  maxMessageSize?: number;
  /** Largest payload after inflating a compressed message, in bytes. @default {16777216 (16 MiB)} */
  maxInflatedSize?: number;
  /**
   * Most connections served at once. At the limit a newcomer makes room by closing the
   * connections idle the longest (no call in flight, no open item stream; those that never
   * completed the handshake first); only when every connection is busy does it get CONNECTFAIL
   * "no free workers, increase server threadpool size". The default comes from memory: an
   * eighth of the machine's memory at 64 KiB a connection, within the open-file limit, 256 to
   * 100,000; `config.THREADPOOL_SIZE` (Pyro5's thread count) only raises it.
   * @default {derived from memory, at least config.THREADPOOL_SIZE}
   */
  maxConnections?: number;
  /**
   * Most connections from one IP address; at the cap, that address's connection idle the
   * longest is closed to make room, or the newcomer is refused when all of them are busy.
   * @default {max(64, maxConnections / 4)}
   */
  maxConnectionsPerAddress?: number;
  /** Close a connection that has not completed the Pyro handshake within this many ms. 0 = never. @default {10000} */
  handshakeTimeout?: number;
  /** Close a connection idle this long, in ms; 0 = never. @default {config.COMMTIMEOUT * 1000} */
  idleTimeout?: number;
  /** Unanswered calls per connection before the daemon stops reading from it. @default {100} */
  maxCallsInFlight?: number;
  /** Most open item streams per connection; more calls get a PyroError. 0 = unlimited. @default {100} */
  maxStreamsPerConnection?: number;
  /** Drop a client that starts a frame and does not finish it within this many ms. 0 = never. @default {60000} */
  frameTimeout?: number;
  /**
   * Drop a client that takes no bytes of a reply for this many ms (found by a sweep every
   * quarter of the limit, so up to half as long again, at most 2 s more). 0 = never.
   * @default {60000}
   */
  writeTimeout?: number;
  /**
   * Serve over TLS (TCP only) with this certificate, key and client-certificate policy; false
   * for plain TCP. @default {from config.SSL and the SSL_* items (plain TCP unless SSL is on)}
   */
  tls?: ServerTlsOptions | false;
  /**
   * Checks the handshake data of a new connection and returns the value sent back in CONNECTOK
   * (may be async). Throw to refuse: the client gets CONNECTFAIL with the error's message.
   * By default every connection is accepted with `"hello"`.
   */
  validateHandshake?: (data: unknown, context: CallContext) => unknown;
  /** Annotations added to every reply (CONNECTOK, RESULT, PING), keys of 4 ASCII characters. */
  annotations?: () => Map<string, Uint8Array> | Record<string, Uint8Array>;
  /** Stream iterator results to the caller. @default {config.ITER_STREAMING} */
  iterStreaming?: boolean;
  /** Maximum age of an item stream in ms; 0 = unlimited. @default {config.ITER_STREAM_LIFETIME * 1000} */
  iterStreamLifetime?: number;
  /** How long an item stream outlives its client's connection, in ms. @default {config.ITER_STREAM_LINGER * 1000} */
  iterStreamLinger?: number;
  /** Compress replies longer than 100 bytes with zlib. @default {config.COMPRESSION} */
  compression?: boolean;
  /** Send the TypeScript stack as the remote traceback of errors. @default {true} */
  tracebacks?: boolean;
  /** How long `Daemon.close` waits for calls in flight, in ms. @default {1000} */
  closeTimeout?: number;
  /** Closes the daemon when aborted. */
  signal?: AbortSignal;
  /**
   * Called when a client's connection has ended (Pyro5's `Daemon.clientDisconnect`), after its
   * item streams are closed or set to linger. Errors are logged.
   */
  clientDisconnect?: (connection: ConnectionInfo) => void;
  /**
   * Called on the daemon's housekeeping schedule (Pyro5's `Daemon.housekeeping`), after expired
   * item streams are dropped. Errors are logged.
   */
  housekeeping?: () => void;
  /**
   * How often housekeeping runs, in ms (Pyro5's schedule:
   * `min(POLLTIMEOUT, max(COMMTIMEOUT, 5))` seconds).
   */
  housekeepingInterval?: number;
  /**
   * Called with every exception a served method raises (Pyro5's `methodcall_error_handler`),
   * before the caller gets it. By default it is logged at debug level. Errors are logged.
   */
  methodCallErrorHandler?: (info: MethodCallErrorInfo) => void;
}

/** What a method-call error handler gets (Pyro5's handler arguments). */
export interface MethodCallErrorInfo {
  /** The call's context: the client connection and address, the correlation id, ... */
  readonly context: CallContext;
  /** The object id the call went to. */
  readonly objectId: string;
  /** The method name. */
  readonly method: string;
  /** The positional arguments. */
  readonly args: readonly unknown[];
  /** The keyword arguments, or null. */
  readonly kwargs: Readonly<Record<string, unknown>> | null;
  /** What the method threw. */
  readonly error: unknown;
}

/** Options of `Daemon.register`. */
export interface RegisterOptions {
  /** The object id. @default {"obj_" + 32 hex digits} */
  id?: string;
  /** Method or accessor names to expose, in addition to those marked with `@expose`. */
  expose?: readonly string[];
  /** Method names to expose as oneway. */
  oneway?: readonly string[];
  /** Accessor names to expose as remote attributes (same as listing them in `expose`). */
  attrs?: readonly string[];
  /**
   * Python signatures by method: `{ echo: ["message", "count="] }`. A name ending in `=` has a
   * default; `"**kwargs"` collects unknown keywords. A declared signature is exact: every call
   * to the method, positional or with keywords, is checked against it as Python checks a `def`
   * (missing, surplus, unknown and repeated arguments get Python's `TypeError` texts).
   */
  params?: Readonly<Record<string, readonly string[]>>;
  /**
   * Register even when the object or the id is registered already (Pyro5's `force`): the id
   * then serves the new object.
   *
   * @default {false}
   */
  force?: boolean;
}

/** Options of `Daemon.uriFor`. */
export interface UriForOptions {
  /** Use the NAT address when the daemon has one. @default {true} */
  nat?: boolean;
}
