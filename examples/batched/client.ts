/**
 * Batched calls: record many calls on a batch, send them in one message, and get all results
 * back in one reply. A failing call stops the batch; `_pyroRunSettled()` shows how far it got.
 *
 * Run: `deno run -A examples/batched/client.ts` (with the Name Server and the server running).
 *
 * @module
 */

import { createBatch, createProxy, RemoteError } from "../../mod.ts";
import type { Calculator } from "./server.ts";

await using calc = createProxy<Calculator>("PYRONAME:example.batched");

const batch = createBatch(calc);
for (let i = 1; i <= 5; i++) batch.add(i, 100);
batch.multiply(6, 7);
batch.divide(22, 7);
console.log(`client: sending ${batch._pyroCalls} calls in one batch`);
const results = await batch._pyroRun();
console.log(`client: results ${results.map((r) => Number(r).toFixed(2)).join(" ")}`);
console.log(`client: the server saw ${await calc.messages()} message(s)`);

const failing = calc._pyroBatch();
failing.add(1, 2);
failing.divide(1, 0);
failing.add(3, 4);
try {
  await failing._pyroRun();
} catch (e) {
  if (!(e instanceof RemoteError)) throw e;
  console.log(`client: the batch failed: ${e.remoteClass}: ${e.message}`);
}

failing.add(1, 2);
failing.divide(1, 0);
failing.add(3, 4);
const settled = await failing._pyroRunSettled();
const outcomes = settled.map((s) =>
  s.status === "fulfilled" ? `ok ${s.value}` : `failed (${(s.reason as Error).message})`
);
console.log(`client: ${outcomes.length} of 3 calls ran: ${outcomes.join(", ")}`);
