/**
 * Tests of the proxy compiler (`cli/pyroc.ts`): the module it writes for a TypeScript class
 * and for a live URI type-checks (`deno check` with the project's compiler options), has the
 * expected shape, and calls a live daemon.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Daemon, expose, oneway, RemoteStream } from "../mod.ts";
import { main, type PyrocIO } from "../cli/pyroc.ts";
import { Inventory } from "./_pyroc_fixture.ts";

const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const FIXTURE = new URL("./_pyroc_fixture.ts", import.meta.url).pathname;

function captureIO(): PyrocIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, print: (t) => out.push(t), error: (l) => err.push(l) };
}

async function denoCheck(...files: string[]): Promise<{ ok: boolean; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--config", CONFIG, ...files],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { ok: out.success, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

@expose
class Echo {
  echo(x: unknown): unknown {
    return x;
  }
  @oneway
  poke(): void {}
  get answer(): number {
    return 42;
  }
}

Deno.test("pyroc writes clients for a class and for a live object that type-check and call a daemon", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const inventoryUri = daemon.register(new Inventory(), { id: "inventory", oneway: ["clear"] });
  const echoUri = daemon.register(new Echo(), "example.echo-thing");
  const dir = await Deno.makeTempDir({ prefix: "pyroc_test_" });
  try {
    // From the class, with deno doc.
    const file = `${dir}/inventory_client.ts`;
    const io = captureIO();
    assert.equal(await main([FIXTURE, "Inventory", "-o", file], io), 0, io.err.join("\n"));
    assert.match(
      io.err.join("\n"),
      /wrote .*inventory_client\.ts: Inventory, 8 methods \(2 oneway\), 2 attributes/,
    );
    const text = await Deno.readTextFile(file);
    assert.match(text, /add\(name: string, count\?: number, kind\?: Kind\): Promise<Item>;/);
    assert.match(text, /find\(name: string\): Promise<Item \| null>;/);
    assert.match(text, /items\(\): Promise<pyro\.RemoteStream<Item>>;/);
    assert.match(text, /note\(line: string\): Promise<void>;/);
    assert.match(text, /clear\(\): Promise<void>;/);
    assert.match(text, /hello\(name: string\): Promise<string>;/);
    assert.match(text, /quantity\(name: string\): Promise<number>;/);
    assert.match(text, /quantity\(names: string\[\]\): Promise<number\[\]>;/);
    assert.doesNotMatch(text, /quantity\(arg/);
    assert.match(text, /export const INVENTORY_ONEWAY: readonly string\[\] = \["note", "clear"\];/);
    assert.match(text, /owner: string;/);
    assert.doesNotMatch(text, /_internal|create\(|constructor/);

    // From the live object's metadata.
    const echoFile = `${dir}/echo_client.ts`;
    const echoIO = captureIO();
    assert.equal(await main(["--uri", echoUri.toString(), "-o", echoFile], echoIO), 0);
    assert.match(
      echoIO.err[0] ?? "",
      /^pyroc: connecting to PYRO:example\.echo-thing@127\.0\.0\.1:\d+/,
    );
    const echoText = await Deno.readTextFile(echoFile);
    assert.match(echoText, /export interface EchoThingRemote \{/);
    assert.match(echoText, /echo\(\.\.\.args: unknown\[\]\): Promise<unknown>;/);
    assert.match(echoText, /poke\(\.\.\.args: unknown\[\]\): Promise<void>;/);
    assert.match(echoText, /answer: unknown;/);
    assert.match(
      echoText,
      /uri: string \| pyro\.URI = "PYRO:example\.echo-thing@127\.0\.0\.1:\d+"/,
    );

    // Code that uses the generated modules as a user would, with lines that must not compile.
    const usage = `${dir}/usage.ts`;
    await Deno.writeTextFile(
      usage,
      `import { createInventoryProxy } from "./inventory_client.ts";
import { createEchoThingProxy } from "./echo_client.ts";
const inv = createInventoryProxy("PYRONAME:example.inventory");
const item: { name: string; count: number } = await inv.add("bolt", 2);
const one: number = await inv.quantity("bolt");
const many: number[] = await inv.quantity(["bolt", "nut"]);
console.log(one, many);
const names: string[] = (await inv._pyroGet("log")).map((l) => l.toUpperCase());
await inv._pyroSet("owner", "ann");
for await (const i of await inv.items()) console.log(i.count.toFixed(), item, names);
const echoed: unknown = await createEchoThingProxy().echo(1, "two");
console.log(echoed);
// @ts-expect-error: count must be a number
await inv.add("bolt", "two");
// @ts-expect-error: no such method
await inv.remove("bolt");
// @ts-expect-error: owner is a string
await inv._pyroSet("owner", 3);
`,
    );
    const checked = await denoCheck(file, echoFile, usage);
    assert.ok(checked.ok, checked.output);

    const generated = await import(new URL(`file://${file}`).href);
    await using inv = generated.createInventoryProxy(inventoryUri);
    assert.deepEqual(await inv.add("bolt", 2, "part"), { name: "bolt", count: 2 });
    assert.deepEqual(await inv.find("bolt"), { name: "bolt", count: 2 });
    assert.equal(await inv.hello("ann"), "hello ann");
    assert.deepEqual(await inv.quantity(["bolt", "nut"]), [2, 0]);
    await inv.note("a note");
    const stream = await inv.items();
    assert.ok(stream instanceof RemoteStream);
    const items = [];
    for await (const i of stream) items.push(i);
    assert.deepEqual(items, [{ name: "bolt", count: 2 }]);
    assert.deepEqual(await inv._pyroGet("log"), ["part bolt", "a note"]);
    await inv._pyroSet("owner", "ann");
    assert.equal(await inv._pyroGet("owner"), "ann");

    const echoModule = await import(new URL(`file://${echoFile}`).href);
    await using echo = echoModule.createEchoThingProxy();
    assert.equal(await echo.echo("hi"), "hi");
    assert.equal(await echo._pyroGet("answer"), 42);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pyroc prints the module on standard output and names the classes it can find", async () => {
  const io = captureIO();
  assert.equal(await main([FIXTURE, "Inventory", "--quiet", "--lib", "jsr:@pyro/pyro"], io), 0);
  assert.equal(io.err.length, 0);
  assert.match(io.out.join("\n"), /from "jsr:@pyro\/pyro";/);
  assert.match(
    io.out.join("\n"),
    /import type \{ Item, Kind \} from "\.\/tests\/_pyroc_fixture\.ts";/,
  );

  const missing = captureIO();
  assert.equal(await main([FIXTURE, "Nope"], missing), 1);
  assert.match(
    missing.err.join("\n"),
    /Cannot find class 'Nope' .*exported classes there: Inventory/,
  );

  const usage = captureIO();
  assert.equal(await main([FIXTURE], usage), 2);
  assert.match(usage.err.join("\n"), /expected MODULE and CLASS/);

  const refused = captureIO();
  assert.equal(await main(["--uri", "PYRO:thing@127.0.0.1:1"], refused), 1);
  assert.match(refused.err.join("\n"), /pyroc: error: Cannot connect to PYRO:thing@127\.0\.0\.1:1/);
});
