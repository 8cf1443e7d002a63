/**
 * Python Pyro5 side by side with this library, in the same run: every test runs on our stack
 * (our proxy → our daemon or Name Server) and on Pyro5's (Python proxy → Python daemon or Name
 * Server) in alternating runs, round after round, each side in its own long-lived client
 * process, so that a burst of load on the machine falls on both. A row's "vs Pyro5" ratio is
 * the median of the per-round ratios (ours / theirs), and its target is checked on it.
 *
 * The 8-client figures start 8 client processes per stack: ours against our daemon, Python's
 * against Pyro5's thread-pool and multiplex servers, and Python's against our daemon; rounds
 * alternate the four, and ours is compared with the better Pyro5 server of each round.
 *
 * Ceilings: raw TCP ping-pongs without Pyro (Deno's bench/_raw.ts server and client, and the
 * same frames between Python's sockets) alternate with the rest, one client and 8 client
 * processes. A `ceiling` row divides raw Deno by Pyro5's figure round by round: no Deno client
 * and server, however thin, get past that ratio on this machine, so a target above it is bound
 * by the runtime's socket cost.
 *
 * Without `PYRO5_PYTHONPATH` every row is marked skipped.
 *
 * @module
 */

import type { Context, Result } from "./_pyro_groups.ts";
import { Role, withRoles } from "./_runner.ts";
import { summarize, type Summary } from "./_stats.ts";

/** One test of the comparison: its test name in both client roles and how long it runs. */
interface Test {
  /** The figure key, `pyro5.<key>.ours` / `pyro5.<key>.pyro5`. */
  key: string;
  /** The test name in the `vs` roles. */
  test: string;
  /** The serializer. */
  serializer: string;
  /** Unit of the rate. */
  unit: string;
  /** Multiplies the rate (bytes/s to MB/s). */
  scale: number;
  /** Fewest steps of a run (full, quick). */
  minSteps: [number, number];
  /** The target: ours / Pyro5's at least this (null: none). */
  target: number | null;
  /** What is measured. */
  description: string;
  /** Row suffixes instead of `ours` and `pyro5`. */
  sides?: readonly [string, string];
}

/** The raw ping-pong test: each runtime's sockets without Pyro. */
export const RAW_TEST: Test = {
  key: "raw-pingpong",
  test: "raw",
  serializer: "msgpack",
  unit: "calls/s",
  scale: 1,
  minSteps: [20, 50],
  target: null,
  description: "raw TCP ping-pong of Pyro-echo-sized frames, no Pyro",
  sides: ["deno", "python"],
};

/** Raw connect + one ping-pong + close: each runtime's connection set-up without Pyro. */
export const RAW_CONNECT_TEST: Test = {
  key: "raw-connect",
  test: "rawconnect",
  serializer: "msgpack",
  unit: "conn/s",
  scale: 1,
  minSteps: [10, 5],
  target: null,
  description: "raw TCP connect + one ping-pong of Pyro-echo-sized frames + close, no Pyro",
  sides: ["deno", "python"],
};

/** The figure names of a test's two sides. */
export function sideNames(t: Test): [string, string] {
  const [a, b] = t.sides ?? ["ours", "pyro5"];
  return [`pyro5.${t.key}.${a}`, `pyro5.${t.key}.${b}`];
}

/** The sequential echo tests, whose ceiling rows are raw Deno over Pyro5's figure. */
export const SEQ_SERIALIZERS = ["msgpack", "json", "serpent"] as const;

