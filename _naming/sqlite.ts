/**
 * The SQLite back end of the Name Server storage (`sql:PATH`), with Pyro5's table layout
 * (`pyro_names(id, name, uri)` and `pyro_metadata(object, metadata)`) plus indexes on the tags.
 * Every write is one transaction, committed to the write-ahead log with `synchronous=FULL` before
 * the call returns. The file is held in SQLite's exclusive locking mode while open: a second name
 * server on the same file is refused, and the operating system drops the lock when the process
 * dies (even by `kill -9`), so no stale lock is left behind.
 *
 * @example
 * ```ts
 * import { SqliteStorage } from "./sqlite.ts";
 *
 * const path = Deno.makeTempFileSync({ suffix: ".db" });
 * const storage = new SqliteStorage(path);
 * console.log(storage.count()); // 0
 * storage.close();
 * Deno.removeSync(path);
 * ```
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { NamingError } from "../errors.ts";
import type { NameStorage, StoredEntry, StoredRecord, TagMatch } from "./storage.ts";

function uniqueTags(metadata: readonly string[] | null): string[] {
  return metadata === null ? [] : [...new Set(metadata)];
}

/** The smallest string (by code point) greater than every string starting with `prefix`. */
function prefixUpperBound(prefix: string): string | null {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  while (points.length > 0 && points[points.length - 1] === 0x10ffff) points.pop();
  if (points.length === 0) return null;
  let last = points.pop()! + 1;
  if (last === 0xd800) last = 0xe000;
  points.push(last);
  return String.fromCodePoint(...points);
}

function checkWellFormed(value: string, what: string): void {
  if (!value.isWellFormed()) {
    throw new NamingError(`Cannot store ${what} ${JSON.stringify(value)}: not well-formed Unicode`);
  }
}

/** Most lookups remembered between writes (the cache starts over when full). */
const LOOKUP_CACHE_MAX = 10_000;

interface Row {
  id?: number;
  name: string;
  uri: string;
  metadata?: string | null;
}

/**
 * Name storage in a SQLite file, with Pyro5's table layout. Opening a file that another name
 * server holds fails with a {@linkcode NamingError} that says so.
 *
 * @example
 * ```ts
 * import { SqliteStorage } from "./sqlite.ts";
 *
 * const path = Deno.makeTempFileSync({ suffix: ".db" });
 * const storage = new SqliteStorage(path);
 * storage.register("demo.a", "PYRO:obj@127.0.0.1:4001", null, false);
 * console.log(storage.count()); // 1
 * storage.close();
 * Deno.removeSync(path);
 * ```
 */
export class SqliteStorage implements NameStorage {
  /** `sql:` followed by the path. */
  readonly description: string;
  #db: DatabaseSync;
  #count = 0;
  #stmts = new Map<string, StatementSync>();
  /**
   * Lookups answered since the last write (null: the name is not registered). The file is held
   * exclusively, so only this storage writes it; every write empties the cache first.
   */
  #lookups = new Map<string, StoredEntry | null>();

