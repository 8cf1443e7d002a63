/**
 * The server of the batched-calls example: a small calculator that also counts the messages
 * it was called with, to show that a batch of calls travels as one message.
 *
 * Run: `deno run -A examples/batched/server.ts` (with a Name Server running).
 *
 * @module
 */

import { currentContext, expose, serve } from "../../mod.ts";

/** A calculator that remembers how many distinct messages called it. */
@expose
export class Calculator {
  #messages = new Set<number>();

  #count(): void {
    const context = currentContext();
    if (context) this.#messages.add(context.connection.id * 1_000_000 + context.seq);
  }

  /** Adds two numbers. */
  add(a: number, b: number): number {
    this.#count();
    return a + b;
  }

  /** Multiplies two numbers. */
  multiply(a: number, b: number): number {
    this.#count();
    return a * b;
  }

  /** Divides; fails for a zero divisor. */
  divide(a: number, b: number): number {
    this.#count();
    if (b === 0) throw new RangeError("division by zero");
    return a / b;
  }

  /** How many messages carried calls so far (this call's message not included). */
  messages(): number {
    return this.#messages.size;
  }
}

await serve({
  "example.batched": new Calculator(),
}, { host: "127.0.0.1", verbose: false, onReady: () => console.log("server: ready") });
