/**
 * Bounded inflation of compressed payloads (flag COMPRESSED): a zlib stream of a few hundred
 * kilobytes can inflate to gigabytes, so the output is counted as it is produced and the
 * inflation stops as soon as it passes a limit, before the memory is spent.
 *
 * {@linkcode inflatePayload} inflates in small steps through a `DecompressionStream` and
 * gives the event loop back every few milliseconds, so that other connections keep being
 * served while a large payload inflates; at most {@linkcode INFLATE_CONCURRENCY} such
 * inflations run at once in the process (the rest wait their turn), which bounds the memory
 * that hostile payloads can hold together. A small payload (at most 4 KiB compressed, so at
 * most about 4 MiB inflated) is inflated at once, which is faster and blocks for under a
 * millisecond or two. Node's zlib has no asynchronous mode in Deno that runs off the main
 * thread (measured: `zlib.inflate` blocked the loop as long as `inflateSync`), hence the
 * stepping.
 *
 * @example
 * ```ts
 * import { deflateSync } from "node:zlib";
 * import { inflatePayload } from "./inflate.ts";
 * const packed = new Uint8Array(deflateSync(new Uint8Array(100_000)));
 * console.log((await inflatePayload(packed, 1 << 20)).length); // 100000
 * await inflatePayload(packed, 1000).catch((e) => console.log(e.name)); // MessageTooLargeError
 * ```
 *
 * @module
 */

import { inflateSync } from "node:zlib";
import { MessageTooLargeError, ProtocolError } from "../errors.ts";
import { largeBuffer } from "./buffer_pool.ts";

/** Compressed payloads up to this size are inflated in one synchronous step. */
const SYNC_INPUT_LIMIT = 4 * 1024;
/** The output allowed to a synchronous step (zlib inflates at most ~1032x). */
const SYNC_OUTPUT_LIMIT = 4 * 1024 * 1024;
/** Input bytes per step of the stepped inflation: at most ~2 MiB of output each. */
const STEP_INPUT = 2 * 1024;
/** Milliseconds of stepping before the event loop gets a turn. */
const SLICE_MS = 3;

/**
 * The default limit of an inflated payload on a daemon connection (16 MiB), separate from
 * and much smaller than the 1 GiB wire limit; the `maxInflatedSize` daemon option changes it.
 * Measured: ten 1.5 GB bombs at once left a daemon's RSS 10 MB above where it started with
 * this limit, 95 MB above with 32 MiB and 140 MB above with 64 MiB (the C allocator keeps
 * freed chunks), so the default stays small; raise it for larger compressed payloads.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_INFLATED_SIZE } from "./inflate.ts";
 * console.log(DEFAULT_MAX_INFLATED_SIZE); // 16777216
 * ```
 */
export const DEFAULT_MAX_INFLATED_SIZE = 16 * 1024 * 1024;

/**
 * How many stepped inflations run at once in the process (2); the others wait their turn.
 *
 * @example
 * ```ts
 * import { INFLATE_CONCURRENCY } from "./inflate.ts";
 * console.log(INFLATE_CONCURRENCY); // 2
 * ```
 */
export const INFLATE_CONCURRENCY = 2;

function tooLarge(max: number, cause?: unknown): MessageTooLargeError {
  return new MessageTooLargeError(
    `message too large (inflated payload exceeds max=${max})`,
    cause === undefined ? undefined : { cause },
  );
}

function corrupt(e: unknown): ProtocolError {
  const detail = e instanceof Error ? e.message : String(e);
  return new ProtocolError(`Cannot decompress the message payload: ${detail}`, { cause: e });
}

