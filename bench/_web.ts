/**
 * Browser figures: sequential echo("hello") calls per second from a headless Chromium page
 * through the gateway's WebSocket relay, against a Deno proxy calling the same daemon directly
 * over TCP, a Deno proxy going through the same relay (`via`), and the page's raw WebSocket
 * ping-pong with a Deno echo server (the browser transport's ceiling), in 15 rounds of
 * alternating runs whose per-round ratios go in the figures' notes. The
 * daemon is the usual benchmark server role; the Name Server, the gateway and the Deno proxies
 * run in the bench process. Unpinned mode only: the browser runs outside `taskset`.
 *
 * @module
 */

import { createProxy } from "../proxy.ts";
import { startGateway } from "../gateway.ts";
import { startNameServer } from "../naming.ts";
import { HAVE_CHROMIUM, launchChromium } from "../tests/_chromium.ts";
import type { Context } from "./_pyro_groups.ts";
import { Role, withRoles } from "./_runner.ts";
import { type Plan, summarize } from "./_stats.ts";

/** The figures of this group. */
export const WEB_FIGURES = {
  tcp: "web.tcp.echo.msgpack",
  rawBrowser: "web.ws-browser.raw-pingpong",
  browser: "web.ws-browser.echo.msgpack",
  deno: "web.ws-deno.echo.msgpack",
} as const;

/** Calls per second of one run: at least `minSteps` calls and `runMs` milliseconds. */
async function runRate(call: () => Promise<unknown>, steps: number, ms: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  while (n < steps || performance.now() - t0 < ms) {
    await call();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** The same loop, run inside the page (sent as source: it may use only its arguments). */
async function pageRate({ steps, ms }: { steps: number; ms: number }): Promise<number> {
  // deno-lint-ignore no-explicit-any
  const shop = (globalThis as any).benchProxy;
  let n = 0;
  const t0 = performance.now();
  while (n < steps || performance.now() - t0 < ms) {
    await shop.echo("hello");
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Raw WebSocket ping-pong of Pyro-echo-sized messages, inside the page. */
async function pageRawRate(
  { steps, ms, url }: { steps: number; ms: number; url: string },
): Promise<number> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve) => ws.onopen = resolve);
  let reply: (value: unknown) => void = () => {};
  ws.onmessage = (e) => reply(e.data);
  const data = new Uint8Array(60);
  let n = 0;
  const t0 = performance.now();
  while (n < steps || performance.now() - t0 < ms) {
    const answered = new Promise((resolve) => reply = resolve);
    ws.send(data);
    await answered;
    n++;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  ws.close();
  return rate;
}

/** A WebSocket server answering every message with itself (the raw browser baseline). */
function echoServer(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => socket.send(e.data);
    return response;
  });
}

/** Makes the page's proxy (runs inside the page). */
async function pageSetup(name: string): Promise<void> {
  // deno-lint-ignore no-explicit-any
  const pyro: any = await import(new URL("/pyro/client.js", location.href).href);
  const via = new URL("/pyro/ws", location.href.replace(/^http/, "ws")).href;
  // deno-lint-ignore no-explicit-any
  (globalThis as any).benchProxy = pyro.createProxy(`PYRONAME:${name}`, {
    via,
    serializer: "msgpack",
  });
}

/** Measures the web figures (see the module doc). */
export async function webGroup(ctx: Context): Promise<void> {
  const names = Object.values(WEB_FIGURES);
  if (ctx.mode === "pinned") {
    for (const n of names) ctx.put(n, { unavailable: "measured unpinned only (browser)" });
    return;
  }
  if (!HAVE_CHROMIUM) {
    for (const n of names) ctx.put(n, { unavailable: "no /usr/bin/chromium" });
    return;
  }
  try {
    await withRoles(async (start) => {
      const server = start(Role.deno("_pyro_server.ts", ["server"], { mode: ctx.mode }));
      const uri = String((await server.expect("ready", 30_000)).uri);
      await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
      ns.nameServer.register("http.bench", uri);
      await using gateway = await startGateway({
        host: "127.0.0.1",
        port: 0,
        ns: `127.0.0.1:${ns.uri.port}`,
      });
      const via = `${gateway.url.replace("http:", "ws:")}pyro/ws`;
      await using tcp = createProxy<{ echo(x: string): string }>(uri, { serializer: "msgpack" });
      await using overWs = createProxy<{ echo(x: string): string }>("PYRONAME:http.bench", {
        via,
        serializer: "msgpack",
      });
      await using echo = echoServer();
      const echoUrl = `ws://127.0.0.1:${echo.addr.port}/`;
      await using browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(`${gateway.url}pyro/`);
      await page.evaluate(pageSetup, "http.bench");
      const plan: Plan = ctx.plan;
      const warm = { steps: plan.warmupSteps, ms: plan.warmupMs };
      const run = { steps: plan.minSteps, ms: plan.runMs };
      await runRate(() => tcp.echo("hello"), warm.steps, warm.ms);
      await runRate(() => overWs.echo("hello"), warm.steps, warm.ms);
      await page.evaluate(pageRate, warm);
      await page.evaluate(pageRawRate, { ...warm, url: echoUrl });
      const samples = {
        tcp: [] as number[],
        rawBrowser: [] as number[],
        browser: [] as number[],
        deno: [] as number[],
      };
      const rounds = ctx.quick ? plan.runs : 15; // alternating rounds, as the paired figures
      for (let r = 0; r < rounds; r++) {
        samples.tcp.push(await runRate(() => tcp.echo("hello"), run.steps, run.ms));
        samples.rawBrowser.push(await page.evaluate(pageRawRate, { ...run, url: echoUrl }));
        samples.browser.push(await page.evaluate(pageRate, run));
        samples.deno.push(await runRate(() => overWs.echo("hello"), run.steps, run.ms));
      }
      // Ratios within each round of alternating runs: robust to the machine's load bursts.
      const perRun = (a: number[], b: number[]) => summarize(a.map((x, i) => x / b[i]!));
      const range = (x: { median: number; min: number; max: number }) =>
        `${x.median.toFixed(2)} (${x.min.toFixed(2)}..${x.max.toFixed(2)})`;
      const notes: Record<string, string> = {
        tcp: "",
        rawBrowser: `per-run ratio to web.tcp: ${range(perRun(samples.rawBrowser, samples.tcp))}`,
        browser: `per-run ratio to web.tcp: ${
          range(perRun(samples.browser, samples.tcp))
        }; to the page's raw WebSocket ping-pong: ${
          range(perRun(samples.browser, samples.rawBrowser))
        }`,
        deno: `per-run ratio to web.tcp: ${range(perRun(samples.deno, samples.tcp))}`,
      };
      for (const key of ["tcp", "rawBrowser", "browser", "deno"] as const) {
        const s = summarize(samples[key]);
        const note = notes[key]!;
        ctx.put(
          WEB_FIGURES[key],
          note === "" ? { ...s, value: s.median } : {
            ...s,
            value: s.median,
            note,
          },
        );
        if (note !== "") ctx.progress(`  ${WEB_FIGURES[key]}: ${note}`);
      }
    });
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200);
    ctx.progress(`  failed: ${reason}`);
    for (const n of names) ctx.put(n, { unavailable: reason });
  }
}
