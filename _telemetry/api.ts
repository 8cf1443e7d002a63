/**
 * The one place that imports the OpenTelemetry API, and the one decision whether telemetry is
 * on. It is on when an OpenTelemetry tracer provider was registered before the library loaded:
 * Deno registers its built-in one at startup when `OTEL_DENO=true`. The decision is made once,
 * so with telemetry off the call paths pay a single boolean test and add nothing to messages.
 *
 * `@opentelemetry/api` is the OpenTelemetry project's own API package: Deno's built-in
 * exporter implements it, it has no dependencies, and without a registered provider it is a
 * no-op. The version is pinned.
 *
 * @example
 * ```ts
 * import { TELEMETRY } from "./api.ts";
 * console.log(TELEMETRY); // false unless run with OTEL_DENO=true
 * ```
 *
 * @module
 */

import {
  type Meter,
  metrics,
  ProxyTracerProvider,
  trace,
  type Tracer,
} from "npm:@opentelemetry/api@1.9.0";

export {
  type Attributes,
  type Context,
  context,
  createTraceState,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from "npm:@opentelemetry/api@1.9.0";

/** The instrumentation scope: the library's package name and version. */
export const SCOPE = { name: "@pyro/pyro", version: "0.1.0" } as const;

/** True when a tracer provider is registered (with Deno: `OTEL_DENO=true`); decided once. */
export const TELEMETRY: boolean = !(trace.getTracerProvider() instanceof ProxyTracerProvider);

/** The library's tracer (a no-op one when telemetry is off). */
export const tracer: Tracer = trace.getTracer(SCOPE.name, SCOPE.version);

/** The library's meter (a no-op one when telemetry is off). */
export const meter: Meter = metrics.getMeter(SCOPE.name, SCOPE.version);
