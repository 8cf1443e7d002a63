/**
 * What a storage back end of the Name Server is: the {@linkcode NameStorage} interface and the
 * records it holds. The back ends live beside it (memory.ts, sqlite.ts) and open_storage.ts
 * opens one from Pyro5's storage option; the Name Server object (server.ts) uses only this
 * interface.
 *
 * @example Any back end through the interface
 * ```ts
 * import type { NameStorage } from "./storage.ts";
 * import { openStorage } from "./open_storage.ts";
 *
 * const storage: NameStorage = openStorage("memory");
 * storage.register("demo.a", "PYRO:obj@127.0.0.1:4001", ["red"], false);
 * console.log(storage.count()); // 1
 * storage.close();
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
 * console.log(inner.count()); // 0
 * inner.close();
 * ```
 */
export interface NameStorage {
  /** A short description, e.g. `memory` or `sql:/var/lib/pyro/ns.db`. */
  readonly description: string;
  /** The number of registrations. */
  count(): number;
  /** One registration, or `undefined`. */
  lookup(name: string): StoredEntry | undefined;
  /**
   * Adds or replaces a registration. With `safe`, an existing name is left alone and the result
   * is `false`. `metadata` null means no tags.
   */
  register(name: string, uri: string, metadata: readonly string[] | null, safe: boolean): boolean;
  /** Replaces the tags of a registration; `false` if the name is unknown. */
  setMetadata(name: string, metadata: readonly string[] | null): boolean;
  /** Removes the given names; returns how many existed. */
  remove(names: readonly string[]): number;
  /** Every registration, or those whose name starts with `prefix`. */
  list(prefix: string | null, withMetadata: boolean): StoredRecord[];
  /** The names only, all or those starting with `prefix` (cheaper than `list` for scans). */
  names(prefix: string | null): string[];
  /** The registrations of the given names that exist, in the given order. */
  records(names: readonly string[], withMetadata: boolean): StoredRecord[];
  /** Registrations carrying all (or any) of the tags. An empty tag list matches nothing. */
  yplookup(tags: readonly string[], match: TagMatch, withMetadata: boolean): StoredRecord[];
  /** Releases the back end (for SQLite: closes the file and drops the lock). */
  close(): void;
}
