/**
 * A class for the proxy compiler's tests: methods of many shapes, a oneway method, a method
 * marked oneway by a JSDoc tag, an item stream, remote attributes, an inherited method, and
 * members that must not become remote.
 *
 * @module
 */

import { expose, oneway } from "../mod.ts";

/** An item in the inventory. */
export interface Item {
  name: string;
  count: number;
}

/** Kinds of items. */
export type Kind = "tool" | "part";

abstract class Base {
  /** Says hello (inherited). */
  hello(name: string): string {
    return `hello ${name}`;
  }
}

/** An inventory of items. */
@expose
export class Inventory extends Base {
  #items = new Map<string, Item>();
  #log: string[] = [];
  #owner = "nobody";

  /** Adds an item. */
  add(name: string, count = 1, kind?: Kind): Item {
    const item = { name, count: (this.#items.get(name)?.count ?? 0) + count };
    this.#items.set(name, item);
    this.#log.push(`${kind ?? "thing"} ${name}`);
    return item;
  }

  /** Looks an item up. */
  async find(name: string): Promise<Item | null> {
    await Promise.resolve();
    return this.#items.get(name) ?? null;
  }

  /** The count of one item. */
  quantity(name: string): number;
  /** The counts of several items. */
  quantity(names: string[]): number[];
  quantity(arg: string | string[]): number | number[] {
    const one = (name: string) => this.#items.get(name)?.count ?? 0;
    return typeof arg === "string" ? one(arg) : arg.map(one);
  }

  /** Every item name and count. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#items].map(([k, v]) => [k, v.count]));
  }

  /** Streams the items. */
  *items(): Generator<Item> {
    yield* this.#items.values();
  }

  /** Records a line without waiting. */
  @oneway
  note(line: string): void {
    this.#log.push(line);
  }

  /**
   * Clears the log; registered as oneway with `register(obj, { oneway: ["clear"] })`.
   *
   * @oneway
   */
  clear(): void {
    this.#log = [];
  }

  /** The log lines (a remote attribute). */
  get log(): string[] {
    return [...this.#log];
  }

  /** The owner (a remote attribute that can be set). */
  get owner(): string {
    return this.#owner;
  }

  set owner(value: string) {
    this.#owner = value;
  }

  /** Not remote: private by name. */
  _internal(): void {}

  /** Not remote: static. */
  static create(): Inventory {
    return new Inventory();
  }
}
