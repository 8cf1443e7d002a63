/**
 * The client side of Pyro: a typed proxy for a remote object served by a Pyro daemon, ours
 * or Python Pyro5's.
 *
 * `createProxy<T>(uri)` gives a {@linkcode Proxy} whose methods are those of `T`, each
 * returning a `Promise` of the result, so the checker catches wrong names and argument
 * types. The proxy connects on first use (handshake and metadata), pipelines concurrent
 * calls over one connection, and knows Pyro5's call semantics: oneway methods, remote
 * attributes, item streams as `AsyncIterable`, batches, timeouts, abort signals, automatic
 * reconnects, correlation ids and annotations. Control members start with `_pyro`, a name
 * no remote member can have (private names are never remote).
 *
 * Semantics, briefly (Pyro5's, unless noted):
 * - Once the metadata is known, calling a name the object does not expose fails locally with
 *   a {@linkcode PyroError}; names in metadata `oneway` are sent with the oneway flag and
 *   resolve as soon as the request is written. `_pyroCall` skips these checks.
 * - Remote attributes (metadata `attrs`) are read and written with `_pyroGet` / `_pyroSet`;
 *   property syntax is not used because a read would have to return a Promise.
 * - Concurrent calls are pipelined on the one connection (replies come in request order and
 *   are matched by sequence number). A reply out of sequence, of another type or in another
 *   serializer is a {@linkcode ProtocolError}: the connection closes and pending calls fail.
 * - A call that exceeds its timeout fails with {@linkcode TimeoutError} and closes the
 *   connection (pending calls fail with {@linkcode ConnectionClosedError}); an aborted
 *   `signal` fails only that call, with the signal's reason, and its late reply is dropped
 *   (daemons reply in order, so later replies still queue behind it: use a timeout to give
 *   up on a hung connection).
 * - After `ConnectionClosedError` or `TimeoutError` a call is retried up to `maxRetries`
 *   times on a new connection (new CONNECT; the sequence counter continues); PYRONAME and
 *   PYROMETA URIs are resolved again at every connect. Retries mean at-least-once delivery.
 * - A proxy revived from a Pyro5 Proxy map (autoproxy, callbacks) uses the map's serializer,
 *   or `config.SERIALIZER` when the map has none; release it when done.
 *
 * @example Calling a remote object
 * ```ts
 * import { Daemon } from "./daemon.ts";
 * import { expose } from "./expose.ts";
 * import { createProxy, kwargs } from "./proxy.ts";
 *
 * interface Thing {
 *   echo(x: string): string;
 *   gen(n: number): Generator<number>;
 * }
 *
 * // A daemon serving an object (usually in another process, possibly Python Pyro5).
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(
 *   expose({
 *     echo: (x: string) => x,
 *     *gen(n: number) {
 *       for (let i = 0; i < n; i++) yield i;
 *     },
 *   }),
 *   "thing",
 * );
 *
 * await using thing = createProxy<Thing>(uri);
 * console.log(await thing.echo("hi")); // "hi"
 * for await (const n of await thing.gen(3)) console.log(n); // 0 1 2
 * console.log(await Promise.all(["a", "b"].map((x) => thing.echo(x)))); // pipelined
 * await thing._pyroCall("echo", ["kw"]); // by name, e.g. with kwargs({ ... }) for Python
 * console.log(kwargs({ b: 3 }).values);
 * ```
 *
 * @module
 */

