/**
 * The `nsc` tool against our name server on 127.0.0.1: every verb, Pyro5's output format,
 * `--json`, confirmation of removematching, and exit codes.
 */

import assert from "node:assert/strict";
import { main, type NscIO } from "../cli/nsc.ts";
import { startNameServer } from "../naming.ts";

function capture(
  answers: string[] = [],
): NscIO & { out: string[]; err: string[]; prompts: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const prompts: string[] = [];
  return {
    out,
    err,
    prompts,
    print: (line) => out.push(...line.split("\n")),
    error: (line) => err.push(...line.split("\n")),
    input: (prompt) => {
      prompts.push(prompt);
      return Promise.resolve(answers.shift() ?? null);
    },
  };
}

Deno.test("nsc verbs print Pyro5's output against our name server", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const port = server.uri.port!;
  const base = ["-n", "127.0.0.1", "-p", String(port)];
  const run = async (args: string[], answers: string[] = []) => {
    const io = capture(answers);
    const code = await main([...base, ...args], io);
    return { code, ...io };
  };

  assert.deepEqual((await run(["ping"])).out, ["Name server ping ok."]);
  assert.deepEqual((await run(["register", "demo.a", "PYRO:objA@127.0.0.1:4001"])).out, [
    "Registered demo.a",
  ]);
  const again = await run(["register", "demo.a", "PYRO:objA@127.0.0.1:4001"]);
  assert.equal(again.code, 1);
  assert.deepEqual(again.out, ["Error: NamingError - name already registered: demo.a"]);
  await run(["register", "demo.b", "PYRO:objB@127.0.0.1:4002"]);
  assert.deepEqual((await run(["setmeta", "demo.a", "red", "it's"])).out, ["Metadata updated"]);
  assert.deepEqual((await run(["setmeta", "demo.b"])).out, ["Metadata cleared"]);

  assert.deepEqual((await run(["list"])).out, [
    "--------START LIST ",
    `Pyro.NameServer --> PYRO:Pyro.NameServer@127.0.0.1:${port}`,
    "    metadata: {'class:Pyro5.nameserver.NameServer'}",
    "demo.a --> PYRO:objA@127.0.0.1:4001",
    `    metadata: {'red', "it's"}`,
    "demo.b --> PYRO:objB@127.0.0.1:4002",
    "--------END LIST ",
  ]);
  assert.deepEqual((await run(["list", "demo.b"])).out, [
    "--------START LIST - prefix 'demo.b'",
    "demo.b --> PYRO:objB@127.0.0.1:4002",
    "--------END LIST - prefix 'demo.b'",
  ]);
  assert.deepEqual((await run(["listmatching", ".*\\.a"])).out, [
    "--------START LIST - regex '.*\\.a'",
    "demo.a --> PYRO:objA@127.0.0.1:4001",
    `    metadata: {'red', "it's"}`,
    "--------END LIST - regex '.*\\.a'",
  ]);
  assert.deepEqual((await run(["lookup", "demo.a"])).out, [
    "PYRO:objA@127.0.0.1:4001",
    `metadata: {'red', "it's"}`,
  ]);
  assert.deepEqual((await run(["yplookup_all", "red", "it's"])).out, [
    "--------START LIST  - searched by metadata",
    "demo.a --> PYRO:objA@127.0.0.1:4001",
    `    metadata: {'red', "it's"}`,
    "--------END LIST  - searched by metadata",
  ]);
  assert.equal((await run(["yplookup_any", "nothing", "red"])).out.length, 4);
  assert.deepEqual(JSON.parse((await run(["--json", "list", "demo."])).out[0]!), {
    "demo.a": { uri: "PYRO:objA@127.0.0.1:4001", metadata: ["red", "it's"] },
    "demo.b": { uri: "PYRO:objB@127.0.0.1:4002", metadata: [] },
  });
  assert.deepEqual(JSON.parse((await run(["--json", "lookup", "demo.b"])).out[0]!), {
    name: "demo.b",
    uri: "PYRO:objB@127.0.0.1:4002",
    metadata: [],
  });
  const missing = await run(["--json", "lookup", "nosuch"]);
  assert.equal(missing.code, 1);
  assert.deepEqual(JSON.parse(missing.out[0]!), {
    error: { class: "NamingError", message: "unknown name: nosuch" },
  });

  assert.deepEqual((await run(["remove", "nosuch"])).out, ["Nothing removed"]);
  assert.deepEqual((await run(["remove", "demo.b"])).out, ["Removed demo.b"]);

  const refused = await run(["removematching", "demo"], ["n"]);
  assert.deepEqual(refused.prompts, [
    "Potentially removing lots of items from the Name server. Are you sure (y/n)?",
  ]);
  assert.deepEqual(refused.out, []);
  assert.equal(await server.nameServer.count(), 2);
  assert.deepEqual((await run(["removematching", "demo"], ["Y"])).out, ["1 items removed."]);
  await run(["register", "demo.c", "PYRO:objC@127.0.0.1:4003"]);
  const yes = await run(["-y", "removematching", "demo"]);
  assert.deepEqual([yes.prompts, yes.out], [[], ["1 items removed."]]);

  const verbose = await run(["-v", "ping"]);
  assert.deepEqual(verbose.out, [
    "Locating name server...",
    `Name server found: PYRO:Pyro.NameServer@127.0.0.1:${port}`,
    "Name server ping ok.",
    "Done.",
  ]);
  const usage = await run(["lookup"]);
  assert.deepEqual([usage.code, usage.err], [1, ["requires one argument: name"]]);
  const bad = await run(["bogus"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err.at(-1)!, /invalid choice: 'bogus'/);
  const regex = await run(["listmatching", "(a"]);
  assert.deepEqual(regex.out, [
    "Error: NamingError - invalid regex: missing ), unterminated subpattern at position 0",
  ]);
});

Deno.test("nsc reports a name server it cannot find", async () => {
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (free.addr as Deno.NetAddr).port;
  free.close();
  const io = capture();
  assert.equal(await main(["-n", "127.0.0.1", "-p", String(port), "ping"], io), 1);
  assert.match(io.out[0]!, /^Error: Failed to locate the nameserver/);
});
