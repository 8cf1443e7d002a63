/**
 * The catalogue of benchmark figures: name, unit, the baseline its ratio is taken against
 * (always a figure of the same mode in the same run) and the target from the benchmark issue.
 * bench/main.ts measures them; tests/bench_smoke_test.ts checks that every name is printed.
 *
 * @module
 */

import {
  COMPARE_TESTS,
  MANY_CLIENTS,
  MANY_CONFIGS,
  MANY_TARGET,
  RAW_CONNECT_TEST,
  RAW_TEST,
  SEQ_SERIALIZERS,
  sideNames,
} from "./_pyro5_compare.ts";

/** A target: `value / of` (or the value itself when `of` is null) within bounds. */
export interface Target {
  /** The figure the value is divided by, or null for an absolute bound. */
  of: string | null;
  /** Lowest allowed. */
  min?: number;
  /** Highest allowed. */
  max?: number;
  /** How the target reads in the table. */
  text: string;
  /**
   * Check the ratio of the two figures' paired ratios (each measured alternating with raw
   * ping-pong runs in its own client process) rather than their plain ratio.
   */
  ofPaired?: boolean;
}

/** One figure of the suite. */
export interface FigureSpec {
  /** Unique name, e.g. `echo.seq.msgpack`. */
  name: string;
  /** Unit of the value. */
  unit: string;
  /** The figure (same mode, same run) the ratio column divides by, or null. */
  ratioTo: string | null;
  /** The target, when it has one. */
  target: Target | null;
  /** What is measured. */
  description: string;
}

/** The serializers measured over TCP. */
export const SERIALIZERS = ["msgpack", "json"] as const;
/** Serializers measured over TCP only by the sequential echo (paired with raw ping-pong). */
export const SEQ_ONLY_SERIALIZERS = ["serpent"] as const;
/** In-flight counts of the concurrency figures. */
export const INFLIGHT = [1, 10, 100] as const;
/** Client process counts of the many-clients figures. */
export const CLIENTS = [1, 2, 8] as const;
/** Payload figures: test name in the client role, label. */
export const PAYLOAD_LABELS = [["p1k", "1KiB"], ["p64k", "64KiB"], ["p1m", "1MiB"]] as const;

const RAW_PP = "raw.pingpong.tcp";
const RAW_1M = "raw.echo-1MiB.tcp";

