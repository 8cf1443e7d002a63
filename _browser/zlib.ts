/**
 * Stands in for `node:zlib` in the browser build: Pyro5's payload compression (zlib format)
 * with npm:fflate, a small, well-kept, synchronous zlib in plain JavaScript (browsers only offer
 * an asynchronous `CompressionStream`, and frames are encoded and decoded synchronously).
 *
 * @example Round trip
 * ```ts
 * import { deflateSync, inflateSync } from "./zlib.ts";
 * const text = new TextEncoder().encode("hello ".repeat(100));
 * const packed = deflateSync(text, { level: 4 });
 * console.log(packed.length < text.length); // true
 * console.log(inflateSync(packed).length); // 600
 * ```
 *
 * @module
 */

import { unzlibSync, zlibSync } from "npm:fflate@0.8.3";

/** Options of {@linkcode deflateSync}. */
export interface DeflateOptions {
  /** Compression level, 0-9. @default {6} */
  level?: number;
}

/** Options of {@linkcode inflateSync}. */
export interface InflateOptions {
  /** The largest result allowed; past it a `RangeError` is thrown, as Node's zlib does. */
  maxOutputLength?: number;
}

type Level = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/**
 * Compresses in zlib format (what Pyro5's `zlib.compress` makes).
 *
 * @example
 * ```ts
 * import { deflateSync } from "./zlib.ts";
 * console.log(deflateSync(new Uint8Array(100))[0]); // 120: the zlib header
 * ```
 *
 * @param data The bytes.
 * @param options The level.
 * @returns The compressed bytes.
 */
export function deflateSync(data: Uint8Array, options: DeflateOptions = {}): Uint8Array {
  const level = Math.max(0, Math.min(9, Math.round(options.level ?? 6))) as Level;
  return zlibSync(data, { level });
}

/**
 * Decompresses zlib-format bytes.
 *
 * @example
 * ```ts
 * import { deflateSync, inflateSync } from "./zlib.ts";
 * try {
 *   inflateSync(deflateSync(new Uint8Array(1000)), { maxOutputLength: 10 });
 * } catch (e) {
 *   console.log(e instanceof RangeError); // true
 * }
 * ```
 *
 * @param data The compressed bytes.
 * @param options The size limit.
 * @returns The bytes.
 * @throws {RangeError} When the result is larger than `maxOutputLength`.
 * @throws {Error} For bytes that are not zlib data.
 */
export function inflateSync(data: Uint8Array, options: InflateOptions = {}): Uint8Array {
  const out = unzlibSync(data);
  if (options.maxOutputLength !== undefined && out.length > options.maxOutputLength) {
    throw new RangeError(`Cannot inflate: more than ${options.maxOutputLength} bytes`);
  }
  return out;
}
