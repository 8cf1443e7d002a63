/**
 * Large payloads are decoded a few milliseconds' worth per turn of the event loop,
 * process-wide. Decoding is synchronous on the daemon's one thread, and Deno resolves all the
 * reads that completed together in one batch: ten connections that each deliver a 4 MB payload
 * at once would otherwise be decoded back to back while every other socket waits. With this
 * gate, large decodes (with the synchronous part of their calls) go on back to back only while
 * the turn's budget ({@linkcode TURN_BUDGET_MS}) lasts; the rest wait for later turns, with the
 * other sockets polled in between. A lone large call, such as a 1 MiB bytes echo, never waits,
 * and cheap large payloads (ordinary data decodes at hundreds of MB/s) go on many per turn.
 *
 * @example
 * ```ts
 * import { decodeDone, decodeTurn, LARGE_PAYLOAD } from "./decode_turn.ts";
 * console.log(LARGE_PAYLOAD); // 65536
 * const wait = decodeTurn(); // undefined: nothing else large in this turn, decode at once
 * if (wait !== undefined) await wait;
 * // ... decode and serve the call synchronously ...
 * decodeDone();
 * ```
 *
 * @module
 */

import { setImmediate } from "node:timers";

/** Payloads of at least this many bytes go through {@linkcode decodeTurn}. */
export const LARGE_PAYLOAD = 64 * 1024;

/**
 * Milliseconds of large decodes per turn of the event loop before the others wait for the next
 * turn. Hostile payloads cost far more per byte than ordinary ones (a 4 MB payload of escapes
 * or of tiny containers takes tens of milliseconds), so they go one per turn.
 */
export const TURN_BUDGET_MS = 10;

const waiting: (() => void)[] = [];
/** When the current turn's first large decode started, or -1. */
let turnStart = -1;
let pumping = false;

function endTurn(): void {
  turnStart = -1;
}

function startTurn(): void {
  if (turnStart >= 0) return;
  turnStart = performance.now();
  setImmediate(endTurn);
}

function spent(): boolean {
  return turnStart >= 0 && performance.now() - turnStart >= TURN_BUDGET_MS;
}

/**
 * A new turn: the first waiting decode goes on. A timer, not `setImmediate`: in Deno,
 * immediates queued from an immediate run back to back without polling the sockets in between
 * (measured: a chain of 20 ms steps kept a pinging peer waiting 600 ms with immediates, 40 ms
 * with timers).
 */
function pump(): void {
  pumping = false;
  const next = waiting.shift();
  if (next === undefined) return;
  turnStart = -1;
  startTurn();
  if (waiting.length > 0) {
    pumping = true;
    setTimeout(pump, 0);
  }
  next();
}

/**
 * Asks for the turn of a large decode (or of another large synchronous step, such as encoding
 * the reply to a large request).
 *
 * @example
 * ```ts
 * import { decodeDone, decodeTurn } from "./decode_turn.ts";
 * const wait = decodeTurn();
 * if (wait !== undefined) await wait;
 * decodeDone();
 * ```
 *
 * @param first Wait ahead of the others (a step that finishes a call already decoded, so that
 *   its decoded values do not pile up behind new decodes).
 * @returns Undefined when the caller may decode at once, or a promise that resolves when its
 *   turn has come. Either way the caller decodes synchronously then, before awaiting anything
 *   else, and calls {@linkcode decodeDone} afterwards.
 */
export function decodeTurn(first = false): Promise<void> | undefined {
  if (waiting.length === 0 && !spent()) {
    startTurn();
    return undefined;
  }
  if (!pumping) {
    pumping = true;
    setTimeout(pump, 0);
  }
  return new Promise((resolve) => first ? waiting.unshift(resolve) : waiting.push(resolve));
}

/**
 * Says that a large decode (and the synchronous part of its call) has finished: the next
 * waiting one goes on in the same turn while the turn's budget lasts.
 *
 * @example
 * ```ts
 * import { decodeDone } from "./decode_turn.ts";
 * decodeDone(); // nothing waits: nothing happens
 * ```
 */
export function decodeDone(): void {
  if (waiting.length > 0 && !spent()) waiting.shift()!();
}
