/**
 * `pyro gateway`: the HTTP gateway launcher, with the flags of Pyro5's `pyro5-httpgateway`
 * plus `--ns`:
 *
 * ```sh
 * deno run -A cli/main.ts gateway [-H HOST] [-p PORT] [-c ORIGIN] [-e REGEX] [-g KEY] [-t SECONDS] [--ns HOST:PORT]
 * ```
 *
 * Serves until interrupted (SIGINT/SIGTERM) or until the `signal` given to {@linkcode main}
 * aborts.
 *
 * @example Starting and stopping the gateway from a program
 * ```ts
 * import { main } from "./gateway.ts";
 * const stop = new AbortController();
 * const running = main(["-H", "127.0.0.1", "-p", "0", "--ns", "127.0.0.1:9"], { signal: stop.signal });
 * setTimeout(() => stop.abort(), 100);
 * console.log(await running); // 0
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { config } from "../config.ts";
import { stopSignal } from "../_daemon/stop_signal.ts";
import { startGateway } from "../gateway.ts";

const USAGE =
  `usage: pyro gateway [-h] [-H HOST] [-p PORT] [-c CORS] [-e EXPOSE] [-g KEY] [-t TIMEOUT] [--ns HOST:PORT]

Pyro HTTP gateway: call Pyro objects with HTTP and JSON (Pyro5's pyro5-httpgateway).

options:
  -H, --host HOST        hostname to bind server on (default: localhost)
  -p, --port PORT        port to bind server on, 0 = random (default: 8080)
  -c, --cors ORIGIN      allow cross origin domain/url (default: *)
  -e, --expose REGEX     a regex of object names to expose, matched at the start;
                         empty exposes everything (default: http\\.)
  -g, --gatewaykey KEY   the api key to use to connect to the gateway itself
  -t, --timeout SECONDS  Pyro timeout value to use (default: ${config.COMMTIMEOUT || 30})
      --ns HOST[:PORT]   the name server (default: located as Pyro does)
      --serializer NAME  serializer towards the objects: msgpack, json, serpent (default: msgpack)
      --no-console       don't serve the console at /console/
      --max-connections N
                         client connections at once; the idle-longest make room
                         (default: from memory and the open-file limit)
      --max-connections-per-address N
                         client connections from one address (default: a quarter)
  -h, --help             show this help`;

/**
 * Runs the gateway command line.
 *
 * @param args The command line arguments.
 * @param options An abort signal that stops the gateway (besides SIGINT/SIGTERM).
 * @returns The exit code: 0 after a clean stop, 1 when it cannot start, 2 for bad arguments.
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
        host: { type: "string", short: "H" },
        port: { type: "string", short: "p" },
        cors: { type: "string", short: "c" },
        expose: { type: "string", short: "e" },
        gatewaykey: { type: "string", short: "g" },
        timeout: { type: "string", short: "t" },
        ns: { type: "string" },
        serializer: { type: "string" },
        "no-console": { type: "boolean" },
        "max-connections": { type: "string" },
        "max-connections-per-address": { type: "string" },
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
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`Error: Cannot use --port ${JSON.stringify(values.port)}: not a port number`);
    return 2;
  }
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout >= 0)) {
    console.error(
      `Error: Cannot use --timeout ${JSON.stringify(values.timeout)}: not a number of seconds`,
    );
    return 2;
  }
  const limits: { maxConnections?: number; maxConnectionsPerAddress?: number } = {};
  for (
    const [flag, key] of [
      ["max-connections", "maxConnections"],
      ["max-connections-per-address", "maxConnectionsPerAddress"],
    ] as const
  ) {
    const text = values[flag];
    if (text === undefined) continue;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`Error: Cannot use --${flag} ${JSON.stringify(text)}: not a positive integer`);
      return 2;
    }
    limits[key] = n;
  }
  using stop = stopSignal({ signal: options.signal });
  const expose = values.expose ?? "http\\.";
  try {
    const gateway = await startGateway({
      host: values.host ?? "localhost",
      port,
      cors: values.cors ?? "*",
      expose,
      ...(values.gatewaykey !== undefined ? { key: values.gatewaykey } : {}),
      ...(timeout !== undefined ? { timeout: timeout * 1000 } : {}),
      ...(values.ns !== undefined ? { ns: values.ns } : {}),
      ...(values.serializer !== undefined ? { serializer: values.serializer } : {}),
      console: !values["no-console"],
      ...limits,
      signal: stop.signal,
    });
    if (expose) console.log(`Exposing objects with names matching: ${expose}`);
    else console.log("Warning: exposing all objects (no expose regex set)");
    console.log(`Pyro HTTP gateway running on ${gateway.url}pyro/`);
    await gateway.finished;
    return 0;
  } catch (e) {
    console.error(`Error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
