/**
 * The browser build's stand-in for `_telemetry/mod.ts`: telemetry is off in a page, so the
 * OpenTelemetry API is not bundled. Same exports, doing nothing; the library tests `TELEMETRY`
 * before calling any of them.
 *
 * @example
 * ```ts
 * import { TELEMETRY } from "./telemetry.ts";
 * console.log(TELEMETRY); // false
 * ```
 *
 * @module
 */

import type * as real from "../_telemetry/mod.ts";

export type {
  CallKind,
  ClientCallInfo,
  ConnectionEvent,
  ServerCallInfo,
  StreamSpan,
} from "../_telemetry/mod.ts";

/** Always false in a page. */
export const TELEMETRY = false;

/** The annotation id of the W3C trace context. */
export const TRACE_ANNOTATION = "W3TC";

/** Runs the call unchanged. */
export const traceClientCall: typeof real.traceClientCall = (info, run) =>
  run(info.annotations ?? new Map());

/** Runs the connect unchanged. */
export const traceConnect: typeof real.traceConnect = (_uri, run) => run();

/** Returns the host unchanged. */
export const traceStream: typeof real.traceStream = (host) => host;

/** Does nothing. */
export const noteRetry: typeof real.noteRetry = () => {};

/** Runs the call unchanged. */
export const traceServerCall: typeof real.traceServerCall = (_ctx, _call, run) => run();

/** No stream span. */
export const startServerStream: typeof real.startServerStream = () => null;

/** Does nothing. */
export const connectionEvent: typeof real.connectionEvent = () => {};

/** Does nothing. */
export const nsLookup: typeof real.nsLookup = () => {};

/** Reports nothing. */
export const observeNameCount: typeof real.observeNameCount = () => () => {};

/** Returns the message unchanged. */
export const withTraceIds: typeof real.withTraceIds = (message) => message;
