/**
 * Fuzzing a live daemon and a live name server (in a child process) with mutated frames from
 * the interop corpus and random bytes. Seeded and bounded in count and time; quick by default.
 * Afterwards both still answer a well-formed PING and a real call, and the server's heap (after
 * a forced gc) is back near where it started.
 *
 * Environment: PYRO_FUZZ_SEED (default 1), PYRO_FUZZ_CASES (default 1500),
 * PYRO_FUZZ_SECONDS (default 8).
 */

import assert from "node:assert/strict";
import { MessageConnection } from "../_wire/connection.ts";
import { createProxy, type UntypedMethods } from "../proxy.ts";
import { encodeMessage, MessageType } from "../_wire/protocol.ts";
import { startServerProcess } from "./_server_process.ts";
import { fromHex as hexToBytes } from "./_hex.ts";

const INTEROP = new URL("../../shared/interop/", import.meta.url);

function env(name: string, fallback: number): number {
  const v = Number(Deno.env.get(name));
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Corpus {
  /** Client-to-server byte sequences per recorded connection, as lists of frames. */
  daemon: Uint8Array[][];
  ns: Uint8Array[][];
}

async function loadCorpus(): Promise<Corpus> {
  const corpus: Corpus = { daemon: [], ns: [] };
  for await (const entry of Deno.readDir(new URL("transcripts/", INTEROP))) {
    if (
      !entry.name.endsWith(".json") || entry.name === "index.json" ||
      entry.name === "broadcast.json"
    ) continue;
    const file = JSON.parse(await Deno.readTextFile(new URL(`transcripts/${entry.name}`, INTEROP)));
    const conns = new Map<number, Uint8Array[]>();
    for (const f of file.frames as { conn: number; dir: string; hex: string }[]) {
      if (f.dir !== "c2s") continue;
      if (!conns.has(f.conn)) conns.set(f.conn, []);
      conns.get(f.conn)!.push(hexToBytes(f.hex));
    }
    (entry.name.startsWith("ns_") ? corpus.ns : corpus.daemon).push(...conns.values());
  }
  const vectors = JSON.parse(await Deno.readTextFile(new URL("pyro5-vectors.json", INTEROP)));
  for (const v of Object.values(vectors) as { hex: string }[]) {
    if (typeof v.hex === "string" && v.hex.startsWith("5059524f")) {
      corpus.daemon.push([hexToBytes(v.hex)]);
    }
  }
  return corpus;
}

const INTERESTING = [
  0x00,
  0x01,
  0x7f,
  0x80,
  0xff,
  0xfe,
  0x3a,
  0x22,
  0x5b,
  0x7b,
  0xc0,
  0xdc,
  0xde,
  0xdf,
  0xc9,
];

/** One mutation of a frame list; returns the bytes to send. */
function mutate(rand: () => number, frames: Uint8Array[], all: Uint8Array[][]): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const parts = frames.map((f) => f.slice());
  const target = Math.floor(rand() * parts.length);
  let f = parts[target]!;
  const op = Math.floor(rand() * 10);
  const at = () => Math.floor(rand() * Math.max(1, f.length));
  switch (op) {
    case 0: // bit flips
      for (let i = 0, n = 1 + Math.floor(rand() * 8); i < n; i++) {
        f[at()]! ^= 1 << Math.floor(rand() * 8);
      }
      break;
    case 1: // interesting bytes, in the header or the body
      for (let i = 0, n = 1 + Math.floor(rand() * 4); i < n; i++) f[at()] = pick(INTERESTING);
      break;
    case 2: // truncate
      f = f.subarray(0, at());
      break;
    case 3: { // random bytes appended or inserted
      const extra = crypto.getRandomValues(new Uint8Array(Math.floor(rand() * 300)));
      const pos = at();
      const g = new Uint8Array(f.length + extra.length);
      g.set(f.subarray(0, pos));
      g.set(extra, pos);
      g.set(f.subarray(pos), pos + extra.length);
      f = g;
      break;
    }
    case 4: { // size fields: data size and annotations size
      const view = new DataView(f.buffer, f.byteOffset, f.length);
      if (f.length >= 20) view.setUint32(rand() < 0.5 ? 12 : 16, Math.floor(rand() * 2 ** 32));
      break;
    }
    case 5: { // payload replaced by a slice of another frame's payload
      const other = pick(pick(all));
      if (f.length > 40 && other.length > 40) {
        const src = other.subarray(40 + Math.floor(rand() * (other.length - 40)));
        f.set(src.subarray(0, f.length - 40), 40);
      }
      break;
    }
    case 6: // type, serializer, flags bytes
      if (f.length >= 10) f[4 + Math.floor(rand() * 6)] = Math.floor(rand() * 256);
      break;
    case 7: // pure random bytes
      f = crypto.getRandomValues(new Uint8Array(Math.floor(rand() * 600)));
      break;
    case 8: // duplicate frames (pipelining, replays)
      parts.push(...parts.slice(0, 1 + Math.floor(rand() * parts.length)));
      break;
    default: // unchanged frame somewhere in a mutated sequence
      if (parts.length > 1) parts.splice(target, 1);
      break;
  }
  parts[target] = f;
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Sends bytes, half-closes, and reads until the server closes (or 2 s pass). */
async function shoot(port: number, bytes: Uint8Array): Promise<"closed" | "timeout" | "refused"> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return "refused";
  }
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // closed
    }
  }, 2000);
  let outcome: "closed" | "timeout" = "closed";
  try {
    // Send in a few random pieces to exercise partial reads.
    let pos = 0;
    while (pos < bytes.length) {
      const n = Math.min(bytes.length - pos, 1 + Math.floor(Math.random() * 512));
      pos += await conn.write(bytes.subarray(pos, pos + n));
    }
    await conn.closeWrite();
    const buf = new Uint8Array(65536);
    while ((await conn.read(buf)) !== null) { /* drain replies */ }
  } catch {
    outcome = "closed";
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      outcome = "timeout";
    }
  }
  return outcome;
}

