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
import { ProxyCore } from "./core.ts";
import { type CallOptions, Kwargs } from "./options.ts";
import type { DynamicObject, Proxy, RemoteMethodNames, WithKwargs } from "./types.ts";

/** Options of a batch run: those of one call (signal, timeout, annotations, ...). */
export type BatchOptions = Omit<CallOptions, "oneway">;

/** The outcome of one batch call, as `Promise.allSettled` gives it. */
export type BatchSettledResult = PromiseSettledResult<unknown>;

/** Recorders of `T`'s methods: each records a call and returns its index in the batch. */
export type BatchMethods<T> = {
  readonly [K in RemoteMethodNames<T>]: T[K] extends (...args: infer A) => unknown
    ? (...args: A | WithKwargs<A>) => number
    : never;
};

/** The control members of a batch. */
export interface BatchControls {
  /**
   * Sends the recorded calls and returns their results in order; throws the error of the
   * first call that failed (as Python's batch generator does when it reaches it).
   */
  _pyroRun(options?: BatchOptions): Promise<unknown[]>;
  /**
   * Sends the recorded calls and returns each outcome. The daemon stops at the first
   * failure, so the list may be shorter than the calls.
   */
  _pyroRunSettled(options?: BatchOptions): Promise<BatchSettledResult[]>;
  /** Sends the recorded calls as a oneway batch: no results, no waiting for them. */
  _pyroRunOneway(options?: BatchOptions): Promise<void>;
  /** How many calls are recorded. */
  readonly _pyroCalls: number;
  /** Forgets the recorded calls. */
  _pyroClear(): void;
}

/** A batch for a proxy of `T`. */
export type Batch<T = DynamicObject> = BatchMethods<T> & BatchControls;

const CORE = Symbol.for("pyro.proxyCore");

type Call = [string, unknown[], Record<string, unknown>];

class BatchState {
  readonly core: ProxyCore;
  readonly options: CallOptions | null;
  calls: Call[] = [];

  constructor(core: ProxyCore, options: CallOptions | null) {
    this.core = core;
    this.options = options;
  }

  #options(options: BatchOptions | undefined): CallOptions | null {
    if (options === undefined) return this.options;
    return this.options === null ? options : { ...this.options, ...options };
  }

  async send(oneway: boolean, options: BatchOptions | undefined): Promise<unknown[]> {
    const calls = this.calls;
    this.calls = [];
    const flags = Flags.BATCH | (oneway ? Flags.ONEWAY : 0);
    const result = await this.core.call(
      null,
      "<batch>",
      calls,
      null,
      flags,
      this.#options(options),
    );
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
      const last = args.length > 0 ? args[args.length - 1] : undefined;
      const call: Call = last instanceof Kwargs
        ? [prop, args.slice(0, -1), last.values]
        : [prop, args, {}];
      return state.calls.push(call) - 1;
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
export function createBatchFor<T>(
  core: ProxyCore,
  options: CallOptions | null,
  _proxy?: unknown,
): Batch<T> {
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
  const core = (proxy as unknown as Record<symbol, unknown>)[CORE];
  if (!(core instanceof ProxyCore)) throw new TypeError("Cannot make a batch: not a proxy");
  return createBatchFor<T>(core, null);
}
