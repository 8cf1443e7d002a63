/**
 * The Pyro client role of the benchmark suite: proxies of this library calling the `bench`
 * object of a daemon in another process (ours, bench/_pyro_server.ts, or Python Pyro5's).
 *
 * Run by bench/main.ts:
 * `deno run -A bench/_pyro_client.ts suite --uri=PYRO:bench@... --serializer=msgpack --tests=echo,conc100,...`
 * writes one `result` message per figure; the roles `many`, `idle` and `calls` follow a short
 * dialogue with the orchestrator on standard input (see each function).
 *
 * @module
 */

import { createProxy, type Proxy } from "../proxy.ts";
import { FrameReader, makeFrame, MIB } from "./_raw.ts";
import {
  emit,
  emitPhase,
  emitRate,
  measureRate,
  type Plan,
  planFrom,
  processCpuUs,
  type Rate,
  roleArgs,
  stdinLines,
  summarize,
} from "./_stats.ts";

/** The remote interface of the bench object. */
export interface Bench {
  /** Returns its argument. */
  echo(x: unknown): unknown;
  /** Oneway: counts one call on the server. */
  tick(): void;
  /** The count of ticks. */
  ticks(): number;
  /** Resolves once `n` ticks were counted. */
  waitTicks(n: number): number;
  /** Sets the count to zero. */
  resetTicks(): void;
  /** The server's heap after a collection. */
  heap(): Record<string, number>;
}

/** The small value of the echo figures. */
export const SMALL = "hello";

/** Payload sizes of the payload figures, by test name. */
export const PAYLOADS: Record<string, number> = { p1k: 1024, p64k: 64 * 1024, p1m: 1024 * 1024 };

/** json has no bytes: its payloads are ASCII strings of the same length. */
function payload(size: number, serializer: string): unknown {
  if (serializer === "json") return "x".repeat(size);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i & 0xff;
  return bytes;
}

function heavy(plan: Plan, steps: number): Plan {
  return {
    ...plan,
    minSteps: Math.min(plan.minSteps, steps),
    warmupSteps: Math.min(plan.warmupSteps, steps),
  };
}

type BenchProxy = Proxy<Bench>;

/** Pairs of runs of a paired figure in a full run, and the length of each run. */
const PAIRS = 15;
const PAIR_RUN_MS = 200;

/** Where the raw ping-pong server of paired runs listens, and its frame sizes. */
interface RawTarget {
  /** The TCP port, or null for a Unix socket at `path`. */
  port: number | null;
  path?: string | undefined;
  req: number;
  resp: number;
}

/**
 * A figure measured in runs that alternate with raw socket runs of the same shape (same
 * process, same moment), so that the ratio holds even when background load changes during
 * the suite. Writes the result with `paired` (the per-pair ratios) and `pairedRaw` (raw
 * rates). The raw server answers a frame of `req` bytes with one of `resp` bytes (an echo
 * when they are equal). With `fresh`, each pair has a third run, of raw frames that both sides
 * read into new buffers, and the result gets `pairedFresh` (the ratios to those). With
 * `rawConnect`, the raw runs make that step instead (a raw connection set-up).
 */
