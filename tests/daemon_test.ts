/**
 * Daemon behaviour over real sockets, with hand-made frames: handshake paths, PING, calls,
 * attributes, oneway, batch, item streams, instance modes, hooks, annotations, correlation
 * ids, limits, bad clients and shutting down.
 */

import assert from "node:assert/strict";
import { ExceptionWrapper } from "../class_registry.ts";
import { currentContext } from "../context.ts";
import { Daemon, type DaemonOptions } from "../daemon.ts";
import { CommunicationError, DaemonError, RemoteError, SecurityError } from "../errors.ts";
import { behavior, expose, isKwargs, oneway } from "../expose.ts";
import {
  correlationIdFromString,
  correlationIdToString,
  encodeMessage,
  Flags,
  MessageType,
} from "../_wire/protocol.ts";
import { URI } from "../uri.ts";
import { captureLog, deferred, RawClient } from "./_raw_client.ts";
import { decode as decodeMsgpack } from "npm:@msgpack/msgpack@^3";

const encoder = new TextEncoder();

@expose
class Service {
  #value = 1;
  calls = 0;
  events: string[] = [];
  echo(x: unknown): unknown {
    this.calls++;
    return x;
  }
  async slowEcho(x: unknown, gate: Promise<void>): Promise<unknown> {
    await gate;
    return x;
  }
  args(...all: unknown[]): unknown[] {
    return all.map((a) => isKwargs(a) ? { kwargs: { ...a } } : a);
  }
  fail(): never {
    throw new RangeError("out of range");
  }
  unserializable(): unknown {
    return () => "a function";
  }
  nested(): never {
    throw new CommunicationError("a nested proxy call failed");
  }
  annotate(): string {
    const ctx = currentContext()!;
    ctx.responseAnnotations.set("RSP1", encoder.encode("from method"));
    return ctx.correlationId;
  }
  context(): Record<string, unknown> {
    const ctx = currentContext()!;
    return {
      client: ctx.clientAddress,
      seq: ctx.seq,
      flags: ctx.flags,
      serializer: ctx.serializerId,
      connection: ctx.connection.id,
    };
  }
  @oneway
  record(event: string): void {
    this.events.push(event);
  }
  get value(): number {
    return this.#value;
  }
  set value(v: number) {
    this.#value = v;
  }
  get readOnly(): string {
    return "fixed";
  }
}

function startDaemon(options: DaemonOptions = {}): Daemon {
  return new Daemon({ host: "127.0.0.1", port: 0, ...options });
}

Deno.test("Daemon accepts a CONNECT and answers CONNECTOK with the object's metadata", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  for (const serializerId of [3, 4]) {
    using client = await RawClient.open(daemon.addr, serializerId);
    const { msg, value } = await client.handshake("thing", "hello", { seq: 7 });
    assert.equal(msg.type, MessageType.CONNECTOK);
    assert.equal(msg.seq, 7);
    assert.equal(msg.serializerId, serializerId);
    const v = value as {
      handshake: string;
      meta: { methods: string[]; oneway: string[]; attrs: string[] };
    };
    assert.equal(v.handshake, "hello");
    assert.deepEqual(v.meta.oneway, ["record"]);
    assert.deepEqual(new Set(v.meta.attrs), new Set(["value", "readOnly"]));
    assert.ok(v.meta.methods.includes("echo") && v.meta.methods.includes("record"));
    assert.ok(!v.meta.methods.includes("constructor"));
  }
});

Deno.test("Daemon refuses a CONNECT for an unknown object and closes the connection", async () => {
  await using daemon = startDaemon();
  using client = await RawClient.open(daemon.addr, 3);
  const { msg, value } = await client.handshake("nosuch", "hello", { seq: 3 });
  assert.equal(msg.type, MessageType.CONNECTFAIL);
  assert.equal(msg.seq, 3);
  assert.equal(msg.serializerId, 3);
  assert.equal(value, "unknown object");
  assert.ok(await client.closedByPeer());
});

Deno.test("Daemon answers a first frame that is not CONNECT with a marshal CONNECTFAIL", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using client = await RawClient.open(daemon.addr);
  await client.send("thing", "echo", [1], {}, { seq: 5 });
  const { msg } = await client.reply();
  assert.equal(msg.type, MessageType.CONNECTFAIL);
  assert.equal(msg.serializerId, 2);
  assert.equal(msg.seq, 0);
  const text = "invalid msg type 4 received (expected: 1)";
  assert.deepEqual([...msg.data], [0xfa, text.length, ...encoder.encode(text)]);
  assert.ok(await client.closedByPeer());
});

