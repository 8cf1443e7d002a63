/**
 * The HTTP gateway in front of a real Python Pyro5 daemon registered in our Name Server:
 * Pyro5-style GET calls with keyword arguments, POSTed JSON, attributes, streams, bytes and
 * remote Python exceptions, over each serializer. Runs only when `PYRO5_PYTHONPATH` names a
 * directory holding the `Pyro5` package (e.g. `PYRO5_PYTHONPATH=/path/to/Pyro5-source`);
 * otherwise the tests are ignored and say so.
 */

import assert from "node:assert/strict";
import { startNameServer } from "../naming.ts";
import { startGateway } from "../gateway.ts";

const PYTHONPATH = Deno.env.get("PYRO5_PYTHONPATH") ?? "";
if (PYTHONPATH === "") {
  console.log("gateway_python_test: skipped, PYRO5_PYTHONPATH is not set (no Python Pyro5)");
}

const SERVER = String.raw`
import sys
import Pyro5.api
from Pyro5 import config
config.SERVERTYPE = "thread"

@Pyro5.api.expose
class Thing:
    def __init__(self):
        self._value = 42
    def echo(self, message):
        return message
    def kw(self, a, b=2, **extra):
        return {"a": a, "b": b, "extra": extra}
    def fail(self):
        raise ValueError("invalid value: 42")
    def gen(self, n):
        for i in range(int(n)):
            yield {"i": i}
    def data(self, b):
        return bytes(b) + b"!"
    @property
    def value(self):
        return self._value

daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
uri = daemon.register(Thing, "thing")
port = int(sys.argv[1])
if port == 0:  # run Python's own Name Server too
    import threading, Pyro5.nameserver
    ns_uri, ns_daemon, _ = Pyro5.nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
    threading.Thread(target=ns_daemon.requestLoop, daemon=True).start()
    port = ns_uri.port
ns = Pyro5.api.locate_ns(host="127.0.0.1", port=port)
ns.register("http.py.thing", uri, metadata={"python", "demo"})
print("ready", port, flush=True)
daemon.requestLoop()
`;

/**
 * Runs the Python server (registered in our Name Server, or with `pythonNs` in Python's own)
 * and calls `fn` with a gateway in front of it for each serializer.
 */
async function withPython(
  fn: (base: string, serializer: string) => Promise<void>,
  { pythonNs = false, serializers = ["msgpack", "serpent", "json"] } = {},
): Promise<void> {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", SERVER, pythonNs ? "0" : String(ns.uri.port)],
    env: { PYTHONPATH },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let drained: Promise<void> = Promise.resolve();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!/ready \d+\n/.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the Python server ended early: ${out}`);
      out += value;
    }
    const nsPort = Number(/ready (\d+)/.exec(out)![1]);
    // Keep reading: a closed pipe would kill the server on its next write.
    const draining = (async () => {
      while (!(await reader.read()).done) { /* discard */ }
    })();
    drained = draining.catch(() => {});
    for (const serializer of serializers) {
      await using gateway = await startGateway({
        host: "127.0.0.1",
        port: 0,
        ns: `127.0.0.1:${nsPort}`,
        serializer,
      });
      await fn(gateway.url, serializer);
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // it has ended already
    }
    await child.status;
    await drained;
  }
}

Deno.test({
  name: "Gateway calls a Python Pyro5 object with GET keyword arguments and POSTed JSON",
  ignore: PYTHONPATH === "",
  async fn() {
    await withPython(async (base, serializer) => {
      const echo = await fetch(`${base}pyro/http.py.thing/echo?message=Hi%20there`);
      assert.equal(echo.status, 200, serializer);
      assert.equal(await echo.json(), "Hi there");
      const kw = await fetch(`${base}pyro/http.py.thing/kw?a=1&c=x&c=y`);
      assert.deepEqual(await kw.json(), { a: "1", b: 2, extra: { c: ["x", "y"] } });
      const posted = await fetch(`${base}pyro/http.py.thing/kw`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ args: [1], kwargs: { b: [true, null], z: 2.5 } }),
      });
      assert.deepEqual(await posted.json(), { a: 1, b: [true, null], extra: { z: 2.5 } });
      const value = await fetch(`${base}pyro/http.py.thing/value`);
      assert.equal(await value.json(), 42);
      const meta = await (await fetch(`${base}pyro/http.py.thing/$meta`)).json();
      assert.ok(meta.methods.includes("echo"));
      assert.deepEqual(meta.attributes, ["value"]);
      const ping = await (await fetch(`${base}console/api/ping?name=http.py.thing`)).json();
      assert.equal(ping.ok, true, ping.error);
      assert.ok(ping.methods.includes("kw"));
      const listed = await (await fetch(`${base}console/api/names?prefix=http.py`)).json();
      assert.deepEqual(listed.names.map((n: { name: string }) => n.name), ["http.py.thing"]);
    });
  },
});

Deno.test({
  name: "Gateway gives Python exceptions, streams and bytes from a Python Pyro5 object",
  ignore: PYTHONPATH === "",
  async fn() {
    await withPython(async (base, serializer) => {
      const fail = await fetch(`${base}pyro/http.py.thing/fail`);
      assert.equal(fail.status, 500, `${serializer}: ${await fail.clone().text()}`);
      const body = await fail.json();
      assert.equal(body.__class__, "builtins.ValueError");
      assert.equal(body.__exception__, true);
      assert.deepEqual(body.args, ["invalid value: 42"]);
      assert.match(body.attributes._pyroTraceback.join(""), /ValueError: invalid value: 42/);
      const gen = await fetch(`${base}pyro/http.py.thing/gen?n=3`);
      assert.equal(gen.headers.get("Content-Type"), "application/x-ndjson");
      assert.equal(await gen.text(), '{"i":0}\n{"i":1}\n{"i":2}\n');
      if (serializer === "msgpack") { // json cannot carry bytes; serpent gives Python a dict
        const data = await fetch(`${base}pyro/http.py.thing/data`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ args: [{ $bytes: "AQID" }] }),
        });
        assert.deepEqual(await data.json(), { $bytes: "AQIDIQ==" });
      }
    });
  },
});

Deno.test({
  name: "Gateway and console work with Python Pyro5's own Name Server",
  ignore: PYTHONPATH === "",
  async fn() {
    await withPython(async (base) => {
      const echo = await fetch(`${base}pyro/http.py.thing/echo?message=via%20Python%20NS`);
      assert.equal(await echo.json(), "via Python NS");
      const listed = await (await fetch(`${base}console/api/names?any=python`)).json();
      assert.deepEqual(listed.names, [{
        name: "http.py.thing",
        uri: listed.names[0].uri,
        metadata: ["demo", "python"],
      }]);
      const ping = await (await fetch(`${base}console/api/ping?name=http.py.thing`)).json();
      assert.equal(ping.ok, true, ping.error);
      const index = await (await fetch(`${base}pyro/`)).text();
      assert.ok(index.includes("http.py.thing"));
    }, { pythonNs: true, serializers: ["msgpack"] });
  },
});
