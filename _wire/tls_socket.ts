/**
 * TLS sockets: {@linkcode listenTls} and {@linkcode connectTls}, and the accepted-connection
 * shape every listener of the daemon gives. {@linkcode listenTls} binds at once
 * (synchronously, like `Deno.listen`). Without client certificates it is `Deno.listenTls`;
 * with them it accepts TCP connections and runs the TLS server handshake of `node:tls`, which
 * can request, verify and report client certificates (`Deno.listenTls` cannot request one in
 * Deno 2.9). Either way the accepted connections are plain byte streams for a
 * `MessageConnection`; TLS connections have no `setNoDelay`, so writing each frame in one write
 * (as `MessageConnection` does) matters.
 *
 * @module
 */

import { CommunicationError, SecurityError } from "../errors.ts";
import type { ClientTlsOptions, ServerTlsOptions } from "../tls.ts";
import type { TlsListener } from "./listener.ts";
import { MutualTlsListener } from "./tls_mutual.ts";

export type { AcceptedConn, AcceptingListener, TlsListener } from "./listener.ts";

/** Options of {@linkcode listenTls}. */
export interface ListenTlsOptions {
  /** Address to bind. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Certificate, key and client-certificate settings. */
  tls: ServerTlsOptions;
}

/** Options of {@linkcode connectTls}. */
export interface ConnectTlsOptions {
  /** The server's address (also the name its certificate must carry, e.g. an IP SAN). */
  hostname: string;
  /** The server's port. */
  port: number;
  /** CA certificates and client certificate. */
  tls: ClientTlsOptions;
}

/**
 * Connects with TLS and completes the handshake, verifying the server's certificate chain and
 * its name (an IP address needs an IP subject alternative name). Sends the client certificate
 * when one is given.
 *
 * @example
 * ```ts ignore
 * import { connectTls } from "./tls_socket.ts";
 * const conn = await connectTls({
 *   hostname: "127.0.0.1",
 *   port: 9999,
 *   tls: { caCerts: [Deno.readTextFileSync("ca.pem")] },
 * });
 * conn.close();
 * ```
 *
 * @param options Where to connect and the TLS settings.
 * @returns The connection, handshake done.
 * @throws {CommunicationError} When connecting or the handshake fails (bad certificate, wrong
 * CA, refused client certificate).
 */
export async function connectTls(options: ConnectTlsOptions): Promise<Deno.TlsConn> {
  const { hostname, port, tls } = options;
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new SecurityError(
      "Cannot use TLS: give both a client certificate and its key, or neither",
    );
  }
  let conn: Deno.TlsConn | undefined;
  try {
    conn = tls.cert && tls.key
      ? await Deno.connectTls({
        hostname,
        port,
        caCerts: tls.caCerts ?? [],
        cert: tls.cert,
        key: tls.key,
      })
      : await Deno.connectTls({ hostname, port, caCerts: tls.caCerts ?? [] });
    await conn.handshake();
    return conn;
  } catch (e) {
    try {
      conn?.close();
    } catch {
      // already closed
    }
    throw new CommunicationError(
      `Cannot connect to ${hostname}:${port} with TLS: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/**
 * Listens for TLS connections; binds synchronously. With `requireClientCert`, only clients
 * presenting a certificate that `caCerts` verify complete the handshake, and each accepted
 * connection carries its {@linkcode PeerCertificate}. Handshake failures are logged and never
 * reach `accept()`.
 *
 * @example
 * ```ts ignore
 * import { listenTls } from "./tls_socket.ts";
 * const pem = (f: string) => Deno.readTextFileSync(f);
 * const listener = listenTls({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   tls: { cert: pem("server.pem"), key: pem("server.key"), caCerts: [pem("ca.pem")], requireClientCert: true },
 * });
 * const conn = await listener.accept();
 * console.log(conn.peerCertificate?.subject.CN);
 * listener.close();
 * ```
 *
 * @param options Where to bind and the TLS settings.
 * @returns The listener.
 * @throws {SecurityError} When client certificates are required without CA certificates.
 */
export function listenTls(options: ListenTlsOptions): TlsListener {
  const { hostname, port, tls } = options;
  if (!tls.requireClientCert) {
    return Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key, transport: "tcp" });
  }
  if (tls.caCerts === undefined || tls.caCerts.length === 0) {
    throw new SecurityError("Cannot require client certificates without CA certificates");
  }
  return new MutualTlsListener(Deno.listen({ hostname, port, transport: "tcp" }), tls);
}