async function pairedRuns(
  name: string,
  pyroStep: () => Promise<number>,
  plan: Plan,
  target: RawTarget,
  unitScale = 1,
  fresh = false,
  rawConnect: (() => Promise<number>) | null = null,
): Promise<void> {
  let conn: Deno.Conn;
  if (target.port === null) {
    conn = await Deno.connect({ transport: "unix", path: target.path! });
  } else {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: target.port });
    tcp.setNoDelay(true);
    conn = tcp;
  }
  const reader = new FrameReader(conn);
  const units = target.req === target.resp ? target.req - 40 : 1;
  const stepOf = (frame: Uint8Array) => async () => {
    let off = 0;
    while (off < frame.length) off += await conn.write(off === 0 ? frame : frame.subarray(off));
    await reader.read();
    return units;
  };
  const rawStep = rawConnect ?? stepOf(makeFrame(target.req, target.resp));
  const freshStep = stepOf(makeFrame(target.req, target.resp, true));
  try {
    const rawRates: number[] = [];
    const pyroRates: number[] = [];
    const ratios: number[] = [];
    const freshRatios: number[] = [];
    let steps = 0;
    let cpuUs = 0;
    // Short runs, many pairs: a burst of load on the machine then spoils few pairs, and the
    // median of the per-pair ratios stays put.
    const pairs = plan.runMs > 0 ? Math.max(plan.runs, PAIRS) : plan.runs;
    const runMs = plan.runMs > 0 ? Math.min(plan.runMs, PAIR_RUN_MS) : plan.runMs;
    for (let r = 0; r < pairs; r++) {
      const one: Plan = r === 0
        ? { ...plan, runs: 1, runMs }
        : { ...plan, runs: 1, runMs, warmupMs: 0, warmupSteps: 0 };
      const a = await measureRate(rawStep, one, unitScale);
      const b = await measureRate(pyroStep, one, unitScale);
      if (fresh) freshRatios.push(b.median / (await measureRate(freshStep, one, unitScale)).median);
      rawRates.push(a.median);
      pyroRates.push(b.median);
      ratios.push(b.median / a.median);
      steps += b.steps;
      cpuUs += b.cpuUs;
    }
    const rate: Rate = { ...summarize(pyroRates), steps, units: steps, cpuUs };
    emitRate(name, rate, steps, {
      paired: summarize(ratios),
      pairedRaw: summarize(rawRates),
      ...(fresh ? { pairedFresh: summarize(freshRatios) } : {}),
      ...(rawConnect === null ? {} : {
        pairedWith: "raw connections (connect, one ping-pong, close)",
        pairedUnit: "conn/s",
      }),
    });
  } finally {
    conn.close();
  }
}

async function runTest(
  test: string,
  uri: string,
  serializer: string,
  p: BenchProxy,
  plan: Plan,
  oneways: number,
  raw: RawTarget | null,
): Promise<void> {
  const m = /^conc(\d+)$/.exec(test);
  emitPhase(test);
  if (test === "echo" && raw !== null) {
    const step = async () => {
      await p.echo(SMALL);
      return 1;
    };
    await pairedRuns(test, step, plan, raw);
  } else if (test === "p1m" && raw !== null) {
    // The 1 MiB target figure alternates with raw 1 MiB echoes, as the sequential echo does.
    const value = payload(MIB, serializer);
    const step = async () => {
      const back = await p.echo(value);
      const len = (back as { length?: number }).length;
      if (len !== MIB) throw new Error(`echo of ${MIB} bytes returned ${String(len)}`);
      return MIB;
    };
    const size = MIB + 40; // a Pyro frame's 40-byte header, as the raw 1 MiB echo figure has
    // The first hundred or so 1 MiB calls of a process run slowly while its heap and the C
    // allocator settle (5-10 ms each, measured); the figure is the steady state after that.
    const settle = plan.warmupMs > 0 ? Math.max(plan.warmupMs, 2000) : 0;
    const p1mPlan = { ...heavy(plan, 10), warmupMs: settle, runs: Math.max(plan.runs, 7) };
    await pairedRuns(test, step, p1mPlan, { ...raw, req: size, resp: size }, 1e-6, true);
  } else if (test === "echo") {
    const rate = await measureRate(async () => {
      await p.echo(SMALL);
      return 1;
    }, plan);
    emitRate(test, rate, rate.units);
  } else if (m !== null) {
    const k = Number(m[1]);
    const rate = await measureRate(async () => {
      const calls: Promise<unknown>[] = new Array(k);
      for (let i = 0; i < k; i++) calls[i] = p.echo(SMALL);
      await Promise.all(calls);
      return k;
    }, heavy(plan, Math.max(3, Math.ceil(plan.minSteps / k))));
    emitRate(test, rate, rate.units);
  } else if (test === "oneway") {
    const sent: number[] = [];
    const executed: number[] = [];
    const runOnce = async () => {
      await p.resetTicks();
      const t0 = performance.now();
      for (let i = 0; i < oneways; i++) await p.tick();
      const t1 = performance.now();
      await p.waitTicks(oneways);
      const t2 = performance.now();
      return [oneways / ((t1 - t0) / 1000), oneways / ((t2 - t0) / 1000)] as const;
    };
    const cpu0 = processCpuUs();
    await runOnce(); // warm-up
    for (let r = 0; r < plan.runs; r++) {
      const [s, e] = await runOnce();
      sent.push(s);
      executed.push(e);
    }
    const calls = oneways * (plan.runs + 1);
    const clientCpuUs = (processCpuUs() - cpu0) / calls;
    emit({ type: "result", name: "oneway-sent", samples: sent, calls, clientCpuUs });
    emit({ type: "result", name: "oneway-executed", samples: executed, calls, clientCpuUs });
  } else if (test === "batch") {
    const rate = await measureRate(async () => {
      const batch = p._pyroBatch();
      for (let i = 0; i < 1000; i++) batch.echo(SMALL);
      const results = await batch._pyroRun();
      if (results.length !== 1000) throw new Error(`batch returned ${results.length} results`);
      return 1000;
    }, heavy(plan, 5));
    emitRate(test, rate, rate.units);
  } else if (test in PAYLOADS) {
    const size = PAYLOADS[test]!;
    const value = payload(size, serializer);
    const rate = await measureRate(
      async () => {
        const back = await p.echo(value);
        const len = (back as { length?: number }).length;
        if (len !== size) throw new Error(`echo of ${size} bytes returned ${String(len)}`);
        return size;
      },
      heavy(plan, size >= 1 << 20 ? 10 : 50),
      1e-6,
    );
    emitRate(test, rate, rate.steps);
  } else if (test === "connect" && raw !== null && raw.port !== null) {
    // Alternates with raw connections of the same shape: connect, one ping-pong, close.
    const frame = makeFrame(raw.req, raw.resp);
    const port = raw.port;
    await pairedRuns(
      test,
      async () => {
        const q = createProxy<Bench>(uri, { serializer });
        await q.echo(SMALL);
        await q._pyroRelease();
        return 1;
      },
      plan,
      raw,
      1,
      false,
      () => rawConnectOnce(port, frame),
    );
  } else if (test === "connect") {
    const rate = await measureRate(async () => {
      const q = createProxy<Bench>(uri, { serializer });
      await q.echo(SMALL);
      await q._pyroRelease();
      return 1;
    }, plan);
    emitRate(test, rate, rate.steps);
  } else {
    throw new Error(`unknown test '${test}'`);
  }
}

