/**
 * The server of the custom-class example: a shop whose methods take and return `Money` and
 * `Receipt` instances. It imports `money.ts`, which registers how those classes travel.
 *
 * Run: `deno run -A examples/customclass/server.ts` (with a Name Server running).
 *
 * @module
 */

import { expose, serve } from "../../mod.ts";
import { Money, Receipt } from "./money.ts";

const PRICES: Record<string, number> = { apple: 45, bread: 260, coffee: 899 };

/** A shop that prices items in euro. */
@expose
export class Shop {
  /** The price of an item. */
  price(item: string): Money {
    const cents = PRICES[item];
    if (cents === undefined) throw new RangeError(`the shop has no ${item}`);
    return new Money(cents, "EUR");
  }

  /** Pays for an item; the amount must arrive as a real Money instance. */
  pay(item: string, amount: Money): Receipt {
    if (!(amount instanceof Money)) throw new TypeError("please pay with Money");
    const price = this.price(item);
    if (amount.cents < price.cents) throw new RangeError(`${item} costs ${price}`);
    return new Receipt(item, amount, new Money(amount.cents - price.cents, price.currency));
  }
}

await serve({
  "example.customclass.shop": new Shop(),
}, { host: "127.0.0.1", verbose: false, onReady: () => console.log("server: ready") });
