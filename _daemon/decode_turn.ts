/**
 * Large payloads are decoded one per turn of the event loop, process-wide. Decoding is
 * synchronous on the daemon's one thread, and Deno resolves all the reads that completed
 * together in one batch: ten connections that each deliver a 4 MB payload at once would
 * otherwise be decoded back to back while every other socket waits. With this gate the first
 * large payload of a turn is decoded at once (a lone large call, such as a 1 MiB bytes echo,
 * never waits) and the others wait for later turns, one each, with the other sockets polled
 * in between.
 *
 * @example
 * ```ts
 * import { decodeTurn, LARGE_PAYLOAD } from "./decode_turn.ts";
 * const first = decodeTurn(); // nothing else large in this turn: decode at once
 * console.log(first, LARGE_PAYLOAD); // undefined 65536
 * await decodeTurn(); // the second one in the same turn waits for the next turn
 * ```
 *
 * @module
 */

import { setImmediate } from "node:timers";

/**
 * Payloads of at least this many bytes go through {@linkcode decodeTurn} (decoding 64 KiB
 * takes well under a millisecond for ordinary data, a few ms for the worst hostile data).
 */
export const LARGE_PAYLOAD = 64 * 1024;

const waiting: (() => void)[] = [];
/** A large payload was decoded (or granted) in the current turn. */
let taken = false;
let pumping = false;

function reset(): void {
  taken = false;
}

/**
 * Gives the next waiting decode its turn. A timer, not `setImmediate`: in Deno, immediates
 * queued from an immediate run back to back without polling the sockets in between
 * (measured: a chain of 20 ms steps kept a pinging peer waiting 600 ms with immediates, 40 ms
 * with timers).
 */
function pump(): void {
  const next = waiting.shift();
  if (next === undefined) {
    pumping = false;
    return;
  }
  taken = true;
  setImmediate(reset);
  setTimeout(pump, 0);
  next();
}

/**
 * Asks for the turn of a large decode.
 *
 * @example
 * ```ts
 * import { decodeTurn } from "./decode_turn.ts";
 * const wait = decodeTurn();
 * if (wait !== undefined) await wait;
 * // decode synchronously here
 * ```
 *
 * @returns Undefined when the caller may decode at once, or a promise that resolves when its
 *   turn has come (the caller decodes synchronously then, before awaiting anything else).
 */
export function decodeTurn(): Promise<void> | undefined {
  if (!taken && waiting.length === 0) {
    taken = true;
    setImmediate(reset);
    return undefined;
  }
  if (!pumping) {
    pumping = true;
    setTimeout(pump, 0);
  }
  return new Promise((resolve) => waiting.push(resolve));
}
