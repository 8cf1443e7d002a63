/**
 * The benchmark suite (`deno task bench`): raw socket baselines and every Pyro call path,
 * each server and client in its own process, in two modes — unpinned, and pinned to one CPU
 * with `taskset -c 0` — with every ratio taken against the raw baseline of the same mode in
 * the same run. Prints one table and writes it as JSON (and Markdown) under bench/results/.
 *
 * Usage: `deno run -A bench/main.ts [--quick] [--no-write] [--mode=both|unpinned|pinned]
 * [--only=raw,tcp,unix,ns,nsstore,web,gateway,memory,python,pyro5] [--out=FILE] [--cpu-prof=DIR]`
 *
 * `--quick` makes a few hundred calls per figure (a smoke run, well under a minute);
 * `PYRO5_PYTHONPATH=/path/to/Pyro5-source` adds the comparison with Python Pyro5;
 * `--cpu-prof=DIR` makes every Deno role write a V8 CPU profile into DIR (`roles.txt` there
 * maps process ids to roles).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FIGURES } from "./_pyro_figures.ts";
import {
  type Context,
  memoryGroup,
  namingGroup,
  pyroTcpGroup,
  pyroUnixGroup,
  pythonGroup,
  rawGroup,
  type Result,
} from "./_pyro_groups.ts";
import { buildRows, formatMarkdown, formatTable, type Report, type Row } from "./_pyro_report.ts";
import { type Mode, roleDefaults, tasksetAvailable } from "./_runner.ts";
import { FULL_PLAN, machineInfo, QUICK_PLAN } from "./_stats.ts";
import { webGroup } from "./_web.ts";
import { gatewayGroup } from "./_gateway.ts";
import { namingStorageGroup } from "./_naming_storage.ts";
import { pyro5CompareGroup } from "./_pyro5_compare.ts";

const GROUPS = [
  "raw",
  "tcp",
  "unix",
  "ns",
  "nsstore",
  "web",
  "gateway",
  "memory",
  "python",
  "pyro5",
] as const;

/** Sizes of one Pyro echo("hello") request and reply frame with msgpack, from the library. */
async function pyroFrameSizes(): Promise<{ req: number; resp: number; source: string }> {
  try {
    const { encodeMessage, MessageType } = await import("../_wire/protocol.ts");
    const { getSerializer } = await import("../serializer.ts");
    const ser = getSerializer("msgpack");
    const req = encodeMessage({
      type: MessageType.INVOKE,
      serializerId: ser.id,
      seq: 1,
      data: ser.dumpsCall({ object: "bench", method: "echo", params: ["hello"], kwargs: {} }),
    }).length;
    // (the 40-byte header holds the correlation id, so it adds nothing)
    const resp = encodeMessage({
      type: MessageType.RESULT,
      serializerId: ser.id,
      seq: 1,
      data: ser.dumps("hello"),
    }).length;
    return { req, resp, source: "library" };
  } catch (e) {
    return { req: 60, resp: 46, source: `fallback (${String(e)})` };
  }
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      "no-write": { type: "boolean", default: false },
      mode: { type: "string", default: "both" },
      only: { type: "string" },
      out: { type: "string" },
      "cpu-prof": { type: "string" },
    },
  });
  const quick = values.quick;
  const modes: Mode[] = values.mode === "both"
    ? ["unpinned", "pinned"]
    : [values.mode === "pinned" ? "pinned" : "unpinned"];
  const only = new Set(values.only?.split(",") ?? GROUPS);
  const started = performance.now();
  const date = new Date();
  const machine = await machineInfo();
  const frame = await pyroFrameSizes();
  const pyro5Path = Deno.env.get("PYRO5_PYTHONPATH") ?? null;
  const taskset = await tasksetAvailable();
  const tmp = await Deno.makeTempDir({ prefix: "pyro-bench-" });
  const profDir = values["cpu-prof"];
  if (profDir !== undefined) {
    await Deno.mkdir(profDir, { recursive: true });
    roleDefaults.denoFlags = ["--cpu-prof", `--cpu-prof-dir=${profDir}`];
    roleDefaults.onStart = (role) =>
      Deno.writeTextFileSync(`${profDir}/roles.txt`, `${role.pid} ${role.label}\n`, {
        append: true,
      });
  }
  const progress = (text: string) =>
    console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0)}s] ${text}`);
  progress(
    `${quick ? "quick" : "full"} run; frames ${frame.req}/${frame.resp} bytes (${frame.source}); ` +
      `${machine.nproc} CPUs, ${machine.cpu}`,
  );
  if (pyro5Path === null) progress("Python Pyro5 comparison skipped (PYRO5_PYTHONPATH not set)");

  const rows: Row[] = [];
  const modeStatus: Record<string, string> = {};
  try {
    for (const mode of modes) {
      const results = new Map<string, Result>();
      if (mode === "pinned" && taskset !== null) {
        modeStatus[mode] = `unavailable: ${taskset}`;
        for (const f of FIGURES) results.set(f.name, { unavailable: taskset });
        rows.push(...buildRows(mode, results));
        continue;
      }
      modeStatus[mode] = mode === "pinned"
        ? "taskset -c 0 (server and clients on CPU 0)"
        : "no affinity";
      const ctx: Context = {
        mode,
        quick,
        plan: quick ? QUICK_PLAN : FULL_PLAN,
        frame,
        tmp,
        pyro5Path,
        put: (name, r) => results.set(name, r),
        progress: (t) => progress(`${mode}: ${t}`),
      };
      const run = async (
        group: (typeof GROUPS)[number],
        label: string,
        fn: () => Promise<void>,
      ) => {
        if (!only.has(group)) return;
        ctx.progress(label);
        await fn();
      };
      await run("raw", "raw baselines (tcp)", () => rawGroup(ctx, "tcp"));
      await run("raw", "raw baselines (unix)", () => rawGroup(ctx, "unix"));
      await run("tcp", "pyro over tcp", () => pyroTcpGroup(ctx));
      await run("unix", "pyro over unix sockets", () => pyroUnixGroup(ctx));
      await run("ns", "name server", () => namingGroup(ctx));
      await run("nsstore", "name server storages", () => namingStorageGroup(ctx));
      await run("web", "browser over WebSocket", () => webGroup(ctx));
      await run("gateway", "HTTP gateway", () => gatewayGroup(ctx));
      await run("memory", "memory", () => memoryGroup(ctx));
      await run("python", "python pyro5", () => pythonGroup(ctx));
      await run("pyro5", "side by side with python pyro5", () => pyro5CompareGroup(ctx));
      derive(results);
      rows.push(...buildRows(mode, results));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }

  const durationSeconds = (performance.now() - started) / 1000;
  console.log(formatTable(rows));
  console.log(
    `\n${machine.nproc} CPUs (${machine.cpu}), ${machine.memoryMiB} MiB, deno ${machine.deno}; ` +
      `${quick ? "quick" : "full"} run in ${durationSeconds.toFixed(0)} s; ` +
      `each value: median of runs (min..max); ratio: against the named figure of the same mode.`,
  );
  if (pyro5Path === null) console.log("Python Pyro5 comparison: skipped (set PYRO5_PYTHONPATH).");
  const vsPyro5 = rows.filter((r) => r.pairedRatio !== null && r.name.startsWith("pyro5."));
  if (vsPyro5.length > 0) {
    console.log(
      "Ours vs Python Pyro5 (median of per-round ratios, alternating runs): " +
        vsPyro5.map((r) => `${r.name} ${r.mode} ${r.pairedRatio!.toFixed(2)}`).join(", "),
    );
  }
  const skipped = rows.filter((r) => r.unavailable?.startsWith("skipped") === true);
  if (skipped.length > 0) {
    console.log(`Skipped rows: ${skipped.map((r) => `${r.name} (${r.mode})`).join(", ")}`);
  }
  const paired = rows.filter((r) => r.pairedRatio !== null && !r.name.startsWith("pyro5."));
  if (paired.length > 0) {
    console.log(
      "Sequential echo vs raw ping-pong in alternating runs (paired, robust to load changes): " +
        paired.map((r) => `${r.name} ${r.mode} ${r.pairedRatio!.toFixed(2)}`).join(", "),
    );
  }
  const missed = rows.filter((r) => r.met === false).map((r) => `${r.name} (${r.mode})`);
  console.log(
    missed.length === 0 ? "All measured targets met." : `Targets missed: ${missed.join(", ")}`,
  );

  if (!values["no-write"]) {
    const report: Report = {
      date: date.toISOString(),
      command: `deno run -A bench/main.ts ${Deno.args.join(" ")}`.trim(),
      quick,
      machine,
      modes: modeStatus,
      durationSeconds,
      figures: rows,
    };
    const dir = new URL("./results/", import.meta.url).pathname;
    await Deno.mkdir(dir, { recursive: true });
    const base = values.out ?? `${dir}${quick ? "quick" : "latest"}`;
    const json = base.endsWith(".json") ? base : `${base}.json`;
    await Deno.writeTextFile(json, JSON.stringify(report, null, 2) + "\n");
    await Deno.writeTextFile(json.replace(/\.json$/, ".md"), formatMarkdown(rows) + "\n");
    if (!quick && values.out === undefined) {
      await Deno.writeTextFile(
        `${dir}bench-${stamp(date)}.json`,
        JSON.stringify(report, null, 2) + "\n",
      );
    }
    progress(`wrote ${json}`);
  }
  return 0;
}

/** Figures computed from others of the same mode. */
function derive(results: Map<string, Result>): void {
  const ours = results.get("echo.seq.msgpack");
  const theirs = results.get("python.pyro5-to-pyro5.echo.msgpack");
  const name = "python.speedup-vs-pyro5";
  if (theirs !== undefined && "unavailable" in theirs) {
    results.set(name, { unavailable: theirs.unavailable });
  } else if (ours !== undefined && "value" in ours && theirs !== undefined && "value" in theirs) {
    const v = ours.value / theirs.value;
    results.set(name, { value: v, median: v, min: v, max: v, runs: 1, note: "ratio of medians" });
  } else {
    results.set(name, { unavailable: "needs echo.seq.msgpack and python.pyro5-to-pyro5" });
  }
}

if (import.meta.main) Deno.exit(await main());
