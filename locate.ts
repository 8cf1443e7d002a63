/**
 * The client side of the Name Server: {@linkcode locateNS} finds a name server the way Pyro5's
 * `locate_ns` does, {@linkcode resolve} turns `PYRONAME:` and `PYROMETA:` URIs into `PYRO:`
 * URIs (proxies call it at every connect), and {@linkcode NameServer} types the name server
 * proxy so that the compiler checks `ns.lookup("x")`.
 *
 * @example Looking up a name
 * ```ts
 * import { startNameServer } from "./naming.ts";
 * import { locateNS, resolve } from "./locate.ts";
 *
 * await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
 * await using ns = await locateNS("127.0.0.1", server.uri.port!);
 * await ns.register("demo.thing", "PYRO:thing@127.0.0.1:4001", false, ["demo"]);
 * console.log(String(await ns.lookup("demo.thing"))); // PYRO:thing@127.0.0.1:4001
 * const uri = await resolve(`PYRONAME:demo.thing@127.0.0.1:${server.uri.port}`);
 * console.log(uri.toString()); // PYRO:thing@127.0.0.1:4001
 * ```
 *
 * @module
 */

import { config, configSource } from "./config.ts";
import { CommunicationError, NamingError } from "./errors.ts";
import { createProxy, type ProxyControls, type ProxyOptions } from "./proxy.ts";
import { URI } from "./uri.ts";
import { broadcastTargets, discoverNameServer, loopbackCandidates } from "./_naming/broadcast.ts";
import { hostPort } from "./_wire/address.ts";
import { NAMESERVER_NAME } from "./_wire/protocol.ts";

/**
 * Tags, as the name server accepts them and as results carry them: an array with the json and
 * msgpack serializers, a set with serpent (Pyro5 keeps tags as sets). Spread them
 * (`[...tags]`) for an array.
 */
export type Tags = readonly string[] | ReadonlySet<string>;

/**
 * A proxy for a name server (ours or Python Pyro5's): its remote methods, typed, plus the
 * proxy controls (`_pyroRelease()`, `await using`, ...). Method and parameter names are
 * Pyro5's; pass arguments positionally, with `null` to skip one.
 *
 * @example
 * ```ts
 * import type { NameServer } from "./locate.ts";
 *
 * async function show(ns: NameServer): Promise<void> {
 *   const all = await ns.list(null, null, true);
 *   for (const [name, [uri, tags]] of Object.entries(all)) console.log(name, uri, [...tags]);
 * }
 * ```
 */
export interface NameServer extends ProxyControls<NameServer> {
  /** Checks that the name server answers. */
  ping(): Promise<null>;
  /** The number of registrations, the name server's own entry included. */
  count(): Promise<number>;
  /** The URI registered under `name`; NamingError "unknown name: ..." if there is none. */
  lookup(name: string, returnMetadata?: false): Promise<URI>;
  /** The URI registered under `name` and its tags. */
  lookup(name: string, returnMetadata: true): Promise<[URI, Tags]>;
  /** Registers (or with `safe`, refuses to overwrite) a name; `metadata` are its tags. */
  register(name: string, uri: string | URI, safe?: boolean, metadata?: Tags | null): Promise<null>;
  /** Replaces the tags of a registered name. */
  set_metadata(name: string, metadata: Tags | null): Promise<null>;
  /** Removes by name, else by prefix, else by regex; returns how many went. */
  remove(name?: string | null, prefix?: string | null, regex?: string | null): Promise<number>;
  /** Registrations (all, by prefix, or by Python regex matched at the start): name to URI. */
  list(
    prefix?: string | null,
    regex?: string | null,
    returnMetadata?: false,
  ): Promise<Record<string, string>>;
  /** Registrations with their tags: name to `[uri, tags]`. */
  list(
    prefix: string | null | undefined,
    regex: string | null | undefined,
    returnMetadata: true,
  ): Promise<Record<string, [string, Tags]>>;
  /** Registrations with all of `metaAll` or any of `metaAny`: name to `[uri, tags]`. */
  yplookup(
    metaAll?: Tags | null,
    metaAny?: Tags | null,
    returnMetadata?: true,
  ): Promise<Record<string, [string, Tags]>>;
  /** The same, name to URI. */
  yplookup(
    metaAll: Tags | null | undefined,
    metaAny: Tags | null | undefined,
    returnMetadata: false,
  ): Promise<Record<string, string>>;
}

