/**
 * A watchdog around a connection's byte stream for limits that the framing layer does not
 * know about: a sender that starts a frame must finish it within `frameTimeout` (slow senders,
 * "slowloris"), and a write to a peer that does not read must finish within `writeTimeout`.
 * On a violation the watchdog reports it once and closes the stream, which ends the
 * connection's pending read and write with an error.
 *
 * It follows frame boundaries by reading only the size fields of each 40-byte Pyro header
 * (data size at offset 12, annotations size at offset 16, both big-endian u32); it copies and
 * allocates nothing.
 *
 * @module
 */

import { HEADER_SIZE } from "./protocol.ts";
import type { AcceptedConn } from "./tls.ts";

/** The byte stream part of a connection. */
interface GuardedStream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** Limits of {@linkcode guardStream}, in milliseconds; 0 turns a limit off. */
export interface StreamGuardOptions {
  /** Time to finish receiving a frame once its first byte has arrived. */
  frameTimeout: number;
  /** Time for one write to complete. */
  writeTimeout: number;
  /** Called once, before the stream is closed, with a sentence saying what happened. */
  onViolation(reason: string): void;
}

/**
 * Wraps an accepted connection so that a frame left unfinished or a write left hanging closes
 * it. The result keeps the connection's `remoteAddr` and `peerCertificate`.
 *
 * @param conn The connection.
 * @param options The limits and the violation callback.
 * @returns The guarded connection (the same object when both limits are off).
 */
export function guardStream(conn: AcceptedConn, options: StreamGuardOptions): AcceptedConn {
  if (options.frameTimeout <= 0 && options.writeTimeout <= 0) return conn;
  const guard = new FrameWatch(conn, options);
  return {
    read: (p) => guard.read(p),
    write: (p) => guard.write(p),
    close: () => guard.close(),
    remoteAddr: conn.remoteAddr,
    peerCertificate: conn.peerCertificate ?? null,
  };
}

/** Watchdogs with a deadline pending; one shared interval checks them all. */
const watched = new Set<FrameWatch>();
let sweeper: ReturnType<typeof setInterval> | undefined;
let sweepPeriod = 0;

function sweep(): void {
  const now = Date.now();
  for (const w of watched) w.check(now);
}

function watch(w: FrameWatch, period: number): void {
  watched.add(w);
  if (sweeper !== undefined && period >= sweepPeriod) return;
  clearInterval(sweeper);
  sweepPeriod = period;
  sweeper = setInterval(sweep, period);
  Deno.unrefTimer(sweeper);
}

function unwatch(w: FrameWatch): void {
  if (!watched.delete(w) || watched.size > 0) return;
  clearInterval(sweeper);
  sweeper = undefined;
  sweepPeriod = 0;
}

/**
 * Frame tracking and deadlines of one connection. Deadlines are timestamps (no timer per frame
 * or per write); a shared interval, running only while some connection is watched, checks them
 * at a quarter of the shortest limit (5 ms to 1 s).
 */
class FrameWatch {
  readonly #stream: GuardedStream;
  readonly #options: StreamGuardOptions;
  /** Header bytes seen of the current frame (0..40). */
  #headerSeen = 0;
  readonly #sizes = new Uint8Array(8);
  /** Body bytes still to come of the current frame. */
  #bodyLeft = 0;
  /** When the current frame must be complete (0 = no frame in progress). */
  #frameDeadline = 0;
  /** When the current write must be complete (0 = none under way). */
  #writeDeadline = 0;
  #writeSize = 0;
  #violated = false;
  #closed = false;

  constructor(stream: GuardedStream, options: StreamGuardOptions) {
    this.#stream = stream;
    this.#options = options;
    const limits = [options.frameTimeout, options.writeTimeout].filter((t) => t > 0);
    watch(this, Math.min(1000, Math.max(5, Math.floor(Math.min(...limits) / 4))));
  }

  /** Called by the sweeper: reports an expired deadline. */
  check(now: number): void {
    if (this.#frameDeadline !== 0 && now >= this.#frameDeadline) {
      this.#violate(
        `a frame was not completed within ${this.#options.frameTimeout} ms (slow sender)`,
      );
    } else if (this.#writeDeadline !== 0 && now >= this.#writeDeadline) {
      this.#violate(
        `a write of ${this.#writeSize} bytes did not complete within ${this.#options.writeTimeout} ms`,
      );
    }
  }

  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#stream.read(p);
    if (n !== null && n > 0 && this.#options.frameTimeout > 0) this.#track(p, n);
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    const limit = this.#options.writeTimeout;
    if (limit <= 0) return await this.#stream.write(p);
    this.#writeSize = p.length;
    this.#writeDeadline = Date.now() + limit;
    try {
      return await this.#stream.write(p);
    } finally {
      this.#writeDeadline = 0;
    }
  }

  close(): void {
    if (!this.#closed) {
      this.#closed = true;
      unwatch(this);
    }
    this.#stream.close();
  }

  #violate(reason: string): void {
    if (this.#violated || this.#closed) return;
    this.#violated = true;
    try {
      this.#options.onViolation(reason);
    } finally {
      this.close();
    }
  }

  #track(p: Uint8Array, n: number): void {
    let i = 0;
    while (i < n) {
      if (this.#headerSeen === 0 && this.#bodyLeft === 0 && this.#frameDeadline === 0) {
        this.#frameDeadline = Date.now() + this.#options.frameTimeout;
      }
      if (this.#headerSeen < HEADER_SIZE) {
        const take = Math.min(HEADER_SIZE - this.#headerSeen, n - i);
        for (let k = 0; k < take; k++) {
          const pos = this.#headerSeen + k;
          if (pos >= 12 && pos < 20) this.#sizes[pos - 12] = p[i + k]!;
        }
        this.#headerSeen += take;
        i += take;
        if (this.#headerSeen === HEADER_SIZE) {
          const v = new DataView(this.#sizes.buffer);
          this.#bodyLeft = v.getUint32(0) + v.getUint32(4);
          if (this.#bodyLeft === 0) this.#frameDone();
        }
        continue;
      }
      const take = Math.min(this.#bodyLeft, n - i);
      this.#bodyLeft -= take;
      i += take;
      if (this.#bodyLeft === 0) this.#frameDone();
    }
  }

  #frameDone(): void {
    this.#headerSeen = 0;
    this.#bodyLeft = 0;
    this.#frameDeadline = 0;
  }
}
