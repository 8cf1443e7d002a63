/**
 * The measurement groups of the benchmark suite. Each group starts its server and client role
 * processes (see `_runner.ts`) in one mode, collects their results, and records them by
 * figure name; a group that fails marks its figures unavailable with the reason instead of
 * stopping the run.
 *
 * @module
 */

import {
  CLIENTS,
  INFLIGHT,
  PAYLOAD_LABELS,
  SEQ_ONLY_SERIALIZERS,
  SERIALIZERS,
} from "./_pyro_figures.ts";
import { type Mode, Role, type RoleMessage, withRoles } from "./_runner.ts";
import { type Plan, summarize, type Summary } from "./_stats.ts";

/** A measured figure, or why it could not be measured. */
export type Result =
  | (Summary & {
    value: number;
    note?: string;
    serverCpuUs?: number;
    clientCpuUs?: number;
    /** Ratios to raw ping-pong runs alternating with this figure's runs. */
    paired?: Summary;
  })
  | { unavailable: string };

/** What every group needs. */
export interface Context {
  /** Pinned or not. */
  mode: Mode;
  /** Quick (smoke) mode. */
  quick: boolean;
  /** Run plan given to the client roles. */
  plan: Plan;
  /** Sizes of a Pyro echo request and reply frame (raw baseline frames use them). */
  frame: { req: number; resp: number };
  /** A temporary directory for Unix sockets. */
  tmp: string;
  /** Pyro5 source tree for the Python comparison, or null to skip it. */
  pyro5Path: string | null;
  /** Records one figure. */
  put(name: string, result: Result): void;
  /** Progress output. */
  progress(text: string): void;
}

type Put = (name: string, result: Result) => void;

function fromSummary(s: Summary, note?: string): Result {
  return note === undefined ? { ...s, value: s.median } : { ...s, value: s.median, note };
}

/** Turns a client's `result` message into a Result. */
function fromMessage(msg: RoleMessage): Result {
  if (typeof msg.unavailable === "string") return { unavailable: msg.unavailable };
  if (Array.isArray(msg.samples)) return fromSummary(summarize(msg.samples as number[]));
  const r = fromSummary(msg.summary as Summary);
  if ("value" in r && typeof msg.paired === "object" && msg.paired !== null) {
    const paired = msg.paired as Summary;
    const raw = msg.pairedRaw as Summary;
    r.paired = paired;
    const bytes = msg.name === "p1m";
    const range = (x: Summary) =>
      `${x.median.toFixed(2)} (${x.min.toFixed(2)}..${x.max.toFixed(2)})`;
    const unit = bytes ? "MB/s" : typeof msg.pairedUnit === "string" ? msg.pairedUnit : "calls/s";
    const base = typeof msg.pairedWith === "string"
      ? msg.pairedWith
      : `raw ${bytes ? "1 MiB echoes" : "ping-pong"}`;
    r.note = `paired with ${base} in alternating runs: ratio ${range(paired)}; baseline ${
      Math.round(raw.median)
    } ${unit}`;
    if (typeof msg.pairedFresh === "object" && msg.pairedFresh !== null) {
      r.note += `; ratio to raw echoes read into new buffers ${range(msg.pairedFresh as Summary)}`;
    }
  }
  return r;
}

function single(value: number, note?: string): Result {
  return fromSummary({ median: value, min: value, max: value, runs: 1 }, note);
}

/** Runs `fn`; on failure marks those of `names` not yet recorded unavailable. */
async function guarded(
  ctx: Context,
  names: readonly string[],
  fn: (put: Put) => Promise<void>,
): Promise<void> {
  const done = new Set<string>();
  const put: Put = (name, r) => {
    done.add(name);
    ctx.put(name, r);
  };
  try {
    await fn(put);
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200);
    ctx.progress(`  failed: ${reason}`);
    for (const name of names) if (!done.has(name)) ctx.put(name, { unavailable: reason });
  }
}

const planArg = (ctx: Context) => `--plan=${JSON.stringify(ctx.plan)}`;

