/**
 * The listener shapes a daemon accepts connections from: `Deno.Listener` fits
 * {@linkcode AcceptingListener}, and so do the TLS listeners of tls_socket.ts.
 *
 * @module
 */

import type { PeerCertificate } from "../tls.ts";

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

/** A TLS listener as `listenTls` (tls_socket.ts) returns it. */
export interface TlsListener extends AcceptingListener {
  /** The bound TCP address. */
  readonly addr: Deno.NetAddr;
}
