/**
 * Stands in for `locate.ts` in the browser build: the gateway resolves names, so a browser
 * proxy never looks up a Name Server itself.
 *
 * @example
 * ```ts
 * import { resolve } from "./locate.ts";
 * await resolve().catch((e) => console.log(e.name)); // "NamingError"
 * ```
 *
 * @module
 */

import { NamingError } from "../errors.ts";

/**
 * Always fails: names are resolved by the gateway (`via`).
 *
 * @example
 * ```ts
 * import { resolve } from "./locate.ts";
 * await resolve("PYRONAME:example.thing").catch((e) => console.log(e.message)); // a browser proxy resolves names through a gateway; ...
 * ```
 */
export function resolve(..._args: unknown[]): Promise<never> {
  return Promise.reject(
    new NamingError("a browser proxy resolves names through a gateway; give it the 'via' option"),
  );
}
