/**
 * The Pyro Name Server: a daemon serving the {@linkcode NameServer} object under the id
 * `Pyro.NameServer`, with storage in memory or in a SQLite file, and a UDP broadcast responder
 * for discovery. Python Pyro5 clients (`nsc`, `locate_ns`, `resolve`, PYRONAME proxies) can use
 * it with `PYRO_SERIALIZER=json` or `msgpack` (or serpent).
 *
 * Run it from the command line with Pyro5's launcher flags:
 *
 * ```sh
 * deno run -A naming.ts [-n HOST] [-p PORT] [-u SOCKET] [-s memory|sql:FILE]
 *                       [--bchost HOST] [--bcport PORT] [--nathost HOST] [--natport PORT] [-x]
 * ```
 *
 * @example Starting a name server in a program
 * ```ts
 * import { startNameServer } from "./naming.ts";
 *
 * await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
 * console.log(ns.uri.toString()); // PYRO:Pyro.NameServer@127.0.0.1:<port>
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { config } from "./config.ts";
import { log } from "./log.ts";
import { Daemon, type DaemonOptions } from "./daemon.ts";
import type { URI } from "./uri.ts";
import { type NameStorage, openStorage } from "./_naming/storage.ts";
import { type BroadcastResponder, startBroadcastResponder } from "./_naming/broadcast.ts";
import { NameServer, NAMESERVER_NAME, NAMESERVER_TAG } from "./_naming/server.ts";
import { type Autoclean, startAutoclean } from "./_naming/autoclean.ts";

export { NameServer, NAMESERVER_NAME, NAMESERVER_TAG } from "./_naming/server.ts";
export type { LookupWithMetadata, UriWithMetadata } from "./_naming/server.ts";
export {
  MemoryStorage,
  type NameStorage,
  openStorage,
  SqliteStorage,
  type StoredEntry,
  type StoredRecord,
  type TagMatch,
} from "./_naming/storage.ts";

/** Options of {@linkcode startNameServer}. Times are milliseconds. */
export interface NameServerOptions {
  /**
   * Host name or address to bind.
   *
   * @default {config.HOST}
   */
  host?: string;
  /**
   * TCP port; 0 picks a free one.
   *
   * @default {config.NS_PORT}
   */
  port?: number;
  /** Listen on this Unix domain socket instead of TCP (no broadcast responder then). */
  unixSocket?: string;
  /**
   * Storage: `"memory"`, `"sql:PATH"`, or a {@linkcode NameStorage} object (closed with the
   * server).
   *
   * @default {"memory"}
   */
  storage?: string | NameStorage;
  /**
   * Start the UDP broadcast responder (also when bound to a loopback address, unlike Pyro5).
   * When its port is taken, the name server runs without it and logs a warning.
   *
   * @default {true}
   */
  broadcast?: boolean;
  /**
   * Bind address of the broadcast responder; null means every interface.
   *
   * @default {config.NS_BCHOST}
   */
  bcHost?: string | null;
  /**
   * UDP port of the broadcast responder; 0 picks a free one.
   *
   * @default {config.NS_BCPORT}
   */
  bcPort?: number;
  /** Host put into the handed-out URIs (NAT). @default {config.NATHOST} */
  natHost?: string;
  /** Port put into the handed-out URIs with `natHost`. @default {config.NATPORT} */
  natPort?: number;
  /**
   * Autoclean period in milliseconds: every period each registered server is tried with a TCP
   * connect, and names unreachable for 20 s are removed. 0 = off; at least 3000.
   *
   * @default {config.NS_AUTOCLEAN * 1000}
   */
  autoclean?: number;
  /** Largest accepted message, in bytes. @default {config.MAX_MESSAGE_SIZE} */
  maxMessageSize?: number;
  /**
   * Serve over TLS (see tls.ts); `false` forces plain TCP. Clients then need `tls` options
   * (`locateNS(host, port, { tls })`).
   *
   * @default {TLS from the config.SSL_* files when config.SSL is set}
   */
  tls?: DaemonOptions["tls"];
  /** Checks each client's handshake data, e.g. `sharedSecretHandshake(secret)` from auth.ts. */
  validateHandshake?: DaemonOptions["validateHandshake"];
  /** Closes the name server when aborted. */
  signal?: AbortSignal;
}

/** A running name server, as {@linkcode startNameServer} returns it. */
export interface NameServerHandle extends AsyncDisposable {
  /** The name server's URI (with the NAT address when configured). */
  readonly uri: URI;
  /** The URI on the bound address (what the broadcast responder hands out). */
  readonly internalUri: URI;
  /** The daemon serving the name server. */
  readonly daemon: Daemon;
  /** The name server object. */
  readonly nameServer: NameServer;
  /** The storage back end. */
  readonly storage: NameStorage;
  /** The broadcast responder, or null when disabled. */
  readonly broadcast: BroadcastResponder | null;
  /** Closes the broadcast responder, the daemon and the storage. */
  close(): Promise<void>;
}

