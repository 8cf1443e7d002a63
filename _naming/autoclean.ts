/**
 * The name server's autoclean (Pyro5's `NS_AUTOCLEAN`): every period it tries a TCP (or Unix
 * socket) connect to each registered `PYRO:` URI, and removes a name whose server has been
 * unreachable for 20 seconds. The name server's own entry is never touched. Connects run a
 * few at a time and each is bounded by a timeout.
 *
 * @example
 * ```ts
 * import { startAutoclean } from "./autoclean.ts";
 * import { NameServer } from "./server.ts";
 *
 * const cleaner = startAutoclean(new NameServer(), { period: 3000 });
 * await cleaner.stop();
 * ```
 *
 * @module
 */

import { log } from "../log.ts";
import { URI } from "../uri.ts";
import { type NameServer, NAMESERVER_NAME, NAMESERVER_TAG } from "./server.ts";
import type { NameStorage } from "./storage.ts";

/** Pyro5's smallest autoclean period, in milliseconds. */
export const MIN_AUTOCLEAN_PERIOD = 3000;

/** Options of {@linkcode startAutoclean}. Times are milliseconds. */
export interface AutocleanOptions {
  /** Time between sweeps (at least {@linkcode MIN_AUTOCLEAN_PERIOD} unless `allowShortPeriod`). */
  period: number;
  /**
   * How long a name must stay unreachable before it is removed.
   *
   * @default {20000}
   */
  unreachableAfter?: number;
  /**
   * Timeout of each connect attempt.
   *
   * @default {5000}
   */
  connectTimeout?: number;
  /** Allow periods below the minimum (tests). */
  allowShortPeriod?: boolean;
  /** Called after each sweep with the names removed in it (`[]` when another server sweeps). */
  onSweep?: (removed: string[]) => void;
  /**
   * The name server's storage. When several servers share it (PostgreSQL), only the one that
   * holds its `autoclean` claim sweeps, and the claim passes on when that server dies; removals
   * are compare-and-remove (a name re-registered meanwhile stays).
   */
  storage?: NameStorage;
  /**
   * This server's own URI: on a shared storage, the sweeping server points the name server's
   * own entry back at itself when the server it names stays unreachable.
   */
  selfUri?: string;
}

/** A running autoclean. */
export interface Autoclean {
  /** Stops sweeping and waits for a sweep in progress to end. */
  stop(): Promise<void>;
}

async function reachable(uri: URI, timeout: number): Promise<boolean> {
  const signal = AbortSignal.timeout(timeout);
  try {
    const conn = uri.sockname !== null
      ? await Deno.connect({ transport: "unix", path: uri.sockname })
      : await Deno.connect({ hostname: uri.host ?? "", port: uri.port ?? 0, signal });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts sweeping a name server's table.
 *
 * @example
 * ```ts
 * import { startAutoclean } from "./autoclean.ts";
 * import { NameServer } from "./server.ts";
 * const cleaner = startAutoclean(new NameServer(), { period: 5000, unreachableAfter: 20000 });
 * await cleaner.stop();
 * ```
 *
 * @param ns The name server object.
 * @param options The period and limits.
 * @returns A handle to stop it.
 * @throws {RangeError} For a period below 3 seconds (Pyro5's rule).
 */
export function startAutoclean(ns: NameServer, options: AutocleanOptions): Autoclean {
  if (!(options.period >= MIN_AUTOCLEAN_PERIOD) && !options.allowShortPeriod) {
    throw new RangeError(`NS_AUTOCLEAN cannot be smaller than ${MIN_AUTOCLEAN_PERIOD / 1000}`);
  }
  const unreachableAfter = options.unreachableAfter ?? 20000;
  const connectTimeout = options.connectTimeout ?? 5000;
  const unreachable = new Map<string, number>();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sweeping: Promise<void> = Promise.resolve();

  const storage = options.storage;
  const removeIfUnchanged = async (name: string, text: string): Promise<boolean> => {
    if (storage?.removeIfUnchanged) return await storage.removeIfUnchanged(name, text);
    if ((await ns.list(name))[name] !== text) return false;
    return (await ns.remove(name)) > 0;
  };

  const sweep = async (): Promise<void> => {
    if (storage?.claim && !(await storage.claim("autoclean"))) {
      unreachable.clear(); // another server sweeps; start afresh if the job comes back here
      options.onSweep?.([]);
      return;
    }
    const removed: string[] = [];
    const shared = storage?.claim !== undefined && options.selfUri !== undefined;
    const entries = Object.entries(await ns.list()).filter(([name, text]) =>
      name !== NAMESERVER_NAME || (shared && text !== options.selfUri)
    );
    for (let i = 0; i < entries.length && !stopped; i += 32) {
      await Promise.all(
        entries.slice(i, i + 32).map(async ([name, text]) => {
          let uri: URI;
          try {
            uri = new URI(text);
          } catch {
            return;
          }
          if (uri.protocol !== "PYRO" || (await reachable(uri, connectTimeout))) {
            unreachable.delete(name);
            return;
          }
          const now = Date.now();
          const since = unreachable.get(name) ?? now;
          unreachable.set(name, since);
          if (now - since < unreachableAfter || stopped) return;
          unreachable.delete(name);
          if (name === NAMESERVER_NAME) {
            // A shared namespace keeps its own entry, pointed at a server that answers.
            log.info(
              `autoclean: ${name} pointed at ${text}, which is gone; now ${options.selfUri}`,
            );
            await ns.register(NAMESERVER_NAME, options.selfUri!, false, [NAMESERVER_TAG]);
          } else if (await removeIfUnchanged(name, text)) {
            log.info(`autoclean: unregistering ${name}; cannot connect uri ${text}`);
            removed.push(name);
          }
        }),
      );
    }
    for (const name of unreachable.keys()) {
      if ((await ns.list(name))[name] === undefined) unreachable.delete(name);
    }
    options.onSweep?.(removed);
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      sweeping = sweep().catch((e) => log.warn(`autoclean: ${(e as Error).message}`)).finally(
        schedule,
      );
    }, options.period);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await sweeping;
    },
  };
}
