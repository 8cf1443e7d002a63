/**
 * CPU per connection set-up, client and server: a new proxy, its first call and its release,
 * against raw connections of the same shape (connect, one ping-pong, close), in alternated
 * runs (a helper for work on connection set-up; not part of the suite). Each server (a Pyro
 * daemon, the raw echo server) is its own process; the CPU time of every process (all threads)
 * comes from /proc/<pid>/task/<tid>/schedstat (nanoseconds).
 *
 * Run: `deno run -A bench/_connect_cpu.ts [--conns=800] [--rounds=16] [--serializer=msgpack]
 * [--base=DIR]`: with `--base`, the proxy and daemon of another checkout (the code before a
 * change) are measured in the same rounds. Prints, per tree, the median client and server CPU
 * per connection, the medians of the per-round differences to the raw runs ("over raw": what a
 * Pyro connection adds on each side, steadier than the totals on a busy machine), and the
 * medians of the per-round ratios to the raw runs: wall-clock rate and CPU.
 *
 * @module
 */

import process from "node:process";
import { makeFrame } from "./_raw.ts";
import { rawConnectOnce } from "./_pyro_client.ts";
import { roleArgs, threadCpuNs } from "./_stats.ts";

/** A server process that writes `{"type":"ready",...}` and serves until its stdin closes. */
interface Server {
  pid: number;
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

async function spawn(args: string[]): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`${args.join(" ")} ended before it was ready`);
    text += value;
    const m = /(\{"type":"ready".*\})/.exec(text);
    if (m !== null) {
      const stdin = child.stdin.getWriter();
      return {
        pid: child.pid,
        ready: JSON.parse(m[1]!),
        async stop() {
          await stdin.close();
          await lines.cancel();
          await child.status;
        },
      };
    }
  }
}

/** CPU per step, both processes, and the rate, over `n` steps. */
async function measure(step: () => Promise<unknown>, serverPid: number, n: number) {
  const s0 = threadCpuNs(serverPid) / 1000;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await step();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return {
    server: (threadCpuNs(serverPid) / 1000 - s0) / n,
    client: (c.user + c.system) / n,
    rate: n / ms,
  };
}

type Measured = Awaited<ReturnType<typeof measure>>;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

if (import.meta.main) {
  const args = roleArgs(Deno.args);
  const conns = Number(args.conns ?? 800);
  const rounds = Number(args.rounds ?? 16);
  const serializer = args.serializer ?? "msgpack";
  const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const trees = args.base ? [args.base.replace(/\/$/, ""), here] : [here];
  const raw = await spawn([`${here}/bench/_raw.ts`, "server", "--transport=tcp"]);
  const rawPort = raw.ready.port as number;
  const frame = makeFrame(60, 46);
  const rawStep = () => rawConnectOnce(rawPort, frame);
  const targets = [];
  for (const tree of trees) {
    const { createProxy } = await import(`${tree}/proxy.ts`);
    const server = await spawn([`${tree}/bench/_pyro_server.ts`]);
    const uri = server.ready.uri as string;
    const step = async () => {
      const p = createProxy(uri, { serializer });
      await p.echo("hello, pyro");
      await p._pyroRelease();
    };
    targets.push({ tree, server, step, rows: [] as { pyro: Measured; raw: Measured }[] });
  }
  await measure(rawStep, raw.pid, 300);
  for (const t of targets) await measure(t.step, t.server.pid, 300);
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
      const rawRun = await measure(rawStep, raw.pid, conns);
      t.rows.push({ raw: rawRun, pyro: await measure(t.step, t.server.pid, conns) });
    }
  }
  for (const t of targets) {
    const rows = t.rows;
    const f = (v: number) => v.toFixed(1);
    console.log(
      `${t.tree} (${serializer}, ${rounds} rounds of ${conns}): cpu us/conn srv+cli ` +
        `${f(median(rows.map((x) => x.pyro.server)))}+${
          f(median(rows.map((x) => x.pyro.client)))
        }` +
        `, raw ${f(median(rows.map((x) => x.raw.server)))}+${
          f(median(rows.map((x) => x.raw.client)))
        }` +
        `; over raw srv ${f(median(rows.map((x) => x.pyro.server - x.raw.server)))} cli ${
          f(median(rows.map((x) => x.pyro.client - x.raw.client)))
        }` +
        `; paired ratio ${median(rows.map((x) => x.pyro.rate / x.raw.rate)).toFixed(2)}` +
        `, cpu ratio ${
          median(rows.map((x) => (x.raw.server + x.raw.client) / (x.pyro.server + x.pyro.client)))
            .toFixed(2)
        }`,
    );
  }
  await raw.stop();
  for (const t of targets) await t.server.stop();
}
