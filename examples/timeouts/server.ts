/**
 * The server of the timeouts-and-reconnect example: a service with a slow method, and a
 * `restart()` that closes the daemon and serves the same object again on the same address,
 * as a server restarted by its operator would.
 *
 * Run: `deno run -A examples/timeouts/server.ts` (with a Name Server running).
 *
 * @module
 */

import { Daemon, expose, locateNS, URI } from "../../mod.ts";

const OBJECT_ID = "example.timeouts.service";

/** A service that takes its time. */
@expose
export class Service {
  #restarts = 0;

  /** Answers after `ms` milliseconds. */
  async slow(ms: number): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return `answered after ${ms} ms`;
  }

  /** Restarts the server a moment after replying. */
  restart(): string {
    setTimeout(() => restart(), 0);
    return "restarting";
  }

  /** How often the server was restarted. */
  restarts(): number {
    return this.#restarts;
  }

  /** Counts a restart. */
  countRestart(): void {
    this.#restarts++;
  }
}

const service = new Service();
let daemon = new Daemon({ host: "127.0.0.1" });
const uri = daemon.register(service, OBJECT_ID);
const port = new URI(uri).port ?? 0;
let stopping = false;
const stopped = Promise.withResolvers<void>();

async function restart(): Promise<void> {
  await daemon.close();
  if (stopping) return;
  daemon = new Daemon({ host: "127.0.0.1", port }); // the same address, so the URI stays valid
  daemon.register(service, OBJECT_ID);
  service.countRestart();
  console.log(`server: restarted on port ${port}`);
}

await using ns = await locateNS();
await ns.register(OBJECT_ID, uri);
console.log(`server: ready at ${uri}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    stopping = true;
    daemon.close().then(() => stopped.resolve());
  });
}
await stopped.promise;
