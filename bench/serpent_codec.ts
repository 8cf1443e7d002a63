/**
 * Encode and decode rate of the serpent codec against the msgpack codec on the same messages,
 * measured in one run, per second of CPU time (the best of five short runs, so that other load
 * on the machine counts little). Prints a table; no assertions.
 *
 * Run: `deno run -A bench/serpent_codec.ts`
 *
 * @module
 */

import process from "node:process";
import { getSerializer, type Serializer } from "../serializer.ts";
import { tuple } from "../value.ts";

interface Message {
  name: string;
  call?: { object: string; method: string; params: unknown[]; kwargs: Record<string, unknown> };
  value?: unknown;
}

const MESSAGES: Message[] = [
  {
    name: "call echo('hello')",
    call: { object: "thing", method: "echo", params: ["hello"], kwargs: {} },
  },
  {
    name: "call with kwargs",
    call: {
      object: "Pyro.NameServer",
      method: "list",
      params: [],
      kwargs: { prefix: "demo.", return_metadata: false },
    },
  },
  { name: "result int", value: 42 },
  {
    name: "CONNECTOK metadata",
    value: {
      handshake: "hello",
      meta: {
        methods: new Set([
          "echo",
          "fire",
          "gen",
          "fired",
          "annotated",
          "kw",
          "corr_id",
          "fail_value",
        ]),
        oneway: new Set(["fire"]),
        attrs: new Set(["value"]),
      },
    },
  },
  {
    name: "nested record",
    value: {
      name: "x",
      nested: { list: [1, 2, { deep: true }], empty: {}, t: tuple(1, "a", 2.5) },
      none: null,
      big: 2n ** 70n,
    },
  },
  { name: "text 10 kB ASCII", value: "Pyro5 serpent benchmark text. ".repeat(340) },
  { name: "text 10 kB non-ASCII", value: "héllo wörld ✓ 😀 ".repeat(590) },
  { name: "1000 ints", value: Array.from({ length: 1000 }, (_, i) => i * 7919 - 500000) },
  { name: "1000 floats", value: Array.from({ length: 1000 }, (_, i) => i / 7 + 0.001) },
  {
    name: "200 records",
    value: Array.from(
      { length: 200 },
      (_, i) => ({ id: i, name: `item-${i}`, price: i * 1.25, tags: ["a", "b"] }),
    ),
  },
  { name: "bytes 64 kB", value: Uint8Array.from({ length: 65536 }, (_, i) => (i * 31) & 255) },
];

/** CPU time of this process in milliseconds (robust to other load on a shared machine). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Operations per second of CPU time: the best of 5 short runs. */
function rate(fn: () => void, ms = 50): number {
  for (let i = 0; i < 50; i++) fn(); // warm up
  let best = 0;
  for (let run = 0; run < 5; run++) {
    let n = 0;
    const start = cpuMs();
    let now = start;
    while (now - start < ms) {
      for (let i = 0; i < 20; i++) fn();
      n += 20;
      now = cpuMs();
    }
    best = Math.max(best, n / ((now - start) / 1000));
  }
  return best;
}

function measure(s: Serializer, m: Message): { enc: number; dec: number; size: number } {
  if (m.call) {
    const call = m.call;
    const data = s.dumpsCall(call);
    return {
      enc: rate(() => s.dumpsCall(call)),
      dec: rate(() => s.loadsCall(data)),
      size: data.length,
    };
  }
  const data = s.dumps(m.value);
  return { enc: rate(() => s.dumps(m.value)), dec: rate(() => s.loads(data)), size: data.length };
}

function fmt(x: number): string {
  return x >= 1e6
    ? `${(x / 1e6).toFixed(2)}M`
    : x >= 1e3
    ? `${(x / 1e3).toFixed(1)}k`
    : x.toFixed(0);
}

const serpent = getSerializer("serpent");
const msgpack = getSerializer("msgpack");
const rows: string[][] = [[
  "message",
  "bytes s/m",
  "serpent enc/s",
  "msgpack enc/s",
  "enc ratio",
  "serpent dec/s",
  "msgpack dec/s",
  "dec ratio",
  "serpent µs enc+dec",
]];
for (const m of MESSAGES) {
  const s = measure(serpent, m);
  const p = measure(msgpack, m);
  rows.push([
    m.name,
    `${s.size}/${p.size}`,
    fmt(s.enc),
    fmt(p.enc),
    (s.enc / p.enc).toFixed(2),
    fmt(s.dec),
    fmt(p.dec),
    (s.dec / p.dec).toFixed(2),
    (1e6 / s.enc + 1e6 / s.dec).toFixed(1),
  ]);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log(
  `serpent vs msgpack (ratio = serpent rate / msgpack rate; > 1 means serpent is faster)`,
);
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join("  "));
