/**
 * The one place that loads the OpenTelemetry API, and the one decision whether telemetry is
 * on. It is on when an OpenTelemetry tracer provider was registered before the library loaded:
 * Deno registers its built-in one at startup when `OTEL_DENO=true`. The decision is made once,
 * so with telemetry off the call paths pay a single boolean test and add nothing to messages.
 *
 * `@opentelemetry/api` is the OpenTelemetry project's own API package: Deno's built-in
 * exporter implements it, it has no dependencies, and without a registered provider it is a
 * no-op. The version is pinned. It is loaded only when a provider is registered in
 * OpenTelemetry's global registry (where the package itself looks for one): loading it cost a
 * daemon or a proxy process about 6 MB of resident memory (daemon.ts alone: 53 MB with it,
 * 47 MB without). With telemetry off, its values here throw when used; the library reads them
 * only after testing {@linkcode TELEMETRY}.
 *
 * @example
 * ```ts
 * import { TELEMETRY } from "./api.ts";
 * console.log(TELEMETRY); // false unless run with OTEL_DENO=true
 * ```
 *
 * @module
 */

import type * as OTel from "npm:@opentelemetry/api@1.9.0";

export type { Attributes, Context, Span, SpanContext } from "npm:@opentelemetry/api@1.9.0";

/** The instrumentation scope: the library's package name and version. */
export const SCOPE = { name: "@pyro/pyro", version: "0.1.0" } as const;

/** The key of OpenTelemetry's global registry (version 1 of the JavaScript API). */
const REGISTRY = Symbol.for("opentelemetry.js.api.1");

const registered =
  (globalThis as { [REGISTRY]?: { trace?: unknown } })[REGISTRY]?.trace !== undefined;

const api: typeof OTel | null = registered ? await import("npm:@opentelemetry/api@1.9.0") : null;

/** True when a tracer provider is registered (with Deno: `OTEL_DENO=true`); decided once. */
export const TELEMETRY: boolean = api !== null &&
  !(api.trace.getTracerProvider() instanceof api.ProxyTracerProvider);

/** A stand-in for an API value while telemetry is off: any use throws. */
function off<T extends object>(name: string): T {
  const fail = (): never => {
    throw new Error(`Cannot use OpenTelemetry's ${name}: telemetry is off`);
  };
  return new Proxy(fail, { get: fail, apply: fail }) as unknown as T;
}

/** The API's trace entry point. */
export const trace: typeof OTel.trace = api?.trace ?? off("trace");

/** The API's context entry point. */
export const context: typeof OTel.context = api?.context ?? off("context");

/** Span kinds. */
export const SpanKind: typeof OTel.SpanKind = api?.SpanKind ?? off("SpanKind");

/** Span status codes. */
export const SpanStatusCode: typeof OTel.SpanStatusCode = api?.SpanStatusCode ??
  off("SpanStatusCode");

/** Makes a W3C trace state from its text. */
export const createTraceState: typeof OTel.createTraceState = api?.createTraceState ??
  off("createTraceState");

/** The library's tracer (a no-op one when no provider takes it). */
export const tracer: OTel.Tracer = api?.trace.getTracer(SCOPE.name, SCOPE.version) ??
  off("tracer");

/** The library's meter (a no-op one when no provider takes it). */
export const meter: OTel.Meter = api?.metrics.getMeter(SCOPE.name, SCOPE.version) ??
  off("meter");
