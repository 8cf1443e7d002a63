/**
 * Summarises the V8 CPU profiles written by `deno run -A bench/main.ts --cpu-prof=DIR`: for
 * every role process, the functions with the largest self time and inclusive time, as shares
 * of the profile.
 *
 * Run: `deno run -A bench/_pyro_profile.ts DIR [top=15]`
 *
 * @module
 */

/** Where a profile node's function is. */
export interface CallFrame {
  /** The function's name (empty for anonymous ones). */
  functionName: string;
  /** Its file. */
  url: string;
  /** Its line, from 0. */
  lineNumber: number;
}

/** One node of the call tree. */
export interface ProfileNode {
  /** The node id. */
  id: number;
  /** The function. */
  callFrame: CallFrame;
  /** Ids of the callees. */
  children?: number[];
}

/** The parts of a `.cpuprofile` file read here. */
export interface CpuProfile {
  /** The call tree. */
  nodes: ProfileNode[];
  /** Node id of each sample. */
  samples: number[];
  /** Microseconds before each sample. */
  timeDeltas: number[];
}

/** A function's share of a profile. */
export interface Share {
  /** `name file:line`. */
  key: string;
  /** Share of the profile's time, 0..1. */
  share: number;
}

function keyOf(frame: CallFrame): string {
  const file = frame.url.split("/").pop() ?? "";
  return `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
}

/**
 * Self and inclusive time per function of one profile, largest first.
 *
 * @example
 * ```ts
 * import { summarizeProfile } from "./_pyro_profile.ts";
 * const frame = { functionName: "f", url: "file:///a.ts", lineNumber: 0 };
 * const s = summarizeProfile({ nodes: [{ id: 1, callFrame: frame }], samples: [1], timeDeltas: [5] });
 * console.log(s.self[0]); // { key: "f a.ts:1", share: 1 }
 * ```
 *
 * @param profile The parsed profile.
 * @returns Self and inclusive shares, and the profile's length in ms.
 */
export function summarizeProfile(
  profile: CpuProfile,
): { totalMs: number; self: Share[]; inclusive: Share[] } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const time = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  );
  let total = 0;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, t] of time) {
    total += t;
    const key = keyOf(nodes.get(id)!.callFrame);
    self.set(key, (self.get(key) ?? 0) + t);
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const k = keyOf(nodes.get(x)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + t);
    }
  }
  const sorted = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([key, t]) => ({ key, share: total ? t / total : 0 }));
  return { totalMs: total / 1000, self: sorted(self), inclusive: sorted(incl) };
}

if (import.meta.main) {
  const dir = Deno.args[0];
  const top = Number(Deno.args[1] ?? 15);
  if (dir === undefined) {
    console.error("usage: deno run -A bench/_pyro_profile.ts DIR [top]");
    Deno.exit(2);
  }
  const roles = new Map<string, string>();
  try {
    for (const line of Deno.readTextFileSync(`${dir}/roles.txt`).split("\n")) {
      const [pid, ...label] = line.split(" ");
      if (pid) roles.set(pid, label.join(" "));
    }
  } catch {
    // no role names
  }
  for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.name.endsWith(".cpuprofile")) continue;
    const pid = entry.name.split(".").at(-2) ?? "";
    const s = summarizeProfile(JSON.parse(Deno.readTextFileSync(`${dir}/${entry.name}`)));
    console.log(`\n== ${entry.name} (${roles.get(pid) ?? "?"}), ${s.totalMs.toFixed(0)} ms`);
    const show = (label: string, rows: Share[]) => {
      console.log(`  ${label}:`);
      for (const r of rows.slice(0, top)) {
        console.log(`    ${(100 * r.share).toFixed(1).padStart(5)}%  ${r.key}`);
      }
    };
    show("self", s.self);
    show("inclusive", s.inclusive);
  }
}