Deno.test("Daemon answers a PING before the handshake with a marshal CONNECTFAIL", async () => {
  await using daemon = startDaemon();
  using client = await RawClient.open(daemon.addr);
  await client.sendRaw(encodeMessage({ type: MessageType.PING, serializerId: 4, seq: 2 }));
  const { msg } = await client.reply();
  assert.equal(msg.type, MessageType.CONNECTFAIL);
  assert.equal(msg.serializerId, 2);
  assert.ok(await client.closedByPeer());
});

Deno.test("Daemon answers garbage instead of a CONNECT with CONNECTFAIL 'invalid data'", async () => {
  await using daemon = startDaemon();
  using client = await RawClient.open(daemon.addr);
  await client.sendRaw(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const { msg } = await client.reply();
  assert.equal(msg.type, MessageType.CONNECTFAIL);
  assert.equal(new TextDecoder().decode(msg.data.subarray(2)), "invalid data");
  assert.ok(await client.closedByPeer());
});

Deno.test("Daemon closes without a reply a CONNECT with an unknown serializer id", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using client = await RawClient.open(daemon.addr);
  await client.sendRaw(encodeMessage({ type: MessageType.CONNECT, serializerId: 99, seq: 0 }));
  assert.equal(await client.conn.receive(), null);
});

Deno.test("Daemon answers an undecodable CONNECT payload with CONNECTFAIL and its message", async () => {
  await using daemon = startDaemon();
  using client = await RawClient.open(daemon.addr, 3);
  await client.sendRaw(
    encodeMessage({
      type: MessageType.CONNECT,
      serializerId: 3,
      seq: 4,
      data: encoder.encode("{bad"),
    }),
  );
  const { msg, value } = await client.reply();
  assert.equal(msg.type, MessageType.CONNECTFAIL);
  assert.equal(msg.seq, 4);
  assert.equal(typeof value, "string");
  assert.ok(await client.closedByPeer());
});

Deno.test("Daemon answers PING after the handshake with pong and the PING's serializer byte", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using client = await RawClient.connected(daemon.addr);
  await client.sendRaw(
    encodeMessage({
      type: MessageType.PING,
      serializerId: 42,
      seq: 9,
      data: encoder.encode("ping"),
    }),
  );
  const { msg } = await client.reply();
  assert.equal(msg.type, MessageType.PING);
  assert.equal(msg.serializerId, 42);
  assert.equal(msg.seq, 9);
  assert.equal(new TextDecoder().decode(msg.data), "pong");
  assert.equal((await client.call("thing", "echo", ["still here"])).value, "still here");
});

Deno.test("Daemon calls exposed methods with positional arguments and a kwargs object", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using client = await RawClient.connected(daemon.addr);
  assert.deepEqual((await client.call("thing", "args", [1, "two"], {})).value, [1, "two"]);
  assert.deepEqual((await client.call("thing", "args", [1], null)).value, [1]);
  assert.deepEqual(
    (await client.call("thing", "args", [1], { b: 2, c: [3] })).value,
    [1, { kwargs: { b: 2, c: [3] } }],
  );
});

Deno.test("Daemon sends a method's error as an exception reply and keeps the connection", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using client = await RawClient.connected(daemon.addr);
  const { msg, value } = await client.call("thing", "fail");
  assert.equal(msg.flags & Flags.EXCEPTION, Flags.EXCEPTION);
  assert.ok(value instanceof RemoteError);
  assert.equal(value.remoteClass, "builtins.ValueError");
  assert.equal(value.message, "out of range");
  assert.ok(value.remoteTraceback && value.remoteTraceback.length > 0);
  const unknown = await client.call("nosuch", "echo", [1]);
  assert.ok(unknown.value instanceof DaemonError);
  assert.equal(unknown.value.message, "unknown object");
  assert.equal((await client.call("thing", "echo", [2])).value, 2);
});

