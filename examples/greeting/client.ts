/**
 * The greeting client: calls the greeting server through a URI given on the command line,
 * or through the Name Server (`PYRONAME:example.greeting`) when none is given.
 *
 * Run: `deno run -A examples/greeting/client.ts [URI] [NAME]`.
 *
 * @module
 */

import { createProxy } from "../../mod.ts";
import type { GreetingMaker } from "./server.ts";

const uri = Deno.args[0] ?? "PYRONAME:example.greeting";
const name = Deno.args[1] ?? "Deno";
await using greetingMaker = createProxy<GreetingMaker>(uri);
console.log(`client: ${await greetingMaker.getFortune(name)}`);
