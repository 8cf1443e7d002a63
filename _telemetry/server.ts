/**
 * Server spans: one span of kind SERVER per call a daemon (the Name Server's included)
 * dispatches, named `<object id>/<method>`, a child of the caller's span when the request
 * carries the annotation `W3TC`. The method runs with the span active, so the calls it makes
 * continue the trace; the reply carries the server span's context back in `W3TC` when the
 * request had one. Item streams get a span from their creation to their end.
 *
 * Attributes: `rpc.system`, `rpc.service`, `rpc.method`, `network.peer.address`,
 * `network.peer.port`, `network.transport`, `pyro.serializer`, `pyro.call.kind`,
 * `pyro.correlation_id` (Pyro's correlation id, linking the trace to Pyro's logs),
 * `pyro.connection.id`, and for failures `error.type` with status ERROR.
 *
 * @example
 * ```ts
 * import { traceServerCall } from "./server.ts";
 * const ctx = {
 *   connection: { id: 1, remoteAddress: "127.0.0.1:50000", storage: new Map(), peerCertificate: null, close() {} },
 *   clientAddress: "127.0.0.1:50000",
 *   correlationId: "11112222-3333-4444-5555-666677778888",
 *   annotations: new Map<string, Uint8Array>(),
 *   responseAnnotations: new Map<string, Uint8Array>(),
 *   seq: 1,
 *   flags: 0,
 *   serializerId: 4,
 * };
 * const reply = traceServerCall(ctx, { object: "echo", method: "echo", serializer: "json" }, () => "done", () => null);
 * console.log(reply); // done
 * ```
 *
 * @module
 */

import type { CallContext, ConnectionInfo } from "../context.ts";
import { Flags } from "../_wire/protocol.ts";
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  TELEMETRY,
  trace,
  tracer,
} from "./api.ts";
import { errorClass, locationAttributes, rpcAttributes } from "./attributes.ts";
import { callsInFlight, recordCall, streamsOpen } from "./metrics.ts";
import { decodeTraceContext, encodeTraceContext, TRACE_ANNOTATION } from "./trace_context.ts";

/** The call a server span is about. */
export interface ServerCallInfo {
  /** The object id. */
  readonly object: string;
  /** The method. */
  readonly method: string;
  /** The serializer name. */
  readonly serializer: string;
}

/** The names of server spans, for the spans of the streams their calls return. */
const spanNames = new WeakMap<Span, string>();

/** Peer attributes per connection, parsed once. */
const peers = new WeakMap<ConnectionInfo, Attributes>();

function peerAttributes(connection: ConnectionInfo): Attributes {
  let attrs = peers.get(connection);
  if (attrs === undefined) {
    attrs = locationAttributes(connection.remoteAddress, "peer");
    peers.set(connection, attrs);
  }
  return attrs;
}

function kindOf(flags: number): string {
  if (flags & Flags.BATCH) return "batch";
  if (flags & Flags.ONEWAY) return "oneway";
  return "call";
}

/**
 * Runs a dispatched call inside its server span. Call it only when `TELEMETRY` is true.
 *
 * @param ctx The call's context (request annotations, correlation id, peer).
 * @param call The object, method and serializer.
 * @param run Serves the call and gives its reply.
 * @param failure Tells the error a reply reports, or null for success.
 * @returns The reply.
 */
export function traceServerCall<R>(
  ctx: CallContext,
  call: ServerCallInfo,
  run: () => R | Promise<R>,
  failure: (reply: R) => unknown,
): R | Promise<R> {
  if (!TELEMETRY) return run();
  const rpc = rpcAttributes(call.object, call.method);
  const incoming = ctx.annotations.get(TRACE_ANNOTATION);
  const remote = incoming === undefined ? null : decodeTraceContext(incoming);
  const parent = remote === null
    ? context.active()
    : trace.setSpanContext(context.active(), remote);
  const name = `${call.object}/${call.method}`;
  const span = tracer.startSpan(name, {
    kind: SpanKind.SERVER,
    attributes: {
      ...rpc,
      ...peerAttributes(ctx.connection),
      "pyro.serializer": call.serializer,
      "pyro.call.kind": kindOf(ctx.flags),
      "pyro.correlation_id": ctx.correlationId,
      "pyro.connection.id": ctx.connection.id,
    },
  }, parent);
  spanNames.set(span, name);
  if (incoming !== undefined) {
    ctx.responseAnnotations.set(TRACE_ANNOTATION, encodeTraceContext(span.spanContext()));
  }
  const start = performance.now();
  callsInFlight(1);
  const finish = (error: unknown) => {
    callsInFlight(-1);
    const ms = performance.now() - start;
    if (error === null || error === undefined) {
      span.end();
      recordCall("server", rpc, ms, null);
      return;
    }
    const type = errorClass(error);
    span.setAttribute("error.type", type);
    if (error instanceof Error) span.recordException(error);
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    span.end();
    recordCall("server", rpc, ms, type);
  };
  let reply: R | Promise<R>;
  try {
    reply = context.with(trace.setSpan(parent, span), run);
  } catch (error) {
    finish(error);
    throw error;
  }
  if (!(reply instanceof Promise)) {
    finish(failure(reply));
    return reply;
  }
  return reply.then((r) => {
    finish(failure(r));
    return r;
  }, (error: unknown) => {
    finish(error);
    throw error;
  });
}

/** The span of a daemon's item stream. */
export interface StreamSpan {
  /** Ends the span: `ok` (iteration finished), `closed`, `expired` or `error`. */
  end(outcome: string, error?: unknown): void;
  /** Counts an item handed out. */
  item(): void;
}

/**
 * Starts the span of a new item stream (a child of the active server span) and counts it as
 * open. Returns null when telemetry is off.
 *
 * @param streamId The stream id.
 * @returns The stream's span, or null.
 */
export function startServerStream(streamId: string): StreamSpan | null {
  if (!TELEMETRY) return null;
  const active = trace.getActiveSpan();
  const callName = active === undefined ? undefined : spanNames.get(active);
  const span: Span = tracer.startSpan(callName === undefined ? "stream" : `${callName} stream`, {
    kind: SpanKind.SERVER,
    attributes: { "rpc.system": "pyro", "pyro.stream.id": streamId, "pyro.call.kind": "stream" },
  });
  streamsOpen(1);
  let items = 0;
  let ended = false;
  return {
    item() {
      items++;
    },
    end(outcome, error) {
      if (ended) return;
      ended = true;
      streamsOpen(-1);
      span.setAttributes({ "pyro.stream.items": items, "pyro.outcome": outcome });
      if (error !== undefined) {
        span.setAttribute("error.type", errorClass(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      }
      span.end();
    },
  };
}
