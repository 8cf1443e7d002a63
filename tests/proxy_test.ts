/**
 * Our proxy against a scripted peer that plays the recorded Python Pyro5 daemon frames of
 * ../shared/interop/transcripts (json and msgpack daemon scenarios). For each file the peer
 * checks every frame our proxy sends against the recorded client frame (type, serializer,
 * seq, flags, correlation id, annotations, payload) and answers with the recorded server
 * bytes (seq and port patched where ours differ), while the test performs the file's
 * `client_calls` through our proxy and checks the results and errors.
 *
 * PING frames are left out: Python sent them with protocol helpers, not through its proxy.
 * Scripted peers for failure cases are in proxy_peer_test.ts.
 */

import assert from "node:assert/strict";
import { config } from "../config.ts";
import { CommunicationError, DaemonError, PyroError, RemoteError } from "../errors.ts";
import { correlationIdToString, decodeMessage, MessageType } from "../_wire/protocol.ts";
import {
  createBatch,
  createProxy,
  isProxy,
  kwargs,
  type Proxy,
  type ProxyOptions,
  RemoteStream,
} from "../proxy.ts";
import { FrameReader, type Thing } from "./_proxy_peer.ts";
import { getSerializer, hasSerializer } from "../serializer.ts";
import { fromHex as hexToBytes, toHex as bytesToHex } from "./_hex.ts";

const DIR = new URL("../../shared/interop/transcripts/", import.meta.url);

interface RecordedFrame {
  conn: number;
  dir: "c2s" | "s2c";
  hex: string;
  decoded: {
    type: number;
    serializer: number;
    flags: number;
    seq: number;
    corr_id: string | null;
    annotations: Record<string, string>;
    payload: unknown;
  };
}

interface Transcript {
  scenario: string;
  serializer: string;
  connections: number;
  ports: { client_connected_to: number };
  frames: RecordedFrame[];
}

