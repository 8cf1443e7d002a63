/**
 * Proxies over WebSocket (the `via` option) through the gateway's relay (`/pyro/ws`) and a
 * daemon's own WebSocket handler: calls, batches, streams, oneway calls, attributes, remote
 * errors, aborts, the key and the exposure rules, and bad input at the relay.
 */

import assert from "node:assert/strict";
import { Daemon } from "../daemon.ts";
import {
  CommunicationError,
  ConnectionClosedError,
  DaemonError,
  NamingError,
  RemoteError,
  SecurityError,
} from "../errors.ts";
import { expose, oneway } from "../expose.ts";
import { startGateway } from "../gateway.ts";
import { startNameServer } from "../naming.ts";
import { createBatch, createProxy, type Proxy } from "../proxy.ts";
import { WebSocketRelay, type WebSocketRelayOptions } from "../_gateway/ws_relay.ts";
import { encodeMessage, MessageType } from "../_wire/protocol.ts";
import { getSerializer } from "../serializer.ts";
import { type URI, URI as URIClass } from "../uri.ts";
import { makeTestCerts } from "./_certs.ts";

class Shop {
  stock = 3;
  pinged = Promise.withResolvers<string>();

  @expose
  add(a: number, b: number): number {
    return a + b;
  }

  @expose
  *count(n: number): Generator<number> {
    for (let i = 0; i < n; i++) yield i;
  }

  @expose
  fail(why: string): never {
    throw new RangeError(why);
  }

  @expose
  slow(): Promise<string> {
    return new Promise((resolve) => setTimeout(() => resolve("late"), 200));
  }

  @oneway
  ping(text: string): void {
    this.pinged.resolve(text);
  }

  @expose
  get items(): number {
    return this.stock;
  }
}

class Secret {
  @expose
  reveal(): string {
    return "secret";
  }
}

interface ShopApi {
  add(a: number, b: number): number;
  count(n: number): AsyncIterable<number>;
  fail(why: string): never;
  slow(): string;
  ping(text: string): void;
  readonly items: number;
}

/** A daemon with `http.shop` (exposed) and `private.secret`, and a relay serving them. */
function setup(relayOptions: Partial<WebSocketRelayOptions> = {}) {
  const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const shop = new Shop();
  const names = new Map<string, URI>([
    ["http.shop", daemon.register(shop, "shop")],
    ["private.secret", daemon.register(new Secret(), "secret")],
  ]);
  const relay = new WebSocketRelay({
    exposed: (name) => name.startsWith("http."),
    resolve: (name) => {
      const uri = names.get(name);
      return uri ? Promise.resolve(uri) : Promise.reject(new NamingError(`unknown name: ${name}`));
    },
    ...relayOptions,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => relay.handle(req),
  );
  const via = `ws://127.0.0.1:${server.addr.port}/pyro/ws`;
  return {
    daemon,
    shop,
    relay,
    via,
    async [Symbol.asyncDispose]() {
      await relay.close();
      await server.shutdown();
      await daemon.close();
    },
  };
}

Deno.test("Proxy over WebSocket calls, batches, streams and gets remote errors through the relay", async () => {
  await using s = setup();
  await using shop = createProxy<ShopApi>("PYRONAME:http.shop", { via: s.via });
  assert.equal(await shop.add(2, 3), 5);
  const items: number[] = [];
  for await (const i of await shop.count(4)) items.push(i);
  assert.deepEqual(items, [0, 1, 2, 3]);
  await assert.rejects(() => shop.fail("out of stock"), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.remoteClass, "builtins.ValueError");
    assert.match(e.message, /out of stock/);
    return true;
  });
  const batch = createBatch(shop);
  batch.add(1, 1);
  batch.add(2, 2);
  assert.deepEqual(await batch._pyroRun(), [2, 4]);
  assert.equal(await shop._pyroGet("items"), 3);
  await shop.ping("hi");
  assert.equal(await s.shop.pinged.promise, "hi");
  // Pipelined calls share the one WebSocket.
  const sums = await Promise.all(Array.from({ length: 50 }, (_, i) => shop.add(i, 1)));
  assert.equal(sums[49], 50);
});