async function wellFormedPing(port: number): Promise<boolean> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const mc = new MessageConnection(conn);
  try {
    await mc.send(
      encodeMessage({
        type: MessageType.CONNECT,
        serializerId: 3,
        seq: 0,
        data: new TextEncoder().encode('{"handshake": "hello", "object": "Pyro.Daemon"}'),
      }),
    );
    const ok = await mc.receive();
    if (ok?.type !== MessageType.CONNECTOK) return false;
    await mc.send(encodeMessage({ type: MessageType.PING, serializerId: 3, seq: 999 }));
    const pong = await mc.receive();
    return pong?.type === MessageType.PING && pong.seq === 999 &&
      new TextDecoder().decode(pong.data) === "pong";
  } finally {
    mc.close();
  }
}

type Stats = { rss: number; heapUsed: number; gc: boolean; connections: number };

Deno.test("A live daemon and name server survive mutated frames and random bytes", async () => {
  const seed = env("PYRO_FUZZ_SEED", 1);
  const cases = env("PYRO_FUZZ_CASES", 1500);
  const budget = env("PYRO_FUZZ_SECONDS", 8) * 1000;
  const corpus = await loadCorpus();
  const server = await startServerProcess();
  const thing = createProxy<UntypedMethods<"echo" | "stats" | "add">>(
    `PYRO:thing@127.0.0.1:${server.daemonPort}`,
  );
  const ns = createProxy<UntypedMethods<"ping" | "count" | "register" | "lookup">>(
    `PYRO:Pyro.NameServer@127.0.0.1:${server.nsPort}`,
  );
  try {
    // Warm up, then take the baseline.
    for (let i = 0; i < 50; i++) {
      await shoot(
        server.daemonPort,
        corpus.daemon[i % corpus.daemon.length]!.reduce((a, b) => concat(a, b)),
      );
    }
    const before = await thing.stats() as Stats;
    const rand = prng(seed);
    const started = Date.now();
    const outcomes = { closed: 0, timeout: 0, refused: 0 };
    let tried = 0;
    let bytes = 0;
    while (tried < cases && Date.now() - started < budget) {
      const toNs = rand() < 0.35;
      const pool = toNs ? corpus.ns : corpus.daemon;
      const input = mutate(rand, pool[Math.floor(rand() * pool.length)]!, pool);
      outcomes[await shoot(toNs ? server.nsPort : server.daemonPort, input)]++;
      tried++;
      bytes += input.length;
    }
    const after = await thing.stats() as Stats;
    console.log(
      `fuzz: seed ${seed}, ${tried} inputs (${bytes} bytes) in ${Date.now() - started} ms, ` +
        `outcomes ${JSON.stringify(outcomes)}, heapUsed ${before.heapUsed} -> ${after.heapUsed}, ` +
        `rss ${before.rss} -> ${after.rss}, gc ${after.gc}`,
    );
    assert.equal(outcomes.refused, 0);
    assert.ok(tried >= Math.min(cases, 50));
    // Both still answer a well-formed PING and a real call.
    assert.ok(await wellFormedPing(server.daemonPort));
    assert.ok(await wellFormedPing(server.nsPort));
    assert.deepEqual(await thing.echo({ after: "fuzz" }), { after: "fuzz" });
    assert.equal(await thing.add(2, 3), 5);
    assert.equal(await ns.ping(), null);
    await ns.register("fuzz.after", `PYRO:x@127.0.0.1:1`);
    assert.equal(String(await ns.lookup("fuzz.after")), "PYRO:x@127.0.0.1:1");
    // Memory is back near where it started (after a forced gc in the server).
    assert.ok(
      after.heapUsed < before.heapUsed + 16 * 1024 * 1024,
      `heap grew from ${before.heapUsed} to ${after.heapUsed}`,
    );
  } finally {
    await thing._pyroRelease();
    await ns._pyroRelease();
    await server.stop();
  }
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