/** Runs the listed tests, each on the same warm proxy (except `connect`). */
async function suite(args: Record<string, string>): Promise<void> {
  const plan = planFrom(args);
  const uri = args.uri!;
  const serializer = args.serializer ?? "msgpack";
  const tests = (args.tests ?? "echo").split(",");
  const oneways = Number(args.oneways ?? 20_000);
  const rawAt = args["raw-port"] ?? args["raw-path"];
  const raw: RawTarget | null = rawAt === undefined ? null : {
    port: args["raw-port"] === undefined ? null : Number(args["raw-port"]),
    path: args["raw-path"],
    req: Number(args["raw-req"] ?? 60),
    resp: Number(args["raw-resp"] ?? 46),
  };
  const p = createProxy<Bench>(uri, { serializer });
  try {
    await p.echo(SMALL);
    for (const test of tests) {
      try {
        await runTest(test, uri, serializer, p, plan, oneways, raw);
      } catch (e) {
        emit({
          type: "result",
          name: test,
          unavailable: e instanceof Error ? e.message : String(e),
        });
        // a failed test may leave the connection in a bad state
        await p._pyroRelease();
      }
    }
  } finally {
    await p._pyroRelease();
  }
  emit({ type: "done" });
}

/**
 * One of several client processes: connects and warms up, writes `ready`, then for every
 * `go` line runs sequential echo calls for the planned duration and writes `run` with its
 * count and its start and end (ms since the epoch).
 */
async function many(args: Record<string, string>): Promise<void> {
  const plan = planFrom(args);
  // With --raw-port, raw ping-pongs with the raw server instead of calls (the fleet's ceiling).
  const raw = args["raw-port"] === undefined ? null : await rawPingPong(Number(args["raw-port"]), {
    req: Number(args["raw-req"] ?? 60),
    resp: Number(args["raw-resp"] ?? 46),
  });
  const p = raw === null
    ? createProxy<Bench>(args.uri!, { serializer: args.serializer ?? "msgpack" })
    : null;
  const step = raw?.step ?? (() => p!.echo(SMALL));
  for (let i = 0; i < plan.warmupSteps; i++) await step();
  emit({ type: "ready" });
  const lines = stdinLines();
  while (!(await lines.next()).done) {
    const start = performance.now();
    const end = start + plan.runMs;
    let count = 0;
    let now = start;
    while (count < plan.minSteps || now < end) {
      await step();
      count++;
      now = performance.now();
    }
    emit({
      type: "run",
      count,
      start: performance.timeOrigin + start,
      end: performance.timeOrigin + now,
    });
  }
  raw?.close();
  await p?._pyroRelease();
}

