/**
 * Limits of the daemon, each configurable, each answered with a clear error or a close and a
 * log line: message size (checked from the header, before any allocation), connections,
 * calls in flight per connection, idle connections, slow senders, writes to peers that do not
 * read, and open item streams per connection.
 */

import assert from "node:assert/strict";
import { Daemon, type DaemonOptions } from "../daemon.ts";
import { expose } from "../expose.ts";
import { config } from "../config.ts";
import { setLogSink } from "../log.ts";
import { MessageConnection } from "../_wire/connection.ts";
import { encodeMessage, Flags, MessageType } from "../_wire/protocol.ts";
import { RawClient } from "./_raw_client.ts";

function captureLog(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const level = config.LOGLEVEL;
  config.LOGLEVEL = "DEBUG";
  const previous = setLogSink((level, message) => lines.push(`${level} ${message}`));
  return {
    lines,
    restore: () => {
      setLogSink(previous);
      config.LOGLEVEL = level;
    },
  };
}

/** The text of a marshal-encoded CONNECTFAIL (Pyro5 sends a marshal str before the handshake). */
function marshalText(data: Uint8Array): string {
  return new TextDecoder().decode(data[0] === 0xfa ? data.subarray(2) : data.subarray(5));
}

class Gate {
  entered = 0;
  #open = Promise.withResolvers<void>();
  #waiters: { n: number; resolve: () => void }[] = [];
  async pass(): Promise<void> {
    this.entered++;
    for (const w of this.#waiters.filter((w) => this.entered >= w.n)) w.resolve();
    await this.#open.promise;
  }
  reached(n: number): Promise<void> {
    if (this.entered >= n) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ n, resolve });
    return promise;
  }
  open(): void {
    this.#open.resolve();
  }
}

function serve(options: DaemonOptions = {}, gate = new Gate()) {
  const daemon = new Daemon({ host: "127.0.0.1", port: 0, ...options });
  daemon.register(
    expose({
      echo: (x: unknown) => x,
      blocked: async (x: unknown) => {
        await gate.pass();
        return x;
      },
      big: (n: number) => new Uint8Array(n),
      *count(n: number) {
        for (let i = 0; i < n; i++) yield i;
      },
    }),
    "thing",
  );
  return { daemon, gate };
}

Deno.test("A frame announcing more than maxMessageSize is refused from its header alone", async () => {
  const log = captureLog();
  const { daemon } = serve({ maxMessageSize: 1000 });
  try {
    // Before the handshake: CONNECTFAIL with Pyro5's text, then close; no body was sent.
    const raw = await RawClient.open(daemon.addr);
    const big = encodeMessage({
      type: MessageType.CONNECT,
      serializerId: 4,
      seq: 0,
      data: new Uint8Array(2000),
    });
    await raw.sendRaw(big.subarray(0, 40));
    const reply = await raw.reply();
    assert.equal(reply.msg.type, MessageType.CONNECTFAIL);
    assert.match(marshalText(reply.msg.data), /message too large \(2000, max=1000\)/);
    assert.ok(await raw.closedByPeer());
    raw.close();
    // After the handshake: the connection is closed at the header (a 1 GiB claim, nothing else).
    const client = await RawClient.connected(daemon.addr, "thing");
    const huge = encodeMessage({
      type: MessageType.INVOKE,
      serializerId: 4,
      seq: 1,
      data: new Uint8Array(0),
    });
    new DataView(huge.buffer, huge.byteOffset).setUint32(12, 1 << 30);
    await client.sendRaw(huge.subarray(0, 40)).catch(() => {});
    assert.ok(await client.closedByPeer());
    client.close();
    assert.ok(log.lines.some((l) => /message too large/.test(l)), log.lines.join("\n"));
    // Still serving.
    const ok = await RawClient.connected(daemon.addr, "thing");
    assert.equal((await ok.call("thing", "echo", ["fine"])).value, "fine");
    ok.close();
  } finally {
    await daemon.close();
    log.restore();
  }
});

