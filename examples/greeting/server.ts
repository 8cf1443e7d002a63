/**
 * The greeting server: one object, served with `serve()` and registered with the Name Server
 * under `example.greeting`. It prints its URI too, so a client can be given it directly.
 *
 * Run: `deno run -A examples/greeting/server.ts` (with a Name Server running).
 *
 * @module
 */

import { currentContext, expose, serve } from "../../mod.ts";

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

await serve({ "example.greeting": new GreetingMaker() }, {
  host: "127.0.0.1",
  verbose: false,
  onReady: ([greeting]) => {
    console.log(`server: the object's uri is ${greeting!.uri}`);
    console.log("server: ready");
  },
});
console.log("server: stopped");
