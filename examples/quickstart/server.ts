/**
 * The server of the seed scenario: creates `testclass` instances, registers them with a
 * Daemon and their URIs with the Name Server, then serves until stopped.
 *
 * Run: `deno run -A examples/quickstart/server.ts` (with a Name Server running, e.g.
 * `deno task ns`).
 *
 * @module
 */

import { Daemon, locateNS } from "../../mod.ts";
import { testclass } from "./test.ts";

const daemon = new Daemon({ host: "127.0.0.1" });
const ns = await locateNS();
for (const name of ["example.test.first", "example.test.second"]) {
  const uri = daemon.register(new testclass(), name);
  await ns.register(name, uri, false, ["example", "testclass"]);
  console.log(`server: ${name} is ${uri}`);
}
await ns._pyroRelease();
console.log("server: ready");
Deno.addSignalListener("SIGTERM", () => daemon.close());
await daemon.closed;
console.log("server: stopped");
