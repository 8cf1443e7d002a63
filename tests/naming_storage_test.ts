import assert from "node:assert/strict";
import { MemoryStorage } from "../_naming/memory.ts";
import { openStorage } from "../_naming/open_storage.ts";
import { SqliteStorage } from "../_naming/sqlite.ts";
import type { NameStorage } from "../_naming/storage.ts";
import { NamingError } from "../errors.ts";
import { PostgresStorage } from "../_naming/postgres.ts";
import { postgresUnavailable, startPostgres } from "./_postgres.ts";

function sortRecords<T extends { name: string; metadata?: string[] }>(records: T[]): T[] {
  return records
    .map((r) => (r.metadata ? { ...r, metadata: [...r.metadata].sort() } : r))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The behaviour cases, run again on PostgreSQL by the last test of this file. */
const cases: { name: string; fn: (storage: NameStorage) => Promise<void> }[] = [];

function withBackends(name: string, fn: (storage: NameStorage) => Promise<void>): void {
  cases.push({ name, fn });
  Deno.test(`Memory storage: ${name}`, async () => {
    const storage = new MemoryStorage();
    try {
      await fn(storage);
    } finally {
      storage.close();
    }
  });
  Deno.test(`SQLite storage: ${name}`, async () => {
    const dir = Deno.makeTempDirSync();
    const storage = new SqliteStorage(`${dir}/ns.db`);
    try {
      await fn(storage);
    } finally {
      storage.close();
      Deno.removeSync(dir, { recursive: true });
    }
  });
}

withBackends("registers, looks up, overwrites and honours safe mode", async (s) => {
  assert.equal(await s.register("a", "PYRO:x@127.0.0.1:1", ["t1", "t2", "t1"], false), true);
  assert.deepEqual(sortRecords([{ name: "a", ...(await s.lookup("a"))! }]), [
    { name: "a", uri: "PYRO:x@127.0.0.1:1", metadata: ["t1", "t2"] },
  ]);
  assert.equal(await s.register("a", "PYRO:y@127.0.0.1:2", null, true), false);
  assert.equal((await s.lookup("a"))!.uri, "PYRO:x@127.0.0.1:1");
  assert.equal(await s.register("a", "PYRO:y@127.0.0.1:2", null, false), true);
  assert.deepEqual(await s.lookup("a"), { uri: "PYRO:y@127.0.0.1:2", metadata: [] });
  assert.equal(await s.lookup("A"), undefined);
  assert.equal(await s.count(), 1);
});

withBackends("lists by prefix exactly, including names with LIKE wildcards", async (s) => {
  for (const name of ["demo.a", "demo.b", "demo_x", "demoXa", "Demo.c", "other", "demo.", "dem"]) {
    await s.register(name, `PYRO:${name.length}@127.0.0.1:1`, [], false);
  }
  await s.register("pre\u{10ffff}", "PYRO:m@127.0.0.1:1", null, false);
  await s.register("pre\u{10ffff}z", "PYRO:m@127.0.0.1:1", null, false);
  await s.register("pré", "PYRO:m@127.0.0.1:1", null, false);
  assert.deepEqual(
    (await s.list("demo.", false)).map((r) => r.name).sort(),
    ["demo.", "demo.a", "demo.b"],
  );
  assert.deepEqual((await s.list("demo_", false)).map((r) => r.name), ["demo_x"]);
  assert.deepEqual((await s.list("pre\u{10ffff}", false)).map((r) => r.name).sort(), [
    "pre\u{10ffff}",
    "pre\u{10ffff}z",
  ]);
  assert.deepEqual((await s.list("pr", false)).length, 3);
  assert.equal((await s.list(null, false)).length, 11);
  assert.equal((await s.list("", true)).length, 11);
  assert.deepEqual(await s.list("nothing", true), []);
});

withBackends("yplookup finds entries with all or any of the tags", async (s) => {
  await s.register("demo.a", "PYRO:objA@127.0.0.1:4001", ["red", "big"], false);
  await s.register("demo.b", "PYRO:objB@127.0.0.1:4002", ["blue", "big"], false);
  await s.register("other.c", "PYRO:objC@127.0.0.1:4003", ["red"], false);
  await s.register("plain", "PYRO:objD@127.0.0.1:4004", null, false);
  assert.deepEqual(sortRecords(await s.yplookup(["red", "big"], "all", true)), [
    { name: "demo.a", uri: "PYRO:objA@127.0.0.1:4001", metadata: ["big", "red"] },
  ]);
  assert.deepEqual(sortRecords(await s.yplookup(["red", "red"], "all", false)), [
    { name: "demo.a", uri: "PYRO:objA@127.0.0.1:4001" },
    { name: "other.c", uri: "PYRO:objC@127.0.0.1:4003" },
  ]);
  assert.deepEqual(
    sortRecords(await s.yplookup(["blue", "red"], "any", true)).map((r) => r.name),
    ["demo.a", "demo.b", "other.c"],
  );
  assert.deepEqual(await s.yplookup(["nothing"], "all", true), []);
  assert.deepEqual(await s.yplookup([], "any", true), []);
  assert.equal(await s.setMetadata("demo.a", ["yellow"]), true);
  assert.deepEqual(await s.yplookup(["red", "big"], "all", true), []);
  assert.equal(await s.setMetadata("nosuch", ["x"]), false);
  assert.equal(await s.setMetadata("demo.b", null), true);
  assert.deepEqual((await s.lookup("demo.b"))!.metadata, []);
});

withBackends("removes names and keeps prefix queries right after removal", async (s) => {
  for (let i = 0; i < 50; i++) {
    await s.register(`n.${i}`, "PYRO:x@127.0.0.1:1", [`t${i % 3}`], false);
  }
  assert.equal((await s.list("n.1", false)).length, 11);
  assert.equal(await s.remove(["n.1", "n.10", "missing", "n.1"]), 2);
  assert.equal(await s.count(), 48);
  assert.equal((await s.list("n.1", false)).length, 9);
  await s.register("n.1", "PYRO:again@127.0.0.1:1", null, false);
  assert.deepEqual((await s.list("n.1", false)).filter((r) => r.name === "n.1").length, 1);
  assert.equal((await s.yplookup(["t1"], "any", false)).filter((r) => r.name === "n.10").length, 0);
});

Deno.test("SQLite storage keeps registrations across reopen", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const first = new SqliteStorage(`${dir}/ns.db`);
    first.register("demo.a", "PYRO:objA@127.0.0.1:4001", ["red", "big"], false);
    first.register("demo.b", "PYRO:objB@127.0.0.1:4002", null, false);
    first.close();
    const second = openStorage(`sql:${dir}/ns.db`);
    assert.equal(await second.count(), 2);
    assert.deepEqual((await second.lookup("demo.a"))!.metadata.sort(), ["big", "red"]);
    await second.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SQLite storage refuses a file already held by another name server", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const first = new SqliteStorage(`${dir}/ns.db`);
    assert.throws(
      () => new SqliteStorage(`${dir}/ns.db`),
      (e: unknown) => e instanceof NamingError && /in use by another name server/.test(e.message),
    );
    first.close();
    new SqliteStorage(`${dir}/ns.db`).close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SQLite storage refuses :memory: and ill-formed strings, storing nothing", () => {
  assert.throws(() => new SqliteStorage(":memory:"), NamingError);
  const dir = Deno.makeTempDirSync();
  try {
    const s = new SqliteStorage(`${dir}/ns.db`);
    assert.throws(() => s.register("bad\ud800", "PYRO:x@127.0.0.1:1", null, false), NamingError);
    assert.throws(() => s.register("ok", "PYRO:x@127.0.0.1:1", ["\udc00"], false), NamingError);
    assert.equal(s.count(), 0);
    assert.equal(s.lookup("ok"), undefined);
    s.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openStorage refuses an unknown storage type", () => {
  assert.throws(() => openStorage("dbm:/tmp/x"), /invalid storage type/);
});

Deno.test("openStorage opens PostgreSQL URLs lazily and hides the password", async () => {
  for (
    const url of [
      "postgresql://pyro:secret@127.0.0.1:1/names",
      "postgres://pyro:secret@127.0.0.1:1/names",
    ]
  ) {
    const storage = openStorage(url);
    assert.ok(storage instanceof PostgresStorage);
    assert.ok(!storage.description.includes("secret"), storage.description);
    await storage.close();
  }
});

Deno.test("PostgreSQL storage fails with a NamingError that names the database when it is down", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const storage = new PostgresStorage(`postgresql://pyro@127.0.0.1:${port}/names`);
  try {
    await assert.rejects(
      async () => await storage.lookup("x"),
      (e: unknown) =>
        e instanceof NamingError &&
        e.message.startsWith(
          `Cannot reach the name server database postgresql://pyro@127.0.0.1:${port}/names`,
        ),
    );
  } finally {
    await storage.close();
  }
});

