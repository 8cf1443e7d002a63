/**
 * Greedy clients for the attack tests, in their own process so that they load the daemon and
 * not the test process: `connections` connections to the daemon on 127.0.0.1:`port`, each
 * keeping `window` echo calls in flight; prints "ready" once 2,000 calls have been answered
 * (the load is on), runs until stdin closes, then prints the number of calls answered.
 *
 * Usage: deno run -A tests/_greedy_client.ts <port> <connections> <window>
 */

import { RawClient } from "./_raw_client.ts";

const [port, connections, window] = Deno.args.map(Number) as [number, number, number];
let stopping = false;
let answered = 0;
const addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port };
const clients = await Promise.all(
  Array.from({ length: connections }, () => RawClient.connected(addr, "thing")),
);
const warm = Promise.withResolvers<void>();
const loops = clients.map(async (client) => {
  for (let i = 0; i < window; i++) await client.send("thing", "echo", [i]);
  while (!stopping) {
    await client.reply();
    if (++answered === 2000) warm.resolve();
    await client.send("thing", "echo", [answered]);
  }
  for (let i = 0; i < window; i++) await client.reply();
  client.close();
});
await warm.promise;
console.log("ready");
const buf = new Uint8Array(16);
while ((await Deno.stdin.read(buf)) !== null) { /* run until stdin closes */ }
stopping = true;
await Promise.all(loops);
console.log(answered);
