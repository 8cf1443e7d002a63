/**
 * The processes of the gateway attack tests (tests/gateway_attack_test.ts), so that the
 * gateway's memory (RSS from /proc/<pid>/status) and file descriptors are its own:
 *
 * - `{"role": "backend"}`: a Name Server and a daemon serving `http.thing` with `echo(x)`,
 *   `big(n)` (a text of n characters) and `slow(ms)`; prints `{"ns": "HOST:PORT", "pid": N}`;
 * - `{"role": "gateway", "ns": "HOST:PORT", "options": {...GatewayOptions}}`: the gateway,
 *   and in its process `http.gwstats` with `stats(reduce)` (runs the garbage collector when
 *   started with --expose-gc, a memory-reducing collection with `reduce`, and returns memory
 *   figures and the gateway's connection count) and `log()`; prints
 *   `{"port": N, "pid": N, "limits": {...}}`.
 *
 * Each serves until its stdin closes.
 *
 * Usage: deno run -A --v8-flags=--expose-gc tests/_gateway_attack_server.ts '<JSON>'
 */

import { config } from "../config.ts";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";
import { startGateway } from "../gateway.ts";
import { setLogSink } from "../log.ts";
import { locateNS } from "../locate.ts";
import { startNameServer } from "../naming.ts";

config.LOGLEVEL = "WARNING";
const logLines: string[] = [];
setLogSink((level, message) => {
  if (logLines.length < 10_000) logLines.push(`${level} ${message}`);
});

const { role, ns: nsAddress, options } = JSON.parse(Deno.args[0] ?? "{}") as {
  role: "backend" | "gateway";
  ns?: string;
  options?: Record<string, unknown>;
};
const gc = (globalThis as { gc?: (options?: Record<string, string>) => void }).gc;
const closers: Array<() => Promise<void>> = [];

if (role === "backend") {
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
    }),
    "thing",
  );
  ns.nameServer.register("http.thing", uri.toString());
  closers.push(() => daemon.close(), () => ns.close());
  console.log(JSON.stringify({ ns: `127.0.0.1:${ns.uri.port}`, pid: Deno.pid }));
} else {
  const gateway = await startGateway({ host: "127.0.0.1", port: 0, ns: nsAddress!, ...options });
  // The gateway's own figures, through the gateway: an object of this process.
  const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = daemon.register(
    expose({
      stats: async (reduce: boolean) => {
        for (let i = 0; i < 3; i++) {
          // "last-resort" also gives V8's free heap pages back to the system.
          gc?.(reduce ? { type: "major", execution: "sync", flavor: "last-resort" } : undefined);
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        const m = Deno.memoryUsage();
        const connections = (gateway as { connections?: number }).connections ?? null;
        return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, connections };
      },
      log: () => logLines.splice(0),
    }),
    "gwstats",
  );
  const nameServer = await locateNS(...hostPort(nsAddress!));
  await nameServer.register("http.gwstats", uri.toString());
  await nameServer._pyroRelease();
  closers.push(() => gateway.close(), () => daemon.close());
  console.log(JSON.stringify({
    port: gateway.addr.port,
    pid: Deno.pid,
    limits: (gateway as { limits?: unknown }).limits ?? null,
  }));
}

function hostPort(text: string): [string, number] {
  const at = text.lastIndexOf(":");
  return [text.slice(0, at), Number(text.slice(at + 1))];
}

const buf = new Uint8Array(64);
while ((await Deno.stdin.read(buf)) !== null) { /* keep serving */ }
for (const close of closers) await close();
// As the command line does: after WebSockets were flooded or left unread, some Deno resource
// can keep the event loop alive after the gateway has closed (seen in this test, not yet found).
Deno.exit(0);