/** Adds the CPU time per call of server and client to a result. */
function withCpu(r: Result, msg: RoleMessage, serverCpuUs: number): Result {
  if (!("value" in r)) return r;
  const calls = Number(msg.calls);
  if (calls > 0 && Number.isFinite(serverCpuUs)) r.serverCpuUs = serverCpuUs / calls;
  if (typeof msg.clientCpuUs === "number") r.clientCpuUs = msg.clientCpuUs;
  return r;
}

/**
 * Collects `result` messages until `done`, recording each under `names[msg.name]`, with the
 * server's CPU time since the test's `phase` message.
 */
async function collect(
  client: Role,
  names: Record<string, string>,
  put: Put,
  server: Role | null,
): Promise<void> {
  let cpu0 = NaN;
  for (;;) {
    const msg = await client.expect(["phase", "result", "done"]);
    if (msg.type === "done") return;
    if (msg.type === "phase") {
      cpu0 = server?.cpuUs() ?? NaN;
      continue;
    }
    const name = names[String(msg.name)];
    const used = (server?.cpuUs() ?? NaN) - cpu0;
    if (name !== undefined) put(name, withCpu(fromMessage(msg), msg, used));
  }
}

/** Raw socket baselines over TCP or a Unix socket. */
export function rawGroup(ctx: Context, transport: "tcp" | "unix"): Promise<void> {
  const names: Record<string, string> = transport === "tcp"
    ? {
      pingpong: "raw.pingpong.tcp",
      echo1m: "raw.echo-1MiB.tcp",
      "echo1m-fresh": "raw.echo-1MiB-fresh.tcp",
      connect: "raw.connect.tcp",
    }
    : {
      pingpong: "raw.pingpong.unix",
      echo1m: "raw.echo-1MiB.unix",
      "echo1m-fresh": "raw.echo-1MiB-fresh.unix",
    };
  return guarded(ctx, Object.values(names), (put) =>
    withRoles(async (start) => {
      const path = `${ctx.tmp}/raw-${ctx.mode}.sock`;
      const server = start(Role.deno("_raw.ts", [
        "server",
        `--transport=${transport}`,
        ...(transport === "unix" ? [`--path=${path}`] : []),
      ], { mode: ctx.mode }));
      const ready = await server.expect("ready", 30_000);
      const client = start(Role.deno("_raw.ts", [
        "client",
        transport === "unix" ? `--path=${path}` : `--port=${ready.port}`,
        `--req=${ctx.frame.req}`,
        `--resp=${ctx.frame.resp}`,
        `--tests=${Object.keys(names).join(",")}`,
        planArg(ctx),
      ], { mode: ctx.mode }));
      await collect(client, names, put, server);
    }));
}

/** Test name in the client role → figure name, for one serializer over TCP. */
function suiteNames(s: string): Record<string, string> {
  const names: Record<string, string> = {
    echo: `echo.seq.${s}`,
    "oneway-sent": `oneway.sent.${s}`,
    "oneway-executed": `oneway.executed.${s}`,
    batch: `batch-1000.${s}`,
    connect: `connect.${s}`,
  };
  for (const k of INFLIGHT) names[`conc${k}`] = `echo.inflight-${k}.${s}`;
  for (const [test, label] of PAYLOAD_LABELS) names[test] = `payload-${label}.${s}`;
  return names;
}

const SUITE_TESTS = "echo,conc1,conc10,conc100,oneway,batch,p1k,p64k,p1m,connect";

function startPyroServer(ctx: Context, extra: string[] = [], v8Flags: string[] = []): Role {
  return Role.deno("_pyro_server.ts", ["server", ...extra], { mode: ctx.mode, v8Flags });
}