withBackends("prefix lists stay exact under interleaved registrations and removals", async (s) => {
  const model = new Map<string, string>();
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const names = Array.from({ length: 300 }, (_, i) => `k${random(4)}.${i % 7}${"ab"[i % 2]}${i}`);
  for (let step = 0; step < 1500; step++) {
    const name = names[random(names.length)]!;
    const op = random(10);
    if (op < 6) {
      await s.register(name, `PYRO:${step}@127.0.0.1:1`, null, false);
      model.set(name, `PYRO:${step}@127.0.0.1:1`);
    } else if (op < 8) {
      assert.equal(await s.remove([name]), model.delete(name) ? 1 : 0);
    } else {
      const prefix = name.slice(0, 1 + random(4));
      const expected = [...model.keys()].filter((n) => n.startsWith(prefix)).sort();
      assert.deepEqual(
        (await s.list(prefix, false)).map((r) => r.name).sort(),
        expected,
        `step ${step}`,
      );
      assert.deepEqual((await s.names(prefix)).sort(), expected, `names, step ${step}`);
      assert.deepEqual(
        (await s.records([...expected, "missing"], true)).map((r) => [r.name, r.uri, r.metadata]),
        expected.map((n) => [n, model.get(n), []]),
      );
    }
  }
  assert.equal(await s.count(), model.size);
});

const noPostgres = postgresUnavailable();
if (noPostgres) console.warn(`PostgreSQL storage tests skipped: ${noPostgres}`);

Deno.test({
  name: "PostgreSQL storage behaves as memory and SQLite do (each case on a fresh database)",
  ignore: noPostgres !== null,
  async fn(t) {
    await using cluster = await startPostgres();
    let n = 0;
    for (const { name, fn } of cases) {
      await t.step(name, async () => {
        const storage = new PostgresStorage(await cluster.createDatabase(`case${n++}`));
        try {
          await fn(storage);
        } finally {
          await storage.close();
        }
      });
    }
  },
});