  /**
   * Opens (or creates) the database file and takes its exclusive lock.
   *
   * @param path The file. `:memory:` is refused, as in Pyro5.
   */
  constructor(path: string) {
    if (path === ":memory:" || path === "") {
      throw new NamingError(
        `Cannot use SQLite storage ${
          JSON.stringify(path)
        }: give a file path, or use the memory storage`,
      );
    }
    this.description = `sql:${path}`;
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (e) {
      throw new NamingError(`Cannot open name server storage "${path}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.#db = db;
    try {
      db.exec("PRAGMA busy_timeout=0");
      db.exec("PRAGMA locking_mode=EXCLUSIVE");
      db.exec("PRAGMA journal_mode=WAL");
      db.exec("PRAGMA synchronous=FULL");
      db.exec("PRAGMA foreign_keys=ON");
      db.exec("BEGIN IMMEDIATE");
      db.exec(`CREATE TABLE IF NOT EXISTS pyro_names
        (id integer PRIMARY KEY, name nvarchar NOT NULL UNIQUE, uri nvarchar NOT NULL)`);
      db.exec(`CREATE TABLE IF NOT EXISTS pyro_metadata
        (object integer NOT NULL, metadata nvarchar NOT NULL,
         FOREIGN KEY(object) REFERENCES pyro_names(id))`);
      db.exec("CREATE INDEX IF NOT EXISTS pyro_metadata_object ON pyro_metadata(object)");
      db.exec("CREATE INDEX IF NOT EXISTS pyro_metadata_tag ON pyro_metadata(metadata, object)");
      db.exec("COMMIT");
      this.#count = Number(
        (db.prepare("SELECT count(*) AS n FROM pyro_names").get() as { n: number }).n,
      );
    } catch (e) {
      try {
        db.close();
      } catch { /* already failed */ }
      const message = (e as Error).message;
      if (/locked|busy/i.test(message)) {
        throw new NamingError(
          `Cannot open name server storage "${path}": it is in use by another name server (${message})`,
          { cause: e },
        );
      }
      throw new NamingError(`Cannot open name server storage "${path}": ${message}`, { cause: e });
    }
  }

  #stmt(sql: string): StatementSync {
    let stmt = this.#stmts.get(sql);
    if (!stmt) this.#stmts.set(sql, stmt = this.#db.prepare(sql));
    return stmt;
  }

  #transaction<T>(what: string, fn: () => T): T {
    this.#lookups.clear();
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (e) {
      throw new NamingError(`sqlite error in ${what}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (e) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* no transaction left */ }
      if (e instanceof NamingError) throw e;
      throw new NamingError(`sqlite error in ${what}: ${(e as Error).message}`, { cause: e });
    }
  }

  #query<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new NamingError(`sqlite error in ${what}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The number of registrations (kept in memory: the file is held exclusively). */
  count(): number {
    return this.#count;
  }

