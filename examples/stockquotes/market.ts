/**
 * The types shared by the stock market server and its viewers.
 *
 * @module
 */

/** One price of one stock. */
export interface Quote {
  symbol: string;
  price: number;
}

/**
 * What the market calls back. A viewer object in the client's process satisfies it, and so
 * does the proxy for it that the market receives.
 */
export interface QuoteListener {
  /** Receives a quote. */
  quote(quote: Quote): unknown;
  /** Told when the subscription has ended. */
  done(count: number): unknown;
}

/** Deterministic prices: a small walk around a start price, in cents. */
export function* priceWalk(symbol: string, count: number): Generator<Quote> {
  let cents = 1000 + 100 * symbol.length;
  for (let i = 0; i < count; i++) {
    cents += ((i * 37 + symbol.charCodeAt(0)) % 21) - 10;
    yield { symbol, price: cents / 100 };
  }
}
