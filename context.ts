/**
 * The per-request context of a daemon call (Pyro5's `current_context` on the server side):
 * inside a method that a daemon runs, {@linkcode currentContext} tells who is calling, with
 * which correlation id and annotations, and lets the method add annotations to its reply.
 *
 * The context follows the call through `await`s (it lives in an `AsyncLocalStorage`), so
 * concurrent calls each see their own. Work that a call leaves running after it has returned
 * (a timer, a promise it did not await) should copy what it needs from the context first:
 * there, `currentContext()` may be undefined or, rarely, another call's context.
 *
 * @example Reading the caller and answering with an annotation
 * ```ts
 * import { currentContext } from "./context.ts";
 * import { expose } from "./expose.ts";
 *
 * const service = expose({
 *   whoami(): string {
 *     const ctx = currentContext();
 *     if (ctx === undefined) return "not called remotely";
 *     ctx.responseAnnotations.set("XRSP", new TextEncoder().encode("seen"));
 *     return `${ctx.clientAddress ?? "unknown"} (correlation id ${ctx.correlationId})`;
 *   },
 * });
 * ```
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import type { PeerCertificate } from "./tls.ts";

export type { PeerCertificate } from "./tls.ts";

/** One client connection of a daemon, as seen from a call. */
export interface ConnectionInfo {
  /** A number that identifies the connection within its daemon. */
  readonly id: number;
  /** The peer's address, e.g. `127.0.0.1:50123`, `[::1]:50123` or a Unix socket path. */
  readonly remoteAddress: string | null;
  /** Storage that lives as long as the connection, for the application's own use. */
  readonly storage: Map<unknown, unknown>;
  /** The client's verified TLS certificate, when the daemon requires one; otherwise null. */
  readonly peerCertificate: PeerCertificate | null;
  /** Closes the connection (the reply to the current call, if any, is not sent). */
  close(): void;
}

/** The context of one remote call, as {@linkcode currentContext} returns it. */
export interface CallContext {
  /** The connection the call came in on. */
  readonly connection: ConnectionInfo;
  /** The peer's address (same as `connection.remoteAddress`). */
  readonly clientAddress: string | null;
  /** The request's correlation id (UUID text); a random one when the request had none. */
  readonly correlationId: string;
  /** The request's annotations. */
  readonly annotations: ReadonlyMap<string, Uint8Array>;
  /** Annotations to add to the reply; keys are 4 ASCII characters. Replaceable. */
  responseAnnotations: Map<string, Uint8Array>;
  /** The request's sequence number. */
  readonly seq: number;
  /** The request's flags. */
  readonly flags: number;
  /** The request's serializer id. */
  readonly serializerId: number;
}

/**
 * What the async storage holds: a call's context, or a connection's slot, which holds the
 * context of the call that connection is serving. A slot saves an `AsyncLocalStorage` entry
 * per call (the largest cost of a small call); the daemon fills it only for one call at a time
 * and gives overlapping calls entries of their own.
 */
const storage = new AsyncLocalStorage<CallContext | ContextSlot>();

/**
 * A connection's context slot (internal): code run by {@linkcode runInSlot} sees the slot's
 * current context as {@linkcode currentContext}.
 *
 * @example
 * ```ts
 * import { ContextSlot, currentContext, runInSlot } from "./context.ts";
 * const slot = new ContextSlot();
 * runInSlot(slot, () => console.log(currentContext())); // undefined
 * ```
 */
export class ContextSlot {
  /** The context of the call being served, or undefined. */
  current: CallContext | undefined = undefined;
}

/**
 * Returns the context of the remote call being served, or undefined outside one.
 *
 * @example
 * ```ts
 * import { currentContext } from "./context.ts";
 * console.log(currentContext()); // undefined: not inside a daemon call
 * ```
 *
 * @returns The call's context.
 */
export function currentContext(): CallContext | undefined {
  const store = storage.getStore();
  return store instanceof ContextSlot ? store.current : store;
}

/**
 * Runs a function with a call context (used by the daemon for every call it serves).
 *
 * @example
 * ```ts
 * import { type CallContext, currentContext, runWithContext } from "./context.ts";
 * const ctx: CallContext = {
 *   connection: { id: 1, remoteAddress: null, storage: new Map(), peerCertificate: null, close() {} },
 *   clientAddress: null,
 *   correlationId: "11112222-3333-4444-5555-666677778888",
 *   annotations: new Map(),
 *   responseAnnotations: new Map(),
 *   seq: 1,
 *   flags: 0,
 *   serializerId: 4,
 * };
 * runWithContext(ctx, () => console.log(currentContext()?.seq)); // 1
 * ```
 *
 * @param context The context.
 * @param fn The function to run.
 * @returns What the function returned.
 */
export function runWithContext<T>(context: CallContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * Runs a function with a context slot (internal: the daemon runs each connection in one).
 *
 * @example
 * ```ts
 * import { ContextSlot, currentContext, runInSlot } from "./context.ts";
 * const slot = new ContextSlot();
 * await runInSlot(slot, async () => {
 *   await null;
 *   console.log(currentContext()); // undefined: the slot is empty
 * });
 * ```
 *
 * @param slot The slot.
 * @param fn The function to run.
 * @param args Its arguments.
 * @returns What the function returned.
 */
export function runInSlot<T, A extends unknown[]>(
  slot: ContextSlot,
  fn: (...args: A) => T,
  ...args: A
): T {
  return storage.run(slot, fn, ...args);
}