/** Turns the corpus' tagged JSON into our value model (serpent: sets and the NaN map too). */
function fromTags(value: unknown, serpent = false): unknown {
  if (Array.isArray(value)) return value.map((v) => fromTags(v, serpent));
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (serpent && record.__class__ === "float" && keys.length === 2) return Number(record.value);
  if (serpent && record.encoding === "base64" && keys.length === 2) {
    return Uint8Array.from(atob(record.data as string), (c) => c.charCodeAt(0));
  }
  if (keys.length === 1 && keys[0]!.startsWith("$")) {
    const tag = keys[0]!;
    const inner = record[tag];
    switch (tag) {
      case "$bigint":
        return BigInt(inner as string);
      case "$float":
        return Number(inner);
      case "$bytes":
        return hexToBytes(inner as string);
      case "$tuple":
        return (inner as unknown[]).map((v) => fromTags(v, serpent));
      case "$set": {
        const items = (inner as unknown[]).map((v) => fromTags(v, serpent));
        return serpent ? new Set(items) : items;
      }
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = fromTags(record[k], serpent);
  return out;
}

function portPatched(bytes: Uint8Array, from: number, to: number): Uint8Array {
  const a = new TextEncoder().encode(String(from));
  const b = new TextEncoder().encode(String(to));
  assert.equal(a.length, b.length, "recorded and test ports must have the same digit count");
  const out = bytes.slice();
  for (let i = 0; i + a.length <= out.length; i++) {
    if (a.every((x, j) => out[i + j] === x)) out.set(b, i);
  }
  return out;
}

/** Plays the recorded daemon side on one accepted connection; returns the problems found. */
async function playConnection(
  conn: Deno.Conn,
  frames: RecordedFrame[],
  recordedPort: number,
  port: number,
): Promise<string[]> {
  const problems: string[] = [];
  const reader = new FrameReader(conn);
  let lastSeq = 0;
  try {
    for (const [index, f] of frames.entries()) {
      const where = `frame ${index} (${f.dir} type ${f.decoded.type} seq ${f.decoded.seq})`;
      if (f.dir === "c2s") {
        const frame = await reader.next();
        if (frame === null) {
          problems.push(`${where}: the proxy closed instead of sending it`);
          return problems;
        }
        const rawFlags = new DataView(frame.buffer).getUint16(8);
        const msg = decodeMessage(frame);
        lastSeq = msg.seq;
        const d = f.decoded;
        try {
          assert.equal(msg.type, d.type, "type");
          assert.equal(msg.serializerId, d.serializer, "serializer");
          assert.equal(msg.seq, d.seq, "seq");
          assert.equal(rawFlags, d.flags, "flags");
          assert.equal(
            msg.correlationId ? correlationIdToString(msg.correlationId) : null,
            d.corr_id,
            "correlation id",
          );
          const annotations: Record<string, string> = {};
          for (const [k, v] of msg.annotations) annotations[k] = bytesToHex(v);
          assert.deepEqual(annotations, d.annotations, "annotations");
          const payload = getSerializer(msg.serializerId).loads(msg.data);
          assert.deepEqual(payload, fromTags(d.payload, msg.serializerId === 1), "payload");
        } catch (e) {
          problems.push(`${where}: ${(e as Error).message}`);
        }
      } else {
        let bytes = hexToBytes(f.hex);
        if (f.decoded.type !== MessageType.PING) {
          new DataView(bytes.buffer).setUint16(10, lastSeq);
        }
        bytes = portPatched(bytes, recordedPort, port);
        await conn.write(bytes);
        if (f.decoded.type === MessageType.CONNECTFAIL) return problems;
      }
    }
    const extra = await reader.next();
    if (extra !== null) {
      const msg = decodeMessage(extra);
      problems.push(`unexpected extra frame: type ${msg.type} seq ${msg.seq}`);
    }
    return problems;
  } finally {
    conn.close();
  }
}

interface Ctx {
  serializer: string;
  port: number;
  uri(object?: string): string;
  proxy<T = Thing>(
    options?: ProxyOptions & { object?: string },
  ): Proxy<T>;
  /** The decoded payloads of the recorded RESULT replies, in order. */
  replies: unknown[];
}

type Script = (ctx: Ctx) => Promise<void>;

function isRemote(cls: string, message?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof RemoteError, `expected RemoteError, got ${e}`);
    assert.equal(e.remoteClass, cls);
    if (message !== undefined) assert.equal(e.message, message);
    assert.ok(Array.isArray(e.remoteTraceback), "remote traceback is a list");
    return true;
  };
}

function localRefusal(ctx: Ctx, name: string) {
  return (e: unknown) => {
    assert.ok(e instanceof PyroError);
    assert.equal(
      e.message,
      `remote object '${ctx.uri()}' has no exposed attribute or method '${name}'`,
    );
    return true;
  };
}

const META = {
  methods: [
    "annotated",
    "corr_id",
    "echo",
    "fail_custom",
    "fail_value",
    "fire",
    "fired",
    "gen",
    "get_other",
    "kw",
  ],
  oneway: ["fire"],
  attrs: ["value"],
};

function echoValues(serializer: string): unknown[] {
  const values: unknown[] = [
    42,
    -1,
    2 ** 31,
    2n ** 53n,
    2n ** 64n,
    3.14159,
    1.0,
    NaN,
    Infinity,
    -Infinity,
    "héllo wörld ✓ 😀",
    'quote \' "dq" tab\t nl\n backslash\\',
    "",
  ];
  if (serializer !== "json") values.push(new Uint8Array([0, 1, 0xfe, 0xff]));
  values.push(
    [1, "two", 3.0, null],
    [],
    [1, "a"],
    { name: "x", nested: { list: [1, 2, { deep: true }], empty: {} }, none: null },
    null,
    true,
    false,
    new Set([1, 2, 3]),
    new Set(),
  );
  return values;
}

