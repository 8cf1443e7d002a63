/**
 * The Pyro daemon: serves TypeScript objects to Pyro clients (TypeScript proxies and Python
 * Pyro5 alike) over TCP (IPv4 or IPv6) or a Unix domain socket.
 *
 * A daemon binds as soon as it is made and serves in the background. Register objects to get
 * their `PYRO:` URIs; only members exposed with `@expose` / `@oneway` (or the plain-object form,
 * see expose.ts) can be called. Every daemon also serves `Pyro.Daemon`, Pyro5's built-in object
 * with `ping`, `registered`, `info`, `get_metadata` and the item-stream methods.
 *
 * Semantics follow Pyro5 (section 4 of the protocol reference): the handshake with an optional
 * validation hook, metadata, remote attributes, oneway calls, batches, item streams of
 * iterators, generators and async iterables, instance modes for registered classes,
 * annotations, a per-call context ({@linkcode currentContext}) and Pyro5's error replies.
 *
 * Keyword arguments are bound to parameters by name, as Python binds them. The names come from
 * the method's own parameter list, read once at registration: plain names (with or without a
 * default) take keywords; destructured parameters are positional only; a last parameter named
 * `kwargs` collects unknown keywords as a Kwargs object (Python's `**kwargs`); a method with a
 * rest parameter (`...args`), or whose source cannot be read (bound, native), gets the positional
 * arguments and the Kwargs object as its last argument (recognise it with `isKwargs`). The
 * `params` register option declares a method's Python signature instead, and that one is exact:
 * every call, positional too, is checked against it (the echo server declares its own). An
 * unknown, repeated or missing keyword gets Python's `TypeError` text. Without a declared
 * signature, calls without keywords pass their arguments as sent (JavaScript cannot tell an
 * optional parameter from a required one, so arity is not checked).
 *
 * Pyro5's `Daemon` members here: `register` (with `force`), `unregister`, `uriFor`,
 * `proxyFor`, `resetMetadataCache`, `close`/`shutdown`, `requestLoop` (a promise; there is no
 * loop to run, and no `loopCondition`), `locationStr`, `natLocationStr`, `registered` (the ids of
 * `objectsById`), and the hooks `validateHandshake`, `annotations`, `clientDisconnect`,
 * `housekeeping` and `methodCallErrorHandler` (options, or methods to override). What cannot
 * apply to one async daemon on an event loop: `SERVERTYPE` (the thread/multiplex choice; every
 * daemon multiplexes its connections), `combine` (run several daemons side by side instead),
 * `events` and `selector`/`sockets` (there is no external select loop), `serveSimple` (use
 * `serve()` in serve.ts), weak registration (`weak=True`; unregister explicitly), and
 * connected-socket daemons.
 *
 * @example Serving an object
 * ```ts
 * import { Daemon } from "./daemon.ts";
 * import { expose } from "./expose.ts";
 *
 * @expose
 * class Greeter {
 *   greet(name: string): string {
 *     return `Hello, ${name}!`;
 *   }
 * }
 *
 * await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
 * const uri = daemon.register(new Greeter(), "example.greeter");
 * console.log(`serving ${uri}`); // serving PYRO:example.greeter@127.0.0.1:<port>
 * ```
 *
 * @module
 */

import { AUTOPROXY } from "./class_registry.ts";
import { currentContext } from "./context.ts";
import { config } from "./config.ts";
import { DaemonError } from "./errors.ts";
import { createProxy, type Proxy } from "./proxy.ts";
import { coreOf } from "./_proxy/core.ts";
import { DAEMON_NAME, EMPTY_ANNOTATIONS } from "./_wire/protocol.ts";
import { hostPort } from "./_wire/address.ts";
import { behaviorOf, expose } from "./expose.ts";
import {
  exposedMembers,
  type ExposeLists,
  forgetExposedMembers,
  type Metadata,
  metadataOf,
  type WireMetadata,
  wireMetadataOf,
} from "./_daemon/exposure.ts";
import { log } from "./log.ts";
import { serverTlsFromConfig } from "./tls.ts";
import { type AcceptedConn, type AcceptingListener, listenTls } from "./_wire/tls_socket.ts";
import { connectionEvent, TELEMETRY } from "./_telemetry/mod.ts";
import { URI } from "./uri.ts";
import { type ConnectionOptions, DaemonConnection } from "./_daemon/connection.ts";
import { Admission, defaultMaxConnections, RateLog } from "./_daemon/admission.ts";
import { DEFAULT_MAX_INFLATED_SIZE } from "./_wire/inflate.ts";
import type {
  DaemonOptions,
  MethodCallErrorInfo,
  RegisterOptions,
  UriForOptions,
} from "./_daemon/options.ts";
import type { DaemonHost, Registration } from "./_daemon/host.ts";
import { StreamRegistry } from "./_daemon/streams.ts";
import { acceptWebSocket } from "./_daemon/websocket.ts";

