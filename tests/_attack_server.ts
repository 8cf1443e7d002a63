/**
 * A daemon in its own process for the attack tests (tests/attack_test.ts), so that its memory
 * (RSS from /proc/<pid>/status) and its file descriptors are its own. Prints one JSON line
 * `{"port": N, "pid": N, "limits": {...}}` once it listens, serves until stdin closes.
 *
 * Serves `thing` with `echo(x)`, `slow(ms)` (answers after ms, at most 30 s) and
 * `stats(reduce)` (runs the garbage collector when started with --expose-gc, a memory-reducing
 * collection with `reduce`, and returns memory figures and the connection count).
 *
 * Usage: deno run -A --v8-flags=--expose-gc tests/_attack_server.ts '<DaemonOptions as JSON>'
 */

import { config } from "../config.ts";
import { Daemon, type DaemonOptions } from "../daemon.ts";
import { expose } from "../expose.ts";
import { setLogSink } from "../log.ts";

config.LOGLEVEL = "WARNING";
const logLines: string[] = [];
setLogSink((level, message) => {
  if (logLines.length < 10_000) logLines.push(`${level} ${message}`);
});

const options = JSON.parse(Deno.args[0] ?? "{}") as DaemonOptions;
const gc = (globalThis as { gc?: (options?: Record<string, string>) => void }).gc;
const daemon = new Daemon({ host: "127.0.0.1", port: 0, ...options });
daemon.register(
  expose({
    echo: (x: unknown) => x,
    slow: async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, Math.min(Number(ms) || 0, 30_000)));
      return ms;
    },
    stats: async (reduce: boolean) => {
      for (let i = 0; i < 3; i++) {
        // "last-resort" is the collection V8 runs under memory pressure: it also gives free
        // heap pages back to the system, which an ordinary collection keeps for reuse.
        gc?.(reduce ? { type: "major", execution: "sync", flavor: "last-resort" } : undefined);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      const m = Deno.memoryUsage();
      return {
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        connections: daemon.connectionCount,
      };
    },
    log: () => logLines.splice(0),
  }),
  "thing",
);
console.log(JSON.stringify({
  port: (daemon.addr as Deno.NetAddr).port,
  pid: Deno.pid,
  limits: daemon.limits,
}));

const buf = new Uint8Array(64);
while ((await Deno.stdin.read(buf)) !== null) { /* keep serving */ }
await daemon.close();