/** The tests, in the order they run within a round. */
export const COMPARE_TESTS: readonly Test[] = [
  RAW_TEST,
  ...SEQ_SERIALIZERS.map((s): Test => ({
    key: `echo.seq.${s}`,
    test: "echo",
    serializer: s,
    unit: "calls/s",
    scale: 1,
    minSteps: [20, 50],
    target: 2,
    description: `sequential echo("hello") on one proxy, ${s}`,
  })),
  {
    key: "payload-1MiB",
    test: "p1m",
    serializer: "msgpack",
    unit: "MB/s",
    scale: 1e-6,
    minSteps: [5, 3],
    target: 1,
    description: "echo of 1 MiB of bytes, msgpack",
  },
  {
    key: "batch-1000",
    test: "batch",
    serializer: "msgpack",
    unit: "calls/s",
    scale: 1,
    minSteps: [2, 1],
    target: 1,
    description: "batches of 1000 echo calls, msgpack",
  },
  {
    key: "oneway",
    test: "oneway",
    serializer: "msgpack",
    unit: "calls/s",
    scale: 1,
    minSteps: [5, 2],
    target: 1,
    description: "100 oneway calls then one normal call on the same proxy, msgpack",
  },
  RAW_CONNECT_TEST,
  {
    key: "connect",
    test: "connect",
    serializer: "msgpack",
    unit: "conn/s",
    scale: 1,
    minSteps: [10, 5],
    target: 1.5,
    description: "new proxy + first call + release, msgpack",
  },
  {
    key: "ns.lookup",
    test: "lookup",
    serializer: "msgpack",
    unit: "calls/s",
    scale: 1,
    minSteps: [20, 20],
    target: 1,
    description: "Name Server lookup(name) among 100 000 names (memory storage), msgpack",
  },
  {
    key: "ns.register",
    test: "register",
    serializer: "msgpack",
    unit: "pairs/s",
    scale: 1,
    minSteps: [10, 10],
    target: 1,
    description: "Name Server register + remove, msgpack",
  },
];

/** The client processes of the 8-client figures. */
export const MANY_CLIENTS = 8;
/** The many-client configurations: figure suffix, description. */
export const MANY_CONFIGS = [
  ["ours", "our clients -> our daemon"],
  ["pyro5-thread", "Python Pyro5 clients -> Pyro5 daemon, thread pool server (its default)"],
  ["pyro5-multiplex", "Python Pyro5 clients -> Pyro5 daemon, multiplex server"],
  ["python-to-ours", "Python Pyro5 clients -> our daemon"],
  ["raw-deno", "raw ping-pong, no Pyro: Deno clients -> a Deno raw server (bench/_raw.ts)"],
] as const;

/** The target of many clients: ours / the better Pyro5 server at least this. */
export const MANY_TARGET = 1.5;

/** Every figure name of the comparison. */
export function compareFigureNames(): string[] {
  const names = COMPARE_TESTS.flatMap(sideNames);
  for (const s of SEQ_SERIALIZERS) names.push(`pyro5.echo.seq.${s}.ceiling`);
  names.push("pyro5.connect.ceiling");
  for (const [c] of MANY_CONFIGS) names.push(`pyro5.clients-${MANY_CLIENTS}.${c}`);
  names.push(`pyro5.clients-${MANY_CLIENTS}.pyro5-best`, `pyro5.clients-${MANY_CLIENTS}.ceiling`);
  return names;
}

/**
 * Rounds, and the length of each side's run in a round: short runs, many rounds, so that a burst
 * of outside load spoils few rounds and the median of the per-round ratios stays put.
 */
function rounds(ctx: Context): number {
  return ctx.quick ? 2 : 11;
}

function runMs(ctx: Context): number {
  return Math.min(ctx.plan.runMs, 200);
}

/** A ceiling row: raw Deno / Pyro5, the median of the per-round ratios. */
function ceiling(raw: number[], theirs: number[], note: string): Result {
  const ratios = raw.map((v, i) => v / theirs[i]!);
  const s = summarize(ratios);
  return { ...s, value: s.median, note };
}

function result(samples: number[], ratios: number[] | null, note: string): Result {
  const s = summarize(samples);
  if (ratios === null) return { ...s, value: s.median, note };
  const paired: Summary = summarize(ratios);
  const range = `${paired.median.toFixed(2)} (${paired.min.toFixed(2)}..${paired.max.toFixed(2)})`;
  return { ...s, value: s.median, paired, note: `${note}; vs Pyro5 per round ${range}` };
}

/** The comparison group: both stacks' servers and clients, alternated round by round. */
export async function pyro5CompareGroup(ctx: Context): Promise<void> {
  const names = compareFigureNames();
  if (ctx.pyro5Path === null) {
    for (const name of names) {
      ctx.put(name, { unavailable: "skipped: set PYRO5_PYTHONPATH to a Pyro5 source tree" });
    }
    return;
  }
  const done = new Set<string>();
  const put = (name: string, r: Result) => {
    done.add(name);
    ctx.put(name, r);
  };
  try {
    await sideBySide(ctx, put);
    await manyClients(ctx, put);
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200);
    ctx.progress(`  failed: ${reason}`);
    for (const name of names) if (!done.has(name)) ctx.put(name, { unavailable: reason });
  }
}

