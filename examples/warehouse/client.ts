/**
 * The warehouse story: Janet and Henry visit the warehouse one after the other, look around,
 * store something and take something; Henry asks for something that is no longer there. At
 * the end the ledger, a second remote object, tells what happened.
 *
 * Run: `deno run -A examples/warehouse/client.ts` (with the Name Server and the server running).
 *
 * @module
 */

import { createProxy, type Proxy, RemoteError } from "../../mod.ts";
import type { Ledger, Warehouse } from "./warehouse.ts";

/** A visitor of the warehouse; a plain local object that holds a proxy. */
class Person {
  constructor(readonly name: string) {}

  async visit(warehouse: Proxy<Warehouse>, store: string, take: string): Promise<void> {
    console.log(`client: this is ${this.name}.`);
    console.log(`client: the warehouse contains ${(await warehouse.listContents()).join(", ")}`);
    console.log(`client: ${await warehouse.store(this.name, store)}`);
    try {
      console.log(`client: ${await warehouse.take(this.name, take)}`);
    } catch (e) {
      if (!(e instanceof RemoteError)) throw e;
      console.log(`client: ${this.name} could not take it: ${e.message}`);
    }
  }
}

await using warehouse = createProxy<Warehouse>("PYRONAME:example.warehouse");
await new Person("Janet").visit(warehouse, "football", "laptop");
await new Person("Henry").visit(warehouse, "guitar", "laptop");
await using ledger = createProxy<Ledger>("PYRONAME:example.warehouse.ledger");
for (const entry of await ledger._pyroGet("entries")) console.log(`client: ledger: ${entry}`);