/** A raw TCP ping-pong with bench/_raw.ts's server: frames of `req` bytes, replies of `resp`. */
async function rawPingPong(
  port: number,
  size: { req: number; resp: number },
): Promise<{ step(): Promise<unknown>; close(): void }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const reader = new FrameReader(conn);
  const frame = makeFrame(size.req, size.resp);
  return {
    async step() {
      let off = 0;
      while (off < frame.length) off += await conn.write(off === 0 ? frame : frame.subarray(off));
      return await reader.read();
    },
    close: () => conn.close(),
  };
}

/**
 * One raw connection set-up, as bench/_raw.ts's `connect` test makes it: connect, one
 * ping-pong of `req`/`resp` frames, close.
 */
export async function rawConnectOnce(
  port: number,
  frame: Uint8Array,
): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  let off = 0;
  while (off < frame.length) off += await conn.write(off === 0 ? frame : frame.subarray(off));
  await new FrameReader(conn).read();
  conn.close();
  return 1;
}

/** The name server methods the `vs` role calls. */
interface NameServerCalls {
  lookup(name: string): unknown;
  register(name: string, uri: string, safe: boolean, metadata: string[]): void;
  remove(name: string): number;
}

/**
 * One step of each test of the `vs` role (the same steps as the `vs` role of
 * bench/_pyro_python.py); each resolves to the units it did (calls, bytes, pairs).
 */
function vsSteps(args: Record<string, string>): {
  step(test: string, serializer: string): Promise<number>;
  close(): Promise<void>;
} {
  const proxies = new Map<string, BenchProxy>();
  let ns: Proxy<NameServerCalls> | null = null;
  let registered = 0;
  const proxy = (serializer: string) => {
    let p = proxies.get(serializer);
    if (p === undefined) proxies.set(serializer, p = createProxy<Bench>(args.uri!, { serializer }));
    return p;
  };
  const nameServer = () =>
    ns ??= createProxy<NameServerCalls>(args["ns-uri"]!, { serializer: "msgpack" });
  const mib = payload(MIB, "msgpack");
  let raw: Promise<{ step(): Promise<unknown>; close(): void }> | null = null;
  let rawFrame: Uint8Array | null = null;
  return {
    async step(test, serializer) {
      if (test === "raw") {
        raw ??= rawPingPong(Number(args["raw-port"]), {
          req: Number(args["raw-req"] ?? 60),
          resp: Number(args["raw-resp"] ?? 46),
        });
        await (await raw).step();
        return 1;
      } else if (test === "rawconnect") {
        rawFrame ??= makeFrame(Number(args["raw-req"] ?? 60), Number(args["raw-resp"] ?? 46));
        return await rawConnectOnce(Number(args["raw-port"]), rawFrame);
      } else if (test === "echo") {
        await proxy(serializer).echo(SMALL);
        return 1;
      } else if (test === "p1m") {
        const back = await proxy("msgpack").echo(mib);
        const len = (back as { length?: number }).length;
        if (len !== MIB) throw new Error(`echo of ${MIB} bytes returned ${String(len)}`);
        return MIB;
      } else if (test === "batch") {
        const batch = proxy("msgpack")._pyroBatch();
        for (let i = 0; i < 1000; i++) batch.echo(SMALL);
        const results = await batch._pyroRun();
        if (results.length !== 1000) throw new Error(`batch returned ${results.length} results`);
        return 1000;
      } else if (test === "oneway") {
        const p = proxy("msgpack");
        for (let i = 0; i < 100; i++) await p.tick();
        await p.ticks(); // served after the ticks on this connection
        return 100;
      } else if (test === "connect") {
        const q = createProxy<Bench>(args.uri!, { serializer: "msgpack" });
        await q.echo(SMALL);
        await q._pyroRelease();
        return 1;
      } else if (test === "lookup") {
        await nameServer().lookup("bench.g7.n7");
        return 1;
      } else if (test === "register") {
        const name = `tmp.n${++registered}`;
        await nameServer().register(name, "PYRO:tmp@127.0.0.1:4000", false, ["tmp"]);
        const removed = await nameServer().remove(name);
        if (removed !== 1) throw new Error(`remove returned ${removed}`);
        return 1;
      }
      throw new Error(`unknown test '${test}'`);
    },
    async close() {
      (await raw)?.close();
      for (const p of proxies.values()) await p._pyroRelease();
      await ns?._pyroRelease();
    },
  };
}

