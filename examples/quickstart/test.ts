/**
 * The module `test` of the seed scenario: a class `testclass` whose instances are accessed
 * remotely. Nothing in it knows about the network; `@expose` only says which members a remote
 * caller may use.
 *
 * @module
 */

import { expose } from "../../mod.ts";

/** A small object to be called remotely. */
@expose
export class testclass {
  #calls = 0;

  /** Multiplies two numbers. */
  mul(arg1: number, arg2: number): number {
    this.#calls++;
    return arg1 * arg2;
  }

  /** Adds two numbers. */
  add(arg1: number, arg2: number): number {
    this.#calls++;
    return arg1 + arg2;
  }

  /** Greets somebody. */
  greet(name: string): string {
    this.#calls++;
    return `Hello, ${name}! I am a testclass instance.`;
  }

  /** Fails on purpose, to show how remote errors arrive. */
  fail(): never {
    throw new RangeError("this method always fails");
  }

  /** How many calls this instance served (a remote attribute). */
  get calls(): number {
    return this.#calls;
  }
}