const scripts: Record<string, Script> = {
  async handshake(ctx) {
    const p = ctx.proxy();
    await p._pyroBind();
    const meta = p._pyroMetadata!;
    assert.deepEqual(
      { methods: [...meta.methods].sort(), oneway: [...meta.oneway], attrs: [...meta.attrs] },
      META,
    );
    await p._pyroRelease();
  },
  async kwargs(ctx) {
    const p = ctx.proxy();
    assert.deepEqual(await p.kw(1), { a: 1, b: 2, extra: {} });
    assert.deepEqual(await p.kw(1, 3), { a: 1, b: 3, extra: {} });
    assert.deepEqual(await p.kw(1, kwargs({ b: 3, c: "x" })), { a: 1, b: 3, extra: { c: "x" } });
    assert.deepEqual(await p.kw(kwargs({ a: "A", b: "B" })), { a: "A", b: "B", extra: {} });
    assert.deepEqual(await p.kw(kwargs({ b: 5, a: 4, z: [1, 2] })), {
      a: 4,
      b: 5,
      extra: { z: [1, 2] },
    });
  },
  async annotations(ctx) {
    const p = ctx.proxy();
    await p._pyroBind();
    const text = (m: ReadonlyMap<string, Uint8Array>) =>
      Object.fromEntries([...m].map(([k, v]) => [k, new TextDecoder().decode(v)]));
    assert.deepEqual(text(p._pyroResponseAnnotations), { SRVR: "demo-daemon" });
    const view = p._pyroWith({
      annotations: { XREQ: "hello from client", EMPT: new Uint8Array(0) },
    });
    assert.deepEqual(await view.annotated(), { EMPT: "", XREQ: "hello from client" });
    assert.deepEqual(text(view._pyroResponseAnnotations), {
      XRSP: "reply-annotation",
      SRVR: "demo-daemon",
    });
    assert.equal(await p.echo(1), 1);
    assert.deepEqual(text(p._pyroResponseAnnotations), { SRVR: "demo-daemon" });
  },
  async attributes(ctx) {
    const p = ctx.proxy<{ value: unknown }>();
    assert.equal(await p._pyroGet("value"), 42);
    await p._pyroSet("value", 123);
    assert.equal(await p._pyroGet("value"), 123);
    await p._pyroSet("value", "text");
    assert.equal(await p._pyroGet("value"), "text");
  },
  async autoproxy(ctx) {
    const p = ctx.proxy();
    const saved = config.SERIALIZER;
    config.SERIALIZER = ctx.serializer; // Python: a null serializer in the map means the default
    let other: Proxy<Thing>;
    try {
      other = await p.get_other() as Proxy<Thing>;
    } finally {
      config.SERIALIZER = saved;
    }
    assert.ok(isProxy(other));
    assert.equal(String(other._pyroUri), ctx.uri("other"));
    assert.equal(await other.add(2, 3), 5);
    assert.equal(await other.name(), "other");
    await other._pyroRelease();
  },
  async batch(ctx) {
    const p = ctx.proxy();
    await p._pyroBind();
    const b = createBatch(p);
    b.echo(1);
    b.kw(5, kwargs({ c: 7 }));
    b.fail_value();
    assert.equal(b.echo(4), 3);
    const settled = await b._pyroRunSettled();
    assert.equal(settled.length, 3);
    assert.deepEqual(settled[0], { status: "fulfilled", value: 1 });
    assert.deepEqual(settled[1], { status: "fulfilled", value: { a: 5, b: 2, extra: { c: 7 } } });
    assert.equal(settled[2]!.status, "rejected");
    isRemote("builtins.ValueError", "invalid value: 42")(
      (settled[2] as PromiseRejectedResult).reason,
    );
    const b2 = p._pyroBatch();
    b2.fire("batched");
    await b2._pyroRunOneway();
    assert.deepEqual(await p.fired(), ["batched"]);
  },
  async compression(ctx) {
    const p = ctx.proxy({ compression: true });
    assert.equal(await p.echo("short"), "short");
    const long = "Pyro5 compression test. ".repeat(10);
    assert.equal(await p.echo(long), long);
    const list = [...Array(40).keys()];
    assert.deepEqual(await p.echo(list), list);
  },
  async connectfail(ctx) {
    const p = ctx.proxy({ object: "nosuch" });
    await assert.rejects(p._pyroBind(), (e: unknown) => {
      assert.ok(e instanceof CommunicationError);
      assert.equal(e.message, `connection to 127.0.0.1:${ctx.port} rejected: unknown object`);
      return true;
    });
  },
  async correlation_id(ctx) {
    const first = "11112222-3333-4444-5555-666677778888";
    const second = "aaaabbbb-cccc-4ddd-8eee-ffff00001111";
    const p = ctx.proxy({ correlationId: first });
    await p._pyroBind();
    assert.equal(await p.corr_id(), first);
    assert.equal(await p._pyroWith({ correlationId: second }).corr_id(), second);
    assert.equal(await p._pyroWith({ correlationId: null }).corr_id(), ctx.replies[2]);
  },
  async custom_handshake(ctx) {
    const p = ctx.proxy({ handshake: { user: "alice", secret: "s3cr3t" } });
    await p._pyroBind();
    assert.deepEqual(p._pyroHandshakeResponse, { welcome: "alice", server: "demo" });
    assert.equal(await p.echo("welcome"), "welcome");
    const p2 = ctx.proxy({ handshake: { user: "mallory", secret: "wrong" } });
    await assert.rejects(p2._pyroBind(), (e: unknown) => {
      assert.ok(e instanceof CommunicationError);
      assert.equal(
        e.message,
        `connection to 127.0.0.1:${ctx.port} rejected: handshake refused: bad secret`,
      );
      return true;
    });
  },
  async daemon_object(ctx) {
    const d = ctx.proxy({ object: "Pyro.Daemon" });
    assert.equal(await d.ping(), null);
    assert.deepEqual(await d.registered(), ["Pyro.Daemon", "thing", "other"]);
    assert.deepEqual(await d.get_metadata("thing"), ctx.replies[2]);
    assert.equal(typeof await d.info(), "string");
    await assert.rejects(d.get_metadata("nosuch"), (e: unknown) => {
      assert.ok(e instanceof DaemonError);
      assert.equal(e.message, "unknown object");
      return true;
    });
    await assert.rejects(d.get_next_stream_item("no-such-stream"), (e: unknown) => {
      assert.ok(e instanceof PyroError);
      assert.equal(e.name, "PyroError");
      assert.equal(e.message, "item stream terminated");
      return true;
    });
  },
  async exceptions(ctx) {
    const p = ctx.proxy();
    await assert.rejects(p.fail_value(), isRemote("builtins.ValueError", "invalid value: 42"));
    await assert.rejects(p.fail_custom(), (e: unknown) => {
      isRemote("demo.CustomError", "custom failure")(e);
      assert.equal((e as RemoteError).attributes.code, 1234);
      return true;
    });
    await assert.rejects(p.echo(), isRemote("builtins.TypeError"));
    assert.equal(await p.echo("still usable"), "still usable");
  },
  async oneway(ctx) {
    const p = ctx.proxy();
    assert.equal(await p.fire("first"), undefined);
    assert.deepEqual(await p.fired(), ["first"]);
    assert.equal(await p.fire("second"), undefined);
    assert.deepEqual(await p.fired(), ["first", "second"]);
  },
  async ping(ctx) {
    const p = ctx.proxy();
    await p._pyroBind();
    assert.equal(await p.echo("after ping"), "after ping");
  },
  async private_method(ctx) {
    const p = ctx.proxy();
    await p._pyroBind();
    await assert.rejects(p.hidden(), localRefusal(ctx, "hidden"));
    await assert.rejects(
      p._pyroCall("_private"),
      isRemote("builtins.AttributeError", "attempt to access private attribute '_private'"),
    );
    await assert.rejects(
      p._pyroCall("hidden"),
      isRemote("builtins.AttributeError", "attempt to access unexposed attribute 'hidden'"),
    );
    await assert.rejects(
      p._pyroCall("__init__"),
      isRemote("builtins.AttributeError", "attempt to access private attribute '__init__'"),
    );
    assert.equal(await p.echo("ok"), "ok");
  },
  async unknown_method(ctx) {
    const p = ctx.proxy();
    await p._pyroBind();
    await assert.rejects(p.nosuch(), localRefusal(ctx, "nosuch"));
    await assert.rejects(p._pyroCall("nosuch"), isRemote("builtins.AttributeError"));
    await assert.rejects(
      p._pyroCall("__getattr__", ["nosuch"], { kwargs: null }),
      isRemote("builtins.AttributeError"),
    );
    await assert.rejects(
      p._pyroCall("__getattr__", ["echo"], { kwargs: null }),
      isRemote("builtins.AttributeError"),
    );
    await assert.rejects(p._pyroCall("echo", [1], { objectId: "nosuch" }), (e: unknown) => {
      assert.ok(e instanceof DaemonError);
      assert.equal(e.message, "unknown object");
      return true;
    });
    assert.equal(await p.echo("ok"), "ok");
  },
  async streaming(ctx) {
    const p = ctx.proxy<{ gen(n: number): Generator<number>; echo(x: string): string }>();
    const items: number[] = [];
    const stream = await p.gen(3);
    assert.ok(stream instanceof RemoteStream);
    for await (const item of stream) items.push(item);
    assert.deepEqual(items, [0, 1, 2]);
    const it = await p.gen(10);
    assert.deepEqual(await it.next(), { done: false, value: 0 });
    assert.deepEqual(await it.next(), { done: false, value: 1 });
    await it.return();
    assert.equal(await p.echo("done"), "done");
  },
};
scripts.compression_both = scripts.compression!;