/** Pyro over TCP: the client suite for each serializer, then 1, 2 and 8 client processes. */
export function pyroTcpGroup(ctx: Context): Promise<void> {
  const all = [...SERIALIZERS.flatMap((s) => Object.values(suiteNames(s)))];
  const many = CLIENTS.map((n) => `clients-${n}.msgpack`);
  const seqOnly = SEQ_ONLY_SERIALIZERS.map((s) => `echo.seq.${s}`);
  return guarded(ctx, [...all, ...seqOnly, ...many], (put) =>
    withRoles(async (start) => {
      const server = start(startPyroServer(ctx));
      const uri = String((await server.expect("ready", 30_000)).uri);
      // A raw server too, for the paired runs of the sequential echo figures.
      const raw = start(Role.deno("_raw.ts", ["server"], { mode: ctx.mode }));
      const rawPort = Number((await raw.expect("ready", 30_000)).port);
      // One client process runs the named tests with one serializer, paired with the raw server.
      const suite = (s: string, names: Record<string, string>, extra: string[]) =>
        guarded({ ...ctx, put }, Object.values(names), async (putS) => {
          const client = start(Role.deno("_pyro_client.ts", [
            "suite",
            `--uri=${uri}`,
            `--serializer=${s}`,
            ...extra,
            `--raw-port=${rawPort}`,
            `--raw-req=${ctx.frame.req}`,
            `--raw-resp=${ctx.frame.resp}`,
            planArg(ctx),
          ], { mode: ctx.mode }));
          await collect(client, names, putS, server);
          await client.stop();
        });
      for (const s of SERIALIZERS) {
        ctx.progress(`  suite ${s}`);
        await suite(s, suiteNames(s), [
          `--tests=${SUITE_TESTS}`,
          `--oneways=${ctx.quick ? 300 : 20_000}`,
        ]);
      }
      for (const s of SEQ_ONLY_SERIALIZERS) {
        ctx.progress(`  sequential echo, ${s}`);
        await suite(s, { echo: `echo.seq.${s}` }, ["--tests=echo"]);
      }
      for (const n of CLIENTS) {
        ctx.progress(`  ${n} client process(es)`);
        await guarded({ ...ctx, put }, [`clients-${n}.msgpack`], (putM) =>
          manyClients(ctx, uri, n, putM));
      }
    }));
}

async function manyClients(ctx: Context, uri: string, n: number, put: Put): Promise<void> {
  await withRoles(async (start) => {
    const clients = Array.from({ length: n }, () =>
      start(Role.deno("_pyro_client.ts", [
        "many",
        `--uri=${uri}`,
        "--serializer=msgpack",
        planArg(ctx),
      ], { mode: ctx.mode })));
    await Promise.all(clients.map((c) => c.expect("ready", 60_000)));
    const rates: number[] = [];
    for (let r = 0; r < ctx.plan.runs; r++) {
      await Promise.all(clients.map((c) => c.send("go")));
      const runs = await Promise.all(clients.map((c) => c.expect("run")));
      const count = runs.reduce((a, m) => a + Number(m.count), 0);
      const begin = Math.min(...runs.map((m) => Number(m.start)));
      const end = Math.max(...runs.map((m) => Number(m.end)));
      rates.push(count / ((end - begin) / 1000));
    }
    put(`clients-${n}.msgpack`, fromSummary(summarize(rates)));
  });
}

/** Pyro over a Unix socket: sequential echo and payloads (msgpack). */
export function pyroUnixGroup(ctx: Context): Promise<void> {
  const names: Record<string, string> = { echo: "unix.echo.seq.msgpack" };
  for (const [test, label] of PAYLOAD_LABELS) names[test] = `unix.payload-${label}.msgpack`;
  return guarded(ctx, Object.values(names), (put) =>
    withRoles(async (start) => {
      const path = `${ctx.tmp}/pyro-${ctx.mode}.sock`;
      const server = start(startPyroServer(ctx, [`--path=${path}`]));
      const uri = String((await server.expect("ready", 30_000)).uri);
      // A raw Unix socket server too, for the paired runs of the target figures.
      const rawPath = `${ctx.tmp}/raw-paired-${ctx.mode}.sock`;
      const raw = start(Role.deno("_raw.ts", ["server", "--transport=unix", `--path=${rawPath}`], {
        mode: ctx.mode,
      }));
      await raw.expect("ready", 30_000);
      const client = start(Role.deno("_pyro_client.ts", [
        "suite",
        `--uri=${uri}`,
        "--serializer=msgpack",
        `--tests=${Object.keys(names).join(",")}`,
        `--raw-path=${rawPath}`,
        `--raw-req=${ctx.frame.req}`,
        `--raw-resp=${ctx.frame.resp}`,
        planArg(ctx),
      ], { mode: ctx.mode }));
      await collect(client, names, put, server);
    }));
}

