/**
 * The objects of the warehouse example: a warehouse that people store items in and take items
 * from, and a ledger that records every move. Neither knows about the network.
 *
 * @module
 */

import { expose } from "../../mod.ts";

/** Records what happened in the warehouse. */
@expose
export class Ledger {
  #entries: string[] = [];

  /** Adds an entry. */
  record(entry: string): void {
    this.#entries.push(entry);
  }

  /** Every entry so far (a remote attribute: read it with `_pyroGet("entries")`). */
  get entries(): string[] {
    return [...this.#entries];
  }
}

/** A warehouse full of things. */
@expose
export class Warehouse {
  #contents = ["chair", "bike", "flashlight", "laptop", "couch"];
  #ledger: Ledger;

  constructor(ledger: Ledger) {
    this.#ledger = ledger;
  }

  /** What is in the warehouse now. */
  listContents(): string[] {
    return [...this.#contents];
  }

  /** Takes an item out; fails when it is not there. */
  take(name: string, item: string): string {
    const index = this.#contents.indexOf(item);
    if (index < 0) throw new RangeError(`there is no ${item} in the warehouse`);
    this.#contents.splice(index, 1);
    this.#ledger.record(`${name} took the ${item}`);
    return `${name} took the ${item}.`;
  }

  /** Puts an item in. */
  store(name: string, item: string): string {
    this.#contents.push(item);
    this.#ledger.record(`${name} stored the ${item}`);
    return `${name} stored the ${item}.`;
  }
}
