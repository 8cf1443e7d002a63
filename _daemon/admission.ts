/**
 * Which connections a daemon keeps when sockets run short: the connection limit (derived from
 * memory, not from Pyro5's thread pool), a per-address cap, a deadline for the Pyro handshake,
 * and eviction of the connections idle the longest when a newcomer arrives at a limit.
 *
 * An idle connection costs an async daemon about 22 KiB of process memory (measured by
 * `tests/attack_test.ts`, see the README's Security section), so refusing newcomers at a
 * few dozen connections, as a thread pool must, would only let a handful of silent sockets
 * lock everybody out. Instead, at a limit the daemon closes the connections that have waited
 * longest without doing anything: first those that never completed the handshake, then those
 * with no call in flight, no open item stream and no partly received frame, oldest activity
 * first. Only when every connection is busy is the newcomer refused, with Pyro5's
 * CONNECTFAIL. Evictions and refusals are logged once per interval with counts, not once per
 * connection.
 *
 * @module
 */

import { log } from "../log.ts";
import { connectionEvent, TELEMETRY } from "../_telemetry/mod.ts";

/** The process memory budgeted per connection when deriving the default limit (64 KiB). */
export const CONNECTION_BUDGET = 64 * 1024;
/** The share of the machine's memory that connections may take by default (1/8). */
const MEMORY_SHARE = 8;
/** File descriptors kept free for everything else when the limit follows the fd limit. */
const FD_RESERVE = 64;
/** The default when neither memory nor file descriptors can be read. */
const FALLBACK_LIMIT = 4096;
/** Bounds of the derived default. */
const MIN_LIMIT = 256;
const MAX_LIMIT = 100_000;

function systemMemory(): number | null {
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "systemMemoryInfo" }).state !== "granted") {
      return null;
    }
    return Deno.systemMemoryInfo().total;
  } catch {
    return null;
  }
}

function openFileLimit(): number | null {
  try {
    const path = "/proc/self/limits";
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return null;
    const line = Deno.readTextFileSync(path).split("\n").find((l) =>
      l.startsWith("Max open files")
    );
    const soft = Number(line?.slice("Max open files".length).trim().split(/\s+/)[0]);
    return Number.isFinite(soft) && soft > 0 ? soft : null;
  } catch {
    return null;
  }
}

/**
 * The default connection limit of a daemon: an eighth of the machine's memory at 64 KiB per
 * connection (about three times the measured cost, leaving room for kernel socket buffers),
 * no more than the process's open-file limit allows, between 256 and 100,000. Without
 * permission to read either figure: 4096.
 *
 * @example
 * ```ts
 * import { defaultMaxConnections } from "./admission.ts";
 * console.log(defaultMaxConnections() >= 256); // true
 * ```
 *
 * @returns The limit.
 */
export function defaultMaxConnections(): number {
  const memory = systemMemory();
  const files = openFileLimit();
  let limit = memory === null
    ? FALLBACK_LIMIT
    : Math.floor(memory / MEMORY_SHARE / CONNECTION_BUDGET);
  if (files !== null) limit = Math.min(limit, files - FD_RESERVE);
  return Math.max(MIN_LIMIT, Math.min(MAX_LIMIT, limit));
}

/**
 * Counts events of a kind and logs them at most once per interval: the first at once, the
 * rest as one line with their count when the interval is over (at the next event after it, or
 * from a timer).
 *
 * @example
 * ```ts
 * import { RateLog } from "./admission.ts";
 * const lines: string[] = [];
 * const rate = new RateLog(60_000, (text) => lines.push(text));
 * rate.note("refused", "connection refused");
 * rate.note("refused", "connection refused");
 * console.log(lines); // [ "connection refused" ]
 * rate.close(); // logs "connection refused (1 more in the last 60 s)"
 * ```
 */
export class RateLog {
  readonly #interval: number;
  readonly #emit: (text: string) => void;
  readonly #pending = new Map<string, { text: string; count: number }>();
  readonly #last = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param interval The interval, in ms.
   * @param emit Writes one line.
   */
  constructor(interval: number, emit: (text: string) => void) {
    this.#interval = interval;
    this.#emit = emit;
  }