Deno.test("Daemon reads and writes exposed accessors as remote attributes", async () => {
  await using daemon = startDaemon();
  const service = new Service();
  daemon.register(service, "thing");
  using client = await RawClient.connected(daemon.addr, "thing", 3);
  assert.equal((await client.call("thing", "__getattr__", ["value"], null)).value, 1);
  assert.equal((await client.call("thing", "__setattr__", ["value", 5], null)).value, null);
  assert.equal(service.value, 5);
  assert.equal((await client.call("thing", "__getattr__", ["readOnly"], null)).value, "fixed");
  const noSetter = await client.call("thing", "__setattr__", ["readOnly", "x"], null);
  assert.equal((noSetter.value as RemoteError).remoteClass, "builtins.AttributeError");
  const method = await client.call("thing", "__getattr__", ["echo"], null);
  assert.equal(
    (method.value as RemoteError).message,
    "attempt to access unexposed or unknown remote attribute 'echo'",
  );
  const plainField = await client.call("thing", "__getattr__", ["calls"], null);
  assert.equal((plainField.value as RemoteError).remoteClass, "builtins.AttributeError");
});

Deno.test("Daemon runs oneway calls without replying, even when they fail", async () => {
  await using daemon = startDaemon();
  const service = new Service();
  daemon.register(service, "thing");
  using client = await RawClient.connected(daemon.addr);
  await client.oneway("thing", "record", ["first"]);
  await client.oneway("thing", "fail");
  await client.oneway("thing", "nosuch");
  const seq = await client.send("thing", "echo", ["after"]);
  const { msg, value } = await client.reply();
  assert.equal(msg.seq, seq);
  assert.equal(value, "after");
  assert.deepEqual(service.events, ["first"]);
});

Deno.test("Daemon runs a batch in order and stops at the first error", async () => {
  await using daemon = startDaemon();
  const service = new Service();
  daemon.register(service, "thing");
  using client = await RawClient.connected(daemon.addr, "thing", 3);
  const calls = [["echo", [1], {}], ["args", [2], { k: 3 }], ["fail", [], {}], ["echo", [4], {}]];
  const { msg, value } = await client.call("thing", "<batch>", calls, null, { flags: Flags.BATCH });
  assert.equal(msg.flags & (Flags.BATCH | Flags.EXCEPTION), Flags.BATCH);
  const results = value as unknown[];
  assert.equal(results.length, 3);
  assert.deepEqual(results.slice(0, 2), [1, [2, { kwargs: { k: 3 } }]]);
  assert.ok(results[2] instanceof ExceptionWrapper);
  assert.equal((results[2].error as RemoteError).remoteClass, "builtins.ValueError");
  assert.equal(service.calls, 1);
  const empty = await client.call("thing", "<batch>", [], null, { flags: Flags.BATCH });
  assert.deepEqual(empty.value, []);
});

Deno.test("Daemon fails a whole batch when a method name does not resolve", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using client = await RawClient.connected(daemon.addr);
  const calls = [["echo", [1], {}], ["_secret", [], {}]];
  const { msg, value } = await client.call("thing", "<batch>", calls, null, { flags: Flags.BATCH });
  assert.equal(msg.flags & (Flags.BATCH | Flags.EXCEPTION), Flags.EXCEPTION);
  assert.equal((value as RemoteError).message, "attempt to access private attribute '_secret'");
  await client.send("thing", "<batch>", [["record", ["batched"], {}]], null, {
    flags: Flags.BATCH | Flags.ONEWAY,
  });
  assert.equal((await client.call("thing", "echo", ["next"])).value, "next");
});

Deno.test("Daemon makes instances per session, per daemon or per call for registered classes", async () => {
  @expose
  @behavior({ instanceMode: "session" })
  class PerSession {
    static made = 0;
    n = ++PerSession.made;
    id(): number {
      return this.n;
    }
  }
  @expose
  @behavior({ instanceMode: "single" })
  class Single {
    static made = 0;
    n = ++Single.made;
    id(): number {
      return this.n;
    }
  }
  @expose
  @behavior({ instanceMode: "percall" })
  class PerCall {
    static made = 0;
    n = ++PerCall.made;
    id(): number {
      return this.n;
    }
  }
  await using daemon = startDaemon();
  daemon.register(PerSession, "session");
  daemon.register(Single, "single");
  daemon.register(PerCall, "percall");
  using a = await RawClient.connected(daemon.addr, "session");
  using b = await RawClient.connected(daemon.addr, "session");
  const ids = async (c: RawClient, obj: string) => [
    (await c.call(obj, "id")).value,
    (await c.call(obj, "id")).value,
  ];
  assert.deepEqual([...await ids(a, "session"), ...await ids(b, "session")], [1, 1, 2, 2]);
  assert.deepEqual([...await ids(a, "single"), ...await ids(b, "single")], [1, 1, 1, 1]);
  assert.deepEqual([...await ids(a, "percall"), ...await ids(b, "percall")], [1, 2, 3, 4]);
});

