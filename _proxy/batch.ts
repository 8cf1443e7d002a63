/**
 * Batch calls (Pyro5's `BatchProxy`): record calls on a batch, then send them all in one
 * message (flag BATCH, method `<batch>`). The daemon runs them in order and stops at the
 * first failure.
 *
 * @example
 * ```ts
 * import { Daemon } from "../daemon.ts";
 * import { expose } from "../expose.ts";
 * import { createBatch, createProxy } from "../proxy.ts";
 *
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(expose({ double: (x: number) => 2 * x }), "math");
 * await using p = createProxy<{ double(x: number): number }>(uri);
 *
 * const batch = createBatch(p);
 * batch.double(1);
 * batch.double(2);
 * console.log(await batch._pyroRun()); // [2, 4]; throws the first remote error, like Python
 * ```
 *
 * @module
 */

import { ExceptionWrapper } from "../class_registry.ts";
import { PyroError } from "../errors.ts";
import { Flags } from "../_wire/protocol.ts";
import { coreOf, type ProxyCore } from "./core.ts";
import { ProxyCall } from "./call.ts";
import { type CallOptions, mergeCallOptions } from "./options.ts";
import type { Batch, BatchOptions, BatchSettledResult, Proxy } from "./types.ts";

/** One recorded call, as the batch payload lists it: method, params, kwargs. */
type Call = [string, unknown[], Record<string, unknown> | null];

class BatchState {
  readonly core: ProxyCore;
  readonly options: CallOptions | null;
  calls: Call[] = [];

  constructor(core: ProxyCore, options: CallOptions | null) {
    this.core = core;
    this.options = options;
  }

  async send(oneway: boolean, options: BatchOptions | undefined): Promise<unknown[]> {
    const calls = this.calls;
    this.calls = [];
    const call = new ProxyCall("<batch>", calls, null);
    call.flags = Flags.BATCH | (oneway ? Flags.ONEWAY : 0);
    call.options = mergeCallOptions(this.options, options);
    const result = await this.core.call(call);
    if (oneway) return [];
    if (!Array.isArray(result)) throw new PyroError("invalid batch result: not a list");
    return result;
  }
}

const handler: ProxyHandler<BatchState> = {
  get(state, prop) {
    if (typeof prop === "symbol") return undefined;
    switch (prop) {
      case "_pyroRun":
        return async (options?: BatchOptions) => {
          const results = await state.send(false, options);
          for (const r of results) if (r instanceof ExceptionWrapper) throw r.error;
          return results;
        };
      case "_pyroRunSettled":
        return async (options?: BatchOptions) => {
          const results = await state.send(false, options);
          return results.map((r): BatchSettledResult =>
            r instanceof ExceptionWrapper
              ? { status: "rejected", reason: r.error }
              : { status: "fulfilled", value: r }
          );
        };
      case "_pyroRunOneway":
        return async (options?: BatchOptions) => {
          await state.send(true, options);
        };
      case "_pyroCalls":
        return state.calls.length;
      case "_pyroClear":
        return () => {
          state.calls = [];
        };
      case "then":
      case "constructor":
      case "toJSON":
        return undefined;
    }
    if (prop.startsWith("_")) return undefined;
    return (...args: unknown[]) => {
      const call = ProxyCall.fromArgs(prop, args);
      return state.calls.push([call.method, call.params, call.kwargs]) - 1;
    };
  },
  set() {
    throw new TypeError("Cannot set properties on a batch");
  },
};

/**
 * Makes a batch over a proxy core (used by the proxy's `_pyroBatch()`; internal).
 *
 * @example
 * ```ts
 * import { createProxy } from "../proxy.ts";
 * const b = createProxy("PYRO:thing@127.0.0.1:9999")._pyroBatch();
 * console.log(b._pyroCalls); // 0
 * ```
 *
 * @param core The proxy core.
 * @param options Call options of the proxy view the batch was made from.
 * @returns The batch.
 */
export function createBatchFor<T>(core: ProxyCore, options: CallOptions | null): Batch<T> {
  return new Proxy(new BatchState(core, options), handler) as unknown as Batch<T>;
}

/**
 * Makes a batch for a proxy: calls on the batch are recorded, and `_pyroRun()` sends them in
 * one message over the proxy's connection.
 *
 * @example
 * ```ts
 * import { createBatch, createProxy, type UntypedMethods } from "../proxy.ts";
 * const p = createProxy<UntypedMethods<"echo">>("PYRO:thing@127.0.0.1:9999");
 * const b = createBatch(p);
 * b.echo(1);
 * b.echo(2);
 * console.log(b._pyroCalls); // 2; `await b._pyroRunSettled()` would send them
 * b._pyroClear();
 * ```
 *
 * @param proxy A proxy from `createProxy`.
 * @returns The batch.
 * @throws {TypeError} When `proxy` is not a proxy.
 */
export function createBatch<T>(proxy: Proxy<T>): Batch<T> {
  const core = coreOf(proxy);
  if (core === undefined) throw new TypeError("Cannot make a batch: not a proxy");
  return createBatchFor<T>(core, null);
}
