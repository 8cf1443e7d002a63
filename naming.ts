/**
 * The Pyro Name Server: a daemon serving the {@linkcode NameServer} object under the id
 * `Pyro.NameServer`, with storage in memory, in a SQLite file or in PostgreSQL (several name
 * servers on one database serve one namespace), and a UDP broadcast responder
 * for discovery. Python Pyro5 clients (`nsc`, `locate_ns`, `resolve`, PYRONAME proxies) can use
 * it with `PYRO_SERIALIZER=json` or `msgpack` (or serpent).
 *
 * Run it from the command line with Pyro5's launcher flags (cli/ns.ts):
 *
 * ```sh
 * deno run -A cli/main.ts ns [-n HOST] [-p PORT] [-u SOCKET] [-s memory|sql:FILE]
 *                            [--bchost HOST] [--bcport PORT] [--nathost HOST] [--natport PORT] [-x]
 * ```
 *
 * @example Starting a name server in a program
 * ```ts
import { startNameServer } from "./naming.ts";
 *
 * await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
 * console.log(ns.uri.toString()); // PYRO:Pyro.NameServer@127.0.0.1:<port>
 * ```
 *
 * @module
 */

import { config } from "./config.ts";
import { log } from "./log.ts";
import { observeNameCount, TELEMETRY } from "./_telemetry/mod.ts";
import { Daemon, type DaemonOptions } from "./daemon.ts";
import type { URI } from "./uri.ts";
import type { NameStorage } from "./_naming/storage.ts";
import { openStorage } from "./_naming/open_storage.ts";
import { type BroadcastResponder, startBroadcastResponder } from "./_naming/broadcast.ts";
import { NameServer, NAMESERVER_NAME, NAMESERVER_TAG } from "./_naming/server.ts";
import { type Autoclean, startAutoclean } from "./_naming/autoclean.ts";

export { NameServer, NAMESERVER_NAME, NAMESERVER_TAG } from "./_naming/server.ts";
export type { LookupWithMetadata, UriWithMetadata } from "./_naming/server.ts";
export type {
  Awaitable,
  NameStorage,
  StoredEntry,
  StoredRecord,
  TagMatch,
} from "./_naming/storage.ts";
export { MemoryStorage } from "./_naming/memory.ts";
export { SqliteStorage } from "./_naming/sqlite.ts";
export {
  POSTGRES_SCHEMA_VERSION,
  PostgresStorage,
  type PostgresStorageOptions,
} from "./_naming/postgres.ts";
export { openStorage } from "./_naming/open_storage.ts";
export type { BroadcastResponder } from "./_naming/broadcast.ts";

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
   * Storage: `"memory"`, `"sql:PATH"`, `"postgresql://user@host:port/db"` (our extension), or
   * a {@linkcode NameStorage} object (closed with the server).
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
  /**
   * How long a registration must stay unreachable before autoclean removes it, in
   * milliseconds.
   *
   * @default {20000}
   */
  autocleanAfter?: number;
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
 * console.log(await ns.nameServer.count()); // 1 (its own entry)
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
  try {
    await storage.open?.();
  } catch (e) {
    await storage.close();
    throw e;
  }
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
    await storage.close();
    throw e;
  }
  const nameServer = new NameServer(storage);
  const unobserve = TELEMETRY ? observeNameCount(() => storage.count()) : null;
  let broadcast: BroadcastResponder | null = null;
  let cleaner: Autoclean | null = null;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      await cleaner?.stop();
      await broadcast?.close();
      await daemon.close();
      unobserve?.();
      await storage.close();
    })();
    return closing;
  };
  const onAbort = () => void close();
  try {
    daemon.register(nameServer, NAMESERVER_NAME);
    const uri = daemon.uriFor(NAMESERVER_NAME);
    const internalUri = daemon.uriFor(NAMESERVER_NAME, { nat: false });
    await nameServer.register(NAMESERVER_NAME, uri.toString(), false, [NAMESERVER_TAG]);
    const autoclean = options.autoclean ?? config.NS_AUTOCLEAN * 1000;
    if (autoclean > 0) {
      cleaner = startAutoclean(nameServer, {
        period: autoclean,
        storage,
        selfUri: uri.toString(),
        ...(options.autocleanAfter !== undefined
          ? { unreachableAfter: options.autocleanAfter }
          : {}),
      });
    }
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

/**
 * Type metadata of a class or object for the Name Server's tags (Pyro5's `type_meta`):
 * `class:<Name>` for the class and each of its base classes that is not built in. (Python adds
 * the module, `class:module.Name`; JavaScript classes have no module name at run time.)
 *
 * @example Registering a name with its type tags
 * ```ts
 * import { typeMeta } from "./naming.ts";
 * class Animal {}
 * class Dog extends Animal {}
 * console.log(typeMeta(new Dog())); // Set(2) { "class:Dog", "class:Animal" }
 * ```
 *
 * @param classOrObject A class or an instance.
 * @param prefix The tag prefix.
 * @returns The tags.
 */
export function typeMeta(classOrObject: unknown, prefix = "class:"): Set<string> {
  const tags = new Set<string>();
  let ctor: unknown = typeof classOrObject === "function"
    ? classOrObject
    : (classOrObject as { constructor?: unknown } | null)?.constructor;
  while (typeof ctor === "function" && ctor !== Function.prototype) {
    if (/\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(ctor))) break;
    if (ctor.name) tags.add(prefix + ctor.name);
    ctor = Object.getPrototypeOf(ctor);
  }
  return tags;
}