import { createBatchFor } from "./_proxy/batch.ts";
import { AUTOPROXY, registerDictToClass } from "./class_registry.ts";
import {
  // deno-lint-ignore no-unused-vars
  type ConnectionClosedError,
  // deno-lint-ignore no-unused-vars
  type ProtocolError,
  // deno-lint-ignore no-unused-vars
  type PyroError,
  SerializeError,
  // deno-lint-ignore no-unused-vars
  type TimeoutError,
} from "./errors.ts";
import { CORE, coreOf, ProxyCore } from "./_proxy/core.ts";
import { ProxyCall } from "./_proxy/call.ts";
import {
  type CallOptions,
  Kwargs,
  mergeCallOptions,
  type ProxyOptions,
  type RawCallOptions,
} from "./_proxy/options.ts";
import type { DynamicObject, Proxy, ReconnectOptions } from "./_proxy/types.ts";
import { hasSerializer } from "./serializer.ts";
import type { URI } from "./uri.ts";
import { currentRoute } from "./_proxy/via.ts";

export { Kwargs } from "./_proxy/options.ts";
export type {
  AnnotationsInit,
  CallOptions,
  CorrelationIdInit,
  ProxyMetadata,
  ProxyOptions,
  RawCallOptions,
} from "./_proxy/options.ts";
export type {
  Batch,
  BatchControls,
  BatchMethods,
  BatchOptions,
  BatchSettledResult,
  DynamicObject,
  Proxy,
  ProxyControls,
  ReconnectOptions,
  RemoteAttributeNames,
  RemoteAttributeType,
  RemoteMethod,
  RemoteMethodNames,
  RemoteMethods,
  RemoteResult,
  UntypedMethods,
  WithKwargs,
} from "./_proxy/types.ts";
export { RemoteStream } from "./_proxy/stream.ts";
export type { TransportTlsOptions } from "./_wire/transport.ts";
export { URI, type URIProtocol, type URIState } from "./uri.ts";
export { createBatch } from "./_proxy/batch.ts";

/**
 * Marks keyword arguments for a remote (Python) call; pass it as the last argument.
 *
 * @example
 * ```ts
 * import { Daemon } from "./daemon.ts";
 * import { expose } from "./expose.ts";
 * import { createProxy, kwargs, type UntypedMethods } from "./proxy.ts";
 *
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(expose({ kw: (a: number, b = 2, c = "") => [a, b, c] }), "kw");
 * await using p = createProxy<UntypedMethods<"kw">>(uri);
 * console.log(await p.kw(1, kwargs({ c: "x" }))); // [1, 2, "x"]; Python: p.kw(1, c="x")
 * ```
 *
 * @param values The keyword arguments by name.
 * @returns The marker.
 */
export function kwargs(values: Record<string, unknown>): Kwargs {
  return new Kwargs(values);
}

/** The target of a proxy's JS `Proxy`: the core plus per-view call options. */
class Surface {
  readonly core: ProxyCore;
  readonly options: CallOptions | null;
  /** The first method function handed out and its name (many proxies call one method). */
  firstName: string | null = null;
  firstMethod: ((...args: unknown[]) => Promise<unknown>) | null = null;
  /** The other method functions handed out, by name (the map is made at the second name). */
  methods: Map<string, (...args: unknown[]) => Promise<unknown>> | null = null;

  constructor(core: ProxyCore, options: CallOptions | null) {
    this.core = core;
    this.options = options;
  }

  /** Deno's console shows the target of a JS Proxy: keep it short. */
  [Symbol.for("Deno.customInspect")](): string {
    return `Proxy(${this.core.uri})`;
  }
}

const inspectSymbol = Symbol.for("Deno.customInspect");
const nodeInspectSymbol = Symbol.for("nodejs.util.inspect.custom");

