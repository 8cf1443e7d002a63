/**
 * Name Server storage figures: sequential `lookup` and `register` calls per second through a
 * Name Server on memory, SQLite and PostgreSQL storage, in alternating runs of the same
 * process run; and, with two Name Servers on one PostgreSQL database, `lookup` through one
 * while the other takes `register` calls from 4 loops (and the write rate reached meanwhile).
 * The Name Servers are processes of their own; PostgreSQL is a throw-away cluster started with
 * tests/_postgres.ts with PostgreSQL's default durability (`fsync` on, commits flushed), as
 * SQLite's are (its figures are unavailable where no PostgreSQL can be had). Unpinned mode only.
 *
 * @module
 */

import { locateNS, type NameServer } from "../locate.ts";
import type { Context } from "./_pyro_groups.ts";
import { Role, withRoles } from "./_runner.ts";
import { summarize } from "./_stats.ts";
import { postgresUnavailable, startPostgres } from "../tests/_postgres.ts";

/** The storages measured, by figure label. */
const STORES = ["memory", "sqlite", "postgres"] as const;

/** The figures of this group. */
export const NAMING_STORAGE_FIGURES = {
  lookup: STORES.map((s) => `ns.store.${s}.lookup`),
  register: STORES.map((s) => `ns.store.${s}.register`),
  clusterLookup: "ns.cluster.lookup-while-writing",
  clusterWrites: "ns.cluster.register-4-alongside",
} as const;

/** Calls per second of `lanes` loops, each at least `steps` calls and `ms` milliseconds. */
async function runRate(
  call: () => Promise<unknown>,
  lanes: number,
  steps: number,
  ms: number,
): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: lanes }, async () => {
    let mine = 0;
    while (mine < steps || performance.now() - t0 < ms) {
      await call();
      mine++;
      n++;
    }
  }));
  return n / ((performance.now() - t0) / 1000);
}

/** Measures the storage figures (see the module doc). */
export async function namingStorageGroup(ctx: Context): Promise<void> {
  const all = [
    ...NAMING_STORAGE_FIGURES.lookup,
    ...NAMING_STORAGE_FIGURES.register,
    NAMING_STORAGE_FIGURES.clusterLookup,
    NAMING_STORAGE_FIGURES.clusterWrites,
  ];
  if (ctx.mode === "pinned") {
    for (const n of all) ctx.put(n, { unavailable: "measured unpinned only (several processes)" });
    return;
  }
  const noPostgres = postgresUnavailable();
  const cluster = noPostgres === null ? await startPostgres({ durable: true }) : null;
  const proxies: NameServer[] = [];
  try {
    await withRoles(async (start) => {
      const open = async (storage: string) => {
        const role = start(Role.deno("_naming_storage_server.ts", [`--storage=${storage}`], {
          mode: ctx.mode,
        }));
        const port = Number((await role.expect("ready", 60_000)).port);
        const ns = await locateNS("127.0.0.1", port, { serializer: "msgpack" });
        proxies.push(ns);
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
      const register = (ns: NameServer) => () =>
        ns.register(`bench.n${seq++}`, "PYRO:obj@127.0.0.1:4000", false, ["bench"]);
      for (const [, ns] of stores) {
        await ns.register("bench.target", "PYRO:target@127.0.0.1:4000", false, ["bench"]);
      }
      const plan = ctx.plan;
      for (const [, ns] of stores) {
        await runRate(lookup(ns), 1, plan.warmupSteps, plan.warmupMs);
        await runRate(register(ns), 1, plan.warmupSteps, plan.warmupMs);
      }
      const samples = new Map<string, number[]>();
      const add = (name: string, v: number) => samples.set(name, [...(samples.get(name) ?? []), v]);
      for (let r = 0; r < plan.runs; r++) {
        for (const [label, ns] of stores) {
          add(`ns.store.${label}.lookup`, await runRate(lookup(ns), 1, plan.minSteps, plan.runMs));
          add(
            `ns.store.${label}.register`,
            await runRate(register(ns), 1, plan.minSteps, plan.runMs),
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
            await runRate(lookup(reader), 1, plan.minSteps, plan.runMs),
          );
          writing = false;
          await writers;
          add(NAMING_STORAGE_FIGURES.clusterWrites, writes / ((performance.now() - t0) / 1000));
        }
      }
      for (const name of all) {
        const s = samples.get(name);
        if (s) ctx.put(name, { ...summarize(s), value: summarize(s).median });
        else ctx.put(name, { unavailable: `no PostgreSQL: ${noPostgres}` });
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
