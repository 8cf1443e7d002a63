/**
 * A daemon and a name server in their own process, for the fuzz and fault tests: prints one
 * JSON line `{"daemon": port, "ns": port}` on stdout once both listen, serves until stdin
 * closes. `stats()` runs the garbage collector (when started with `--v8-flags=--expose-gc`)
 * and returns memory figures.
 *
 * `session` is a class served per connection (instance mode "session"); `stats()` also
 * counts live session instances (after gc) and open item streams.
 *
 * Usage: deno run -A --v8-flags=--expose-gc tests/_fuzz_server.ts [--storage sql:FILE]
 *   [--port N] [--linger MS] [--register NAME --nsport N] [--no-ns]
 */

import { parseArgs } from "node:util";
import { config } from "../config.ts";
import { Daemon } from "../daemon.ts";
import { behavior, expose } from "../expose.ts";
import { locateNS } from "../locate.ts";
import { startNameServer } from "../naming.ts";

config.LOGLEVEL = "NONE";
const args = parseArgs({
  options: {
    storage: { type: "string", default: "memory" },
    port: { type: "string", default: "0" },
    linger: { type: "string", default: "0" },
    register: { type: "string" },
    nsport: { type: "string" },
    "no-ns": { type: "boolean", default: false },
  },
});

let liveSessions = 0;
let openStreams = 0;
const finalized = new FinalizationRegistry<null>(() => liveSessions--);

@expose
@behavior({ instanceMode: "session" })
class Session {
  #n = 0;
  constructor() {
    liveSessions++;
    finalized.register(this, null);
  }
  next(): number {
    return ++this.#n;
  }
  async hold(ms: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, Math.min(Number(ms) || 0, 30_000)));
    return this.#n;
  }
  *stream(n: number): Generator<number> {
    openStreams++;
    try {
      for (let i = 0; i < Math.min(Number(n) || 0, 1_000_000); i++) yield i;
    } finally {
      openStreams--;
    }
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
let calls = 0;
const daemon = new Daemon({
  host: "127.0.0.1",
  port: Number(args.values.port),
  idleTimeout: 5_000,
  iterStreamLinger: Number(args.values.linger),
});
daemon.register(Session, "session");
daemon.register(
  expose({
    echo: (x: unknown) => {
      calls++;
      return x;
    },
    add: (a: number, b: number) => a + b,
    *count(n: number) {
      for (let i = 0; i < Math.min(Number(n) || 0, 1000); i++) yield i;
    },
    calls: () => calls,
    big: (n: number) => new Uint8Array(Math.min(Number(n) || 0, 1 << 24)),
    stats: async () => {
      for (let i = 0; i < 3; i++) {
        gc?.();
        await new Promise((resolve) => setTimeout(resolve, 0)); // let finalizers run
      }
      const m = Deno.memoryUsage();
      return {
        rss: m.rss,
        heapUsed: m.heapUsed,
        external: m.external,
        gc: gc !== undefined,
        connections: daemon.connectionCount,
        liveSessions,
        openStreams,
      };
    },
  }),
  "thing",
);
const ns = args.values["no-ns"] ? null : await startNameServer({
  host: "127.0.0.1",
  port: 0,
  broadcast: false,
  storage: args.values.storage,
});
if (args.values.register !== undefined) {
  const registry = await locateNS("127.0.0.1", Number(args.values.nsport), { broadcast: false });
  await registry.register(args.values.register, daemon.uriFor("thing").toString());
  await registry._pyroRelease();
}
console.log(JSON.stringify({
  daemon: (daemon.addr as Deno.NetAddr).port,
  ns: ns === null ? 0 : (ns.daemon.addr as Deno.NetAddr).port,
  pid: Deno.pid,
}));

// Serve until stdin closes (the parent went away or asked us to stop).
const buf = new Uint8Array(64);
while ((await Deno.stdin.read(buf)) !== null) { /* keep serving */ }
await ns?.close();
await daemon.close();