Deno.test("Daemon uses an instance creator and refuses instances of another class", async () => {
  @expose
  @behavior({
    instanceMode: "single",
    instanceCreator: (cls) => Promise.resolve(new (cls as typeof Made)("made")),
  })
  class Made {
    constructor(readonly label: string) {}
    label_(): string {
      return this.label;
    }
    what(): string {
      return this.label;
    }
  }
  @expose
  @behavior({ instanceCreator: () => ({ not: "an instance" }) as unknown as Wrong })
  class Wrong {
    what(): string {
      return "never";
    }
  }
  await using daemon = startDaemon();
  daemon.register(Made, "made");
  daemon.register(Wrong, "wrong");
  using client = await RawClient.connected(daemon.addr, "made");
  assert.equal((await client.call("made", "what")).value, "made");
  const refused = await client.call("wrong", "what");
  assert.equal((refused.value as RemoteError).remoteClass, "builtins.TypeError");
});

Deno.test("Daemon's handshake hook can answer with data or refuse with CONNECTFAIL", async () => {
  const seen: unknown[] = [];
  await using daemon = startDaemon({
    validateHandshake: (data, ctx) => {
      seen.push(ctx.clientAddress?.startsWith("127.0.0.1:"));
      if ((data as { token?: string }).token !== "ok") throw new Error("bad token");
      return { welcome: true };
    },
  });
  daemon.register(new Service(), "thing");
  using good = await RawClient.open(daemon.addr, 3);
  const ok = await good.handshake("thing", { token: "ok" });
  assert.equal(ok.msg.type, MessageType.CONNECTOK);
  assert.deepEqual((ok.value as { handshake: unknown }).handshake, { welcome: true });
  using bad = await RawClient.open(daemon.addr, 3);
  const refused = await bad.handshake("thing", { token: "no" });
  assert.equal(refused.msg.type, MessageType.CONNECTFAIL);
  assert.equal(refused.value, "bad token");
  assert.ok(await bad.closedByPeer());
  assert.deepEqual(seen, [true, true]);
});

Deno.test("Daemon adds its annotations and the method's response annotations to replies", async () => {
  await using daemon = startDaemon({ annotations: () => ({ DMON: encoder.encode("d") }) });
  daemon.register(new Service(), "thing");
  using client = await RawClient.open(daemon.addr);
  const hello = await client.handshake("thing");
  assert.deepEqual([...hello.msg.annotations.keys()], ["DMON"]);
  const { msg } = await client.call("thing", "annotate");
  assert.deepEqual([...msg.annotations.keys()], ["RSP1", "DMON"]);
  assert.equal(new TextDecoder().decode(msg.annotations.get("RSP1")), "from method");
  const plain = await client.call("thing", "echo", [1]);
  assert.deepEqual([...plain.msg.annotations.keys()], ["DMON"]);
  await client.sendRaw(encodeMessage({ type: MessageType.PING, serializerId: 4, seq: 1 }));
  assert.deepEqual([...(await client.reply()).msg.annotations.keys()], ["DMON"]);
});

Deno.test("Daemon passes the correlation id to the call and echoes it on the reply", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using client = await RawClient.connected(daemon.addr);
  const id = correlationIdFromString("11112222-3333-4444-5555-666677778888");
  const { msg, value } = await client.call("thing", "annotate", [], {}, { correlationId: id });
  assert.equal(value, "11112222-3333-4444-5555-666677778888");
  assert.equal(correlationIdToString(msg.correlationId!), value);
  const random = await client.call("thing", "annotate");
  assert.equal(correlationIdToString(random.msg.correlationId!), random.value);
  // A reply whose id nobody asked for still carries a fresh random (version 4) one.
  const first = await client.call("thing", "echo", [1]);
  const second = await client.call("thing", "echo", [2]);
  const a = correlationIdToString(first.msg.correlationId!);
  const b = correlationIdToString(second.msg.correlationId!);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, b);
});

