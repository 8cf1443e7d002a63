/**
 * The shop the web page uses: a few methods, a remote attribute, a stream and a remote error.
 *
 * @module
 */

import { expose } from "../../mod.ts";

/** A tiny shop: items in stock, stored and taken by the page. */
@expose
export class Shop {
  #stock = ["chair", "lamp"];

  /** What is in stock. */
  list(): string[] {
    return [...this.#stock];
  }

  /** Puts an item in stock. */
  store(item: string): void {
    this.#stock.push(item);
  }

  /** Takes an item out of stock; a remote error when there is none. */
  take(item: string): string {
    const i = this.#stock.indexOf(item);
    if (i < 0) throw new RangeError(`there is no ${item} in the shop`);
    this.#stock.splice(i, 1);
    return item;
  }

  /** The stock, one item at a time (an item stream). */
  *inventory(): Generator<string> {
    for (const [i, item] of this.#stock.entries()) yield `${i + 1}. ${item}`;
  }

  /** The number of items in stock (a remote attribute). */
  get size(): number {
    return this.#stock.length;
  }
}
