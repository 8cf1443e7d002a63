/**
 * Test helper process: a Name Server on 127.0.0.1 (free port, no broadcast) on the storage
 * given as the first argument, with autoclean every `PERIOD` ms removing names unreachable for
 * `AFTER` ms (second and third arguments; 0 = no autoclean). Prints `URI <uri>` once serving,
 * and serves until killed or its stdin closes.
 *
 * Run: `deno run -A tests/_pg_ns.ts postgresql://… [PERIOD] [AFTER]`
 *
 * @module
 */

import { startNameServer } from "../naming.ts";

const [storage, period, after] = Deno.args;
const server = await startNameServer({
  host: "127.0.0.1",
  port: 0,
  broadcast: false,
  storage: storage ?? "memory",
  autoclean: Number(period ?? 0),
  ...(after !== undefined ? { autocleanAfter: Number(after) } : {}),
});
console.log(`URI ${server.uri}`);
// Serve until the parent closes our stdin (or kills us).
for await (const _ of Deno.stdin.readable) { /* nothing to read */ }
await server.close();
