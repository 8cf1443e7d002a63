/**
 * The client of the distributed-computing example: puts work items into the dispatcher,
 * collects the results the workers produce, and closes the dispatcher so the workers stop.
 *
 * Run: `deno run -A examples/distributed/client.ts` (with the Name Server, the dispatcher and
 * some workers running).
 *
 * @module
 */

import { createProxy } from "../../mod.ts";
import type { Dispatcher, WorkResult } from "./dispatcher.ts";

const numbers = [
  600851475143,
  8589934591,
  1234567890,
  987654321,
  2147483647,
  4294967297,
  999999000001,
  123456789012,
  18446744073,
  3000000019,
];
await using dispatcher = createProxy<Dispatcher>("PYRONAME:example.distributed.dispatcher");
await Promise.all(numbers.map((number, id) => dispatcher.putWork({ id, number })));
console.log(`client: put ${numbers.length} work items`);

const results: WorkResult[] = [];
while (results.length < numbers.length) {
  const result = await dispatcher.getResult();
  if (result === null) break;
  results.push(result);
}
results.sort((a, b) => a.id - b.id);
for (const r of results) console.log(`client: ${r.number} = ${r.factors.join(" x ")}`);
const workers = new Set(results.map((r) => r.worker));
console.log(`client: ${results.length} results from ${workers.size} worker(s)`);
await dispatcher.close();
