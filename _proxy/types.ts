/**
 * The types of typed proxies: {@linkcode Proxy} maps each method of an interface `T` to an
 * async function with the same parameters, and adds the `_pyro` control members.
 * Re-exported by proxy.ts.
 *
 * @example
 * ```ts
 * import { Daemon } from "../daemon.ts";
 * import { expose } from "../expose.ts";
 * import { createProxy } from "../proxy.ts";
 * import type { Proxy } from "./types.ts";
 *
 * interface Calculator {
 *   add(a: number, b: number): number;
 * }
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(expose({ add: (a: number, b: number) => a + b }), "calc");
 * await using calc: Proxy<Calculator> = createProxy<Calculator>(uri);
 * const sum: number = await calc.add(1, 2); // add(a: number, b: number): Promise<number>
 * console.log(sum); // 3
 * ```
 *
 * @module
 */

import type { CallOptions, Kwargs, ProxyMetadata, RawCallOptions } from "./options.ts";
import type { RemoteStream } from "./stream.ts";
import type { URI } from "../uri.ts";

/** The default interface of a remote object whose types are unknown: any method, any arguments. */
export type DynamicObject = Record<string, (...args: unknown[]) => unknown>;

/**
 * An interface with the given method names taking any arguments and returning unknown: a
 * proxy type for a Python object without type declarations that still lists its names
 * (handy under `noUncheckedIndexedAccess`, where {@linkcode DynamicObject}'s methods are
 * possibly undefined).
 *
 * @example
 * ```ts
 * import { Daemon } from "../daemon.ts";
 * import { expose } from "../expose.ts";
 * import { createProxy, type UntypedMethods } from "../proxy.ts";
 *
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(expose({ echo: (x: unknown) => x, kw: () => null }), "thing");
 * await using p = createProxy<UntypedMethods<"echo" | "kw">>(uri);
 * const reply: unknown = await p.echo("hi");
 * console.log(reply); // hi
 * ```
 */
export type UntypedMethods<Names extends string> = Record<Names, (...args: unknown[]) => unknown>;

/** The names of `T`'s members that can be remote methods: public (no leading `_`) functions. */
export type RemoteMethodNames<T> = {
  [K in keyof T]-?: K extends string ? K extends `_${string}` ? never
    : T[K] extends (...args: never) => unknown ? K
    : never
    : never;
}[keyof T];

/** The names of `T`'s members that can be remote attributes: public non-function properties. */
export type RemoteAttributeNames<T> = string extends keyof T ? string : {
  [K in keyof T]-?: K extends string ? K extends `_${string}` ? never
    : T[K] extends (...args: never) => unknown ? never
    : K
    : never;
}[keyof T];

/**
 * What a remote call resolves to: the awaited return value, or a {@linkcode RemoteStream} for
 * methods that return an iterator, generator or async iterable. A declared proxy type stays
 * as it is (objects registered in a daemon arrive as proxies).
 */
export type RemoteResult<R> = R extends { readonly _pyroUri: URI } ? R // a proxy (autoproxy)
  : Awaited<R> extends AsyncIterable<infer I> ? RemoteStream<I>
  : Awaited<R> extends Iterator<infer I> ? RemoteStream<I>
  : Awaited<R>;

/**
 * The argument lists of a call with a trailing `kwargs(...)` marker: the required
 * parameters, any number of the optional ones, then the marker.
 */
export type WithKwargs<A extends readonly unknown[], Acc extends unknown[] = []> = number extends
  A["length"] ? [...Acc, ...A, Kwargs]
  : A extends readonly [] ? [...Acc, Kwargs]
  : A extends readonly [infer H, ...infer R] ? WithKwargs<R, [...Acc, H]>
  : A extends readonly [(infer H)?, ...infer R] ? [...Acc, Kwargs] | WithKwargs<R, [...Acc, H]>
  : never;

/** A remote method: the local signature (plus an optional trailing `kwargs(...)`), async. */
export type RemoteMethod<F> = F extends (...args: infer A) => infer R
  ? (...args: A | WithKwargs<A>) => Promise<RemoteResult<R>>
  : never;

/** The remote methods of `T`. */
export type RemoteMethods<T> = { readonly [K in RemoteMethodNames<T>]: RemoteMethod<T[K]> };

