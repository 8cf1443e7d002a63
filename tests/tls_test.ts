/**
 * TLS: certificates made at run time with openssl; server verification by the client, client
 * certificates demanded and verified by the server, wrong CAs refused; the daemon, proxies and
 * the name server over TLS.
 */

import assert from "node:assert/strict";
import { MessageConnection } from "../_wire/connection.ts";
import { config } from "../config.ts";
import { currentContext, Daemon } from "../daemon.ts";
import { CommunicationError } from "../errors.ts";
import { expose } from "../expose.ts";
import { locateNS, resolve } from "../locate.ts";
import { startNameServer } from "../naming.ts";
import { createProxy, type UntypedMethods } from "../proxy.ts";
import { setLogSink } from "../log.ts";
import { encodeMessage, MessageType } from "../_wire/protocol.ts";
import { type AcceptedConn, connectTls, listenTls } from "../_wire/tls_socket.ts";
import { makeTestCerts, type TestCerts } from "./_certs.ts";

let certsPromise: Promise<TestCerts> | undefined;
function certs(): Promise<TestCerts> {
  certsPromise ??= makeTestCerts();
  return certsPromise;
}

/** Silences the library's warnings (refused handshakes are expected here). */
function quiet(): () => void {
  const previous = setLogSink(() => {});
  return () => setLogSink(previous);
}

async function pingOver(client: Deno.TlsConn, server: AcceptedConn): Promise<number | undefined> {
  const c = new MessageConnection(client);
  const s = new MessageConnection(server);
  await c.send(encodeMessage({ type: MessageType.PING, serializerId: 4, seq: 7 }));
  const got = await s.receive();
  await s.send(encodeMessage({ type: MessageType.PING, serializerId: 4, seq: got!.seq }));
  const back = await c.receive();
  c.close();
  s.close();
  return back?.seq;
}

Deno.test("A TLS client verifies the server against its CA and exchanges frames", async () => {
  const t = await certs();
  const listener = listenTls({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: t.serverCert, key: t.serverKey },
  });
  const accepted = listener.accept();
  const client = await connectTls({
    hostname: "127.0.0.1",
    port: listener.addr.port,
    tls: { caCerts: [t.ca] },
  });
  assert.equal(await pingOver(client, await accepted), 7);
  listener.close();
});

Deno.test("A TLS client refuses a server whose certificate another CA signed", async () => {
  const t = await certs();
  const listener = listenTls({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: t.otherServerCert, key: t.otherServerKey },
  });
  const accepted = listener.accept().then((c) => c, () => null);
  await assert.rejects(
    connectTls({ hostname: "127.0.0.1", port: listener.addr.port, tls: { caCerts: [t.ca] } }),
    CommunicationError,
  );
  const conn = await accepted;
  if (conn !== null) {
    await conn.read(new Uint8Array(16)).catch(() => null);
    conn.close();
  }
  listener.close();
});

Deno.test("A server demanding client certificates accepts one its CA signed and reads it", async () => {
  const t = await certs();
  const listener = listenTls({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: t.serverCert, key: t.serverKey, caCerts: [t.ca], requireClientCert: true },
  });
  const accepted = listener.accept();
  const client = await connectTls({
    hostname: "127.0.0.1",
    port: listener.addr.port,
    tls: { caCerts: [t.ca], cert: t.clientCert, key: t.clientKey },
  });
  const server = await accepted;
  assert.equal(server.peerCertificate?.subject.CN, "client");
  assert.equal(server.peerCertificate?.issuer.CN, "ca test CA");
  assert.equal(await pingOver(client, server), 7);
  listener.close();
});

async function refusedClient(t: TestCerts, cert?: string, key?: string): Promise<void> {
  const restore = quiet();
  const listener = listenTls({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: t.serverCert, key: t.serverKey, caCerts: [t.ca], requireClientCert: true },
  });
  let acceptedAny = false;
  const accepting = listener.accept().then(() => (acceptedAny = true), () => {});
  try {
    const tls = cert && key ? { caCerts: [t.ca], cert, key } : { caCerts: [t.ca] };
    // The refusal shows either in the handshake (TLS 1.3 alerts may arrive after it) or at
    // the first read.
    let conn: Deno.TlsConn | undefined;
    await assert.rejects(async () => {
      conn = await connectTls({ hostname: "127.0.0.1", port: listener.addr.port, tls });
      await conn.write(new Uint8Array([1, 2, 3]));
      const n = await conn.read(new Uint8Array(16));
      if (n === null) throw new Error("closed by the server");
    });
    try {
      conn?.close();
    } catch {
      // closed
    }
  } finally {
    listener.close();
    await accepting;
    restore();
  }
  assert.equal(acceptedAny, false);
}

Deno.test("A server demanding client certificates refuses a client without one", async () => {
  await refusedClient(await certs());
});

Deno.test("A server demanding client certificates refuses one another CA signed", async () => {
  const t = await certs();
  await refusedClient(t, t.otherClientCert, t.otherClientKey);
});

// ---------------------------------------------------------------- daemon, proxy, name server

type Echo = UntypedMethods<"echo" | "whoami">;

function tlsDaemon(t: TestCerts, requireClientCert = false): Daemon {
  const daemon = new Daemon({
    host: "127.0.0.1",
    port: 0,
    tls: { cert: t.serverCert, key: t.serverKey, caCerts: [t.ca], requireClientCert },
  });
  daemon.register(
    expose({
      echo: (x: unknown) => x,
      whoami: () => currentContext()?.connection.peerCertificate?.subject.CN ?? null,
    }),
    "thing",
  );
  return daemon;
}

