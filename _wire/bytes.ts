/**
 * Byte comparisons for the caches of repeated wire payloads (internal): a handshake whose
 * bytes equal the last one's is not decoded again.
 *
 * @example
 * ```ts
 * import { sameBytes } from "./bytes.ts";
 * console.log(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))); // true
 * ```
 *
 * @module
 */

/**
 * Tells whether two byte arrays hold the same bytes.
 *
 * @example
 * ```ts
 * import { sameBytes } from "./bytes.ts";
 * console.log(sameBytes(new Uint8Array([1]), new Uint8Array([2]))); // false
 * ```
 *
 * @param a Some bytes.
 * @param b Some bytes.
 * @returns True when they have the same length and content.
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
