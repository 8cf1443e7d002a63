/**
 * Item streams on the client: a remote call that returned an iterator or generator gives a
 * {@linkcode RemoteStream}, an `AsyncIterableIterator` whose `next()` asks the daemon for the
 * next item (`Pyro.Daemon.get_next_stream_item`) on the proxy's connection. Leaving a
 * `for await` loop early sends `close_stream` (oneway), so the server drops the iterator.
 *
 * @example Reading a stream
 * ```ts
 * import { Daemon } from "../daemon.ts";
 * import { expose } from "../expose.ts";
 * import { createProxy } from "../proxy.ts";
 *
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(
 *   expose({
 *     *count(n: number) {
 *       for (let i = 0; i < n; i++) yield i;
 *     },
 *   }),
 *   "counter",
 * );
 * await using p = createProxy<{ count(n: number): Generator<number> }>(uri);
 * for await (const item of await p.count(3)) console.log(item); // 0 1 2
 * for await (const item of await p.count(1000)) if (item === 1) break; // closes it remotely
 * ```
 *
 * @module
 */

import { RemoteError } from "../errors.ts";

/** What a stream needs from its proxy (implemented by the proxy core). */
export interface StreamHost {
  /** Fetches the next item; rejects with the StopIteration RemoteError at the end. */
  streamNext(streamId: string): Promise<unknown>;
  /** Tells the daemon to drop the stream (oneway); never rejects. */
  streamClose(streamId: string): Promise<void>;
}

function isStopIteration(error: unknown): boolean {
  return error instanceof RemoteError &&
    (error.remoteClass === "builtins.StopIteration" || error.remoteClass === "StopIteration" ||
      error.remoteClass === "builtins.StopAsyncIteration");
}

/**
 * A remote item stream. Iterate it with `for await`; `break` (or {@linkcode RemoteStream.close})
 * closes it on the server. Each item is fetched on demand, one call per item.
 *
 * @typeParam T The item type.
 *
 * @example
 * ```ts
 * import { Daemon } from "../daemon.ts";
 * import { expose } from "../expose.ts";
 * import { createProxy, type RemoteStream } from "../proxy.ts";
 *
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uri = daemon.register(
 *   expose({
 *     *gen(n: number) {
 *       for (let i = 0; i < n; i++) yield i;
 *     },
 *   }),
 *   "thing",
 * );
 * await using p = createProxy<{ gen(n: number): Generator<number> }>(uri);
 * const stream: RemoteStream<number> = await p.gen(10);
 * console.log((await stream.next()).value); // 0
 * await stream.close();
 * ```
 */
export class RemoteStream<T = unknown> implements AsyncIterableIterator<T> {
  /** The stream id the daemon gave (annotation `STRM`). */
  readonly streamId: string;
  #host: StreamHost;
  #done = false;

  /**
   * Wraps a stream id; made by the proxy, not by users.
   *
   * @param host The proxy core that fetches items.
   * @param streamId The daemon's stream id.
   */
  constructor(host: StreamHost, streamId: string) {
    this.#host = host;
    this.streamId = streamId;
  }

  /** True once the stream ended, failed or was closed. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Fetches the next item.
   *
   * @returns The next item, or `done` at the end of the stream.
   * @throws {ConnectionClosedError} When the proxy was released meanwhile.
   */
  async next(): Promise<IteratorResult<T, undefined>> {
    if (this.#done) return { done: true, value: undefined };
    try {
      const value = await this.#host.streamNext(this.streamId);
      return { done: false, value: value as T };
    } catch (error) {
      this.#done = true;
      if (isStopIteration(error)) return { done: true, value: undefined };
      throw error;
    }
  }

  /**
   * Ends the iteration early and closes the stream on the server (called by `break`).
   *
   * @returns `done`.
   */
  async return(): Promise<IteratorResult<T, undefined>> {
    if (!this.#done) {
      this.#done = true;
      await this.#host.streamClose(this.streamId);
    }
    return { done: true, value: undefined };
  }

  /**
   * Closes the stream on the server if it is still open.
   */
  async close(): Promise<void> {
    await this.return();
  }

  /** Returns the stream itself. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Closes the stream (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
