/**
 * The report of a benchmark run: one row per figure and mode with its value, min/max, the
 * ratio against its baseline of the same mode, and the target check; printed as one table,
 * written as JSON (and as a Markdown table for the README).
 *
 * @module
 */

import { FIGURES } from "./_pyro_figures.ts";
import type { Result } from "./_pyro_groups.ts";
import type { Mode } from "./_runner.ts";
import type { Machine } from "./_stats.ts";

/** One figure in one mode, as written to the JSON file. */
export interface Row {
  /** The figure's name (see _pyro_figures.ts). */
  name: string;
  /** Pinned or not. */
  mode: Mode;
  /** The median of the runs, or null when unavailable. */
  value: number | null;
  /** The unit of value, min and max. */
  unit: string;
  /** The slowest run. */
  min: number | null;
  /** The fastest run. */
  max: number | null;
  /** How many runs. */
  runs: number;
  /** value / the `ratioTo` figure of the same mode. */
  ratio: number | null;
  /** The figure the ratio divides by. */
  ratioTo: string | null;
  /** The target, as text. */
  target: string | null;
  /** The number checked against the target (a ratio, or the value itself). */
  targetValue: number | null;
  /** True/false when there is a target and both figures were measured, else null. */
  met: boolean | null;
  /** Median ratio to raw ping-pong runs alternating with this figure's runs, if paired. */
  pairedRatio: number | null;
  /** CPU time of the server process per call (from /proc), in µs, when measured. */
  serverCpuUsPerCall: number | null;
  /** CPU time of the client process per call, in µs, when measured. */
  clientCpuUsPerCall: number | null;
  /** What is measured. */
  description: string;
  /** Details of the measurement. */
  note: string | null;
  /** Why the figure could not be measured (or was skipped). */
  unavailable: string | null;
}

/** The whole JSON report. */
export interface Report {
  /** When the run started (ISO 8601). */
  date: string;
  /** The command that ran it. */
  command: string;
  /** Quick (smoke) mode. */
  quick: boolean;
  /** The machine. */
  machine: Machine;
  /** Each mode and how it ran (or why not). */
  modes: Record<string, string>;
  /** Length of the run. */
  durationSeconds: number;
  /** One row per figure and mode. */
  figures: Row[];
}

function valueOf(results: Map<string, Result>, name: string): number | null {
  const r = results.get(name);
  return r !== undefined && "value" in r && Number.isFinite(r.value) ? r.value : null;
}

/**
 * Builds the rows of one mode from its measured results.
 *
 * @param mode The mode.
 * @param results Measured figures by name.
 * @returns One row per catalogued figure.
 */
export function buildRows(mode: Mode, results: Map<string, Result>): Row[] {
  return FIGURES.map((spec): Row => {
    const r = results.get(spec.name) ?? { unavailable: "not measured" };
    const measured = "value" in r && Number.isFinite(r.value) ? r : null;
    const value = measured?.value ?? null;
    const base = spec.ratioTo === null ? null : valueOf(results, spec.ratioTo);
    const ratio = value !== null && base !== null && base > 0 ? value / base : null;
    let targetValue: number | null = null;
    let met: boolean | null = null;
    let targetText = spec.target?.text ?? null;
    const of = spec.target?.of ? results.get(spec.target.of) : undefined;
    const ofPaired = of !== undefined && "paired" in of ? of.paired : undefined;
    if (spec.target?.ofPaired && measured?.paired !== undefined && ofPaired !== undefined) {
      // Both figures paired with raw ping-pong: their ratio, without the load between them.
      targetValue = measured.paired.median / ofPaired.median;
      targetText = `${spec.target.text} (ratio of paired ratios)`;
      met = (spec.target.min === undefined || targetValue >= spec.target.min) &&
        (spec.target.max === undefined || targetValue < spec.target.max);
    } else if (spec.target !== null && value !== null && measured?.paired !== undefined) {
      // Paired runs (alternating with raw ping-pong) give the ratio least disturbed by load.
      targetValue = measured.paired.median;
      targetText = `${spec.target.text} (paired runs)`;
      met = (spec.target.min === undefined || targetValue >= spec.target.min) &&
        (spec.target.max === undefined || targetValue < spec.target.max);
    } else if (spec.target !== null && value !== null) {
      const of = spec.target.of === null ? 1 : valueOf(results, spec.target.of);
      if (of !== null && of > 0) {
        targetValue = value / of;
        met = (spec.target.min === undefined || targetValue >= spec.target.min) &&
          (spec.target.max === undefined || targetValue < spec.target.max);
      }
    }
    return {
      name: spec.name,
      mode,
      value,
      unit: spec.unit,
      min: measured?.min ?? null,
      max: measured?.max ?? null,
      runs: measured?.runs ?? 0,
      ratio,
      ratioTo: spec.ratioTo,
      target: targetText,
      targetValue,
      met,
      pairedRatio: measured?.paired?.median ?? null,
      serverCpuUsPerCall: measured?.serverCpuUs ?? null,
      clientCpuUsPerCall: measured?.clientCpuUs ?? null,
      description: spec.description,
      note: measured?.note ?? null,
      unavailable: "unavailable" in r ? r.unavailable : null,
    };
  });
}

