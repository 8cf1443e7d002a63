/** `pyro config`: the effective configuration and where each value comes from. */

import assert from "node:assert/strict";
import { config, configSource, defaultConfig } from "../config.ts";
import { configItems, main } from "../cli/config.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;

async function pyroConfig(env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "config", ...args],
    env: { NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

Deno.test("pyro config prints every item, Pyro5-style, with its source", async () => {
  const r = await pyroConfig({ PYRO_NS_PORT: "9999", PYRO_BROADCAST_ADDRS: "127.255.255.255" });
  assert.equal(r.code, 0);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0]!, /^Pyro for Deno version: \d+\.\d+\.\d+$/);
  assert.equal(lines[3], "Protocol version: 502");
  assert.equal(lines[4], "Currently active global configuration settings:");
  const items = lines.slice(5);
  assert.equal(items.length, Object.keys(defaultConfig()).length);
  assert.deepEqual(items, [...items].sort(), "sorted by name, as Pyro5 prints them");
  assert.ok(items.includes("NS_PORT = 9999  (environment: PYRO_NS_PORT)"));
  assert.ok(
    items.includes("BROADCAST_ADDRS = ['127.255.255.255']  (environment: PYRO_BROADCAST_ADDRS)"),
  );
  assert.ok(items.includes("NATHOST = None  (default)"));
  assert.ok(items.includes("COMPRESSION = False  (default)"));
});

Deno.test("pyro config --json gives values and sources", async () => {
  const r = await pyroConfig({ PYRO_COMPRESSION: "on" }, "--json");
  assert.equal(r.code, 0);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.protocolVersion, 502);
  assert.deepEqual(doc.items.COMPRESSION, { value: true, source: "environment" });
  assert.deepEqual(doc.items.NS_PORT, { value: 9090, source: "default" });
});

Deno.test("A value the program sets shows as coming from the program", async () => {
  const before = config.POLLTIMEOUT;
  try {
    config.POLLTIMEOUT = before + 1;
    assert.equal(configSource("POLLTIMEOUT"), "program");
    assert.equal(configItems().find((i) => i.name === "POLLTIMEOUT")!.source, "program");
    const lines: string[] = [];
    assert.equal(await main([], (l) => lines.push(l)), 0);
    assert.ok(lines.includes(`POLLTIMEOUT = ${before + 1}  (program)`));
  } finally {
    config.POLLTIMEOUT = before;
  }
  assert.notEqual(configSource("POLLTIMEOUT"), "program");
});
