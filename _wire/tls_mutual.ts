/**
 * The TLS listener that demands client certificates (see tls.ts): Deno accepts TCP (binding
 * synchronously), and each connection runs the TLS server handshake of `node:tls` with
 * `requestCert` and `rejectUnauthorized`, because `Deno.listenTls` cannot request a client
 * certificate in Deno 2.9. A `tls.Server` is made per connection: a bare
 * `new TLSSocket(stream, { isServer: true, ca, requestCert })` does not verify the client's
 * chain in Deno 2.9 (it accepted a certificate from another CA when tried).
 *
 * @module
 */

import * as nodeTls from "node:tls";
import { Duplex } from "node:stream";
import { log } from "../log.ts";
import type { PeerCertificate, ServerTlsOptions } from "../tls.ts";
import type { AcceptedConn, TlsListener } from "./listener.ts";

/** Above this many unread bytes the socket stops reading until the consumer catches up. */
const HIGH_WATER = 256 * 1024;

/** A byte-stream view of a node TLS socket. */
class NodeTlsConn implements AcceptedConn {
  readonly remoteAddr: Deno.Addr;
  readonly peerCertificate: PeerCertificate | null;
  readonly #socket: nodeTls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #waiter: PromiseWithResolvers<void> | null = null;

  constructor(socket: nodeTls.TLSSocket, remoteAddr: Deno.Addr) {
    this.#socket = socket;
    this.remoteAddr = remoteAddr;
    this.peerCertificate = peerCertificateOf(socket);
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued > HIGH_WATER) socket.pause();
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (e: Error) => {
      this.#error ??= e;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.resolve();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== null) throw this.#error;
      if (this.#ended) return null;
      this.#waiter ??= Promise.withResolvers<void>();
      await this.#waiter.promise;
    }
    const chunk = this.#chunks[0]!;
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#queued -= n;
    if (this.#queued <= HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#socket.destroyed) return Promise.reject(new Deno.errors.BrokenPipe("socket closed"));
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    this.#socket.write(p, (e?: Error | null) => (e ? reject(e) : resolve(p.length)));
    return promise;
  }

  close(): void {
    this.#ended = true;
    this.#socket.destroy();
    this.#wake();
  }
}

function fields(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== "object" || value === null) return out;
  for (const [k, v] of Object.entries(value)) {
    out[k] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

function peerCertificateOf(socket: nodeTls.TLSSocket): PeerCertificate | null {
  try {
    const c = socket.getPeerCertificate();
    if (c === null || typeof c !== "object" || Object.keys(c).length === 0) return null;
    return {
      subject: fields(c.subject),
      issuer: fields(c.issuer),
      subjectAltName: c.subjectaltname ?? null,
      serialNumber: c.serialNumber ?? "",
      validFrom: c.valid_from ?? "",
      validTo: c.valid_to ?? "",
      fingerprint256: c.fingerprint256 ?? "",
    };
  } catch {
    return null;
  }
}

/** A node `Duplex` over a Deno TCP connection, for node's TLS server to run on. */
function duplexOf(conn: Deno.Conn): Duplex {
  const buffer = new Uint8Array(64 * 1024);
  return new Duplex({
    read() {
      conn.read(buffer).then(
        (n) => void this.push(n === null ? null : buffer.slice(0, n)),
        (e) => this.destroy(e),
      );
    },
    write(chunk: Uint8Array, _encoding, callback) {
      (async () => {
        let offset = 0;
        while (offset < chunk.length) offset += await conn.write(chunk.subarray(offset));
      })().then(() => callback(), callback);
    },
    final(callback) {
      try {
        conn.closeWrite();
      } catch {
        // already closed
      }
      callback();
    },
    destroy(error, callback) {
      try {
        conn.close();
      } catch {
        // already closed
      }
      callback(error);
    },
  });
}

/** Accepts TCP with Deno (synchronous bind) and runs node's TLS server handshake on it. */
export class MutualTlsListener implements TlsListener {
  readonly addr: Deno.NetAddr;
  readonly #tcp: Deno.TcpListener;
  readonly #tls: ServerTlsOptions;
  readonly #ready: AcceptedConn[] = [];
  readonly #handshaking = new Set<Deno.Conn>();
  #waiter: PromiseWithResolvers<void> | null = null;
  #closed = false;

  constructor(tcp: Deno.TcpListener, tls: ServerTlsOptions) {
    this.#tcp = tcp;
    this.addr = tcp.addr;
    this.#tls = tls;
    void this.#acceptLoop();
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#tcp.accept();
      } catch {
        this.#closed = true;
        this.#wake();
        return;
      }
      if (this.#closed) {
        conn.close();
        continue;
      }
      this.#handshake(conn);
    }
  }

  /** Runs node's TLS server handshake on one connection (a server object per connection). */
  #handshake(conn: Deno.TcpConn): void {
    try {
      conn.setNoDelay(true);
    } catch {
      // the peer may already be gone
    }
    const remote = conn.remoteAddr;
    const tls = this.#tls;
    const server = nodeTls.createServer({
      cert: tls.cert,
      key: tls.key,
      ca: tls.caCerts ?? [],
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: tls.handshakeTimeout ?? 10_000,
    }, (socket: nodeTls.TLSSocket) => {
      this.#handshaking.delete(conn);
      if (socket.authorized !== true || this.#closed) {
        if (!this.#closed) log.warn(`tls: client ${addrText(remote)} has no valid certificate`);
        socket.destroy();
        return;
      }
      this.#ready.push(new NodeTlsConn(socket, remote));
      this.#wake();
    });
    server.on("tlsClientError", (e: Error, socket: nodeTls.TLSSocket) => {
      this.#handshaking.delete(conn);
      log.warn(`tls: handshake from ${addrText(remote)} failed: ${e.message}`);
      socket.destroy();
    });
    this.#handshaking.add(conn);
    const duplex = duplexOf(conn);
    duplex.once("close", () => this.#handshaking.delete(conn));
    // node's TLS server wraps whatever stream arrives as a "connection".
    server.emit("connection", duplex);
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.resolve();
  }

  async accept(): Promise<AcceptedConn> {
    for (;;) {
      const next = this.#ready.shift();
      if (next !== undefined) return next;
      if (this.#closed) throw new Deno.errors.BadResource("Listener has been closed");
      this.#waiter ??= Promise.withResolvers<void>();
      await this.#waiter.promise;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#tcp.close();
    } catch {
      // already closed
    }
    for (const c of this.#ready.splice(0)) c.close();
    for (const c of this.#handshaking) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    this.#handshaking.clear();
    this.#wake();
  }
}

function addrText(addr: Deno.Addr): string {
  return "hostname" in addr ? `${addr.hostname}:${addr.port}` : addr.transport;
}
