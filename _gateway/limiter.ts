/**
 * A counting semaphore with a bounded queue: at most `limit` holders, at most `queue` waiters;
 * past that, {@linkcode Limiter.acquire} answers null at once (the caller sends 503).
 *
 * @module
 */

/** Bounds how many calls run at once. */
export class Limiter {
  readonly #limit: number;
  readonly #queueLimit: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number, queueLimit: number) {
    this.#limit = Math.max(1, limit);
    this.#queueLimit = Math.max(0, queueLimit);
  }

  /** Calls in progress. */
  get active(): number {
    return this.#active;
  }

  /**
   * Waits for a free place; resolves to the function that gives it back, or to null when the
   * queue is full or `signal` aborts first.
   */
  async acquire(signal?: AbortSignal): Promise<(() => void) | null> {
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
