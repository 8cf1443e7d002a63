/**
 * The library's log: one line per event on standard error, filtered by `config.LOGLEVEL`
 * (`PYRO_LOGLEVEL`). Warnings and errors are shown by default; set the level to `DEBUG` or
 * `INFO` for more, or to `NONE` for nothing. With OpenTelemetry on (`OTEL_DENO=true`), a line
 * written while a span is active ends with ` trace_id=<id> span_id=<id>`.
 *
 * @example
 * ```ts
 * import { log } from "./log.ts";
 * log.warn("daemon: connection limit reached");
 * ```
 *
 * @module
 */

import { config } from "./config.ts";
import { TELEMETRY, withTraceIds } from "./_telemetry/mod.ts";

const LEVELS: Record<string, number> = {
  DEBUG: 10,
  INFO: 20,
  WARNING: 30,
  WARN: 30,
  ERROR: 40,
  CRITICAL: 50,
  NONE: 100,
};

/** A sink for log lines, replaceable for tests or applications. */
export type LogSink = (level: string, message: string) => void;

let sink: LogSink = (level, message) => {
  console.error(`${new Date().toISOString()} [pyro] ${level} ${message}`);
};

/** The configured level, read again only when `config.LOGLEVEL` changes. */
let levelText: string | undefined;
let configured = 30;

function enabled(level: number): boolean {
  const text = config.LOGLEVEL;
  if (text !== levelText) {
    levelText = text;
    configured = LEVELS[text.toUpperCase()] ?? LEVELS.WARNING!;
  }
  return level >= configured;
}

function write(level: string, message: string): true {
  sink(level, TELEMETRY ? withTraceIds(message) : message);
  return true;
}

/**
 * Replaces where log lines go, and returns the previous sink.
 *
 * @example
 * ```ts
 * import { log, setLogSink } from "./log.ts";
 * const lines: string[] = [];
 * const previous = setLogSink((level, message) => lines.push(`${level} ${message}`));
 * log.error("something happened");
 * setLogSink(previous);
 * ```
 *
 * @param newSink The new sink.
 * @returns The previous sink.
 */
export function setLogSink(newSink: LogSink): LogSink {
  const previous = sink;
  sink = newSink;
  return previous;
}

/**
 * Writes a line at a level: `debug`, `info`, `warn` or `error`.
 *
 * @example
 * ```ts
 * import { log } from "./log.ts";
 * log.info("daemon started");
 * if (log.debugging) log.debug(`state: ${JSON.stringify({ connections: 0 })}`);
 * ```
 */
export const log: {
  /**
   * True while debug lines are written (`config.LOGLEVEL` is `DEBUG`): build a costly debug
   * message only then.
   */
  readonly debugging: boolean;
  /** Details for debugging. */
  debug(message: string): void;
  /** Normal events. */
  info(message: string): void;
  /** Something refused or unusual, service goes on. */
  warn(message: string): void;
  /** A failure. */
  error(message: string): void;
} = {
  get debugging() {
    return enabled(10);
  },
  debug: (message) => enabled(10) && write("DEBUG", message),
  info: (message) => enabled(20) && write("INFO", message),
  warn: (message) => enabled(30) && write("WARNING", message),
  error: (message) => enabled(40) && write("ERROR", message),
};
