/**
 * The stock market server. It offers quotes two ways: as an item stream (`quotes()` is an
 * async generator, which a client iterates with `for await`), and as callbacks (`subscribe()`
 * gets a proxy for the client's own listener object and calls it for every quote).
 *
 * Run: `deno run -A examples/stockquotes/server.ts` (with a Name Server running).
 *
 * @module
 */

import { expose, isProxy, serve } from "../../mod.ts";
import { priceWalk, type Quote, type QuoteListener } from "./market.ts";

/** A market that streams quotes and calls subscribers back. */
@expose
export class StockMarket {
  /** The symbols traded here. */
  symbols(): string[] {
    return ["ACME", "GLOBEX", "INITECH"];
  }

  /** Streams `count` quotes of one stock, one per item. */
  async *quotes(symbol: string, count: number): AsyncGenerator<Quote> {
    for (const quote of priceWalk(symbol, count)) {
      await Promise.resolve(); // a real market would wait for the next trade here
      yield quote;
    }
  }

  /** Calls `listener.quote()` for `count` quotes of every symbol, then `listener.done()`. */
  subscribe(listener: QuoteListener, symbols: string[], count: number): string {
    (async () => {
      let sent = 0;
      try {
        for (const symbol of symbols) {
          for (const quote of priceWalk(symbol, count)) {
            await listener.quote(quote); // oneway: returns as soon as it is sent
            sent++;
          }
        }
        await listener.done(sent);
      } catch (e) {
        console.log(`server: a subscriber went away: ${(e as Error).message}`);
      } finally {
        if (isProxy(listener)) await listener._pyroRelease();
      }
    })();
    return `subscribed to ${symbols.join(", ")}`;
  }
}

await serve({
  "example.stockmarket": new StockMarket(),
}, { host: "127.0.0.1", verbose: false, onReady: () => console.log("server: ready") });
