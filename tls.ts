/**
 * TLS for daemons, proxies and the name server, with Pyro5's `SSL_*` settings: the server
 * presents a certificate (`SSL_SERVERCERT`, `SSL_SERVERKEY`), clients verify it against their
 * CA certificates (`SSL_CACERTS`), and with `SSL_REQUIRECLIENTCERT` the server demands a client
 * certificate (`SSL_CLIENTCERT`, `SSL_CLIENTKEY`) that its CA certificates verify.
 *
 * A daemon given `tls` (or `SSL` in the configuration) listens with TLS; a proxy to a
 * `PYRO:` URI connects with TLS when its options or the configuration say so.
 *
 * Differences from Pyro5: keys must be unencrypted PEM (Deno has no key passwords), and
 * `caCerts` on the client side add to the system's roots rather than replacing them.
 *
 * @example Settings from the configuration
 * ```ts
 * import { defaultConfig } from "./config.ts";
 * import { clientTlsFromConfig, serverTlsFromConfig } from "./tls.ts";
 *
 * const cfg = defaultConfig();
 * console.log(serverTlsFromConfig(cfg), clientTlsFromConfig(cfg)); // undefined undefined: SSL is off
 * ```
 *
 * @module
 */

import { config, type PyroConfig } from "./config.ts";
import { SecurityError } from "./errors.ts";

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
