/**
 * Name server scale benchmark: 100 000 registrations, then `list` with a prefix, `yplookup`
 * and `count` over a real connection on 127.0.0.1, each against the cost of one `ping` in the
 * same run, with memory storage, SQLite storage and PostgreSQL storage (a throw-away cluster
 * from tests/_postgres.ts, skipped where none can be had).
 *
 * Run: `deno run -A bench/naming_bench.ts [registrations]`
 *
 * The memory table is filled through the name server object in-process; the SQLite file is
 * filled with one bulk transaction in Pyro5's table layout (100 000 separate durable commits
 * would measure the disk, not the queries), then opened by the name server; the PostgreSQL table
 * is filled with one `INSERT … SELECT generate_series(…)` after the name server created the
 * schema. A smaller number
 * of registrations is also timed over the network.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { startNameServer } from "../naming.ts";
import { locateNS, type NameServer } from "../locate.ts";
import { SqliteStorage } from "../_naming/sqlite.ts";
import { postgresUnavailable, startPostgres } from "../tests/_postgres.ts";

const N = Number(Deno.args[0] ?? 100_000);
const GROUPS = 1000;
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 300);

function entry(i: number): [string, string, string[]] {
  return [
    `bench.g${i % GROUPS}.n${i}`,
    `PYRO:obj${i}@127.0.0.1:${4000 + (i % 1000)}`,
    [`g${i % GROUPS}`, `parity${i % 2}`],
  ];
}

async function time(label: string, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  void label;
  return median;
}

async function measure(kind: string, ns: NameServer): Promise<void> {
  const ping = await time("ping", () => ns.ping());
  const rows: [string, number, number][] = [];
  const check = async (label: string, fn: () => Promise<unknown>, size: (r: unknown) => number) => {
    const result = await fn();
    rows.push([label, await time(label, fn), size(result)]);
  };
  const keys = (r: unknown) => Object.keys(r as object).length;
  await check("count()", () => ns.count(), (r) => r as number);
  await check("list(prefix='bench.g7.')", () => ns.list("bench.g7."), keys);
  await check(
    "list(prefix='bench.g7.', return_metadata)",
    () => ns.list("bench.g7.", null, true),
    keys,
  );
  await check("yplookup(meta_all=['g7', 'parity1'])", () => ns.yplookup(["g7", "parity1"]), keys);
  await check(
    "yplookup(meta_any=['g7', 'g8'], no metadata)",
    () => ns.yplookup(null, ["g7", "g8"], false),
    keys,
  );
  await check("list(regex='bench\\.g7\\.n1.*')", () => ns.list(null, "bench\\.g7\\.n1.*"), keys);
  await check("list(regex='.*\\.n999.*') (full scan)", () => ns.list(null, ".*\\.n999.*"), keys);
  await check("lookup('bench.g7.n7')", () => ns.lookup("bench.g7.n7"), () => 1);
  console.log(`\n${kind}: ${N} registrations; ping median ${ping.toFixed(3)} ms`);
  for (const [label, ms, size] of rows) {
    console.log(
      `  ${label.padEnd(48)} ${ms.toFixed(3).padStart(8)} ms  ${
        (ms / ping).toFixed(2).padStart(6)
      } x ping  (${size} results)`,
    );
  }
  const t = performance.now();
  const all = await ns.list();
  console.log(
    `  list() of everything: ${(performance.now() - t).toFixed(1)} ms once (${
      Object.keys(all).length
    } entries)`,
  );
}

async function registerOverNetwork(ns: NameServer, count: number): Promise<string> {
  const t = performance.now();
  for (let i = 0; i < count; i++) {
    await ns.register(`net.n${i}`, `PYRO:net${i}@127.0.0.1:4000`, false, ["net"]);
  }
  const ms = performance.now() - t;
  return `${count} sequential register() calls over the network: ${
    (ms / count).toFixed(3)
  } ms each`;
}

// Memory storage.
{
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const [name, uri, tags] = entry(i);
    server.nameServer.register(name, uri, false, tags);
  }
  console.log(`memory: filled ${N} in ${(performance.now() - t).toFixed(0)} ms (in-process)`);
  await using ns = await locateNS("127.0.0.1", server.uri.port!, { serializer: "msgpack" });
  await measure("memory", ns);
  console.log(`  ${await registerOverNetwork(ns, 2000)}`);
}

// SQLite storage.
{
  const dir = await Deno.makeTempDir();
  const file = `${dir}/bench.db`;
  try {
    new SqliteStorage(file).close(); // creates the schema and indexes
    const db = new DatabaseSync(file);
    const t = performance.now();
    db.exec("BEGIN");
    const insertName = db.prepare("INSERT INTO pyro_names(name, uri) VALUES (?, ?)");
    const insertTag = db.prepare("INSERT INTO pyro_metadata(object, metadata) VALUES (?, ?)");
    for (let i = 0; i < N; i++) {
      const [name, uri, tags] = entry(i);
      const id = insertName.run(name, uri).lastInsertRowid;
      for (const tag of tags) insertTag.run(id, tag);
    }
    db.exec("COMMIT");
    db.close();
    console.log(
      `\nsqlite: filled ${N} in ${(performance.now() - t).toFixed(0)} ms (one bulk transaction)`,
    );
    await using server = await startNameServer({
      host: "127.0.0.1",
      port: 0,
      broadcast: false,
      storage: `sql:${file}`,
    });
    await using ns = await locateNS("127.0.0.1", server.uri.port!, { serializer: "msgpack" });
    await measure("sqlite", ns);
    console.log(`  ${await registerOverNetwork(ns, 2000)} (each committed durably)`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// PostgreSQL storage.
{
  const reason = postgresUnavailable();
  if (reason !== null) {
    console.log(`\npostgresql: skipped (${reason})`);
  } else {
    await using cluster = await startPostgres({ durable: true });
    await using server = await startNameServer({
      host: "127.0.0.1",
      port: 0,
      broadcast: false,
      storage: cluster.url,
    });
    const { default: postgres } = await import("npm:postgres@4.2.0");
    const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
    const t = performance.now();
    await sql`INSERT INTO pyro_ns_names (name, uri, tags)
      SELECT 'bench.g' || (i % ${GROUPS}) || '.n' || i,
             'PYRO:obj' || i || '@127.0.0.1:' || (4000 + i % 1000),
             ARRAY['g' || (i % ${GROUPS}), 'parity' || (i % 2)]
      FROM generate_series(0, ${N - 1}) AS i`;
    await sql`ANALYZE pyro_ns_names`;
    await sql.end();
    console.log(
      `\npostgresql: filled ${N} in ${(performance.now() - t).toFixed(0)} ms (one INSERT … SELECT)`,
    );
    await using ns = await locateNS("127.0.0.1", server.uri.port!, { serializer: "msgpack" });
    await measure("postgresql", ns);
    console.log(`  ${await registerOverNetwork(ns, 2000)} (each committed durably)`);
  }
}