Deno.test("Daemon answers CONNECT with fresh version 4 correlation ids, with and without annotations", async () => {
  const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  for (const annotations of [undefined, () => ({ DMON: encoder.encode("d") })]) {
    await using daemon = startDaemon(annotations === undefined ? {} : { annotations });
    daemon.register(new Service(), "thing");
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      using client = await RawClient.open(daemon.addr);
      const { msg } = await client.handshake("thing");
      assert.equal(msg.type, MessageType.CONNECTOK);
      ids.push(correlationIdToString(msg.correlationId!));
    }
    for (const id of ids) assert.match(id, v4);
    assert.notEqual(ids[0], ids[1]);
  }
});

Deno.test("Daemon gives calls a context with the client, seq, flags and serializer", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using client = await RawClient.connected(daemon.addr);
  const { value } = await client.call("thing", "context", [], {}, { seq: 33 });
  const ctx = value as Record<string, unknown>;
  assert.match(String(ctx.client), /^127\.0\.0\.1:\d+$/);
  assert.equal(ctx.seq, 33);
  assert.equal(ctx.flags, 0);
  assert.equal(ctx.serializer, 4);
  assert.equal(typeof ctx.connection, "number");
  assert.equal(currentContext(), undefined);
});

Deno.test("Daemon answers each pipelined call as soon as it finishes, matched by seq", async () => {
  const gate = deferred();
  const service = expose({
    wait: async (x: unknown) => {
      await gate.promise;
      return x;
    },
    now: (x: unknown) => x,
  });
  await using daemon = startDaemon();
  daemon.register(service, "thing");
  using client = await RawClient.connected(daemon.addr);
  const first = await client.send("thing", "wait", ["slow"]);
  const second = await client.send("thing", "now", ["fast"]);
  const third = await client.send("thing", "now", ["fast too"]);
  // The fast calls are answered while the slow one still waits (the gate opens only after).
  const fast = [await client.reply(), await client.reply()];
  gate.resolve();
  const slow = await client.reply();
  assert.deepEqual(fast.map((r) => [r.msg.seq, r.value]), [[second, "fast"], [third, "fast too"]]);
  assert.deepEqual([slow.msg.seq, slow.value], [first, "slow"]);
});

Deno.test("Daemon replies with SerializeError and closes when a result cannot be serialized", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using client = await RawClient.connected(daemon.addr);
  await client.send("thing", "unserializable");
  await client.send("thing", "echo", ["never answered"]);
  const { msg, value } = await client.reply();
  assert.equal(msg.flags & Flags.EXCEPTION, Flags.EXCEPTION);
  assert.equal((value as Error).name, "SerializeError");
  assert.equal(await client.conn.receive(), null);
});

Deno.test("Daemon closes without a reply when a call fails with a communication error", async () => {
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using client = await RawClient.connected(daemon.addr);
  await client.send("thing", "nested");
  assert.equal(await client.conn.receive(), null);
});

Deno.test("Daemon at maxConnections closes the idle connection to admit a newcomer", async () => {
  using log = captureLog();
  await using daemon = startDaemon({ maxConnections: 1 });
  daemon.register(new Service(), "thing");
  using first = await RawClient.connected(daemon.addr);
  using second = await RawClient.connected(daemon.addr);
  assert.ok(await first.closedByPeer());
  assert.equal((await second.call("thing", "echo", [1])).value, 1);
  assert.ok(log.lines.some((l) => l.includes("connection limit (1) reached")));
});

Deno.test("Daemon closes connections that stay idle longer than idleTimeout", async () => {
  await using daemon = startDaemon({ idleTimeout: 30 });
  daemon.register(new Service(), "thing");
  using client = await RawClient.connected(daemon.addr);
  assert.equal(await client.conn.receive(), null);
});