Deno.test("Proxy over WebSocket aborts a call with its signal and times out like over TCP", async () => {
  await using s = setup();
  await using shop = createProxy<ShopApi>("PYRONAME:http.shop", { via: s.via, maxRetries: 0 });
  const controller = new AbortController();
  const call = shop._pyroWith({ signal: controller.signal }).slow();
  controller.abort(new DOMException("stop", "AbortError"));
  await assert.rejects(call, { name: "AbortError" });
  await assert.rejects(shop._pyroWith({ timeout: 20 }).slow(), { name: "TimeoutError" });
  assert.equal(await shop.add(1, 2), 3); // reconnects after the timeout closed the connection
});

Deno.test("Relay refuses an unexposed name, an unknown name and a wrong key inside the connection", async () => {
  await using s = setup({ key: "sesame" });
  await using secret = createProxy("PYRONAME:private.secret", { via: s.via, gatewayKey: "sesame" });
  await assert.rejects(() => secret._pyroBind(), SecurityError);
  await using missing = createProxy("PYRONAME:http.none", { via: s.via, gatewayKey: "sesame" });
  await assert.rejects(() => missing._pyroBind(), NamingError);
  await using nokey = createProxy("PYRONAME:http.shop", { via: s.via });
  await assert.rejects(() => nokey._pyroBind(), SecurityError);
  await using direct = createProxy("PYRO:secret@127.0.0.1:1", { via: s.via, gatewayKey: "sesame" });
  await assert.rejects(() => direct._pyroBind(), NamingError);
  await using shop = createProxy<ShopApi>("PYRONAME:http.shop", {
    via: s.via,
    gatewayKey: "sesame",
  });
  assert.equal(await shop.add(20, 22), 42);
});

/** Opens a relayed WebSocket for `http.shop` and returns it after the welcome. */
async function openRaw(via: string): Promise<{ ws: WebSocket; closed: Promise<CloseEvent> }> {
  const ws = new WebSocket(via);
  ws.binaryType = "arraybuffer";
  const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
  await new Promise((resolve) => ws.onopen = resolve);
  const welcome = new Promise<MessageEvent>((resolve) => ws.onmessage = resolve);
  ws.send(JSON.stringify({ object: "http.shop" }));
  // A relay that closes before its welcome (a hello later than its hello timeout) fails the
  // test instead of leaving it waiting.
  const first = await Promise.race([welcome, closed]);
  assert.ok(
    first instanceof MessageEvent,
    `closed before the welcome: ${(first as CloseEvent).code}`,
  );
  assert.deepEqual(JSON.parse(first.data), { object: "shop" });
  return { ws, closed };
}

Deno.test("Relay closes a WebSocket that calls another object of the same daemon", async () => {
  await using s = setup();
  const { ws, closed } = await openRaw(s.via);
  const json = getSerializer("json");
  ws.send(encodeMessage({
    type: MessageType.CONNECT,
    serializerId: json.id,
    seq: 0,
    data: json.dumps({ handshake: "hello", object: "shop" }),
  }));
  ws.send(encodeMessage({
    type: MessageType.INVOKE,
    serializerId: json.id,
    seq: 1,
    data: json.dumpsCall({ object: "secret", method: "reveal", params: [], kwargs: {} }),
  }));
  const event = await closed;
  assert.equal(event.code, 1008);
  assert.match(event.reason, /object 'secret' is not reachable/);
});

Deno.test("Relay closes a WebSocket that sends garbage, text after the hello, or no hello", async () => {
  // Long enough for openRaw's hello on a loaded machine, short enough for the silent socket.
  await using s = setup({ helloTimeout: 1000 });
  const a = await openRaw(s.via);
  a.ws.send(new Uint8Array([1, 2, 3, 4]));
  assert.equal((await a.closed).code, 1008);
  const b = await openRaw(s.via);
  b.ws.send("more text");
  assert.equal((await b.closed).code, 1008);
  const c = new WebSocket(s.via);
  const closed = new Promise<CloseEvent>((resolve) => c.onclose = resolve);
  assert.equal((await closed).code, 1008); // said nothing within the hello timeout
  // and the relay still serves
  await using shop = createProxy<ShopApi>("PYRONAME:http.shop", { via: s.via });
  assert.equal(await shop.add(1, 1), 2);
});

