/**
 * The namespace mirror of a Name Server on PostgreSQL (see postgres.ts): a copy of every
 * registration in the server's memory, so that a lookup is answered without a round trip to
 * the database, kept correct while several Name Servers write to the same database.
 *
 * How it stays correct:
 * - Triggers on `pyro_ns_names` send the changed names on channel `pyro_ns` inside the writing
 *   transaction, so PostgreSQL delivers them on commit, in commit order, to every listening
 *   server. A mirror marks each name it hears about as unknown; its next lookup reads the row
 *   from the database and keeps it (read-through). Big changes (over 10,000 rows or names too
 *   long for one notification) send `*`, and the mirror loads everything again.
 * - A write returns only after every mirror on the database has heard of it: the writing server
 *   sends a barrier (`b <writer> <seq>` on `pyro_ns`) after its commit and lists the mirrors
 *   (sessions named `pyro-ns-mirror <id>` in `pg_stat_activity`); each mirror answers a barrier
 *   after the notifications before it, so when all have answered, none of them can still serve
 *   what the write replaced. So a write that returned through one server is seen by the next
 *   lookup through any server, as without the mirror.
 * - Leases bound the failure cases. A mirror answers only while its listening connection is up,
 *   its load is complete and it has heard its own sync notification (sent every quarter lease)
 *   within the last lease (2 s by default); otherwise lookups go to the database. A writer waits
 *   for the barrier's answers at most 1.1 leases + 100 ms from its commit, after which any mirror
 *   that did not answer has stopped serving by its own clock; such a mirror's connection is then
 *   ended (`pg_terminate_backend`, where the role may) so that later writes do not wait for it,
 *   and it reconnects and reloads by itself. A writer that has no listening connection waits the
 *   same time instead of collecting answers.
 *
 * Memory: the mirror holds the whole namespace (names, URIs and tags, plus a marker per changed
 * name not looked up since); past `maxNames` names it is dropped and lookups go to the database.
 *
 * @example
 * ```ts ignore
 * import { PostgresStorage } from "./postgres.ts";
 * const storage = new PostgresStorage("postgresql://pyro@127.0.0.1:5432/pyro");
 * await storage.open(); // connects, listens, then loads the mirror in the background
 * console.log(storage.lookup("demo.a")); // answered from memory once the mirror is loaded
 * await storage.close();
 * ```
 *
 * @module
 */

import type { Sql } from "npm:postgres@4.2.0";
import type { StoredEntry } from "./storage.ts";

/** The channel of changes and barriers. */
export const CHANGES_CHANNEL = "pyro_ns";

/** Sessions of serving mirrors are named with this prefix and their id. */
const MEMBER_PREFIX = "pyro-ns-mirror ";

/** What a mirror needs from its storage. */
export interface MirrorHost {
  /**
   * A client of one connection, named `name` (`application_name`), that reports notifications
   * and its connection's end.
   */
  connect(
    name: string,
    events: { onnotify(channel: string, payload: string): void; onclose(): void },
  ): Promise<Sql>;
  /** The storage's connection pool (loads and terminations). */
  pool(): Promise<Sql>;
}

/** Options of a {@linkcode PostgresMirror}. Times are milliseconds. */
export interface MirrorOptions {
  /** Hold the namespace and answer lookups (false: only wait for other mirrors after writes). */
  serve: boolean;
  /** How long a mirror trusts itself after its last sync came back. */
  lease: number;
  /** The most names held; a bigger namespace is served by the database. */
  maxNames: number;
}

/** A name changed since the mirror last read it. Each change gets a marker of its own. */
class Unknown {}

/** What {@linkcode PostgresMirror.get} answers when the database must be asked. */
export const MISS: unique symbol = Symbol("ask the database");

interface Barrier {
  seq: number;
  /** The members still to answer (id → backend pid), once listed. */
  members: Map<string, number> | null;
  done: () => void;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One Name Server's mirror of the namespace (see the module doc for how it stays correct).
 *
 * @example
 * ```ts ignore
 * const mirror = new PostgresMirror(host, { serve: true, lease: 2000, maxNames: 1_000_000 });
 * await mirror.start();
 * const hit = mirror.get("demo.a"); // an entry, undefined (not registered) or MISS
 * ```
 */
export class PostgresMirror {
  /** This mirror's id (in its session name and its own channel). */
  readonly id: string = randomId();
  #host: MirrorHost;
  #options: MirrorOptions;
  #own: string;
  #sql: Sql | null = null; // the listening connection, once it listens
  #closed = false;
  #connecting: Promise<void> | null = null;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #syncTimer: ReturnType<typeof setInterval> | undefined;
  #syncs = new Map<number, number>();
  #syncSeq = 0;
  #map: Map<string, StoredEntry | Unknown> | null = null;
  #validUntil = 0;
  #loading: Map<string, StoredEntry | Unknown> | null = null;
  #reloadAgain = false;
  #generation = 0;
  #barriers = new Map<number, Barrier>();
  #barrierSeq = 0;
  #sending: Promise<void> | null = null;
  #next: Promise<void> | null = null;
  /** The highest barrier of ours each member has answered (answers cover every earlier one). */
  #answered = new Map<string, number>();
  /** The highest barrier of each writer this mirror is to answer (sent once per turn). */
  #toAnswer = new Map<string, number>();
  #loaded: (() => void)[] = [];
  /** Members whose connections were ended for not answering a barrier in time. */
  ended = 0;

