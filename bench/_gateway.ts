/**
 * HTTP gateway figures: echo("hello") calls per second through the gateway (`POST
 * /pyro/http.bench/echo` with a JSON body), against a Deno proxy calling the same daemon
 * directly over TCP, one call at a time and with 16 in flight, in alternating runs. Daemon,
 * gateway (with its Name Server) and clients are three processes; the clients run in the bench
 * process. The HTTP client is a minimal HTTP/1.1 keep-alive client on a plain socket (one
 * connection per call in flight): `fetch` costs the client more than the gateway spends on a
 * request, and would measure itself. Unpinned mode only (three processes on one CPU would
 * measure the scheduler).
 *
 * @module
 */

import { createProxy } from "../proxy.ts";
import type { Context } from "./_pyro_groups.ts";
import { Role, withRoles } from "./_runner.ts";
import { laneRate, summarize } from "./_stats.ts";

/** The figures of this group. */
export const GATEWAY_FIGURES = {
  tcp: "gateway.tcp.echo.msgpack",
  http: "gateway.http.echo",
  tcp16: "gateway.tcp.echo-16.msgpack",
  http16: "gateway.http.echo-16",
} as const;

const CONCURRENCY = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One keep-alive HTTP/1.1 connection that POSTs the same request and reads each answer. */
class HttpLane {
  readonly #conn: Deno.TcpConn;
  readonly #request: Uint8Array;
  readonly #buf = new Uint8Array(64 * 1024);
  #have = 0;

  private constructor(conn: Deno.TcpConn, request: Uint8Array) {
    this.#conn = conn;
    this.#request = request;
  }

  static async open(url: URL, body: string): Promise<HttpLane> {
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    conn.setNoDelay(true);
    const request = encoder.encode(
      `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${encoder.encode(body).length}\r\n\r\n` +
        body,
    );
    return new HttpLane(conn, request);
  }

  /** Sends the request and reads one whole answer; throws unless it is a 200. */
  async call(): Promise<void> {
    await this.#conn.write(this.#request);
    for (;;) {
      const text = decoder.decode(this.#buf.subarray(0, this.#have));
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? NaN);
        if (!text.startsWith("HTTP/1.1 200") || Number.isNaN(length)) {
          throw new Error(`gateway answered ${text.slice(0, 40)}`);
        }
        const total = end + 4 + length; // ASCII answers: characters are bytes
        if (this.#have >= total) {
          this.#buf.copyWithin(0, total, this.#have);
          this.#have -= total;
          return;
        }
      }
      const n = await this.#conn.read(this.#buf.subarray(this.#have));
      if (n === null) throw new Error("gateway closed the connection");
      this.#have += n;
    }
  }

  close(): void {
    this.#conn.close();
  }
}

/** Measures the gateway figures (see the module doc). */
export async function gatewayGroup(ctx: Context): Promise<void> {
  const names = Object.values(GATEWAY_FIGURES);
  if (ctx.mode === "pinned") {
    for (const n of names) ctx.put(n, { unavailable: "measured unpinned only (three processes)" });
    return;
  }
  try {
    await withRoles(async (start) => {
      const server = start(Role.deno("_pyro_server.ts", ["server"], { mode: ctx.mode }));
      const uri = String((await server.expect("ready", 30_000)).uri);
      const gateway = start(Role.deno("_gateway_server.ts", [`--uri=${uri}`], { mode: ctx.mode }));
      const url = new URL(`${(await gateway.expect("ready", 30_000)).url}pyro/http.bench/echo`);
      await using tcp = createProxy<{ echo(x: string): string }>(uri, { serializer: "msgpack" });
      const body = JSON.stringify({ args: ["hello"] });
      const lanes = await Promise.all(
        Array.from({ length: CONCURRENCY }, () => HttpLane.open(url, body)),
      );
      try {
        await lanes[0]!.call(); // the gateway connects to the daemon
        const echo = () => tcp.echo("hello");
        const http = lanes.map((lane) => () => lane.call());
        const plan = ctx.plan;
        const runs: Array<[keyof typeof GATEWAY_FIGURES, ReadonlyArray<() => Promise<unknown>>]> = [
          ["tcp", [echo]],
          ["http", http.slice(0, 1)],
          ["tcp16", Array.from({ length: CONCURRENCY }, () => echo)],
          ["http16", http],
        ];
        for (const [, calls] of runs) await laneRate(calls, plan.warmupSteps, plan.warmupMs);
        const samples: Record<string, number[]> = { tcp: [], http: [], tcp16: [], http16: [] };
        for (let r = 0; r < plan.runs; r++) {
          for (const [key, calls] of runs) {
            samples[key]!.push(await laneRate(calls, plan.minSteps, plan.runMs));
          }
        }
        for (const key of Object.keys(GATEWAY_FIGURES) as Array<keyof typeof GATEWAY_FIGURES>) {
          const s = summarize(samples[key]!);
          ctx.put(GATEWAY_FIGURES[key], { ...s, value: s.median });
        }
      } finally {
        for (const lane of lanes) lane.close();
      }
    });
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200);
    ctx.progress(`  failed: ${reason}`);
    for (const n of names) ctx.put(n, { unavailable: reason });
  }
}
