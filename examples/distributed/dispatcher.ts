/**
 * The dispatcher of the distributed-computing example: a work queue and a result queue.
 * Clients put work items in and take results out; workers take work items and put results
 * back. `getWork()` and `getResult()` wait until there is something to hand out.
 *
 * Run: `deno run -A examples/distributed/dispatcher.ts` (with a Name Server running).
 *
 * @module
 */

import { Daemon, expose, locateNS } from "../../mod.ts";

/** A work item: a number to factorize. */
export interface WorkItem {
  id: number;
  number: number;
}

/** A finished work item. */
export interface WorkResult {
  id: number;
  number: number;
  factors: number[];
  worker: string;
}

/** A queue whose `get()` waits for the next item. */
class Queue<T> {
  #items: T[] = [];
  #waiting: ((item: T | null) => void)[] = [];
  #closed = false;

  put(item: T): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  get(): Promise<T | null> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter(null);
  }
}

/** Hands out work and collects results. */
@expose
export class Dispatcher {
  #work = new Queue<WorkItem>();
  #results = new Queue<WorkResult>();

  /** Adds a work item. */
  putWork(item: WorkItem): void {
    this.#work.put(item);
  }

  /** The next work item, or null once the dispatcher is closed. Waits for one. */
  getWork(): Promise<WorkItem | null> {
    return this.#work.get();
  }

  /** Hands in a result. */
  putResult(result: WorkResult): void {
    this.#results.put(result);
  }

  /** The next result. Waits for one. */
  getResult(): Promise<WorkResult | null> {
    return this.#results.get();
  }

  /** Ends the work: waiting workers get null and stop. */
  close(): void {
    this.#work.close();
  }
}

if (import.meta.main) {
  const daemon = new Daemon({ host: "127.0.0.1" });
  await using ns = await locateNS();
  await ns.register("example.distributed.dispatcher", daemon.register(new Dispatcher()));
  console.log("dispatcher: ready");
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => daemon.close());
  }
  await daemon.closed;
}
