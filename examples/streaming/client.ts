/**
 * Item streams: iterate a remote generator with `for await`; `break` closes it on the server.
 *
 * Run: `deno run -A examples/streaming/client.ts` (with the Name Server and the server running).
 *
 * @module
 */

import { createProxy } from "../../mod.ts";
import type { Streamer } from "./server.ts";

await using streamer = createProxy<Streamer>("PYRONAME:example.streaming");

const counted: number[] = [];
for await (const n of await streamer.count(5)) counted.push(n);
console.log(`client: count(5) streamed ${counted.join(" ")}`);

const ticks: string[] = [];
for await (const tick of await streamer.ticker("tick")) {
  ticks.push(tick);
  if (ticks.length === 3) break; // closes the stream on the server
}
console.log(`client: took ${ticks.join(" ")} from the endless ticker, then stopped`);

const stream = await streamer.ticker("tock");
console.log(`client: next() gives ${(await stream.next()).value}`);
await stream.close();
console.log(`client: the server closed ${await streamer.closedEarly()} streams early`);

console.log(`client: squares(4) arrived whole: ${JSON.stringify(await streamer.squares(4))}`);
