/**
 * Bench role: a Name Server on 127.0.0.1 (free port, no broadcast, no autoclean) on the storage
 * given by `--storage=` (`memory`, `sql:FILE`, `postgresql://…`), with a `bench` object whose
 * `echo` is the baseline of the lookup figures. Emits `ready` with its port and serves until its
 * stdin ends.
 *
 * Run by bench/_naming_storage.ts: `deno run -A bench/_naming_storage_server.ts --storage=memory`
 *
 * @module
 */

import { startNameServer } from "../naming.ts";
import { emit, roleArgs } from "./_stats.ts";
import { BenchObject } from "./_pyro_server.ts";

const args = roleArgs(Deno.args);
try {
  const server = await startNameServer({
    host: "127.0.0.1",
    port: 0,
    broadcast: false,
    autoclean: 0,
    storage: args.storage ?? "memory",
  });
  // The baseline of the lookup figures: an echo served by the same daemon.
  server.daemon.register(new BenchObject(), { id: "bench", expose: ["echo"] });
  emit({ type: "ready", port: server.uri.port });
  for await (const _ of Deno.stdin.readable) { /* serve until stdin ends */ }
  await server.close();
  Deno.exit(0);
} catch (e) {
  emit({ type: "error", message: e instanceof Error ? e.message : String(e) });
  Deno.exit(1);
}
