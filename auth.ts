/**
 * Authentication through Pyro's connection handshake, the pattern Pyro5 documents: the client
 * sends a shared secret as its handshake data, the daemon's `validateHandshake` hook checks it.
 *
 * {@linkcode sharedSecretHandshake} makes that hook: it compares in constant time (SHA-256 of
 * both sides, then `timingSafeEqual`, so neither content nor length leaks through timing), and
 * on a mismatch throws, so the daemon answers CONNECTFAIL and closes the connection. Repeated
 * failures from one address are slowed down: each failure doubles that address's delay
 * before the refusal goes out, up to a maximum, in a table of bounded size.
 *
 * The secret travels as handshake data: use it over TLS (see tls.ts) or on a trusted network.
 * Python clients authenticate the same way (`proxy._pyroHandshake = secret`).
 *
 * @example A daemon that admits only clients knowing the secret
 * ```ts
 * import { sharedSecretHandshake, sharedSecretProxyOptions } from "./auth.ts";
 * import { Daemon } from "./daemon.ts";
 * import { expose } from "./expose.ts";
 * import { createProxy, type UntypedMethods } from "./proxy.ts";
 *
 * await using daemon = new Daemon({
 *   host: "127.0.0.1",
 *   validateHandshake: sharedSecretHandshake("s3cret"),
 * });
 * const uri = daemon.register(expose({ hello: () => "hi" }), "greeter");
 * await using proxy = createProxy<UntypedMethods<"hello">>(uri, sharedSecretProxyOptions("s3cret"));
 * console.log(await proxy.hello()); // "hi"
 * ```
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { CallContext } from "./context.ts";
import { SecurityError } from "./errors.ts";
import { log } from "./log.ts";

export type { CallContext, ConnectionInfo } from "./context.ts";

/** Options of {@linkcode sharedSecretHandshake}. Times are milliseconds. */
export interface SharedSecretOptions {
  /**
   * The value sent back in CONNECTOK when the secret matches.
   *
   * @default {"hello"}
   */
  reply?: unknown;
  /**
   * Delay before answering the first failure from an address; each further failure doubles it.
   *
   * @default {100}
   */
  baseDelay?: number;
  /**
   * The longest delay before a refusal.
   *
   * @default {5000}
   */
  maxDelay?: number;
  /**
   * An address's failures are forgotten after this long without a new one.
   *
   * @default {600000}
   */
  forgetAfter?: number;
  /**
   * Addresses remembered at most; the least recently failing ones are dropped first.
   *
   * @default {4096}
   */
  maxAddresses?: number;
}

/** Options of {@linkcode FailureThrottle}, in milliseconds. */
export interface FailureThrottleOptions {
  /** Delay after the first failure. @default {100} */
  baseDelay?: number;
  /** The longest delay. @default {5000} */
  maxDelay?: number;
  /** Failures are forgotten after this long without a new one. @default {600000} */
  forgetAfter?: number;
  /** Addresses remembered at most. @default {4096} */
  maxAddresses?: number;
}

interface Failures {
  count: number;
  last: number;
}

/**
 * Counts failures per address in a bounded table and says how long to delay the next answer
 * to that address: `baseDelay * 2^(failures - 1)`, at most `maxDelay`.
 *
 * @example
 * ```ts
 * import { FailureThrottle } from "./auth.ts";
 *
 * const throttle = new FailureThrottle({ baseDelay: 100, maxDelay: 1000 });
 * console.log(throttle.fail("10.0.0.1"), throttle.fail("10.0.0.1")); // 100 200
 * throttle.succeed("10.0.0.1");
 * console.log(throttle.failures("10.0.0.1")); // 0
 * ```
 */
export class FailureThrottle {
  readonly #table = new Map<string, Failures>();
  readonly #base: number;
  readonly #max: number;
  readonly #forget: number;
  readonly #size: number;

  /**
   * Makes an empty table.
   *
   * @param options Delays and table size.
   */
  constructor(options: FailureThrottleOptions = {}) {
    this.#base = Math.max(0, options.baseDelay ?? 100);
    this.#max = Math.max(this.#base, options.maxDelay ?? 5000);
    this.#forget = options.forgetAfter ?? 600_000;
    this.#size = Math.max(1, options.maxAddresses ?? 4096);
  }

  /** Number of addresses in the table. */
  get size(): number {
    return this.#table.size;
  }

