/**
 * A client that dies mid-call (its parent kills it): it makes a session instance, opens an
 * item stream, starts a long call, prints "ready" and waits to be killed.
 *
 * Usage: deno run -A tests/_dying_client.ts PORT
 */

import { createProxy, type UntypedMethods } from "../proxy.ts";

const port = Number(Deno.args[0]);
const session = createProxy<UntypedMethods<"next" | "stream" | "hold">>(
  `PYRO:session@127.0.0.1:${port}`,
);
await session.next();
await session.next();
const stream = await session.stream(1_000_000) as AsyncIterable<number>;
let seen = 0;
for await (const _ of stream) {
  if (++seen === 3) break;
}
// The break above may close the stream; open a second one and leave it open.
const open = (await session.stream(1_000_000) as AsyncIterable<number>)[Symbol.asyncIterator]();
await open.next();
const hold = session.hold(1_500); // still running when the parent kills this process
console.log("ready");
await hold;
