/**
 * Replies as calls complete (issue 18): the daemon answers each call when it finishes, and
 * the proxy matches replies to calls by seq, so a fast call does not wait behind a slow one on
 * the same proxy. `deno run -A bench/fast_slow.ts` gives the latency figures.
 */

import assert from "node:assert/strict";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";
import { createProxy } from "../proxy.ts";

Deno.test("A fast call on a proxy returns while a slow call on the same proxy is pending", async () => {
  const gate = Promise.withResolvers<void>();
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = daemon.register(
    expose({
      slow: async () => {
        await gate.promise;
        return "slow";
      },
      fast: (x: number) => x,
    }),
    "thing",
  );
  // The timeout only turns a regression (replies in request order) into a failure, not a hang.
  await using proxy = createProxy<{ slow(): Promise<string>; fast(x: number): Promise<number> }>(
    uri,
    { timeout: 10_000 },
  );
  const slow = proxy.slow();
  const fast = await Promise.all([proxy.fast(1), proxy.fast(2)]);
  assert.deepEqual(fast, [1, 2]);
  gate.resolve();
  assert.equal(await slow, "slow");
  assert.equal(await proxy.fast(3), 3); // the link is still in step
});
