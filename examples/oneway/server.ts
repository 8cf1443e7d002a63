/**
 * The server of the oneway example: `startWork()` is a oneway method, so its caller does not
 * wait for it (and gets no result or error back); `status()` and `result()` are normal calls.
 *
 * Run: `deno run -A examples/oneway/server.ts` (with a Name Server running).
 *
 * @module
 */

import { expose, oneway, serve } from "../../mod.ts";

/** Does slow work in the background when asked. */
@expose
export class Worker {
  #status = "idle";
  #finished = Promise.withResolvers<string>();

  /** Starts a slow job; the caller continues at once. */
  @oneway
  async startWork(job: string, ms: number): Promise<void> {
    this.#status = `busy with ${job}`;
    console.log(`server: working on ${job}`);
    await new Promise((resolve) => setTimeout(resolve, ms)); // the slow part of the job
    this.#status = "idle";
    this.#finished.resolve(`${job} is done`);
  }

  /** What the worker is doing. */
  status(): string {
    return this.#status;
  }

  /** Waits until the job has finished and tells which one. */
  async result(): Promise<string> {
    const result = await this.#finished.promise;
    this.#finished = Promise.withResolvers<string>();
    return result;
  }
}

await serve({
  "example.oneway": new Worker(),
}, { host: "127.0.0.1", verbose: false, onReady: () => console.log("server: ready") });