Deno.test("Daemon drops a client that sends garbage and keeps serving the others", async () => {
  using log = captureLog();
  await using daemon = startDaemon();
  daemon.register(new Service(), "thing");
  using good = await RawClient.connected(daemon.addr);
  using bad = await RawClient.connected(daemon.addr);
  await bad.sendRaw(new Uint8Array(64).fill(0x41));
  assert.ok(await bad.closedByPeer());
  using unexpected = await RawClient.connected(daemon.addr);
  await unexpected.sendRaw(encodeMessage({ type: MessageType.CONNECTOK, serializerId: 4, seq: 1 }));
  assert.ok(await unexpected.closedByPeer());
  using tooLarge = await RawClient.connected(daemon.addr);
  const header = encodeMessage({ type: MessageType.INVOKE, serializerId: 4, seq: 1 });
  new DataView(header.buffer).setUint32(12, 0xfffffff0);
  await tooLarge.sendRaw(header);
  assert.ok(await tooLarge.closedByPeer());
  assert.equal((await good.call("thing", "echo", ["fine"])).value, "fine");
  assert.ok(
    log.lines.some((l) => l.startsWith("WARNING daemon: closing connection from 127.0.0.1:")),
  );
  assert.ok(log.lines.some((l) => l.includes("message too large")));
  assert.ok(log.lines.some((l) => l.includes("unexpected message type 2")));
});

Deno.test("Daemon close() lets calls in flight answer, then closes connections", async () => {
  const gate = deferred();
  const started = deferred();
  const service = expose({
    wait: async () => {
      started.resolve();
      await gate.promise;
      return "finished";
    },
  });
  const daemon = startDaemon();
  daemon.register(service, "thing");
  using client = await RawClient.connected(daemon.addr);
  await client.send("thing", "wait");
  await started.promise;
  const closing = daemon.close();
  gate.resolve();
  assert.equal((await client.reply()).value, "finished");
  assert.ok(await client.closedByPeer());
  await closing;
  await daemon.closed;
  await daemon.close();
});

Deno.test("Daemon close() gives up on calls that do not finish within closeTimeout", async () => {
  const never = deferred();
  const started = deferred();
  const daemon = startDaemon({ closeTimeout: 20 });
  daemon.register(
    expose({
      hang: () => {
        started.resolve();
        return never.promise;
      },
    }),
    "thing",
  );
  using client = await RawClient.connected(daemon.addr);
  await client.send("thing", "hang");
  await started.promise;
  await daemon.close();
  assert.ok(await client.closedByPeer());
  never.resolve();
});

Deno.test("Daemon closes when its AbortSignal is aborted", async () => {
  const controller = new AbortController();
  const daemon = startDaemon({ signal: controller.signal });
  controller.abort();
  await daemon.closed;
  await assert.rejects(() =>
    Deno.connect({ hostname: "127.0.0.1", port: (daemon.addr as Deno.NetAddr).port })
  );
});

Deno.test("Daemon serves on a Unix domain socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/pyro.sock`;
  try {
    await using daemon = new Daemon({ unixSocket: path });
    const uri = daemon.register(new Service(), "thing");
    assert.equal(uri.toString(), `PYRO:thing@./u:${path}`);
    assert.equal(daemon.locationStr, `./u:${path}`);
    using client = await RawClient.connected(daemon.addr);
    assert.equal((await client.call("thing", "echo", ["unix"])).value, "unix");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Daemon binds to IPv6 loopback and writes the address in brackets", async (t) => {
  let daemon: Daemon;
  try {
    daemon = new Daemon({ host: "::1", port: 0 });
  } catch {
    await t.step({ name: "IPv6 is not available here", ignore: true, fn: () => {} });
    return;
  }
  await using _ = daemon;
  const uri = daemon.register(new Service(), "thing");
  assert.match(uri.toString(), /^PYRO:thing@\[::1\]:\d+$/);
  using tcp = await Deno.connect({ hostname: "::1", port: (daemon.addr as Deno.NetAddr).port });
  tcp.close();
});

