/**
 * The PostgreSQL back end of the Name Server storage (`postgresql://user@host:port/db`, also
 * `postgres://`), through `npm:postgres` (Postgres.js). Several name servers on one database are one
 * namespace: a registration made through one server is seen through all of them on the next call.
 * Lookups are answered from a mirror of the namespace in memory (postgres_mirror.ts), which every
 * write keeps correct before it returns; every other call is answered by the database. The mirror
 * is on by default; `mirror: false` (or `?mirror=off` in the URL, our parameter, taken out before
 * connecting) sends lookups to the database too.
 *
 * One row per name (`pyro_ns_names(name, uri, tags text[])`), the name as the primary key in
 * code-point order (`COLLATE "C"`, so prefix queries are index range scans) and the tags under a
 * GIN index (yellow-pages lookups with `@>` for all, `&&` for any). Every write is one statement
 * (atomic by itself: `safe` registration is `INSERT … ON CONFLICT DO NOTHING`, so of two racing
 * registrations exactly one wins) except removal by a regular expression, which selects and
 * deletes in one transaction. The schema is created on first use under an advisory lock and
 * versioned in `pyro_ns_schema_version`; a newer version than this code knows is refused.
 *
 * Each name server enters itself as `Pyro.NameServer` when it starts (the last one started
 * wins); the server that runs autoclean points that entry at itself when the server it names
 * stays unreachable.
 *
 * While the database cannot be reached, calls fail with a {@linkcode NamingError} that says so;
 * the connection pool reconnects by itself when it returns. {@linkcode PostgresStorage.claim}
 * gives a cluster-wide job (autoclean) to one server at a time through a session advisory lock,
 * released by PostgreSQL when that server's connection ends, even when the process is killed.
 *
 * @example
 * ```ts ignore
 * import { PostgresStorage } from "./postgres.ts";
 *
 * const storage = new PostgresStorage("postgresql://postgres@127.0.0.1:5432/pyro");
 * await storage.register("demo.a", "PYRO:obj@127.0.0.1:4001", ["red"], true);
 * console.log(await storage.lookup("demo.a"));
 * await storage.close();
 * ```
 *
 * @module
 */

import type { Sql, TransactionSql } from "npm:postgres@4.2.0";
import { NamingError } from "../errors.ts";
import { MISS, PostgresMirror } from "./postgres_mirror.ts";
import type { Awaitable, NameStorage, StoredEntry, StoredRecord, TagMatch } from "./storage.ts";

/** The schema version this code writes; databases with a newer one are refused. */
export const POSTGRES_SCHEMA_VERSION = 2;

