/**
 * W3C trace context in a Pyro annotation. The annotation `W3TC` holds the `traceparent` value
 * (`00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`, ASCII) and, when the context
 * has one, a newline and the `tracestate` value. Pyro5 passes annotations it does not know
 * through untouched, so any peer can read and write it (see `examples/pythoninterop/tracing.py`
 * for Python). A request carries the caller's span; a reply carries the server's span.
 *
 * Malformed values are ignored (the server starts a new trace), never an error.
 *
 * @example
 * ```ts
 * import { decodeTraceContext, encodeTraceContext } from "./trace_context.ts";
 * const bytes = encodeTraceContext({
 *   traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
 *   spanId: "00f067aa0ba902b7",
 *   traceFlags: 1,
 * });
 * console.log(new TextDecoder().decode(bytes)); // 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
 * console.log(decodeTraceContext(bytes)?.spanId); // 00f067aa0ba902b7
 * ```
 *
 * @module
 */

import { createTraceState, type SpanContext, TELEMETRY } from "./api.ts";

/** The annotation id that carries the W3C trace context. */
export const TRACE_ANNOTATION = "W3TC";

/** Longest accepted annotation value: a traceparent and a tracestate of 512 characters. */
const MAX_LENGTH = 55 + 1 + 512;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;

/**
 * Encodes a span context as the annotation value.
 *
 * @param sc The span context.
 * @returns The ASCII bytes.
 */
export function encodeTraceContext(sc: SpanContext): Uint8Array {
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, "0");
  let text = `00-${sc.traceId}-${sc.spanId}-${flags}`;
  const state = sc.traceState?.serialize();
  if (state) text += `\n${state}`;
  return encoder.encode(text);
}

/**
 * Decodes the annotation value; null when it is not a valid trace context.
 *
 * @param bytes The annotation value.
 * @returns The remote span context, or null.
 */
export function decodeTraceContext(bytes: Uint8Array): SpanContext | null {
  if (bytes.length < 55 || bytes.length > MAX_LENGTH) return null;
  const text = decoder.decode(bytes);
  const newline = text.indexOf("\n");
  const parent = newline < 0 ? text : text.slice(0, newline);
  const m = TRACEPARENT.exec(parent);
  if (m === null) return null;
  const [, version, traceId, spanId, flags, rest] = m;
  // Version 00 has exactly these four fields; later versions may add more after a dash.
  if (version === "ff" || (version === "00" && rest !== "")) return null;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return null;
  const sc: SpanContext = {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: parseInt(flags!, 16) & 1,
    isRemote: true,
  };
  // The trace state is kept for the server span's parent; without telemetry there is none.
  if (newline >= 0 && TELEMETRY) {
    const state = text.slice(newline + 1).trim();
    if (state !== "") sc.traceState = createTraceState(state);
  }
  return sc;
}
