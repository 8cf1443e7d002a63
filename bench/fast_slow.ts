/**
 * Head-of-line blocking on one proxy (issue 18): fast calls issued while a slow call is pending
 * on the same proxy. A slow call (100 ms) is always in flight; fast `echo` calls go one after
 * another; prints the fast calls' p50 and p99 latency, and those of the same fast calls with
 * no slow call pending, as a baseline measured in the same run.
 *
 * Usage: deno run -A bench/fast_slow.ts [fast calls, default 300]
 */

import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";
import { createProxy } from "../proxy.ts";

const count = Number(Deno.args[0] ?? 300);
await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
const uri = daemon.register(
  expose({
    echo: (x: unknown) => x,
    slow: (ms: number) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
  }),
  "thing",
);
await using proxy = createProxy<
  { echo(x: number): Promise<number>; slow(ms: number): Promise<number> }
>(
  uri,
);
await proxy.echo(0);

async function fastCalls(): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await proxy.echo(i);
    out.push(performance.now() - start);
  }
  return out;
}

function pct(values: number[], p: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!.toFixed(2);
}

const alone = await fastCalls();
let stop = false;
const slowLoop = (async () => {
  while (!stop) await proxy.slow(100);
})();
const mixed = await fastCalls();
stop = true;
await slowLoop;
console.log(
  `fast calls alone: p50 ${pct(alone, 0.5)} ms, p99 ${pct(alone, 0.99)} ms; ` +
    `with a 100 ms call pending on the same proxy: p50 ${pct(mixed, 0.5)} ms, p99 ${
      pct(mixed, 0.99)
    } ms (${count} calls each)`,
);