Deno.test("Daemon registers, names and unregisters objects and reports them in Pyro.Daemon", async () => {
  await using daemon = startDaemon({ natHost: "nat.example", natPort: 4444 });
  const service = new Service();
  const uri = daemon.register(service);
  assert.match(uri.object, /^obj_[0-9a-f]{32}$/);
  assert.equal(uri.toString(), `PYRO:${uri.object}@nat.example:4444`);
  assert.ok(daemon.uriFor(service).equals(uri));
  assert.equal(daemon.uriFor(service, { nat: false }).location, daemon.locationStr);
  assert.throws(() => daemon.register(service), DaemonError);
  assert.throws(() => daemon.register(new Service(), uri.object), DaemonError);
  assert.throws(() => daemon.uriFor(new Service()), DaemonError);
  assert.deepEqual(daemon.registered, ["Pyro.Daemon", uri.object]);
  using client = await RawClient.connected(daemon.addr, "Pyro.Daemon");
  const info = (await client.call("Pyro.Daemon", "info")).value as string;
  assert.match(
    info,
    /^Pyro\.Daemon bound on 127\.0\.0\.1:\d+, NAT nat\.example:4444, 2 objects registered\. Servertype: /,
  );
  assert.deepEqual((await client.call("Pyro.Daemon", "registered")).value, [
    "Pyro.Daemon",
    uri.object,
  ]);
  assert.equal((await client.call("Pyro.Daemon", "ping")).value, null);
  const meta = await client.call("Pyro.Daemon", "get_metadata", [uri.object]);
  assert.deepEqual((meta.value as { oneway: string[] }).oneway, ["record"]);
  const missing = await client.call("Pyro.Daemon", "get_metadata", ["nosuch"]);
  assert.equal((missing.value as Error).message, "unknown object");
  assert.equal(daemon.unregister(service), true);
  assert.equal(daemon.unregister(uri.object), false);
  assert.equal(daemon.unregister("Pyro.Daemon"), false);
  assert.deepEqual(daemon.registered, ["Pyro.Daemon"]);
});

Deno.test("Daemon hands out registered objects and class instances as proxy maps", async () => {
  @expose
  class Child {
    hi(): string {
      return "hi";
    }
  }
  const child = new Child();
  await using daemon = startDaemon();
  const childUri = daemon.register(child, "child");
  daemon.register(expose({ getChild: () => child, self: () => undefined }), "parent");
  daemon.register(Child, "perSession");
  using client = await RawClient.connected(daemon.addr, "parent", 3);
  const { msg } = await client.call("parent", "getChild");
  assert.deepEqual(JSON.parse(new TextDecoder().decode(msg.data)), {
    __class__: "Pyro5.client.Proxy",
    state: [childUri.toString(), [], ["hi"], [], "hello", "json"],
  });
  assert.ok(URI.fromState(new URI(childUri.toString()).toState()).equals(childUri));
});

Deno.test("Daemon hands out instances it made for a registered class as proxies for that class", async () => {
  @expose
  class Session {
    me(): this {
      return this;
    }
  }
  await using daemon = startDaemon();
  const uri = daemon.register(Session, "session");
  using client = await RawClient.connected(daemon.addr, "session");
  const { msg } = await client.call("session", "me");
  assert.deepEqual(decodeMsgpack(msg.data), {
    __class__: "Pyro5.client.Proxy",
    state: [uri.toString(), [], ["me"], [], "hello", "msgpack"],
  });
});

Deno.test("Daemon replies and then closes when a call raises SecurityError", async () => {
  await using daemon = startDaemon();
  daemon.register(
    expose({
      refuse: () => {
        throw new SecurityError("not allowed");
      },
    }),
    "thing",
  );
  using client = await RawClient.connected(daemon.addr);
  const { value } = await client.call("thing", "refuse");
  assert.ok(value instanceof SecurityError);
  assert.ok(await client.closedByPeer());
});

Deno.test("Daemon drops the connection when a reply exceeds maxMessageSize", async () => {
  await using daemon = startDaemon({ maxMessageSize: 1000 });
  daemon.register(expose({ text: (n: number) => "x".repeat(n) }), "thing");
  using client = await RawClient.connected(daemon.addr);
  assert.equal((await client.call("thing", "text", [5])).value, "xxxxx");
  await client.send("thing", "text", [2000]);
  assert.equal(await client.conn.receive(), null);
});

Deno.test("Daemon keeps answering in order when maxCallsInFlight pauses reading", async () => {
  await using daemon = startDaemon({ maxCallsInFlight: 1 });
  daemon.register(new Service(), "thing");
  using client = await RawClient.connected(daemon.addr);
  const seqs = [];
  for (let i = 0; i < 20; i++) seqs.push(await client.send("thing", "echo", [i]));
  for (let i = 0; i < 20; i++) {
    const { msg, value } = await client.reply();
    assert.equal(msg.seq, seqs[i]);
    assert.equal(value, i);
  }
});
