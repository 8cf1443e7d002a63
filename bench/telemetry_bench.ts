/**
 * What OpenTelemetry costs a call: sequential `echo("hello")` (msgpack, TCP on 127.0.0.1) with
 * telemetry off, on, and on with 1% of traces sampled, and optionally against a baseline checkout
 * without telemetry code. Each setup is a daemon process and a client process of its own; the runs alternate between
 * the setups (rotating which goes first), and the figures are the medians of the per-round
 * ratios, so bursts of background load hit all setups alike. With telemetry on, both processes
 * run with `OTEL_DENO=true` and export OTLP/HTTP JSON to a sink in this process.
 *
 * With `--baseline`, a last measurement runs the baseline and this tree (telemetry off) in one
 * process, alternating, and compares their CPU time per call: the figure least disturbed by
 * other load.
 *
 * ```sh
 * deno run -A bench/telemetry_bench.ts [--rounds=15] [--ms=300] [--baseline=/path/to/checkout]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";

const HERE = new URL("../", import.meta.url);
const SELF = new URL(import.meta.url).pathname;

/** One setup: a library root, and its OpenTelemetry settings (none: off). */
interface Setup {
  name: string;
  root: URL;
  telemetry: Record<string, string> | null;
}

/** A role process spoken to in JSON lines. */
class Role {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  constructor(args: string[], env: Record<string, string>) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SELF, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      env,
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = this.#child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new LineSplitter(),
    )[Symbol.asyncIterator]();
  }

  async read(): Promise<Record<string, unknown>> {
    const { value, done } = await this.#lines.next();
    if (done) throw new Error("role process ended");
    return JSON.parse(value);
  }

  async ask(line: string): Promise<Record<string, unknown>> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
    return await this.read();
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  async stop(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }
}

class LineSplitter extends TransformStream<string, string> {
  constructor() {
    let buffer = "";
    super({
      transform(chunk, controller) {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf("\n")) >= 0) {
          controller.enqueue(buffer.slice(0, i));
          buffer = buffer.slice(i + 1);
        }
      },
    });
  }
}

async function* stdinLines(): AsyncGenerator<string> {
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(
    new LineSplitter(),
  );
  for await (const line of lines) yield line;
}

async function daemonRole(root: string): Promise<void> {
  const { Daemon } = await import(new URL("daemon.ts", root).href);
  const { expose } = await import(new URL("expose.ts", root).href);
  const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = daemon.register(expose({ echo: (x: unknown) => x }), "bench");
  console.log(JSON.stringify({ uri: String(uri) }));
  for await (const _ of stdinLines()) {
    // runs until stdin closes
  }
  await daemon.close();
}

async function clientRole(root: string, uri: string): Promise<void> {
  const { createProxy } = await import(new URL("proxy.ts", root).href);
  const proxy = createProxy(uri, { serializer: "msgpack" });
  await proxy.echo("hello");
  console.log(JSON.stringify({ ready: true }));
  for await (const line of stdinLines()) {
    const ms = Number(line);
    let calls = 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const end = start + ms;
    let now = start;
    while (now < end) {
      for (let i = 0; i < 50; i++) await proxy.echo("hello");
      calls += 50;
      now = performance.now();
    }
    const cpu = process.cpuUsage(cpu0);
    console.log(JSON.stringify({
      usPerCall: ((now - start) * 1000) / calls,
      calls,
      cpuUs: cpu.user + cpu.system,
    }));
  }
  await proxy._pyroRelease();
}

/** CPU time of a process so far, in microseconds (from /proc, 10 ms resolution). */
function processCpuUs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * The baseline and this tree with telemetry off, in one process: both copies of the library
 * serve and call `echo` over TCP, in alternating runs of `calls` calls; CPU and wall time per
 * call, and the medians of the per-pair ratios. Prints one JSON line.
 */
