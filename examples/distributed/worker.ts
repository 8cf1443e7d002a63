/**
 * A worker: takes work items from the dispatcher until it is closed, factorizes each number,
 * and hands the result back. Start as many as you like, on as many machines as you like.
 *
 * Run: `deno run -A examples/distributed/worker.ts NAME` (with the Name Server and the
 * dispatcher running).
 *
 * @module
 */

import { createProxy } from "../../mod.ts";
import type { Dispatcher } from "./dispatcher.ts";

function factorize(n: number): number[] {
  const factors: number[] = [];
  for (let d = 2; d * d <= n; d++) {
    while (n % d === 0) {
      factors.push(d);
      n /= d;
    }
  }
  if (n > 1) factors.push(n);
  return factors;
}

const name = Deno.args[0] ?? `worker-${Deno.pid}`;
await using dispatcher = createProxy<Dispatcher>("PYRONAME:example.distributed.dispatcher");
await dispatcher._pyroBind();
console.log(`${name}: ready`);
let done = 0;
for (let item = await dispatcher.getWork(); item !== null; item = await dispatcher.getWork()) {
  await dispatcher.putResult({ ...item, factors: factorize(item.number), worker: name });
  done++;
}
console.log(`${name}: no more work after ${done} items`);
