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
 * As a library it gives the Name Server entry points of `@pyro/pyro/naming`.
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

import { runCommand } from "@pyro/pyro/cli";

export { type NameServerHandle, type NameServerOptions, startNameServer } from "@pyro/pyro/naming";

/**
 * The launcher: `pyro ns` with these arguments (Pyro5's `pyro5-ns` flags).
 *
 * @example Printing the launcher's help
 * ```ts
 * import { main } from "./mod.ts";
 * console.log(await main(["--help"])); // 0, after printing the usage
 * ```
 *
 * @param args The command line arguments.
 * @returns The exit code.
 */
export function main(args: readonly string[]): Promise<number> {
  return runCommand("ns", args);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