Deno.test("Relay refuses WebSockets past its limit with 503", async () => {
  await using s = setup({ maxConnections: 3 });
  const idle = Array.from({ length: 3 }, () => new WebSocket(s.via));
  await Promise.all(idle.map((ws) => new Promise((resolve) => ws.onopen = resolve)));
  assert.equal(s.relay.connections, 3);
  const refused = await fetch(s.via.replace("ws:", "http:"), {
    headers: { upgrade: "websocket", connection: "upgrade" },
  });
  assert.equal(refused.status, 503);
  await refused.body?.cancel();
  const rest = idle.map((ws) => new Promise((resolve) => ws.onclose = resolve));
  for (const ws of idle) ws.close();
  await Promise.all(rest);
});

Deno.test("Gateway keeps serving HTTP calls and WebSocket proxies with 1,000 idle WebSockets open", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  ns.nameServer.register("http.shop", daemon.register(new Shop(), "shop").toString());
  await using gateway = await startGateway({
    host: "127.0.0.1",
    port: 0,
    ns: `127.0.0.1:${ns.uri.port}`,
    maxWebSocketsPerAddress: 2048, // every socket here comes from 127.0.0.1
  });
  const via = `${gateway.url.replace("http:", "ws:")}pyro/ws`;
  const idle: WebSocket[] = [];
  const opened: Promise<unknown>[] = [];
  const closed: Promise<unknown>[] = [];
  for (let i = 0; i < 1000; i++) {
    const ws = new WebSocket(via);
    opened.push(new Promise((resolve) => ws.onopen = resolve));
    closed.push(new Promise((resolve) => ws.onclose = resolve));
    idle.push(ws);
  }
  await Promise.all(opened);
  {
    await using shop = createProxy<ShopApi>("PYRONAME:http.shop", { via });
    assert.equal(await shop.add(2, 2), 4);
    const reply = await fetch(`${gateway.url}pyro/http.shop/add`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ args: [1, 2] }),
    });
    assert.equal(reply.status, 200);
    assert.equal(await reply.json(), 3);
  }
  for (const ws of idle) ws.close();
  await Promise.all(closed);
});

Deno.test("Proxy over WebSocket sees the daemon going away as a closed connection", async () => {
  const s = setup();
  const shop = createProxy<ShopApi>("PYRONAME:http.shop", { via: s.via, maxRetries: 0 });
  assert.equal(await shop.add(1, 2), 3);
  await s.daemon.close();
  await assert.rejects(() => shop.add(1, 2), ConnectionClosedError);
  await shop._pyroRelease();
  await s[Symbol.asyncDispose]();
});

Deno.test("Daemon serves proxies over WebSocket mounted in a Deno.serve app", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const shop = new Shop();
  const uri = daemon.register(shop, "shop");
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) =>
      new URL(req.url).pathname === "/pyro"
        ? daemon.websocketHandler(req, info)
        : new Response("the app"),
  );
  const via = `ws://127.0.0.1:${server.addr.port}/pyro`;
  await using p = createProxy<ShopApi>(uri, { via });
  assert.equal(await p.add(40, 2), 42);
  const items: number[] = [];
  for await (const i of await p.count(3)) items.push(i);
  assert.deepEqual(items, [0, 1, 2]);
  const batch = createBatch(p);
  batch.add(1, 2);
  assert.deepEqual(await batch._pyroRun(), [3]);
  await assert.rejects(() => p.fail("no"), RemoteError);
  assert.equal(daemon.connectionCount, 1);
  await using unknown = createProxy(`PYRO:nothing@127.0.0.1:1`, { via });
  await assert.rejects(() => unknown._pyroBind(), DaemonError);
  await using named = createProxy("PYRONAME:http.shop", { via });
  await assert.rejects(() => named._pyroBind(), NamingError);
  const plain = await fetch(`http://127.0.0.1:${server.addr.port}/pyro`);
  assert.equal(plain.status, 426);
  await plain.body?.cancel();
});