function control(s: Surface, name: string): unknown {
  const core = s.core;
  switch (name) {
    case "_pyroBind":
      return () => core.bind(s.options?.signal);
    case "_pyroRelease":
      return () => core.release();
    case "_pyroUri":
      return core.uri;
    case "_pyroMetadata":
      return core.publicMetadata();
    case "_pyroConnected":
      return core.connected;
    case "_pyroReconnect":
      return (tries = 100_000_000, options?: ReconnectOptions) =>
        core.reconnect(tries, options?.delay ?? 2000, options?.signal ?? s.options?.signal);
    case "_pyroLocalSocket":
      return core.localAddress;
    case "_pyroGetMetadata":
      return (objectId?: string, knownMetadata?: unknown) =>
        core.getMetadata(objectId, knownMetadata, s.options?.signal);
    case "_pyroSeq":
      return core.seq;
    case "_pyroGet":
      return (attr: string, options?: CallOptions) =>
        core.getAttribute(attr, mergeCallOptions(s.options, options));
    case "_pyroSet":
      return (attr: string, value: unknown, options?: CallOptions) =>
        core.setAttribute(attr, value, mergeCallOptions(s.options, options));
    case "_pyroCall":
      return (method: string, args: readonly unknown[] = [], options?: RawCallOptions) => {
        const call = ProxyCall.fromArgs(method, [...args], options?.kwargs);
        call.target = options?.objectId ?? null;
        call.options = mergeCallOptions(s.options, options);
        return core.call(call);
      };
    case "_pyroWith":
      return (options: CallOptions) => {
        const merged = mergeCallOptions(s.options, options)!;
        return makeProxy(core, {
          ...merged,
          responseAnnotations: options.responseAnnotations ?? new Map(),
        });
      };
    case "_pyroBatch":
      return () => createBatchFor(core, s.options);
    case "_pyroTimeout":
      return core.timeout;
    case "_pyroMaxRetries":
      return core.maxRetries;
    case "_pyroHandshake":
      return core.handshake;
    case "_pyroSerializer":
      return core.serializer.name;
    case "_pyroHandshakeResponse":
      return core.handshakeResponse;
    case "_pyroResponseAnnotations":
      return s.options?.responseAnnotations ?? core.responseAnnotations;
  }
  // Dunder names such as __len__ may be exposed remotely; other private names never are.
  if (name.length > 4 && name.startsWith("__") && name.endsWith("__")) return method(s, name);
  return undefined;
}

function method(s: Surface, name: string): (...args: unknown[]) => Promise<unknown> {
  if (s.firstName === name) return s.firstMethod!;
  let fn = s.methods?.get(name);
  if (fn === undefined) {
    const core = s.core;
    const options = s.options;
    fn = (...args: unknown[]) => core.callMethod(name, args, options);
    if (s.firstName === null) {
      s.firstName = name;
      s.firstMethod = fn;
    } else (s.methods ??= new Map()).set(name, fn);
  }
  return fn;
}

const handler: ProxyHandler<Surface> = {
  get(s, prop) {
    if (typeof prop === "symbol") {
      switch (prop) {
        case Symbol.asyncDispose:
          return () => s.core.release();
        case CORE:
          return s.core;
        case AUTOPROXY:
          return () => s.core.toProxyMap();
        case inspectSymbol:
        case nodeInspectSymbol:
          return () => `Proxy(${s.core.uri})`;
        case Symbol.toStringTag:
          return "Pyro.Proxy";
      }
      return undefined;
    }
    if (prop.charCodeAt(0) === 95) return control(s, prop); // "_"
    switch (prop) {
      case "then": // never a thenable: `await proxy` must not call a remote `then`
      case "constructor":
        return undefined;
      case "toJSON":
      case "toString":
      case "valueOf":
        return () => `Proxy(${s.core.uri})`;
    }
    return method(s, prop);
  },
  set(s, prop, value) {
    const core = s.core;
    switch (prop) {
      case "_pyroTimeout":
        core.timeout = Number(value);
        return true;
      case "_pyroMaxRetries":
        core.maxRetries = Number(value);
        return true;
      case "_pyroHandshake":
        core.handshake = value;
        return true;
      case "_pyroSerializer":
        core.setSerializer(String(value));
        return true;
    }
    throw new TypeError(
      `Cannot set '${String(prop)}' on a proxy: use _pyroSet() for remote attributes`,
    );
  },
  has(s, prop) {
    if (typeof prop === "symbol") return prop === Symbol.asyncDispose || prop === CORE;
    if (prop.startsWith("_pyro")) return control(s, prop) !== undefined;
    const meta = s.core.metadata;
    return meta !== null && (meta.methods.has(prop) || meta.attrs.has(prop));
  },
  ownKeys() {
    return []; // no enumerable own members: remote names are not known up front
  },
  getOwnPropertyDescriptor() {
    return undefined;
  },
  defineProperty() {
    return false;
  },
  deleteProperty() {
    return false;
  },
};

