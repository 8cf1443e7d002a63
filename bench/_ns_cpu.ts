/**
 * CPU time per Name Server lookup over a sequential `echo("hello")` served by the same daemon:
 * blocks of calls of each kind alternate, and each block's CPU time is read for both sides (the
 * Name Server process and this one, all threads, from `/proc/<pid>/task/<tid>/schedstat`, in
 * nanoseconds), so the figures hold up on a loaded machine where call rates do not. With
 * `--base=DIR`, the same runs go to the tree in DIR (its own Name Server process and client
 * modules) in alternating rounds of the same run: the figures of a change side by side.
 *
 * Prints, per tree: the lookup's extra CPU per call over the echo's (median of the rounds),
 * the echo's own, and the median of the paired rate ratios (lookup/echo).
 *
 * Run: `deno run -A bench/_ns_cpu.ts [--storage=memory|sql|names] [--base=DIR] [--calls=2000]
 * [--rounds=20] [--serializer=msgpack]` (`names`: the `ns` group's server, 100 000 names in
 * memory; `sql`: a fresh SQLite file).
 *
 * @module
 */

import { roleArgs, threadCpuNs } from "./_stats.ts";

/** One block's CPU time per call of each side and its wall time per call, in microseconds. */
interface Block {
  server: number;
  client: number;
  wall: number;
}

/** The calls of one tree: its Name Server process and proxies made by its own modules. */
interface Side {
  label: string;
  pid: number;
  lookup: () => Promise<unknown>;
  echo: () => Promise<unknown>;
  close(): Promise<void>;
}

async function openSide(tree: string, label: string, args: Record<string, string>, tmp: string) {
  const root = new URL(tree.endsWith("/") ? tree : `${tree}/`, `file://${Deno.cwd()}/`);
  const storage = args.storage ?? "memory";
  const serializer = args.serializer ?? "msgpack";
  const role = storage === "names"
    ? [new URL("bench/_pyro_naming.ts", root).pathname, "server", "--names=100000"]
    : [
      new URL("bench/_naming_storage_server.ts", root).pathname,
      `--storage=${storage === "sql" ? `sql:${tmp}/${label}.db` : storage}`,
    ];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...role],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`Cannot start the Name Server of ${tree}: it ended`);
    text += value;
    port = Number(/"port":(\d+)/.exec(text)?.[1] ?? 0);
  }
  const stdin = child.stdin.getWriter();
  const { locateNS } = await import(new URL("locate.ts", root).href);
  const { createProxy } = await import(new URL("proxy.ts", root).href);
  const ns = await locateNS("127.0.0.1", port, { serializer });
  const bench = createProxy(`PYRO:bench@127.0.0.1:${port}`, { serializer });
  const name = storage === "names" ? "bench.g7.n7" : "bench.target";
  if (storage !== "names") {
    await ns.register(name, "PYRO:target@127.0.0.1:4000", false, ["bench"]);
  }
  const side: Side = {
    label,
    pid: child.pid,
    lookup: () => ns.lookup(name),
    echo: () => bench.echo("hello"),
    async close() {
      await ns._pyroRelease();
      await bench._pyroRelease();
      await stdin.close();
      await child.status;
      lines.releaseLock();
    },
  };
  return side;
}

async function block(side: Side, call: () => Promise<unknown>, calls: number): Promise<Block> {
  const s0 = threadCpuNs(side.pid);
  const c0 = threadCpuNs(Deno.pid);
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await call();
  const wall = performance.now() - t0;
  return {
    server: (threadCpuNs(side.pid) - s0) / 1000 / calls,
    client: (threadCpuNs(Deno.pid) - c0) / 1000 / calls,
    wall: (wall * 1000) / calls,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

if (import.meta.main) {
  const args = roleArgs(Deno.args);
  const calls = Number(args.calls ?? 2000);
  const rounds = Number(args.rounds ?? 20);
  const tmp = await Deno.makeTempDir({ prefix: "pyro-ns-cpu-" });
  const sides: Side[] = [];
  try {
    sides.push(await openSide(new URL("..", import.meta.url).pathname, "this", args, tmp));
    if (args.base) sides.push(await openSide(args.base, "base", args, tmp));
    for (const side of sides) {
      for (let i = 0; i < 3; i++) {
        await block(side, side.lookup, calls);
        await block(side, side.echo, calls);
      }
    }
    const results = new Map(
      sides.map((s) => [s.label, { lookup: [] as Block[], echo: [] as Block[] }]),
    );
    for (let r = 0; r < rounds; r++) {
      // Which tree goes first, and which kind of call first, alternate from round to round.
      for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
        const x = results.get(side.label)!;
        const kinds = r % 2 === 0 ? ["echo", "lookup"] as const : ["lookup", "echo"] as const;
        for (const kind of kinds) x[kind].push(await block(side, side[kind], calls));
      }
    }
    const f = (n: number) => n.toFixed(2);
    for (const [label, { lookup, echo }] of results) {
      const extra = (k: keyof Block) => median(lookup.map((l, i) => l[k] - echo[i]![k]));
      const own = (k: keyof Block) => median(echo.map((e) => e[k]));
      const ratio = median(lookup.map((l, i) => echo[i]!.wall / l.wall));
      console.log(
        `${label} (${args.storage ?? "memory"}, ${args.serializer ?? "msgpack"}): ` +
          `lookup over echo, cpu us/call srv ${f(extra("server"))} cli ${f(extra("client"))}` +
          ` wall ${f(extra("wall"))} | echo srv ${f(own("server"))} cli ${f(own("client"))}` +
          ` wall ${f(own("wall"))} | paired rate ratio ${f(ratio)}`,
      );
    }
  } finally {
    for (const side of sides) await side.close().catch(() => {});
    await Deno.remove(tmp, { recursive: true });
  }
}