/**
 * The Deno side of bench/_pyro5_compare.ts: for every input line
 * `{"test","serializer","runMs","minSteps","warmupSteps"}` makes a warm-up and one timed run
 * of the test and writes `run` with its rate (units per second).
 */
async function vs(args: Record<string, string>): Promise<void> {
  const steps = vsSteps(args);
  const lines = stdinLines();
  try {
    for (;;) {
      const next = await lines.next();
      if (next.done) break;
      if (next.value.trim() === "") continue;
      const req = JSON.parse(next.value) as {
        test: string;
        serializer?: string;
        runMs: number;
        minSteps: number;
        warmupSteps: number;
      };
      const ser = req.serializer ?? "msgpack";
      const rate = await measureRate(() => steps.step(req.test, ser), {
        runs: 1,
        runMs: req.runMs,
        minSteps: req.minSteps,
        warmupMs: 0,
        warmupSteps: req.warmupSteps,
      });
      emit({ type: "run", rate: rate.median });
    }
  } finally {
    await steps.close();
  }
}

/**
 * Memory dialogue: opens one proxy, asks for the heap (collecting garbage), writes `base` and
 * waits for a line; then opens `count` more proxies (connected, idle), asks again, writes
 * `idle` and waits for a line; then releases them all and writes `released`.
 */
async function idle(args: Record<string, string>): Promise<void> {
  const count = Number(args.count ?? 1000);
  const serializer = args.serializer ?? "msgpack";
  const lines = stdinLines();
  const first = createProxy<Bench>(args.uri!, { serializer });
  emit({ type: "base", heap: await first.heap() });
  await lines.next();
  const proxies: BenchProxy[] = [first];
  for (let i = 0; i < count; i += 50) {
    const chunk = Array.from(
      { length: Math.min(50, count - i) },
      () => createProxy<Bench>(args.uri!, { serializer }),
    );
    await Promise.all(chunk.map((q) => q._pyroBind()));
    proxies.push(...chunk);
  }
  emit({ type: "idle", count: proxies.length - 1, heap: await first.heap() });
  await lines.next();
  await Promise.all(proxies.map((q) => q._pyroRelease()));
  emit({ type: "released" });
}

/**
 * Makes `calls` echo calls, 100 in flight, and at every checkpoint (a call count) asks the
 * server for its heap after a collection, writes `checkpoint` and waits for an input line
 * (the orchestrator reads the server's RSS meanwhile).
 */
async function calls(args: Record<string, string>): Promise<void> {
  const total = Number(args.calls ?? 1_000_000);
  const checkpoints = (args.checkpoints ?? String(total)).split(",").map(Number);
  const p = createProxy<Bench>(args.uri!, { serializer: args.serializer ?? "msgpack" });
  const lines = stdinLines();
  const inflight = 100;
  let done = 0;
  const t0 = performance.now();
  for (const checkpoint of checkpoints) {
    while (done < checkpoint) {
      const k = Math.min(inflight, checkpoint - done);
      const batch: Promise<unknown>[] = new Array(k);
      for (let i = 0; i < k; i++) batch[i] = p.echo(SMALL);
      await Promise.all(batch);
      done += k;
    }
    const heap = await p.heap();
    emit({ type: "checkpoint", calls: done, heap, elapsedMs: performance.now() - t0 });
    await lines.next();
  }
  await p._pyroRelease();
  emit({ type: "done" });
}

if (import.meta.main) {
  const args = roleArgs(Deno.args);
  try {
    const role = args._0 ?? "suite";
    if (role === "suite") await suite(args);
    else if (role === "many") await many(args);
    else if (role === "idle") await idle(args);
    else if (role === "calls") await calls(args);
    else if (role === "vs") await vs(args);
    else throw new Error(`unknown role '${role}'`);
    Deno.exit(0);
  } catch (e) {
    emit({ type: "error", message: e instanceof Error ? e.message : String(e) });
    Deno.exit(1);
  }
}