async function pairRole(baseline: string, rounds: number, calls: number): Promise<void> {
  const setups = await Promise.all([baseline, HERE.href].map(async (root) => {
    const { Daemon } = await import(new URL("daemon.ts", root).href);
    const { expose } = await import(new URL("expose.ts", root).href);
    const { createProxy } = await import(new URL("proxy.ts", root).href);
    const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
    const uri = daemon.register(expose({ echo: (x: unknown) => x }), "bench");
    return { daemon, proxy: createProxy(uri, { serializer: "msgpack" }) };
  }));
  const run = async (k: number) => {
    const proxy = setups[k]!.proxy;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await proxy.echo("hello");
    const cpu = process.cpuUsage(cpu0);
    return {
      cpu: (cpu.user + cpu.system) / calls,
      wall: ((performance.now() - t0) * 1000) / calls,
    };
  };
  await run(0);
  await run(1);
  const cpu: number[][] = [[], []];
  const cpuRatio: number[] = [];
  const wallRatio: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    const got: { cpu: number; wall: number }[] = [];
    for (const k of order) got[k] = await run(k);
    cpu[0]!.push(got[0]!.cpu);
    cpu[1]!.push(got[1]!.cpu);
    cpuRatio.push(got[1]!.cpu / got[0]!.cpu);
    wallRatio.push(got[1]!.wall / got[0]!.wall);
  }
  for (const { daemon, proxy } of setups) {
    await proxy._pyroRelease();
    await daemon.close();
  }
  console.log(JSON.stringify({
    baselineCpu: median(cpu[0]!),
    offCpu: median(cpu[1]!),
    cpuRatio: median(cpuRatio),
    cpuRatioMin: Math.min(...cpuRatio),
    cpuRatioMax: Math.max(...cpuRatio),
    wallRatio: median(wallRatio),
  }));
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function orchestrate(rounds: number, ms: number, baseline: string | undefined) {
  const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.arrayBuffer();
    return Response.json({});
  });
  const endpoint = `http://127.0.0.1:${sink.addr.port}`;
  const setups: Setup[] = [];
  if (baseline !== undefined) {
    setups.push({
      name: "baseline",
      root: new URL(`file://${baseline.replace(/\/?$/, "/")}`),
      telemetry: null,
    });
  }
  setups.push({ name: "off", root: HERE, telemetry: null });
  setups.push({ name: "on", root: HERE, telemetry: {} });
  setups.push({
    name: "on-1%",
    root: HERE,
    telemetry: {
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.01",
    },
  });
  const base: Record<string, string> = { RUST_BACKTRACE: "0", NO_COLOR: "1" };
  const otel: Record<string, string> = {
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_SERVICE_NAME: "bench",
  };
  const running: { setup: Setup; daemon: Role; client: Role }[] = [];
  try {
    for (const setup of setups) {
      const env = setup.telemetry ? { ...base, ...otel, ...setup.telemetry } : base;
      const root = setup.root.href;
      const daemon = new Role(["daemon", root], env);
      const { uri } = await daemon.read() as { uri: string };
      const client = new Role(["client", root, uri], env);
      await client.read();
      await client.ask("1000"); // warm-up
      running.push({ setup, daemon, client });
    }
    const us = new Map<string, number[]>(setups.map((s) => [s.name, []]));
    const cpu = new Map<string, { client: number; server: number; calls: number }>(
      setups.map((s) => [s.name, { client: 0, server: 0, calls: 0 }]),
    );
    const ratios = new Map<string, number[]>();
    for (let r = 0; r < rounds; r++) {
      const round = new Map<string, number>();
      for (let k = 0; k < running.length; k++) {
        const { setup, client, daemon } = running[(r + k) % running.length]!;
        const server0 = processCpuUs(daemon.pid);
        const { usPerCall, calls, cpuUs } = await client.ask(String(ms)) as {
          usPerCall: number;
          calls: number;
          cpuUs: number;
        };
        const total = cpu.get(setup.name)!;
        total.server += processCpuUs(daemon.pid) - server0;
        total.client += cpuUs;
        total.calls += calls;
        round.set(setup.name, usPerCall);
        us.get(setup.name)!.push(usPerCall);
      }
      const pairs: [string, string, string][] = [
        ["on/off", "on", "off"],
        ["on-1%/off", "on-1%", "off"],
      ];
      if (baseline !== undefined) pairs.push(["off/baseline", "off", "baseline"]);
      for (const [label, a, b] of pairs) {
        if (!ratios.has(label)) ratios.set(label, []);
        ratios.get(label)!.push(round.get(a)! / round.get(b)!);
      }
    }
    console.log(`sequential echo("hello"), msgpack, TCP; ${rounds} rounds of ${ms} ms per setup`);
    for (const [name, values] of us) {
      const c = cpu.get(name)!;
      console.log(
        `${name.padEnd(9)} median ${median(values).toFixed(1)} us/call ` +
          `(min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)}); ` +
          `cpu us/call client ${(c.client / c.calls).toFixed(1)}, ` +
          `server ${(c.server / c.calls).toFixed(1)}`,
      );
    }
    for (const [label, values] of ratios) {
      console.log(
        `${label.padEnd(12)} median ratio ${median(values).toFixed(3)} ` +
          `(min ${Math.min(...values).toFixed(3)}, max ${Math.max(...values).toFixed(3)})`,
      );
    }
    if (baseline !== undefined) {
      const base = new URL(`file://${baseline.replace(/\/?$/, "/")}`).href;
      const pair = new Role(["pair", base, String(Math.max(rounds, 30)), "2000"], {
        RUST_BACKTRACE: "0",
        NO_COLOR: "1",
      });
      const r = await pair.read() as Record<string, number>;
      await pair.stop();
      console.log(
        `off/baseline in one process (${Math.max(rounds, 30)} pairs of 2000 calls): cpu ` +
          `${r.offCpu!.toFixed(1)} vs ${r.baselineCpu!.toFixed(1)} us/call, median ratio ` +
          `${r.cpuRatio!.toFixed(3)} (min ${r.cpuRatioMin!.toFixed(3)}, max ` +
          `${r.cpuRatioMax!.toFixed(3)}); wall median ratio ${r.wallRatio!.toFixed(3)}`,
      );
    }
  } finally {
    for (const { daemon, client } of running) {
      await client.stop();
      await daemon.stop();
    }
    await sink.shutdown();
  }
}

if (import.meta.main) {
  const [role, ...rest] = Deno.args;
  if (role === "daemon") await daemonRole(rest[0]!);
  else if (role === "pair") await pairRole(rest[0]!, Number(rest[1]), Number(rest[2]));
  else if (role === "client") await clientRole(rest[0]!, rest[1]!);
  else {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        rounds: { type: "string", default: "15" },
        ms: { type: "string", default: "300" },
        baseline: { type: "string" },
      },
    });
    await orchestrate(Number(values.rounds), Number(values.ms), values.baseline);
  }
}
