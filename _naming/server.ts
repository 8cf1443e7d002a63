/**
 * The Name Server object (Pyro5's `Pyro.NameServer`): a flat table of names, each mapped to a
 * URI and a set of tags, with Pyro5's remote methods, signatures, results and errors. A daemon
 * serves it under the object id {@linkcode NAMESERVER_NAME}; {@linkcode startNameServer} in
 * `naming.ts` does that for you.
 *
 * Remote callers may pass every parameter positionally or by keyword, and flags follow Python's
 * truthiness. Invalid input gives Pyro5's errors (`TypeError`, `ValueError`, `NamingError`),
 * and nothing is stored. Regular expressions use Python's syntax and `re.match` semantics
 * (anchored at the start of the name), run by a linear-time matcher so that no pattern can
 * stall the server (see `_naming_regex.ts`).
 *
 * @example Using the object directly
 * ```ts
 * import { NameServer } from "./server.ts";
 *
 * const ns = new NameServer();
 * await ns.register("demo.a", "PYRO:obj@127.0.0.1:4001", false, ["red"]);
 * console.log(await ns.list("demo.")); // { "demo.a": "PYRO:obj@127.0.0.1:4001" }
 * ```
 *
 * @module
 */

import { NamingError } from "../errors.ts";
import { expose } from "../expose.ts";
import { URI } from "../uri.ts";
import { markTuple, type Tuple } from "../value.ts";
import { MemoryStorage } from "./memory.ts";
import type { Awaitable, NameStorage, StoredEntry, StoredRecord } from "./storage.ts";
import { bindArgs, required, truthy } from "./args.ts";
import { compilePythonRegex, type PythonRegex } from "./regex.ts";
import { nsLookup, TELEMETRY } from "../_telemetry/mod.ts";
import { NAMESERVER_NAME } from "../_wire/protocol.ts";
import { REMOTE_CALL } from "../_daemon/exposure.ts";

export { NAMESERVER_NAME } from "../_wire/protocol.ts";

/** The tag of the name server's own entry. */
export const NAMESERVER_TAG = "class:Pyro5.nameserver.NameServer";

/**
 * A URI and its tags, as `lookup(name, true)` returns them: a tuple, as in Pyro5 (serpent sends
 * `(uri, {tags})`; json and msgpack, which have no tuples, an array). The tags are a set.
 */
export type LookupWithMetadata = [uri: URI, metadata: Set<string>] & Tuple<URI | Set<string>>;

/**
 * A URI string and its tags, as list and yellow-pages results with metadata hold them: a tuple,
 * as in Pyro5.
 */
export type UriWithMetadata = [uri: string, metadata: Set<string>] & Tuple<string | Set<string>>;

/** Makes the `(uri, tags)` tuple Pyro5's name server answers with. */
function pair<U extends URI | string>(
  uri: U,
  tags: Iterable<string>,
): [U, Set<string>] & Tuple<U | Set<string>> {
  return markTuple<U | Set<string>>([uri, new Set(tags)]) as
    & [U, Set<string>]
    & Tuple<U | Set<string>>;
}

function checkName(name: unknown, what = "name"): string {
  if (typeof name !== "string") throw new TypeError(`${what} must be a str`);
  return name;
}

/** Validates tags: null/undefined for none, or an array or set of strings. */
function checkMetadata(metadata: unknown, what = "metadata"): string[] | null {
  if (metadata === null || metadata === undefined) return null;
  if (typeof metadata === "string") {
    throw new TypeError(`${what} should not be a str, but another iterable (set, list, etc)`);
  }
  if (!Array.isArray(metadata) && !(metadata instanceof Set)) {
    throw new TypeError(`${what} should be an iterable of strings (set, list, etc)`);
  }
  const tags = [...metadata];
  for (const tag of tags) {
    if (typeof tag !== "string") {
      throw new TypeError(`${what} should contain only strings, not ${typeof tag} ${String(tag)}`);
    }
  }
  return tags;
}

/** Applies `fn` to a value now, or once its promise settles (so sync back ends stay sync). */
function after<T, R>(value: Awaitable<T>, fn: (value: T) => Awaitable<R>): Awaitable<R> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/** True while a method runs for a remote call (see {@linkcode remoteCall}). */
let direct = false;

