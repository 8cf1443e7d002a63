/**
 * The shared sweeper behind the frame and write deadlines of message connections: a sender
 * that starts a frame must finish it within `frameTimeout` (slow senders, "slowloris"), and a
 * write to a peer that does not read must finish within `writeTimeout`.
 *
 * Connections keep their deadlines as timestamps (no timer per frame or per write); one
 * interval, running only while some connection is watched, checks them all at a quarter of
 * the shortest limit (5 ms to 1 s).
 *
 * @module
 */

/** Something with deadlines to check. */
export interface DeadlineHolder {
  /** Acts on any deadline that `now` (as `Date.now()`) has passed. */
  checkDeadlines(now: number): void;
}

const watched = new Set<DeadlineHolder>();
let sweeper: ReturnType<typeof setInterval> | undefined;
let sweepPeriod = 0;

function sweep(): void {
  const now = Date.now();
  for (const w of watched) w.checkDeadlines(now);
}

/**
 * Starts checking a holder's deadlines; `limit` is its shortest limit in ms.
 *
 * @example
 * ```ts
 * import { unwatchDeadlines, watchDeadlines } from "./limits.ts";
 * const holder = { checkDeadlines(_now: number) {} };
 * watchDeadlines(holder, 1000);
 * unwatchDeadlines(holder);
 * ```
 *
 * @param holder The holder.
 * @param limit Its shortest limit, in ms.
 */
export function watchDeadlines(holder: DeadlineHolder, limit: number): void {
  watched.add(holder);
  const period = Math.min(1000, Math.max(5, Math.floor(limit / 4)));
  if (sweeper !== undefined && period >= sweepPeriod) return;
  clearInterval(sweeper);
  sweepPeriod = period;
  sweeper = setInterval(sweep, period);
  (globalThis as { Deno?: typeof Deno }).Deno?.unrefTimer(sweeper); // absent in browsers
}

/**
 * Stops checking a holder's deadlines; the interval stops with the last one.
 *
 * @example
 * ```ts
 * import { unwatchDeadlines } from "./limits.ts";
 * unwatchDeadlines({ checkDeadlines() {} }); // not watched: nothing happens
 * ```
 *
 * @param holder The holder.
 */
export function unwatchDeadlines(holder: DeadlineHolder): void {
  if (!watched.delete(holder) || watched.size > 0) return;
  clearInterval(sweeper);
  sweeper = undefined;
  sweepPeriod = 0;
}