function build(): FigureSpec[] {
  const f: FigureSpec[] = [];
  const add = (
    name: string,
    unit: string,
    ratioTo: string | null,
    description: string,
    target: Target | null = null,
  ) => f.push({ name, unit, ratioTo, target, description });

  add(RAW_PP, "calls/s", null, "raw Deno.connect/listen ping-pong of Pyro-echo-sized frames");
  add(RAW_1M, "MB/s", null, "raw echo of 1 MiB frames");
  add(
    "raw.echo-1MiB-fresh.tcp",
    "MB/s",
    RAW_1M,
    "raw echo of 1 MiB frames, each read into a new buffer (as a call's result must be)",
  );
  add("raw.connect.tcp", "conn/s", null, "raw connect + one ping-pong + close");
  add("raw.pingpong.unix", "calls/s", null, "raw ping-pong over a Unix socket");
  add("raw.echo-1MiB.unix", "MB/s", null, "raw 1 MiB echo over a Unix socket");
  add(
    "raw.echo-1MiB-fresh.unix",
    "MB/s",
    "raw.echo-1MiB.unix",
    "raw 1 MiB echo over a Unix socket, each frame read into a new buffer",
  );

  for (const s of SERIALIZERS) {
    const seq = `echo.seq.${s}`;
    add(seq, "calls/s", RAW_PP, `sequential echo("hello") on one proxy, ${s}`, {
      of: RAW_PP,
      min: 0.9,
      text: `>= 0.9x ${RAW_PP}`,
    });
    for (const k of INFLIGHT) {
      add(
        `echo.inflight-${k}.${s}`,
        "calls/s",
        RAW_PP,
        `Promise.all of ${k} echo calls on one proxy, ${s}`,
        k === 100 ? { of: seq, min: 3, text: `>= 3x ${seq}` } : null,
      );
    }
    add(`oneway.sent.${s}`, "calls/s", RAW_PP, `oneway calls sent, ${s}`);
    add(`oneway.executed.${s}`, "calls/s", RAW_PP, `oneway calls executed (server counter), ${s}`);
    add(`batch-1000.${s}`, "calls/s", RAW_PP, `batches of 1000 echo calls, ${s}`, {
      of: seq,
      min: 20,
      text: `>= 20x ${seq}`,
    });
    for (const [, label] of PAYLOAD_LABELS) {
      add(
        `payload-${label}.${s}`,
        "MB/s",
        RAW_1M,
        `echo of ${label} of ${s === "json" ? "str (json has no bytes)" : "bytes"}, ${s}`,
        label === "1MiB" ? { of: RAW_1M, min: 0.5, text: `>= 0.5x ${RAW_1M}` } : null,
      );
    }
    add(`connect.${s}`, "conn/s", "raw.connect.tcp", `new proxy + first call + release, ${s}`, {
      of: "raw.connect.tcp",
      min: 0.8,
      text: ">= 0.8x raw.connect.tcp",
    });
  }
  add(
    "echo.seq.serpent",
    "calls/s",
    "echo.seq.msgpack",
    'sequential echo("hello") on one proxy, serpent (Python Pyro5\'s default serializer)',
    {
      of: "echo.seq.msgpack",
      min: 0.85,
      text: ">= 0.85x echo.seq.msgpack",
      ofPaired: true,
    },
  );
  for (const n of CLIENTS) {
    add(
      `clients-${n}.msgpack`,
      "calls/s",
      RAW_PP,
      `${n} client processes, aggregate sequential echo`,
    );
  }
  add(
    "ns.lookup",
    "calls/s",
    "echo.seq.msgpack",
    "name server lookup(name) (ratio: to echo; target: paired with an echo on the same daemon; cpu: per call of both)",
    { of: "echo.seq.msgpack", min: 0.9, text: ">= 0.9x echo on the same daemon" },
  );
  add(
    "ns.pyroname-connect",
    "conn/s",
    null,
    "new proxy for PYRONAME:name@ns + first call + release: lookup on the Name Server, then " +
      "connect (paired ratio: to new proxies for the PYRO: URI itself; cpu: per connection of both)",
  );
  add(
    "ns.register-remove",
    "pairs/s",
    "echo.seq.msgpack",
    "name server register + remove (ratio: to echo)",
  );
  add(
    "ns.list-prefix-100k",
    "calls/s",
    "echo.seq.msgpack",
    "list(prefix) matching 100 of 100 000 names (ratio: to echo)",
  );
  for (const kind of ["lookup", "register"] as const) {
    for (const store of ["memory", "sqlite", "postgres"] as const) {
      add(
        `ns.store.${store}.${kind}`,
        "calls/s",
        store === "memory" ? null : `ns.store.memory.${kind}`,
        `name server ${kind}(), sequential, on ${store} storage` +
          (store === "memory" ? "" : " (ratio: to memory)"),
        kind === "lookup" ? { of: null, min: 0.9, text: ">= 0.9x echo on the same daemon" } : null,
      );
    }
  }
  add(
    "ns.store.postgres.query-only",
    "calls/s",
    "ns.store.memory.lookup",
    "the lookup's SELECT alone, sequential, postgres.js from the bench process: the bound of a " +
      "lookup through a Name Server on PostgreSQL, which pays a call and this query (ratio: to memory)",
  );
  add(
    "ns.cluster.lookup-while-writing",
    "calls/s",
    "ns.store.postgres.lookup",
    "lookup() through one name server while another on the same PostgreSQL takes writes",
  );
  add(
    "ns.cluster.register-4-alongside",
    "calls/s",
    "ns.store.postgres.register",
    "the writes meanwhile: register() from 4 loops through the other name server",
  );
  add("web.tcp.echo.msgpack", "calls/s", RAW_PP, "sequential echo, Deno proxy -> daemon over TCP");
  add(
    "web.ws-browser.raw-pingpong",
    "calls/s",
    "web.tcp.echo.msgpack",
    "raw WebSocket ping-pong of 60-byte messages from a Chromium page (browser ceiling)",
  );
  add(
    "web.ws-browser.echo.msgpack",
    "calls/s",
    "web.tcp.echo.msgpack",
    "sequential echo from a Chromium page through the gateway's WebSocket relay",
  );
  add(
    "web.ws-deno.echo.msgpack",
    "calls/s",
    "web.tcp.echo.msgpack",
    "sequential echo, Deno proxy through the gateway's WebSocket relay (via)",
  );
  add(
    "gateway.tcp.echo.msgpack",
    "calls/s",
    RAW_PP,
    "sequential echo, Deno proxy -> daemon over TCP (the gateway's baseline)",
  );
  add(
    "gateway.http.echo",
    "calls/s",
    "gateway.tcp.echo.msgpack",
    "sequential echo over HTTP: fetch POST /pyro/<name>/echo -> gateway -> daemon",
  );
  add(
    "gateway.tcp.echo-16.msgpack",
    "calls/s",
    RAW_PP,
    "echo with 16 calls in flight, Deno proxy -> daemon over TCP",
  );
  add(
    "gateway.http.echo-16",
    "calls/s",
    "gateway.tcp.echo-16.msgpack",
    "echo over HTTP with 16 requests in flight (keep-alive) through the gateway",
  );
  add("memory.daemon-rss-1000-idle", "KiB", null, "daemon VmRSS with 1000 idle connected proxies");
  add("memory.idle-connection", "KiB/conn", null, "daemon VmRSS growth per idle connected proxy", {
    of: null,
    max: 64,
    text: "< 64 KiB/conn",
  });
  add(
    "memory.growth-1e6-calls",
    "KiB",
    null,
    "daemon VmRSS growth from call 200 000 to 1 000 000 (V8 young generation fixed at its largest)",
    {
      of: null,
      max: 4096,
      text: "< 4096 KiB (noise)",
    },
  );
  add(
    "unix.echo.seq.msgpack",
    "calls/s",
    "raw.pingpong.unix",
    "sequential echo over a Unix socket",
    {
      of: "raw.pingpong.unix",
      min: 0.8,
      text: ">= 0.8x raw.pingpong.unix",
    },
  );
  for (const [, label] of PAYLOAD_LABELS) {
    add(
      `unix.payload-${label}.msgpack`,
      "MB/s",
      "raw.echo-1MiB.unix",
      `echo of ${label} of bytes over a Unix socket`,
      label === "1MiB"
        ? { of: "raw.echo-1MiB.unix", min: 0.5, text: ">= 0.5x raw.echo-1MiB.unix" }
        : null,
    );
  }
  add("python.ours-to-pyro5.echo.msgpack", "calls/s", RAW_PP, "our proxy -> Python Pyro5 daemon");
  add(
    "python.pyro5-to-pyro5.echo.msgpack",
    "calls/s",
    RAW_PP,
    "Python Pyro5 proxy -> Pyro5 daemon",
  );
  add(
    "python.speedup-vs-pyro5",
    "x",
    null,
    "echo.seq.msgpack (ours -> ours) / python.pyro5-to-pyro5.echo.msgpack",
  );
  comparison(f);
  return f;
}

