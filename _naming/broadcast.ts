/**
 * Name server discovery by UDP broadcast, as in Pyro5: a responder on port 9091 answers the
 * exact 9-byte datagram `GET_NSURI` with the name server's URI as Latin-1 text (no framing),
 * and a client sends `GET_NSURI` to the configured broadcast addresses and takes the first
 * reply.
 *
 * Unlike Pyro5, our name server starts the responder also when it is bound to a loopback
 * address (the responder binds the wildcard address), so that discovery works, and can be
 * tested, on one machine. Sockets come from `node:dgram`, which Deno supports without
 * unstable flags.
 *
 * @example Answering and asking on the loopback network
 * ```ts
 * import { discoverNameServer, startBroadcastResponder } from "./broadcast.ts";
 *
 * const responder = await startBroadcastResponder("PYRO:Pyro.NameServer@127.0.0.1:9090", {
 *   port: 0,
 * });
 * const uri = await discoverNameServer({ addresses: ["127.255.255.255"], port: responder.port });
 * console.log(uri); // PYRO:Pyro.NameServer@127.0.0.1:9090
 * await responder.close();
 * ```
 *
 * @module
 */

import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { log } from "../log.ts";

/** The request datagram. */
export const GET_NSURI = "GET_NSURI";

/** The longest reply a Python client reads (`recvfrom(100)`). */
const MAX_REPLY = 100;

/** Options of {@linkcode startBroadcastResponder}. */
export interface BroadcastResponderOptions {
  /**
   * Address to bind; null or `""` means every interface (IPv4 `0.0.0.0`, or `::` when the
   * name server URI is IPv6).
   *
   * @default {null}
   */
  hostname?: string | null;
  /**
   * UDP port; 0 picks a free one (tests).
   *
   * @default {9091}
   */
  port?: number;
  /**
   * Most replies per second in total; requests beyond it are dropped (a flood, possibly with
   * forged senders, gets no amplifier and costs little).
   *
   * @default {200}
   */
  maxRepliesPerSecond?: number;
  /**
   * Most replies per second to one sender (address and port); a discovering client asks
   * at most three times.
   *
   * @default {5}
   */
  maxRepliesPerSender?: number;
}

/** Senders remembered by the rate limiter at most; beyond, the oldest are forgotten. */
const MAX_SENDERS = 4096;

/**
 * Token buckets for the responder: one for all replies and one per sender, refilled per
 * second, with a bounded table of senders. Dropped requests and ignored datagrams are logged
 * once per interval with their counts.
 */
class ReplyLimiter {
  readonly #total: number;
  readonly #perSender: number;
  #totalTokens: number;
  #totalAt = Date.now();
  readonly #senders = new Map<string, { tokens: number; at: number }>();
  #dropped = 0;
  #ignored = 0;
  #loggedAt = 0;

  constructor(total: number, perSender: number) {
    this.#total = Math.max(1, total);
    this.#perSender = Math.max(1, perSender);
    this.#totalTokens = this.#total;
  }

  /** True when a reply to `sender` may go out now. */
  allow(sender: string): boolean {
    const now = Date.now();
    this.#totalTokens = Math.min(
      this.#total,
      this.#totalTokens + ((now - this.#totalAt) / 1000) * this.#total,
    );
    this.#totalAt = now;
    let bucket = this.#senders.get(sender);
    if (bucket === undefined) {
      if (this.#senders.size >= MAX_SENDERS) {
        this.#senders.delete(this.#senders.keys().next().value!);
      }
      bucket = { tokens: this.#perSender, at: now };
      this.#senders.set(sender, bucket);
    } else {
      bucket.tokens = Math.min(
        this.#perSender,
        bucket.tokens + ((now - bucket.at) / 1000) * this.#perSender,
      );
      bucket.at = now;
    }
    if (this.#totalTokens < 1 || bucket.tokens < 1) {
      this.#dropped++;
      this.#report(now);
      return false;
    }
    this.#totalTokens--;
    bucket.tokens--;
    return true;
  }

  /** Counts a datagram that is not a request. */
  ignore(): void {
    this.#ignored++;
    this.#report(Date.now());
  }

  #report(now: number): void {
    if (now - this.#loggedAt < 10_000) return;
    this.#loggedAt = now;
    log.warn(
      `name server broadcast responder: ${this.#ignored} datagrams that are not GET_NSURI ` +
        `ignored, ${this.#dropped} requests over the rate limit dropped`,
    );
    this.#ignored = 0;
    this.#dropped = 0;
  }
}

/** A running broadcast responder. */
export interface BroadcastResponder {
  /** The bound address. */
  readonly hostname: string;
  /** The bound UDP port. */
  readonly port: number;
  /** Stops answering and closes the socket. */
  close(): Promise<void>;
  /** Same as {@linkcode BroadcastResponder.close}. */
  [Symbol.asyncDispose](): Promise<void>;
}

