/**
 * Correlation ids: 16 raw UUID bytes in the Pyro header, RFC 4122 text for people and logs.
 * Re-exported by `protocol.ts`.
 *
 * @example
 * ```ts
 * import { correlationIdToString, randomCorrelationId } from "./protocol.ts";
 * console.log(correlationIdToString(randomCorrelationId()));
 * ```
 *
 * @module
 */

const HEX: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

/**
 * Formats 16 correlation id bytes as RFC 4122 text (lower case, with hyphens), as Python's
 * `str(uuid.UUID(bytes=...))` does.
 *
 * @example
 * ```ts
 * import { correlationIdFromString, correlationIdToString } from "./protocol.ts";
 * const id = correlationIdFromString("11112222-3333-4444-5555-666677778888");
 * console.log(correlationIdToString(id)); // "11112222-3333-4444-5555-666677778888"
 * ```
 *
 * @param id 16 bytes.
 * @returns The UUID text.
 * @throws {TypeError} When `id` is not 16 bytes.
 */
export function correlationIdToString(id: Uint8Array): string {
  if (!(id instanceof Uint8Array) || id.length !== 16) {
    throw new TypeError("Cannot format correlation id: it must be 16 bytes");
  }
  let s = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
    s += HEX[id[i]!];
  }
  return s;
}

/**
 * Parses UUID text into 16 correlation id bytes. Accepts what Python's `uuid.UUID(str)`
 * accepts: hyphens anywhere, optional braces and `urn:uuid:` prefix, either case.
 *
 * @example
 * ```ts
 * import { correlationIdFromString } from "./protocol.ts";
 * console.log(correlationIdFromString("{11112222-3333-4444-5555-666677778888}").length); // 16
 * ```
 *
 * @param text The UUID text.
 * @returns The 16 bytes.
 * @throws {SyntaxError} When the text is not a UUID.
 */
export function correlationIdFromString(text: string): Uint8Array {
  let hex = text.trim().replace(/^urn:uuid:/i, "");
  if (hex.startsWith("{") && hex.endsWith("}")) hex = hex.slice(1, -1);
  hex = hex.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
    throw new SyntaxError(`Cannot parse correlation id: "${text}" is not a UUID`);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const POOL_SIZE = 4096;
let pool = new Uint8Array(0);
let poolUsed = POOL_SIZE;

/**
 * Makes a random (version 4) UUID as 16 bytes, for use as a correlation id.
 *
 * @example
 * ```ts
 * import { correlationIdToString, randomCorrelationId } from "./protocol.ts";
 * console.log(correlationIdToString(randomCorrelationId()).length); // 36
 * ```
 *
 * @returns 16 random bytes with the UUID version and variant bits set.
 */
export function randomCorrelationId(): Uint8Array {
  return randomCorrelationIdShared().slice();
}

/**
 * Makes a random correlation id like {@linkcode randomCorrelationId}, as a view into a shared
 * pool of random bytes (internal: one call of the random source per 256 ids).
 *
 * @example
 * ```ts
 * import { randomCorrelationIdShared } from "./correlation_id.ts";
 * console.log(randomCorrelationIdShared().length); // 16
 * ```
 *
 * @returns 16 random bytes with the UUID version and variant bits set.
 */
export function randomCorrelationIdShared(): Uint8Array {
  // One call of the random source per 256 ids; a used pool is never written again.
  if (poolUsed === POOL_SIZE) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    poolUsed = 0;
  }
  const id = pool.subarray(poolUsed, poolUsed += 16);
  id[6] = (id[6]! & 0x0f) | 0x40;
  id[8] = (id[8]! & 0x3f) | 0x80;
  return id;
}

/**
 * A marker for "a fresh random correlation id" (internal): a frame encoder given it writes
 * new random bytes straight into the frame ({@linkcode writeRandomCorrelationId}) instead of
 * copying an id made beforehand. Its own bytes are never used.
 *
 * @example
 * ```ts
 * import { RANDOM_CORRELATION_ID } from "./correlation_id.ts";
 * console.log(RANDOM_CORRELATION_ID.length); // 16
 * ```
 */
export const RANDOM_CORRELATION_ID: Uint8Array = new Uint8Array(16);

/**
 * Writes a random correlation id like {@linkcode randomCorrelationIdShared} into `out` at
 * `at` (internal: no view per id, for an id that goes straight into a frame).
 *
 * @example
 * ```ts
 * import { writeRandomCorrelationId } from "./correlation_id.ts";
 * const out = new Uint8Array(40);
 * writeRandomCorrelationId(out, 20);
 * console.log(out[26]! >> 4); // 4
 * ```
 *
 * @param out The bytes to write into.
 * @param at Where the 16 bytes go.
 */
export function writeRandomCorrelationId(out: Uint8Array, at: number): void {
  if (poolUsed === POOL_SIZE) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    poolUsed = 0;
  }
  // Never handed out as a view (randomCorrelationIdShared takes the next 16 bytes after these).
  const p = pool;
  const from = poolUsed;
  poolUsed = from + 16;
  for (let i = 0; i < 16; i++) out[at + i] = p[from + i]!;
  out[at + 6] = (out[at + 6]! & 0x0f) | 0x40;
  out[at + 8] = (out[at + 8]! & 0x3f) | 0x80;
}