  /**
   * Notes one event.
   *
   * @param kind Events of one kind are counted together.
   * @param text The line to log (the latest one is used for the summary).
   */
  note(kind: string, text: string): void {
    const now = Date.now();
    const last = this.#last.get(kind);
    if (last === undefined || now - last >= this.#interval) {
      this.#flushKind(kind);
      this.#last.set(kind, now);
      this.#emit(text);
      return;
    }
    const pending = this.#pending.get(kind);
    if (pending !== undefined) {
      pending.count++;
      pending.text = text;
    } else {
      this.#pending.set(kind, { text, count: 1 });
    }
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, this.#interval);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Logs the counted events now. */
  flush(): void {
    for (const kind of [...this.#pending.keys()]) this.#flushKind(kind);
  }

  /** Logs the counted events and stops the timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.flush();
  }

  #flushKind(kind: string): void {
    const pending = this.#pending.get(kind);
    if (pending === undefined) return;
    this.#pending.delete(kind);
    this.#last.set(kind, Date.now());
    const seconds = Math.round(this.#interval / 1000);
    this.#emit(`${pending.text} (${pending.count} more in the last ${seconds} s)`);
  }
}

/** What admission needs to know about a connection. */
export interface Admitted {
  /** Calls whose replies are not written yet. */
  readonly callsInFlight: number;
  /** True once the Pyro handshake has completed. */
  readonly handshaken: boolean;
  /** True while part of a request frame is received but not all of it. */
  readonly receivingFrame: boolean;
  /** When the last call completed (or the connection was made), on any increasing scale. */
  readonly lastActive: number;
  /** The connection id (owner of item streams). */
  readonly id: number;
  /** Closes the connection. */
  close(): void;
}

/** Limits of {@linkcode Admission}. */
export interface AdmissionLimits {
  /** Most connections at once. */
  maxConnections: number;
  /** Most connections from one IP address at once. */
  maxPerAddress: number;
  /** Time allowed for the handshake, in ms (0 = none). */
  handshakeTimeout: number;
}

/** The decision on a newcomer: admitted (maybe after evictions), or refused with a reason. */
export type Verdict = { admit: true } | { admit: false; reason: string };

const ADMITTED: Verdict = { admit: true };

/** Addresses whose count may stay in the map at zero. */
const IDLE_ADDRESSES = 16;

/** What admission keeps per connection. */
interface Tracked {
  /** The IP address, or null. */
  readonly host: string | null;
  /** When the handshake must be done (as `Date.now()`), or 0 once none applies. */
  deadline: number;
}

/** Connections evicted at once when the daemon-wide limit is reached (amortises the scan). */
function evictionBatch(limit: number): number {
  return Math.max(1, Math.min(64, Math.floor(limit / 100)));
}

/**
 * The connection bookkeeping of one daemon: who is connected from where, who has not
 * completed the handshake yet, and whom to close to make room.
 *
 * @example
 * ```ts
 * import { Admission } from "./admission.ts";
 * const admission = new Admission(
 *   { maxConnections: 1, maxPerAddress: 1, handshakeTimeout: 0 },
 *   () => new Set(),
 * );
 * const idle = { callsInFlight: 0, handshaken: true, receivingFrame: false, lastActive: 0, id: 1, close() { console.log("evicted"); } };
 * console.log(admission.admit("127.0.0.1").admit); // true
 * admission.add(idle, "127.0.0.1");
 * console.log(admission.admit("127.0.0.1").admit); // evicted, then true
 * admission.close();
 * ```
 */
export class Admission {
  readonly #limits: AdmissionLimits;
  readonly #streamOwners: () => ReadonlySet<number>;
  /** Every tracked connection, in arrival order, with its address and handshake deadline. */
  readonly #all = new Map<Admitted, Tracked>();
  /** Connections per IP address. */
  readonly #perAddress = new Map<string, number>();
  readonly #rateLog = new RateLog(10_000, (text) => log.warn(text));
  readonly #label: string;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  /**
   * @param limits The limits.
   * @param streamOwners Gives the ids of connections that hold open item streams.
   * @param label What the log lines name as the server, e.g. `"gateway"`.
   */
  constructor(
    limits: AdmissionLimits,
    streamOwners: () => ReadonlySet<number>,
    label = "daemon",
  ) {
    this.#limits = limits;
    this.#streamOwners = streamOwners;
    this.#label = label;
  }

  /** The limits in force. */
  get limits(): Readonly<AdmissionLimits> {
    return this.#limits;
  }

  /**
   * Decides on a newcomer from `host`, closing idle connections first when a limit is reached.
   *
   * @param host The newcomer's IP address, or null (Unix socket).
   * @returns The verdict.
   */
  admit(host: string | null): Verdict {
    const limits = this.#limits;
    const mine = host === null ? 0 : this.#perAddress.get(host) ?? 0;
    if (mine >= limits.maxPerAddress) {
      const evicted = this.#evict(this.#from(host), 1);
      if (evicted === 0) {
        this.#rateLog.note(
          "address",
          `${this.#label}: refusing a connection from ${host}: its ${mine} connections (the per-address cap) are all busy`,
        );
        return { admit: false, reason: "too many connections from this address" };
      }
      this.#rateLog.note(
        "address-evict",
        `${this.#label}: per-address cap (${limits.maxPerAddress}) reached by ${host}: closed its connection idle the longest`,
      );
    }
    if (this.#all.size >= limits.maxConnections) {
      const want = this.#all.size - limits.maxConnections + evictionBatch(limits.maxConnections);
      const evicted = this.#evict(this.#all.keys(), want);
      if (evicted === 0 || this.#all.size >= limits.maxConnections) {
        this.#rateLog.note(
          "limit",
          `${this.#label}: connection limit (${limits.maxConnections}) reached and every connection is busy: refusing newcomers`,
        );
        return { admit: false, reason: "no free workers, increase server threadpool size" };
      }
      this.#rateLog.note(
        "evict",
        `${this.#label}: connection limit (${limits.maxConnections}) reached: closed ${evicted} connections idle the longest`,
      );
    }
    return ADMITTED;
  }