function isWildcardHost(host: string | null): boolean {
  return host === null || host === "" || host === "0.0.0.0" || host === "::";
}

/** The local IPv4 address on the requester's network, for URIs bound to the wildcard address. */
function localAddressFor(requester: string): string {
  if (requester.startsWith("127.") || requester === "::1") return "127.0.0.1";
  const toInt = (a: string) => a.split(".").reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
  try {
    const candidates = Deno.networkInterfaces().filter((i) => i.family === "IPv4");
    for (const i of candidates) {
      const mask = toInt(i.netmask);
      if (((toInt(i.address) & mask) >>> 0) === ((toInt(requester) & mask) >>> 0)) return i.address;
    }
    const external = candidates.find((i) => !i.address.startsWith("127."));
    if (external) return external.address;
  } catch { /* no permission to list interfaces */ }
  return "127.0.0.1";
}

/** Puts a reachable host into a URI string whose host is a wildcard address. */
function replyFor(nsUri: string, requester: string): string {
  const m = /^(PYRO:[^@]*@)(0\.0\.0\.0|\[::\]|):(\d+)$/.exec(nsUri);
  if (!m) return nsUri;
  return `${m[1]}${localAddressFor(requester)}:${m[3]}`;
}

/**
 * Starts the UDP responder that answers `GET_NSURI` with `nsUri`. Any other datagram is
 * ignored; replies are rate limited in total and per sender (see the options), so that a
 * flood, possibly with forged senders, neither makes the responder an amplifier nor costs
 * more than a counter; errors on the socket are logged, never thrown.
 *
 * @example
 * ```ts
 * import { startBroadcastResponder } from "./broadcast.ts";
 * await using responder = await startBroadcastResponder("PYRO:Pyro.NameServer@127.0.0.1:9090", {
 *   port: 0,
 * });
 * console.log(responder.port > 0); // true
 * ```
 *
 * @param nsUri The name server URI to hand out (the internal one, not the NAT one).
 * @param options Where to listen.
 * @returns The running responder.
 */
export function startBroadcastResponder(
  nsUri: string | { toString(): string },
  options: BroadcastResponderOptions = {},
): Promise<BroadcastResponder> {
  const uri = String(nsUri);
  const ipv6 = /@\[/.test(uri);
  const hostname = isWildcardHost(options.hostname ?? null)
    ? (ipv6 ? "::" : "0.0.0.0")
    : options.hostname!;
  const socket = dgram.createSocket({ type: hostname.includes(":") ? "udp6" : "udp4" });
  const limiter = new ReplyLimiter(
    options.maxRepliesPerSecond ?? 200,
    options.maxRepliesPerSender ?? 5,
  );
  let closed: Promise<void> | null = null;
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    socket.once("error", onError);
    socket.bind(options.port ?? 9091, hostname, () => {
      socket.off("error", onError);
      socket.on("error", (err) => log.warn(`name server broadcast responder: ${err.message}`));
      socket.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
        if (msg.length !== GET_NSURI.length || Buffer.from(msg).toString("latin1") !== GET_NSURI) {
          limiter.ignore();
          return;
        }
        if (!limiter.allow(`${rinfo.address}|${rinfo.port}`)) return;
        const reply = Buffer.from(replyFor(uri, rinfo.address), "latin1");
        socket.send(reply, rinfo.port, rinfo.address, (err) => {
          if (err) log.warn(`name server broadcast responder: ${err.message}`);
        });
      });
      const address = socket.address();
      const close = (): Promise<void> => {
        closed ??= new Promise<void>((done) => socket.close(() => done()));
        return closed;
      };
      resolve({
        hostname: address.address,
        port: address.port,
        close,
        [Symbol.asyncDispose]: close,
      });
    });
  });
}

/** Options of {@linkcode discoverNameServer}. */
export interface DiscoverOptions {
  /**
   * Destinations of `GET_NSURI` (`locateNS` passes `config.BROADCAST_ADDRS`). `<broadcast>`
   * means 255.255.255.255, as in Pyro5.
   */
  addresses: readonly string[];
  /** The responder's UDP port. */
  port: number;
  /**
   * How long to wait for a reply in each round, in milliseconds.
   *
   * @default {700}
   */
  timeout?: number;
  /**
   * How many rounds of requests to send.
   *
   * @default {3}
   */
  rounds?: number;
  /** Stops the search early. */
  signal?: AbortSignal;
}

/**
 * Asks for a name server by broadcast: sends `GET_NSURI` to every address, up to `rounds`
 * times, and returns the first reply (a URI string, decoded as Latin-1), or null when nobody
 * answered.
 *
 * @example
 * ```ts
 * import { discoverNameServer } from "./broadcast.ts";
 * const found = await discoverNameServer({ addresses: ["127.255.255.255"], port: 1, timeout: 50, rounds: 1 });
 * console.log(found); // null (nothing listens on port 1)
 * ```
 *
 * @param options Where to ask, and how long to wait.
 * @returns The name server URI text, or null.
 */
