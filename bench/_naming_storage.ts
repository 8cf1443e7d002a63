/**
 * Name Server storage figures: sequential `lookup` and `register` calls per second through a
 * Name Server on memory, SQLite and PostgreSQL storage, in alternating runs of the same
 * process run (each lookup run paired with a run of `echo` calls served by the same Name
 * Server's daemon, the baseline of the lookup target); and, with two Name Servers on one PostgreSQL database, `lookup` through one
 * while the other takes `register` calls from 4 loops (and the write rate reached meanwhile).
 * The Name Servers are processes of their own; PostgreSQL is a throw-away cluster started with
 * tests/_postgres.ts with PostgreSQL's default durability (`fsync` on, commits flushed), as
 * SQLite's are (its figures are unavailable where no PostgreSQL can be had). Unpinned mode only.
 *
 * @module
 */

import { locateNS, type NameServer } from "../locate.ts";
import { createProxy, type Proxy } from "../proxy.ts";
import type { Bench } from "./_pyro_client.ts";
import type { Context } from "./_pyro_groups.ts";
import { Role, withRoles } from "./_runner.ts";
import { laneRate, processCpuUs, summarize } from "./_stats.ts";
import { postgresUnavailable, startPostgres } from "../tests/_postgres.ts";

/** The storages measured, by figure label. */
const STORES = ["memory", "sqlite", "postgres"] as const;

/** The figures of this group. */
export const NAMING_STORAGE_FIGURES = {
  lookup: STORES.map((s) => `ns.store.${s}.lookup`),
  register: STORES.map((s) => `ns.store.${s}.register`),
  postgresQuery: "ns.store.postgres.query-only",
  clusterLookup: "ns.cluster.lookup-while-writing",
  clusterWrites: "ns.cluster.register-4-alongside",
} as const;

/** Pairs of lookup and echo runs per storage in a full run, and the length of each run. */
const PAIRS = 31;
const PAIR_RUN_MS = 200;

