/**
 * A stock viewer. First it iterates an item stream of quotes; then it serves a listener
 * object in a Daemon of its own, passes it to the market (it travels as a proxy), and
 * prints the quotes the market calls back with.
 *
 * Run: `deno run -A examples/stockquotes/client.ts` (with the Name Server and the server running).
 *
 * @module
 */

import { createProxy, Daemon, expose, oneway } from "../../mod.ts";
import type { Quote, QuoteListener } from "./market.ts";
import type { StockMarket } from "./server.ts";

await using market = createProxy<StockMarket>("PYRONAME:example.stockmarket");
const symbols = await market.symbols();
console.log(`client: the market trades ${symbols.join(", ")}`);

for await (const quote of await market.quotes("ACME", 3)) {
  console.log(`client: streamed ${quote.symbol} ${quote.price.toFixed(2)}`);
}

const finished = Promise.withResolvers<number>();

/** Receives quotes from the market. */
@expose
class Viewer implements QuoteListener {
  @oneway
  quote(quote: Quote): void {
    console.log(`client: callback ${quote.symbol} ${quote.price.toFixed(2)}`);
  }

  done(count: number): void {
    finished.resolve(count);
  }
}

// The client serves its listener, so that the market can call it.
await using daemon = new Daemon({ host: "127.0.0.1" });
const viewer = new Viewer();
daemon.register(viewer);
console.log(`client: ${await market.subscribe(viewer, ["GLOBEX", "INITECH"], 2)}`);
console.log(`client: the market called back with ${await finished.promise} quotes`);
