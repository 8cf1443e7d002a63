/**
 * OpenTelemetry across processes: a client and two daemons (and, with `PYRO5_PYTHONPATH`, a
 * Python Pyro5 daemon) run as separate processes exporting OTLP/HTTP JSON to a receiver in
 * this test. Checks the trace ids, parent links across one and two hops, attributes, error
 * status, metrics and log records; and that with telemetry off nothing is added or exported.
 */

import assert from "node:assert/strict";
import { OtlpReceiver, type ReceivedSpan } from "./_otlp_receiver.ts";

const PEER = new URL("./_telemetry_peer.ts", import.meta.url).pathname;
const TRACING_PY = new URL("../examples/pythoninterop/", import.meta.url).pathname;
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

const PYTHONPATH = (() => {
  try {
    return Deno.env.get("PYRO5_PYTHONPATH");
  } catch {
    return undefined;
  }
})();

/** A daemon process that runs until stopped. */
interface Peer {
  uri: string;
  /** The daemon's name (a PYRONAME URI at the Name Server in its process). */
  name?: string;
  stop(): Promise<void>;
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`process ended before printing its address: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void stream.pipeTo(new WritableStream()).catch(() => {});
  return text.slice(0, text.indexOf("\n"));
}

function spawnStopping(command: Deno.Command): { child: Deno.ChildProcess; stop(): Promise<void> } {
  const child = command.spawn();
  const writer = child.stdin.getWriter();
  let stopped: Promise<void> | undefined;
  return {
    child,
    stop() {
      stopped ??= (async () => {
        await writer.close().catch(() => {});
        const status = await child.status;
        if (!status.success) throw new Error(`process exited with ${status.code}`);
      })();
      return stopped;
    },
  };
}

async function startDaemon(env: Record<string, string>, args = ["daemon"]): Promise<Peer> {
  const { child, stop } = spawnStopping(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", PEER, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1", ...env },
      clearEnv: true,
    }),
  );
  void child.stderr.pipeTo(new WritableStream()).catch(() => {});
  const line = await firstLine(child.stdout);
  const { uri, ns } = JSON.parse(line) as { uri: string; ns?: string };
  return { uri, name: `PYRONAME:example.svc@${ns}`, stop };
}

async function startPythonRelay(): Promise<Peer> {
  const script = String.raw`
import sys, threading, logging
sys.path.insert(0, ${JSON.stringify(TRACING_PY)})
import Pyro5.api
from Pyro5 import config
import tracing
config.SERVERTYPE = "thread"
logging.basicConfig(level=logging.INFO, stream=sys.stderr)

@Pyro5.api.expose
class Relay:
    def relay(self, uri, text):
        with tracing.server_span() as span:
            with Pyro5.api.Proxy(uri) as other:
                span.propagate()
                result = other.echo(text)
            span.reply()
            return {"result": result, "trace_id": span.trace_id, "span_id": span.span_id,
                    "parent_id": span.parent_id}

daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
print(daemon.register(Relay, "relay"), flush=True)
def wait_stdin():
    sys.stdin.read()
    daemon.shutdown()
threading.Thread(target=wait_stdin, daemon=True).start()
daemon.requestLoop()
daemon.close()
`;
  const { child, stop } = spawnStopping(
    new Deno.Command("/usr/bin/python3", {
      args: ["-c", script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONPATH: PYTHONPATH!, PYRO_SERIALIZER: "serpent" },
      clearEnv: true,
    }),
  );
  void child.stderr.pipeTo(new WritableStream()).catch(() => {});
  return { uri: (await firstLine(child.stdout)).trim(), stop };
}

async function runClient(
  env: Record<string, string>,
  args: string[],
  mode = "client",
): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PEER, mode, ...args],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `client failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

/** This process's environment without OpenTelemetry settings (children start from it). */
function pathEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("OTEL_")),
  );
}

function one(spans: ReceivedSpan[], where: Partial<ReceivedSpan>): ReceivedSpan | undefined {
  const found = spans.filter((s) =>
    Object.entries(where).every(([k, v]) => s[k as keyof ReceivedSpan] === v)
  );
  return found.length === 1 ? found[0] : undefined;
}

function childOf(spans: ReceivedSpan[], parent: ReceivedSpan, where: Partial<ReceivedSpan>) {
  return one(
    spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId),
    where,
  );
}

