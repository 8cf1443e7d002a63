/**
 * Measurement helpers of the benchmark suite: timed runs of an operation (warm-up, then
 * several runs, each giving a rate), their median/min/max, the machine description and the
 * command-line protocol between the orchestrator (bench/main.ts) and its role processes.
 *
 * @module
 */

import process from "node:process";

/** Median, minimum and maximum of several runs. */
export interface Summary {
  /** The median of the runs. */
  median: number;
  /** The smallest run. */
  min: number;
  /** The largest run. */
  max: number;
  /** How many runs. */
  runs: number;
}

/**
 * Summarises samples (at least one).
 *
 * @example
 * ```ts
 * import { summarize } from "./_stats.ts";
 * console.log(summarize([3, 1, 2]).median); // 2
 * ```
 *
 * @param samples The values of the runs.
 * @returns Their median, min, max and count.
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("Cannot summarize: no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

/** How long and how often to run an operation. */
export interface Plan {
  /** Measured runs. */
  runs: number;
  /** Each run lasts at least this long, in ms. */
  runMs: number;
  /** Each run performs at least this many steps. */
  minSteps: number;
  /** The warm-up lasts at least this long, in ms. */
  warmupMs: number;
  /** The warm-up performs at least this many steps. */
  warmupSteps: number;
}

/** The plan of the quick mode: a few hundred calls per figure, no minimum duration. */
export const QUICK_PLAN: Plan = { runs: 3, runMs: 0, minSteps: 100, warmupMs: 0, warmupSteps: 30 };

/** The plan of the full run. */
export const FULL_PLAN: Plan = {
  runs: 5,
  runMs: 400,
  minSteps: 20,
  warmupMs: 300,
  warmupSteps: 50,
};

/** The rates of the runs, plus totals for CPU-per-call figures. */
export interface Rate extends Summary {
  /** Steps done, warm-up included. */
  steps: number;
  /** Units done (as the steps returned them, unscaled), warm-up included. */
  units: number;
  /** CPU time of this process over all steps, warm-up included, in microseconds. */
  cpuUs: number;
}

/**
 * This process's CPU time (user + system) in microseconds.
 *
 * @example
 * ```ts
 * import { processCpuUs } from "./_stats.ts";
 * console.log(processCpuUs() > 0); // true
 * ```
 *
 * @returns Microseconds.
 */
export function processCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * CPU time of a process, all its threads, from `/proc/<pid>/task/<tid>/schedstat`: nanosecond
 * resolution, where `/proc/<pid>/stat` counts 10 ms ticks (Linux only).
 *
 * @example
 * ```ts
 * import { threadCpuNs } from "./_stats.ts";
 * console.log(threadCpuNs(Deno.pid) > 0); // true
 * ```
 *
 * @param pid The process.
 * @returns Nanoseconds.
 */
