/**
 * A small OTLP/HTTP JSON receiver for tests: listens on 127.0.0.1 (port 0), takes what Deno's
 * exporter posts to /v1/traces, /v1/metrics and /v1/logs, and flattens it into spans, metric
 * points and log records. {@linkcode OtlpReceiver.waitFor} wakes on every export until its
 * condition holds or its deadline passes: no sleeping.
 */

/** An OTLP attribute value as JSON. */
type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};

type KeyValue = { key: string; value: AnyValue };

/** One received span, with its attributes as a plain record. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP kind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status: { code?: number; message?: string };
  events: { name: string }[];
}

/** One received metric data point. */
export interface ReceivedPoint {
  service: string;
  metric: string;
  /** `sum`, `histogram` or `gauge`. */
  type: string;
  attributes: Record<string, string | number | boolean>;
  /** The sum's or gauge's value, or the histogram's count. */
  value: number;
  timeUnixNano: string;
}

/** One received log record. */
export interface ReceivedLog {
  service: string;
  body: string;
  traceId: string;
  spanId: string;
}

function value(v: AnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return "";
}

function attrs(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value: v } of list ?? []) out[key] = value(v);
  return out;
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** A running receiver. */
export class OtlpReceiver implements AsyncDisposable {
  readonly spans: ReceivedSpan[] = [];
  readonly points: ReceivedPoint[] = [];
  readonly logs: ReceivedLog[] = [];
  /** Number of POSTs received, by path. */
  readonly posts = new Map<string, number>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  #waiters = new Set<() => void>();

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) => this.#handle(req),
    );
  }

  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The environment that makes a Deno process export here (JSON, fast metric exports). */
  env(service: string): Record<string, string> {
    return {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: this.endpoint,
      OTEL_SERVICE_NAME: service,
      OTEL_METRIC_EXPORT_INTERVAL: "200",
    };
  }

  async #handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    let body: Json;
    try {
      body = await req.json();
    } catch {
      return new Response("bad json", { status: 400 });
    }
    this.posts.set(path, (this.posts.get(path) ?? 0) + 1);
    if (path === "/v1/traces") this.#traces(body);
    else if (path === "/v1/metrics") this.#metrics(body);
    else if (path === "/v1/logs") this.#logs(body);
    for (const wake of this.#waiters) wake();
    return Response.json({});
  }

  #traces(body: Json): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = String(attrs(rs.resource?.attributes)["service.name"] ?? "");
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            service,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? "",
            name: s.name,
            kind: s.kind,
            attributes: attrs(s.attributes),
            status: s.status ?? {},
            events: (s.events ?? []).map((e: Json) => ({ name: e.name })),
          });
        }
      }
    }
  }

  #metrics(body: Json): void {
    for (const rm of body.resourceMetrics ?? []) {
      const service = String(attrs(rm.resource?.attributes)["service.name"] ?? "");
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          for (const type of ["sum", "gauge", "histogram"]) {
            for (const p of m[type]?.dataPoints ?? []) {
              const v = type === "histogram" ? Number(p.count) : Number(p.asDouble ?? p.asInt ?? 0);
              this.points.push({
                service,
                metric: m.name,
                type,
                attributes: attrs(p.attributes),
                value: v,
                timeUnixNano: String(p.timeUnixNano),
              });
            }
          }
        }
      }
    }
  }

  #logs(body: Json): void {
    for (const rl of body.resourceLogs ?? []) {
      const service = String(attrs(rl.resource?.attributes)["service.name"] ?? "");
      for (const sl of rl.scopeLogs ?? []) {
        for (const r of sl.logRecords ?? []) {
          this.logs.push({
            service,
            body: String(value(r.body ?? {})),
            traceId: r.traceId ?? "",
            spanId: r.spanId ?? "",
          });
        }
      }
    }
  }

  /**
   * The latest value of a metric (cumulative sums and histogram counts), added up over the
   * data points whose attributes include `match`.
   */
  latest(service: string, metric: string, match: Record<string, unknown> = {}): number | undefined {
    const byKey = new Map<string, ReceivedPoint>();
    for (const p of this.points) {
      if (p.service !== service || p.metric !== metric) continue;
      if (!Object.entries(match).every(([k, v]) => p.attributes[k] === v)) continue;
      const key = JSON.stringify(p.attributes);
      const prev = byKey.get(key);
      if (prev === undefined || BigInt(prev.timeUnixNano) <= BigInt(p.timeUnixNano)) {
        byKey.set(key, p);
      }
    }
    if (byKey.size === 0) return undefined;
    let sum = 0;
    for (const p of byKey.values()) sum += p.value;
    return sum;
  }

  /**
   * Waits until `find` gives a value other than undefined, re-checking on every export;
   * rejects after `timeout` ms with the description.
   */
  async waitFor<T>(what: string, find: () => T | undefined, timeout = 15_000): Promise<T> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#waiters.add(resolve);
      const timer = setTimeout(resolve, left);
      try {
        await promise;
      } finally {
        clearTimeout(timer);
        this.#waiters.delete(resolve);
      }
    }
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