function comparison(f: FigureSpec[]): void {
  for (const t of COMPARE_TESTS) {
    const [ours, theirs] = sideNames(t);
    const raw = t === RAW_TEST || t === RAW_CONNECT_TEST;
    f.push({
      name: ours,
      unit: t.unit,
      ratioTo: theirs,
      target: t.target === null
        ? null
        : { of: theirs, min: t.target, text: `>= ${t.target}x Pyro5` },
      description: raw ? `Deno: ${t.description}` : `ours -> ours: ${t.description}`,
    }, {
      name: theirs,
      unit: t.unit,
      ratioTo: null,
      target: null,
      description: raw
        ? `Python: ${t.description}`
        : `Python Pyro5 -> Python Pyro5: ${t.description}`,
    });
  }
  for (const s of SEQ_SERIALIZERS) {
    f.push({
      name: `pyro5.echo.seq.${s}.ceiling`,
      unit: "x",
      ratioTo: null,
      target: null,
      description: `${RAW_TEST.key}.deno / echo.seq.${s}.pyro5 per round: the most a Deno ` +
        `proxy and daemon could reach against Pyro5 if they cost nothing beyond the sockets`,
    });
  }
  f.push({
    name: "pyro5.connect.ceiling",
    unit: "x",
    ratioTo: null,
    target: null,
    description: `${RAW_CONNECT_TEST.key}.deno / connect.pyro5 per round: the most a Deno proxy ` +
      `and daemon could reach against Pyro5's connection set-up if they cost nothing beyond the sockets`,
  });
  const best = `pyro5.clients-${MANY_CLIENTS}.pyro5-best`;
  for (const [config, description] of MANY_CONFIGS) {
    const compared = !config.startsWith("pyro5-");
    f.push({
      name: `pyro5.clients-${MANY_CLIENTS}.${config}`,
      unit: "calls/s",
      ratioTo: compared ? best : null,
      target: compared && config === "ours"
        ? { of: best, min: MANY_TARGET, text: `>= ${MANY_TARGET}x Pyro5's better server` }
        : null,
      description: `${MANY_CLIENTS} client processes, aggregate sequential echo: ${description}`,
    });
  }
  f.push({
    name: best,
    unit: "calls/s",
    ratioTo: null,
    target: null,
    description: `${MANY_CLIENTS} Python client processes: the better Pyro5 server of each round`,
  }, {
    name: `pyro5.clients-${MANY_CLIENTS}.ceiling`,
    unit: "x",
    ratioTo: null,
    target: null,
    description: `raw-deno / pyro5-best per round: the most ${MANY_CLIENTS} Deno client ` +
      `processes could reach against Pyro5 if Pyro cost nothing beyond the sockets`,
  });
}

/** Every figure, in table order. */
export const FIGURES: readonly FigureSpec[] = build();