/** Name server: lookups, register + remove, and list(prefix) over 100 000 names. */
export function namingGroup(ctx: Context): Promise<void> {
  const names = {
    lookup: "ns.lookup",
    "pyroname-connect": "ns.pyroname-connect",
    "register-remove": "ns.register-remove",
    "list-prefix": "ns.list-prefix-100k",
  };
  const count = ctx.quick ? 2000 : 100_000;
  return guarded(ctx, Object.values(names), (put) =>
    withRoles(async (start) => {
      const server = start(Role.deno("_pyro_naming.ts", ["server", `--names=${count}`], {
        mode: ctx.mode,
      }));
      const ready = await server.expect("ready", 120_000);
      const client = start(Role.deno("_pyro_naming.ts", [
        "client",
        `--port=${ready.port}`,
        `--names=${count}`,
        planArg(ctx),
      ], { mode: ctx.mode }));
      await collect(client, names, (name, r) => {
        if ("value" in r && name === names["list-prefix"]) {
          r.note = `list('bench.g7.') over ${count} names (1 in 1000 matches)`;
        }
        put(name, r);
      }, server);
    }));
}

/**
 * The semi-space size (MiB) the memory growth figure fixes V8's young generation at: the most
 * V8 grows it to by default on the 64-bit machines measured (its new space tops out at 16 MiB
 * capacity).
 */
const YOUNG_MIB = 16;

/**
 * Memory: the daemon's VmRSS (from /proc) with idle connected proxies, per connection, and
 * its growth over many calls (100 in flight), measured after warm-up.
 */
