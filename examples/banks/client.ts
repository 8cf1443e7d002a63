/**
 * The banks client: finds every bank through the Name Server's metadata (the tag
 * `example.bank`), opens accounts at each, moves money, and shows what each bank allows.
 *
 * Run: `deno run -A examples/banks/client.ts` (with the Name Server and some banks running).
 *
 * @module
 */

import { createProxy, locateNS, RemoteError } from "../../mod.ts";
import type { Bank } from "./bank.ts";

await using ns = await locateNS();
const found = await ns.yplookup(["example.bank"]);
const names = Object.keys(found).sort();
console.log(`client: the name server knows ${names.length} banks: ${names.join(", ")}`);

for (const name of names) {
  await using bank = createProxy<Bank>(found[name]![0]);
  const bankName = await bank.name();
  await bank.createAccount("Irmen");
  await bank.createAccount("Suzy");
  await bank.deposit("Irmen", 400);
  await bank.deposit("Suzy", 100);
  await bank.withdraw("Irmen", 150);
  try {
    await bank.withdraw("Suzy", 250);
    console.log(`client: ${bankName} let Suzy withdraw more than she had`);
  } catch (e) {
    if (!(e instanceof RemoteError)) throw e;
    console.log(`client: ${bankName} refused: ${e.message}`);
  }
  const accounts = Object.entries(await bank.allAccounts()).map(([who, n]) => `${who} ${n}`);
  console.log(`client: accounts at ${bankName}: ${accounts.join(", ")}`);
}
