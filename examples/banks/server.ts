/**
 * A bank server. Run it several times with different names: every bank registers with the
 * Name Server as `example.banks.NAME`, tagged `example.bank`, so clients find them all.
 *
 * Run: `deno run -A examples/banks/server.ts NAME [--overdraft]` (with a Name Server running).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Daemon, locateNS } from "../../mod.ts";
import { Bank } from "./bank.ts";

const { positionals, values } = parseArgs({
  args: Deno.args,
  options: { overdraft: { type: "boolean", default: false } },
  allowPositionals: true,
});
const name = positionals[0] ?? "Rabobank";
const daemon = new Daemon({ host: "127.0.0.1" });
const uri = daemon.register(new Bank(name, values.overdraft));
await using ns = await locateNS();
await ns.register(`example.banks.${name}`, uri, false, ["example.bank"]);
console.log(`server: ${name} ready`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => daemon.close());
}
await daemon.closed;
await ns.remove(`example.banks.${name}`);