  /** One registration, or `undefined` (from the cache of lookups since the last write). */
  lookup(name: string): StoredEntry | undefined {
    let entry = this.#lookups.get(name);
    if (entry === undefined) {
      if (!name.isWellFormed()) return undefined;
      entry = this.#query("lookup", () => {
        const rows = this.#stmt(
          `SELECT n.uri AS uri, m.metadata AS metadata FROM pyro_names n
           LEFT JOIN pyro_metadata m ON m.object = n.id WHERE n.name = ?`,
        ).all(name) as unknown as Row[];
        if (rows.length === 0) return null;
        const metadata: string[] = [];
        for (const row of rows) if (row.metadata != null) metadata.push(row.metadata);
        return { uri: rows[0]!.uri, metadata: [...new Set(metadata)] };
      });
      if (this.#lookups.size >= LOOKUP_CACHE_MAX) this.#lookups.clear();
      this.#lookups.set(name, entry);
    }
    return entry === null ? undefined : { uri: entry.uri, metadata: entry.metadata.slice() };
  }

  /** Adds or replaces a registration (see {@linkcode NameStorage.register}). */
  register(
    name: string,
    uri: string,
    metadata: readonly string[] | null,
    safe: boolean,
  ): boolean {
    checkWellFormed(name, "the name");
    checkWellFormed(uri, "the uri");
    const tags = uniqueTags(metadata);
    for (const tag of tags) checkWellFormed(tag, "the tag");
    return this.#transaction("register", () => {
      const existing = this.#stmt("SELECT id FROM pyro_names WHERE name = ?").get(name) as
        | { id: number }
        | undefined;
      let id: number;
      if (existing) {
        if (safe) return false;
        id = existing.id;
        this.#stmt("UPDATE pyro_names SET uri = ? WHERE id = ?").run(uri, id);
        this.#stmt("DELETE FROM pyro_metadata WHERE object = ?").run(id);
      } else {
        id = Number(
          this.#stmt("INSERT INTO pyro_names(name, uri) VALUES (?, ?)").run(name, uri)
            .lastInsertRowid,
        );
      }
      const insertTag = this.#stmt("INSERT INTO pyro_metadata(object, metadata) VALUES (?, ?)");
      for (const tag of tags) insertTag.run(id, tag);
      if (!existing) this.#count++;
      return true;
    });
  }

  /** Replaces the tags of a registration (see {@linkcode NameStorage.setMetadata}). */
  setMetadata(name: string, metadata: readonly string[] | null): boolean {
    if (!name.isWellFormed()) return false;
    const tags = uniqueTags(metadata);
    for (const tag of tags) checkWellFormed(tag, "the tag");
    return this.#transaction("set_metadata", () => {
      const existing = this.#stmt("SELECT id FROM pyro_names WHERE name = ?").get(name) as
        | { id: number }
        | undefined;
      if (!existing) return false;
      this.#stmt("DELETE FROM pyro_metadata WHERE object = ?").run(existing.id);
      const insertTag = this.#stmt("INSERT INTO pyro_metadata(object, metadata) VALUES (?, ?)");
      for (const tag of tags) insertTag.run(existing.id, tag);
      return true;
    });
  }

  /** Removes the given names; returns how many existed. */
  remove(names: readonly string[]): number {
    const valid = names.filter((n) => n.isWellFormed());
    if (valid.length === 0) return 0;
    const removed = this.#transaction("remove", () => {
      const find = this.#stmt("SELECT id FROM pyro_names WHERE name = ?");
      const delTags = this.#stmt("DELETE FROM pyro_metadata WHERE object = ?");
      const delName = this.#stmt("DELETE FROM pyro_names WHERE id = ?");
      let removed = 0;
      for (const name of valid) {
        const row = find.get(name) as { id: number } | undefined;
        if (!row) continue;
        delTags.run(row.id);
        delName.run(row.id);
        removed++;
      }
      return removed;
    });
    this.#count -= removed;
    return removed;
  }

  /** Removes `name` only while it still maps to `uri` (autoclean; one server holds the file). */
  removeIfUnchanged(name: string, uri: string): boolean {
    if (this.lookup(name)?.uri !== uri) return false;
    return this.remove([name]) === 1;
  }

  /** Every registration, or those whose name starts with `prefix` (an index range scan). */
  list(prefix: string | null, withMetadata: boolean): StoredRecord[] {
    return this.#query("list", () => {
      if (!prefix) {
        if (!withMetadata) {
          return this.#stmt("SELECT name, uri FROM pyro_names ORDER BY id").all().map(plain);
        }
        return groupRows(
          this.#stmt(
            `SELECT n.id AS id, n.name AS name, n.uri AS uri, m.metadata AS metadata
             FROM pyro_names n LEFT JOIN pyro_metadata m ON m.object = n.id ORDER BY n.id`,
          ).all() as unknown as Row[],
        );
      }
      if (!prefix.isWellFormed()) return [];
      const upper = prefixUpperBound(prefix);
      const range = upper === null ? "n.name >= ?" : "n.name >= ? AND n.name < ?";
      const params = upper === null ? [prefix] : [prefix, upper];
      if (!withMetadata) {
        return this.#stmt(`SELECT n.name AS name, n.uri AS uri FROM pyro_names n WHERE ${range}`)
          .all(...params).map(plain);
      }
      return groupRows(
        this.#stmt(
          `SELECT n.id AS id, n.name AS name, n.uri AS uri, m.metadata AS metadata
           FROM pyro_names n LEFT JOIN pyro_metadata m ON m.object = n.id
           WHERE ${range} ORDER BY n.name`,
        ).all(...params) as unknown as Row[],
      );
    }).filter((r) => !prefix || r.name.startsWith(prefix));
  }

  /** The names only, all or those starting with `prefix`. */
  names(prefix: string | null): string[] {
    return this.#query("list", () => {
      let rows: unknown[];
      if (!prefix) rows = this.#stmt("SELECT name FROM pyro_names").all();
      else if (!prefix.isWellFormed()) return [];
      else {
        const upper = prefixUpperBound(prefix);
        rows = upper === null
          ? this.#stmt("SELECT name FROM pyro_names WHERE name >= ?").all(prefix)
          : this.#stmt("SELECT name FROM pyro_names WHERE name >= ? AND name < ?").all(
            prefix,
            upper,
          );
      }
      return rows.map((r) => (r as Row).name).filter((n) => !prefix || n.startsWith(prefix));
    });
  }

  /** The registrations of the given names that exist. */
  records(names: readonly string[], withMetadata: boolean): StoredRecord[] {
    const result: StoredRecord[] = [];
    for (const name of names) {
      if (!withMetadata) {
        const row = this.#query(
          "list",
          () => this.#stmt("SELECT uri FROM pyro_names WHERE name = ?").get(name),
        ) as Row | undefined;
        if (row) result.push({ name, uri: row.uri });
        continue;
      }
      const entry = this.lookup(name);
      if (entry) result.push({ name, uri: entry.uri, metadata: entry.metadata });
    }
    return result;
  }

  /** Registrations carrying all (or any) of the tags (uses the tag index). */
  yplookup(tags: readonly string[], match: TagMatch, withMetadata: boolean): StoredRecord[] {
    const wanted = uniqueTags(tags).filter((t) => t.isWellFormed());
    if (wanted.length === 0) return [];
    let hits: string;
    let params: (string | number)[];
    if (match === "any") {
      hits =
        "SELECT DISTINCT object FROM pyro_metadata WHERE metadata IN (SELECT value FROM json_each(?1))";
      params = [JSON.stringify(wanted)];
    } else {
      // Drive the search from the rarest tag (capped counts through the tag index), and check
      // the other tags per candidate through the object index.
      const probe = this.#stmt(
        "SELECT count(*) AS n FROM (SELECT 1 FROM pyro_metadata WHERE metadata = ? LIMIT 257)",
      );
      const sized = this.#query(
        "yplookup",
        () => wanted.map((tag) => ({ tag, n: Number((probe.get(tag) as { n: number }).n) })),
      );
      if (sized.some((s) => s.n === 0)) return [];
      sized.sort((a, b) => a.n - b.n);
      const [driver, ...others] = sized.map((s) => s.tag);
      hits = `SELECT m0.object FROM pyro_metadata m0 WHERE m0.metadata = ?1 AND
        (SELECT count(DISTINCT x.metadata) FROM pyro_metadata x INDEXED BY pyro_metadata_object
         WHERE x.object = m0.object AND x.metadata IN (SELECT value FROM json_each(?2))) = ?3`;
      params = [driver!, JSON.stringify(others), others.length];
    }
    return this.#query("yplookup", () => {
      if (!withMetadata) {
        return this.#stmt(
          `SELECT n.name AS name, n.uri AS uri FROM pyro_names n WHERE n.id IN (${hits})`,
        ).all(...params).map(plain);
      }
      return groupRows(
        this.#stmt(
          `SELECT n.id AS id, n.name AS name, n.uri AS uri, m.metadata AS metadata
           FROM pyro_names n JOIN pyro_metadata m ON m.object = n.id
           WHERE n.id IN (${hits}) ORDER BY n.id`,
        ).all(...params) as unknown as Row[],
      );
    });
  }

  /** Closes the file and releases its lock. */
  close(): void {
    if (!this.#db.isOpen) return;
    this.#stmts.clear();
    this.#lookups.clear();
    this.#db.close();
  }
}

function plain(row: unknown): StoredRecord {
  const r = row as Row;
  return { name: r.name, uri: r.uri };
}

/** Joins rows of (id, name, uri, tag) into records; rows of one id must be adjacent. */
function groupRows(rows: Row[]): StoredRecord[] {
  const result: StoredRecord[] = [];
  let current: StoredRecord | undefined;
  let currentId: number | undefined;
  for (const row of rows) {
    if (current === undefined || row.id !== currentId) {
      current = { name: row.name, uri: row.uri, metadata: [] };
      currentId = row.id;
      result.push(current);
    }
    if (row.metadata != null) current.metadata!.push(row.metadata);
  }
  return result;
}