export function memoryGroup(ctx: Context): Promise<void> {
  const idleCount = ctx.quick ? 50 : 1000;
  // (quick mode too makes enough calls to fill the fixed young generation before the first reading)
  const calls = ctx.quick ? 40_000 : 1_000_000;
  const checkpoints = ctx.quick ? [20_000, 30_000, 40_000] : [200_000, 600_000, 1_000_000];
  const names = [
    "memory.daemon-rss-1000-idle",
    "memory.idle-connection",
    "memory.growth-1e6-calls",
  ];
  return guarded(ctx, names, (put) =>
    withRoles(async (start) => {
      // All the idle proxies come from 127.0.0.1: the per-address cap (a quarter of the limit
      // by default) would close the ones idle the longest, the first proxy among them.
      const server = start(startPyroServer(ctx, [
        `--max-connections=${idleCount + 100}`,
        `--max-per-address=${idleCount + 100}`,
      ], ["--expose-gc"]));
      const uri = String((await server.expect("ready", 30_000)).uri);
      const idleRole = (count: number) =>
        start(Role.deno("_pyro_client.ts", ["idle", `--uri=${uri}`, `--count=${count}`], {
          mode: ctx.mode,
        }));
      // Warm the daemon's code paths with a few connections first.
      const warm = idleRole(20);
      await warm.expect("base");
      await warm.send("");
      await warm.expect("idle");
      await warm.send("");
      await warm.expect("released");
      await warm.stop();

      const idle = idleRole(idleCount);
      await idle.expect("base");
      const rss0 = server.rssKiB();
      await idle.send("");
      await idle.expect("idle", 120_000);
      const rss1 = server.rssKiB();
      await idle.send("");
      await idle.expect("released", 60_000);
      await idle.stop();
      const perConn = (rss1 - rss0) / idleCount;
      put(names[0]!, single(rss1, `${idleCount} idle proxies; ${rss0} KiB before`));
      put(names[1]!, single(perConn, `(${rss1} - ${rss0}) KiB / ${idleCount} connections`));

      // The calls: once on this daemon (V8's defaults), once on a daemon whose young generation
      // is fixed at the largest size V8 grows it to here. V8 doubles the young generation once
      // the bytes that survived its collections since the last doubling pass its size, so a
      // daemon with default flags takes a one-off step of about 7 MB at a point that depends on
      // its history (200 000 to over 2 000 000 calls), then stays flat. The figure is taken with
      // the young generation fixed, so that what it shows is memory kept; the default daemon's
      // readings, with the young generation's size, go in the note.
      ctx.progress(`  ${calls} calls`);
      const growthRun = async (daemon: Role, daemonUri: string) => {
        const caller = start(Role.deno("_pyro_client.ts", [
          "calls",
          `--uri=${daemonUri}`,
          `--calls=${calls}`,
          `--checkpoints=${checkpoints.join(",")}`,
        ], { mode: ctx.mode }));
        const rss: number[] = [];
        const heap: number[] = [];
        const young: number[] = [];
        for (const _ of checkpoints) {
          const msg = await caller.expect("checkpoint", 600_000);
          rss.push(daemon.rssKiB());
          const h = msg.heap as Record<string, number>;
          heap.push(Math.round(Number(h.heapUsed) / 1024));
          young.push(Math.round(Number(h.newSpace) / 1024));
          await caller.send("");
        }
        await caller.expect("done");
        await caller.stop();
        const text = `VmRSS KiB at ${checkpoints.join("/")} calls: ${rss.join("/")}; ` +
          `heapUsed KiB after gc: ${heap.join("/")}; V8 young generation KiB: ${young.join("/")}`;
        return { growth: rss[rss.length - 1]! - rss[0]!, text };
      };
      const usual = await growthRun(server, uri);
      await server.stop();
      const fixed = start(startPyroServer(ctx, [], [
        "--expose-gc",
        `--min-semi-space-size=${YOUNG_MIB}`,
        `--max-semi-space-size=${YOUNG_MIB}`,
      ]));
      const fixedUri = String((await fixed.expect("ready", 30_000)).uri);
      const kept = await growthRun(fixed, fixedUri);
      put(
        names[2]!,
        single(
          kept.growth,
          `young generation fixed at ${YOUNG_MIB} MiB semi-spaces: ${kept.text}. ` +
            `V8 defaults (after the idle connections): ${usual.growth} KiB; ${usual.text}`,
        ),
      );
    }));
}

/** Python Pyro5: our proxy and Pyro5's proxy against a Pyro5 daemon (msgpack). */
export function pythonGroup(ctx: Context): Promise<void> {
  const names = ["python.ours-to-pyro5.echo.msgpack", "python.pyro5-to-pyro5.echo.msgpack"];
  if (ctx.pyro5Path === null) {
    for (const name of names) {
      ctx.put(name, { unavailable: "skipped: set PYRO5_PYTHONPATH to a Pyro5 source tree" });
    }
    return Promise.resolve();
  }
  const env = { PYTHONPATH: ctx.pyro5Path, PYRO_BROADCAST_ADDRS: "127.255.255.255" };
  const script = new URL("./_pyro_python.py", import.meta.url).pathname;
  return guarded(ctx, names, (put) =>
    withRoles(async (start) => {
      const server = start(Role.command(["/usr/bin/python3", script, "server"], {
        mode: ctx.mode,
        env,
      }));
      const uri = String((await server.expect("ready", 30_000)).uri);
      const ours = start(Role.deno("_pyro_client.ts", [
        "suite",
        `--uri=${uri}`,
        "--serializer=msgpack",
        "--tests=echo",
        planArg(ctx),
      ], { mode: ctx.mode }));
      await collect(ours, { echo: names[0]! }, put, server);
      await ours.stop();
      const theirs = start(Role.command([
        "/usr/bin/python3",
        script,
        "client",
        `--uri=${uri}`,
        "--serializer=msgpack",
        planArg(ctx),
      ], { mode: ctx.mode, env }));
      const msg = await theirs.expect("result");
      put(names[1]!, fromMessage(msg));
    }));
}