Deno.test("At maxConnections the idle connections make room; busy ones are kept", async () => {
  const log = captureLog();
  const { daemon, gate } = serve({ maxConnections: 2 });
  try {
    const busy = await RawClient.connected(daemon.addr, "thing");
    await busy.send("thing", "blocked", ["kept"]);
    await gate.reached(1);
    const idle = await RawClient.connected(daemon.addr, "thing");
    const newcomer = await RawClient.connected(daemon.addr, "thing");
    assert.ok(await idle.closedByPeer(), "the idle connection was not closed");
    idle.close();
    assert.equal((await newcomer.call("thing", "echo", [1])).value, 1);
    assert.ok(log.lines.some((l) => /connection limit \(2\) reached: closed 1/.test(l)));
    // Both remaining connections busy: the next one is refused with Pyro5's CONNECTFAIL.
    await newcomer.send("thing", "blocked", ["also kept"]);
    await gate.reached(2);
    const refused = await RawClient.open(daemon.addr);
    const reply = await refused.handshake("thing");
    assert.equal(reply.msg.type, MessageType.CONNECTFAIL);
    const text = reply.msg.serializerId === 2 ? marshalText(reply.msg.data) : reply.value;
    assert.equal(text, "no free workers, increase server threadpool size");
    assert.ok(await refused.closedByPeer());
    refused.close();
    assert.ok(log.lines.some((l) => /every connection is busy/.test(l)));
    gate.open();
    assert.equal((await busy.reply()).value, "kept");
    assert.equal((await newcomer.reply()).value, "also kept");
    busy.close();
    newcomer.close();
  } finally {
    await daemon.close();
    log.restore();
  }
});

Deno.test("Connections that never complete the handshake go first, then at handshakeTimeout", async () => {
  const log = captureLog();
  const { daemon } = serve({ maxConnections: 3, handshakeTimeout: 60_000 });
  try {
    const good = await RawClient.connected(daemon.addr, "thing");
    const silent = await Deno.connect({
      hostname: "127.0.0.1",
      port: (daemon.addr as Deno.NetAddr).port,
    });
    const stalled = await RawClient.open(daemon.addr);
    await stalled.sendRaw(new TextEncoder().encode("PYRO")); // part of a header, then nothing
    // The limit is reached: each newcomer makes room by closing one that never shook hands,
    // the oldest first; the idle good one stays.
    const newcomer = await RawClient.connected(daemon.addr, "thing");
    assert.equal(await silent.read(new Uint8Array(1)), null);
    silent.close();
    const second = await RawClient.connected(daemon.addr, "thing");
    assert.ok(await stalled.closedByPeer());
    stalled.close();
    assert.equal((await good.call("thing", "echo", ["still here"])).value, "still here");
    assert.equal((await newcomer.call("thing", "echo", [2])).value, 2);
    assert.equal((await second.call("thing", "echo", [3])).value, 3);
    good.close();
    newcomer.close();
    second.close();
  } finally {
    await daemon.close();
    log.restore();
  }
  const quick = captureLog();
  const second = serve({ handshakeTimeout: 30 });
  try {
    const silent = await Deno.connect({
      hostname: "127.0.0.1",
      port: (second.daemon.addr as Deno.NetAddr).port,
    });
    assert.equal(await silent.read(new Uint8Array(1)), null);
    silent.close();
    assert.ok(quick.lines.some((l) => /did not complete the handshake within 30 ms/.test(l)));
  } finally {
    await second.daemon.close();
    quick.restore();
  }
});

Deno.test("One address may hold at most maxConnectionsPerAddress connections", async () => {
  const log = captureLog();
  const { daemon, gate } = serve({ maxConnectionsPerAddress: 2 });
  try {
    const a = await RawClient.connected(daemon.addr, "thing");
    const b = await RawClient.connected(daemon.addr, "thing");
    await b.send("thing", "blocked", [1]);
    await gate.reached(1);
    const c = await RawClient.connected(daemon.addr, "thing"); // evicts a, the idle one
    assert.ok(await a.closedByPeer());
    a.close();
    await c.send("thing", "blocked", [2]);
    await gate.reached(2);
    const d = await RawClient.open(daemon.addr);
    const reply = await d.handshake("thing");
    assert.equal(reply.msg.type, MessageType.CONNECTFAIL);
    assert.equal(marshalText(reply.msg.data), "too many connections from this address");
    d.close();
    assert.ok(log.lines.some((l) => /per-address cap \(2\) reached by 127\.0\.0\.1/.test(l)));
    gate.open();
    await b.reply();
    await c.reply();
    b.close();
    c.close();
  } finally {
    await daemon.close();
    log.restore();
  }
});