/**
 * Starts a name server: opens the storage, starts a daemon serving `Pyro.NameServer`, enters
 * the name server's own entry in the table, and starts the broadcast responder.
 *
 * @example
 * ```ts
 * import { startNameServer } from "./naming.ts";
 *
 * const ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
 * console.log(ns.nameServer.count()); // 1 (its own entry)
 * await ns.close();
 * ```
 *
 * @param options Where to listen, the storage, and broadcast settings.
 * @returns The running name server.
 * @throws {NamingError} When the storage cannot be opened (e.g. another name server uses the file).
 */
export async function startNameServer(options: NameServerOptions = {}): Promise<NameServerHandle> {
  const storage = typeof options.storage === "object"
    ? options.storage
    : openStorage(options.storage ?? "memory");
  let daemon: Daemon;
  try {
    daemon = new Daemon({
      host: options.host ?? config.HOST,
      port: options.port ?? config.NS_PORT,
      ...(options.unixSocket !== undefined ? { unixSocket: options.unixSocket } : {}),
      ...(options.natHost !== undefined ? { natHost: options.natHost } : {}),
      ...(options.natPort !== undefined ? { natPort: options.natPort } : {}),
      ...(options.maxMessageSize !== undefined ? { maxMessageSize: options.maxMessageSize } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      ...(options.validateHandshake !== undefined
        ? { validateHandshake: options.validateHandshake }
        : {}),
    });
  } catch (e) {
    storage.close();
    throw e;
  }
  const nameServer = new NameServer(storage);
  let broadcast: BroadcastResponder | null = null;
  let cleaner: Autoclean | null = null;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      await cleaner?.stop();
      await broadcast?.close();
      await daemon.close();
      storage.close();
    })();
    return closing;
  };
  const onAbort = () => void close();
  try {
    daemon.register(nameServer, NAMESERVER_NAME);
    const uri = daemon.uriFor(NAMESERVER_NAME);
    const internalUri = daemon.uriFor(NAMESERVER_NAME, { nat: false });
    nameServer.register(NAMESERVER_NAME, uri.toString(), false, [NAMESERVER_TAG]);
    const autoclean = options.autoclean ?? config.NS_AUTOCLEAN * 1000;
    if (autoclean > 0) cleaner = startAutoclean(nameServer, { period: autoclean });
    if ((options.broadcast ?? true) && options.unixSocket === undefined) {
      const bcPort = options.bcPort ?? config.NS_BCPORT;
      try {
        broadcast = await startBroadcastResponder(internalUri, {
          hostname: options.bcHost !== undefined ? options.bcHost : config.NS_BCHOST,
          port: bcPort,
        });
      } catch (e) {
        // Discovery is optional: a busy UDP port (say, another name server) must not stop us.
        log.warn(
          `name server: no broadcast responder on UDP port ${bcPort}: ${(e as Error).message}`,
        );
      }
    }
    if (options.signal?.aborted) await close();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    return {
      uri,
      internalUri,
      daemon,
      nameServer,
      storage,
      broadcast,
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

const USAGE = `Usage: deno run -A naming.ts [options]

Starts a Pyro name server.

Options:
  -n, --host HOST        hostname to bind server on (default: ${config.HOST})
  -p, --port PORT        port to bind server on, 0 = random (default: ${config.NS_PORT})
  -u, --unixsocket PATH  Unix domain socket name to bind server on
  -s, --storage STORAGE  storage system to use: memory, sql:FILE (default: memory)
      --bchost HOST      hostname to bind broadcast server on (default: all interfaces)
      --bcport PORT      port to bind broadcast server on, 0 = random (default: ${config.NS_BCPORT})
      --nathost HOST     external hostname in case of NAT
      --natport PORT     external port in case of NAT
  -x, --nobc             don't start a broadcast server
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
 * import { main } from "./naming.ts";
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
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  options.signal?.addEventListener("abort", onSignal, { once: true });
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  let handle: NameServerHandle;
  try {
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
  } catch (e) {
    options.signal?.removeEventListener("abort", onSignal);
    console.error(`Error: ${(e as Error).message}`);
    return 1;
  }
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    if (handle.broadcast) {
      console.log(
        `Broadcast server running on ${handle.broadcast.hostname}:${handle.broadcast.port}`,
      );
    } else if (!values.nobc && values.unixsocket === undefined) {
      console.log("Not starting broadcast server.");
    }
    const existing = handle.nameServer.count();
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
    await handle.daemon.closed;
    await handle.close();
    console.log("NS shut down.");
    return 0;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    options.signal?.removeEventListener("abort", onSignal);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