/** The value type of attribute `K` of `T` (unknown for dynamic objects). */
export type RemoteAttributeType<T, K> = K extends keyof T
  ? T[K] extends (...args: never) => unknown ? unknown : T[K]
  : unknown;

/** The control members of a proxy; all start with `_pyro`. */
export interface ProxyControls<T> {
  /** Connects now (handshake and metadata) unless connected. */
  _pyroBind(): Promise<void>;
  /** Closes the connection; the next call reconnects. Pending calls fail. */
  _pyroRelease(): Promise<void>;
  /** The URI as given (PYRONAME/PYROMETA URIs are resolved at every connect). */
  readonly _pyroUri: URI;
  /** The remote object's metadata, once connected (or given by an autoproxy). */
  readonly _pyroMetadata: ProxyMetadata | null;
  /** True while a connection is open. */
  readonly _pyroConnected: boolean;
  /** Reads a remote attribute (a name in metadata `attrs`). */
  _pyroGet<K extends RemoteAttributeNames<T>>(
    name: K,
    options?: CallOptions,
  ): Promise<RemoteAttributeType<T, K>>;
  /** Writes a remote attribute (a name in metadata `attrs`). */
  _pyroSet<K extends RemoteAttributeNames<T>>(
    name: K,
    value: RemoteAttributeType<T, K>,
    options?: CallOptions,
  ): Promise<void>;
  /**
   * Calls any method by name without the local metadata checks (Python's `_pyroInvoke`).
   * A trailing `kwargs(...)` in `args` or `options.kwargs` gives keyword arguments.
   */
  _pyroCall(method: string, args?: readonly unknown[], options?: RawCallOptions): Promise<unknown>;
  /**
   * A view of this proxy (same connection) whose calls use these options; its
   * `_pyroResponseAnnotations` are those of its latest call.
   */
  _pyroWith(options: CallOptions): Proxy<T>;
  /** A batch: record calls, then send them in one message. */
  _pyroBatch(): Batch<T>;
  /** The call timeout in milliseconds (0 = none). */
  _pyroTimeout: number;
  /** Automatic reconnects and retries after a lost connection or timeout. */
  _pyroMaxRetries: number;
  /** Handshake data for the next CONNECT. */
  _pyroHandshake: unknown;
  /** The serializer name; changing it releases the connection. */
  _pyroSerializer: string;
  /** The daemon's handshake reply of the latest connect. */
  readonly _pyroHandshakeResponse: unknown;
  /** Annotations of the latest reply (through this view, for `_pyroWith` views). */
  readonly _pyroResponseAnnotations: ReadonlyMap<string, Uint8Array>;
  /**
   * Releases the connection and connects again, up to `tries` times, `options.delay` ms apart
   * (Pyro5's `_pyroReconnect`; 2000 ms apart and practically unlimited tries by default).
   * Throws ConnectionClosedError "failed to reconnect" when every try failed.
   */
  _pyroReconnect(tries?: number, options?: ReconnectOptions): Promise<void>;
  /**
   * The local address of the open connection (Pyro5's `_pyroLocalSocket`: a `Deno.NetAddr`
   * with `hostname` and `port`, or a `Deno.UnixAddr`), null when not connected.
   */
  readonly _pyroLocalSocket: Deno.Addr | null;
  /**
   * Gets the remote object's metadata (Pyro5's `_pyroGetMetadata`): from the daemon, for the
   * proxy's own object or `objectId`, or from `knownMetadata` without asking.
   */
  _pyroGetMetadata(objectId?: string, knownMetadata?: unknown): Promise<ProxyMetadata | null>;
  /** The sequence number of the latest message this proxy sent (Pyro5's `_pyroSeq`). */
  readonly _pyroSeq: number;
  /** Releases the proxy (for `await using`). */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of `_pyroReconnect`. */
export interface ReconnectOptions {
  /**
   * Milliseconds between tries.
   *
   * @default {2000}
   */
  delay?: number;
  /** Stops trying when aborted. */
  signal?: AbortSignal;
}

/**
 * A proxy for a remote object of type `T`: its methods, async, plus the `_pyro` controls.
 * Without `T`, any method name may be called with any arguments.
 */
export type Proxy<T = DynamicObject> = RemoteMethods<T> & ProxyControls<T>;

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