/**
 * Options of {@linkcode locateNS} and {@linkcode resolve}; proxy options apply to the name
 * server proxy. Its serializer is serpent (as in Pyro5, whose name server sends its tag sets
 * only over serpent) unless `serializer` is given or `config.SERIALIZER` was set.
 */
export interface LocateOptions extends ProxyOptions {
  /**
   * Try broadcast discovery when no host is given.
   *
   * @default {true}
   */
  broadcast?: boolean;
  /**
   * Destinations of the broadcast request.
   *
   * @default {config.BROADCAST_ADDRS}
   */
  broadcastAddrs?: readonly string[];
  /**
   * Where the name server is expected when no host is given.
   *
   * @default {config.NS_HOST}
   */
  nsHost?: string;
  /**
   * The name server port when none is given.
   *
   * @default {config.NS_PORT}
   */
  nsPort?: number;
  /**
   * Several name servers serving one namespace (say, on one PostgreSQL database; our
   * extension): `"host"` or `"host:port"` entries, tried in order when no host is given, the
   * next one when a server is down. A comma-separated `NS_HOST` (`"ns1:9090,ns2:9090"`) means
   * the same, and so does a comma-separated `host` argument.
   *
   * @default {the entries of a comma-separated config.NS_HOST}
   */
  nameServers?: readonly string[];
  /**
   * The broadcast port when no port is given.
   *
   * @default {config.NS_BCPORT}
   */
  bcPort?: number;
  /**
   * How long to wait for each round of broadcast replies, in milliseconds.
   *
   * @default {700}
   */
  broadcastTimeout?: number;
  /**
   * How long {@linkcode resolve} keeps retrying a lookup that fails, in milliseconds.
   *
   * @default {config.NS_LOOKUP_DELAY * 1000}
   */
  lookupDelay?: number;
}

function proxyOptionsOf(options: LocateOptions): ProxyOptions {
  const {
    broadcast: _b,
    broadcastAddrs: _a,
    nsHost: _h,
    nsPort: _p,
    nameServers: _n,
    bcPort: _c,
    broadcastTimeout: _t,
    lookupDelay: _d,
    ...proxyOptions
  } = options;
  // Pyro5's name server can send its tag sets only over serpent (Pyro5's default serializer):
  // name server proxies talk serpent unless a serializer is chosen (option, env or program).
  if (proxyOptions.serializer === undefined && configSource("SERIALIZER") === "default") {
    proxyOptions.serializer = "serpent";
  }
  return proxyOptions;
}

function nsUriFor(host: string, port: number): string {
  if (host.startsWith("./u:")) return `PYRO:${NAMESERVER_NAME}@${host}`;
  return `PYRO:${NAMESERVER_NAME}@${hostPort(host, port)}`;
}

/** Splits `host`, `host:port` or `[v6]:port` (a bare IPv6 address is a host). */
function splitEntry(entry: string, port: number): [host: string, port: number] {
  const e = entry.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(e);
  if (bracket) return [bracket[1]!, bracket[2] ? Number(bracket[2]) : port];
  const colon = e.indexOf(":");
  if (colon > 0 && colon === e.lastIndexOf(":") && /^\d+$/.test(e.slice(colon + 1))) {
    return [e.slice(0, colon), Number(e.slice(colon + 1))];
  }
  return [e, port];
}

/**
 * The name server URIs to try in order when several are configured (a comma-separated host or
 * `NS_HOST`, or `nameServers`), else null.
 */