Deno.test("Relay reaches daemons on a Unix socket and over TLS", async () => {
  const certs = await makeTestCerts();
  const dir = await Deno.makeTempDir();
  try {
    await using unix = new Daemon({ unixSocket: `${dir}/shop.sock` });
    await using tls = new Daemon({
      host: "127.0.0.1",
      port: 0,
      tls: { cert: certs.serverCert, key: certs.serverKey },
    });
    const names = new Map<string, URI>([
      ["http.unix", unix.register(new Shop(), "shop")],
      ["http.tls", tls.register(new Shop(), "shop")],
    ]);
    const relay = new WebSocketRelay({
      exposed: () => true,
      resolve: (name) => Promise.resolve(names.get(name)!),
      tls: { caCerts: [certs.ca] },
    });
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => relay.handle(req),
    );
    const via = `ws://127.0.0.1:${server.addr.port}/pyro/ws`;
    {
      await using overUnix = createProxy<ShopApi>("PYRONAME:http.unix", { via });
      assert.equal(await overUnix.add(1, 2), 3);
      await using overTls = createProxy<ShopApi>("PYRONAME:http.tls", { via });
      assert.equal(await overTls.add(3, 4), 7);
    }
    await relay.close();
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A proxy returned over WebSocket (autoproxy) reaches its object the same way", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The daemon's own socket file is removed: only the WebSocket route leads to it.
    await using daemon = new Daemon({ unixSocket: `${dir}/d.sock` });
    await Deno.remove(`${dir}/d.sock`);
    const counter = {
      hits: 0,
      hit(): number {
        return ++this.hits;
      },
    };
    daemon.register(expose(counter), "counter");
    const lobbyUri = daemon.register(expose({ counter: () => counter }), "lobby");
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req, info) => daemon.websocketHandler(req, info),
    );
    const via = `ws://127.0.0.1:${server.addr.port}/`;
    await using lobby = createProxy<{ counter(): Proxy<{ hit(): number }> }>(lobbyUri, { via });
    await using hits = await lobby.counter();
    assert.equal(hits._pyroUri.object, "counter");
    assert.equal(await hits.hit(), 1);
    await using direct = createProxy(hits._pyroUri, { maxRetries: 0 });
    await assert.rejects(() => direct._pyroBind(), CommunicationError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Relay lets in pages of its own origin and of allowed ones, and refuses others with 403", async () => {
  await using s = setup({ allowOrigin: (origin) => origin === "http://allowed.example" });
  const http = s.via.replace("ws:", "http:");
  const upgrade = (origin: string) =>
    fetch(http, { headers: { upgrade: "websocket", connection: "upgrade", origin } });
  const refused = await upgrade("http://evil.example");
  assert.equal(refused.status, 403);
  await refused.body?.cancel();
  for (const origin of ["http://allowed.example", new URL(http).origin]) {
    const passed = await upgrade(origin); // past the origin check, then no WebSocket key: 400
    assert.equal(passed.status, 400, origin);
    await passed.body?.cancel();
  }
});

Deno.test("Relay names the name, not the daemon's address, when the daemon cannot be reached", async () => {
  await using s = setup({
    resolve: () => Promise.resolve(new URIClass("PYRO:gone@127.0.0.1:1")),
  });
  await using gone = createProxy("PYRONAME:http.gone", { via: s.via });
  await assert.rejects(() => gone._pyroBind(), (e: Error) => {
    assert.ok(e instanceof CommunicationError);
    assert.equal(e.message, "Cannot connect to 'http.gone': connection refused");
    return true;
  });
});

Deno.test("Relay closes even when a peer never answers the WebSocket close handshake", async () => {
  const s = setup();
  const port = Number(new URL(s.via).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(
    "GET /pyro/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  ));
  const head = new Uint8Array(1024);
  const n = await conn.read(head);
  assert.match(new TextDecoder().decode(head.subarray(0, n ?? 0)), /^HTTP\/1\.1 101/);
  await s.relay.close(); // the peer reads nothing more and never closes: the relay still returns
  assert.equal(s.relay.connections, 0);
  conn.close();
  await s[Symbol.asyncDispose]();
});
