/**
 * The server of the streaming example. Methods that return an iterator, a generator or an
 * async iterable are streamed: the client gets the items one at a time, and can stop early.
 *
 * Run: `deno run -A examples/streaming/server.ts` (with a Name Server running).
 *
 * @module
 */

import { expose, serve } from "../../mod.ts";

/** Produces sequences of values. */
@expose
export class Streamer {
  #closedEarly = 0;

  /** A finite generator: 1, 2, ..., n. */
  *count(n: number): Generator<number> {
    for (let i = 1; i <= n; i++) yield i;
  }

  /** An endless async generator; its `finally` runs when the client stops early. */
  async *ticker(prefix: string): AsyncGenerator<string> {
    let i = 0;
    try {
      for (;;) {
        await Promise.resolve(); // wait for the next event, in a real program
        yield `${prefix}-${++i}`;
      }
    } finally {
      console.log(`server: the ${prefix} ticker was closed after ${i} items`);
      this.#closedEarly++;
    }
  }

  /** A plain array is not streamed: it arrives whole. */
  squares(n: number): number[] {
    return Array.from({ length: n }, (_, i) => (i + 1) ** 2);
  }

  /** How many streams were closed early. */
  closedEarly(): number {
    return this.#closedEarly;
  }
}

await serve({
  "example.streaming": new Streamer(),
}, { host: "127.0.0.1", verbose: false, onReady: () => console.log("server: ready") });