Deno.test("A compressed payload that inflates past maxInflatedSize is refused in bounded memory", async () => {
  const log = captureLog();
  const { daemon } = serve({ maxInflatedSize: 1 << 20 });
  try {
    const { deflateSync } = await import("node:zlib");
    const bystander = await RawClient.connected(daemon.addr, "thing");
    const client = await RawClient.connected(daemon.addr, "thing");
    const serializer = (await import("../serializer.ts")).getSerializer(4);
    // A real call padded to 64 MiB inflated: 64 KiB on the wire.
    const bomb = new Uint8Array(deflateSync(new Uint8Array(64 << 20)));
    const frame = encodeMessage({ type: MessageType.INVOKE, serializerId: 4, seq: 9, data: bomb });
    frame[9]! |= Flags.COMPRESSED;
    await client.sendRaw(frame);
    assert.ok(await client.closedByPeer());
    client.close();
    assert.ok(
      log.lines.some((l) => /inflated payload exceeds max=1048576/.test(l)),
      log.lines.join("\n"),
    );
    // A compressed call within the limit works, and the bystander was served throughout.
    const fine = serializer.dumpsCall({
      object: "thing",
      method: "echo",
      params: ["x".repeat(500_000)],
      kwargs: {},
    });
    const ok = encodeMessage({
      type: MessageType.INVOKE,
      serializerId: 4,
      seq: 10,
      data: new Uint8Array(deflateSync(fine)),
    });
    ok[9]! |= Flags.COMPRESSED;
    await bystander.sendRaw(ok);
    assert.equal(((await bystander.reply()).value as string).length, 500_000);
    bystander.close();
  } finally {
    await daemon.close();
    log.restore();
  }
});

Deno.test("A connection runs at most maxCallsInFlight calls; the rest wait unread", async () => {
  const { daemon, gate } = serve({ maxCallsInFlight: 3 });
  try {
    const client = await RawClient.connected(daemon.addr, "thing");
    for (let i = 0; i < 10; i++) await client.send("thing", "blocked", [i]);
    await gate.reached(3);
    // A PING is queued behind the unread calls too: the daemon stopped reading.
    const seen = gate.entered;
    gate.open();
    const results = [];
    for (let i = 0; i < 10; i++) results.push((await client.reply()).value);
    assert.equal(seen, 3);
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    client.close();
  } finally {
    await daemon.close();
  }
});

Deno.test("An idle connection is closed after idleTimeout with a log line", async () => {
  const log = captureLog();
  const { daemon } = serve({ idleTimeout: 30 });
  try {
    const client = await RawClient.connected(daemon.addr, "thing");
    assert.ok(await client.closedByPeer());
    client.close();
    assert.ok(log.lines.some((l) => /closing idle connection/.test(l)));
  } finally {
    await daemon.close();
    log.restore();
  }
});

Deno.test("A client that starts a frame and stalls is dropped after frameTimeout", async () => {
  const log = captureLog();
  const { daemon } = serve({ frameTimeout: 50 });
  try {
    const bystander = await RawClient.connected(daemon.addr, "thing");
    const client = await RawClient.connected(daemon.addr, "thing");
    const frame = encodeMessage({
      type: MessageType.INVOKE,
      serializerId: 4,
      seq: 1,
      data: new Uint8Array(100),
    });
    await client.sendRaw(frame.subarray(0, 45)); // header and 5 bytes, then nothing
    assert.ok(await client.closedByPeer());
    client.close();
    assert.ok(
      log.lines.some((l) => /not completed within 50 ms \(slow sender\)/.test(l)),
      log.lines.join("\n"),
    );
    assert.equal((await bystander.call("thing", "echo", ["ok"])).value, "ok");
    bystander.close();
  } finally {
    await daemon.close();
    log.restore();
  }
});

