/**
 * The warehouse server: serves a warehouse and its ledger, both registered with the Name
 * Server (`example.warehouse` and `example.warehouse.ledger`).
 *
 * Run: `deno run -A examples/warehouse/server.ts` (with a Name Server running).
 *
 * @module
 */

import { serve } from "../../mod.ts";
import { Ledger, Warehouse } from "./warehouse.ts";

const ledger = new Ledger();
await serve({
  "example.warehouse": new Warehouse(ledger),
  "example.warehouse.ledger": ledger,
}, { host: "127.0.0.1", verbose: false, onReady: () => console.log("server: ready") });
