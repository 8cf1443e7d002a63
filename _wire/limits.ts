/**
 * The shared sweeper behind the frame and write deadlines of message connections: a sender
 * that starts a frame must finish it within `frameTimeout` (slow senders, "slowloris"), and a
 * write to a peer that does not read must finish within `writeTimeout`.
 *
 * Connections keep their deadlines as timestamps (no timer per frame or per write); one
 * interval, running only while some connection is watched, checks them all at a quarter of
 * the shortest limit (5 ms to 1 s), and stops at a tick that finds none.
 *
 * @module
 */

/** Something with deadlines to check. */
export interface DeadlineHolder {
  /** Acts on any deadline that `now` (as `Date.now()`) has passed. */
  checkDeadlines(now: number): void;
  /** Its place among the watched holders, -1 when not watched (kept by this module). */
  deadlineSlot: number;
}

/**
 * The watched holders, each knowing its index: watching and unwatching are an array push and
 * a swap with the last one (a set whose entries come and go with every connection keeps
 * rehashing its table).
 */
const watched: DeadlineHolder[] = [];
let sweeper: ReturnType<typeof setInterval> | undefined;
let sweepPeriod = 0;

function sweep(): void {
  if (watched.length === 0) {
    // Stopped here rather than by the last unwatch: connections that come and go one at a
    // time then do not start and stop an interval each (the interval is unref'd).
    clearInterval(sweeper);
    sweeper = undefined;
    sweepPeriod = 0;
    return;
  }
  const now = Date.now();
  // Backwards: a holder that unwatches itself while checked swaps in one already checked.
  for (let i = watched.length - 1; i >= 0; i--) watched[i]?.checkDeadlines(now);
}

/**
 * Starts checking a holder's deadlines; `limit` is its shortest limit in ms.
 *
 * @example
 * ```ts
 * import { unwatchDeadlines, watchDeadlines } from "./limits.ts";
 * const holder = { checkDeadlines(_now: number) {}, deadlineSlot: -1 };
 * watchDeadlines(holder, 1000);
 * unwatchDeadlines(holder);
 * ```
 *
 * @param holder The holder.
 * @param limit Its shortest limit, in ms.
 */
export function watchDeadlines(holder: DeadlineHolder, limit: number): void {
  if (holder.deadlineSlot < 0) {
    holder.deadlineSlot = watched.length;
    watched.push(holder);
  }
  const period = Math.min(1000, Math.max(5, Math.floor(limit / 4)));
  if (sweeper !== undefined && period >= sweepPeriod) return;
  clearInterval(sweeper);
  sweepPeriod = period;
  sweeper = setInterval(sweep, period);
  (globalThis as { Deno?: typeof Deno }).Deno?.unrefTimer(sweeper); // absent in browsers
}

/**
 * Stops checking a holder's deadlines; the interval stops at its next tick after the last one.
 *
 * @example
 * ```ts
 * import { unwatchDeadlines } from "./limits.ts";
 * unwatchDeadlines({ checkDeadlines() {}, deadlineSlot: -1 }); // not watched: nothing happens
 * ```
 *
 * @param holder The holder.
 */
export function unwatchDeadlines(holder: DeadlineHolder): void {
  const slot = holder.deadlineSlot;
  if (slot < 0 || watched[slot] !== holder) return;
  const last = watched.pop()!;
  if (last !== holder) {
    watched[slot] = last;
    last.deadlineSlot = slot;
  }
  holder.deadlineSlot = -1;
}
