/**
 * Client spans: one span of kind CLIENT per proxy call, named `<object id>/<method>`, from the
 * call until its result (or, for oneway calls, until the message is sent), covering retries.
 * The span's context travels in the request annotation `W3TC`; the call runs with the span
 * active. A proxy's connect (name lookup, handshake, metadata) has a span `pyro.connect`. A call
 * that returns an item stream starts a stream span (a child of the call's span)
 * that lasts until the stream ends, fails or is closed; the item fetches are its children.
 *
 * Attributes: `rpc.system`, `rpc.service`, `rpc.method`, `server.address`, `server.port`,
 * `network.transport`, `pyro.serializer`, `pyro.call.kind` (`call`, `oneway`, `batch`,
 * `stream`), `pyro.correlation_id`, `pyro.retries`, `pyro.outcome` (`ok`, `oneway`, `stream`,
 * `error`), and for failures `error.type` and, when the peer raised it,
 * `pyro.remote_exception` (the remote class), with status ERROR.
 *
 * @example
 * ```ts
 * import { traceClientCall } from "./client.ts";
 * const value = await traceClientCall({
 *   objectId: "echo",
 *   method: "echo",
 *   serializer: "json",
 *   kind: "call",
 *   correlationId: null,
 *   annotations: null,
 *   location: () => "127.0.0.1:9999",
 * }, (annotations) => Promise.resolve(annotations.size));
 * console.log(value); // 0 with telemetry off (nothing added), 1 with it on
 * ```
 *
 * @module
 */

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
import { errorClass, isRemoteError, locationAttributes, rpcAttributes } from "./attributes.ts";
import { recordCall } from "./metrics.ts";
import { encodeTraceContext, TRACE_ANNOTATION } from "./trace_context.ts";
import { correlationIdToString } from "../_wire/protocol.ts";

/** How a call is sent. */
export type CallKind = "call" | "oneway" | "batch" | "stream";

/** What the client span of a call records. */
export interface ClientCallInfo {
  /** The object id called. */
  readonly objectId: string;
  /** The method (`__getattr__`, `__setattr__` and `<batch>` included). */
  readonly method: string;
  /** The serializer name. */
  readonly serializer: string;
  /** How the call is sent. */
  readonly kind: CallKind;
  /** The correlation id bytes, or null. */
  readonly correlationId: Uint8Array | null;
  /** The request annotations the call would send without telemetry. */
  readonly annotations: ReadonlyMap<string, Uint8Array> | null;
  /** The daemon's location (`host:port`) once connected: read at the start, again at the end if unknown. */
  location(): string | null;
}

const EMPTY: ReadonlyMap<string, Uint8Array> = new Map();

/** The names of call spans, for the spans of the streams they return. */
const callNames = new WeakMap<Span, string>();

/** Server attributes by location, parsed once per location (a bounded cache). */
const serverAttributeCache = new Map<string, Attributes>();

function endFailed(span: Span, error: unknown): string {
  const type = errorClass(error);
  const attrs: Attributes = { "pyro.outcome": "error", "error.type": type };
  if (isRemoteError(error)) attrs["pyro.remote_exception"] = type;
  span.setAttributes(attrs);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  return type;
}

/**
 * Runs a call inside its client span: `run` gets the request annotations with `W3TC` added
 * and runs with the span active. Call it only when `TELEMETRY` is true.
 *
 * @param info What to record.
 * @param run Sends the call with the given annotations.
 * @returns The call's result.
 */
export function traceClientCall<T>(
  info: ClientCallInfo,
  run: (annotations: ReadonlyMap<string, Uint8Array>) => Promise<T>,
): Promise<T> {
  if (!TELEMETRY) return run(info.annotations ?? EMPTY);
  const rpc = rpcAttributes(info.objectId, info.method);
  const name = `${info.objectId}/${info.method}`;
  const location = info.location();
  // Everything known goes in at the start: each later attribute costs a call into Deno.
  const span = tracer.startSpan(name, {
    kind: SpanKind.CLIENT,
    attributes: {
      ...rpc,
      ...(location === null ? undefined : serverAttributes(location)),
      "pyro.serializer": info.serializer,
      "pyro.call.kind": info.kind,
      "pyro.outcome": info.kind === "oneway" ? "oneway" : "ok",
      ...(info.correlationId === null
        ? undefined
        : { "pyro.correlation_id": correlationIdToString(info.correlationId) }),
    },
  });
  callNames.set(span, name);
  const annotations = new Map(info.annotations ?? EMPTY);
  annotations.set(TRACE_ANNOTATION, encodeTraceContext(span.spanContext()));
  const start = performance.now();
  const finish = () => {
    if (location === null) span.setAttributes(locationAttributes(info.location(), "server"));
    return performance.now() - start;
  };
  let sent: Promise<T>;
  try {
    sent = context.with(trace.setSpan(context.active(), span), run, undefined, annotations);
  } catch (error) {
    sent = Promise.reject(error);
  }
  return sent.then((value) => {
    const ms = finish();
    span.end();
    recordCall("client", rpc, ms, null);
    return value;
  }, (error: unknown) => {
    const ms = finish();
    const type = endFailed(span, error);
    span.end();
    recordCall("client", rpc, ms, type);
    throw error;
  });
}

