/**
 * CPU per call of a Name Server lookup against echo calls to the same daemon, one process, one
 * connection each, both sides on the calling thread (a helper for the Name Server lookup figure;
 * not part of the suite): `echo("hello")` (the figure's baseline), `echo` of the looked-up URI's
 * text, `echo` of the URI itself (a reply of the same bytes as the lookup's, and the same bytes
 * again in the request), and the lookup. With `--base=DIR`, the same for the tree in DIR.
 *
 * Run: `taskset -c 0 deno run -A bench/_ns_echo_uri.ts [--base=DIR] [--calls=4000]
 * [--rounds=15] [--serializer=msgpack]`. Prints the median CPU µs per call (client and server
 * together) of each kind.
 *
 * @module
 */

import process from "node:process";
import { roleArgs } from "./_stats.ts";

interface Kind {
  label: string;
  call: () => Promise<unknown>;
}

async function measure(tree: string, args: Record<string, string>): Promise<void> {
  const root = new URL(tree.endsWith("/") ? tree : `${tree}/`, `file://${Deno.cwd()}/`);
  const serializer = args.serializer ?? "msgpack";
  const { startNameServer } = await import(new URL("naming.ts", root).href);
  const { locateNS } = await import(new URL("locate.ts", root).href);
  const { createProxy } = await import(new URL("proxy.ts", root).href);
  const { URI } = await import(new URL("uri.ts", root).href);
  const server = await startNameServer({
    host: "127.0.0.1",
    port: 0,
    broadcast: false,
    autoclean: 0,
    storage: "memory",
  });
  server.daemon.register({ echo: (x: unknown) => x }, { id: "bench", expose: ["echo"] });
  const port = server.uri.port;
  const ns = await locateNS("127.0.0.1", port, { serializer });
  const bench = createProxy(`PYRO:bench@127.0.0.1:${port}`, { serializer });
  const text = "PYRO:target@127.0.0.1:4000";
  await ns.register("bench.target", text, false, ["bench"]);
  const uri = Object.freeze(new URI(text));
  const kinds: Kind[] = [
    { label: `echo("hello")`, call: () => bench.echo("hello") },
    { label: "echo(uri text)", call: () => bench.echo(text) },
    { label: "echo(URI)", call: () => bench.echo(uri) },
    { label: "lookup", call: () => ns.lookup("bench.target") },
  ];
  const calls = Number(args.calls ?? 4000);
  const rounds = Number(args.rounds ?? 15);
  const cpu = new Map<string, number[]>();
  try {
    for (const kind of kinds) for (let i = 0; i < calls; i++) await kind.call(); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const kind of r % 2 === 0 ? kinds : kinds.toReversed()) {
        const c0 = process.cpuUsage();
        for (let i = 0; i < calls; i++) await kind.call();
        const c = process.cpuUsage(c0);
        const list = cpu.get(kind.label) ?? [];
        list.push((c.user + c.system) / calls);
        cpu.set(kind.label, list);
      }
    }
  } finally {
    await ns._pyroRelease();
    await bench._pyroRelease();
    await server.close();
  }
  for (const [label, xs] of cpu) {
    const s = xs.toSorted((a, b) => a - b);
    console.log(`${tree} ${serializer} ${label}: ${s[s.length >> 1]!.toFixed(2)} cpu us/call`);
  }
}

if (import.meta.main) {
  const args = roleArgs(Deno.args);
  await measure(new URL("..", import.meta.url).pathname, args);
  if (args.base) await measure(args.base, args);
}
