/**
 * The server of the instance-modes example. It registers classes, not instances; the daemon
 * makes the instances as each class's `@behavior` says: one for everybody (`single`), one per
 * client connection (`session`, the default), or a fresh one for every call (`percall`).
 *
 * Run: `deno run -A examples/instancemodes/server.ts` (with a Name Server running).
 *
 * @module
 */

import { behavior, expose, serve } from "../../mod.ts";

let made = 0;

/** Counts the calls it served, and tells which instance it is. */
abstract class Counter {
  readonly #instance = ++made;
  #calls = 0;

  /** "instance N, call M". */
  visit(): string {
    return `instance ${this.#instance}, call ${++this.#calls}`;
  }
}

/** One instance shared by every client. */
@expose
@behavior({ instanceMode: "single" })
export class SingleCounter extends Counter {}

/** One instance per client connection. */
@expose
@behavior({ instanceMode: "session" })
export class SessionCounter extends Counter {}

/** A new instance for every call. */
@expose
@behavior({ instanceMode: "percall" })
export class PercallCounter extends Counter {}

await serve({
  "example.instancemode.single": SingleCounter,
  "example.instancemode.session": SessionCounter,
  "example.instancemode.percall": PercallCounter,
}, { host: "127.0.0.1", verbose: false, onReady: () => console.log("server: ready") });
