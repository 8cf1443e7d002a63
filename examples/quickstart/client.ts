/**
 * The client of the seed scenario: gets the URI from the Name Server, makes a proxy and calls
 * methods on it as if the object were local.
 *
 * Run: `deno run -A examples/quickstart/client.ts` (with the Name Server and the server running).
 *
 * @module
 */

import { createProxy, locateNS, RemoteError } from "../../mod.ts";
import type { testclass } from "./test.ts";

const ns = await locateNS();
const uri = await ns.lookup("example.test.first");
console.log(`client: the name server says example.test.first is ${uri}`);
await ns._pyroRelease();

await using thing = createProxy<testclass>(uri);
console.log(`client: mul(6, 7) = ${await thing.mul(6, 7)}`);
console.log(`client: add(2, 3) = ${await thing.add(2, 3)}`);
console.log(`client: greet("Deno") = ${await thing.greet("Deno")}`);
try {
  await thing.fail();
} catch (e) {
  if (!(e instanceof RemoteError)) throw e;
  console.log(`client: fail() raised ${e.remoteClass}: ${e.message}`);
}
console.log(`client: the object served ${await thing._pyroGet("calls")} calls`);

await using second = createProxy<testclass>("PYRONAME:example.test.second");
const products = await Promise.all([1, 2, 3, 4].map((i) => second.mul(i, 10)));
console.log(`client: four concurrent calls through PYRONAME:example.test.second = ${products}`);
