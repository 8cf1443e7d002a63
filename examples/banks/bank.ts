/**
 * A bank: accounts with balances. Some banks let an account go below zero, some do not.
 *
 * @module
 */

import { expose } from "../../mod.ts";

/** A bank with named accounts. */
@expose
export class Bank {
  readonly #name: string;
  readonly #overdraft: boolean;
  readonly #accounts = new Map<string, number>();

  constructor(name: string, overdraft: boolean) {
    this.#name = name;
    this.#overdraft = overdraft;
  }

  /** The bank's name. */
  name(): string {
    return this.#name;
  }

  /** Opens an account with a zero balance. */
  createAccount(owner: string): void {
    if (this.#accounts.has(owner)) throw new Error(`${owner} already has an account`);
    this.#accounts.set(owner, 0);
  }

  /** Adds money to an account and returns the new balance. */
  deposit(owner: string, amount: number): number {
    const balance = this.#balance(owner) + amount;
    this.#accounts.set(owner, balance);
    return balance;
  }

  /** Takes money from an account and returns the new balance. */
  withdraw(owner: string, amount: number): number {
    const balance = this.#balance(owner) - amount;
    if (balance < 0 && !this.#overdraft) {
      throw new RangeError(`${this.#name} does not allow ${owner} to go below zero`);
    }
    this.#accounts.set(owner, balance);
    return balance;
  }

  /** Every account and its balance. */
  allAccounts(): Record<string, number> {
    return Object.fromEntries(this.#accounts);
  }

  #balance(owner: string): number {
    const balance = this.#accounts.get(owner);
    if (balance === undefined) throw new Error(`${owner} has no account at ${this.#name}`);
    return balance;
  }
}
