/**
 * The name server roles of the benchmark suite. The server role starts a name server (memory
 * storage) on 127.0.0.1 and fills it in-process with `--names` registrations laid out as in
 * bench/naming_bench.ts (`bench.g<i % 1000>.n<i>`, so a prefix such as `bench.g7.` matches
 * one name in a thousand). The client role measures, over a msgpack proxy: `lookup`,
 * `register` + `remove` pairs, and `list(prefix)` over the filled table.
 *
 * Run by bench/main.ts: `deno run -A bench/_pyro_naming.ts server --names=100000`, then
 * `deno run -A bench/_pyro_naming.ts client --port=N`.
 *
 * @module
 */

import { startNameServer } from "../naming.ts";
import { locateNS } from "../locate.ts";
import { emit, emitPhase, emitRate, measureRate, planFrom, roleArgs } from "./_stats.ts";

const GROUPS = 1000;

async function server(args: Record<string, string>): Promise<void> {
  const names = Number(args.names ?? 100_000);
  const server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  for (let i = 0; i < names; i++) {
    server.nameServer.register(
      `bench.g${i % GROUPS}.n${i}`,
      `PYRO:obj${i}@127.0.0.1:${4000 + (i % 1000)}`,
      false,
      [`g${i % GROUPS}`, `parity${i % 2}`],
    );
  }
  emit({ type: "ready", port: server.uri.port, names });
  for await (const _ of Deno.stdin.readable) { /* serve until stdin ends */ }
  await server.close();
}

async function client(args: Record<string, string>): Promise<void> {
  const plan = planFrom(args);
  const names = Number(args.names ?? 100_000);
  const ns = await locateNS("127.0.0.1", Number(args.port), { serializer: "msgpack" });
  try {
    emitPhase("lookup");
    const lookup = await measureRate(async () => {
      await ns.lookup("bench.g7.n7");
      return 1;
    }, plan);
    emitRate("lookup", lookup, lookup.steps);
    let i = 0;
    emitPhase("register-remove");
    const regRemove = await measureRate(async () => {
      const name = `tmp.n${i++}`;
      await ns.register(name, "PYRO:tmp@127.0.0.1:4000", false, ["tmp"]);
      const removed = await ns.remove(name);
      if (removed !== 1) throw new Error(`remove returned ${removed}`);
      return 1;
    }, plan);
    emitRate("register-remove", regRemove, regRemove.steps);
    const expected = Math.floor(names / GROUPS) + (7 < names % GROUPS ? 1 : 0);
    emitPhase("list-prefix");
    const list = await measureRate(async () => {
      const found = await ns.list("bench.g7.");
      const n = Object.keys(found).length;
      if (n !== expected) throw new Error(`list returned ${n} names, expected ${expected}`);
      return 1;
    }, {
      ...plan,
      minSteps: Math.min(plan.minSteps, 20),
      warmupSteps: Math.min(plan.warmupSteps, 5),
    });
    emitRate("list-prefix", list, list.steps, { matches: expected });
  } finally {
    await ns._pyroRelease();
  }
  emit({ type: "done" });
}

if (import.meta.main) {
  const args = roleArgs(Deno.args);
  try {
    if (args._0 === "server") await server(args);
    else await client(args);
    Deno.exit(0);
  } catch (e) {
    emit({ type: "error", message: e instanceof Error ? e.message : String(e) });
    Deno.exit(1);
  }
}