/**
 * Inflates a zlib payload in one synchronous step, stopping at `max` output bytes. For small
 * payloads and for the synchronous `decodeMessage`; connections use {@linkcode inflatePayload}.
 *
 * @example
 * ```ts
 * import { deflateSync } from "node:zlib";
 * import { inflatePayloadSync } from "./inflate.ts";
 * console.log(inflatePayloadSync(new Uint8Array(deflateSync(new Uint8Array(10))), 100).length); // 10
 * ```
 *
 * @param data The zlib stream.
 * @param max The largest allowed output, in bytes.
 * @returns The inflated bytes.
 * @throws {MessageTooLargeError} When the output would exceed `max`.
 * @throws {ProtocolError} When the data is not a valid zlib stream.
 */
export function inflatePayloadSync(data: Uint8Array, max: number): Uint8Array {
  let out;
  try {
    out = inflateSync(data, { maxOutputLength: Math.max(1, Math.min(max, 2 ** 31 - 1)) });
  } catch (e) {
    if (e instanceof RangeError) throw tooLarge(max, e);
    throw corrupt(e);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

let running = 0;
const waiting: (() => void)[] = [];

async function turn(): Promise<void> {
  if (running < INFLATE_CONCURRENCY) {
    running++;
    return;
  }
  const { promise, resolve } = Promise.withResolvers<void>();
  waiting.push(resolve);
  await promise; // the finishing inflation hands its place over
}

function done(): void {
  const next = waiting.shift();
  if (next !== undefined) next();
  else running--;
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Inflates a zlib payload without blocking the event loop for long and without producing
 * more than `max` bytes: small payloads at once, larger ones in steps, a few at a time in the
 * process. When the limit is passed, the partial output is dropped at once.
 *
 * @example
 * ```ts
 * import { deflateSync } from "node:zlib";
 * import { inflatePayload } from "./inflate.ts";
 * const bomb = new Uint8Array(deflateSync(new Uint8Array(32 << 20))); // 32 KiB
 * await inflatePayload(bomb, 1 << 20).catch((e) => console.log(e.message));
 * // message too large (inflated payload exceeds max=1048576)
 * ```
 *
 * @param data The zlib stream.
 * @param max The largest allowed output, in bytes.
 * @returns The inflated bytes.
 * @throws {MessageTooLargeError} When the output would exceed `max`.
 * @throws {ProtocolError} When the data is not a valid zlib stream.
 */
export async function inflatePayload(data: Uint8Array, max: number): Promise<Uint8Array> {
  if (data.length <= SYNC_INPUT_LIMIT) {
    if (max <= SYNC_OUTPUT_LIMIT) return inflatePayloadSync(data, max);
    try {
      return inflatePayloadSync(data, SYNC_OUTPUT_LIMIT);
    } catch (e) {
      if (!(e instanceof MessageTooLargeError)) throw e;
      // More than a synchronous step may produce, but allowed: the stepped way.
    }
  }
  await turn();
  try {
    return await inflateStepped(data, max);
  } finally {
    done();
  }
}

async function inflateStepped(data: Uint8Array, max: number): Promise<Uint8Array> {
  const stream = new DecompressionStream("deflate");
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  let chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  let failure: unknown = null;
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      total += value.length;
      if (total > max) {
        over = true;
        chunks = []; // the memory goes back now, not when the stream is collected
        await reader.cancel().catch(() => {});
        return;
      }
      chunks.push(value);
    }
  })().catch((e) => {
    failure ??= e;
  });
  let slice = performance.now();
  try {
    for (let i = 0; i < data.length && !over && failure === null; i += STEP_INPUT) {
      await writer.write(data.subarray(i, i + STEP_INPUT) as Uint8Array<ArrayBuffer>);
      if (performance.now() - slice >= SLICE_MS) {
        await yieldToLoop();
        slice = performance.now();
      }
    }
    if (!over && failure === null) await writer.close();
  } catch (e) {
    failure ??= e;
  }
  await reading;
  if (over) {
    writer.abort().catch(() => {});
    throw tooLarge(max);
  }
  if (failure !== null) {
    writer.abort().catch(() => {});
    throw corrupt(failure);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = largeBuffer(total);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}