/** Measures the storage figures (see the module doc). */
export async function namingStorageGroup(ctx: Context): Promise<void> {
  const all = [
    ...NAMING_STORAGE_FIGURES.lookup,
    ...NAMING_STORAGE_FIGURES.register,
    NAMING_STORAGE_FIGURES.postgresQuery,
    NAMING_STORAGE_FIGURES.clusterLookup,
    NAMING_STORAGE_FIGURES.clusterWrites,
  ];
  if (ctx.mode === "pinned") {
    for (const n of all) ctx.put(n, { unavailable: "measured unpinned only (several processes)" });
    return;
  }
  const noPostgres = postgresUnavailable();
  const cluster = noPostgres === null ? await startPostgres({ durable: true }) : null;
  const proxies: { _pyroRelease(): Promise<void> }[] = [];
  const echoes = new Map<NameServer, Proxy<Bench>>();
  const roles = new Map<NameServer, Role>();
  try {
    await withRoles(async (start) => {
      const open = async (storage: string) => {
        const role = start(Role.deno("_naming_storage_server.ts", [`--storage=${storage}`], {
          mode: ctx.mode,
        }));
        const port = Number((await role.expect("ready", 60_000)).port);
        const ns = await locateNS("127.0.0.1", port, { serializer: "msgpack" });
        const bench = createProxy<Bench>(`PYRO:bench@127.0.0.1:${port}`, { serializer: "msgpack" });
        proxies.push(ns, bench);
        echoes.set(ns, bench);
        roles.set(ns, role);
        return ns;
      };
      const stores: [string, NameServer][] = [
        ["memory", await open("memory")],
        ["sqlite", await open(`sql:${ctx.tmp}/ns-bench.db`)],
      ];
      let writer: NameServer | null = null;
      if (cluster) {
        stores.push(["postgres", await open(cluster.url)]);
        writer = await open(cluster.url);
      }
      let seq = 0;
      const lookup = (ns: NameServer) => () => ns.lookup("bench.target");
      const echo = (ns: NameServer) => () => echoes.get(ns)!.echo("hello");
      const register = (ns: NameServer) => () =>
        ns.register(`bench.n${seq++}`, "PYRO:obj@127.0.0.1:4000", false, ["bench"]);
      for (const [, ns] of stores) {
        await ns.register("bench.target", "PYRO:target@127.0.0.1:4000", false, ["bench"]);
      }
      const plan = ctx.plan;
      for (const [, ns] of stores) {
        await laneRate([lookup(ns)], plan.warmupSteps, plan.warmupMs);
        await laneRate([echo(ns)], plan.warmupSteps, plan.warmupMs);
      }
      const samples = new Map<string, number[]>();
      const add = (name: string, v: number) => samples.set(name, [...(samples.get(name) ?? []), v]);
      const ratios = new Map<string, number[]>();
      const echoRates = new Map<string, number[]>();
      const push = (m: Map<string, number[]>, k: string, v: number) =>
        m.set(k, [...(m.get(k) ?? []), v]);
      // Lookups paired with echoes on the same daemon, in short runs and many pairs (a burst
      // of load on the machine then spoils few pairs); the side that goes first alternates, and
      // so does the storage that goes first in a round. Nothing else runs in this process
      // meanwhile: the PostgreSQL client of the query-only figure and the registrations (and
      // the garbage and disk writes they leave) come after the pairs.
      const pairs = plan.runMs > 0 ? Math.max(plan.runs, PAIRS) : plan.runs;
      const pairMs = Math.min(plan.runMs, PAIR_RUN_MS);
      // CPU time per call of both sides in those runs, by `<storage>.<lookup|echo>`: robust to
      // load on the machine, unlike the rates (the server's is its Name Server process only).
      const cpu = new Map<string, { calls: number; server: number; client: number }>();
      const run = async (key: string, ns: NameServer, call: () => Promise<unknown>) => {
        let calls = 0;
        const counted = () => (calls++, call());
        const role = roles.get(ns)!;
        const server0 = role.cpuUs();
        const client0 = processCpuUs();
        const rate = await laneRate([counted], plan.minSteps, pairMs);
        const c = cpu.get(key) ?? { calls: 0, server: 0, client: 0 };
        cpu.set(key, {
          calls: c.calls + calls,
          server: c.server + role.cpuUs() - server0,
          client: c.client + processCpuUs() - client0,
        });
        return rate;
      };
      for (let r = 0; r < pairs; r++) {
        for (let i = 0; i < stores.length; i++) {
          const [label, ns] = stores[(i + r) % stores.length]!;
          const e0 = r % 2 === 0 ? await run(`${label}.echo`, ns, echo(ns)) : 0;
          const l = await run(`${label}.lookup`, ns, lookup(ns));
          const e = r % 2 === 0 ? e0 : await run(`${label}.echo`, ns, echo(ns));
          add(`ns.store.${label}.lookup`, l);
          push(ratios, label, l / e);
          push(echoRates, label, e);
        }
      }
      // The lookup's statement alone, straight from this process: what every lookup through a
      // Name Server on PostgreSQL would pay on top of the call without its mirror of the
      // namespace (`?mirror=off`), and why lookups are answered from that mirror.
      const pg = cluster
        ? (await import("npm:postgres@4.2.0")).default(cluster.url, { max: 1 })
        : null;
      if (pg) {
        const query = () => pg`SELECT uri, tags FROM pyro_ns_names WHERE name = ${"bench.target"}`;
        await laneRate([query], plan.warmupSteps, plan.warmupMs);
        for (let r = 0; r < pairs; r++) {
          add(NAMING_STORAGE_FIGURES.postgresQuery, await laneRate([query], plan.minSteps, pairMs));
        }
        await pg.end({ timeout: 1 });
      }
      for (const [, ns] of stores) {
        await laneRate([register(ns)], plan.warmupSteps, plan.warmupMs);
      }
      for (let r = 0; r < plan.runs; r++) {
        for (const [label, ns] of stores) {
          add(
            `ns.store.${label}.register`,
            await laneRate([register(ns)], plan.minSteps, plan.runMs),
          );
        }
        if (writer) {
          // Lookups through one Name Server while the other takes writes from 4 loops.
          let writing = true;
          let writes = 0;
          const t0 = performance.now();
          const writers = Promise.all(Array.from({ length: 4 }, async () => {
            while (writing) {
              await writer!.register(`bench.w${seq++}`, "PYRO:w@127.0.0.1:4000", false, ["w"]);
              writes++;
            }
          }));
          const reader = stores.find(([l]) => l === "postgres")![1];
          add(
            NAMING_STORAGE_FIGURES.clusterLookup,
            await laneRate([lookup(reader)], plan.minSteps, plan.runMs),
          );
          writing = false;
          await writers;
          add(NAMING_STORAGE_FIGURES.clusterWrites, writes / ((performance.now() - t0) / 1000));
        }
      }
      for (const name of all) {
        const s = samples.get(name);
        if (!s) {
          ctx.put(name, { unavailable: `no PostgreSQL: ${noPostgres}` });
          continue;
        }
        const label = /^ns\.store\.(\w+)\.lookup$/.exec(name)?.[1];
        const paired = label === undefined ? undefined : ratios.get(label);
        if (paired === undefined) {
          ctx.put(name, { ...summarize(s), value: summarize(s).median });
          continue;
        }
        const ratio = summarize(paired);
        const base = summarize(echoRates.get(label!)!);
        const range = (x: typeof ratio) =>
          `${x.median.toFixed(2)} (${x.min.toFixed(2)}..${x.max.toFixed(2)})`;
        const perCall = (kind: string) => {
          const c = cpu.get(`${label}.${kind}`)!;
          return { server: c.server / c.calls, client: c.client / c.calls };
        };
        const [l, e] = [perCall("lookup"), perCall("echo")];
        const us = (x: { server: number; client: number }) =>
          `${x.server.toFixed(1)}+${x.client.toFixed(1)}`;
        ctx.put(name, {
          ...summarize(s),
          value: summarize(s).median,
          paired: ratio,
          serverCpuUs: l.server,
          clientCpuUs: l.client,
          note: `paired with echo("hello") served by the same daemon in alternating runs: ratio ${
            range(ratio)
          }; baseline ${Math.round(base.median)} calls/s; cpu us/call srv+cli: lookup ${
            us(l)
          }, echo ${us(e)}`,
        });
      }
      for (const ns of proxies) await ns._pyroRelease();
    });
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200);
    ctx.progress(`  failed: ${reason}`);
    for (const n of all) ctx.put(n, { unavailable: reason });
  } finally {
    for (const ns of proxies) await ns._pyroRelease().catch(() => {});
    await cluster?.close();
  }
}
