/**
 * The failover client: one proxy for `PYROMETA:service:example.failover`, which resolves to a
 * live server of the service. It makes the server that answers crash, and keeps calling: the
 * proxy (with retries) reconnects, resolves again, skips the dead server's registration and
 * carries on with another server.
 *
 * Run: `deno run -A examples/failover/client.ts` (with two or more servers running).
 *
 * @module
 */

import { createProxy } from "../../mod.ts";

interface Worker {
  whoami(): Promise<string>;
  crash(): Promise<void>;
}

await using worker = createProxy<Worker>("PYROMETA:service:example.failover", { maxRetries: 2 });
const first = await worker.whoami();
console.log(`client: served by ${first}`);
// A oneway call: the server ends while handling it, before the next call on this connection.
await worker._pyroWith({ oneway: true }).crash();
console.log(`client: ${first} crashed`);
for (let i = 0; i < 3; i++) {
  const now = await worker.whoami();
  if (now === first) throw new Error(`still served by ${first} after it crashed`);
  console.log(`client: served by ${now}`);
}
console.log("client: failed over without an error");