export { currentContext } from "./context.ts";
export { URI, type URIProtocol, type URIState } from "./uri.ts";
export type { PeerCertificate, ServerTlsOptions } from "./tls.ts";
export type { CallContext, ConnectionInfo } from "./context.ts";
import type { ConnectionInfo } from "./context.ts";
export type {
  DaemonOptions,
  MethodCallErrorInfo,
  RegisterOptions,
  UriForOptions,
} from "./_daemon/options.ts";

export { DAEMON_NAME } from "./_wire/protocol.ts";

/** Safe defaults of the limits Pyro5 does not have (see DaemonOptions). */
const DEFAULT_MAX_STREAMS = 100;
const DEFAULT_FRAME_TIMEOUT = 60_000;
const DEFAULT_WRITE_TIMEOUT = 60_000;
const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

function toAnnotationMap(
  value: Map<string, Uint8Array> | Record<string, Uint8Array> | undefined,
): Map<string, Uint8Array> {
  if (value === undefined || value === null) return new Map();
  return value instanceof Map ? value : new Map(Object.entries(value));
}

function ms(value: number | undefined, fallbackSeconds: number): number {
  return value ?? fallbackSeconds * 1000;
}

/**
 * A Pyro daemon. It binds in the constructor and serves in the background until
 * {@linkcode Daemon.close} (or `await using`, or the `signal` option).
 *
 * @example Registering a class per client connection and shutting down
 * ```ts
 * import { Daemon } from "./daemon.ts";
 * import { behavior, expose } from "./expose.ts";
 *
 * @expose
 * @behavior({ instanceMode: "session" })
 * class Counter {
 *   #n = 0;
 *   next(): number { return ++this.#n; }
 * }
 *
 * const daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(Counter, "counter");
 * console.log(uri.toString(), daemon.registered); // PYRO:counter@127.0.0.1:<port> ["Pyro.Daemon", "counter"]
 * await daemon.close();
 * ```
 */
export class Daemon implements AsyncDisposable {
  /** The location clients connect to: `host:port`, `[ipv6]:port` or `./u:path`. */
  readonly locationStr: string;
  /** The NAT location put into URIs, or null. */
  readonly natLocationStr: string | null;
  /** The bound address. */
  readonly addr: Deno.Addr;
  /** Settles once the daemon has closed. */
  readonly closed: Promise<void>;

  readonly #listener: AcceptingListener;
  readonly #registry = new Map<string, Registration>();
  readonly #ids = new WeakMap<object, string>();
  readonly #autoproxies = new WeakMap<object, unknown>();
  readonly #connections = new Set<DaemonConnection>();
  /** Aborted when the daemon closes (ends WebSockets still in their opening exchange). */
  readonly #lifetime = new AbortController();
  readonly #streams: StreamRegistry;
  readonly #host: DaemonHost;
  readonly #options: DaemonOptions;
  readonly #admission: Admission;
  readonly #acceptLog = new RateLog(10_000, (text) => log.error(text));
  readonly #idleTimeout: number;
  readonly #closedResolvers = Promise.withResolvers<void>();
  readonly #unixPath: string | undefined;
  #closing: Promise<void> | undefined;
  #accepting: Promise<void>;
  #abortListener: (() => void) | undefined;
  #housekeeper: ReturnType<typeof setInterval> | undefined;
  readonly #lists = new Map<string, ExposeLists>();
  /** The options of every admitted connection (made at the first). */
  #connectionOptions: ConnectionOptions | undefined;

