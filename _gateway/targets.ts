/**
 * The gateway's way to its Pyro objects: one Name Server proxy, name lookups cached for a short
 * time, and a small pool of connected proxies per target, reused across requests. When a target
 * cannot be reached on a cached address, the name is looked up again and the call goes to the
 * new address (the target moved or restarted elsewhere).
 *
 * @module
 */

import {
  CommunicationError,
  ConnectionClosedError,
  DaemonError,
  NamingError,
  TimeoutError,
} from "../errors.ts";
import { locateNS, type NameServer } from "../locate.ts";
import { createProxy, type Proxy } from "../proxy.ts";
import { URI } from "../uri.ts";

/** Settings of a {@linkcode Targets} pool. Times are milliseconds. */
export interface TargetsOptions {
  /** The Name Server: `HOST:PORT`, a `PYRO:` URI of it, or null to locate it as Pyro does. */
  readonly ns: string | null;
  /** Serializer towards the objects (the Name Server is spoken to in serpent). */
  readonly serializer: string;
  /** Connect and call timeout (0 = none). */
  readonly timeout: number;
  /** How long a lookup is reused. */
  readonly cacheTime: number;
  /** Connections per target at most. */
  readonly connectionsPerTarget: number;
}

interface Slot {
  readonly proxy: Proxy;
  busy: number;
  lastUsed: number;
}

interface Lookup {
  readonly uri: URI;
  readonly at: number;
}

const MAX_CACHED_NAMES = 10_000;
const IDLE_CLOSE = 60_000;

/** Tells whether an error means the target could not be reached (the call was not delivered). */
function unreachable(error: unknown): boolean {
  return (error instanceof CommunicationError && !(error instanceof TimeoutError) &&
    error.message.startsWith("Cannot connect")) ||
    (error instanceof DaemonError && error.message === "unknown object");
}

