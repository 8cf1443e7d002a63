/**
 * Item streams of a daemon (Pyro5's `streaming_responses`): iterator, generator and async
 * iterable results kept under a random id, consumed with `Pyro.Daemon.get_next_stream_item`,
 * closed by `close_stream`, by the end of the iteration, after their lifetime, or when their
 * client has been gone longer than the linger time. Timers are unref'd, so they never keep a
 * process alive, and {@linkcode StreamRegistry.closeAll} cancels them.
 *
 * @module
 */

import { PyroError, RemoteError } from "../errors.ts";
import { log } from "../log.ts";
import { startServerStream, type StreamSpan, TELEMETRY } from "../_telemetry/mod.ts";

/** The iterator protocol used for both sync and async iterators. */
interface AnyIterator {
  next(): IteratorResult<unknown> | Promise<IteratorResult<unknown>>;
  return?(value?: unknown): unknown;
}

/**
 * Tells whether a call result is streamed: an iterator (a `next` method and
 * `Symbol.iterator`, such as a generator), an async iterator or any async iterable. Arrays,
 * strings, Maps and Sets are iterable but not iterators, and travel as values.
 *
 * @param value A call result.
 * @returns True when the result becomes an item stream.
 */
export function isStreamable(value: unknown): value is object {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<PropertyKey, unknown>;
  if (typeof v[Symbol.asyncIterator] === "function") return true;
  return typeof v.next === "function" && typeof v[Symbol.iterator] === "function";
}

function toIterator(value: object): AnyIterator {
  const v = value as Record<PropertyKey, unknown>;
  if (typeof v[Symbol.asyncIterator] === "function") {
    return (v[Symbol.asyncIterator] as () => AnyIterator).call(value);
  }
  return value as AnyIterator;
}

type Timer = ReturnType<typeof setTimeout>;

interface Stream {
  iterator: AnyIterator;
  owner: number | null;
  lifetimeTimer: Timer | undefined;
  lingerTimer: Timer | undefined;
  /** The stream's span while telemetry is on. */
  span: StreamSpan | null;
}

/** Options of a {@linkcode StreamRegistry}, in milliseconds (0 = unlimited / drop at once). */
export interface StreamOptions {
  /** Maximum age of a stream. */
  lifetime: number;
  /** How long a stream survives its client's disconnect. */
  linger: number;
  /** Most open streams per connection; 0 = unlimited. */
  maxPerOwner: number;
}

/** The streams of one daemon. */
export class StreamRegistry {
  readonly #streams = new Map<string, Stream>();
  readonly #options: StreamOptions;
  #closed = false;

  /** Makes an empty registry. */
  constructor(options: StreamOptions) {
    this.#options = options;
  }

  /** Number of open streams. */
  get size(): number {
    return this.#streams.size;
  }

  /**
   * Stores a streamable result and returns its new id.
   *
   * @param value The result (see {@linkcode isStreamable}).
   * @param owner The id of the connection that made it.
   * @returns The stream id (UUID text).
   */
  create(value: object, owner: number): string {
    if (this.#closed) throw new PyroError("cannot stream: the daemon is closing");
    const max = this.#options.maxPerOwner;
    if (max > 0 && this.#countOf(owner) >= max) {
      log.warn(
        `daemon: connection ${owner} reached its limit of ${max} open item streams (maxStreamsPerConnection)`,
      );
      throw new PyroError(`too many open item streams (max ${max} per connection)`);
    }
    const id = crypto.randomUUID();
    const stream: Stream = {
      iterator: toIterator(value),
      owner,
      lifetimeTimer: undefined,
      lingerTimer: undefined,
      span: TELEMETRY ? startServerStream(id) : null,
    };
    if (this.#options.lifetime > 0) {
      const timer = setTimeout(() => {
        log.debug(`daemon: item stream ${id} reached its lifetime`);
        this.close(id);
      }, this.#options.lifetime);
      Deno.unrefTimer(timer);
      stream.lifetimeTimer = timer;
    }
    this.#streams.set(id, stream);
    return id;
  }

  /**
   * Gives the next item of a stream. Ends with `builtins.StopIteration` (args `[]`), after
   * which the stream is gone, as it is after an error of the iterator.
   *
   * @param id The stream id.
   * @param owner The id of the asking connection (re-attaches a lingering stream).
   * @returns The next item.
   * @throws {PyroError} `item stream terminated` for an unknown or expired id.
   */
  async next(id: unknown, owner: number): Promise<unknown> {
    const stream = typeof id === "string" ? this.#streams.get(id) : undefined;
    if (stream === undefined) throw new PyroError("item stream terminated");
    if (stream.owner === null) {
      clearTimeout(stream.lingerTimer);
      stream.lingerTimer = undefined;
      stream.owner = owner;
    }
    let result: IteratorResult<unknown>;
    try {
      result = await stream.iterator.next();
    } catch (e) {
      stream.span?.end("error", e);
      this.#drop(id as string, stream, false);
      throw e;
    }
    if (result.done) {
      this.#drop(id as string, stream, false);
      throw new RemoteError("builtins.StopIteration", []);
    }
    stream.span?.item();
    return result.value;
  }

  /**
   * Closes a stream (unknown ids are ignored), letting the iterator clean up.
   *
   * @param id The stream id.
   */
  close(id: unknown): void {
    const stream = typeof id === "string" ? this.#streams.get(id) : undefined;
    if (stream !== undefined) this.#drop(id as string, stream, true);
  }

  /**
   * Handles a client's disconnect: its streams linger, or go at once with linger 0.
   *
   * @param owner The connection id.
   */
  ownerGone(owner: number): void {
    if (this.#closed || this.#streams.size === 0) return;
    for (const [id, stream] of this.#streams) {
      if (stream.owner !== owner) continue;
      if (this.#options.linger <= 0) {
        this.#drop(id, stream, true);
        continue;
      }
      stream.owner = null;
      const timer = setTimeout(() => {
        log.debug(`daemon: item stream ${id} expired after its client left`);
        this.close(id);
      }, this.#options.linger);
      Deno.unrefTimer(timer);
      stream.lingerTimer = timer;
    }
  }

  /** The ids of the connections that hold open streams. */
  owners(): Set<number> {
    const owners = new Set<number>();
    for (const stream of this.#streams.values()) {
      if (stream.owner !== null) owners.add(stream.owner);
    }
    return owners;
  }

  #countOf(owner: number): number {
    let n = 0;
    for (const stream of this.#streams.values()) if (stream.owner === owner) n++;
    return n;
  }

  /** Closes every stream and cancels every timer. */
  closeAll(): void {
    this.#closed = true;
    for (const [id, stream] of this.#streams) this.#drop(id, stream, true);
  }

  #drop(id: string, stream: Stream, finish: boolean): void {
    this.#streams.delete(id);
    clearTimeout(stream.lifetimeTimer);
    clearTimeout(stream.lingerTimer);
    stream.span?.end(finish ? "closed" : "ok");
    if (!finish || typeof stream.iterator.return !== "function") return;
    try {
      const r = stream.iterator.return();
      if (r instanceof Promise) r.catch(() => {});
    } catch {
      // an iterator that fails while closing changes nothing for the daemon
    }
  }
}