export async function discoverNameServer(options: DiscoverOptions): Promise<string | null> {
  const addresses = options.addresses.map((a) => (a === "<broadcast>" ? "255.255.255.255" : a))
    .filter((a) => a !== "");
  if (addresses.length === 0) return null;
  // One socket per address family in the list: IPv4 broadcast, and IPv6 (multicast or unicast).
  const families = [...new Set(addresses.map((a) => (a.includes(":") ? "udp6" : "udp4")))];
  let onReply: ((text: string) => void) | null = null;
  const sockets = new Map<string, dgram.Socket>();
  try {
    for (const type of families) {
      const socket = dgram.createSocket({ type: type as "udp4" | "udp6" });
      sockets.set(type, socket);
      socket.on("message", (msg: Uint8Array) => {
        onReply?.(Buffer.from(msg.subarray(0, MAX_REPLY)).toString("latin1"));
      });
      socket.on("error", () => {/* unreachable destinations are not fatal */});
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(0, () => {
          socket.off("error", reject);
          resolve();
        });
      });
      if (type === "udp4") socket.setBroadcast(true);
    }
    const rounds = options.rounds ?? 3;
    for (let round = 0; round < rounds && !options.signal?.aborted; round++) {
      const reply = new Promise<string | null>((resolve) => {
        const finish = (text: string | null) => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", abort);
          onReply = null;
          resolve(text);
        };
        const abort = () => finish(null);
        const timer = setTimeout(() => finish(null), options.timeout ?? 700);
        options.signal?.addEventListener("abort", abort, { once: true });
        onReply = finish;
        for (const address of addresses) {
          const socket = sockets.get(address.includes(":") ? "udp6" : "udp4")!;
          socket.send(Buffer.from(GET_NSURI, "latin1"), options.port, address, () => {});
        }
      });
      const text = await reply;
      if (text !== null) return text;
    }
    return null;
  } finally {
    await Promise.all(
      [...sockets.values()].map((socket) =>
        new Promise<void>((resolve) => socket.close(() => resolve()))
      ),
    );
  }
}

/**
 * The broadcast destinations to use: all of them, or only the IPv6 ones when IPv6 is preferred
 * (`PREFER_IP_VERSION` 6; Pyro5 then skips broadcast, having no IPv6 targets). IPv6 entries are
 * sent as they are (a multicast group such as `ff01::1%lo`, or a unicast address); none are in
 * the defaults, so IPv6 discovery only goes where it is configured to.
 *
 * @example
 * ```ts
 * import { broadcastTargets } from "./broadcast.ts";
 * console.log(broadcastTargets(["<broadcast>", "::1"], 6)); // [ "::1" ]
 * console.log(broadcastTargets(["<broadcast>", "0.0.0.0"], 6)); // []
 * ```
 *
 * @param addresses The configured destinations (`BROADCAST_ADDRS`).
 * @param preferIpVersion `PREFER_IP_VERSION`.
 * @returns The destinations to send `GET_NSURI` to.
 */
export function broadcastTargets(addresses: readonly string[], preferIpVersion: number): string[] {
  return preferIpVersion === 6 ? addresses.filter((a) => a.includes(":")) : [...addresses];
}

/**
 * The loopback hosts to try first for a name server on this machine, as Pyro5's `locate_ns`:
 * `NS_HOST`, plus `127.0.1.1` when `NS_HOST` is an IPv4 loopback name and the hosts file maps
 * 127.0.1.1 (some systems give the machine's name that address), except on Windows.
 *
 * @example
 * ```ts
 * import { loopbackCandidates } from "./broadcast.ts";
 * console.log(loopbackCandidates("::1")); // [ "::1" ]
 * console.log(loopbackCandidates("example.com")); // []
 * ```
 *
 * @param nsHost The configured `NS_HOST`.
 * @param hostsFile The hosts file to look in.
 * @returns The hosts, empty when `NS_HOST` is not a loopback host.
 */
export function loopbackCandidates(nsHost: string, hostsFile = "/etc/hosts"): string[] {
  if (nsHost === "::1") return [nsHost];
  if (nsHost !== "localhost" && !nsHost.startsWith("127.")) return [];
  if (nsHost === "127.0.1.1" || Deno.build.os === "windows") return [nsHost];
  return hostsMaps127011(hostsFile) ? [nsHost, "127.0.1.1"] : [nsHost];
}

function hostsMaps127011(hostsFile: string): boolean {
  try {
    if (Deno.permissions.querySync({ name: "read", path: hostsFile }).state !== "granted") {
      return false;
    }
    return Deno.readTextFileSync(hostsFile).split("\n")
      .some((line) => /^\s*127\.0\.1\.1\s+\S/.test(line));
  } catch {
    return false;
  }
}
