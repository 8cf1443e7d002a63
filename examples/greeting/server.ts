/**
 * The greeting server: one object, registered with a Daemon and with the Name Server under
 * `example.greeting`. It prints its URI too, so a client can be given it directly.
 *
 * Run: `deno run -A examples/greeting/server.ts` (with a Name Server running).
 *
 * @module
 */

import { currentContext, Daemon, expose, locateNS } from "../../mod.ts";

/** Makes fortunes for whoever asks. */
@expose
export class GreetingMaker {
  /** Returns a greeting with a fortune. */
  getFortune(name: string): string {
    const from = currentContext()?.clientAddress ?? "somewhere";
    return `Hello, ${name}. Here is your fortune message from ${from}: ` +
      "Tomorrow's lucky number is 12345678.";
  }
}

const daemon = new Daemon({ host: "127.0.0.1" });
const uri = daemon.register(new GreetingMaker(), "example.greeting");
await using ns = await locateNS();
await ns.register("example.greeting", uri);
console.log(`server: the object's uri is ${uri}`);
console.log("server: ready");
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => daemon.close());
}
await daemon.closed;
console.log("server: stopped");
