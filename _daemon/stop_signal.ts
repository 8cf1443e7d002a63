/**
 * Stopping a server on request: an `AbortSignal` that aborts on SIGINT or SIGTERM (SIGINT alone
 * on Windows) or when the caller's own `AbortSignal` aborts. `serve()` and the command line's
 * servers (`pyro ns`, `pyro gateway`, `pyro echoserver`) use it; disposing it removes every
 * listener it added.
 *
 * @example Stop when the caller aborts
 * ```ts
 * import { stopSignal } from "./stop_signal.ts";
 *
 * const caller = new AbortController();
 * using stopping = stopSignal({ signal: caller.signal, signals: [] });
 * caller.abort();
 * console.log(stopping.signal.aborted); // true
 * ```
 *
 * @module
 */

import { log } from "../log.ts";

/** The operating system signals that stop a server unless told otherwise. */
export const STOP_SIGNALS: readonly Deno.Signal[] = typeof Deno !== "undefined" &&
    Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM"];

/** Options of {@linkcode stopSignal}. */
export interface StopSignalOptions {
  /** The caller's own signal; its abort stops too. */
  signal?: AbortSignal | undefined;
  /**
   * The operating system signals to stop on.
   *
   * @default {STOP_SIGNALS}
   */
  signals?: readonly Deno.Signal[] | undefined;
}

/** The signal that says "stop", and the listeners behind it, removed on dispose. */
export interface StopSignal extends Disposable {
  /** Aborts on the first stop request. */
  readonly signal: AbortSignal;
}

/**
 * Makes a stop signal for a server.
 *
 * @example
 * ```ts
 * import { stopSignal } from "./stop_signal.ts";
 * using stopping = stopSignal({ signals: ["SIGTERM"] });
 * console.log(stopping.signal.aborted); // false
 * ```
 *
 * @param options The caller's signal and the operating system signals to stop on.
 * @returns The stop signal; dispose it when the server has stopped.
 */
export function stopSignal(options: StopSignalOptions = {}): StopSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const outer = options.signal;
  if (outer?.aborted) stop();
  else outer?.addEventListener("abort", stop, { once: true });
  const listening: Deno.Signal[] = [];
  for (const name of options.signals ?? STOP_SIGNALS) {
    try {
      Deno.addSignalListener(name, stop);
      listening.push(name);
    } catch (e) {
      log.debug(`cannot listen for ${name}: ${String(e)}`);
    }
  }
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      outer?.removeEventListener("abort", stop);
      for (const name of listening) Deno.removeSignalListener(name, stop);
    },
  };
}