  /**
   * Called with every exception a served method raises (Pyro5's `methodcall_error_handler`);
   * replace it to log or count failures. Defaults to the `methodCallErrorHandler` option, else a
   * debug log line.
   */
  methodCallErrorHandler: (info: MethodCallErrorInfo) => void;

  /**
   * Binds and starts serving.
   *
   * @param options Where to listen, limits and hooks.
   * @throws {Deno.errors.AddrInUse} (and other `Deno.listen` errors) when binding fails.
   */
  constructor(options: DaemonOptions = {}) {
    this.#options = options;
    this.closed = this.#closedResolvers.promise;
    this.#idleTimeout = ms(options.idleTimeout, config.COMMTIMEOUT);
    this.#streams = new StreamRegistry({
      lifetime: ms(options.iterStreamLifetime, config.ITER_STREAM_LIFETIME),
      linger: ms(options.iterStreamLinger, config.ITER_STREAM_LINGER),
      maxPerOwner: options.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS,
    });
    // Pyro5's THREADPOOL_SIZE bounds its simultaneous connections because each needs a thread;
    // here it is a floor under the limit, which comes from memory (see _daemon/admission.ts).
    const maxConnections = Math.max(
      1,
      options.maxConnections ?? Math.max(config.THREADPOOL_SIZE, defaultMaxConnections()),
    );
    this.#admission = new Admission({
      maxConnections,
      maxPerAddress: Math.max(
        1,
        options.maxConnectionsPerAddress ?? Math.max(64, Math.floor(maxConnections / 4)),
      ),
      handshakeTimeout: Math.max(0, options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT),
    }, () => this.#streams.owners());
    if (options.unixSocket !== undefined) {
      if (options.tls) throw new TypeError("Cannot serve TLS on a Unix domain socket: use TCP");
      removeStaleSocket(options.unixSocket);
      this.#listener = Deno.listen({ transport: "unix", path: options.unixSocket });
      this.#unixPath = options.unixSocket;
      this.locationStr = `./u:${options.unixSocket}`;
    } else {
      const host = options.host ?? config.HOST;
      const port = options.port ?? 0;
      const tls = options.tls === undefined ? serverTlsFromConfig() : options.tls;
      this.#listener = tls
        ? listenTls({ hostname: host, port, tls })
        : Deno.listen({ hostname: host, port, transport: "tcp" });
      const bound = this.#listener.addr as Deno.NetAddr;
      this.locationStr = hostPort(host || bound.hostname, bound.port);
    }
    this.addr = this.#listener.addr;
    const natHost = options.natHost ?? config.NATHOST;
    if (natHost) {
      const natPort = options.natPort ?? config.NATPORT;
      const port = natPort || Number(this.locationStr.slice(this.locationStr.lastIndexOf(":") + 1));
      this.natLocationStr = hostPort(natHost, port);
    } else {
      this.natLocationStr = null;
    }
    this.methodCallErrorHandler = options.methodCallErrorHandler ?? defaultMethodCallErrorHandler;
    this.#host = this.#makeHost();
    this.#registerBuiltin();
    this.#accepting = this.#acceptLoop();
    const every = options.housekeepingInterval ??
      Math.min(config.POLLTIMEOUT, Math.max(config.COMMTIMEOUT, 5)) * 1000;
    if (every > 0) {
      this.#housekeeper = setInterval(() => this.#housekeeping(), every);
      Deno.unrefTimer(this.#housekeeper);
    }
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.close();
      } else {
        this.#abortListener = () => void this.close();
        signal.addEventListener("abort", this.#abortListener, { once: true });
      }
    }
    log.info(`daemon: listening on ${this.locationStr}`);
  }

  /** The ids of all registered objects, `Pyro.Daemon` first. */
  get registered(): string[] {
    return [...this.#registry.keys()];
  }

  /**
   * Serves Pyro over a WebSocket: mount this in a `Deno.serve` app (Fresh, Hono, ...) and point
   * proxies at it with the `via` option. Each binary message carries one Pyro5 frame; the
   * connection is served like a TCP one (same limits, handshake, streams). A request that is
   * not a WebSocket upgrade gets 426.
   *
   * @example Mounting a daemon in an existing app
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * import { expose } from "./expose.ts";
   * import { createProxy } from "./proxy.ts";
   *
   * await using daemon = new Daemon({ host: "127.0.0.1" });
   * const uri = daemon.register(expose({ add: (a: number, b: number) => a + b }), "calc");
   * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req, info) =>
   *   new URL(req.url).pathname === "/pyro" ? daemon.websocketHandler(req, info) : new Response("app"));
   *
   * await using calc = createProxy<{ add(a: number, b: number): number }>(uri, {
   *   via: `ws://127.0.0.1:${server.addr.port}/pyro`,
   * });
   * console.log(await calc.add(2, 3)); // 5
   * ```
   *
   * @param request The request (a WebSocket upgrade).
   * @param info The `Deno.serve` handler info, for the peer's address in the call context.
   * @returns The upgrade response (426 for a plain request, 503 while closing).
   */
  websocketHandler(request: Request, info?: Deno.ServeHandlerInfo): Response {
    return acceptWebSocket(request, info, {
      isRegistered: (id) => this.#registry.has(id),
      serve: (conn) => this.#serve(conn),
      closing: () => this.#closing !== undefined,
      signal: this.#lifetime.signal,
      maxMessageSize: this.#maxMessageSize(),
    });
  }

  /** Number of client connections being served. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Registers an object, a plain object or a class and returns its URI. A registered object
   * (and every instance the daemon makes of a registered class) travels as a proxy when a
   * call returns it or passes it along.
   *
   * @example
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * import { expose } from "./expose.ts";
   *
   * await using daemon = new Daemon({ host: "127.0.0.1" });
   * const uri = daemon.register(expose({ ping: () => "pong" }));
   * console.log(uri.object.startsWith("obj_")); // true
   * const echo = daemon.register({ echo: (x: unknown) => x }, { id: "echo", expose: ["echo"] });
   * console.log(echo.object); // "echo"
   * ```
   *
   * @param target An object (class instance or plain object) or a class.
   * @param idOrOptions The object id, or options with the id and names to expose.
   * @returns The object's URI (with the NAT address if configured).
   * @throws {DaemonError} When the object or the id is already registered.
   */
  register(target: object, idOrOptions?: string | RegisterOptions): URI {
    if (this.#closing) throw new DaemonError("cannot register objects on a closed daemon");
    const options: RegisterOptions = typeof idOrOptions === "string"
      ? { id: idOrOptions }
      : idOrOptions ?? {};
    if (target === null || (typeof target !== "object" && typeof target !== "function")) {
      throw new TypeError("Cannot register a value that is not an object or a class");
    }
    const force = options.force ?? false;
    if (!force && this.#ids.has(target)) {
      throw new DaemonError("object or class already has a Pyro id");
    }
    const id = options.id ?? `obj_${crypto.randomUUID().replaceAll("-", "")}`;
    if (typeof id !== "string" || id === "") throw new TypeError("Cannot register: invalid id");
    if (this.#registry.has(id)) {
      if (!force || id === DAEMON_NAME) {
        throw new DaemonError("an object or class is already registered with that id");
      }
      this.unregister(id);
    }
    const lists: ExposeLists = {
      expose: [...(options.expose ?? []), ...(options.attrs ?? [])],
      oneway: options.oneway ?? [],
      ...(options.params !== undefined ? { params: options.params } : {}),
    };
    const isClass = typeof target === "function";
    const table = exposedMembers(target, lists);
    const reg: Registration = {
      id,
      target,
      isClass,
      table,
      behavior: isClass ? behaviorOf(target as () => unknown) : undefined,
      single: undefined,
    };
    const meta = metadataOf(table);
    if (meta.methods.length === 0 && meta.attrs.length === 0) {
      log.warn(`daemon: object '${id}' exposes no methods or attributes; did you forget @expose?`);
    }
    this.#registry.set(id, reg);
    this.#lists.set(id, lists);
    this.#ids.set(target, id);
    if (!isClass) this.#installAutoproxy(target, id, meta);
    return this.uriFor(id);
  }

  /**
   * Unregisters an object by id or by the registered object itself. `Pyro.Daemon` stays.
   *
   * @example
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * import { expose } from "./expose.ts";
   * await using daemon = new Daemon({ host: "127.0.0.1" });
   * daemon.register(expose({ a() {} }), "a");
   * console.log(daemon.unregister("a"), daemon.registered); // true ["Pyro.Daemon"]
   * ```
   *
   * @param idOrTarget The id or the object.
   * @returns True when something was unregistered.
   */
  unregister(idOrTarget: string | object): boolean {
    const id = typeof idOrTarget === "string" ? idOrTarget : this.#ids.get(idOrTarget);
    if (id === undefined || id === DAEMON_NAME) return false;
    const reg = this.#registry.get(id);
    if (reg === undefined) return false;
    this.#registry.delete(id);
    this.#lists.delete(id);
    if (this.#ids.get(reg.target) !== id) return true; // forced onto another id meanwhile
    this.#ids.delete(reg.target);
    const installed = this.#autoproxies.get(reg.target);
    if (installed !== undefined) {
      const d = Object.getOwnPropertyDescriptor(reg.target, AUTOPROXY);
      if (d?.value === installed) delete (reg.target as Record<symbol, unknown>)[AUTOPROXY];
      this.#autoproxies.delete(reg.target);
    }
    return true;
  }

  /**
   * Gives the URI of an id or a registered object. An id does not need to be registered.
   *
   * @example
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * await using daemon = new Daemon({ host: "127.0.0.1", natHost: "gateway.example", natPort: 9999 });
   * console.log(daemon.uriFor("thing").toString()); // PYRO:thing@gateway.example:9999
   * console.log(daemon.uriFor("thing", { nat: false }).location); // 127.0.0.1:<port>
   * ```
   *
   * @param idOrTarget The object id, or a registered object.
   * @param options Whether to use the NAT address.
   * @returns The URI.
   * @throws {DaemonError} For an object that is not registered here.
   */
  uriFor(idOrTarget: string | object, options?: UriForOptions): URI {
    const id = typeof idOrTarget === "string" ? idOrTarget : this.#ids.get(idOrTarget);
    if (id === undefined) throw new DaemonError("object isn't registered in this daemon");
    if (this.#unixPath !== undefined) {
      return URI.fromParts({ object: id, sockname: this.#unixPath });
    }
    const location = (options?.nat ?? true) && this.natLocationStr !== null
      ? this.natLocationStr
      : this.locationStr;
    const colon = location.lastIndexOf(":");
    let host = location.slice(0, colon);
    if (host.startsWith("[")) host = host.slice(1, -1);
    return URI.fromParts({ object: id, host, port: Number(location.slice(colon + 1)) });
  }

  /**
   * Gives a proxy for a registered object of this daemon, its metadata already known (Pyro5's
   * `proxyFor`); it connects on first use.
   *
   * @example
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * import { expose } from "./expose.ts";
   * await using daemon = new Daemon({ host: "127.0.0.1" });
   * daemon.register(expose({ ping: () => "pong" }), "thing");
   * await using thing = daemon.proxyFor<{ ping(): string }>("thing");
   * console.log(thing._pyroMetadata?.methods, await thing.ping()); // [ "ping" ] pong
   * ```
   *
   * @param idOrTarget The object id or the registered object.
   * @param options Whether to use the NAT address.
   * @returns The proxy.
   * @throws {DaemonError} For an object or id that is not registered here.
   */
  proxyFor<T = Record<string, unknown>>(
    idOrTarget: string | object,
    options?: UriForOptions,
  ): Proxy<T> {
    const id = typeof idOrTarget === "string" ? idOrTarget : this.#ids.get(idOrTarget);
    const reg = id === undefined ? undefined : this.#registry.get(id);
    if (reg === undefined) throw new DaemonError("object isn't registered in this daemon");
    const proxy = createProxy<T>(this.uriFor(reg.id, options));
    coreOf(proxy)!.setMetadata(metadataOf(reg.table));
    return proxy;
  }

  /**
   * Forgets the exposed members computed for a registered object's class (Pyro5's
   * `resetMetadataCache`), for objects whose exposed methods changed at run time. Proxies made
   * afterwards see the change; existing ones keep what they were told.
   *
   * @example
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * import { expose } from "./expose.ts";
   * await using daemon = new Daemon({ host: "127.0.0.1" });
   * const thing: Record<string, unknown> = expose({ a: () => 1 });
   * daemon.register(thing, "thing");
   * thing.b = expose(() => 2);
   * daemon.resetMetadataCache("thing");
   * console.log(daemon.proxyFor("thing")._pyroMetadata?.methods); // [ "a", "b" ]
   * ```
   *
   * @param idOrTarget The object id or the registered object; unknown ones are ignored.
   */
  resetMetadataCache(idOrTarget: string | object): void {
    const id = typeof idOrTarget === "string" ? idOrTarget : this.#ids.get(idOrTarget);
    const reg = id === undefined ? undefined : this.#registry.get(id);
    if (reg === undefined) return;
    forgetExposedMembers(reg.target);
    const table = exposedMembers(reg.target, this.#lists.get(reg.id));
    this.#registry.set(reg.id, { ...reg, table });
  }

  /**
   * Called when a client's connection has ended (Pyro5's `clientDisconnect`): override it in a
   * subclass, or pass the `clientDisconnect` option. Errors are logged.
   *
   * @example
   * ```ts
   * import { type ConnectionInfo, Daemon } from "./daemon.ts";
   * class CountingDaemon extends Daemon {
   *   gone = 0;
   *   override clientDisconnect(_connection: ConnectionInfo): void {
   *     this.gone++;
   *   }
   * }
   * await using daemon = new CountingDaemon({ host: "127.0.0.1" });
   * console.log(daemon.gone); // 0
   * ```
   *
   * @param connection The connection that ended.
   */
  clientDisconnect(connection: ConnectionInfo): void {
    this.#options.clientDisconnect?.(connection);
  }

  /**
   * Periodic housekeeping (Pyro5's `housekeeping`), every
   * `min(POLLTIMEOUT, max(COMMTIMEOUT, 5))` seconds while the daemon runs (the
   * `housekeepingInterval` option changes it): override it in a subclass, or pass the
   * `housekeeping` option. Errors are logged.
   *
   * @example
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * await using daemon = new Daemon({
   *   host: "127.0.0.1",
   *   housekeeping: () => console.log("tidying up"),
   * });
   * daemon.housekeeping(); // what the schedule calls
   * ```
   */
  housekeeping(): void {
    this.#options.housekeeping?.();
  }

  /**
   * Closes the daemon (Pyro5's `shutdown`); the same as {@linkcode Daemon.close}.
   *
   * @example
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * await new Daemon({ host: "127.0.0.1" }).shutdown();
   * ```
   *
   * @returns A promise that settles when everything is closed.
   */
  shutdown(): Promise<void> {
    return this.close();
  }

  #housekeeping(): void {
    if (this.#closing) return;
    try {
      this.housekeeping();
    } catch (e) {
      log.warn(`daemon: error in housekeeping: ${String(e)}`);
    }
  }

  /**
   * Stops accepting connections, lets calls in flight finish (up to `closeTimeout`), closes
   * every connection and item stream, and releases the socket. Calling it again returns the
   * same promise.
   *
   * @example
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * const daemon = new Daemon({ host: "127.0.0.1" });
   * await daemon.close();
   * await daemon.closed; // already settled
   * ```
   *
   * @returns A promise that settles when everything is closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /**
   * Waits until the daemon is closed (Pyro5's `requestLoop`; serving needs no loop here).
   *
   * @example
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * const daemon = new Daemon({ host: "127.0.0.1" });
   * setTimeout(() => daemon.close(), 10);
   * await daemon.requestLoop();
   * ```
   *
   * @returns A promise that settles when the daemon has closed.
   */
  requestLoop(): Promise<void> {
    return this.closed;
  }

  /** Closes the daemon (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(): Promise<void> {
    if (this.#housekeeper !== undefined) clearInterval(this.#housekeeper);
    this.#lifetime.abort();
    if (this.#abortListener !== undefined) {
      this.#options.signal?.removeEventListener("abort", this.#abortListener);
    }
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#accepting;
    this.#admission.close();
    this.#acceptLog.close();
    const timeout = this.#options.closeTimeout ?? 1000;
    const open = [...this.#connections];
    await Promise.all(open.map((c) => c.shutdown(timeout)));
    await Promise.all(open.map((c) => c.done));
    this.#streams.closeAll();
    if (this.#unixPath !== undefined) {
      try {
        Deno.removeSync(this.#unixPath);
      } catch {
        // gone already
      }
    }
    log.info(`daemon: closed ${this.locationStr}`);
    this.#closedResolvers.resolve();
  }

  /**
   * The connection limits in force, with the defaults resolved.
   *
   * @example
   * ```ts
   * import { Daemon } from "./daemon.ts";
   * await using daemon = new Daemon({ host: "127.0.0.1", maxConnections: 1000 });
   * console.log(daemon.limits); // { maxConnections: 1000, maxConnectionsPerAddress: 250 }
   * ```
   */
  get limits(): { maxConnections: number; maxConnectionsPerAddress: number } {
    const l = this.#admission.limits;
    return { maxConnections: l.maxConnections, maxConnectionsPerAddress: l.maxPerAddress };
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: AcceptedConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closing) return;
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) {
          log.error(`daemon: accepting connections failed: ${String(e)}`);
          void this.close();
          return;
        }
        // Out of file descriptors (or another passing failure): make room and go on.
        const freed = this.#admission.relieve(16);
        this.#acceptLog.note(
          "accept",
          `daemon: accepting a connection failed: ${String(e)}; closed ${freed} idle connections`,
        );
        await new Promise((resolve) => setTimeout(resolve, freed > 0 ? 1 : 50));
        continue;
      }
      if (this.#closing) {
        conn.close();
        continue;
      }
      const tcp = conn as Partial<Deno.TcpConn>;
      if (typeof tcp.setNoDelay === "function") {
        try {
          tcp.setNoDelay(true);
        } catch {
          // the peer may already be gone
        }
      }
      this.#serve(conn);
    }
  }

  /** Serves an accepted connection (TCP, TLS, Unix socket or WebSocket). */
  #serve(conn: AcceptedConn): void {
    let host: string | null = null;
    try {
      const remote = conn.remoteAddr;
      host = remote.transport === "tcp" ? remote.hostname : null;
    } catch {
      host = null;
    }
    const verdict = this.#admission.admit(host);
    const denyReason = verdict.admit ? undefined : verdict.reason;
    const options = this.#connectionOptions ??= {
      onEnd: this.#connectionEnded,
      idleTimeout: this.#idleTimeout,
      maxCallsInFlight: Math.max(1, this.#options.maxCallsInFlight ?? 100),
      frameTimeout: this.#options.frameTimeout ?? DEFAULT_FRAME_TIMEOUT,
      writeTimeout: this.#options.writeTimeout ?? DEFAULT_WRITE_TIMEOUT,
      maxInflatedSize: Math.min(
        this.#maxMessageSize(),
        this.#options.maxInflatedSize ?? DEFAULT_MAX_INFLATED_SIZE,
      ),
    };
    const connection = new DaemonConnection(
      conn,
      this.#host,
      this.#maxMessageSize(),
      denyReason === undefined ? options : {
        ...options,
        idleTimeout: this.#idleTimeout === 0 ? 10_000 : this.#idleTimeout,
        denyReason,
      },
    );
    if (TELEMETRY) connectionEvent(denyReason !== undefined ? "refused" : "opened");
    this.#connections.add(connection);
    this.#admission.add(connection, host);
    connection.run();
  }

  /** A connection has been served and closed (its `onEnd`). */
  #connectionEnded = (connection: DaemonConnection): void => {
    this.#connections.delete(connection);
    this.#admission.remove(connection);
    this.#streams.ownerGone(connection.info.id);
    if (TELEMETRY && !connection.refused) connectionEvent("closed");
    try {
      this.clientDisconnect(connection.info);
    } catch (e) {
      log.warn(`daemon: error in clientDisconnect: ${String(e)}`);
    }
  };

  #maxMessageSize(): number {
    return this.#options.maxMessageSize ?? config.MAX_MESSAGE_SIZE;
  }

  #installAutoproxy(target: object, id: string, meta: Metadata): void {
    const fn = (serializerName: string) => ({
      __class__: "Pyro5.client.Proxy",
      state: [
        this.uriFor(id).toString(),
        [...meta.oneway],
        [...meta.methods],
        [...meta.attrs],
        "hello",
        serializerName,
      ],
    });
    try {
      Object.defineProperty(target, AUTOPROXY, {
        value: fn,
        configurable: true,
        enumerable: false,
        writable: true,
      });
      this.#autoproxies.set(target, fn);
    } catch {
      log.debug(`daemon: object '${id}' cannot carry an autoproxy (not extensible)`);
    }
  }

  #metadata(id: unknown): WireMetadata {
    const reg = typeof id === "string" ? this.#registry.get(id) : undefined;
    if (reg === undefined) throw new DaemonError("unknown object");
    return wireMetadataOf(reg.table);
  }

  #makeHost(): DaemonHost {
    const options = this.#options;
    const annotationsHook = options.annotations;
    const validate = options.validateHandshake;
    const compress = options.compression ?? config.COMPRESSION;
    const maxMessageSize = this.#maxMessageSize();
    return {
      lookup: (id) => this.#registry.get(id),
      createInstance: async (reg) => {
        const cls = reg.target as new () => object;
        const creator = reg.behavior?.instanceCreator;
        const instance = creator ? await creator(cls as never) : new cls();
        if (typeof instance !== "object" || instance === null || !(instance instanceof cls)) {
          throw new TypeError("instance creator returned object of different type");
        }
        this.#installAutoproxy(instance, reg.id, metadataOf(reg.table));
        return instance;
      },
      streams: this.#streams,
      iterStreaming: options.iterStreaming ?? config.ITER_STREAMING,
      compress,
      maxMessageSize,
      encodeOptions: { compress, maxMessageSize },
      tracebacks: options.tracebacks ?? true,
      annotations: () => {
        if (annotationsHook === undefined) return EMPTY_ANNOTATIONS;
        try {
          return toAnnotationMap(annotationsHook());
        } catch (e) {
          log.error(`daemon: annotations() hook failed: ${String(e)}`);
          return new Map();
        }
      },
      metadata: (id) => this.#metadata(id),
      methodCallError: (info) => {
        try {
          this.methodCallErrorHandler(info);
        } catch (e) {
          log.warn(`daemon: error in the method-call error handler: ${String(e)}`);
        }
      },
      validateHandshake: (data, context) =>
        validate === undefined ? "hello" : validate(data, context),
    };
  }

  #registerBuiltin(): void {
    const streams = this.#streams;
    const builtin = expose({
      get_metadata: (objectId: unknown): WireMetadata => this.#metadata(objectId),
      get_next_stream_item: (streamId: unknown): Promise<unknown> =>
        streams.next(streamId, currentContext()?.connection.id ?? 0),
      close_stream: (streamId: unknown): null => {
        streams.close(streamId);
        return null;
      },
      info: (): string =>
        `${DAEMON_NAME} bound on ${this.locationStr}, NAT ${this.natLocationStr ?? "None"}, ` +
        `${this.#registry.size} objects registered. Servertype: <Deno event loop server on ` +
        `${this.locationStr}; ${this.#connections.size} connections>`,
      ping: (): null => null,
      registered: (): string[] => this.registered,
    });
    this.register(builtin, DAEMON_NAME);
  }
}

/** Pyro5's default method-call error handler: a debug log line. */
function defaultMethodCallErrorHandler(info: MethodCallErrorInfo): void {
  log.debug(
    `daemon: exception in method call: client=${info.context.clientAddress} ` +
      `method=${info.objectId}.${info.method} exception=${String(info.error)}`,
  );
}

function removeStaleSocket(path: string): void {
  try {
    if (Deno.lstatSync(path).isSocket) Deno.removeSync(path);
  } catch {
    // nothing there, or not ours to remove: Deno.listen reports it
  }
}
