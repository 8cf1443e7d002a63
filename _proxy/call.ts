/**
 * One call on its way out of a proxy ({@linkcode ProxyCall}): the INVOKE payload (object,
 * method, params, kwargs) together with its flags and options. The proxy makes one per call
 * and hands it down the call path (`call`, retries, `invoke`); the serializer encodes it as it
 * is.
 *
 * @module
 */

import type { CallRequest } from "../serializer.ts";
import { type CallOptions, Kwargs } from "./options.ts";

/** The keyword arguments of a call that has none (shared, never changed). */
const NO_KWARGS: Record<string, unknown> = Object.freeze({});

/**
 * One outgoing call. `object` is filled in each time the call is sent: `target`, or the object
 * of the connection that sends it (a PYRONAME proxy learns it when it connects).
 *
 * @example A method call with keyword arguments
 * ```ts
 * import { ProxyCall } from "./call.ts";
 * import { Kwargs } from "./options.ts";
 *
 * const call = ProxyCall.fromArgs("greet", ["Ada", new Kwargs({ polite: true })]);
 * console.log(call.method, call.params, call.kwargs); // greet [ "Ada" ] { polite: true }
 * ```
 */
export class ProxyCall implements CallRequest {
  /** The object id sent (set when the call is sent). */
  object = "";
  /** Another object id to call, or null for the proxy's object. */
  target: string | null = null;
  /** The method name (or `__getattr__`, `__setattr__`, `<batch>`). */
  readonly method: string;
  /** Positional arguments. */
  readonly params: unknown[];
  /** Keyword arguments (null for attribute access and batches, as Python sends them). */
  readonly kwargs: Record<string, unknown> | null;
  /** Message flags of the call itself (ONEWAY, BATCH). */
  flags = 0;
  /** Per-call options. */
  options: CallOptions | null = null;

  /**
   * Makes a call with its arguments as they go on the wire.
   *
   * @param method The method name.
   * @param params Positional arguments.
   * @param kwargs Keyword arguments.
   */
  constructor(method: string, params: unknown[], kwargs: Record<string, unknown> | null) {
    this.method = method;
    this.params = params;
    this.kwargs = kwargs;
  }

  /**
   * Makes a call from arguments as a caller gives them: a trailing `kwargs(...)` becomes the
   * keyword arguments; without one, `kwargs` is sent.
   *
   * @example
   * ```ts
   * import { ProxyCall } from "./call.ts";
   * console.log(ProxyCall.fromArgs("add", [1, 2]).kwargs); // {}
   * ```
   *
   * @param method The method name.
   * @param args The arguments (not copied).
   * @param kwargs The keyword arguments when `args` has no trailing `kwargs(...)`.
   * @returns The call.
   */
  static fromArgs(
    method: string,
    args: unknown[],
    kwargs: Record<string, unknown> | null = NO_KWARGS,
  ): ProxyCall {
    const last = args.length > 0 ? args[args.length - 1] : undefined;
    return last instanceof Kwargs
      ? new ProxyCall(method, args.slice(0, -1), last.values)
      : new ProxyCall(method, args, kwargs);
  }
}
