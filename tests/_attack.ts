/**
 * Helpers of the attack tests: the daemon process, its memory, a good client that measures
 * its call latency while an attack runs, and the hostile payloads.
 */

import { readLine } from "./_python.ts";
import { concatFrames, type MessageConnection } from "../_wire/connection.ts";
import { encodeMessage, Flags, MessageType } from "../_wire/protocol.ts";
import type { DaemonOptions } from "../daemon.ts";
import { RawClient } from "./_raw_client.ts";

/** Full mode (`PYRO_ATTACK_FULL=1`, or `deno task attack`): the numbers. */
export const FULL = Deno.env.get("PYRO_ATTACK_FULL") === "1";

const SERVER = new URL("./_attack_server.ts", import.meta.url).pathname;

/** A daemon running in a child process. */
export interface AttackServer {
  port: number;
  pid: number;
  limits: { maxConnections: number; maxConnectionsPerAddress: number };
  addr: Deno.NetAddr;
  /** Closes stdin and waits for the process to exit. */
  stop(): Promise<void>;
}

/** Starts tests/_attack_server.ts with these daemon options. */
export async function startAttackServer(options: DaemonOptions = {}): Promise<AttackServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", SERVER, JSON.stringify(options)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  const line = (await readLine(child.stdout)).split("\n")[0]!;
  if (line === "") throw new Error("attack server ended before it was ready");
  void child.stdout.pipeTo(new WritableStream()).catch(() => {});
  const info = JSON.parse(line);
  const writer = child.stdin.getWriter();
  let stopped: Promise<void> | undefined;
  return {
    ...info,
    addr: { transport: "tcp", hostname: "127.0.0.1", port: info.port },
    stop() {
      stopped ??= (async () => {
        await writer.close().catch(() => {});
        await child.status;
      })();
      return stopped;
    },
  };
}

/** The resident set size of a process, in bytes, from /proc/<pid>/status. */
export function rssOf(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/** Megabytes with one decimal. */
export function mb(bytes: number): string {
  return (bytes / (1 << 20)).toFixed(1);
}

/** Milliseconds since `start`. */
export function since(start: number): number {
  return performance.now() - start;
}

/** The p-th percentile of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;
}

/** Connects, shakes hands and calls `echo` once; resolves to the milliseconds it took. */
export async function freshCall(addr: Deno.NetAddr): Promise<number> {
  const start = performance.now();
  const client = await RawClient.connected(addr, "thing");
  try {
    const reply = await client.call("thing", "echo", ["hello"]);
    if (reply.value !== "hello") throw new Error(`unexpected reply ${String(reply.value)}`);
  } finally {
    client.close();
  }
  return since(start);
}

/**
 * A good client calling `echo` back to back on one connection, and sampling the daemon's RSS
 * as it goes, until stopped: the worst latency and the highest RSS seen during an attack.
 */
export class Prober {
  readonly latencies: number[] = [];
  peakRss = 0;
  #stop = false;
  #done: Promise<void>;

  private constructor(client: RawClient, pid: number) {
    this.#done = (async () => {
      let i = 0;
      while (!this.#stop) {
        const start = performance.now();
        const reply = await client.call("thing", "echo", [i]);
        this.latencies.push(since(start));
        if (reply.value !== i) throw new Error("the good client got a wrong reply");
        if (i++ % 8 === 0) this.peakRss = Math.max(this.peakRss, rssOf(pid));
      }
      client.close();
    })();
  }

  /** Connects a prober to the server. */
  static async start(server: AttackServer): Promise<Prober> {
    return new Prober(await RawClient.connected(server.addr, "thing"), server.pid);
  }

  /** The worst latency so far, in ms. */
  get worst(): number {
    return Math.max(0, ...this.latencies);
  }

  /** Stops after the call under way. */
  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

/**
 * Asks the server to collect garbage and returns its RSS afterwards; with `reduce`, a
 * memory-reducing collection (what V8 runs under memory pressure), which also gives V8's
 * free heap pages back to the system.
 */
export async function settledRss(server: AttackServer, reduce = false): Promise<number> {
  const client = await RawClient.connected(server.addr, "thing");
  try {
    await client.call("thing", "stats", [reduce]);
    await client.call("thing", "stats", [reduce]);
  } finally {
    client.close();
  }
  return rssOf(server.pid);
}

/** Reads the server's log lines collected since the last call. */
export async function serverLog(server: AttackServer): Promise<string[]> {
  const client = await RawClient.connected(server.addr, "thing");
  try {
    return (await client.call("thing", "log")).value as string[];
  } finally {
    client.close();
  }
}

/** Opens plain TCP connections that send nothing, `parallel` at a time. */
export async function openIdle(addr: Deno.NetAddr, count: number): Promise<Deno.TcpConn[]> {
  const conns: Deno.TcpConn[] = [];
  const parallel = 100;
  for (let i = 0; i < count; i += parallel) {
    const batch = Math.min(parallel, count - i);
    conns.push(
      ...await Promise.all(
        Array.from(
          { length: batch },
          () => Deno.connect({ hostname: "127.0.0.1", port: addr.port }),
        ),
      ),
    );
  }
  return conns;
}

/** A zlib stream of `size` zero bytes, made in 16 MiB steps (1.5 GB gives about 1.5 MB). */
export async function zlibBomb(size: number): Promise<Uint8Array> {
  const stream = new CompressionStream("deflate");
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      chunks.push(value);
      total += value.length;
    }
  })();
  const zero = new Uint8Array(16 << 20);
  for (let left = size; left > 0; left -= zero.length) {
    await writer.write(left >= zero.length ? zero : zero.subarray(0, left));
  }
  await writer.close();
  await reading;
  return concatFrames(chunks, total);
}

/** An INVOKE frame with this payload, flags and annotations, serializer `serializerId`. */
export function invokeFrame(
  data: Uint8Array,
  serializerId: number,
  options: { compressed?: boolean; annotations?: Map<string, Uint8Array> } = {},
): Uint8Array {
  const frame = encodeMessage({
    type: MessageType.INVOKE,
    serializerId,
    seq: 1,
    data,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  });
  if (options.compressed) frame[9]! |= Flags.COMPRESSED;
  return frame;
}

/**
 * Sends one hostile frame on a fresh, handshaken connection and waits until the daemon has
 * answered or closed it (either is fine; what matters is that it does not take the others down).
 */
export async function sendHostile(addr: Deno.NetAddr, frame: Uint8Array): Promise<string> {
  const client = await RawClient.connected(addr, "thing");
  try {
    await client.sendRaw(frame).catch(() => {});
    const conn: MessageConnection = client.conn;
    try {
      const msg = await conn.receive();
      if (msg === null) return "closed";
      return msg.flags & Flags.EXCEPTION ? "error reply" : "reply";
    } catch {
      return "closed";
    }
  } finally {
    client.close();
  }
}