function serverAttributes(location: string): Attributes {
  let attrs = serverAttributeCache.get(location);
  if (attrs === undefined) {
    if (serverAttributeCache.size >= 256) serverAttributeCache.clear();
    attrs = locationAttributes(location, "server");
    serverAttributeCache.set(location, attrs);
  }
  return attrs;
}

/**
 * Runs a proxy's connect (name resolution, handshake, metadata) inside a span `pyro.connect`
 * with `pyro.uri` and, once connected, the daemon's address; a failed connect has status ERROR.
 * Call it only when `TELEMETRY` is true.
 *
 * @param uri The proxy's URI as given (PYRONAME and PYROMETA included).
 * @param run Connects; gives the daemon's location.
 * @returns What `run` gives.
 */
export function traceConnect<T>(
  uri: string,
  run: () => Promise<T>,
  location: (value: T) => string,
): Promise<T> {
  if (!TELEMETRY) return run();
  const span = tracer.startSpan("pyro.connect", {
    kind: SpanKind.CLIENT,
    attributes: { "rpc.system": "pyro", "pyro.uri": uri },
  });
  let connecting: Promise<T>;
  try {
    connecting = context.with(trace.setSpan(context.active(), span), run);
  } catch (error) {
    connecting = Promise.reject(error);
  }
  return connecting.then((value) => {
    span.setAttributes(serverAttributes(location(value)));
    span.end();
    return value;
  }, (error: unknown) => {
    endFailed(span, error);
    span.end();
    throw error;
  });
}

/**
 * Notes a retry on the active call's span (`pyro.retries` and an event).
 *
 * @param retries The number of retries so far.
 * @param error Why the previous attempt failed.
 */
export function noteRetry(retries: number, error: unknown): void {
  if (!TELEMETRY) return;
  const span = trace.getActiveSpan();
  if (span === undefined) return;
  span.setAttribute("pyro.retries", retries);
  span.addEvent("pyro.retry", {
    "pyro.retries": retries,
    "error.type": errorClass(error),
  });
}

/** What a stream needs from its proxy (the proxy core's stream methods). */
export interface StreamHost {
  /** Fetches the next item. */
  streamNext(streamId: string): Promise<unknown>;
  /** Tells the daemon to drop the stream; never rejects. */
  streamClose(streamId: string): Promise<void>;
}

function isStopIteration(error: unknown): boolean {
  const cls = errorClass(error);
  return cls === "builtins.StopIteration" || cls === "StopIteration" ||
    cls === "builtins.StopAsyncIteration";
}

/**
 * Wraps a stream's host so that the stream gets a span: a child of the active call span,
 * ended by the end of the stream, an error or a close, with `pyro.stream.id` and
 * `pyro.stream.items`. Item fetches run inside it. Call it only when `TELEMETRY` is true,
 * inside the call that returned the stream.
 *
 * @param host The proxy core.
 * @param streamId The stream id.
 * @returns A host for the stream.
 */
export function traceStream(host: StreamHost, streamId: string): StreamHost {
  if (!TELEMETRY) return host;
  const callSpan = trace.getActiveSpan();
  let name = "stream";
  if (callSpan !== undefined) {
    callSpan.setAttribute("pyro.outcome", "stream");
    const callName = callNames.get(callSpan);
    if (callName !== undefined) name = `${callName} stream`;
  }
  const span = tracer.startSpan(name, {
    kind: SpanKind.CLIENT,
    attributes: { "rpc.system": "pyro", "pyro.stream.id": streamId, "pyro.call.kind": "stream" },
  });
  const ctx = trace.setSpan(context.active(), span);
  let items = 0;
  let ended = false;
  const end = (outcome: string, error?: unknown) => {
    if (ended) return;
    ended = true;
    span.setAttributes({ "pyro.stream.items": items, "pyro.outcome": outcome });
    if (error !== undefined) endFailed(span, error);
    span.end();
  };
  return {
    streamNext(id: string): Promise<unknown> {
      return context.with(ctx, () => host.streamNext(id)).then((value) => {
        items++;
        return value;
      }, (error: unknown) => {
        if (isStopIteration(error)) end("ok");
        else end("error", error);
        throw error;
      });
    },
    streamClose(id: string): Promise<void> {
      return context.with(ctx, () => host.streamClose(id)).finally(() => end("closed"));
    },
  };
}
