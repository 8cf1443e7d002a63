/**
 * One of several servers of the same service: it serves a `Worker` object and registers it
 * under a name of its own (`example.failover.<id>`) with the service's tag
 * (`service:example.failover`), so that clients find every server of the service with
 * `PYROMETA:service:example.failover` and a proxy moves on to another one when its server dies.
 * `crash()` ends the process without unregistering, as a crash would.
 *
 * Run: `deno run -A examples/failover/server.ts a` (and `b`, `c`, ... in other terminals).
 *
 * @module
 */

import { Daemon, expose, locateNS, oneway } from "../../mod.ts";

const id = Deno.args[0] ?? "a";
const daemon = new Daemon({ host: "127.0.0.1", port: 0 });

/** The service: says who serves, and can be made to crash. */
@expose
export class Worker {
  /** Which server answered. */
  whoami(): string {
    return `server ${id}`;
  }

  /** Ends this process at once (a oneway call: no reply), leaving its registration behind. */
  @oneway
  crash(): void {
    console.log(`server ${id}: crashing`);
    Deno.exit(0);
  }
}

const uri = daemon.register(new Worker(), `worker.${id}`);
// NS_HOST may list several name servers ("ns1:9090,ns2:9090"): the first that answers is used.
{
  await using ns = await locateNS();
  await ns.register(`example.failover.${id}`, uri, false, ["service:example.failover"]);
}
const stop = () => void daemon.close();
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
console.log(`server ${id}: ready`);
await daemon.closed;
Deno.removeSignalListener("SIGTERM", stop);
Deno.removeSignalListener("SIGINT", stop);
console.log(`server ${id}: stopped`);
