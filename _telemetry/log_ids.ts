/**
 * Trace and span ids for the library's log lines: when a span is active, a line gets
 * ` trace_id=<32 hex> span_id=<16 hex>` at its end. (With Deno's exporter the log records
 * carry the ids as fields too.)
 *
 * @example
 * ```ts
 * import { withTraceIds } from "./log_ids.ts";
 * console.log(withTraceIds("daemon: started")); // unchanged outside a span
 * ```
 *
 * @module
 */

import { TELEMETRY, trace } from "./api.ts";

/**
 * Appends the active span's ids to a log message.
 *
 * @param message The message.
 * @returns The message, with the ids when a span is active (never without telemetry).
 */
export function withTraceIds(message: string): string {
  if (!TELEMETRY) return message;
  const span = trace.getActiveSpan();
  if (span === undefined) return message;
  const { traceId, spanId } = span.spanContext();
  return `${message} trace_id=${traceId} span_id=${spanId}`;
}
