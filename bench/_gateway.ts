/**
 * HTTP gateway figures: echo("hello") calls per second through the gateway (`POST
 * /pyro/http.bench/echo` with a JSON body, HTTP/1.1 keep-alive, from `fetch`), against a Deno
 * proxy calling the same daemon directly over TCP, one call at a time and with 16 in flight,
 * in alternating runs. Daemon, gateway (with its Name Server) and clients are three processes;
 * the clients run in the bench process. Unpinned mode only (three processes on one CPU would
 * measure the scheduler).
 *
 * @module
 */

import { createProxy } from "../proxy.ts";
import type { Context } from "./_pyro_groups.ts";
import { Role, withRoles } from "./_runner.ts";
import { summarize } from "./_stats.ts";

/** The figures of this group. */
export const GATEWAY_FIGURES = {
  tcp: "gateway.tcp.echo.msgpack",
  http: "gateway.http.echo",
  tcp16: "gateway.tcp.echo-16.msgpack",
  http16: "gateway.http.echo-16",
} as const;

const CONCURRENCY = 16;

/** Calls per second of one run of `lanes` loops: at least `steps` calls each and `ms` milliseconds. */
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

/** Measures the gateway figures (see the module doc). */
export async function gatewayGroup(ctx: Context): Promise<void> {
  const names = Object.values(GATEWAY_FIGURES);
  if (ctx.mode === "pinned") {
    for (const n of names) ctx.put(n, { unavailable: "measured unpinned only (three processes)" });
    return;
  }
  try {
    await withRoles(async (start) => {
      const server = start(Role.deno("_pyro_server.ts", ["server"], { mode: ctx.mode }));
      const uri = String((await server.expect("ready", 30_000)).uri);
      const gateway = start(Role.deno("_gateway_server.ts", [`--uri=${uri}`], { mode: ctx.mode }));
      const url = `${(await gateway.expect("ready", 30_000)).url}pyro/http.bench/echo`;
      await using tcp = createProxy<{ echo(x: string): string }>(uri, { serializer: "msgpack" });
      const body = JSON.stringify({ args: ["hello"] });
      const headers = { "Content-Type": "application/json" };
      const http = async () => {
        const reply = await fetch(url, { method: "POST", headers, body });
        if (reply.status !== 200) throw new Error(`gateway answered ${reply.status}`);
        await reply.text();
      };
      const echo = () => tcp.echo("hello");
      const plan = ctx.plan;
      const runs: Array<[keyof typeof GATEWAY_FIGURES, () => Promise<unknown>, number]> = [
        ["tcp", echo, 1],
        ["http", http, 1],
        ["tcp16", echo, CONCURRENCY],
        ["http16", http, CONCURRENCY],
      ];
      for (const [, call, lanes] of runs) {
        await runRate(call, lanes, plan.warmupSteps, plan.warmupMs);
      }
      const samples: Record<string, number[]> = { tcp: [], http: [], tcp16: [], http16: [] };
      for (let r = 0; r < plan.runs; r++) {
        for (const [key, call, lanes] of runs) {
          samples[key]!.push(await runRate(call, lanes, plan.minSteps, plan.runMs));
        }
      }
      for (const key of Object.keys(GATEWAY_FIGURES) as Array<keyof typeof GATEWAY_FIGURES>) {
        const s = summarize(samples[key]!);
        ctx.put(GATEWAY_FIGURES[key], { ...s, value: s.median });
      }
    });
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200);
    ctx.progress(`  failed: ${reason}`);
    for (const n of names) ctx.put(n, { unavailable: reason });
  }
}