function nameServerList(
  host: string | null | undefined,
  port: number | null | undefined,
  options: LocateOptions,
): string[] | null {
  let entries: readonly string[] | null = null;
  if (host) {
    if (host.includes(",")) entries = host.split(",");
  } else if (options.nameServers !== undefined && options.nameServers.length > 0) {
    entries = options.nameServers;
  } else {
    const nsHost = options.nsHost ?? config.NS_HOST;
    if (nsHost.includes(",")) entries = nsHost.split(",");
  }
  if (entries === null) return null;
  const defaultPort = port ?? options.nsPort ?? config.NS_PORT;
  return entries.filter((e) => e.trim() !== "").map((e) => nsUriFor(...splitEntry(e, defaultPort)));
}

/**
 * The name server {@linkcode locateNS} tries first when there is one address to try before
 * any other: the given host, or a loopback `NS_HOST` (on `port ?? NS_PORT`); null otherwise.
 */
function firstNameServer(
  host: string | null | undefined,
  port: number | null | undefined,
  options: LocateOptions,
): string | null {
  const nsPort = port ?? options.nsPort ?? config.NS_PORT;
  if (host) return nsUriFor(host, nsPort);
  const nsHost = options.nsHost ?? config.NS_HOST;
  const loopback = nsHost === "::1" || nsHost === "localhost" || nsHost.startsWith("127.");
  return loopback ? nsUriFor(nsHost, nsPort) : null;
}