export function threadCpuNs(pid: number): number {
  let total = 0;
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(
        Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`).split(" ")[0],
      );
    } catch {
      // the thread ended meanwhile
    }
  }
  return total;
}

/**
 * Runs `step` repeatedly (warm-up, then `plan.runs` timed runs) and returns the rate in units
 * per second of each run, summarised. `step` returns how many units it did (calls, bytes).
 *
 * @example
 * ```ts
 * import { measureRate, QUICK_PLAN } from "./_stats.ts";
 * const s = await measureRate(() => Promise.resolve(1), QUICK_PLAN);
 * console.log(s.runs); // 3
 * ```
 *
 * @param step One step of work; resolves to the units done.
 * @param plan Durations and counts.
 * @param scale Multiplies every step's units in the rates (e.g. bytes to MB).
 * @returns The rates of the runs and the totals.
 */
export async function measureRate(
  step: () => Promise<number>,
  plan: Plan,
  scale = 1,
): Promise<Rate> {
  const cpu0 = processCpuUs();
  let steps = 0;
  let units = 0;
  const warmEnd = performance.now() + plan.warmupMs;
  for (let i = 0; i < plan.warmupSteps || performance.now() < warmEnd; i++) {
    units += await step();
    steps++;
  }
  const rates: number[] = [];
  for (let r = 0; r < plan.runs; r++) {
    let runUnits = 0;
    let runSteps = 0;
    const start = performance.now();
    const end = start + plan.runMs;
    let now = start;
    while (runSteps < plan.minSteps || now < end) {
      runUnits += await step();
      runSteps++;
      now = performance.now();
    }
    steps += runSteps;
    units += runUnits;
    rates.push((runUnits * scale) / ((now - start) / 1000));
  }
  return { ...summarize(rates), steps, units, cpuUs: processCpuUs() - cpu0 };
}

/** The machine a run was measured on. */
export interface Machine {
  /** CPUs available (`nproc`). */
  nproc: number;
  /** The CPU model name from /proc/cpuinfo. */
  cpu: string;
  /** Total memory in MiB. */
  memoryMiB: number;
  /** The Deno version. */
  deno: string;
  /** The V8 version. */
  v8: string;
  /** The TypeScript version. */
  typescript: string;
  /** The kernel release. */
  os: string;
}

/**
 * Describes this machine.
 *
 * @example
 * ```ts
 * import { machineInfo } from "./_stats.ts";
 * console.log((await machineInfo()).nproc > 0); // true
 * ```
 *
 * @returns CPU count and model, memory and versions.
 */
export async function machineInfo(): Promise<Machine> {
  const read = async (path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch {
      return "";
    }
  };
  const cpuinfo = await read("/proc/cpuinfo");
  const meminfo = await read("/proc/meminfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const memKiB = Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? 0);
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: model,
    memoryMiB: Math.round(memKiB / 1024),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
  };
}

/** Prefix of the protocol lines role processes write on standard output. */
export const LINE_PREFIX = "@@bench ";

/**
 * Writes one protocol message (a JSON object) for the orchestrator on standard output.
 *
 * @example
 * ```ts
 * import { emit } from "./_stats.ts";
 * emit({ type: "ready", port: 1234 });
 * ```
 *
 * @param message The message; `type` says what it is.
 */
export function emit(message: { type: string } & Record<string, unknown>): void {
  console.log(LINE_PREFIX + JSON.stringify(message));
}

/**
 * Reads protocol lines written to this process's standard input by the orchestrator.
 *
 * @example
 * ```ts ignore
 * import { stdinLines } from "./_stats.ts";
 * const lines = stdinLines();
 * const next = await lines.next(); // "go"
 * ```
 *
 * @returns An iterator of lines; done at end of input.
 */
export function stdinLines(): AsyncIterator<string> {
  return Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())[
    Symbol.asyncIterator
  ]();
}

/**
 * A stream transform from text chunks to lines (without the line ends).
 *
 * @example
 * ```ts
 * import { splitLines } from "./_stats.ts";
 * const lines = ReadableStream.from(["a\nb", "c\n"]).pipeThrough(splitLines());
 * console.log(await Array.fromAsync(lines)); // ["a", "bc"]
 * ```
 *
 * @returns The transform.
 */
export function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream<string, string>({
    transform(chunk, controller) {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        controller.enqueue(rest.slice(0, nl).replace(/\r$/, ""));
        rest = rest.slice(nl + 1);
      }
    },
    flush(controller) {
      if (rest !== "") controller.enqueue(rest);
    },
  });
}

/**
 * Parses `--name=value` / `--flag` arguments of a role process into a record; positional
 * arguments are named `_0`, `_1`, ...
 *
 * @example
 * ```ts
 * import { roleArgs } from "./_stats.ts";
 * console.log(roleArgs(["client", "--runs=3", "--quick"])); // { _0: "client", runs: "3", quick: "true" }
 * ```
 *
 * @param args The command-line arguments.
 * @returns The arguments by name.
 */
export function roleArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  let positional = 0;
  for (const arg of args) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    if (m === null) out[`_${positional++}`] = arg;
    else out[m[1]!] = m[2] ?? "true";
  }
  return out;
}

/**
 * Reads the plan a role process was given (`--plan=<json>`), else the full plan.
 *
 * @example
 * ```ts
 * import { planFrom, QUICK_PLAN } from "./_stats.ts";
 * console.log(planFrom({ plan: JSON.stringify(QUICK_PLAN) }).runs); // 3
 * ```
 *
 * @param args Parsed role arguments.
 * @returns The plan.
 */
export function planFrom(args: Record<string, string>): Plan {
  const text = args.plan;
  if (typeof text !== "string") return FULL_PLAN;
  return { ...FULL_PLAN, ...(JSON.parse(text) as Partial<Plan>) };
}

/**
 * Writes a `phase` message: the orchestrator notes the server's CPU time when it reads it.
 *
 * @example
 * ```ts
 * import { emitPhase } from "./_stats.ts";
 * emitPhase("echo");
 * ```
 *
 * @param name The test that starts.
 */
export function emitPhase(name: string): void {
  emit({ type: "phase", name });
}

/**
 * Writes a `result` message for a measured rate, with the calls made since the last phase
 * message (warm-up included) and this process's CPU time per call.
 *
 * @example
 * ```ts
 * import { emitRate, measureRate, QUICK_PLAN } from "./_stats.ts";
 * const rate = await measureRate(() => Promise.resolve(1), QUICK_PLAN);
 * emitRate("noop", rate, rate.steps);
 * ```
 *
 * @param name The test name.
 * @param rate The measured rate.
 * @param calls Calls made (warm-up included).
 * @param extra More fields for the message.
 */
export function emitRate(
  name: string,
  rate: Rate,
  calls: number,
  extra: Record<string, unknown> = {},
): void {
  const { median, min, max, runs } = rate;
  emit({
    type: "result",
    name,
    summary: { median, min, max, runs },
    calls,
    clientCpuUs: rate.cpuUs / calls,
    ...extra,
  });
}

/**
 * Calls per second of one run of concurrent loops, loop `i` calling `calls[i]`: each makes at
 * least `steps` calls and runs at least `ms` milliseconds.
 */
export async function laneRate(
  calls: ReadonlyArray<() => Promise<unknown>>,
  steps: number,
  ms: number,
): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  await Promise.all(calls.map(async (call) => {
    let mine = 0;
    while (mine < steps || performance.now() - t0 < ms) {
      await call();
      mine++;
      n++;
    }
  }));
  return n / ((performance.now() - t0) / 1000);
}
