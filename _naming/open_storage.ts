/**
 * Opens a storage back end of the Name Server from Pyro5's storage option: in memory (the
 * default), SQLite (`sql:PATH`) or PostgreSQL (`postgresql://…`, shared by several name servers;
 * see postgres.ts), all indexed for the name server's queries (lookup by name,
 * list by prefix, yellow-pages lookup by tags, count).
 *
 * The SQLite file uses Pyro5's table layout (`pyro_names(id, name, uri)` and
 * `pyro_metadata(object, metadata)`), plus indexes on the tags, so that a file written by one
 * implementation can be read by the other. Every write is one transaction, committed (write-ahead
 * log, `synchronous=FULL`) before the call returns. The file is held with SQLite's exclusive
 * locking mode for as long as the storage is open: a second name server on the same file is
 * refused with a clear error, and the operating system drops the lock when the process dies,
 * even by `kill -9`, so no stale lock is ever left behind.
 *
 * @example In-memory storage
 * ```ts
 * import { openStorage } from "./open_storage.ts";
 *
 * const storage = openStorage("memory");
 * storage.register("demo.a", "PYRO:obj@127.0.0.1:4001", ["red"], false);
 * console.log(storage.lookup("demo.a")); // { uri: "PYRO:obj@127.0.0.1:4001", metadata: ["red"] }
 * storage.close();
 * ```
 *
 * @module
 */

import { NamingError } from "../errors.ts";
import { MemoryStorage } from "./memory.ts";
import { PostgresStorage } from "./postgres.ts";
import { SqliteStorage } from "./sqlite.ts";
import type { NameStorage } from "./storage.ts";

/**
 * Opens a storage back end from Pyro5's storage option: `memory` or `sql:PATH`, or (our
 * extension) a PostgreSQL URL, `postgresql://user[:password]@host[:port]/database` or
 * `postgres://…`, which connects on first use (`await storage.open?.()` to connect now).
 *
 * @example
 * ```ts
 * import { openStorage } from "./open_storage.ts";
 * const storage = openStorage("memory");
 * console.log(storage.description); // "memory"
 * storage.close();
 * ```
 *
 * @param spec The storage option.
 * @returns The opened storage.
 * @throws {NamingError} For an unknown type, or a SQLite file that cannot be opened or is in use.
 */
export function openStorage(spec: string): NameStorage {
  if (spec === "" || spec === "memory") return new MemoryStorage();
  if (spec.startsWith("sql:")) return new SqliteStorage(spec.slice(4));
  if (/^postgres(ql)?:\/\//.test(spec)) return new PostgresStorage(spec);
  throw new NamingError(
    `invalid storage type: ${
      JSON.stringify(spec)
    } (use "memory", "sql:PATH" or "postgresql://user@host:port/db")`,
  );
}