  /** A mirror for `host`; nothing happens until {@linkcode PostgresMirror.start}. */
  constructor(host: MirrorHost, options: MirrorOptions) {
    this.#host = host;
    this.#options = options;
    this.#own = `${CHANGES_CHANNEL}_${this.id}`;
  }

  /**
   * Connects and listens (resolves then, or rejects when that fails, and tries again by itself);
   * loading goes on after.
   */
  start(): Promise<void> {
    return this.#connect().catch((e) => {
      if (!this.#closed) this.#scheduleRetry(500);
      throw e;
    });
  }

  /**
   * Resolves once the mirror serves (loaded and synced), or the mirror is closed; for tests and
   * benchmarks (it waits on while the namespace is bigger than `maxNames`).
   */
  serving(): Promise<void> {
    if (this.#serving()) return Promise.resolve();
    return new Promise((resolve) => this.#loaded.push(resolve));
  }

  #serving(): boolean {
    return this.#map !== null && performance.now() < this.#validUntil;
  }

  /**
   * A name's registration from memory: the entry, `undefined` when the name is not registered,
   * or {@linkcode MISS} when the database must answer (the mirror is not serving, or the name
   * changed since it was read).
   */
  get(name: string): StoredEntry | undefined | typeof MISS {
    const map = this.#map;
    if (map === null || performance.now() >= this.#validUntil) return MISS;
    const value = map.get(name);
    return value instanceof Unknown ? MISS : value;
  }

  /** The marker to hand to {@linkcode PostgresMirror.fill} with what the database says. */
  mark(name: string): object | null {
    const value = this.#map?.get(name);
    return value instanceof Unknown ? value : null;
  }

  /** Keeps a row read from the database, unless the name changed again meanwhile. */
  fill(name: string, mark: object | null, entry: StoredEntry | undefined): void {
    if (mark === null || this.#map?.get(name) !== mark) return;
    if (entry) this.#map.set(name, entry);
    else this.#map.delete(name);
  }

  #connect(): Promise<void> {
    this.#connecting ??= this.#listen().finally(() => this.#connecting = null);
    return this.#connecting;
  }

  async #listen(): Promise<void> {
    const generation = ++this.#generation;
    const sql = await this.#host.connect(`pyro-ns-joining ${this.id}`, {
      onnotify: (channel, payload) => {
        if (generation === this.#generation) this.#notified(channel, payload);
      },
      onclose: () => {
        if (generation === this.#generation) this.#lost();
      },
    });
    try {
      // Named as a member only once listening: writers wait for members' answers.
      const name = this.#options.serve ? MEMBER_PREFIX + this.id : `pyro-ns-writer ${this.id}`;
      await sql.unsafe(
        `LISTEN ${CHANGES_CHANNEL}; LISTEN ${this.#own}; SET application_name = '${name}'`,
      );
    } catch (e) {
      await sql.end({ timeout: 0 }).catch(() => {});
      throw e;
    }
    if (generation !== this.#generation || this.#closed) {
      await sql.end({ timeout: 0 }).catch(() => {});
      return;
    }
    this.#sql = sql;
    if (this.#options.serve) {
      this.#syncTimer = setInterval(() => this.#sync(), Math.max(10, this.#options.lease / 4));
      this.#reload();
    }
  }

  /** The listening connection is gone: stop serving, answer waiting writers' timers, retry. */
  #lost(): void {
    this.#generation++;
    const sql = this.#sql;
    this.#sql = null;
    this.#drop();
    clearInterval(this.#syncTimer);
    sql?.end({ timeout: 0 }).catch(() => {});
    if (this.#closed) return;
    this.#scheduleRetry(200);
  }

  #scheduleRetry(ms: number): void {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#connect().catch(() => {
        if (!this.#closed) this.#scheduleRetry(Math.min(ms * 2, 2000));
      });
    }, ms);
  }

  #drop(): void {
    this.#map = null;
    this.#loading = null;
    this.#validUntil = 0;
    this.#syncs.clear();
  }

  /** Loads the whole namespace (again); lookups go to the database until it is done. */
  #reload(): void {
    if (this.#loading !== null) {
      this.#reloadAgain = true;
      return;
    }
    this.#map = null;
    this.#validUntil = 0;
    const generation = this.#generation;
    const loading = new Map<string, StoredEntry | Unknown>();
    const changed = new Map<string, StoredEntry | Unknown>();
    this.#loading = changed;
    let tooMany = false;
    const load = async () => {
      const sql = await this.#host.pool();
      await sql<{ name: string; uri: string; tags: string[] }[]>`
        SELECT name, uri, tags FROM pyro_ns_names`.cursor(5000, (rows) => {
        for (const row of rows) loading.set(row.name, { uri: row.uri, metadata: row.tags });
        if (loading.size > this.#options.maxNames) {
          tooMany = true;
          return sql.CLOSE;
        }
      });
    };
    load().then(
      () => {
        if (generation !== this.#generation || this.#loading !== changed) return;
        this.#loading = null;
        if (this.#reloadAgain) {
          this.#reloadAgain = false;
          return this.#reload();
        }
        if (tooMany) return; // served by the database; the next `*` or reconnect tries again
        for (const [name, marker] of changed) loading.set(name, marker);
        this.#map = loading;
        this.#sync();
      },
      () => {
        if (generation !== this.#generation || this.#loading !== changed) return;
        this.#loading = null;
        this.#reloadAgain = false;
        // Retry after a pause, as long as the listening connection is the same.
        setTimeout(() => {
          if (generation === this.#generation && !this.#closed && this.#map === null) {
            this.#reload();
          }
        }, 500);
      },
    );
  }

  /** Sends a sync to ourselves; when it comes back, everything committed before it was heard. */
  #sync(): void {
    const sql = this.#sql;
    if (sql === null || this.#map === null) return;
    const seq = ++this.#syncSeq;
    this.#syncs.set(seq, performance.now());
    sql`SELECT pg_notify(${this.#own}, ${`s ${seq}`})`.catch(() => {});
  }

  #notified(channel: string, payload: string): void {
    if (channel === CHANGES_CHANNEL) {
      const first = payload.charCodeAt(0);
      if (first === 0x5b /* [ */) {
        let names: unknown;
        try {
          names = JSON.parse(payload);
        } catch {
          return this.#reload();
        }
        if (!Array.isArray(names)) return this.#reload();
        for (const name of names) this.#changed(String(name));
      } else if (first === 0x62 /* b */) {
        const [, writer, text] = payload.split(" ");
        const seq = Number(text);
        if (!this.#options.serve || !writer || !/^[0-9a-f]{16}$/.test(writer) || !(seq > 0)) {
          return;
        }
        // Everything committed before the barrier has been heard: our own is answered here,
        // others' once per turn, the highest of each writer (it covers the earlier ones).
        if (writer === this.id) return this.#answer(this.id, seq);
        if (this.#toAnswer.size === 0) queueMicrotask(() => this.#sendAnswers());
        this.#toAnswer.set(writer, Math.max(seq, this.#toAnswer.get(writer) ?? 0));
      } else if (this.#options.serve) {
        this.#reload(); // `*`, or anything this code does not know: read everything again
      }
      return;
    }
    if (channel !== this.#own) return;
    const [kind, a, b] = payload.split(" ");
    if (kind === "s") {
      const sentAt = this.#syncs.get(Number(a));
      if (sentAt === undefined) return;
      for (const seq of this.#syncs.keys()) {
        if (seq <= Number(a)) this.#syncs.delete(seq);
      }
      if (this.#map === null) return;
      this.#validUntil = Math.max(this.#validUntil, sentAt + this.#options.lease);
      if (this.#loaded.length > 0) { for (const resolve of this.#loaded.splice(0)) resolve(); }
    } else if (kind === "a" && a && b) {
      this.#answer(a, Number(b));
    }
  }

  /** Member `id` has answered our barriers up to `seq`. */
  #answer(id: string, seq: number): void {
    if (!(seq > (this.#answered.get(id) ?? 0))) return;
    this.#answered.set(id, seq);
    for (const barrier of this.#barriers.values()) {
      if (barrier.seq > seq || barrier.members === null || !barrier.members.delete(id)) continue;
      if (barrier.members.size === 0) barrier.done();
    }
  }

  #sendAnswers(): void {
    const sql = this.#sql;
    const channels: string[] = [], payloads: string[] = [];
    for (const [writer, seq] of this.#toAnswer) {
      channels.push(`${CHANGES_CHANNEL}_${writer}`);
      payloads.push(`a ${this.id} ${seq}`);
    }
    this.#toAnswer.clear();
    if (sql === null) return;
    sql`SELECT pg_notify(c, p) FROM unnest(${channels}::text[], ${payloads}::text[]) AS t(c, p)`
      .catch(() => {});
  }

  #changed(name: string): void {
    if (this.#loading !== null) this.#loading.set(name, new Unknown());
    const map = this.#map;
    if (map === null) return;
    map.set(name, new Unknown());
    if (map.size > this.#options.maxNames * 1.25) this.#reload(); // drop the markers
  }

  /**
   * Waits, after a committed write, until every serving mirror on the database has heard of it
   * or stopped serving (see the module doc).
   */
  settle(): Promise<void> {
    if (this.#sql === null) return this.#until(performance.now() + this.#grace());
    if (this.#sending === null) return this.#barrier();
    // A barrier is on its way, maybe sent before our commit: share the next one with the
    // writers that come meanwhile (one barrier, and one answer per mirror, for all of them).
    this.#next ??= this.#sending.then(() => {
      this.#next = null;
      return this.#barrier();
    });
    return this.#next;
  }

  #grace(): number {
    return this.#options.lease * 1.1 + 100;
  }

  async #barrier(): Promise<void> {
    const sql = this.#sql;
    const deadline = performance.now() + this.#grace(); // every write it covers committed before
    if (sql === null) return await this.#until(deadline);
    const seq = ++this.#barrierSeq;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => done = resolve);
    const barrier: Barrier = { seq, members: null, done };
    this.#barriers.set(seq, barrier);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const query = sql<{ members: string[] }[]>`
      SELECT pg_notify(${CHANGES_CHANNEL}, ${`b ${this.id} ${seq}`})::text AS sent,
        ARRAY(SELECT application_name || ' ' || pid FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE ${`${MEMBER_PREFIX}%`})
        AS members`;
    const sending = query.then(() => {}, () => {});
    this.#sending = sending;
    sending.then(() => {
      if (this.#sending === sending) this.#sending = null;
    });
    try {
      let rows: { members: string[] }[];
      try {
        rows = await query;
      } catch {
        return await this.#until(deadline);
      }
      const members = new Map<string, number>();
      const listed = new Set<string>();
      for (const member of rows[0]?.members ?? []) {
        const [, id, pid] = member.split(" ");
        if (!id) continue;
        listed.add(id);
        if ((this.#answered.get(id) ?? 0) < seq) members.set(id, Number(pid));
      }
      for (const id of this.#answered.keys()) if (!listed.has(id)) this.#answered.delete(id);
      barrier.members = members;
      if (members.size === 0 || this.#closed) return;
      timer = setTimeout(done, Math.max(0, deadline - performance.now()));
      const generation = this.#generation;
      await finished;
      // Those that did not answer: cut them off, unless it is our own connection that dropped
      // (their answers could not reach us; the wait until the deadline covers them then).
      if (members.size > 0 && !this.#closed && generation === this.#generation) {
        await this.#end(members);
      }
    } finally {
      clearTimeout(timer);
      this.#barriers.delete(seq);
    }
  }

  /** Ends the connections of mirrors that did not answer in time (they reconnect and reload). */
  async #end(members: Map<string, number>): Promise<void> {
    const names = [...members.keys()].map((id) => MEMBER_PREFIX + id);
    const pids = [...members.values()];
    try {
      const sql = await this.#host.pool();
      const rows = await sql<{ ended: boolean }[]>`
        SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
        WHERE pid = ANY(${pids}::int[]) AND application_name = ANY(${names}::text[])`;
      this.ended += rows.filter((r) => r.ended).length;
    } catch { /* not allowed, or the database is away: later writes wait again */ }
  }

  #until(deadline: number): Promise<void> {
    const ms = deadline - performance.now();
    if (ms <= 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waits.delete(wake);
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waits.add(wake);
    });
  }

  #waits = new Set<() => void>();

  /** Stops listening; writers still waiting are let go. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#generation++;
    clearTimeout(this.#retry);
    clearInterval(this.#syncTimer);
    this.#drop();
    for (const barrier of this.#barriers.values()) barrier.done();
    for (const wake of this.#waits) wake();
    this.#waits.clear();
    for (const resolve of this.#loaded.splice(0)) resolve();
    const sql = this.#sql;
    this.#sql = null;
    await this.#connecting?.catch(() => {});
    await sql?.end({ timeout: 1 });
  }
}
