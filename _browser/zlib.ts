/**
 * Stands in for `node:zlib` in the browser build: Pyro5 compression needs a synchronous
 * deflate, which browsers lack, so a compressed frame fails with a clear error instead.
 * Proxies in the browser send uncompressed frames (the `compression` option stays off there).
 *
 * @example
 * ```ts
 * import { inflateSync } from "./zlib.ts";
 * try {
 *   inflateSync(new Uint8Array(0));
 * } catch (e) {
 *   console.log((e as Error).message); // "compressed frames are not supported in the browser build"
 * }
 * ```
 *
 * @module
 */

/**
 * Always throws: there is no synchronous inflate in the browser.
 *
 * @example
 * ```ts
 * import { inflateSync } from "./zlib.ts";
 * console.log(typeof inflateSync); // "function"
 * ```
 */
export function inflateSync(_data: Uint8Array, _options?: unknown): Uint8Array {
  throw new Error("compressed frames are not supported in the browser build");
}

/**
 * Always throws: there is no synchronous deflate in the browser.
 *
 * @example
 * ```ts
 * import { deflateSync } from "./zlib.ts";
 * console.log(typeof deflateSync); // "function"
 * ```
 */
export function deflateSync(_data: Uint8Array, _options?: unknown): Uint8Array {
  throw new Error("compressed frames are not supported in the browser build");
}
