/** serve(): Pyro5's one-call server, with and without the Name Server. */

import assert from "node:assert/strict";
import { createProxy } from "../proxy.ts";
import { expose } from "../expose.ts";
import { locateNS } from "../locate.ts";
import { startNameServer } from "../naming.ts";
import { serve, type ServedObject } from "../serve.ts";
import { NamingError } from "../errors.ts";

@expose
class Echo {
  echo(x: unknown): unknown {
    return x;
  }
}

Deno.test("serve registers names with the Name Server and removes them when stopped", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const ns = { host: "127.0.0.1", port: server.uri.port! };
  const stop = new AbortController();
  let seen: ServedObject[] = [];
  const served = await serve({ "test.echo": new Echo(), "test.other": new Echo() }, {
    host: "127.0.0.1",
    ns,
    verbose: false,
    signals: [],
    signal: stop.signal,
    onReady: async (objects, daemon) => {
      seen = objects;
      assert.ok(objects[0]!.uri.object.startsWith("obj_"), "a generated id with the NS");
      await using p = createProxy<Echo>(`PYRONAME:test.echo@127.0.0.1:${ns.port}`);
      assert.equal(await p.echo("hi"), "hi");
      assert.equal(daemon.registered.length, 3);
      stop.abort();
    },
  });
  assert.deepEqual(served, seen);
  await using proxy = await locateNS(ns.host, ns.port);
  assert.deepEqual(Object.keys(await proxy.list()), ["Pyro.NameServer"]);
});

Deno.test("serve without the Name Server uses the names as object ids", async () => {
  const stop = new AbortController();
  const echo = new Echo();
  const served = await serve(new Map([[echo, "echo"]]), {
    host: "127.0.0.1",
    useNs: false,
    verbose: false,
    signals: [],
    signal: stop.signal,
    onReady: async ([entry]) => {
      assert.equal(entry!.uri.object, "echo");
      await using p = createProxy<Echo>(entry!.uri);
      assert.equal(await p.echo(1), 1);
      stop.abort();
    },
  });
  assert.equal(served[0]!.target, echo);
});

Deno.test("serve leaves a name alone that someone else registered meanwhile", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const ns = { host: "127.0.0.1", port: server.uri.port! };
  const stop = new AbortController();
  await serve({ "test.echo": new Echo() }, {
    host: "127.0.0.1",
    ns,
    verbose: false,
    signals: [],
    signal: stop.signal,
    onReady: async () => {
      await using proxy = await locateNS(ns.host, ns.port);
      await proxy.register("test.echo", "PYRO:elsewhere@127.0.0.1:1");
      stop.abort();
    },
  });
  await using proxy = await locateNS(ns.host, ns.port);
  assert.equal(String(await proxy.lookup("test.echo")), "PYRO:elsewhere@127.0.0.1:1");
});

Deno.test("serve closes its daemon when no Name Server is found", async () => {
  await assert.rejects(
    serve({ "test.echo": new Echo() }, {
      host: "127.0.0.1",
      ns: { host: "127.0.0.1", port: 1 },
      verbose: false,
      signals: [],
    }),
    NamingError,
  );
});

Deno.test("serve stops on SIGTERM, removing its names, in a separate process", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const script = `
    import { expose, serve } from "${new URL("../mod.ts", import.meta.url)}";
    await serve({ "test.proc": expose({ ping: () => "pong" }) }, {
      host: "127.0.0.1",
      ns: { host: "127.0.0.1", port: ${server.uri.port} },
      onReady: () => console.log("ready"),
    });
    console.log("stopped");
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  child.kill("SIGTERM");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  lines.push(...text.trim().split("\n"));
  assert.equal((await child.status).code, 0);
  assert.match(lines[0]!, /^Object <Object>:$/);
  assert.match(lines[1]!, /^ {4}uri = PYRO:obj_[0-9a-f]+@127\.0\.0\.1:\d+$/);
  assert.deepEqual(lines.slice(2), [
    "    name = test.proc",
    "Pyro daemon running.",
    "ready",
    "stopped",
  ]);
  await using proxy = await locateNS("127.0.0.1", server.uri.port!);
  assert.deepEqual(Object.keys(await proxy.list()), ["Pyro.NameServer"]);
});
