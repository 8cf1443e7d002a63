/**
 * Faults: the server killed mid-call, a proxy reconnecting when the server returns (also on a
 * new port found through the name server), the client dying mid-call, half-closed sockets,
 * and a peer that never reads.
 */

import assert from "node:assert/strict";
import { config } from "../config.ts";
import { MessageConnection } from "../_wire/connection.ts";
import { Daemon } from "../daemon.ts";
import { CommunicationError, ConnectionClosedError } from "../errors.ts";
import { expose } from "../expose.ts";
import { setLogSink } from "../log.ts";
import { startNameServer } from "../naming.ts";
import { encodeMessage, MessageType } from "../_wire/protocol.ts";
import { createProxy, type UntypedMethods } from "../proxy.ts";
import { getSerializer } from "../serializer.ts";
import { RawClient } from "./_raw_client.ts";
import { startServerProcess } from "./_server_process.ts";

type Stats = {
  rss: number;
  heapUsed: number;
  external: number;
  connections: number;
  liveSessions: number;
  openStreams: number;
};
type Thing = UntypedMethods<"echo" | "stats" | "calls" | "big">;
type Session = UntypedMethods<"next" | "hold" | "stream">;

function quiet(): () => void {
  const previous = setLogSink(() => {});
  return () => setLogSink(previous);
}

/** Polls `check` until it returns true (at most `tries` times, 20 ms apart). */
async function eventually(check: () => Promise<boolean>, tries = 250): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

Deno.test("A server killed mid-call fails the call with ConnectionClosedError, no hang", async () => {
  const server = await startServerProcess(["--no-ns"]);
  const session = createProxy<Session>(`PYRO:session@127.0.0.1:${server.daemonPort}`);
  const thing = createProxy<Thing>(`PYRO:thing@127.0.0.1:${server.daemonPort}`);
  try {
    await session.next();
    const call = session.hold(30_000) as Promise<unknown>;
    call.catch(() => {}); // checked below; the rejection may come before assert.rejects runs
    // The call is running in the server once another connection sees it.
    await thing.echo(1);
    await server.kill();
    await assert.rejects(call, ConnectionClosedError);
    await assert.rejects(thing.echo(2), CommunicationError);
  } finally {
    await session._pyroRelease();
    await thing._pyroRelease();
    await server.kill();
  }
});

Deno.test("A proxy with retries resumes when the server comes back on the same port", async () => {
  const first = await startServerProcess(["--no-ns"]);
  const port = first.daemonPort;
  const thing = createProxy<Thing>(`PYRO:thing@127.0.0.1:${port}`, { maxRetries: 3 });
  let second: Awaited<ReturnType<typeof startServerProcess>> | undefined;
  try {
    assert.equal(await thing.echo("before"), "before");
    await first.kill();
    second = await startServerProcess(["--no-ns", "--port", String(port)]);
    assert.equal(await thing.echo("after"), "after");
  } finally {
    await thing._pyroRelease();
    await first.kill();
    await second?.stop();
  }
});

Deno.test("A PYRONAME proxy with retries follows the server to a new port via the name server", async () => {
  const restore = quiet();
  const ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const nsPort = (ns.daemon.addr as Deno.NetAddr).port;
  const register = ["--no-ns", "--register", "fault.thing", "--nsport", String(nsPort)];
  const first = await startServerProcess(register);
  let second: Awaited<ReturnType<typeof startServerProcess>> | undefined;
  const previousHost = config.NS_HOST;
  const previousPort = config.NS_PORT;
  config.NS_HOST = "127.0.0.1";
  config.NS_PORT = nsPort;
  const thing = createProxy<Thing>("PYRONAME:fault.thing", { maxRetries: 3 });
  try {
    assert.equal(await thing.echo("one"), "one");
    await first.kill();
    second = await startServerProcess(register);
    assert.notEqual(second.daemonPort, first.daemonPort);
    assert.equal(await thing.echo("two"), "two");
    assert.equal(thing._pyroUri.toString(), "PYRONAME:fault.thing");
  } finally {
    config.NS_HOST = previousHost;
    config.NS_PORT = previousPort;
    await thing._pyroRelease();
    await first.kill();
    await second?.stop();
    await ns.close();
    restore();
  }
});

Deno.test("A client dying mid-call frees its session instance, streams and connection", async () => {
  const server = await startServerProcess(["--no-ns", "--linger", "0"]);
  const thing = createProxy<Thing>(`PYRO:thing@127.0.0.1:${server.daemonPort}`);
  try {
    const client = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./_dying_client.ts", import.meta.url).pathname,
        String(server.daemonPort),
      ],
      stdout: "piped",
      stderr: "null",
      env: { RUST_BACKTRACE: "0" },
    }).spawn();
    const reader = client.stdout.getReader();
    let text = "";
    while (!text.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    assert.match(text, /ready/);
    const during = await thing.stats() as Stats;
    assert.ok(during.liveSessions >= 1 && during.openStreams >= 1, JSON.stringify(during));
    client.kill("SIGKILL");
    await client.status;
    await client.stdout.cancel().catch(() => {});
    // The daemon lets the dead client's running call finish (as Pyro5 does), then frees the
    // connection's session instance and (with linger 0) its item streams.
    let last: Stats | undefined;
    const freed = await eventually(async () => {
      last = await thing.stats() as Stats;
      return last.connections === 1 && last.openStreams === 0 && last.liveSessions === 0;
    });
    assert.ok(freed, `not freed: ${JSON.stringify(last)}`);
  } finally {
    await thing._pyroRelease();
    await server.stop();
  }
});

