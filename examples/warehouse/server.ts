/**
 * The warehouse server: serves a warehouse and its ledger, both registered with the Name
 * Server (`example.warehouse` and `example.warehouse.ledger`).
 *
 * Run: `deno run -A examples/warehouse/server.ts` (with a Name Server running).
 *
 * @module
 */

import { Daemon, locateNS } from "../../mod.ts";
import { Ledger, Warehouse } from "./warehouse.ts";

const daemon = new Daemon({ host: "127.0.0.1" });
const ledger = new Ledger();
await using ns = await locateNS();
await ns.register("example.warehouse", daemon.register(new Warehouse(ledger)));
await ns.register("example.warehouse.ledger", daemon.register(ledger));
console.log("server: ready");
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => daemon.close());
}
await daemon.closed;