Deno.test("A peer that never reads is dropped after writeTimeout; the daemon holds little", async () => {
  const log = captureLog();
  const { daemon } = serve({ writeTimeout: 100, maxCallsInFlight: 4 });
  try {
    const client = await RawClient.connected(daemon.addr, "thing");
    // 4 MiB results, never read: the kernel buffers fill, a write stalls, the daemon gives up.
    const sending = (async () => {
      for (let i = 0; i < 64; i++) await client.send("thing", "big", [4 << 20]);
    })().catch(() => {});
    let dropped = false;
    for (let i = 0; i < 500 && !dropped; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      dropped = daemon.connectionCount === 0;
    }
    assert.ok(dropped, "the daemon kept the connection of a peer that does not read");
    assert.ok(
      log.lines.some((l) => /did not complete within 100 ms/.test(l)),
      log.lines.join("\n"),
    );
    client.close();
    await sending;
  } finally {
    await daemon.close();
    log.restore();
  }
});

Deno.test("A connection may hold at most maxStreamsPerConnection open item streams", async () => {
  const log = captureLog();
  const { daemon } = serve({ maxStreamsPerConnection: 2 });
  try {
    const client = await RawClient.connected(daemon.addr, "thing");
    const first = await client.call("thing", "count", [5]);
    const second = await client.call("thing", "count", [5]);
    assert.ok(first.msg.annotations.has("STRM") && second.msg.annotations.has("STRM"));
    const third = await client.call("thing", "count", [5]);
    assert.ok(third.msg.flags & Flags.EXCEPTION);
    assert.equal(
      (third.value as Error).message,
      "too many open item streams (max 2 per connection)",
    );
    assert.ok(log.lines.some((l) => /open item streams \(maxStreamsPerConnection\)/.test(l)));
    // Closing one makes room again; another connection has its own allowance.
    const id = new TextDecoder().decode(first.msg.annotations.get("STRM"));
    await client.call("Pyro.Daemon", "close_stream", [id]);
    const again = await client.call("thing", "count", [5]);
    assert.ok(again.msg.annotations.has("STRM"));
    const other = await RawClient.connected(daemon.addr, "thing");
    assert.ok((await other.call("thing", "count", [5])).msg.annotations.has("STRM"));
    other.close();
    client.close();
  } finally {
    await daemon.close();
    log.restore();
  }
});

Deno.test("A message connection closes when a frame stays unfinished past frameTimeout", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const accepted = await listener.accept();
  const reasons: string[] = [];
  const server = new MessageConnection(accepted, {
    frameTimeout: 30,
    onTimeout: (r) => reasons.push(r),
  });
  // Complete frames pass, then half a frame stalls.
  const frame = encodeMessage({
    type: MessageType.PING,
    serializerId: 4,
    seq: 1,
    data: new Uint8Array(100),
  });
  const two = new Uint8Array(frame.length * 2 + 50);
  two.set(frame, 0);
  two.set(frame, frame.length);
  two.set(frame.subarray(0, 50), frame.length * 2);
  await tcp.write(two);
  assert.equal((await server.receive())?.seq, 1);
  assert.equal((await server.receive())?.seq, 1);
  await assert.rejects(server.receive());
  assert.deepEqual(reasons, ["a frame was not completed within 30 ms (slow sender)"]);
  server.close();
  tcp.close();
});

Deno.test("A message connection closes when a write stalls past writeTimeout", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const accepted = await listener.accept();
  const reasons: string[] = [];
  const server = new MessageConnection(accepted, {
    writeTimeout: 50,
    onTimeout: (r) => reasons.push(r),
  });
  const big = encodeMessage({
    type: MessageType.RESULT,
    serializerId: 4,
    seq: 1,
    data: new Uint8Array(32 << 20),
  });
  await assert.rejects(server.send(big));
  assert.equal(reasons.length, 1);
  assert.match(reasons[0]!, /did not complete within 50 ms/);
  server.close();
  tcp.close();
});
