/**
 * The echo server: started as a command (a subprocess) and in-process, it answers like
 * Pyro5's echo server.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startEchoServer } from "../cli/echoserver.ts";
import type { RemoteError } from "../errors.ts";
import { Flags } from "../_wire/protocol.ts";
import type { URI } from "../uri.ts";
import { RawClient } from "./_raw_client.ts";

const SCRIPT = fileURLToPath(new URL("../cli/echoserver.ts", import.meta.url));

async function streamItems(client: RawClient, method: string): Promise<unknown[]> {
  const { msg } = await client.call("test.echoserver", method);
  assert.equal(msg.flags & Flags.ITEMSTREAMRESULT, Flags.ITEMSTREAMRESULT);
  const id = new TextDecoder().decode(msg.annotations.get("STRM"));
  const items = [];
  for (;;) {
    const next = await client.call("Pyro.Daemon", "get_next_stream_item", [id]);
    if (next.msg.flags & Flags.EXCEPTION) break;
    items.push(next.value);
  }
  return items;
}

Deno.test("Echo server command prints Pyro5's start-up lines and answers echo, error and generator", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "-H", "127.0.0.1", "-p", "0"],
    stdout: "piped",
    stderr: "null",
    env: { RUST_BACKTRACE: "0" },
  }).spawn();
  const lines: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  while (!lines.includes("echoserver running.")) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    lines.push(...parts);
  }
  assert.equal(lines[0], "Starting Pyro's built-in test echo server.");
  assert.equal(lines[1], "object name: test.echoserver");
  const match = /^echo uri: PYRO:test\.echoserver@127\.0\.0\.1:(\d+)$/.exec(lines[2] ?? "");
  assert.ok(match, `unexpected line: ${lines[2]}`);
  const port = Number(match[1]);
  {
    using client = await RawClient.open({ transport: "tcp", hostname: "127.0.0.1", port });
    const hello = await client.handshake("test.echoserver");
    const meta =
      (hello.value as { meta: { methods: string[]; oneway: string[]; attrs: string[] } }).meta;
    assert.deepEqual(
      new Set(meta.methods),
      new Set([
        "echo",
        "error",
        "error_with_text",
        "oneway_echo",
        "slow",
        "generator",
        "nan",
        "inf",
        "oneway_slow",
        "__dunder__",
        "shutdown",
      ]),
    );
    assert.deepEqual(new Set(meta.oneway), new Set(["oneway_echo", "oneway_slow"]));
    assert.deepEqual(new Set(meta.attrs), new Set(["verbose", "mustShutdown"]));
    assert.deepEqual((await client.call("test.echoserver", "echo", [[1, "two"]])).value, [
      1,
      "two",
    ]);
    const error = (await client.call("test.echoserver", "error")).value as RemoteError;
    assert.equal(error.remoteClass, "builtins.ValueError");
    assert.equal(error.message, "this is the generated error from echoserver echo() method");
    assert.deepEqual(await streamItems(client, "generator"), ["one", "two", "three"]);
    assert.ok(Number.isNaN((await client.call("test.echoserver", "nan")).value));
    assert.equal((await client.call("test.echoserver", "inf")).value, Infinity);
    for (const name of ["_private", "__private"]) {
      const refused = (await client.call("test.echoserver", name)).value as RemoteError;
      assert.equal(refused.remoteClass, "builtins.AttributeError");
    }
    assert.equal(
      (await client.call("test.echoserver", "__dunder__")).value,
      "should be allowed (dunder)",
    );
    assert.equal(
      (await client.call("test.echoserver", "__getattr__", ["verbose"], null)).value,
      false,
    );
    assert.equal((await client.call("test.echoserver", "shutdown")).value, null);
    assert.ok(await client.closedByPeer());
  }
  while (!(await reader.read()).done) {
    // the rest of the output, until the process exits
  }
  const status = await child.status;
  assert.equal(status.code, 0);
});

Deno.test("Echo server started in-process with a name server registers itself there", async () => {
  await using server = await startEchoServer({
    host: "127.0.0.1",
    nameserver: true,
    nsPort: 0,
    nsBroadcast: false,
    quiet: true,
  });
  const nsUri = server.nameServerUri!;
  using ns = await RawClient.connected(
    { transport: "tcp", hostname: nsUri.host!, port: nsUri.port! },
    "Pyro.NameServer",
  );
  const registered = await ns.call("Pyro.NameServer", "lookup", ["test.echoserver"]);
  assert.ok(server.uri.equals(registered.value as URI));
  using client = await RawClient.connected(server.daemon.addr, "test.echoserver");
  assert.equal((await client.call("test.echoserver", "echo", ["in-process"])).value, "in-process");
  await client.call("test.echoserver", "__setattr__", ["verbose", true], null);
  assert.equal(server.echo.verbose, true);
  server.echo.verbose = false;
  const oneway = await client.call("test.echoserver", "error_with_text");
  assert.equal((oneway.value as RemoteError).message, "the message of the error");
});