Deno.test({
  name: "Telemetry: a trace follows calls from a client process through two daemon processes",
  sanitizeResources: true,
  async fn() {
    await using receiver = new OtlpReceiver();
    const base = pathEnv();
    const b = await startDaemon({ ...base, ...receiver.env("pyro-b") });
    const a = await startDaemon({ ...base, ...receiver.env("pyro-a") });
    const py = PYTHONPATH ? await startPythonRelay() : undefined;
    let out: Record<string, unknown>;
    try {
      const args = [a.uri, b.uri, a.name!, ...(py ? [py.uri] : [])];
      out = await runClient({ ...base, ...receiver.env("pyro-client") }, args);
      // The name count is a gauge read at each export while the Name Server runs (it stops
      // reporting when the Name Server closes): wait for a periodic export that carries it.
      await receiver.waitFor(
        "daemon A's name count",
        () => receiver.latest("pyro-a", "pyro.ns.names") === 2 || undefined,
      );
    } finally {
      await py?.stop();
      await a.stop();
      await b.stop();
    }
    // The processes have exited: what they exported at shutdown has arrived.
    const spans = receiver.spans;
    const client = spans.filter((s) => s.service === "pyro-client");
    const inA = spans.filter((s) => s.service === "pyro-a");
    const inB = spans.filter((s) => s.service === "pyro-b");

    // One call: the client span and the server span share the trace; the server is its child.
    assert.ok(String(out.annotationKeys).includes("W3TC"), "the request carried W3TC");
    const annotated = client.find((s) =>
      s.name === "svc/echo" && s.attributes["rpc.method"] === "echo" &&
      inA.some((x) => x.parentSpanId === s.spanId)
    );
    assert.ok(annotated, "a client span of svc/echo with a server child");
    const echoClient = one(client, { name: "svc/annotationKeys" })!;
    assert.equal(echoClient.kind, CLIENT);
    assert.deepEqual(
      [echoClient.attributes["rpc.system"], echoClient.attributes["rpc.service"]],
      ["pyro", "svc"],
    );
    assert.equal(echoClient.attributes["server.address"], "127.0.0.1");
    assert.equal(typeof echoClient.attributes["server.port"], "number");
    assert.equal(echoClient.attributes["pyro.outcome"], "ok");
    const echoServer = childOf(inA, echoClient, { name: "svc/annotationKeys" })!;
    assert.ok(echoServer, "server span is the client span's child");
    assert.equal(echoServer.kind, SERVER);
    assert.equal(echoServer.attributes["rpc.method"], "annotationKeys");
    assert.equal(echoServer.attributes["network.peer.address"], "127.0.0.1");
    assert.match(String(echoServer.attributes["pyro.correlation_id"]), /^[0-9a-f-]{36}$/);

    // The reply carries the server span's context back.
    const reply = String(out.replyW3TC);
    assert.match(reply, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const [, replyTrace, replySpan] = reply.split("-");
    assert.ok(inA.some((s) => s.traceId === replyTrace && s.spanId === replySpan));

    // A remote exception: error status on both sides, the remote class on the client.
    assert.equal(out.failed, "ValueError");
    const failClient = one(client, { name: "svc/fail" })!;
    assert.equal(failClient.status.code, ERROR);
    assert.equal(failClient.attributes["error.type"], "builtins.ValueError");
    assert.equal(failClient.attributes["pyro.remote_exception"], "builtins.ValueError");
    assert.equal(failClient.attributes["pyro.outcome"], "error");
    const failServer = childOf(inA, failClient, { name: "svc/fail" })!;
    assert.equal(failServer.status.code, ERROR);
    assert.equal(failServer.attributes["error.type"], "builtins.ValueError");

    // Two hops: client -> A (server) -> A (client) -> B (server), one trace.
    assert.equal(out.hop, "two hops");
    const hopClient = one(client, { name: "svc/hop" })!;
    const hopServer = childOf(inA, hopClient, { name: "svc/hop" })!;
    assert.ok(hopServer, "A serves hop as a child of the client's span");
    const nested = childOf(inA, hopServer, { name: "svc/echo", kind: CLIENT })!;
    assert.ok(nested, "A's call to B is a child of A's server span");
    const inBServer = childOf(inB, nested, { name: "svc/echo", kind: SERVER })!;
    assert.ok(inBServer, "B's server span is a child of A's client span");
    assert.equal(inBServer.traceId, hopClient.traceId);

    // An item stream: the call, a stream span, item fetches inside it.
    assert.deepEqual(out.items, [0, 1, 2]);
    const countClient = one(client, { name: "svc/count" })!;
    assert.equal(countClient.attributes["pyro.outcome"], "stream");
    const streamClient = childOf(client, countClient, { name: "svc/count stream" })!;
    assert.ok(streamClient, "the client's stream span");
    assert.equal(streamClient.attributes["pyro.stream.items"], 3);
    const fetches = client.filter((s) => s.parentSpanId === streamClient.spanId);
    assert.equal(fetches.length, 4, "3 items and the end");
    const countServer = childOf(inA, countClient, { name: "svc/count" })!;
    const streamServer = childOf(inA, countServer, { name: "svc/count stream" })!;
    assert.ok(streamServer, "the daemon's stream span");
    assert.equal(streamServer.attributes["pyro.stream.items"], 3);
    for (const f of fetches) {
      assert.ok(childOf(inA, f, { name: "Pyro.Daemon/get_next_stream_item" }));
    }

    // Oneway.
    const fire = one(client, { name: "svc/fire" })!;
    assert.equal(fire.attributes["pyro.call.kind"], "oneway");
    assert.equal(fire.attributes["pyro.outcome"], "oneway");

    // A batch: one span for the batch on each side.
    assert.deepEqual(out.batch, ["b1", "b2"]);
    const batch = one(client, { name: "svc/<batch>" })!;
    assert.equal(batch.attributes["pyro.call.kind"], "batch");
    assert.equal(
      childOf(inA, batch, { name: "svc/<batch>" })?.attributes["pyro.call.kind"],
      "batch",
    );

    // A retry after the daemon dropped the connection: one span, with the retry on it.
    assert.equal(out.retried, "answered");
    const retried = one(client, { name: "svc/dropOnce" })!;
    assert.equal(retried.attributes["pyro.retries"], 1);
    assert.equal(retried.attributes["pyro.outcome"], "ok");
    assert.deepEqual(retried.events.map((e) => e.name), ["pyro.retry"]);

    // Log lines written inside a call carry its ids.
    const logged = one(client, { name: "svc/logged" })!;
    const loggedServer = childOf(inA, logged, { name: "svc/logged" })!;
    const record = await receiver.waitFor(
      "the daemon's log record",
      () => receiver.logs.find((l) => l.service === "pyro-a" && l.body.includes("svc: logged")),
    );
    assert.equal(record.traceId, loggedServer.traceId);
    assert.equal(record.spanId, loggedServer.spanId);
    assert.ok(record.body.includes(`trace_id=${loggedServer.traceId}`));

    // Metrics: counts per object and method on both sides.
    const echo = { "rpc.service": "svc", "rpc.method": "echo" };
    assert.equal(receiver.latest("pyro-a", "pyro.server.calls", echo), 5);
    assert.equal(receiver.latest("pyro-a", "rpc.server.duration", echo), 5);
    assert.equal(receiver.latest("pyro-client", "pyro.client.calls", echo), 5);
    assert.equal(receiver.latest("pyro-client", "rpc.client.duration", echo), 5);
    const fail = { "rpc.service": "svc", "rpc.method": "fail" };
    assert.equal(receiver.latest("pyro-a", "pyro.server.errors", fail), 1);
    assert.equal(receiver.latest("pyro-client", "pyro.client.errors", fail), 1);
    assert.equal(receiver.latest("pyro-b", "pyro.server.calls", echo), py ? 2 : 1);
    assert.equal(receiver.latest("pyro-a", "pyro.server.streams"), 0);
    assert.equal(receiver.latest("pyro-a", "pyro.server.calls_in_flight"), 0);
    assert.ok((receiver.latest("pyro-a", "pyro.server.connections") ?? -1) >= 0);

    // The Name Server: a lookup is a call like any other, and it has metrics of its own.
    assert.equal(out.byName, "by name");
    const connect = client.find((s) =>
      s.name === "pyro.connect" && s.attributes["pyro.uri"] === a.name
    )!;
    assert.ok(connect, "the PYRONAME proxy's connect span");
    assert.equal(connect.attributes["server.port"], Number(a.uri.split(":").at(-1)));
    const lookup = childOf(client, connect, { name: "Pyro.NameServer/lookup" })!;
    assert.ok(lookup, "the lookup is part of the connect");
    assert.ok(childOf(inA, lookup, { name: "Pyro.NameServer/lookup", kind: SERVER }));
    const found = { "pyro.ns.operation": "lookup", "pyro.ns.found": true };
    assert.equal(receiver.latest("pyro-a", "pyro.ns.lookups", found), 1);
    assert.equal(receiver.latest("pyro-a", "pyro.ns.names"), 2);

    if (py === undefined) {
      console.log("Python part skipped: set PYRO5_PYTHONPATH to a Pyro5 source tree to run it");
      return;
    }
    // Into Python and back: client -> A -> Python (W3TC read, logged, new span) -> B.
    const relayed = out.python as Record<string, string>;
    assert.equal(relayed.result, "via python");
    const relayClient = one(client, { name: "svc/relay" })!;
    const relayServer = childOf(inA, relayClient, { name: "svc/relay" })!;
    const toPython = childOf(inA, relayServer, { name: "relay/relay", kind: CLIENT })!;
    assert.ok(toPython, "A's call into Python");
    assert.equal(relayed.trace_id, relayClient.traceId, "Python continued the trace");
    assert.equal(relayed.parent_id, toPython.spanId, "Python's parent is A's client span");
    const back = inB.find((s) => s.traceId === relayClient.traceId && s.name === "svc/echo");
    assert.ok(back, "B's span is in the same trace");
    assert.equal(back.parentSpanId, relayed.span_id, "B's parent is Python's span");
  },
});

Deno.test("Telemetry counts the connections a daemon evicts to make room", async () => {
  await using receiver = new OtlpReceiver();
  const env = { ...pathEnv(), ...receiver.env("pyro-small") };
  const small = await startDaemon({ ...env, PEER_MAX_CONNECTIONS: "1" });
  try {
    assert.deepEqual(await runClient(env, [small.uri], "evict"), { evicted: true });
  } finally {
    await small.stop();
  }
  assert.equal(receiver.latest("pyro-small", "pyro.server.connections.evicted"), 1);
  assert.equal(receiver.latest("pyro-small", "pyro.server.connections"), 0);
});

Deno.test("Telemetry: an HTTP request's traceparent continues through the gateway into a daemon", async () => {
  await using receiver = new OtlpReceiver();
  const env = pathEnv();
  const daemon = await startDaemon({ ...env, ...receiver.env("pyro-svc") });
  const ns = daemon.name!.slice(daemon.name!.indexOf("@") + 1);
  const gateway = await startDaemon({ ...env, ...receiver.env("pyro-gateway") }, ["gateway", ns]);
  const traceId = "0af7651916cd43dd8448eb211c80319c";
  try {
    const reply = await fetch(`${gateway.uri}pyro/example.svc/echo?x=hello`, {
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    assert.equal(await reply.json(), "hello");
  } finally {
    await gateway.stop();
    await daemon.stop();
  }
  const spans = receiver.spans.filter((s) => s.traceId === traceId);
  const http = one(spans, { service: "pyro-gateway", parentSpanId: "b7ad6b7169203331" });
  assert.ok(http, "the gateway's HTTP server span continues the header's trace");
  const call = childOf(spans, http, { name: "svc/echo", kind: CLIENT })!;
  assert.ok(call, "the gateway's Pyro call is a child of the HTTP request");
  assert.ok(childOf(spans, call, { service: "pyro-svc", name: "svc/echo", kind: SERVER }));
});

Deno.test("Telemetry off: no W3TC annotation is sent and nothing is exported", async () => {
  await using receiver = new OtlpReceiver();
  const env = { ...pathEnv(), ...receiver.env("off") };
  delete (env as Record<string, string | undefined>).OTEL_DENO;
  const b = await startDaemon(env);
  const a = await startDaemon(env);
  let out: Record<string, unknown>;
  try {
    out = await runClient(env, [a.uri, b.uri, a.name!]);
  } finally {
    await a.stop();
    await b.stop();
  }
  assert.deepEqual(out.annotationKeys, []);
  assert.equal(out.replyW3TC, null);
  assert.equal(out.hop, "two hops");
  assert.equal(receiver.posts.size, 0, "nothing was exported");
});
