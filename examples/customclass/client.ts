/**
 * The client of the custom-class example: gets `Money` from the shop, adds it up locally
 * (it arrived as a real instance, methods and all), pays with `Money`, and gets a `Receipt`.
 *
 * Run: `deno run -A examples/customclass/client.ts` (with the Name Server and the server running).
 *
 * @module
 */

import { createProxy } from "../../mod.ts";
import { Money, Receipt } from "./money.ts";
import type { Shop } from "./server.ts";

for (const serializer of ["msgpack", "json", "serpent"]) {
  await using shop = createProxy<Shop>("PYRONAME:example.customclass.shop", { serializer });
  const apple = await shop.price("apple");
  const bread = await shop.price("bread");
  const total = apple.plus(bread);
  console.log(`client (${serializer}): apple ${apple} + bread ${bread} = ${total}`);
  const receipt = await shop.pay("coffee", new Money(1000, "EUR"));
  console.log(
    `client (${serializer}): paid ${receipt.paid} for ${receipt.item}, change ${receipt.change}, ` +
      `a Receipt: ${receipt instanceof Receipt}, a Money: ${receipt.change instanceof Money}`,
  );
}
