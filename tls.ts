/**
 * TLS for daemons, proxies and the name server, with Pyro5's `SSL_*` settings: the server
 * presents a certificate (`SSL_SERVERCERT`, `SSL_SERVERKEY`), clients verify it against their
 * CA certificates (`SSL_CACERTS`), and with `SSL_REQUIRECLIENTCERT` the server demands a client
 * certificate (`SSL_CLIENTCERT`, `SSL_CLIENTKEY`) that its CA certificates verify.
 *
 * {@linkcode listenTls} binds at once (synchronously, like `Deno.listen`). Without client
 * certificates it is `Deno.listenTls`; with them it accepts TCP connections and runs the TLS
 * server handshake of `node:tls`, which can request, verify and report client certificates
 * (`Deno.listenTls` cannot request one in Deno 2.9). Either way the accepted connections are
 * plain byte streams for a `MessageConnection`; TLS connections have no `setNoDelay`, so
 * writing each frame in one write (as `MessageConnection` does) matters.
 *
 * Differences from Pyro5: keys must be unencrypted PEM (Deno has no key passwords), and
 * `caCerts` on the client side add to the system's roots rather than replacing them.
 *
 * @example A TLS echo of bytes
 * ```ts ignore
 * import { connectTls, listenTls } from "./tls.ts";
 *
 * const pem = (f: string) => Deno.readTextFileSync(f);
 * const listener = listenTls({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   tls: { cert: pem("server.pem"), key: pem("server.key") },
 * });
 * const client = await connectTls({
 *   hostname: "127.0.0.1",
 *   port: listener.addr.port,
 *   tls: { caCerts: [pem("ca.pem")] },
 * });
 * client.close();
 * listener.close();
 * ```
 *
 * @module
 */

import { config, type PyroConfig } from "./config.ts";
import { CommunicationError, SecurityError } from "./errors.ts";
import { MutualTlsListener } from "./_wire/tls_mutual.ts";

export type { PyroConfig } from "./config.ts";

