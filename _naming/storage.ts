/**
 * What a storage back end of the Name Server is: the {@linkcode NameStorage} interface and the
 * records it holds. The back ends live beside it (memory.ts, sqlite.ts, postgres.ts) and
 * open_storage.ts opens one from Pyro5's storage option; the Name Server object (server.ts) uses
 * only this interface. Methods may answer at once (memory, SQLite: the Name Server then serves
 * each call in one synchronous step) or with a promise (PostgreSQL).
 *
 * @example Any back end through the interface
 * ```ts
 * import type { NameStorage } from "./storage.ts";
 * import { openStorage } from "./open_storage.ts";
 *
 * const storage: NameStorage = openStorage("memory");
 * await storage.register("demo.a", "PYRO:obj@127.0.0.1:4001", ["red"], false);
 * console.log(await storage.count()); // 1
 * await storage.close();
 * ```
 *
 * @module
 */

/** One registration as held by a storage back end. */
export interface StoredEntry {
  /** The URI, as a string. */
  uri: string;
  /** The tags (a set, as an array without duplicates; `[]` for none). */
  metadata: string[];
}

/** One row of a list or yellow-pages query. */
export interface StoredRecord {
  /** The registered name. */
  name: string;
  /** The URI, as a string. */
  uri: string;
  /** The tags, when the query asked for them. */
  metadata?: string[];
}

/** A value, or a promise of one: back ends answer synchronously or asynchronously. */
export type Awaitable<T> = T | Promise<T>;

/** How a yellow-pages lookup combines the tags it is given. */
export type TagMatch = "all" | "any";

/**
 * What the Name Server needs from a storage back end. Names and tags are case-sensitive
 * strings. Methods throw `NamingError` when the back end fails.
 *
 * @example A custom back end can wrap another one
 * ```ts
 * import type { NameStorage } from "./storage.ts";
 * import { openStorage } from "./open_storage.ts";
 *
 * const inner: NameStorage = openStorage("memory");
 * console.log(await inner.count()); // 0
 * await inner.close();
 * ```
 */
export interface NameStorage {
  /** A short description, e.g. `memory` or `sql:/var/lib/pyro/ns.db`. */
  readonly description: string;
  /**
   * Connects and checks the schema, for back ends that need to (the Name Server awaits it
   * before it serves); absent for the others.
   */
  open?(): Promise<void>;
  /** The number of registrations. */
  count(): Awaitable<number>;
  /** One registration, or `undefined`. */
  lookup(name: string): Awaitable<StoredEntry | undefined>;
  /**
   * Adds or replaces a registration. With `safe`, an existing name is left alone and the result
   * is `false`. `metadata` null means no tags.
   */
  register(
    name: string,
    uri: string,
    metadata: readonly string[] | null,
    safe: boolean,
  ): Awaitable<boolean>;
  /** Replaces the tags of a registration; `false` if the name is unknown. */
  setMetadata(name: string, metadata: readonly string[] | null): Awaitable<boolean>;
  /** Removes the given names; returns how many existed. */
  remove(names: readonly string[]): Awaitable<number>;
  /**
   * Removes, atomically, the names starting with `prefix` (all for null) that pass `test`, and
   * returns how many went. Back ends shared by several servers implement it as one transaction;
   * without it the Name Server lists, filters and removes in one synchronous step.
   */
  removeMatching?(
    prefix: string | null,
    test: ((name: string) => boolean) | null,
  ): Awaitable<number>;
  /** Removes `name` only while it still maps to `uri` (autoclean's compare-and-remove). */
  removeIfUnchanged?(name: string, uri: string): Awaitable<boolean>;
  /**
   * Whether this server holds the claim on a job shared by several servers on one storage
   * (autoclean), taking it when free: only one holder at a time, and it passes on when the
   * holder dies. Absent: the storage has one server, which always holds it.
   */
  claim?(job: string): Awaitable<boolean>;
  /** Every registration, or those whose name starts with `prefix`. */
  list(prefix: string | null, withMetadata: boolean): Awaitable<StoredRecord[]>;
  /** The names only, all or those starting with `prefix` (cheaper than `list` for scans). */
  names(prefix: string | null): Awaitable<string[]>;
  /** The registrations of the given names that exist, in the given order. */
  records(names: readonly string[], withMetadata: boolean): Awaitable<StoredRecord[]>;
  /** Registrations carrying all (or any) of the tags. An empty tag list matches nothing. */
  yplookup(
    tags: readonly string[],
    match: TagMatch,
    withMetadata: boolean,
  ): Awaitable<StoredRecord[]>;
  /** Releases the back end (SQLite: closes the file and drops the lock; PostgreSQL: the pool). */
  close(): Awaitable<void>;
}
