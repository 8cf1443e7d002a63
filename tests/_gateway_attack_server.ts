/**
 * A gateway in its own process for the gateway attack tests (tests/gateway_attack_test.ts),
 * with the Name Server and a daemon in the same process, so that the memory (RSS from
 * /proc/<pid>/status) and the file descriptors of the gateway's host are its own. Prints one
 * JSON line `{"port": N, "pid": N, "limits": {...}}` once it listens, serves until stdin
 * closes.
 *
 * Serves `http.thing` with `echo(x)`, `big(n)` (a text of n characters), `slow(ms)` (answers
 * after ms, at most 30 s) and `stats(reduce)` (runs the garbage collector when started with
 * --expose-gc, a memory-reducing collection with `reduce`, and returns memory figures).
 *
 * Usage: deno run -A --v8-flags=--expose-gc tests/_gateway_attack_server.ts '<GatewayOptions as JSON>'
 */

import { config } from "../config.ts";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";
import { startGateway } from "../gateway.ts";
import { setLogSink } from "../log.ts";
import { startNameServer } from "../naming.ts";

config.LOGLEVEL = "WARNING";
const logLines: string[] = [];
setLogSink((level, message) => {
  if (logLines.length < 10_000) logLines.push(`${level} ${message}`);
});

const options = JSON.parse(Deno.args[0] ?? "{}");
const gc = (globalThis as { gc?: (options?: Record<string, string>) => void }).gc;
const ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
const daemon = new Daemon({ host: "127.0.0.1", port: 0, maxConnectionsPerAddress: 1_000_000 });
const uri = daemon.register(
  expose({
    echo: (x: unknown) => x,
    big: (n: number) => "x".repeat(Math.min(Number(n) || 0, 64 << 20)),
    slow: async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, Math.min(Number(ms) || 0, 30_000)));
      return ms;
    },
    stats: async (reduce: boolean) => {
      for (let i = 0; i < 3; i++) {
        gc?.(reduce ? { type: "major", execution: "sync", flavor: "last-resort" } : undefined);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      const m = Deno.memoryUsage();
      return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
    },
    log: () => logLines.splice(0),
  }),
  "thing",
);
ns.nameServer.register("http.thing", uri.toString());
const gateway = await startGateway({
  host: "127.0.0.1",
  port: 0,
  ns: `127.0.0.1:${ns.uri.port}`,
  ...options,
});
console.log(JSON.stringify({
  port: gateway.addr.port,
  pid: Deno.pid,
  limits: (gateway as { limits?: unknown }).limits ?? null,
}));

const buf = new Uint8Array(64);
while ((await Deno.stdin.read(buf)) !== null) { /* keep serving */ }
await gateway.close();
await daemon.close();
await ns.close();
