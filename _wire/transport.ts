/**
 * Opens the byte stream a proxy talks over: TCP (IPv4 or IPv6, no-delay on), a Unix socket
 * for `./u:<path>` locations, or TLS when asked to. Failures become a
 * {@linkcode CommunicationError} whose message names the URI and whose `cause` is the
 * original error.
 *
 * @example Connecting to a daemon's location
 * ```ts
 * import { connectTransport } from "./transport.ts";
 * import { URI } from "../uri.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await connectTransport(new URI(`PYRO:thing@127.0.0.1:${listener.addr.port}`));
 * conn.close();
 * ```
 *
 * @module
 */

import { CommunicationError, TimeoutError } from "../errors.ts";
import type { ClientTlsOptions } from "../tls.ts";
import { connectTls } from "./tls_socket.ts";
import type { URI } from "../uri.ts";

/** TLS settings for a client connection: tls.ts's client settings (PEM text, not file names). */
export type TransportTlsOptions = ClientTlsOptions;

/** Options of {@linkcode connectTransport}. */
export interface TransportOptions {
  /** Milliseconds to wait for the connection; 0 means no limit. @default {0} */
  timeout?: number;
  /** Cancels the connection attempt. */
  signal?: AbortSignal | undefined;
  /** Use TLS with these settings (TCP locations only). */
  tls?: TransportTlsOptions | undefined;
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (error instanceof Deno.errors.NotFound) return "no such socket";
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Connects to the location of a `PYRO:` URI and returns the open connection. TCP connections
 * get `setNoDelay(true)`.
 *
 * @example
 * ```ts
 * import { CommunicationError } from "../errors.ts";
 * import { connectTransport } from "./transport.ts";
 * import { URI } from "../uri.ts";
 *
 * try {
 *   await connectTransport(new URI("PYRO:thing@./u:/nonexistent/pyro.sock"), { timeout: 2000 });
 * } catch (e) {
 *   console.log(e instanceof CommunicationError); // true: "Cannot connect to ...: no such socket"
 * }
 * ```
 *
 * @param uri A `PYRO:` URI with a host and port or a socket path.
 * @param options Timeout, abort signal and TLS settings.
 * @returns The connection.
 * @throws {CommunicationError} "Cannot connect to <uri>: <reason>" (cause kept).
 * @throws {TimeoutError} When the timeout passes first.
 */
export function connectTransport(uri: URI, options: TransportOptions = {}): Promise<Deno.Conn> {
  const hostname = uri.host;
  const port = uri.port;
  if (
    (options.timeout ?? 0) > 0 || options.signal !== undefined || options.tls ||
    uri.sockname !== null || hostname === null || port === null
  ) {
    return connectWith(uri, options);
  }
  // Plain TCP (the common case): no async step of its own.
  const failed = (error: unknown): never => {
    throw new CommunicationError(`Cannot connect to ${uri}: ${describe(error)}`, { cause: error });
  };
  return Deno.connect({ hostname, port }).then((conn) => {
    try {
      conn.setNoDelay(true);
    } catch (error) {
      conn.close();
      failed(error);
    }
    return conn;
  }, failed);
}

/** {@linkcode connectTransport} with a timeout, a signal, TLS or a Unix socket. */
async function connectWith(uri: URI, options: TransportOptions): Promise<Deno.Conn> {
  const timeout = options.timeout ?? 0;
  let signal = options.signal;
  let timer: AbortSignal | undefined;
  if (timeout > 0) {
    timer = AbortSignal.timeout(timeout);
    signal = signal ? AbortSignal.any([signal, timer]) : timer;
  }
  signal?.throwIfAborted();
  try {
    if (uri.sockname !== null) {
      const attempt = Deno.connect({ transport: "unix", path: uri.sockname });
      return signal ? await raceSignal(attempt, signal) : await attempt;
    }
    if (uri.host === null || uri.port === null) {
      throw new CommunicationError(`Cannot connect to ${uri}: the URI has no location`);
    }
    const hostname = uri.host;
    const port = uri.port;
    if (options.tls) {
      const attempt = connectTls({ hostname, port, tls: options.tls });
      return signal ? await raceSignal(attempt, signal) : await attempt;
    }
    const conn = signal
      ? await Deno.connect({ hostname, port, signal })
      : await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return conn;
  } catch (error) {
    if (error instanceof CommunicationError) throw error;
    if (timer?.aborted) {
      throw new TimeoutError(`Cannot connect to ${uri}: timeout`, { cause: error });
    }
    if (options.signal?.aborted) throw options.signal.reason;
    throw new CommunicationError(`Cannot connect to ${uri}: ${describe(error)}`, { cause: error });
  }
}

/** Waits for a connection attempt, closing the connection if the signal fires first. */
function raceSignal(attempt: Promise<Deno.Conn>, signal: AbortSignal): Promise<Deno.Conn> {
  const { promise, resolve, reject } = Promise.withResolvers<Deno.Conn>();
  const onAbort = () => reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  attempt.then((conn) => {
    signal.removeEventListener("abort", onAbort);
    if (signal.aborted) conn.close();
    else resolve(conn);
  }, (error) => {
    signal.removeEventListener("abort", onAbort);
    reject(error);
  });
  return promise;
}