scripts.echo_values = async (ctx) => {
  const p = ctx.proxy();
  await p._pyroBind();
  for (const [i, v] of echoValues(ctx.serializer).entries()) {
    assert.deepEqual(await p.echo(v), ctx.replies[i], `echo #${i}`);
  }
};

async function replay(file: string): Promise<void> {
  const t: Transcript = JSON.parse(await Deno.readTextFile(new URL(file, DIR)));
  const script = scripts[t.scenario];
  assert.ok(script, `no script for scenario ${t.scenario}`);
  const frames = t.frames.filter((f) => f.decoded.type !== MessageType.PING);
  const replies = frames
    .filter((f) => f.dir === "s2c" && f.decoded.type === MessageType.RESULT)
    .map((f) => fromTags(f.decoded.payload, t.serializer === "serpent"));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const peers: Promise<string[]>[] = [];
  const accepting = (async () => {
    for (let i = 0; i < t.connections; i++) {
      const conn = await listener.accept();
      peers.push(
        playConnection(
          conn,
          frames.filter((f) => f.conn === i),
          t.ports.client_connected_to,
          port,
        ),
      );
    }
  })();
  const proxies: Proxy[] = [];
  const ctx: Ctx = {
    serializer: t.serializer,
    port,
    replies,
    uri: (object = "thing") => `PYRO:${object}@127.0.0.1:${port}`,
    proxy: <T>(options: ProxyOptions & { object?: string } = {}) => {
      const { object, ...rest } = options;
      const p = createProxy<T>(ctx.uri(object), {
        serializer: t.serializer,
        timeout: 20_000,
        ...rest,
      });
      proxies.push(p as unknown as Proxy);
      return p;
    },
  };
  try {
    await script(ctx);
  } finally {
    for (const p of proxies) await p._pyroRelease();
  }
  await accepting;
  listener.close();
  const problems = (await Promise.all(peers)).flat();
  assert.deepEqual(problems, [], `${file}: frames differ from the recording`);
}

const files: string[] = [];
try {
  for (const entry of Deno.readDirSync(DIR)) {
    const m = entry.name.match(/^([a-z_]+)\.(json|msgpack|serpent)\.json$/);
    if (!m || m[1]!.startsWith("ns_")) continue;
    if (m[2] === "serpent" && !hasSerializer("serpent")) continue;
    files.push(entry.name);
  }
} catch {
  // No corpus here: the replay tests are skipped.
}
files.sort();

for (const file of files) {
  Deno.test(`Proxy replays the recorded Python conversation ${file}`, () => replay(file));
}

Deno.test("Proxy finds a transcript corpus to replay", { ignore: files.length === 0 }, () => {
  assert.ok(files.length >= 30);
});
