/**
 * Instance modes seen from a client: two proxies (two connections) call each kind of
 * object twice, and the objects say which instance served each call.
 *
 * Run: `deno run -A examples/instancemodes/client.ts` (with the Name Server and the server running).
 *
 * @module
 */

import { createProxy } from "../../mod.ts";
import type { PercallCounter, SessionCounter, SingleCounter } from "./server.ts";

type AnyCounter = SingleCounter | SessionCounter | PercallCounter;

for (const mode of ["single", "session", "percall"]) {
  await using first = createProxy<AnyCounter>(`PYRONAME:example.instancemode.${mode}`);
  await using second = createProxy<AnyCounter>(`PYRONAME:example.instancemode.${mode}`);
  const visits = [
    `first proxy: ${await first.visit()}`,
    `first proxy: ${await first.visit()}`,
    `second proxy: ${await second.visit()}`,
    `second proxy: ${await second.visit()}`,
  ];
  console.log(`client: ${mode}: ${visits.join("; ")}`);
}
