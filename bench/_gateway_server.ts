/**
 * The HTTP gateway role of the benchmark suite: a Name Server with one name, `http.bench`,
 * for the daemon URI given as `--uri=`, and a gateway in front of it, in their own process.
 *
 * Run by bench/_gateway.ts: `deno run -A bench/_gateway_server.ts --uri=PYRO:bench@...`. It
 * writes `{"type":"ready","url":...}` and serves until its standard input ends.
 *
 * @module
 */

import { startGateway } from "../gateway.ts";
import { startNameServer } from "../naming.ts";
import { emit, roleArgs } from "./_stats.ts";

if (import.meta.main) {
  const args = roleArgs(Deno.args);
  try {
    const ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
    ns.nameServer.register("http.bench", String(args.uri));
    const gateway = await startGateway({
      host: "127.0.0.1",
      port: 0,
      ns: `127.0.0.1:${ns.uri.port}`,
      maxConcurrentCalls: 256,
    });
    emit({ type: "ready", url: gateway.url });
    for await (const _ of Deno.stdin.readable) { /* serve until the orchestrator closes stdin */ }
    await gateway.close();
    await ns.close();
    Deno.exit(0);
  } catch (e) {
    emit({ type: "error", message: e instanceof Error ? e.message : String(e) });
    Deno.exit(1);
  }
}
