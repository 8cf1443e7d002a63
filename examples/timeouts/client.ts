/**
 * Timeouts and reconnects. A proxy's `timeout` (milliseconds) bounds every call; a call that
 * takes longer fails with `TimeoutError`, and the next call connects again. An `AbortSignal`
 * bounds one call without closing the connection. When the server restarts, calls fail with
 * `ConnectionClosedError` until the client reconnects (`maxRetries` retries automatically;
 * here the client does it by hand to show how).
 *
 * Run: `deno run -A examples/timeouts/client.ts` (with the Name Server and the server running).
 *
 * @module
 */

import { CommunicationError, createProxy, TimeoutError } from "../../mod.ts";
import type { Service } from "./server.ts";

await using service = createProxy<Service>("PYRONAME:example.timeouts.service", {
  timeout: 1500,
  maxRetries: 0,
});
console.log(`client: slow(50) ${await service.slow(50)}`);
try {
  await service.slow(3000);
} catch (e) {
  if (!(e instanceof TimeoutError)) throw e;
  console.log(`client: slow(3000) failed with TimeoutError: ${e.message}`);
}
console.log(`client: the next call connects again: slow(10) ${await service.slow(10)}`);

try {
  await service._pyroWith({ signal: AbortSignal.timeout(50) }).slow(300);
} catch (e) {
  if (!(e instanceof DOMException)) throw e;
  console.log(`client: slow(300) with an abort signal failed with ${e.name}`);
}
// The connection stays open. Replies come back in request order, so the next call's reply
// waits for the abandoned call's reply (which is dropped).
console.log(`client: still connected: ${service._pyroConnected}`);

console.log(`client: asking the server to restart: ${await service.restart()}`);
let restarts = 0;
for (let attempt = 1; restarts === 0; attempt++) {
  try {
    restarts = await service.restarts();
  } catch (e) {
    if (!(e instanceof CommunicationError) || attempt >= 50) throw e;
    console.log(`client: a call failed with ${e.name}: ${e.message}`);
    await service._pyroRelease(); // forget the broken connection; the next call reconnects
  }
  if (restarts === 0) await new Promise((resolve) => setTimeout(resolve, 100)); // let it come back
}
console.log(`client: reconnected; the server restarted ${restarts} time(s)`);
