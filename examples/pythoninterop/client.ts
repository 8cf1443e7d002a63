/**
 * The TypeScript half that calls Python: a typed proxy for the Python `Calculator` of
 * `server.py`, with keyword arguments, a remote attribute, a oneway call and a Python
 * exception arriving as a `RemoteError`.
 *
 * Run: `deno run -A examples/pythoninterop/client.ts` (with the Name Server and server.py
 * running).
 *
 * @module
 */

import { createProxy, kwargs, RemoteError } from "../../mod.ts";

/** What the Python class offers, written down for the type checker. */
interface Calculator {
  add(a: number, b: number): number;
  stats(numbers: number[]): { count: number; total: number; sorted: number[] };
  greet(name: string): string; // and a keyword argument `greeting`
  fail(): never;
  log(line: string): void;
  readonly version: string;
}

await using calc = createProxy<Calculator>("PYRONAME:example.interop.python");
console.log(`client: add(2, 3) = ${await calc.add(2, 3)}`);
console.log(`client: stats = ${JSON.stringify(await calc.stats([5, 3, 8]))}`);
console.log(`client: ${await calc.greet("Deno", kwargs({ greeting: "Good morning" }))}`);
console.log(`client: version = ${await calc._pyroGet("version")}`);
console.log(`client: oneway methods: ${calc._pyroMetadata?.oneway.join(", ")}`);
await calc.log("hello from TypeScript");
try {
  await calc.fail();
} catch (e) {
  if (!(e instanceof RemoteError)) throw e;
  console.log(`client: fail() raised ${e.remoteClass}: ${e.message}`);
}
