/**
 * The classes of the custom-class example and how they travel. Importing this module
 * registers both directions: `registerClassToDict` turns an instance into a map with a
 * `__class__` name when it is sent, and `registerDictToClass` turns such a map back into an
 * instance when it arrives. A Python peer sees the same maps and can register its own hooks
 * (`SerializerBase.register_class_to_dict` / `register_dict_to_class`).
 *
 * @module
 */

import { registerClassToDict, registerDictToClass } from "../../mod.ts";

/** An amount of money in whole cents. */
export class Money {
  constructor(readonly cents: number, readonly currency: string) {}

  /** Adds two amounts of the same currency. */
  plus(other: Money): Money {
    if (other.currency !== this.currency) throw new TypeError("cannot add different currencies");
    return new Money(this.cents + other.cents, this.currency);
  }

  toString(): string {
    return `${(this.cents / 100).toFixed(2)} ${this.currency}`;
  }
}

/** What a shop hands out after a payment. */
export class Receipt {
  constructor(readonly item: string, readonly paid: Money, readonly change: Money) {}
}

registerClassToDict(Money, (m) => ({ cents: m.cents, currency: m.currency }), {
  className: "shop.Money",
});
registerDictToClass("shop.Money", (_name, d) => new Money(Number(d.cents), String(d.currency)));

registerClassToDict(Receipt, (r) => ({ item: r.item, paid: r.paid, change: r.change }), {
  className: "shop.Receipt",
});
registerDictToClass("shop.Receipt", (_name, d) => {
  if (!(d.paid instanceof Money) || !(d.change instanceof Money)) {
    throw new TypeError("a receipt needs amounts of money");
  }
  return new Receipt(String(d.item), d.paid, d.change);
});