  /**
   * Starts tracking an admitted connection.
   *
   * @param c The connection.
   * @param host Its IP address, or null.
   */
  add(c: Admitted, host: string | null): void {
    const timeout = this.#limits.handshakeTimeout;
    this.#all.set(c, { host, deadline: timeout > 0 ? Date.now() + timeout : 0 });
    if (host !== null) this.#perAddress.set(host, (this.#perAddress.get(host) ?? 0) + 1);
    if (timeout > 0 && this.#sweeper === undefined) {
      this.#sweeper = setInterval(this.#sweep, Math.min(1000, Math.max(5, timeout / 4)));
      Deno.unrefTimer(this.#sweeper);
    }
  }

  /**
   * Stops tracking a connection that has ended (again: nothing happens).
   *
   * @param c The connection.
   */
  remove(c: Admitted): void {
    const tracked = this.#all.get(c);
    if (tracked === undefined) return;
    this.#all.delete(c);
    const host = tracked.host;
    if (host !== null) {
      const perAddress = this.#perAddress;
      const left = perAddress.get(host)! - 1;
      // A few addresses keep their entry at zero: a client that connects again and again does
      // not add and delete a map entry each time (churn makes the map rehash).
      if (left > 0 || perAddress.size <= IDLE_ADDRESSES) perAddress.set(host, left);
      else perAddress.delete(host);
    }
    // The sweeper stops at its next tick when nothing is left to watch, not here: connections
    // that come and go one at a time do not start and stop an interval each.
  }

  /** The connections from one address (for eviction at the per-address cap). */
  *#from(host: string | null): Iterable<Admitted> {
    for (const [c, tracked] of this.#all) if (tracked.host === host) yield c;
  }

  /**
   * Closes up to `count` idle connections to free file descriptors (when accepting failed).
   *
   * @param count How many.
   * @returns How many were closed.
   */
  relieve(count: number): number {
    return this.#evict(this.#all.keys(), count);
  }

  /** Stops the sweeper and logs what was counted. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#rateLog.close();
  }

  /**
   * Closes the connections past their handshake deadline. It looks at every connection (no
   * bookkeeping per handshake on the way in and out), at most 4 times per deadline and once a
   * second, and stops when there are none.
   */
  #sweep = (): void => {
    if (this.#all.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      return;
    }
    const now = Date.now();
    let expired = 0;
    for (const [c, tracked] of this.#all) {
      if (tracked.deadline === 0 || c.handshaken) continue;
      if (tracked.deadline > now) break; // deadlines are in arrival order
      tracked.deadline = 0;
      c.close();
      expired++;
    }
    if (expired > 0) {
      this.#rateLog.note(
        "handshake",
        `${this.#label}: closed ${expired} connections that did not complete the handshake within ${this.#limits.handshakeTimeout} ms`,
      );
    }
  };

  /**
   * Closes up to `count` of the given connections: those without a completed handshake first
   * (oldest first), then idle ones, idle the longest first. Busy connections are kept.
   */
  #evict(pool: Iterable<Admitted>, count: number): number {
    const owners = this.#streamOwners();
    // The `count` best candidates, kept sorted: unshaken first, then by last activity.
    const picked: Admitted[] = [];
    const rank = (c: Admitted) => (c.handshaken ? c.lastActive : c.lastActive - 1e12);
    for (const c of pool) {
      if (c.handshaken && (c.callsInFlight > 0 || c.receivingFrame || owners.has(c.id))) continue;
      const r = rank(c);
      if (picked.length === count && r >= rank(picked[count - 1]!)) continue;
      let i = picked.length === count ? count - 1 : picked.length;
      while (i > 0 && rank(picked[i - 1]!) > r) {
        picked[i] = picked[i - 1]!;
        i--;
      }
      picked[i] = c;
    }
    for (const c of picked) {
      this.remove(c);
      c.close();
    }
    if (TELEMETRY) connectionEvent("evicted", picked.length);
    return picked.length;
  }
}
