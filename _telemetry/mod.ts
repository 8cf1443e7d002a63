/**
 * OpenTelemetry for Pyro: spans, metrics and trace context propagation, on top of Deno's
 * built-in OpenTelemetry (`OTEL_DENO=true`) through `npm:@opentelemetry/api`. Nothing else.
 *
 * - `api.ts`: the API import and the once-made decision {@linkcode TELEMETRY}.
 * - `client.ts`: a CLIENT span per proxy call and per item stream.
 * - `server.ts`: a SERVER span per call a daemon dispatches, and per item stream.
 * - `trace_context.ts`: the W3C trace context in the Pyro annotation `W3TC`.
 * - `metrics.ts`: call counts, errors and latencies per object and method, connections,
 *   calls in flight, streams, Name Server names and lookups.
 * - `log_ids.ts`: trace and span ids on log lines.
 *
 * The library hooks in at one point per path: the proxy's call entry, the daemon's dispatch,
 * the daemon's connection accounting, its stream registry and the Name Server. Each hook is
 * `if (TELEMETRY) ...`: with telemetry off, calls pay that one test and messages carry nothing
 * extra.
 *
 * @example
 * ```ts
 * import { TELEMETRY, TRACE_ANNOTATION } from "./mod.ts";
 * console.log(TELEMETRY, TRACE_ANNOTATION); // false "W3TC" (without OTEL_DENO=true)
 * ```
 *
 * @module
 */

export { TELEMETRY } from "./api.ts";
export {
  type CallKind,
  type ClientCallInfo,
  noteRetry,
  traceClientCall,
  traceConnect,
  traceStream,
} from "./client.ts";
export {
  type ServerCallInfo,
  startServerStream,
  type StreamSpan,
  traceServerCall,
} from "./server.ts";
export { TRACE_ANNOTATION } from "./trace_context.ts";
export { type ConnectionEvent, connectionEvent, nsLookup, observeNameCount } from "./metrics.ts";
export { withTraceIds } from "./log_ids.ts";
