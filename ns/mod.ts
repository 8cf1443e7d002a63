/**
 * The Pyro name server, ready to run: `deno run -A jsr:@pyro/ns` starts a name server with
 * Pyro5's defaults (TCP `localhost:9090`, UDP broadcast responder on port 9091, storage in
 * memory) and prints its URI. Pyro5's launcher flags apply: `-n HOST`, `-p PORT`,
 * `-u SOCKET`, `-s memory|sql:FILE`, `--bchost`, `--bcport`, `--nathost`, `--natport`,
 * `-x` (no broadcast responder).
 *
 * ```sh
 * deno run -A jsr:@pyro/ns -n 127.0.0.1 -s sql:names.db
 * ```
 *
 * As a library it gives the same entry points as `@pyro/pyro/naming`.
 *
 * @example Starting a name server from a program
 * ```ts
 * import { startNameServer } from "./mod.ts";
 *
 * await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
 * console.log(ns.uri.toString());
 * ```
 *
 * @module
 */

import { main } from "@pyro/pyro/naming";

export {
  main,
  type NameServerHandle,
  type NameServerOptions,
  startNameServer,
} from "@pyro/pyro/naming";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
