/**
 * The browser build of the client: the same proxies as `proxy.ts`, reaching objects through a
 * gateway's WebSocket endpoint (`via`) instead of TCP. The gateway serves this module, bundled
 * with no Deno API in it, at `/pyro/client.js`; a page imports it and writes the same code as a
 * Deno program. In Deno this file works too (over WebSocket or TCP).
 *
 * ```html
 * <script type="module">
 *   import { createProxy } from "/pyro/client.js";
 *   const shop = createProxy("PYRONAME:example.warehouse", { via: "ws://localhost:8080/pyro/ws" });
 *   console.log(await shop.list_contents());
 * </script>
 * ```
 *
 * @example A proxy that goes through a gateway
 * ```ts
 * import { createProxy } from "./browser.ts";
 *
 * interface Warehouse {
 *   list_contents(): string[];
 * }
 * const shop = createProxy<Warehouse>("PYRONAME:example.warehouse", {
 *   via: "ws://127.0.0.1:8080/pyro/ws",
 * });
 * console.log(shop._pyroUri.toString()); // "PYRONAME:example.warehouse"
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export { config, type PyroConfig } from "./config.ts";
export * from "./proxy.ts";
