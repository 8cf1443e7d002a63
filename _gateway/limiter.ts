/**
 * A counting semaphore with a bounded queue: at most `limit` holders, at most `queue` waiters,
 * and at most `perHost` holders and waiters together from one client address; past that,
 * {@linkcode Limiter.acquire} answers null at once (the caller sends 503).
 *
 * @module
 */

/** Bounds how many calls run at once. */
export class Limiter {
  readonly #limit: number;
  readonly #queueLimit: number;
  readonly #perHost: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];
  /** Holders and waiters by client address. */
  readonly #hosts = new Map<string, number>();

  constructor(limit: number, queueLimit: number, perHost = Infinity) {
    this.#limit = Math.max(1, limit);
    this.#queueLimit = Math.max(0, queueLimit);
    this.#perHost = Math.max(1, perHost);
  }

  /** Calls in progress. */
  get active(): number {
    return this.#active;
  }

  /**
   * Waits for a free place; resolves to the function that gives it back, or to null when the
   * queue is full, the client at `host` holds its share already, or `signal` aborts first.
   */
  async acquire(signal?: AbortSignal, host: string | null = null): Promise<(() => void) | null> {
    if (host !== null) {
      const mine = this.#hosts.get(host) ?? 0;
      if (mine >= this.#perHost) return null;
      this.#hosts.set(host, mine + 1);
    }
    const release = await this.#acquire(signal);
    if (host === null) return release;
    const leave = () => {
      const left = (this.#hosts.get(host) ?? 1) - 1;
      if (left > 0) this.#hosts.set(host, left);
      else this.#hosts.delete(host);
    };
    if (release === null) {
      leave();
      return null;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      leave();
      release();
    };
  }

  async #acquire(signal?: AbortSignal): Promise<(() => void) | null> {
    if (this.#active < this.#limit) {
      this.#active++;
      return this.#releaser();
    }
    if (this.#waiting.length >= this.#queueLimit || signal?.aborted) return null;
    const granted = await new Promise<boolean>((resolve) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(wake);
        if (i >= 0) this.#waiting.splice(i, 1);
        resolve(false);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(wake);
    });
    return granted ? this.#releaser() : null;
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiting.shift();
      if (next !== undefined) next(); // the place passes on directly
      else this.#active--;
    };
  }
}