/** Steps from version i to i + 1 (index 0 creates version 1). */
const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE pyro_ns_names (
       name text COLLATE "C" PRIMARY KEY,
       uri text NOT NULL,
       tags text[] NOT NULL DEFAULT '{}')`,
    "CREATE INDEX pyro_ns_names_tags ON pyro_ns_names USING gin (tags)",
  ],
  // 2: every change is announced on channel pyro_ns, on commit, for the mirrors
  // (postgres_mirror.ts): the names as JSON arrays of up to 50, or `*` for a big change.
  [
    `CREATE FUNCTION pyro_ns_changed() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE payload text;
     BEGIN
       IF (SELECT count(*) FROM changed) > 10000 THEN
         PERFORM pg_notify('pyro_ns', '*');
         RETURN NULL;
       END IF;
       FOR payload IN SELECT json_agg(name)::text FROM
           (SELECT name, (row_number() OVER () - 1) / 50 AS chunk FROM changed) c GROUP BY chunk
       LOOP
         IF octet_length(payload) > 7900 THEN payload := '*'; END IF;
         PERFORM pg_notify('pyro_ns', payload);
       END LOOP;
       RETURN NULL;
     END $$`,
    `CREATE FUNCTION pyro_ns_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN PERFORM pg_notify('pyro_ns', '*'); RETURN NULL; END $$`,
    `CREATE TRIGGER pyro_ns_inserted AFTER INSERT ON pyro_ns_names
       REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION pyro_ns_changed()`,
    `CREATE TRIGGER pyro_ns_updated AFTER UPDATE ON pyro_ns_names
       REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION pyro_ns_changed()`,
    `CREATE TRIGGER pyro_ns_deleted AFTER DELETE ON pyro_ns_names
       REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION pyro_ns_changed()`,
    `CREATE TRIGGER pyro_ns_truncated AFTER TRUNCATE ON pyro_ns_names
       FOR EACH STATEMENT EXECUTE FUNCTION pyro_ns_truncated()`,
  ],
];

/** Lock key of schema creation and migration (any constant; "pyro" in ASCII). */
const SCHEMA_LOCK = 0x7079726f;

/** Options of {@linkcode PostgresStorage}. Times are milliseconds. */
export interface PostgresStorageOptions {
  /**
   * Connections in the pool.
   *
   * @default {8}
   */
  maxConnections?: number;
  /**
   * How long to wait for a connection (and so how soon a call fails while the database is
   * down).
   *
   * @default {5000}
   */
  connectTimeout?: number;
  /**
   * How long one query may take before the call fails.
   *
   * @default {15000}
   */
  queryTimeout?: number;
  /**
   * Answer lookups from a mirror of the namespace in this process's memory, kept correct by
   * PostgreSQL notifications (writes wait until every mirror has heard of them). Also
   * `?mirror=off` in the URL.
   *
   * @default {true}
   */
  mirror?: boolean;
  /**
   * How long a mirror trusts itself after its last check with the database; writes wait at most
   * 1.1 times this (+ 100 ms) for a mirror that does not answer.
   *
   * @default {2000}
   */
  mirrorLease?: number;
  /**
   * The most names the mirror holds; a bigger namespace is served by the database.
   *
   * @default {1000000}
   */
  mirrorMaxNames?: number;
}

/** The URL without our `mirror` parameter, and whether it turned the mirror off. */
function takeMirrorParam(url: string): { url: string; off: boolean } {
  const q = url.indexOf("?");
  if (q < 0) return { url, off: false };
  const params = new URLSearchParams(url.slice(q + 1));
  const value = params.get("mirror");
  if (value === null) return { url, off: false };
  params.delete("mirror");
  const rest = params.toString();
  return {
    url: url.slice(0, q) + (rest ? `?${rest}` : ""),
    off: /^(off|false|0|no)$/i.test(value),
  };
}

type PostgresFactory = typeof import("npm:postgres@4.2.0").default;

let factory: Promise<PostgresFactory> | undefined;
/** Loads the client on first use, so that memory and SQLite users never fetch it. */
function loadClient(): Promise<PostgresFactory> {
  factory ??= import("npm:postgres@4.2.0").then((m) => m.default);
  return factory;
}

/** The URL with its password hidden, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
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

/** Whether PostgreSQL can store the text as given (well-formed, no NUL). */
function storable(value: string): boolean {
  return value.isWellFormed() && !value.includes("\0");
}

function checkStorable(value: string, what: string): void {
  if (!storable(value)) {
    throw new NamingError(
      `Cannot store ${what} ${JSON.stringify(value)}: not well-formed Unicode or contains NUL`,
    );
  }
}

function uniqueTags(metadata: readonly string[] | null): string[] {
  return metadata === null ? [] : [...new Set(metadata)];
}

/** Error codes meaning the database could not be reached (rather than a refused statement). */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "QUERY_TIMEOUT",
  "QUEUE_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
]);

function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" && CONNECTION_CODES.has(code);
}

interface NameRow {
  name: string;
  uri: string;
  tags?: string[];
}

/** The claim key of a job: a 31-bit hash, as the object id of a session advisory lock. */
function claimKey(job: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(`pyro-ns:${job}`)) {
    h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}

/**
 * Name storage in a PostgreSQL database, shared by every name server that opens the same one.
 * The database must exist; the tables are created on first use.
 *
 * @example
 * ```ts ignore
 * import { PostgresStorage } from "./postgres.ts";
 * const storage = new PostgresStorage("postgres://pyro@db.internal:5432/names");
 * await storage.open(); // connects and checks the schema
 * console.log(await storage.count());
 * await storage.close();
 * ```
 */
export class PostgresStorage implements NameStorage {
  /** The URL, password hidden. */
  readonly description: string;
  #url: string;
  #options: PostgresStorageOptions;
  #sql: Sql | null = null;
  #opening: Promise<Sql> | null = null;
  #closed = false;
  #claims = new Map<string, Sql>();
  #mirror: PostgresMirror;
  #mirrorStarted = false;

  /**
   * Describes the storage; nothing connects until {@linkcode PostgresStorage.open} or the first
   * call.
   *
   * @param url `postgresql://user[:password]@host[:port]/database[?…]` (libpq URL syntax).
   * @param options Pool size and timeouts.
   */
  constructor(url: string, options: PostgresStorageOptions = {}) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new NamingError(`invalid storage type: ${JSON.stringify(url)} (use postgresql://…)`);
    }
    const { url: plain, off } = takeMirrorParam(url);
    this.#url = plain;
    this.#options = options;
    this.description = redact(plain);
    this.#mirror = new PostgresMirror({
      connect: (name, events) => this.#client(1, name, events),
      pool: () => this.#ready(),
    }, {
      serve: !off && (options.mirror ?? true),
      lease: options.mirrorLease ?? 2000,
      maxNames: options.mirrorMaxNames ?? 1_000_000,
    });
  }

  /**
   * Resolves once lookups are answered from the mirror (loaded and checked); for tests and
   * benchmarks (never with `mirror: false`, nor while the namespace is bigger than
   * `mirrorMaxNames`).
   */
  mirrorServing(): Promise<void> {
    return this.#mirror.serving();
  }

  /**
   * Connects, and creates or migrates the schema (once; later calls wait for the first).
   *
   * @throws {NamingError} When the database cannot be reached or its schema is newer than this
   * code knows.
   */
  async open(): Promise<void> {
    await this.#ready();
  }

  #ready(): Promise<Sql> {
    if (this.#closed) return Promise.reject(new NamingError("the name server storage is closed"));
    if (this.#sql) return Promise.resolve(this.#sql);
    this.#opening ??= this.#connect().then(
      (sql) => {
        this.#sql = sql;
        return sql;
      },
      (e) => {
        this.#opening = null; // try again on the next call
        throw e;
      },
    );
    return this.#opening;
  }

  async #client(
    max: number,
    name: string,
    events?: { onnotify(channel: string, payload: string): void; onclose(): void },
  ): Promise<Sql> {
    const postgres = await loadClient();
    const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
    return postgres(this.#url, {
      max,
      connect_timeout: seconds(this.#options.connectTimeout ?? 5000),
      query_timeout: seconds(this.#options.queryTimeout ?? 15000),
      keep_alive: 10,
      onnotice: () => {},
      ...(events
        ? {
          // The mirror's connection: kept open, and its notifications (acks, syncs) need no
          // durable commit.
          idle_timeout: 0,
          onnotify: events.onnotify,
          onclose: events.onclose,
          connection: { application_name: name, synchronous_commit: "off" },
        }
        : { idle_timeout: 60, connection: { application_name: name } }),
    });
  }

  async #connect(): Promise<Sql> {
    const sql = await this.#client(this.#options.maxConnections ?? 8, "pyro-ns");
    try {
      await this.#migrate(sql);
    } catch (e) {
      await sql.end({ timeout: 0 }).catch(() => {});
      throw this.#error("open", e);
    }
    if (!this.#mirrorStarted) {
      // Listen before the first call is served, so that writes find their waits answered; the
      // mirror loads in the background (lookups go to the database meanwhile), and retries by
      // itself when it cannot listen now.
      this.#mirrorStarted = true;
      this.#sql = sql;
      await this.#mirror.start().catch(() => {});
    }
    return sql;
  }

  async #migrate(sql: Sql): Promise<void> {
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK}::bigint)`;
      await tx`CREATE TABLE IF NOT EXISTS pyro_ns_schema_version
        (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), version integer NOT NULL)`;
      const found = await tx<{ version: number }[]>`SELECT version FROM pyro_ns_schema_version`;
      const version = found[0]?.version ?? 0;
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new NamingError(
          `Cannot use name server storage ${this.description}: its schema version ${version} is newer than this name server knows (${POSTGRES_SCHEMA_VERSION}); upgrade the name server`,
        );
      }
      for (let v = version; v < POSTGRES_SCHEMA_VERSION; v++) {
        for (const statement of MIGRATIONS[v]!) await tx.unsafe(statement);
      }
      if (version === 0) {
        await tx`INSERT INTO pyro_ns_schema_version (version) VALUES (${POSTGRES_SCHEMA_VERSION})`;
      } else if (version < POSTGRES_SCHEMA_VERSION) {
        await tx`UPDATE pyro_ns_schema_version SET version = ${POSTGRES_SCHEMA_VERSION}`;
      }
    });
  }

  #error(what: string, e: unknown): NamingError {
    if (e instanceof NamingError) return e;
    const message = (e as Error)?.message ?? String(e);
    if (isConnectionError(e)) {
      return new NamingError(
        `Cannot reach the name server database ${this.description}: ${message}`,
        { cause: e },
      );
    }
    return new NamingError(`postgresql error in ${what}: ${message}`, { cause: e });
  }

  /**
   * Runs one statement. `idempotent` ones are tried once more when the first attempt finds the
   * connection dead (say, a pooled connection from before a database restart).
   */
  async #run<R>(what: string, fn: (sql: Sql) => Promise<R>, idempotent = true): Promise<R> {
    for (let attempt = 0;; attempt++) {
      try {
        return await fn(await this.#ready());
      } catch (e) {
        if (e instanceof NamingError) throw e;
        if (idempotent && attempt === 0 && isConnectionError(e) && !this.#closed) continue;
        throw this.#error(what, e);
      }
    }
  }

  /**
   * Runs a write (see {@linkcode PostgresStorage.#run}) and returns once every mirror on the
   * database has heard of what it changed or saw (see postgres_mirror.ts), so that the next call
   * through any server sees it.
   */
  async #write<R>(what: string, fn: (sql: Sql) => Promise<R>, idempotent = true): Promise<R> {
    const result = await this.#run(what, fn, idempotent);
    await this.#mirror.settle();
    return result;
  }

  /** The number of registrations. */
  count(): Promise<number> {
    return this.#run("count", async (sql) => {
      const rows = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pyro_ns_names`;
      return rows[0]!.n;
    });
  }

  /**
   * One registration, or `undefined`: from the mirror when it can answer (at once, without a
   * promise), else from the database.
   */
  lookup(name: string): Awaitable<StoredEntry | undefined> {
    const hit = this.#mirror.get(name);
    return hit === MISS ? this.#lookup(name) : hit;
  }

  async #lookup(name: string): Promise<StoredEntry | undefined> {
    if (!storable(name)) return undefined;
    const mark = this.#mirror.mark(name);
    const rows = await this.#run("lookup", (sql) =>
      sql<{ uri: string; tags: string[] }[]>`
        SELECT uri, tags FROM pyro_ns_names WHERE name = ${name}`);
    const row = rows[0];
    const entry = row && { uri: row.uri, metadata: row.tags };
    this.#mirror.fill(name, mark, entry);
    return entry;
  }

  /** Adds or replaces a registration (one atomic statement; see `NameStorage.register`). */
  async register(
    name: string,
    uri: string,
    metadata: readonly string[] | null,
    safe: boolean,
  ): Promise<boolean> {
    checkStorable(name, "the name");
    checkStorable(uri, "the uri");
    const tags = uniqueTags(metadata);
    for (const tag of tags) checkStorable(tag, "the tag");
    if (safe) {
      const result = await this.#write(
        "register",
        (sql) =>
          sql`INSERT INTO pyro_ns_names (name, uri, tags) VALUES (${name}, ${uri}, ${tags}::text[])
            ON CONFLICT (name) DO NOTHING`,
        false,
      );
      return result.count === 1;
    }
    await this.#write(
      "register",
      (sql) =>
        sql`INSERT INTO pyro_ns_names (name, uri, tags) VALUES (${name}, ${uri}, ${tags}::text[])
          ON CONFLICT (name) DO UPDATE SET uri = EXCLUDED.uri, tags = EXCLUDED.tags`,
    );
    return true;
  }

  /** Replaces the tags of a registration (one statement). */
  async setMetadata(name: string, metadata: readonly string[] | null): Promise<boolean> {
    if (!storable(name)) return false;
    const tags = uniqueTags(metadata);
    for (const tag of tags) checkStorable(tag, "the tag");
    const result = await this.#write(
      "set_metadata",
      (sql) => sql`UPDATE pyro_ns_names SET tags = ${tags}::text[] WHERE name = ${name}`,
    );
    return result.count === 1;
  }

  /** Removes the given names (one statement); returns how many existed. */
  async remove(names: readonly string[]): Promise<number> {
    const valid = names.filter(storable);
    if (valid.length === 0) return 0;
    const result = await this.#write(
      "remove",
      (sql) => sql`DELETE FROM pyro_ns_names WHERE name = ANY(${valid}::text[])`,
      false,
    );
    return result.count;
  }

  /**
   * Removes, in one transaction, the names starting with `prefix` that pass `test`: the rows
   * are locked as they are selected, so a concurrent change waits for the removal.
   */
  removeMatching(prefix: string | null, test: ((name: string) => boolean) | null): Promise<number> {
    if (prefix && !storable(prefix)) return Promise.resolve(0);
    return this.#write("remove", (sql) =>
      sql.begin(async (tx) => {
        const found = await tx<{ name: string }[]>`
          SELECT name FROM pyro_ns_names ${prefixWhere(tx, prefix)} FOR UPDATE`;
        const names = found.map((r) => r.name).filter((n) => !test || test(n));
        if (names.length === 0) return 0;
        const result = await tx`DELETE FROM pyro_ns_names WHERE name = ANY(${names}::text[])`;
        return result.count;
      }), false);
  }

  /** Removes `name` only while it is still registered to `uri` (autoclean). */
  async removeIfUnchanged(name: string, uri: string): Promise<boolean> {
    if (!storable(name) || !storable(uri)) return false;
    const result = await this.#write(
      "remove",
      (sql) => sql`DELETE FROM pyro_ns_names WHERE name = ${name} AND uri = ${uri}`,
    );
    return result.count === 1;
  }

  /** Every registration, or those whose name starts with `prefix` (an index range scan). */
  async list(prefix: string | null, withMetadata: boolean): Promise<StoredRecord[]> {
    if (prefix && !storable(prefix)) return [];
    const rows = await this.#run(
      "list",
      (sql) =>
        withMetadata
          ? sql<NameRow[]>`SELECT name, uri, tags FROM pyro_ns_names ${prefixWhere(sql, prefix)}`
          : sql<NameRow[]>`SELECT name, uri FROM pyro_ns_names ${prefixWhere(sql, prefix)}`,
    );
    return rows.map((row) => toRecord(row, withMetadata));
  }

  /** The names only, all or those starting with `prefix`. */
  async names(prefix: string | null): Promise<string[]> {
    if (prefix && !storable(prefix)) return [];
    const rows = await this.#run(
      "list",
      (sql) => sql<{ name: string }[]>`SELECT name FROM pyro_ns_names ${prefixWhere(sql, prefix)}`,
    );
    return rows.map((row) => row.name);
  }

  /** The registrations of the given names that exist, in the given order. */
  async records(names: readonly string[], withMetadata: boolean): Promise<StoredRecord[]> {
    const valid = names.filter(storable);
    if (valid.length === 0) return [];
    const rows = await this.#run(
      "list",
      (sql) =>
        sql<
          NameRow[]
        >`SELECT name, uri, tags FROM pyro_ns_names WHERE name = ANY(${valid}::text[])`,
    );
    const byName = new Map(rows.map((row) => [row.name, row]));
    const result: StoredRecord[] = [];
    for (const name of valid) {
      const row = byName.get(name);
      if (row) result.push(toRecord(row, withMetadata));
    }
    return result;
  }

  /** Registrations carrying all (`@>`) or any (`&&`) of the tags, through the GIN index. */
  async yplookup(
    tags: readonly string[],
    match: TagMatch,
    withMetadata: boolean,
  ): Promise<StoredRecord[]> {
    const wanted = uniqueTags(tags).filter(storable);
    if (wanted.length === 0) return [];
    const rows = await this.#run("yplookup", (sql) => {
      const cond = match === "all"
        ? sql`tags @> ${wanted}::text[]`
        : sql`tags && ${wanted}::text[]`;
      return withMetadata
        ? sql<NameRow[]>`SELECT name, uri, tags FROM pyro_ns_names WHERE ${cond}`
        : sql<NameRow[]>`SELECT name, uri FROM pyro_ns_names WHERE ${cond}`;
    });
    return rows.map((row) => toRecord(row, withMetadata));
  }

  /**
   * Whether this storage holds the cluster-wide claim on `job`, taking it when free: a session
   * advisory lock on a connection of its own. PostgreSQL releases it when that connection ends
   * (close, the process dies, a database restart); each call checks that the lock is still held
   * on the current connection and otherwise tries to take it again.
   */
  async claim(job: string): Promise<boolean> {
    if (this.#closed) return false;
    let sql = this.#claims.get(job);
    if (!sql) {
      sql = await this.#client(1, `pyro-ns ${job}`);
      this.#claims.set(job, sql);
    }
    const key = claimKey(job);
    try {
      const rows = await sql<{ ok: boolean }[]>`
        SELECT CASE WHEN EXISTS (
          SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
            AND classid = 0 AND objid = ${key}::bigint::oid AND objsubid = 1 AND granted)
        THEN true ELSE pg_try_advisory_lock(${key}::bigint) END AS ok`;
      return rows[0]?.ok === true && !this.#closed;
    } catch {
      return false;
    }
  }

  /** Closes the connections and gives up every claim. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#mirror.close();
    const claims = [...this.#claims.values()];
    this.#claims.clear();
    const sql = this.#sql ?? (this.#opening ? await this.#opening.catch(() => null) : null);
    this.#sql = null;
    this.#opening = null;
    await Promise.all([...claims, ...(sql ? [sql] : [])].map((s) => s.end({ timeout: 1 })));
  }
}

function prefixWhere(sql: Sql | TransactionSql, prefix: string | null) {
  if (!prefix) return sql``;
  const upper = prefixUpperBound(prefix);
  return upper === null
    ? sql`WHERE name >= ${prefix}`
    : sql`WHERE name >= ${prefix} AND name < ${upper}`;
}

function toRecord(row: NameRow, withMetadata: boolean): StoredRecord {
  return withMetadata
    ? { name: row.name, uri: row.uri, metadata: row.tags ?? [] }
    : { name: row.name, uri: row.uri };
}
