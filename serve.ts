/**
 * {@linkcode serve}: Pyro5's one-call server. It makes (or takes) a daemon, registers the
 * objects, registers their names with the Name Server, serves until a signal (SIGINT or
 * SIGTERM by default) or an `AbortSignal`, then removes the names it registered and closes the
 * daemon.
 *
 * @example Serving one object until aborted
 * ```ts
 * import { expose } from "./expose.ts";
 * import { serve } from "./serve.ts";
 *
 * @expose
 * class Greeter {
 *   greet(name: string): string {
 *     return `Hello, ${name}`;
 *   }
 * }
 *
 * const stop = new AbortController();
 * const served = serve({ "example.greeter": new Greeter() }, {
 *   host: "127.0.0.1",
 *   useNs: false,
 *   verbose: false,
 *   signals: [],
 *   signal: stop.signal,
 *   onReady: ([greeter]) => {
 *     console.log(greeter!.uri.toString()); // PYRO:example.greeter@127.0.0.1:<port>
 *     stop.abort();
 *   },
 * });
 * await served;
 * ```
 *
 * @module
 */

import { Daemon } from "./daemon.ts";
import { stopSignal } from "./_daemon/stop_signal.ts";
import { log } from "./log.ts";
import { locateNS, type LocateOptions, type NameServer } from "./locate.ts";
import type { URI } from "./uri.ts";

/** One object {@linkcode serve} serves. */
export interface ServedObject {
  /** The object (or class) as given. */
  readonly target: object;
  /** Its name: in the Name Server with `useNs`, otherwise its object id; null for none. */
  readonly name: string | null;
  /** Its URI in the daemon. */
  readonly uri: URI;
}

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  /**
   * Host to bind when serve makes the daemon.
   *
   * @default {config.HOST}
   */
  host?: string;
  /**
   * Port to bind when serve makes the daemon; 0 picks a free one.
   *
   * @default {0}
   */
  port?: number;
  /**
   * Register the names with the Name Server (found with `locateNS`); otherwise the names are
   * the objects' ids in the daemon.
   *
   * @default {true}
   */
  useNs?: boolean;
  /** How to find the Name Server (host, port, proxy options). */
  ns?: LocateOptions & { host?: string; port?: number };
  /** A daemon to use instead of making one; serve closes it at the end. */
  daemon?: Daemon;
  /** Stops serving when aborted. */
  signal?: AbortSignal;
  /**
   * Process signals that stop serving; `[]` for none.
   *
   * @default {["SIGINT", "SIGTERM"]}
   */
  signals?: readonly Deno.Signal[];
  /**
   * Print each object's URI and name and "Pyro daemon running.", as Pyro5 does.
   *
   * @default {true}
   */
  verbose?: boolean;
  /** Called once everything is registered, before serving starts in earnest. */
  onReady?: (served: ServedObject[], daemon: Daemon) => void | Promise<void>;
}

/**
 * The objects to serve: a record of name to object (`{ "example.thing": thing }`), or Pyro5's
 * own shape, a map (or entry list) of object to name (null for an unnamed object).
 */
export type ServeObjects =
  | Readonly<Record<string, object>>
  | ReadonlyMap<object, string | null>
  | readonly (readonly [object, string | null])[];

function entriesOf(objects: ServeObjects): [object, string | null][] {
  if (objects instanceof Map) return [...objects];
  if (Array.isArray(objects)) return objects.map(([o, n]) => [o, n]);
  return Object.entries(objects as Record<string, object>).map(([n, o]) => [o, n]);
}

function describe(target: object): string {
  const name = typeof target === "function"
    ? `class ${target.name}`
    : Object.getPrototypeOf(target)?.constructor?.name ?? "Object";
  return `<${name}>`;
}

/**
 * Serves objects in one call, as Pyro5's `serve()`: makes a daemon on `host:port` (or uses
 * `daemon`), registers each object (under a generated id and its name in the Name Server when
 * `useNs`, otherwise under its name), and serves until one of `signals` arrives or `signal`
 * aborts. It then removes from the Name Server the names it registered (those still pointing at
 * this daemon) and closes the daemon.
 *
 * @example Serving without a Name Server
 * ```ts
 * import { createProxy, expose } from "./mod.ts";
 * import { serve } from "./serve.ts";
 *
 * const stop = new AbortController();
 * const counter = expose({ n: 0, next() { return ++this.n; } });
 * await serve(new Map([[counter, "counter"]]), {
 *   host: "127.0.0.1",
 *   useNs: false,
 *   verbose: false,
 *   signals: [],
 *   signal: stop.signal,
 *   onReady: async ([served]) => {
 *     await using proxy = createProxy<{ next(): number }>(served!.uri);
 *     console.log(await proxy.next()); // 1
 *     stop.abort();
 *   },
 * });
 * ```
 *
 * @param objects The objects and their names.
 * @param options Where to serve, the Name Server, when to stop.
 * @returns What was served, once serving has stopped and everything is closed.
 * @throws {NamingError} When `useNs` is on and no Name Server is found (the daemon is closed).
 */
export async function serve(
  objects: ServeObjects,
  options: ServeOptions = {},
): Promise<ServedObject[]> {
  const verbose = options.verbose ?? true;
  const useNs = options.useNs ?? true;
  const daemon = options.daemon ??
    new Daemon({
      ...(options.host !== undefined ? { host: options.host } : {}),
      port: options.port ?? 0,
    });
  const stopped = Promise.withResolvers<void>();
  const served: ServedObject[] = [];
  const registeredNames: ServedObject[] = [];
  const { host: nsHost, port: nsPort, ...nsOptions } = options.ns ?? {};
  try {
    using stopping = stopSignal({ signal: options.signal, signals: options.signals });
    if (stopping.signal.aborted) stopped.resolve();
    stopping.signal.addEventListener("abort", () => stopped.resolve(), { once: true });
    let ns: NameServer | undefined;
    if (useNs) ns = await locateNS(nsHost, nsPort, nsOptions);
    try {
      for (const [target, name] of entriesOf(objects)) {
        const uri = daemon.register(target, ns || name === null ? undefined : name);
        const entry: ServedObject = { target, name, uri };
        served.push(entry);
        if (verbose) console.log(`Object ${describe(target)}:\n    uri = ${uri}`);
        if (ns && name) {
          await ns.register(name, uri);
          registeredNames.push(entry);
          if (verbose) console.log(`    name = ${name}`);
        }
      }
    } finally {
      await ns?._pyroRelease();
    }
    if (verbose) console.log("Pyro daemon running.");
    await options.onReady?.(served, daemon);
    await Promise.race([stopped.promise, daemon.closed]);
  } finally {
    if (registeredNames.length > 0) await removeNames(registeredNames, nsHost, nsPort, nsOptions);
    await daemon.close();
  }
  return served;
}

/** Removes the names serve registered, where they still point at the served objects. */
async function removeNames(
  entries: ServedObject[],
  host: string | undefined,
  port: number | undefined,
  options: LocateOptions,
): Promise<void> {
  try {
    await using ns = await locateNS(host, port, options);
    for (const { name, uri } of entries) {
      try {
        if (String(await ns.lookup(name!)) === String(uri)) await ns.remove(name!);
      } catch {
        // gone already, or replaced by someone else
      }
    }
  } catch (e) {
    log.warn(`serve: cannot remove names from the name server: ${String(e)}`);
  }
}