async function bind(uri: string, options: LocateOptions): Promise<NameServer> {
  const ns = createProxy<NameServer>(uri, proxyOptionsOf(options)) as unknown as NameServer;
  try {
    await ns._pyroBind();
    return ns;
  } catch (e) {
    await ns._pyroRelease();
    throw e;
  }
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Finds a name server and returns a proxy for it, in Pyro5's order:
 *
 * 1. with a `host`: `PYRO:Pyro.NameServer@host:port` (port defaults to `NS_PORT`), connected;
 * 2. otherwise, when `NS_HOST` is a loopback name or address, that host on `port ?? NS_PORT`,
 *    then `127.0.1.1` when the hosts file maps it (as Pyro5);
 * 3. then a broadcast `GET_NSURI` to `BROADCAST_ADDRS` on `port ?? NS_BCPORT` (3 rounds of
 *    0.7 s), unless `broadcast` is false (with `PREFER_IP_VERSION` 6, only to the IPv6
 *    destinations, e.g. `ff01::1%lo` or `::1`; Pyro5 skips it); a reply gives a proxy
 *    that connects on first use;
 * 4. finally `NS_HOST:NS_PORT`.
 *
 * Our extension, for several name servers on one namespace: a comma-separated `host` or
 * `NS_HOST`, or the `nameServers` option, lists `host[:port]` entries that are tried in order
 * (the first that answers wins), then broadcast when no host was given.
 *
 * @example
 * ```ts
 * import { startNameServer } from "./naming.ts";
 * import { locateNS } from "./locate.ts";
 *
 * await using server = await startNameServer({ host: "127.0.0.1", port: 0, bcPort: 0 });
 * await using ns = await locateNS(undefined, server.broadcast!.port, {
 *   nsHost: "127.0.0.1",
 *   broadcastAddrs: ["127.255.255.255"],
 * });
 * console.log(await ns.count()); // 1
 * ```
 *
 * @param host The name server host (or `./u:PATH`); empty to search.
 * @param port The name server port with a host; without one, the port for the local try
 *   and the broadcast port.
 * @param options Search settings and the proxy's options.
 * @returns A proxy for the name server.
 * @throws {NamingError} "Failed to locate the nameserver", listing what was tried.
 */
export async function locateNS(
  host?: string | null,
  port?: number | null,
  options: LocateOptions = {},
): Promise<NameServer> {
  const tried: string[] = [];
  let lastError: unknown;
  const list = nameServerList(host, port, options);
  if (list !== null) {
    for (const uri of list) {
      try {
        return await bind(uri, options);
      } catch (e) {
        tried.push(`${uri} (${reason(e)})`);
        lastError = e;
      }
    }
    if (host || !(options.broadcast ?? true) || bcAddresses(options).length === 0) {
      throw new NamingError(`Failed to locate the nameserver; tried ${tried.join("; ")}`, {
        cause: lastError,
      });
    }
    const found = await broadcastSearch(port, options, tried);
    if (found) return found;
    throw new NamingError(`Failed to locate the nameserver; tried ${tried.join("; ")}`, {
      cause: lastError,
    });
  }
  if (host) {
    const uri = nsUriFor(host, port ?? options.nsPort ?? config.NS_PORT);
    try {
      return await bind(uri, options);
    } catch (e) {
      throw new NamingError(`Failed to locate the nameserver: ${uri}: ${reason(e)}`, { cause: e });
    }
  }
  const nsHost = options.nsHost ?? config.NS_HOST;
  const nsPort = options.nsPort ?? config.NS_PORT;
  for (const local of loopbackCandidates(nsHost)) { // NS_HOST, and 127.0.1.1 as Pyro5 does
    const uri = nsUriFor(local, port ?? nsPort);
    try {
      return await bind(uri, options);
    } catch (e) {
      tried.push(`${uri} (${reason(e)})`);
      lastError = e;
    }
  }
  if ((options.broadcast ?? true) && bcAddresses(options).length > 0) {
    const found = await broadcastSearch(port, options, tried);
    if (found) return found;
  }
  const uri = nsUriFor(nsHost, nsPort);
  try {
    return await bind(uri, options);
  } catch (e) {
    tried.push(`${uri} (${reason(e)})`);
    lastError = e;
  }
  throw new NamingError(`Failed to locate the nameserver; tried ${tried.join("; ")}`, {
    cause: lastError,
  });
}

/** The broadcast destinations: only IPv6 ones when IPv6 is preferred. */
function bcAddresses(options: LocateOptions): string[] {
  return broadcastTargets(
    options.broadcastAddrs ?? config.BROADCAST_ADDRS,
    config.PREFER_IP_VERSION,
  );
}

async function broadcastSearch(
  port: number | null | undefined,
  options: LocateOptions,
  tried: string[],
): Promise<NameServer | null> {
  const addresses = bcAddresses(options);
  const bcPort = port ?? options.bcPort ?? config.NS_BCPORT;
  const found = await discoverNameServer({
    addresses,
    port: bcPort,
    ...(options.broadcastTimeout !== undefined ? { timeout: options.broadcastTimeout } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (found === null) {
    tried.push(`broadcast GET_NSURI to ${addresses.join(", ")} port ${bcPort} (no reply)`);
    return null;
  }
  try {
    return createProxy<NameServer>(found, proxyOptionsOf(options)) as unknown as NameServer;
  } catch (e) {
    tried.push(`broadcast reply ${JSON.stringify(found)} (${reason(e)})`);
    return null;
  }
}

function pythonSetRepr(tags: Iterable<string>): string {
  const items = [...tags].map((t) => `'${t.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`);
  return items.length === 0 ? "set()" : `{${items.join(", ")}}`;
}

async function withRetry<T>(
  delay: number,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  if (delay <= 0) return attempt();
  const start = Date.now();
  while (Date.now() - start <= delay) {
    try {
      const value = await attempt();
      if (done(value)) return value;
    } catch (e) {
      if (!(e instanceof NamingError) && (e as Error)?.name !== "TimeoutError") throw e;
    }
    signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, Math.max(200, delay / 5)));
  }
  return attempt();
}

/**
 * Turns a URI into a `PYRO:` URI: `PYRO:` URIs are returned as they are; `PYRONAME:` URIs are
 * looked up on the name server (found with {@linkcode locateNS} at the URI's location);
 * `PYROMETA:` URIs pick a random registration that has all the tags, preferring one whose
 * daemon accepts connections. With several name servers (see {@linkcode locateNS}), the next
 * one is asked when one is down or fails during the lookup.
 *
 * @example
 * ```ts
 * import { resolve } from "./locate.ts";
 * const uri = await resolve("PYRO:thing@127.0.0.1:9999");
 * console.log(uri.toString()); // PYRO:thing@127.0.0.1:9999
 * ```
 *
 * @param uri The URI.
 * @param options Name server search settings and proxy options (e.g. `serializer`).
 * @returns The `PYRO:` URI.
 * @throws {NamingError} When no name server is found, or the name or tags have no registration.
 */
export async function resolve(uri: URI | string, options: LocateOptions = {}): Promise<URI> {
  const parsed = uri instanceof URI ? uri : new URI(uri);
  if (parsed.protocol === "PYRO") return parsed;
  const host = parsed.sockname !== null ? `./u:${parsed.sockname}` : parsed.host;
  const list = nameServerList(host, parsed.port, options);
  if (list === null || list.length === 0) {
    const first = firstNameServer(host, parsed.port, options);
    if (first !== null) {
      // The lookup goes out with the connection's handshake (no separate bind round trip);
      // when it cannot connect, the search below goes its whole way, as Pyro5's does.
      const ns = createProxy<NameServer>(first, proxyOptionsOf(options)) as unknown as NameServer;
      try {
        return await lookupVia(ns, parsed, options);
      } catch (e) {
        if (!(e instanceof CommunicationError) || options.signal?.aborted) throw e;
      }
    }
    return lookupVia(await locateNS(host, parsed.port, options), parsed, options);
  }
  // Several name servers: the next one answers when one is down or dies during the lookup.
  const tried: string[] = [];
  let lastError: unknown;
  for (const nsUri of list) {
    let ns: NameServer;
    try {
      ns = await bind(nsUri, options);
    } catch (e) {
      tried.push(`${nsUri} (${reason(e)})`);
      lastError = e;
      continue;
    }
    try {
      return await lookupVia(ns, parsed, options);
    } catch (e) {
      if (e instanceof NamingError || options.signal?.aborted) throw e;
      tried.push(`${nsUri} (${reason(e)})`);
      lastError = e;
    }
  }
  throw new NamingError(`Failed to locate the nameserver; tried ${tried.join("; ")}`, {
    cause: lastError,
  });
}

/** Whether something accepts connections at a `PYRO:` URI's address (PYROMETA's live pick). */
async function accepts(uri: URI, timeout: number): Promise<boolean> {
  try {
    const conn = uri.sockname !== null
      ? await Deno.connect({ transport: "unix", path: uri.sockname })
      : await Deno.connect({
        hostname: uri.host ?? "",
        port: uri.port ?? 0,
        signal: AbortSignal.timeout(timeout),
      });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

async function lookupVia(ns: NameServer, parsed: URI, options: LocateOptions): Promise<URI> {
  const delay = options.lookupDelay ?? config.NS_LOOKUP_DELAY * 1000;
  try {
    if (parsed.protocol === "PYRONAME") {
      const found = await withRetry(
        delay,
        options.signal,
        () => ns.lookup(parsed.object),
        () => true,
      );
      return found instanceof URI ? found : new URI(String(found));
    }
    const tags = [...parsed.tags];
    const candidates = await withRetry(
      delay,
      options.signal,
      () => ns.yplookup(tags, null, false),
      (r) => Object.keys(r).length > 0,
    );
    const uris = Object.values(candidates);
    if (uris.length === 0) {
      throw new NamingError(
        `no registrations available with desired metadata properties ${pythonSetRepr(tags)}`,
      );
    }
    // A random one that accepts connections (several daemons serving one service): the
    // registrations of a daemon that died stay until autoclean removes them.
    for (let i = uris.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [uris[i], uris[j]] = [uris[j]!, uris[i]!];
    }
    if (uris.length === 1) return new URI(uris[0]!);
    for (const text of uris) {
      let candidate: URI;
      try {
        candidate = new URI(text);
      } catch {
        continue;
      }
      if (candidate.protocol !== "PYRO" || await accepts(candidate, 1000)) return candidate;
    }
    return new URI(uris[0]!);
  } finally {
    await ns._pyroRelease();
  }
}