/** Server-side TLS settings (PEM text, not file names). */
export interface ServerTlsOptions {
  /** The server's certificate chain, PEM (`SSL_SERVERCERT`). */
  cert: string;
  /** The server's unencrypted private key, PEM (`SSL_SERVERKEY`). */
  key: string;
  /** CA certificates, PEM, that verify client certificates (`SSL_CACERTS`). */
  caCerts?: string[];
  /**
   * Demand a client certificate signed by one of `caCerts` (`SSL_REQUIRECLIENTCERT`).
   *
   * @default {false}
   */
  requireClientCert?: boolean;
  /**
   * Milliseconds a client gets to finish the TLS handshake when client certificates are
   * required.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
}

/** Client-side TLS settings (PEM text, not file names); the same shape transport.ts takes. */
export interface ClientTlsOptions {
  /** CA certificates, PEM, that verify the server, in addition to the system's roots. */
  caCerts?: string[];
  /** The client's certificate chain, PEM (`SSL_CLIENTCERT`), for servers that demand one. */
  cert?: string;
  /** The client's unencrypted private key, PEM (`SSL_CLIENTKEY`). */
  key?: string;
}

/** What a verified client certificate says (a subset of Node's `getPeerCertificate()`). */
export interface PeerCertificate {
  /** The subject's fields, e.g. `{ CN: "client" }`. */
  subject: Record<string, string>;
  /** The issuer's fields. */
  issuer: Record<string, string>;
  /** The subject alternative names as one string, e.g. `"IP Address:127.0.0.1"`. */
  subjectAltName: string | null;
  /** The serial number in hex. */
  serialNumber: string;
  /** Not valid before (text as OpenSSL prints it). */
  validFrom: string;
  /** Not valid after (text as OpenSSL prints it). */
  validTo: string;
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprint256: string;
}

/** An accepted connection: a byte stream with the peer's address. */
export interface AcceptedConn {
  /** Reads into `p`; resolves to the byte count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes from `p`; resolves to the byte count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the connection. */
  close(): void;
  /** The peer's address. */
  readonly remoteAddr: Deno.Addr;
  /** The verified client certificate, when the listener demanded one. */
  readonly peerCertificate?: PeerCertificate | null;
}

/** A listener that accepts {@linkcode AcceptedConn}s; `Deno.Listener` fits. */
export interface AcceptingListener {
  /** The bound address. */
  readonly addr: Deno.Addr;
  /** Waits for the next connection; rejects once the listener is closed. */
  accept(): Promise<AcceptedConn>;
  /** Stops listening. */
  close(): void;
}

/** A TLS listener as {@linkcode listenTls} returns it. */
export interface TlsListener extends AcceptingListener {
  /** The bound TCP address. */
  readonly addr: Deno.NetAddr;
}

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

function readPem(path: string, item: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new SecurityError(`Cannot read ${item} '${path}': ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Builds server TLS settings from Pyro5's configuration items, reading the files they name.
 * Returns `undefined` when `SSL` is off.
 *
 * @example
 * ```ts
 * import { defaultConfig } from "./config.ts";
 * import { serverTlsFromConfig } from "./tls.ts";
 *
 * console.log(serverTlsFromConfig(defaultConfig())); // undefined: SSL is off by default
 * ```
 *
 * @param cfg The configuration to read.
 * @returns The settings, or undefined without `SSL`.
 * @throws {SecurityError} When `SSL` is on and a file is missing, unreadable or not given, or a
 * key password is set.
 */
export function serverTlsFromConfig(cfg: PyroConfig = config): ServerTlsOptions | undefined {
  if (!cfg.SSL) return undefined;
  if (!cfg.SSL_SERVERCERT || !cfg.SSL_SERVERKEY) {
    throw new SecurityError("Cannot use TLS: SSL_SERVERCERT and SSL_SERVERKEY must be set");
  }
  if (cfg.SSL_SERVERKEYPASSWD) {
    throw new SecurityError(
      "Cannot use TLS: encrypted keys (SSL_SERVERKEYPASSWD) are not supported",
    );
  }
  const options: ServerTlsOptions = {
    cert: readPem(cfg.SSL_SERVERCERT, "SSL_SERVERCERT"),
    key: readPem(cfg.SSL_SERVERKEY, "SSL_SERVERKEY"),
    requireClientCert: cfg.SSL_REQUIRECLIENTCERT,
  };
  if (cfg.SSL_CACERTS) options.caCerts = [readPem(cfg.SSL_CACERTS, "SSL_CACERTS")];
  if (options.requireClientCert && options.caCerts === undefined) {
    throw new SecurityError("Cannot require client certificates: SSL_CACERTS is not set");
  }
  return options;
}

/**
 * Builds client TLS settings from Pyro5's configuration items, reading the files they name.
 * Returns `undefined` when `SSL` is off.
 *
 * @example
 * ```ts
 * import { defaultConfig } from "./config.ts";
 * import { clientTlsFromConfig } from "./tls.ts";
 *
 * const cfg = { ...defaultConfig(), SSL: true };
 * console.log(clientTlsFromConfig(cfg)); // {}: system roots only, no client certificate
 * ```
 *
 * @param cfg The configuration to read.
 * @returns The settings, or undefined without `SSL`.
 * @throws {SecurityError} When a named file cannot be read, only one of certificate and key is
 * given, or a key password is set.
 */
export function clientTlsFromConfig(cfg: PyroConfig = config): ClientTlsOptions | undefined {
  if (!cfg.SSL) return undefined;
  if (cfg.SSL_CLIENTKEYPASSWD) {
    throw new SecurityError(
      "Cannot use TLS: encrypted keys (SSL_CLIENTKEYPASSWD) are not supported",
    );
  }
  if (Boolean(cfg.SSL_CLIENTCERT) !== Boolean(cfg.SSL_CLIENTKEY)) {
    throw new SecurityError(
      "Cannot use TLS: set both SSL_CLIENTCERT and SSL_CLIENTKEY, or neither",
    );
  }
  const options: ClientTlsOptions = {};
  if (cfg.SSL_CACERTS) options.caCerts = [readPem(cfg.SSL_CACERTS, "SSL_CACERTS")];
  if (cfg.SSL_CLIENTCERT) {
    options.cert = readPem(cfg.SSL_CLIENTCERT, "SSL_CLIENTCERT");
    options.key = readPem(cfg.SSL_CLIENTKEY, "SSL_CLIENTKEY");
  }
  return options;
}

/**
 * Connects with TLS and completes the handshake, verifying the server's certificate chain and
 * its name (an IP address needs an IP subject alternative name). Sends the client certificate
 * when one is given.
 *
 * @example
 * ```ts ignore
 * import { connectTls } from "./tls.ts";
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
 * import { listenTls } from "./tls.ts";
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