function python(ctx: Context, args: string[]): Role {
  const env = { PYTHONPATH: ctx.pyro5Path!, PYRO_BROADCAST_ADDRS: "127.255.255.255" };
  const script = new URL("./_pyro_python.py", import.meta.url).pathname;
  return Role.command(["/usr/bin/python3", script, ...args], { mode: ctx.mode, env });
}

async function sideBySide(ctx: Context, put: (name: string, r: Result) => void): Promise<void> {
  const count = ctx.quick ? 2000 : 100_000;
  await withRoles(async (start) => {
    const ourServer = start(Role.deno("_pyro_server.ts", ["server"], { mode: ctx.mode }));
    const pyServer = start(python(ctx, ["server"]));
    const ourNs = start(Role.deno("_pyro_naming.ts", ["server", `--names=${count}`], {
      mode: ctx.mode,
    }));
    const pyNs = start(python(ctx, ["ns", `--names=${count}`]));
    const denoRaw = start(Role.deno("_raw.ts", ["server"], { mode: ctx.mode }));
    const pyRaw = start(python(ctx, ["raw"]));
    const rawArgs = (port: unknown) => [
      `--raw-port=${port}`,
      `--raw-req=${ctx.frame.req}`,
      `--raw-resp=${ctx.frame.resp}`,
    ];
    const denoRawArgs = rawArgs((await denoRaw.expect("ready", 30_000)).port);
    const pyRawArgs = rawArgs((await pyRaw.expect("ready", 30_000)).port);
    const ourUri = String((await ourServer.expect("ready", 30_000)).uri);
    const pyUri = String((await pyServer.expect("ready", 30_000)).uri);
    const ourNsUri = `PYRO:Pyro.NameServer@127.0.0.1:${
      (await ourNs.expect("ready", 120_000)).port
    }`;
    const pyNsUri = String((await pyNs.expect("ready", 120_000)).uri);
    const ours = start(Role.deno("_pyro_client.ts", [
      "vs",
      `--uri=${ourUri}`,
      `--ns-uri=${ourNsUri}`,
      ...denoRawArgs,
    ], { mode: ctx.mode }));
    const theirs = start(
      python(ctx, ["vs", `--uri=${pyUri}`, `--ns-uri=${pyNsUri}`, ...pyRawArgs]),
    );
    const samples = new Map<string, { ours: number[]; theirs: number[]; ratios: number[] }>();
    const run = async (role: Role, t: Test, first: boolean) => {
      const q = ctx.quick ? 1 : 0;
      await role.send(JSON.stringify({
        test: t.test,
        serializer: t.serializer,
        runMs: runMs(ctx),
        minSteps: t.minSteps[q],
        warmupSteps: first ? Math.min(ctx.plan.warmupSteps, t.minSteps[q] * 2) : 1,
      }));
      return Number((await role.expect("run", 120_000)).rate) * t.scale;
    };
    const n = rounds(ctx);
    for (let r = 0; r < n; r++) {
      ctx.progress(`  side by side, round ${r + 1} of ${n}`);
      for (const t of COMPARE_TESTS) {
        const s = samples.get(t.key) ?? { ours: [], theirs: [], ratios: [] };
        samples.set(t.key, s);
        let a: number, b: number;
        if (r % 2 === 0) {
          a = await run(ours, t, r === 0);
          b = await run(theirs, t, r === 0);
        } else {
          b = await run(theirs, t, r === 0);
          a = await run(ours, t, r === 0);
        }
        s.ours.push(a);
        s.theirs.push(b);
        s.ratios.push(a / b);
      }
    }
    const how = `${n} rounds alternating with Python Pyro5`;
    for (const t of COMPARE_TESTS) {
      const s = samples.get(t.key)!;
      const [a, b] = sideNames(t);
      put(a, result(s.ours, s.ratios, how));
      put(b, result(s.theirs, null, `${how}; Pyro5 from PYRO5_PYTHONPATH`));
    }
    const raw = samples.get(RAW_TEST.key)!.ours;
    for (const s of SEQ_SERIALIZERS) {
      put(
        `pyro5.echo.seq.${s}.ceiling`,
        ceiling(raw, samples.get(`echo.seq.${s}`)!.theirs, `${how}; per round raw Deno / Pyro5`),
      );
    }
    put(
      "pyro5.connect.ceiling",
      ceiling(
        samples.get(RAW_CONNECT_TEST.key)!.ours,
        samples.get("connect")!.theirs,
        `${how}; per round raw Deno connect / Pyro5 connect`,
      ),
    );
  });
}

