/**
 * Stands in for `tls.ts` in the browser build: no TLS settings of our own (a `wss:` URL is
 * the browser's TLS).
 *
 * @example
 * ```ts
 * import { clientTlsFromConfig } from "./tls.ts";
 * console.log(clientTlsFromConfig()); // undefined
 * ```
 *
 * @module
 */

/**
 * No client TLS settings in the browser.
 *
 * @example
 * ```ts
 * import { clientTlsFromConfig } from "./tls.ts";
 * console.log(clientTlsFromConfig()); // undefined
 * ```
 */
export function clientTlsFromConfig(): undefined {
  return undefined;
}