@expose
class Echo {
  calls = 0;
  echo(x: unknown): unknown {
    this.calls++;
    return x;
  }
}

Deno.test("A client that half-closes after its requests still gets every reply, then EOF", async () => {
  const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  daemon.register(new Echo(), "thing");
  try {
    const client = await RawClient.connected(daemon.addr, "thing");
    for (let i = 0; i < 5; i++) await client.send("thing", "echo", [i]);
    await client.tcp.closeWrite();
    const got = [];
    for (let i = 0; i < 5; i++) got.push((await client.reply()).value);
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    assert.equal(await client.conn.receive(), null);
    client.close();
  } finally {
    await daemon.close();
  }
});

Deno.test("A client that half-closes in the middle of a frame is dropped, others go on", async () => {
  const restore = quiet();
  const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  daemon.register(new Echo(), "thing");
  try {
    const bystander = await RawClient.connected(daemon.addr, "thing");
    const client = await RawClient.connected(daemon.addr, "thing");
    const frame = encodeMessage({
      type: MessageType.INVOKE,
      serializerId: 4,
      seq: 1,
      data: getSerializer(4).dumpsCall({
        object: "thing",
        method: "echo",
        params: [1],
        kwargs: {},
      }),
    });
    await client.sendRaw(frame.subarray(0, 45));
    await client.tcp.closeWrite();
    assert.ok(await client.closedByPeer());
    client.close();
    assert.equal((await bystander.call("thing", "echo", ["still here"])).value, "still here");
    bystander.close();
  } finally {
    await daemon.close();
    restore();
  }
});

Deno.test("A peer that never reads does not make the daemon buffer without bound", async () => {
  const server = await startServerProcess(["--no-ns"]);
  const thing = createProxy<Thing>(`PYRO:thing@127.0.0.1:${server.daemonPort}`);
  try {
    const before = await thing.stats() as Stats;
    const raw = await RawClient.open({
      transport: "tcp",
      hostname: "127.0.0.1",
      port: server.daemonPort,
    });
    await raw.handshake("thing");
    // 2000 calls of 256 KiB results = 500 MiB if the daemon buffered them all. The client never
    // reads; the daemon stops reading at maxCallsInFlight (100), so the writes below stall
    // once the kernel buffers are full. Send what fits within a bounded time.
    const deadline = AbortSignal.timeout(3000);
    let sent = 0;
    const sending = (async () => {
      for (; sent < 2000 && !deadline.aborted; sent++) await raw.send("thing", "big", [256 * 1024]);
    })();
    await Promise.race([
      sending,
      new Promise((resolve) => deadline.addEventListener("abort", resolve)),
    ]);
    const during = await thing.stats() as Stats;
    const held = during.rss - before.rss;
    console.log(`never-reading peer: ${sent} calls sent, rss +${(held / 1048576).toFixed(1)} MiB`);
    assert.ok(held < 200 * 1024 * 1024, `server rss grew by ${held} bytes`);
    raw.close();
    await sending.catch(() => {});
  } finally {
    await thing._pyroRelease();
    await server.stop();
  }
});

Deno.test("A server that half-closes in the middle of a reply fails the call, no hang", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    const mc = new MessageConnection(conn);
    const connect = await mc.receive();
    await mc.send(encodeMessage({
      type: MessageType.CONNECTOK,
      serializerId: connect!.serializerId,
      seq: connect!.seq,
      data: getSerializer(connect!.serializerId).dumps({
        handshake: "hello",
        meta: { methods: ["echo"], oneway: [], attrs: [] },
      }),
    }));
    const invoke = await mc.receive();
    const reply = encodeMessage({
      type: MessageType.RESULT,
      serializerId: invoke!.serializerId,
      seq: invoke!.seq,
      data: getSerializer(invoke!.serializerId).dumps("a reply that never ends"),
    });
    await conn.write(reply.subarray(0, reply.length - 5));
    await conn.closeWrite();
    await mc.receive().catch(() => null); // until the proxy closes
    mc.close();
  })();
  const proxy = createProxy<Thing>(`PYRO:thing@127.0.0.1:${listener.addr.port}`);
  await assert.rejects(proxy.echo(1), ConnectionClosedError);
  await proxy._pyroRelease();
  await serving;
});
