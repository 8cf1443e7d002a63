/**
 * The Pyro server role of the benchmark suite: a {@linkcode Daemon} in its own process serving
 * one object, `bench`, with `echo(x)`, a oneway `tick()` counted on the server, `ticks()`,
 * `waitTicks(n)` (resolves once `n` ticks ran), `resetTicks()` and `heap()` (collects garbage
 * when run with `--v8-flags=--expose-gc`, then reports the heap).
 *
 * Run by bench/main.ts:
 * `deno run -A bench/_pyro_server.ts [--path=unix.sock] [--max-connections=N] [--max-per-address=N]`.
 * It writes `{"type":"ready","uri":...}` and serves until its standard input ends.
 *
 * @module
 */

import { getHeapSpaceStatistics } from "node:v8";
import { Daemon } from "../daemon.ts";
import { emit, roleArgs } from "./_stats.ts";

/** The object the benchmark calls. */
export class BenchObject {
  #ticks = 0;
  #waiters: { n: number; resolve: (n: number) => void }[] = [];

  /**
   * Returns its argument.
   *
   * @param x Any value.
   * @returns `x`.
   */
  echo(x: unknown): unknown {
    return x;
  }

  /** Counts one oneway call. */
  tick(): void {
    this.#ticks++;
    if (this.#waiters.length > 0) {
      this.#waiters = this.#waiters.filter((w) => {
        if (this.#ticks < w.n) return true;
        w.resolve(this.#ticks);
        return false;
      });
    }
  }

  /**
   * The ticks counted.
   *
   * @returns The count.
   */
  ticks(): number {
    return this.#ticks;
  }

  /**
   * Waits until `n` ticks were counted.
   *
   * @param n The count to reach.
   * @returns The count.
   */
  waitTicks(n: number): Promise<number> | number {
    if (this.#ticks >= n) return this.#ticks;
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** Sets the tick count to zero. */
  resetTicks(): void {
    this.#ticks = 0;
  }

  /**
   * The heap in use after a full collection (when `gc` is exposed), and the size of V8's young
   * generation (`newSpace`), which V8 grows in steps as objects survive its collections.
   *
   * @returns Heap figures in bytes.
   */
  heap(): Record<string, number> {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc !== undefined) {
      gc();
      gc();
    }
    const m = Deno.memoryUsage();
    const young = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    return {
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      rss: m.rss,
      newSpace: young?.space_size ?? NaN,
    };
  }
}

if (import.meta.main) {
  const args = roleArgs(Deno.args);
  try {
    const limits = {
      maxConnections: Number(args["max-connections"] ?? 4000),
      ...(args["max-per-address"] === undefined
        ? {}
        : { maxConnectionsPerAddress: Number(args["max-per-address"]) }),
    };
    const daemon = args.path !== undefined
      ? new Daemon({ unixSocket: args.path, ...limits })
      : new Daemon({ host: "127.0.0.1", port: 0, ...limits });
    const uri = daemon.register(new BenchObject(), {
      id: "bench",
      expose: ["echo", "tick", "ticks", "waitTicks", "resetTicks", "heap"],
      oneway: ["tick"],
    });
    emit({ type: "ready", uri: uri.toString() });
    for await (const _ of Deno.stdin.readable) { /* serve until the orchestrator closes stdin */ }
    await daemon.close();
    Deno.exit(0);
  } catch (e) {
    emit({ type: "error", message: e instanceof Error ? e.message : String(e) });
    Deno.exit(1);
  }
}