function makeProxy<T>(core: ProxyCore, options: CallOptions | null): Proxy<T> {
  return new Proxy(new Surface(core, options), handler) as unknown as Proxy<T>;
}

/**
 * Makes a proxy for the object a URI names. Nothing happens on the network until the first
 * call (or `_pyroBind()`).
 *
 * @example A typed proxy
 * ```ts
 * import { Daemon } from "./daemon.ts";
 * import { expose } from "./expose.ts";
 * import { createProxy } from "./proxy.ts";
 *
 * interface Calculator {
 *   add(a: number, b: number): number;
 * }
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(expose({ add: (a: number, b: number) => a + b }), "calc");
 *
 * await using calc = createProxy<Calculator>(uri, { timeout: 5000 });
 * const sum: number = await calc.add(2, 3);
 * console.log(sum); // 5
 * ```
 *
 * @example A Python object with unknown types
 * ```ts
 * import { createProxy } from "./proxy.ts";
 * const thing = createProxy("PYRONAME:example.thing", { serializer: "json" });
 * console.log(thing._pyroUri.protocol); // "PYRONAME": resolved at the first call
 * // const value: unknown = await thing.anything?.(1, "two");
 * ```
 *
 * @typeParam T The remote object's interface (its methods define the proxy's).
 * @param uri A `PYRO:`, `PYRONAME:` or `PYROMETA:` URI.
 * @param options Serializer, timeout, handshake, retries and other settings.
 * @returns The proxy.
 * @throws {PyroError} For an invalid URI.
 * @throws {SerializeError} For an unknown serializer name.
 */
export function createProxy<T = DynamicObject>(
  uri: string | URI,
  options: ProxyOptions = {},
): Proxy<T> {
  return makeProxy<T>(new ProxyCore(uri, options), null);
}

/**
 * Tells whether a value is a proxy made by {@linkcode createProxy} (or revived from an
 * autoproxy map).
 *
 * @example
 * ```ts
 * import { createProxy, isProxy } from "./proxy.ts";
 * console.log(isProxy(createProxy("PYRO:thing@127.0.0.1:9999"))); // true
 * console.log(isProxy({})); // false
 * ```
 *
 * @param value Any value.
 * @returns True for proxies.
 */
export function isProxy(value: unknown): value is Proxy {
  return coreOf(value) !== undefined;
}

/** Builds an unconnected proxy from Pyro5's Proxy state (autoproxy and callbacks). */
function proxyFromState(_className: string, dict: Record<string, unknown>): Proxy {
  const state = dict.state;
  if (!Array.isArray(state) || typeof state[0] !== "string") {
    throw new SerializeError("invalid Pyro5.client.Proxy state");
  }
  const [uri, oneway, methods, attrs, handshake, serializer] = state;
  const options: ProxyOptions = { handshake: handshake ?? "hello" };
  if (typeof serializer === "string" && hasSerializer(serializer)) options.serializer = serializer;
  const route = currentRoute(); // received by a proxy over WebSocket: reached the same way
  if (route !== null) Object.assign(options, route);
  const proxy = createProxy(uri, options);
  if (Array.isArray(methods) && Array.isArray(attrs) && methods.length + attrs.length > 0) {
    coreOf(proxy)!.setMetadata({ methods, oneway, attrs });
  }
  return proxy;
}

registerDictToClass("Pyro5.client.Proxy", proxyFromState);