/** Splits `HOST:PORT` (or `[v6]:PORT`); a bare host gets no port. */
function hostPort(text: string): [string, number | null] {
  const m = /^\[(.+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (m === null) return [text, null];
  return [m[1]!, m[2] !== undefined ? Number(m[2]) : null];
}

/** The Name Server connection, lookups and pooled target proxies of one gateway. */
export class Targets {
  readonly #options: TargetsOptions;
  #ns: Promise<NameServer> | null = null;
  readonly #lookups = new Map<string, Lookup>();
  readonly #pools = new Map<string, Slot[]>();
  #sweeper: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(options: TargetsOptions) {
    this.#options = options;
  }

  /** The Name Server proxy, located on first use and kept. */
  nameServer(): Promise<NameServer> {
    if (this.#closed) return Promise.reject(new CommunicationError("the gateway is closed"));
    if (this.#ns === null) {
      // Serpent, as locateNS() uses by default: Pyro5's Name Server sends its tag sets only
      // over serpent (the console lists names with their tags).
      const proxyOptions = { serializer: "serpent", timeout: this.#options.timeout, maxRetries: 1 };
      const ns = this.#options.ns;
      let located: Promise<NameServer>;
      if (ns !== null && ns.startsWith("PYRO:")) {
        const proxy = createProxy(ns, proxyOptions) as unknown as NameServer;
        located = proxy._pyroBind().then(() => proxy, async (e) => {
          await proxy._pyroRelease();
          throw new NamingError(`Failed to locate the nameserver: ${ns}: ${(e as Error).message}`, {
            cause: e,
          });
        });
      } else if (ns !== null) {
        const [host, port] = hostPort(ns);
        located = locateNS(host, port, proxyOptions);
      } else {
        located = locateNS(undefined, undefined, proxyOptions);
      }
      this.#ns = located;
      located.catch(() => {
        if (this.#ns === located) this.#ns = null; // try again next time
      });
    }
    return this.#ns;
  }

  /** The `PYRO:` URI of a name, from the cache when fresh. */
  async resolve(name: string): Promise<URI> {
    const cached = this.#lookups.get(name);
    if (cached !== undefined && Date.now() - cached.at < this.#options.cacheTime) {
      return cached.uri;
    }
    const ns = await this.nameServer();
    let found: unknown;
    try {
      found = await ns.lookup(name);
    } catch (e) {
      // The Name Server's own error, re-raised here: an unknown name is the gateway's 404.
      if (e instanceof NamingError) throw new NamingError(e.message, { cause: e });
      throw e;
    }
    const uri = found instanceof URI ? found : new URI(String(found));
    if (this.#lookups.size >= MAX_CACHED_NAMES) this.#lookups.clear();
    this.#lookups.set(name, { uri, at: Date.now() });
    return uri;
  }

  /** Forgets the cached lookup of a name. */
  forget(name: string): void {
    this.#lookups.delete(name);
  }

  #acquire(uri: URI): Slot {
    const key = uri.toString();
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = [];
      this.#pools.set(key, pool);
      this.#startSweeper();
    }
    let best: Slot | undefined;
    for (const slot of pool) if (best === undefined || slot.busy < best.busy) best = slot;
    if (best === undefined || (best.busy > 0 && pool.length < this.#options.connectionsPerTarget)) {
      best = {
        proxy: createProxy(uri, {
          serializer: this.#options.serializer,
          timeout: this.#options.timeout,
          maxRetries: 0,
        }),
        busy: 0,
        lastUsed: Date.now(),
      };
      pool.push(best);
    }
    best.busy++;
    best.lastUsed = Date.now();
    return best;
  }

  #release(slot: Slot): void {
    slot.busy--;
    slot.lastUsed = Date.now();
  }

  #startSweeper(): void {
    if (this.#sweeper !== null) return;
    this.#sweeper = setInterval(() => this.#sweep(), IDLE_CLOSE / 2);
    Deno.unrefTimer(this.#sweeper);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, pool] of this.#pools) {
      for (let i = pool.length - 1; i >= 0; i--) {
        const slot = pool[i]!;
        if (slot.busy === 0 && now - slot.lastUsed > IDLE_CLOSE) {
          pool.splice(i, 1);
          void slot.proxy._pyroRelease();
        }
      }
      if (pool.length === 0) this.#pools.delete(key);
    }
  }

  /**
   * Runs `work` with a connected proxy for a name. The proxy stays reserved until the promise
   * `work` returns settles (a stream keeps it until `hold` settles). Once, the call is tried
   * again: when the cached address cannot be reached (the name is looked up again and the call
   * goes to the new address), or when a kept connection turns out to have been closed by the
   * daemon while idle (a restart).
   */
  async use<T>(
    name: string,
    work: (proxy: Proxy, hold: (until: Promise<unknown>) => void) => Promise<T>,
  ): Promise<T> {
    let uri = await this.resolve(name);
    for (let attempt = 0;; attempt++) {
      const slot = this.#acquire(uri);
      const reused = slot.proxy._pyroConnected && slot.busy === 1;
      let held: Promise<unknown> | null = null;
      try {
        await slot.proxy._pyroBind();
        return await work(slot.proxy, (until) => {
          held = until;
        });
      } catch (error) {
        if (attempt > 0) throw error;
        const closedWhileIdle = reused && error instanceof ConnectionClosedError;
        if (!closedWhileIdle && !unreachable(error)) throw error;
        this.forget(name);
        const fresh = await this.resolve(name);
        if (!closedWhileIdle && fresh.toString() === uri.toString()) throw error;
        uri = fresh;
      } finally {
        const until: Promise<unknown> | null = held;
        if (until === null) this.#release(slot);
        else void (until as Promise<unknown>).finally(() => this.#release(slot)).catch(() => {});
      }
    }
  }

  /** Closes every proxy and the Name Server connection. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    const proxies: Proxy[] = [];
    for (const pool of this.#pools.values()) for (const slot of pool) proxies.push(slot.proxy);
    this.#pools.clear();
    const ns = this.#ns;
    this.#ns = null;
    await Promise.allSettled(proxies.map((p) => p._pyroRelease()));
    if (ns !== null) {
      try {
        await (await ns)._pyroRelease();
      } catch {
        // never located: nothing to close
      }
    }
  }
}
