/**
 * Oneway calls: the call to a oneway method returns as soon as the request is sent. Any
 * method can also be called oneway for one call with `_pyroWith({ oneway: true })`.
 *
 * Run: `deno run -A examples/oneway/client.ts` (with the Name Server and the server running).
 *
 * @module
 */

import { createProxy } from "../../mod.ts";
import type { Worker } from "./server.ts";

await using worker = createProxy<Worker>("PYRONAME:example.oneway");
console.log(`client: the worker is ${await worker.status()}`);

let start = performance.now();
await worker.startWork("the report", 1000);
console.log(`client: startWork() returned after ${Math.round(performance.now() - start)} ms`);
console.log(`client: the worker is ${await worker.status()}`);
console.log(`client: ${await worker.result()}`);
console.log(`client: the worker is ${await worker.status()}`);

// A normal method sent oneway for one call: no result comes back.
start = performance.now();
const value = await worker._pyroWith({ oneway: true }).status();
console.log(`client: status() sent oneway returned ${value} at once`);