function num(v: number | null): string {
  if (v === null) return "-";
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function cells(row: Row): string[] {
  if (row.unavailable !== null) {
    const skipped = row.unavailable.startsWith("skipped");
    return [
      row.name,
      row.mode,
      skipped ? row.unavailable : `unavailable: ${row.unavailable}`,
      "",
      "",
      "",
      "",
      "",
      "",
    ];
  }
  return [
    row.name,
    row.mode,
    num(row.value),
    `${num(row.min)}..${num(row.max)}`,
    row.unit,
    row.ratio === null ? "-" : `${row.ratio.toFixed(2)}x ${row.ratioTo}`,
    row.target ?? "-",
    row.met === null ? "-" : `${row.met ? "yes" : "NO"} (${row.targetValue!.toFixed(2)})`,
    row.serverCpuUsPerCall === null && row.clientCpuUsPerCall === null
      ? "-"
      : `${num(row.serverCpuUsPerCall)}+${num(row.clientCpuUsPerCall)}`,
  ];
}

const HEADER = [
  "figure",
  "mode",
  "value",
  "min..max",
  "unit",
  "ratio",
  "target",
  "met",
  "cpu us/call srv+cli",
];

/**
 * Formats rows as one plain-text table.
 *
 * @param rows The rows.
 * @returns The table.
 */
export function formatTable(rows: readonly Row[]): string {
  const measured = [HEADER, ...rows.filter((r) => r.unavailable === null).map(cells)];
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) =>
    Math.max(...(i < 2 ? all : measured).map((r) => r[i]!.length))
  );
  return rows.map((row) => {
    const c = cells(row);
    if (row.unavailable !== null) {
      return `${c[0]!.padEnd(widths[0]!)}  ${c[1]!.padEnd(widths[1]!)}  ${c[2]}`;
    }
    return line(c, widths);
  }).reduce((out, l) => `${out}\n${l}`, line(HEADER, widths));
}

function line(c: readonly string[], widths: readonly number[]): string {
  return c.map((s, i) => (i === 2 || i === 3 ? s.padStart(widths[i]!) : s.padEnd(widths[i]!)))
    .join("  ").trimEnd();
}

/**
 * Formats rows as a Markdown table (for the README).
 *
 * @param rows The rows.
 * @returns The Markdown.
 */
export function formatMarkdown(rows: readonly Row[]): string {
  const lines = [`| ${HEADER.join(" | ")} |`, `|${HEADER.map(() => "---").join("|")}|`];
  for (const row of rows) {
    const c = cells(row).map((s) => s.replaceAll("|", "\\|"));
    lines.push(`| ${c.join(" | ")} |`);
  }
  return lines.join("\n");
}