async function manyClients(ctx: Context, put: (name: string, r: Result) => void): Promise<void> {
  await withRoles(async (start) => {
    const ourServer = start(Role.deno("_pyro_server.ts", ["server"], { mode: ctx.mode }));
    const thread = start(python(ctx, ["server", "--servertype=thread"]));
    const multiplex = start(python(ctx, ["server", "--servertype=multiplex"]));
    const denoRaw = start(Role.deno("_raw.ts", ["server"], { mode: ctx.mode }));
    const ourUri = String((await ourServer.expect("ready", 30_000)).uri);
    const rawPort = Number((await denoRaw.expect("ready", 30_000)).port);
    const threadUri = String((await thread.expect("ready", 30_000)).uri);
    const multiplexUri = String((await multiplex.expect("ready", 30_000)).uri);
    const plan = `--plan=${JSON.stringify({ ...ctx.plan, runMs: runMs(ctx) })}`;
    const fleets: Record<string, Role[]> = {};
    const fleet = (config: string, make: () => Role) =>
      fleets[config] = Array.from({ length: MANY_CLIENTS }, () => start(make()));
    fleet(
      "ours",
      () =>
        Role.deno("_pyro_client.ts", ["many", `--uri=${ourUri}`, "--serializer=msgpack", plan], {
          mode: ctx.mode,
        }),
    );
    fleet("pyro5-thread", () => python(ctx, ["many", `--uri=${threadUri}`, plan]));
    fleet("pyro5-multiplex", () => python(ctx, ["many", `--uri=${multiplexUri}`, plan]));
    fleet("python-to-ours", () => python(ctx, ["many", `--uri=${ourUri}`, plan]));
    fleet("raw-deno", () =>
      Role.deno("_pyro_client.ts", [
        "many",
        `--raw-port=${rawPort}`,
        `--raw-req=${ctx.frame.req}`,
        `--raw-resp=${ctx.frame.resp}`,
        plan,
      ], { mode: ctx.mode }));
    for (const roles of Object.values(fleets)) {
      await Promise.all(roles.map((c) => c.expect("ready", 120_000)));
    }
    const rates: Record<string, number[]> = {};
    const best: number[] = [];
    const n = rounds(ctx);
    const configs = MANY_CONFIGS.map(([c]) => c);
    for (let r = 0; r < n; r++) {
      ctx.progress(`  ${MANY_CLIENTS} clients, round ${r + 1} of ${n}`);
      // Each round starts with a different configuration.
      const order = [...configs.slice(r % configs.length), ...configs.slice(0, r % configs.length)];
      for (const config of order) {
        const roles = fleets[config]!;
        await Promise.all(roles.map((c) => c.send("go")));
        const runs = await Promise.all(roles.map((c) => c.expect("run", 120_000)));
        const calls = runs.reduce((a, m) => a + Number(m.count), 0);
        const begin = Math.min(...runs.map((m) => Number(m.start)));
        const end = Math.max(...runs.map((m) => Number(m.end)));
        (rates[config] ??= []).push(calls / ((end - begin) / 1000));
      }
      best.push(Math.max(rates["pyro5-thread"]![r]!, rates["pyro5-multiplex"]![r]!));
    }
    const how = `${n} rounds, the 4 configurations alternating`;
    for (const config of configs) {
      const compared = !config.startsWith("pyro5-");
      const ratios = compared ? rates[config]!.map((v, i) => v / best[i]!) : null;
      put(`pyro5.clients-${MANY_CLIENTS}.${config}`, result(rates[config]!, ratios, how));
    }
    put(
      `pyro5.clients-${MANY_CLIENTS}.pyro5-best`,
      result(best, null, `${how}; per round the better of thread and multiplex`),
    );
    put(
      `pyro5.clients-${MANY_CLIENTS}.ceiling`,
      ceiling(rates["raw-deno"]!, best, `${how}; per round raw Deno / the better Pyro5 server`),
    );
  });
}
