/**
 * `pyro ns`: the Name Server launcher, with Pyro5's `pyro5-ns` flags. Starts a Name Server
 * (naming.ts), prints where it runs and its URI, and serves until interrupted.
 *
 * ```sh
 * deno run -A cli/main.ts ns -n 127.0.0.1 -s sql:names.db
 * deno run -A cli/ns.ts -n 127.0.0.1          # the same, directly
 * deno run -A cli/main.ts ns --web 8081       # with the web console at http://localhost:8081/console/
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { config } from "../config.ts";
import { stopSignal } from "../_daemon/stop_signal.ts";
import { type NameServerHandle, startNameServer } from "../naming.ts";
import { type GatewayServer, startGateway } from "../gateway.ts";

const USAGE = `Usage: pyro ns [options]

Starts a Pyro name server.

Options:
  -n, --host HOST        hostname to bind server on (default: ${config.HOST})
  -p, --port PORT        port to bind server on, 0 = random (default: ${config.NS_PORT})
  -u, --unixsocket PATH  Unix domain socket name to bind server on
  -s, --storage STORAGE  storage system to use: memory, sql:FILE, postgresql://USER@HOST:PORT/DB
                         (default: memory)
      --bchost HOST      hostname to bind broadcast server on (default: all interfaces)
      --bcport PORT      port to bind broadcast server on, 0 = random (default: ${config.NS_BCPORT})
      --nathost HOST     external hostname in case of NAT
      --natport PORT     external port in case of NAT
  -x, --nobc             don't start a broadcast server
      --web PORT         serve the web console (and the HTTP gateway) on this port, 0 = random
      --web-expose REGEX object names the console may call, matched at the start (default: all)
      --web-key KEY      the key the console's users must give (?key=KEY)
  -h, --help             show this help`;

function portOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || port > 65535) {
    throw new TypeError(`Cannot use ${flag} ${JSON.stringify(value)}: not a port number`);
  }
  return port;
}

/**
 * The command line launcher (Pyro5's `pyro5-ns` flags). Starts the name server, prints where
 * it runs and its URI, and serves until interrupted (SIGINT/SIGTERM) or until `signal` aborts.
 *
 * @example
 * ```ts
 * import { main } from "./ns.ts";
 * const stop = new AbortController();
 * const running = main(["-n", "127.0.0.1", "-p", "0", "-x"], { signal: stop.signal });
 * setTimeout(() => stop.abort(), 100);
 * console.log(await running); // 0
 * ```
 *
 * @param args The command line arguments.
 * @param options An abort signal that stops the server (besides SIGINT/SIGTERM).
 * @returns The exit code.
 */
export async function main(
  args: readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        host: { type: "string", short: "n" },
        port: { type: "string", short: "p" },
        unixsocket: { type: "string", short: "u" },
        storage: { type: "string", short: "s" },
        bchost: { type: "string" },
        bcport: { type: "string" },
        nathost: { type: "string" },
        natport: { type: "string" },
        nobc: { type: "boolean", short: "x" },
        web: { type: "string" },
        "web-expose": { type: "string" },
        "web-key": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`Error: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  using stop = stopSignal({ signal: options.signal });
  let handle: NameServerHandle;
  let web: GatewayServer | null = null;
  try {
    const webPort = portOption(values.web, "--web");
    const port = portOption(values.port, "--port");
    const bcPort = portOption(values.bcport, "--bcport");
    const natPort = portOption(values.natport, "--natport");
    handle = await startNameServer({
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(values.unixsocket !== undefined ? { unixSocket: values.unixsocket } : {}),
      storage: values.storage ?? "memory",
      broadcast: !values.nobc,
      ...(values.bchost !== undefined ? { bcHost: values.bchost } : {}),
      ...(bcPort !== undefined ? { bcPort } : {}),
      ...(values.nathost !== undefined ? { natHost: values.nathost } : {}),
      ...(natPort !== undefined ? { natPort } : {}),
      signal: stop.signal,
    });
    if (webPort !== undefined) {
      try {
        web = await startGateway({
          host: values.host ?? config.HOST,
          port: webPort,
          ns: handle.uri.toString(),
          expose: values["web-expose"] ?? "",
          ...(values["web-key"] !== undefined ? { key: values["web-key"] } : {}),
          signal: stop.signal,
        });
      } catch (e) {
        await handle.close();
        throw e;
      }
    }
  } catch (e) {
    console.error(`Error: ${(e as Error).message}`);
    return 1;
  }
  if (handle.broadcast) {
    console.log(
      `Broadcast server running on ${handle.broadcast.hostname}:${handle.broadcast.port}`,
    );
  } else if (!values.nobc && values.unixsocket === undefined) {
    console.log("Not starting broadcast server.");
  }
  const existing = await handle.nameServer.count();
  if (existing > 1) console.log(`Persistent store contains ${existing} existing registrations.`);
  const where = values.unixsocket !== undefined
    ? "Unix domain socket"
    : (handle.daemon.addr as Deno.NetAddr).hostname;
  console.log(`NS running on ${handle.daemon.locationStr} (${where})`);
  if (handle.uri.toString() !== handle.internalUri.toString()) {
    console.log(`internal URI = ${handle.internalUri}`);
    console.log(`external URI = ${handle.uri}`);
  } else {
    console.log(`URI = ${handle.uri}`);
  }
  if (web !== null) console.log(`Console running on ${web.url}console/`);
  await handle.daemon.closed;
  await web?.close();
  await handle.close();
  console.log("NS shut down.");
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
