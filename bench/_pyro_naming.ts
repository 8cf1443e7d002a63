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
import { createProxy } from "../proxy.ts";
import { BenchObject } from "./_pyro_server.ts";
import type { Bench } from "./_pyro_client.ts";
import {
  emit,
  emitPhase,
  emitRate,
  measureRate,
  type Plan,
  planFrom,
  type Rate,
  roleArgs,
  summarize,
} from "./_stats.ts";

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
  // The baseline of the lookup figure: an echo served by the same daemon.
  const bench = server.daemon.register(new BenchObject(), { id: "bench", expose: ["echo"] });
  await server.nameServer.register("bench.echo", bench.toString());
  emit({ type: "ready", port: server.uri.port, names });
  for await (const _ of Deno.stdin.readable) { /* serve until stdin ends */ }
  await server.close();
}

/** Pairs of runs of the paired lookup figure, and the length of each run. */
const PAIRS = 15;
const PAIR_RUN_MS = 200;

/**
 * Runs `step` and `base` in alternating runs (short runs, many pairs, as bench/_pyro_client.ts
 * pairs its figures) and returns the rate of `step` with the per-pair ratios to `base`.
 */
export async function pairedRate(
  step: () => Promise<number>,
  base: () => Promise<number>,
  plan: Plan,
): Promise<{ rate: Rate; paired: ReturnType<typeof summarize>; baseRates: number[] }> {
  const pairs = plan.runMs > 0 ? Math.max(plan.runs, PAIRS) : plan.runs;
  const runMs = plan.runMs > 0 ? Math.min(plan.runMs, PAIR_RUN_MS) : plan.runMs;
  const rates: number[] = [];
  const baseRates: number[] = [];
  const ratios: number[] = [];
  let steps = 0;
  let cpuUs = 0;
  for (let r = 0; r < pairs; r++) {
    const one: Plan = r === 0
      ? { ...plan, runs: 1, runMs }
      : { ...plan, runs: 1, runMs, warmupMs: 0, warmupSteps: 0 };
    // The side that goes first alternates too.
    const first = r % 2 === 0 ? base : step;
    const a = await measureRate(first, one);
    const b = await measureRate(first === base ? step : base, one);
    const [s, t] = first === base ? [b, a] : [a, b];
    rates.push(s.median);
    baseRates.push(t.median);
    ratios.push(s.median / t.median);
    steps += s.steps + t.steps; // CPU time covers both sides' calls
    cpuUs += s.cpuUs + t.cpuUs;
  }
  return {
    rate: { ...summarize(rates), steps, units: steps, cpuUs },
    paired: summarize(ratios),
    baseRates,
  };
}

async function client(args: Record<string, string>): Promise<void> {
  const plan = planFrom(args);
  const names = Number(args.names ?? 100_000);
  const port = Number(args.port);
  const ns = await locateNS("127.0.0.1", port, { serializer: "msgpack" });
  const bench = createProxy<Bench>(`PYRO:bench@127.0.0.1:${port}`, { serializer: "msgpack" });
  try {
    emitPhase("lookup");
    // Paired with a sequential echo served by the same daemon: the Name Server should add
    // nothing measurable beyond a call.
    const lookup = await pairedRate(async () => {
      await ns.lookup("bench.g7.n7");
      return 1;
    }, async () => {
      await bench.echo("hello");
      return 1;
    }, plan);
    emitRate("lookup", lookup.rate, lookup.rate.steps, {
      paired: lookup.paired,
      pairedRaw: summarize(lookup.baseRates),
      pairedWith: 'echo("hello") served by the same daemon',
    });
    emitPhase("pyroname-connect");
    // A new proxy for a name (resolved through this Name Server, then connected), paired with
    // a new proxy for the PYRO: URI the name stands for.
    const connectCall = (uri: string) => async () => {
      const q = createProxy<Bench>(uri, { serializer: "msgpack" });
      await q.echo("hello");
      await q._pyroRelease();
      return 1;
    };
    const byName = await pairedRate(
      connectCall(`PYRONAME:bench.echo@127.0.0.1:${port}`),
      connectCall(`PYRO:bench@127.0.0.1:${port}`),
      plan,
    );
    emitRate("pyroname-connect", byName.rate, byName.rate.steps, {
      paired: byName.paired,
      pairedRaw: summarize(byName.baseRates),
      pairedWith: "new proxies for the PYRO: URI the name stands for",
      pairedUnit: "conn/s",
    });
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
    await bench._pyroRelease();
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