  /**
   * The recent failure count of an address.
   *
   * @param address The address.
   * @returns The count (0 when unknown or forgotten).
   */
  failures(address: string): number {
    const entry = this.#table.get(address);
    if (entry === undefined) return 0;
    if (Date.now() - entry.last > this.#forget) {
      this.#table.delete(address);
      return 0;
    }
    return entry.count;
  }

  /**
   * Records a failure and returns the delay, in ms, to wait before answering it.
   *
   * @param address The failing address.
   * @returns The delay.
   */
  fail(address: string): number {
    const count = this.failures(address) + 1;
    this.#table.delete(address); // re-insert: the Map's order is least recently failing first
    this.#table.set(address, { count, last: Date.now() });
    while (this.#table.size > this.#size) {
      const oldest = this.#table.keys().next().value;
      if (oldest === undefined) break;
      this.#table.delete(oldest);
    }
    return Math.min(this.#max, this.#base * 2 ** Math.min(count - 1, 30));
  }

  /**
   * Forgets an address's failures (after a success).
   *
   * @param address The address.
   */
  succeed(address: string): void {
    this.#table.delete(address);
  }
}

function digest(value: string | Uint8Array): Uint8Array {
  return createHash("sha256").update(value).digest();
}

/**
 * Compares two secrets in constant time (no early exit, no length leak).
 *
 * @example
 * ```ts
 * import { secretsEqual } from "./auth.ts";
 * console.log(secretsEqual("abc", "abc"), secretsEqual("abc", "abd")); // true false
 * ```
 *
 * @param a One secret.
 * @param b The other.
 * @returns True when they are equal.
 */
export function secretsEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The host part of a connection's address: failures count per host, not per port. */
function hostOf(address: string | null): string {
  if (address === null) return "unknown";
  if (address.startsWith("[")) return address.slice(0, address.indexOf("]") + 1);
  const colon = address.lastIndexOf(":");
  return colon > 0 && !address.startsWith("/") ? address.slice(0, colon) : address;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Makes a daemon `validateHandshake` hook that admits clients whose handshake data equals the
 * secret (a string, or bytes). Anything else is refused after a delay that grows with the
 * failures from the same address: the client gets CONNECTFAIL "authentication failed" and the
 * daemon closes the connection. A success clears the address's failures.
 *
 * @example
 * ```ts
 * import { sharedSecretHandshake } from "./auth.ts";
 * import { Daemon } from "./daemon.ts";
 *
 * const secret = Deno.env.get("PYRO_SECRET") ?? "change me";
 * await using daemon = new Daemon({
 *   host: "127.0.0.1",
 *   validateHandshake: sharedSecretHandshake(secret, { maxDelay: 2000 }),
 * });
 * ```
 *
 * @param secret The shared secret.
 * @param options The reply value, delays and table size.
 * @returns The hook.
 */
export function sharedSecretHandshake(
  secret: string | Uint8Array,
  options: SharedSecretOptions = {},
): (data: unknown, context: CallContext) => Promise<unknown> {
  const expected = digest(secret);
  const reply = options.reply === undefined ? "hello" : options.reply;
  const throttle = new FailureThrottle(options);
  return async (data, context) => {
    const given = typeof data === "string" || data instanceof Uint8Array ? data : null;
    // Always hash something, so a wrong type costs the same as a wrong secret.
    const ok = timingSafeEqual(digest(given ?? ""), expected) && given !== null;
    const host = hostOf(context.clientAddress);
    if (ok) {
      throttle.succeed(host);
      return reply;
    }
    const delay = throttle.fail(host);
    log.warn(
      `auth: handshake from ${context.clientAddress ?? "unknown"} refused (failure ` +
        `${throttle.failures(host)} from ${host}, answering after ${delay} ms)`,
    );
    await sleep(delay);
    throw new SecurityError("authentication failed");
  };
}

/**
 * Proxy options that send the secret as handshake data (Pyro5's `_pyroHandshake`).
 *
 * @example
 * ```ts
 * import { sharedSecretProxyOptions } from "./auth.ts";
 * import { createProxy } from "./proxy.ts";
 *
 * const proxy = createProxy("PYRO:greeter@127.0.0.1:9999", {
 *   ...sharedSecretProxyOptions("s3cret"),
 *   timeout: 5000,
 * });
 * ```
 *
 * @param secret The shared secret.
 * @returns `{ handshake: secret }`.
 */
export function sharedSecretProxyOptions(
  secret: string | Uint8Array,
): { handshake: string | Uint8Array } {
  return { handshake: secret };
}