Deno.test("A proxy calls a TLS daemon that its CA certificate verifies", async () => {
  const t = await certs();
  const daemon = tlsDaemon(t);
  const proxy = createProxy<Echo>(daemon.uriFor("thing"), { tls: { caCerts: [t.ca] } });
  try {
    assert.deepEqual(await proxy.echo({ over: "tls", n: [1, 2, 3] }), {
      over: "tls",
      n: [1, 2, 3],
    });
    // Pipelined calls over one TLS connection.
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => proxy.echo(i)));
    assert.deepEqual(results, Array.from({ length: 50 }, (_, i) => i));
  } finally {
    await proxy._pyroRelease();
    await daemon.close();
  }
});

Deno.test("A proxy refuses a TLS daemon whose certificate another CA signed", async () => {
  const restore = quiet();
  const t = await certs();
  const daemon = tlsDaemon(t);
  const proxy = createProxy<Echo>(daemon.uriFor("thing"), { tls: { caCerts: [t.otherCa] } });
  try {
    await assert.rejects(proxy.echo(1), CommunicationError);
  } finally {
    await proxy._pyroRelease();
    await daemon.close();
    restore();
  }
});

Deno.test("A plain-TCP proxy cannot talk to a TLS daemon", async () => {
  const restore = quiet();
  const t = await certs();
  const daemon = tlsDaemon(t);
  const proxy = createProxy<Echo>(daemon.uriFor("thing"), { tls: false, timeout: 5000 });
  try {
    await assert.rejects(proxy.echo(1), CommunicationError);
  } finally {
    await proxy._pyroRelease();
    await daemon.close();
    restore();
  }
});

Deno.test("A daemon requiring client certificates serves a proxy that has one", async () => {
  const t = await certs();
  const daemon = tlsDaemon(t, true);
  const proxy = createProxy<Echo>(daemon.uriFor("thing"), {
    tls: { caCerts: [t.ca], cert: t.clientCert, key: t.clientKey },
  });
  try {
    assert.equal(await proxy.echo("mutual"), "mutual");
    // The daemon read the verified client certificate; calls see it in their context.
    assert.equal(await proxy.whoami(), "client");
  } finally {
    await proxy._pyroRelease();
    await daemon.close();
  }
});

Deno.test("A daemon requiring client certificates refuses proxies without a valid one", async () => {
  const restore = quiet();
  const t = await certs();
  const daemon = tlsDaemon(t, true);
  const without = createProxy<Echo>(daemon.uriFor("thing"), {
    tls: { caCerts: [t.ca] },
    timeout: 5000,
  });
  const wrong = createProxy<Echo>(daemon.uriFor("thing"), {
    tls: { caCerts: [t.ca], cert: t.otherClientCert, key: t.otherClientKey },
    timeout: 5000,
  });
  try {
    await assert.rejects(without.echo(1), CommunicationError);
    await assert.rejects(wrong.echo(1), CommunicationError);
    assert.equal(daemon.connectionCount, 0);
  } finally {
    await without._pyroRelease();
    await wrong._pyroRelease();
    await daemon.close();
    restore();
  }
});

Deno.test("A TLS name server is found, registers and resolves over TLS", async () => {
  const t = await certs();
  const ns = await startNameServer({
    host: "127.0.0.1",
    port: 0,
    broadcast: false,
    tls: { cert: t.serverCert, key: t.serverKey, caCerts: [t.ca], requireClientCert: true },
  });
  const daemon = tlsDaemon(t);
  const tls = { caCerts: [t.ca], cert: t.clientCert, key: t.clientKey };
  const port = (ns.daemon.addr as Deno.NetAddr).port;
  const registry = await locateNS("127.0.0.1", port, { tls, broadcast: false });
  try {
    await registry.register("tls.thing", daemon.uriFor("thing"));
    const uri = await resolve("PYRONAME:tls.thing@127.0.0.1:" + port, { tls, broadcast: false });
    assert.equal(uri.toString(), daemon.uriFor("thing").toString());
    const proxy = createProxy<Echo>(uri, { tls });
    assert.equal(await proxy.echo("via ns"), "via ns");
    await proxy._pyroRelease();
  } finally {
    await registry._pyroRelease();
    await daemon.close();
    await ns.close();
  }
});

Deno.test("Pyro5's SSL_* configuration items turn TLS on for daemons and proxies", async () => {
  const t = await certs();
  const saved = { ...config };
  Object.assign(config, {
    SSL: true,
    SSL_SERVERCERT: t.files.serverCert,
    SSL_SERVERKEY: t.files.serverKey,
    SSL_CACERTS: t.files.ca,
    SSL_REQUIRECLIENTCERT: true,
    SSL_CLIENTCERT: t.files.clientCert,
    SSL_CLIENTKEY: t.files.clientKey,
  });
  try {
    const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
    daemon.register(expose({ echo: (x: unknown) => x }), "thing");
    const proxy = createProxy<Echo>(daemon.uriFor("thing"));
    try {
      assert.equal(await proxy.echo("configured"), "configured");
    } finally {
      await proxy._pyroRelease();
      await daemon.close();
    }
  } finally {
    Object.assign(config, saved);
  }
});

globalThis.addEventListener("unload", () => {
  certsPromise?.then((t) => Deno.removeSync(t.dir, { recursive: true }), () => {});
});
