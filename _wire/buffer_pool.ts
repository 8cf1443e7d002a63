/**
 * Private: a few large spare buffers for the call path. Allocating a fresh buffer of a MiB or
 * more costs far more than filling a warm one (page faults), so frames that have been written
 * give their buffer back here, and the msgpack writer and the frame reader take from here.
 *
 * Only code that knows nobody else holds a buffer may give it back: the daemon and the proxy
 * do so for frames they built and have finished writing.
 *
 * @example
 * ```ts
 * import { releaseBuffer, takeBuffer } from "./buffer_pool.ts";
 * releaseBuffer(new ArrayBuffer(1 << 20));
 * console.log(takeBuffer(1 << 20, 2 << 20)?.byteLength); // 1048576
 * console.log(takeBuffer(1 << 20, 2 << 20)); // null
 * ```
 *
 * @module
 */

/**
 * Buffers of at least this size are taken straight from the system ({@linkcode largeBuffer}):
 * above glibc's initial mmap threshold (128 KiB), so that glibc's own choice is kept.
 */
export const LARGE_BUFFER = 256 * 1024;

/**
 * A zeroed buffer of `size` bytes; from {@linkcode LARGE_BUFFER} up, mapped from the system
 * rather than from the C allocator, so that it goes back to the system when it is freed.
 * glibc's allocator maps large blocks too, but after the first such block is freed it raises
 * its threshold to that block's size and serves later ones from its heap, which it cannot give
 * back while anything small lives above them: measured, ten 4 MB payloads at once left a
 * daemon's RSS 60 MB higher for good. A resizable `ArrayBuffer` is reserved and committed page
 * by page by V8 itself, outside the C allocator (and Deno's I/O accepts it like any other).
 *
 * @example
 * ```ts
 * import { largeBuffer } from "./buffer_pool.ts";
 * console.log(largeBuffer(4 << 20).length); // 4194304
 * ```
 *
 * @param size The size in bytes.
 * @returns The buffer.
 */
export function largeBuffer(size: number): Uint8Array {
  return size >= LARGE_BUFFER
    ? new Uint8Array(new ArrayBuffer(size, { maxByteLength: size }))
    : new Uint8Array(size);
}

/** Buffers smaller than this are not worth pooling. */
export const POOL_MIN = 64 * 1024;
/** Buffers larger than this are not kept. */
const POOL_MAX = 16 * 1024 * 1024;
/** How many spare buffers are kept at most. */
const SLOTS = 4;

const spare: ArrayBuffer[] = [];

/**
 * Gives a buffer back that nobody uses any more (its contents are not cleared).
 *
 * @example
 * ```ts
 * import { releaseBuffer } from "./buffer_pool.ts";
 * releaseBuffer(new ArrayBuffer(100)); // too small: ignored
 * ```
 *
 * @param buffer The buffer.
 */
export function releaseBuffer(buffer: ArrayBufferLike): void {
  if (!(buffer instanceof ArrayBuffer)) return;
  const n = buffer.byteLength;
  if (n < POOL_MIN || n > POOL_MAX || spare.length >= SLOTS || spare.includes(buffer)) return;
  spare.push(buffer);
}

/**
 * Takes a spare buffer of `min` to `max` bytes (old contents included), or null when there is
 * none.
 *
 * @example
 * ```ts
 * import { takeBuffer } from "./buffer_pool.ts";
 * const buffer = takeBuffer(1 << 20, 2 << 20) ?? new ArrayBuffer(1 << 20);
 * console.log(buffer.byteLength >= 1 << 20); // true
 * ```
 *
 * @param min The smallest acceptable size.
 * @param max The largest acceptable size.
 * @returns The buffer, now owned by the caller, or null.
 */
export function takeBuffer(min: number, max: number): ArrayBuffer | null {
  for (let i = spare.length - 1; i >= 0; i--) {
    const b = spare[i]!;
    if (b.byteLength >= min && b.byteLength <= max) {
      spare.splice(i, 1);
      return b;
    }
  }
  return null;
}

/**
 * Gives a received payload's own buffer back once it has been decoded into values that do not
 * point into it (json and serpent make strings and copies; msgpack does not qualify). Only a
 * payload big enough to have had a buffer of its own is taken, and only when no annotation
 * views point into that buffer.
 *
 * @example
 * ```ts
 * import { recycleReceived } from "./buffer_pool.ts";
 * recycleReceived(new Uint8Array(10), new Map()); // too small to have a buffer of its own: kept
 * ```
 *
 * @param data The payload, decoded and no longer needed.
 * @param annotations The message's annotations.
 */
export function recycleReceived(
  data: Uint8Array,
  annotations: ReadonlyMap<string, Uint8Array>,
): void {
  if (data.length >= POOL_MIN && annotations.size === 0) releaseBuffer(data.buffer);
}
