/**
 * Tests of `cli/main.ts`, run as a user runs it (`deno run -A cli/main.ts ...` in a
 * subprocess): help for every command, exit codes and messages for mistakes, and each
 * subcommand doing its job against servers on 127.0.0.1.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createProxy, startNameServer } from "../mod.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function pyro(...args: string[]): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", PYRO_BROADCAST_ADDRS: "127.255.255.255" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Starts a long-running subcommand and resolves with its first line matching `ready`. */
function start(ready: RegExp, ...args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", PYRO_BROADCAST_ADDRS: "127.255.255.255" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const found = Promise.withResolvers<string>();
  const reading = (async () => {
    let pending = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        if (ready.test(line)) found.resolve(line);
      }
    }
    found.reject(new Error(`exited before printing ${ready}:\n${lines.join("\n")}`));
  })();
  const stderr = new Response(child.stderr).text();
  return {
    line: found.promise,
    lines,
    async stop(): Promise<Deno.CommandStatus> {
      child.kill("SIGTERM");
      const [status] = await Promise.all([child.status, reading, stderr]);
      return status;
    },
  };
}

Deno.test("pyro --help lists the commands and exits 0", async () => {
  const r = await pyro("--help");
  assert.equal(r.code, 0);
  for (const command of ["ns", "nsc", "echoserver", "pyroc", "gateway", "config"]) {
    assert.match(r.stdout, new RegExp(`^  ${command} +\\S`, "m"));
  }
});

Deno.test("pyro without a command or with an unknown one exits 2 and says what to do", async () => {
  const none = await pyro();
  assert.equal(none.code, 2);
  assert.match(none.stderr, /pyro: error: a command is required/);
  const unknown = await pyro("frobnicate");
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /unknown command 'frobnicate' \(choose from ns, nsc, echoserver, pyroc, gateway, config\); run 'pyro --help'/,
  );
  const version = await pyro("--version");
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^pyro \d+\.\d+\.\d+ /);
});

Deno.test("Every subcommand has --help that exits 0", async () => {
  const results = await Promise.all(
    ["ns", "nsc", "echoserver", "pyroc", "gateway", "config"].map((c) => pyro(c, "--help")),
  );
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /usage/i);
  }
  const viaHelp = await pyro("help", "pyroc");
  assert.equal(viaHelp.code, 0);
  assert.match(viaHelp.stdout, /usage: pyroc/);
});

Deno.test("pyro nsc talks to a name server and exits 1 with a reason when there is none", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  await ns.nameServer.register("example.cli", "PYRO:thing@127.0.0.1:9999", false, ["cli"]);
  const port = String(ns.uri.port);
  const list = await pyro("nsc", "-n", "127.0.0.1", "-p", port, "list");
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /example\.cli --> PYRO:thing@127\.0\.0\.1:9999/);
  const lookup = await pyro("nsc", "-n", "127.0.0.1", "-p", port, "lookup", "example.missing");
  assert.equal(lookup.code, 1);
  assert.match(lookup.stdout + lookup.stderr, /unknown name: example\.missing/);
  const refused = await pyro("nsc", "-n", "127.0.0.1", "-p", "1", "ping");
  assert.equal(refused.code, 1);
  assert.match(refused.stdout + refused.stderr, /Failed to locate the nameserver/);
  const bad = await pyro("nsc", "frob");
  assert.equal(bad.code, 2);
});

Deno.test("pyro ns serves a name server until SIGTERM", async () => {
  const ns = start(/^URI = PYRO:Pyro\.NameServer@/, "ns", "-n", "127.0.0.1", "-p", "0", "-x");
  try {
    const uri = (await ns.line).slice("URI = ".length);
    await using proxy = createProxy(uri);
    const count = await proxy._pyroCall("count");
    assert.equal(count, 1);
  } finally {
    const status = await ns.stop();
    assert.equal(status.success, true, ns.lines.join("\n"));
  }
});

Deno.test("pyro ns --web serves the console next to the name server", async () => {
  const ns = start(
    /^Console running on http:/,
    "ns",
    "-n",
    "127.0.0.1",
    "-p",
    "0",
    "-x",
    "--web",
    "0",
  );
  try {
    const url = (await ns.line).slice("Console running on ".length);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Pyro Name Server/);
    const names = await (await fetch(new URL("api/names", url))).json();
    assert.deepEqual(names.names.map((n: { name: string }) => n.name), ["Pyro.NameServer"]);
  } finally {
    const status = await ns.stop();
    assert.equal(status.success, true, ns.lines.join("\n"));
  }
});

Deno.test("pyro gateway serves the Name Server's objects over HTTP until SIGTERM", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const gateway = start(
    /^Pyro HTTP gateway running on http:/,
    "gateway",
    "-H",
    "127.0.0.1",
    "-p",
    "0",
    "-e",
    "Pyro\\.",
    "--ns",
    `127.0.0.1:${ns.uri.port}`,
  );
  try {
    const url = (await gateway.line).slice("Pyro HTTP gateway running on ".length);
    assert.ok(gateway.lines.includes("Exposing objects with names matching: Pyro\\."));
    const reply = await fetch(`${url}Pyro.NameServer/count`);
    assert.equal(reply.headers.get("Access-Control-Allow-Origin"), "*");
    assert.equal(await reply.json(), 1);
  } finally {
    const status = await gateway.stop();
    assert.equal(status.success, true, gateway.lines.join("\n"));
  }
});

Deno.test("pyro echoserver echoes and pyroc writes a client for it", async () => {
  const echo = start(/^echo uri: PYRO:/, "echoserver", "-H", "127.0.0.1");
  try {
    const uri = (await echo.line).slice("echo uri: ".length);
    await using proxy = createProxy(uri);
    assert.deepEqual(await proxy._pyroCall("echo", [[1, "two"]]), [1, "two"]);
    const generated = await pyro("pyroc", "--uri", uri, "--name", "Echo");
    assert.equal(generated.code, 0, generated.stderr);
    assert.match(generated.stderr, /^pyroc: connecting to PYRO:test\.echoserver@/m);
    assert.match(generated.stdout, /export interface EchoRemote \{/);
    assert.match(generated.stdout, /^ {2}echo\(\.\.\.args: unknown\[\]\): Promise<unknown>;$/m);
  } finally {
    await echo.stop();
  }
});

Deno.test("pyro pyroc reports a module it cannot read with exit code 1", async () => {
  const r = await pyro("pyroc", "no/such/module.ts", "Thing");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /pyroc: error: Cannot read .*no\/such\/module\.ts with deno doc/);
});