/**
 * Runs `fn` and hands back its result, or the error it throws, as a promise; for a remote call,
 * the result as it comes (a plain value on a synchronous back end) and the error thrown.
 */
function settle<T>(fn: () => Awaitable<T>): Promise<T> {
  if (direct) return fn() as Promise<T>; // the daemon takes a value or a promise alike
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * The stand-in a daemon calls for a remote call of `method`: the same method, answering with a
 * plain value when it has one at once, so that the daemon answers without a promise's turn.
 */
function remoteCall(
  method: (...args: unknown[]) => unknown,
): (this: unknown, ...args: unknown[]) => unknown {
  return function (this: unknown, ...args: unknown[]): unknown {
    direct = true;
    try {
      return method.apply(this, args);
    } finally {
      direct = false;
    }
  };
}

/**
 * URIs handed out lately, by their text: a lookup answers with the same frozen URI every time
 * (no parse or copy, and the codecs see one object shape). Bounded: cleared when full.
 */
const uris = new Map<string, URI>();
const URIS_MAX = 1024;

function uriOf(text: string): URI {
  let uri = uris.get(text);
  if (uri === undefined) {
    uri = Object.freeze(new URI(text));
    if (uris.size >= URIS_MAX) uris.clear();
    uris.set(text, uri);
  }
  return uri;
}

/** A lookup's answer for the entry a storage found (or did not). */
function found(
  name: string,
  entry: StoredEntry | undefined,
  withMetadata: boolean,
): URI | LookupWithMetadata {
  if (TELEMETRY) nsLookup("lookup", entry !== undefined && entry !== null);
  if (!entry) throw new NamingError(`unknown name: ${name}`);
  const uri = uriOf(entry.uri);
  return withMetadata ? pair(uri, entry.metadata) : uri;
}

function record<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

function shape(
  records: StoredRecord[],
  withMetadata: boolean,
): Record<string, string> | Record<string, UriWithMetadata> {
  if (withMetadata) {
    const result = record<UriWithMetadata>();
    for (const r of records) result[r.name] = pair(r.uri, r.metadata ?? []);
    return result;
  }
  const result = record<string>();
  for (const r of records) result[r.name] = r.uri;
  return result;
}

/**
 * Pyro5's name server object. Every method answers with a promise; on a synchronous back end
 * (memory, SQLite) each call still runs in one synchronous step, so calls are atomic without a
 * lock, and on PostgreSQL each is one statement or transaction. Remote callers see Pyro5's exact
 * results and errors.
 *
 * @example
 * ```ts
 * import { NameServer } from "./server.ts";
 * const ns = new NameServer();
 * await ns.register("demo.svc", "PYRO:svc@127.0.0.1:4010", false, ["worker"]);
 * console.log(await ns.yplookup(["worker"])); // { "demo.svc": ["PYRO:svc@127.0.0.1:4010", Set {"worker"}] }
 * console.log(await ns.count()); // 1
 * ```
 */
@expose
export class NameServer {
  #storage: NameStorage;

  /**
   * Makes a name server object on a storage back end.
   *
   * @param storage Where the names live; in memory by default.
   */
  constructor(storage: NameStorage = new MemoryStorage()) {
    this.#storage = storage;
  }

  /** Does nothing; lets a client check that the name server answers. */
  ping(): null;
  ping(...args: unknown[]): null {
    bindArgs("NameServer.ping", [], [], args);
    return null;
  }

  /** The number of registrations, the name server's own entry included. */
  count(): Promise<number>;
  count(...args: unknown[]): Promise<number> {
    return settle(() => {
      bindArgs("NameServer.count", [], [], args);
      return this.#storage.count();
    });
  }

  /**
   * Looks up one name: its URI, or `[uri, tags]` when `returnMetadata` is truthy.
   * Rejects with `NamingError("unknown name: <name>")`.
   */
  lookup(name: string): Promise<URI>;
  /** Looks up one name with its tags. */
  lookup(name: string, returnMetadata: true): Promise<LookupWithMetadata>;
  /** Looks up one name, with its tags when `returnMetadata` is truthy. */
  lookup(name: string, returnMetadata?: unknown): Promise<URI | LookupWithMetadata>;
  lookup(...args: unknown[]): Promise<URI | LookupWithMetadata> {
    // The common remote call, one name: answered without binding arguments or a closure.
    if (direct && args.length === 1 && typeof args[0] === "string") {
      return this.#lookup(args[0], false) as Promise<URI>;
    }
    return settle(() => {
      const [nameArg, returnMetadata] = bindArgs("NameServer.lookup", ["name", "return_metadata"], [
        required,
        false,
      ], args);
      return this.#lookup(checkName(nameArg), truthy(returnMetadata));
    });
  }

  #lookup(name: string, withMetadata: boolean): Awaitable<URI | LookupWithMetadata> {
    const entry = this.#storage.lookup(name);
    return entry instanceof Promise
      ? entry.then((e) => found(name, e, withMetadata))
      : found(name, entry, withMetadata);
  }

  /**
   * Registers a name (or replaces its registration). With `safe`, an existing name is refused
   * with `NamingError("name already registered: <name>")`. `uri` is a URI or a URI string.
   */
  register(
    name: string,
    uri: string | URI,
    safe?: unknown,
    metadata?: Iterable<string> | null,
  ): Promise<null>;
  register(...args: unknown[]): Promise<null> {
    return settle(() => {
      const [nameArg, uriArg, safe, metadataArg] = bindArgs(
        "NameServer.register",
        ["name", "uri", "safe", "metadata"],
        [required, required, false, null],
        args,
      );
      let uri: string;
      if (uriArg instanceof URI) uri = uriArg.toString();
      else if (typeof uriArg === "string") {
        new URI(uriArg); // validates; the string is stored as given
        uri = uriArg;
      } else throw new TypeError("only URIs or strings can be registered");
      const name = checkName(nameArg);
      const metadata = checkMetadata(metadataArg);
      return after(this.#storage.register(name, uri, metadata, truthy(safe)), (done) => {
        if (!done) throw new NamingError(`name already registered: ${name}`);
        return null;
      });
    });
  }

  /** Replaces the tags of a registered name (null clears them). */
  set_metadata(name: string, metadata: Iterable<string> | null): Promise<null>;
  set_metadata(...args: unknown[]): Promise<null> {
    return settle(() => {
      const [nameArg, metadataArg] = bindArgs("NameServer.set_metadata", ["name", "metadata"], [
        required,
        required,
      ], args);
      const name = checkName(nameArg);
      const metadata = checkMetadata(metadataArg);
      return after(this.#storage.setMetadata(name, metadata), (done) => {
        if (!done) throw new NamingError(`unknown name: ${name}`);
        return null;
      });
    });
  }

  /**
   * Removes by name, else by prefix, else by regex (the first truthy argument wins) and resolves
   * to how many registrations went. The name server's own entry is never removed.
   */
  remove(name?: string | null, prefix?: string | null, regex?: string | null): Promise<number>;
  remove(...args: unknown[]): Promise<number> {
    return settle(() => {
      const [name, prefix, regex] = bindArgs("NameServer.remove", ["name", "prefix", "regex"], [
        null,
        null,
        null,
      ], args);
      if (truthy(name) && name !== NAMESERVER_NAME) {
        return this.#storage.remove([checkName(name)]);
      }
      if (!truthy(prefix) && !truthy(regex)) return 0;
      let start: string | null;
      let test: (name: string) => boolean;
      if (truthy(prefix)) {
        start = checkName(prefix, "prefix");
        test = (n) => n !== NAMESERVER_NAME;
      } else {
        const matcher = compileRegex(regex);
        start = matcher.prefix || null;
        test = (n) => n !== NAMESERVER_NAME && matcher(n);
      }
      if (this.#storage.removeMatching) return this.#storage.removeMatching(start, test);
      // A synchronous back end: list, filter and remove in one step.
      return after(this.#storage.names(start), (names) => this.#storage.remove(names.filter(test)));
    });
  }

  /**
   * Lists the registrations, all or filtered by a name prefix or a Python regex matched at the
   * start of the name: `{name: uri}`, or `{name: [uri, tags]}` with `returnMetadata`.
   */
  list(
    prefix?: string | null,
    regex?: string | null,
    returnMetadata?: false,
  ): Promise<Record<string, string>>;
  /** Lists the registrations with their tags. */
  list(
    prefix: string | null | undefined,
    regex: string | null | undefined,
    returnMetadata: true,
  ): Promise<Record<string, UriWithMetadata>>;
  list(...args: unknown[]): Promise<Record<string, string> | Record<string, UriWithMetadata>> {
    return settle(() => {
      const [prefix, regex, returnMetadata] = bindArgs(
        "NameServer.list",
        ["prefix", "regex", "return_metadata"],
        [null, null, false],
        args,
      );
      if (truthy(prefix) && truthy(regex)) {
        throw new RangeError("you can only filter on one thing at a time");
      }
      const withMetadata = truthy(returnMetadata);
      const records = truthy(prefix)
        ? this.#storage.list(checkName(prefix, "prefix"), withMetadata)
        : truthy(regex)
        ? this.#matching(regex, withMetadata)
        : this.#storage.list(null, withMetadata);
      return after(records, (r) => shape(r, withMetadata));
    });
  }

  /**
   * Yellow-pages lookup: the registrations carrying all of `metaAll`, or at least one of
   * `metaAny`, as `{name: [uri, tags]}` (by default) or `{name: uri}`.
   */
  yplookup(
    metaAll?: Iterable<string> | null,
    metaAny?: Iterable<string> | null,
    returnMetadata?: true,
  ): Promise<Record<string, UriWithMetadata>>;
  /** Yellow-pages lookup without the tags in the result. */
  yplookup(
    metaAll: Iterable<string> | null | undefined,
    metaAny: Iterable<string> | null | undefined,
    returnMetadata: false,
  ): Promise<Record<string, string>>;
  yplookup(
    ...args: unknown[]
  ): Promise<Record<string, string> | Record<string, UriWithMetadata>> {
    return settle(() => {
      const [metaAll, metaAny, returnMetadata] = bindArgs(
        "NameServer.yplookup",
        ["meta_all", "meta_any", "return_metadata"],
        [null, null, true],
        args,
      );
      if (truthy(metaAll) && truthy(metaAny)) {
        throw new RangeError("you can't use meta_all or meta_any at the same time");
      }
      const withMetadata = truthy(returnMetadata);
      if (TELEMETRY) nsLookup("yplookup", true);
      if (truthy(metaAll)) {
        const tags = checkMetadata(metaAll, "metadata_all")!;
        return after(
          this.#storage.yplookup(tags, "all", withMetadata),
          (r) => shape(r, withMetadata),
        );
      }
      if (truthy(metaAny)) {
        const tags = checkMetadata(metaAny, "metadata_any")!;
        return after(
          this.#storage.yplookup(tags, "any", withMetadata),
          (r) => shape(r, withMetadata),
        );
      }
      return record<string>();
    });
  }

  #matching(regex: unknown, withMetadata = false): Awaitable<StoredRecord[]> {
    const matcher = compileRegex(regex);
    // Every match starts with the pattern's literal prefix: let the storage's index narrow it.
    return after(
      this.#storage.names(matcher.prefix || null),
      (names) => this.#storage.records(names.filter((n) => matcher(n)), withMetadata),
    );
  }
}

for (const name of Object.getOwnPropertyNames(NameServer.prototype)) {
  const method = (NameServer.prototype as unknown as Record<string, unknown>)[name];
  if (name === "constructor" || typeof method !== "function") continue;
  Object.defineProperty(method, REMOTE_CALL, {
    value: remoteCall(method as (...args: unknown[]) => unknown),
  });
}

function compileRegex(regex: unknown): PythonRegex {
  const pattern = checkName(regex, "regex");
  try {
    return compilePythonRegex(pattern);
  } catch (e) {
    throw new NamingError(`invalid regex: ${(e as Error).message}`, { cause: e });
  }
}
