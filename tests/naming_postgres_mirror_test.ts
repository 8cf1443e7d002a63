/**
 * The namespace mirror of PostgreSQL Name Server storage (_naming/postgres_mirror.ts) against a
 * real PostgreSQL (tests/_postgres.ts): writes through one storage are seen by the next lookup
 * through another, lookups are answered from memory once read, a mirror that does not answer
 * holds writes up for at most its lease and is then cut off, a lost connection or a stopped
 * database sends lookups to the database until the mirror has loaded again, big changes and
 * changes made outside the Name Server reach the mirrors, and `?mirror=off` keeps every lookup
 * on the database.
 */

import assert from "node:assert/strict";
import { NamingError } from "../errors.ts";
import { PostgresStorage } from "../_naming/postgres.ts";
import type { StoredEntry } from "../_naming/storage.ts";
import { postgresUnavailable, startPostgres } from "./_postgres.ts";

const noPostgres = postgresUnavailable();
if (noPostgres) console.warn(`PostgreSQL mirror tests skipped: ${noPostgres}`);

/** A lookup's answer, and whether it came from memory (without a promise). */
async function lookup(
  storage: PostgresStorage,
  name: string,
): Promise<{ entry: StoredEntry | undefined; mirrored: boolean }> {
  const answer = storage.lookup(name);
  return { entry: await answer, mirrored: !(answer instanceof Promise) };
}

/** Polls `check` until it returns true, or fails after `ms`. */
async function eventually(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function opened(url: string, lease = 2000): Promise<PostgresStorage> {
  const storage = new PostgresStorage(url, { mirrorLease: lease });
  await storage.open();
  return storage;
}

Deno.test({
  name:
    "PostgreSQL storage mirrors: writes through one are seen by the next lookup through another",
  ignore: noPostgres !== null,
  async fn(t) {
    await using cluster = await startPostgres();
    const { default: postgres } = await import("npm:postgres@4.2.0");

    await t.step(
      "register, set_metadata, remove and autoclean's remove reach every mirror before they return",
      async () => {
        const url = await cluster.createDatabase("writes");
        const a = await opened(url), b = await opened(url), c = await opened(url);
        try {
          await Promise.all([a, b, c].map((s) => s.mirrorServing()));
          for (let i = 0; i < 30; i++) {
            const [via, next] = ([[a, b], [b, c], [c, a]] as const)[i % 3]!;
            const name = `app.n${i % 4}`;
            const uri = `PYRO:o${i}@127.0.0.1:${4000 + i}`;
            await via.register(name, uri, [`g${i}`], false);
            assert.deepEqual((await lookup(next, name)).entry, { uri, metadata: [`g${i}`] });
            // Read once, the name is answered from memory, by the writer too.
            assert.deepEqual(await lookup(next, name), {
              entry: { uri, metadata: [`g${i}`] },
              mirrored: true,
            });
            assert.equal((await lookup(via, name)).entry?.uri, uri);
            assert.equal(await via.setMetadata(name, ["moved", `m${i}`]), true);
            assert.deepEqual((await lookup(next, name)).entry?.metadata, ["moved", `m${i}`]);
            assert.equal(await next.register(name, "PYRO:other@127.0.0.1:1", null, true), false);
            if (i % 2 === 0) assert.equal(await via.remove([name]), 1);
            else assert.equal(await via.removeIfUnchanged(name, uri), true);
            assert.equal((await lookup(next, name)).entry, undefined);
            assert.deepEqual(await lookup(next, name), { entry: undefined, mirrored: true });
          }
          for (let i = 0; i < 20; i++) {
            await a.register(`bulk.n${i}`, "PYRO:x@127.0.0.1:1", null, false);
          }
          assert.ok((await lookup(c, "bulk.n7")).entry);
          assert.equal(
            await b.removeMatching("bulk.", (n) => n.endsWith("7") || n < "bulk.n2"),
            13,
          );
          assert.equal((await lookup(c, "bulk.n7")).entry, undefined);
          assert.equal((await lookup(a, "bulk.n17")).entry, undefined);
          assert.equal((await lookup(a, "bulk.n3")).entry?.uri, "PYRO:x@127.0.0.1:1");
          // A name too long for one notification makes the mirrors load again.
          const long = `long.${"x".repeat(9000)}`;
          await a.register(long, "PYRO:long@127.0.0.1:1", null, false);
          assert.equal((await lookup(b, long)).entry?.uri, "PYRO:long@127.0.0.1:1");
          await b.mirrorServing();
          assert.deepEqual(await lookup(b, long), {
            entry: { uri: "PYRO:long@127.0.0.1:1", metadata: [] },
            mirrored: true,
          });
        } finally {
          await Promise.all([a.close(), b.close(), c.close()]);
        }
      },
    );

    await t.step(
      "concurrent writes through several servers are each seen through every server when they return",
      async () => {
        const url = await cluster.createDatabase("concurrent");
        const servers = [await opened(url), await opened(url), await opened(url)];
        try {
          await Promise.all(servers.map((s) => s.mirrorServing()));
          // 12 loops, 4 per server, each on names of its own: writes through one server arrive
          // together and share barriers; every other server must see each write once it returns.
          await Promise.all(Array.from({ length: 12 }, async (_, loop) => {
            const via = servers[loop % 3]!;
            for (let i = 0; i < 15; i++) {
              const name = `c.l${loop}.n${i % 3}`;
              const uri = `PYRO:l${loop}i${i}@127.0.0.1:${5000 + i}`;
              if (i % 5 === 4) {
                await via.remove([name]);
                for (const s of servers) assert.equal(await s.lookup(name), undefined);
              } else {
                await via.register(name, uri, [`i${i}`], false);
                for (const s of servers) assert.equal((await s.lookup(name))?.uri, uri);
              }
            }
          }));
        } finally {
          await Promise.all(servers.map((s) => s.close()));
        }
      },
    );

    await t.step(
      "changes made outside the Name Server and changes of over 10,000 rows reach the mirrors",
      async () => {
        const url = await cluster.createDatabase("outside");
        const a = await opened(url), b = await opened(url);
        const sql = postgres(url, { max: 1, onnotice: () => {} });
        try {
          await Promise.all([a.mirrorServing(), b.mirrorServing()]);
          await sql`INSERT INTO pyro_ns_names (name, uri)
          SELECT 'many.' || i, 'PYRO:m' || i || '@127.0.0.1:1' FROM generate_series(1, 10001) i`;
          // A write through a waits for b, which answers after everything committed before.
          await a.register("marker", "PYRO:marker@127.0.0.1:1", null, false);
          assert.equal((await lookup(b, "many.10001")).entry?.uri, "PYRO:m10001@127.0.0.1:1");
          await b.mirrorServing();
          assert.deepEqual(await lookup(b, "many.5000"), {
            entry: { uri: "PYRO:m5000@127.0.0.1:1", metadata: [] },
            mirrored: true,
          });
          await sql`UPDATE pyro_ns_names SET uri = 'PYRO:changed@127.0.0.1:2' WHERE name = 'many.5000'`;
          await sql`DELETE FROM pyro_ns_names WHERE name = 'many.4000'`;
          await a.remove(["marker"]);
          assert.equal((await lookup(b, "many.5000")).entry?.uri, "PYRO:changed@127.0.0.1:2");
          assert.equal((await lookup(b, "many.4000")).entry, undefined);
          await sql`TRUNCATE pyro_ns_names`;
          await a.register("marker", "PYRO:marker@127.0.0.1:1", null, false);
          assert.equal((await lookup(b, "many.1")).entry, undefined);
          await b.mirrorServing();
          assert.deepEqual(await lookup(b, "many.2"), { entry: undefined, mirrored: true });
        } finally {
          await sql.end();
          await Promise.all([a.close(), b.close()]);
        }
      },
    );

    await t.step(
      "a mirror that does not answer holds writes up for at most its lease, then is cut off",
      async () => {
        const url = await cluster.createDatabase("silent");
        let closed!: () => void;
        const cut = new Promise<void>((resolve) => closed = resolve);
        // A member that listens but never answers (say, a frozen process).
        const silent = postgres(url, {
          max: 1,
          onnotice: () => {},
          onclose: () => closed(),
          connection: { application_name: "pyro-ns-mirror 00000000000000aa" },
        });
        const a = await opened(url, 300);
        try {
          await silent`LISTEN pyro_ns`;
          await a.register("held", "PYRO:held@127.0.0.1:1", null, false);
          // Its connection was ended by the writer.
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([
            cut,
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error("the silent mirror was not cut off")),
                10_000,
              );
            }),
          ]).finally(() => clearTimeout(timer));
          const sql = postgres(url, { max: 1, onnotice: () => {} });
          const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name = 'pyro-ns-mirror 00000000000000aa'`;
          await sql.end();
          assert.equal(row!.n, 0);
          await a.register("after", "PYRO:after@127.0.0.1:1", null, false);
          assert.equal((await lookup(a, "after")).entry?.uri, "PYRO:after@127.0.0.1:1");
        } finally {
          await silent.end({ timeout: 0 });
          await a.close();
        }
      },
    );

    await t.step(
      "a mirror whose connection is ended answers from the database until it has loaded again",
      async () => {
        const url = await cluster.createDatabase("ended");
        const a = await opened(url), b = await opened(url);
        const sql = postgres(url, { max: 1, onnotice: () => {} });
        try {
          await Promise.all([a.mirrorServing(), b.mirrorServing()]);
          await a.register("svc", "PYRO:v1@127.0.0.1:1", null, false);
          await lookup(b, "svc");
          assert.deepEqual((await lookup(b, "svc")).mirrored, true);
          await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name LIKE 'pyro-ns-mirror %'`;
          await a.register("svc", "PYRO:v2@127.0.0.1:1", null, false);
          assert.equal((await lookup(b, "svc")).entry?.uri, "PYRO:v2@127.0.0.1:1");
          await b.mirrorServing();
          assert.deepEqual(await lookup(b, "svc"), {
            entry: { uri: "PYRO:v2@127.0.0.1:1", metadata: [] },
            mirrored: true,
          });
          await a.register("svc", "PYRO:v3@127.0.0.1:1", null, false);
          assert.equal((await lookup(b, "svc")).entry?.uri, "PYRO:v3@127.0.0.1:1");
        } finally {
          await sql.end();
          await Promise.all([a.close(), b.close()]);
        }
      },
    );

    await t.step(
      "with mirror=off every lookup goes to the database, and its writes still wait for the mirrors",
      async () => {
        const url = await cluster.createDatabase("off");
        const off = new PostgresStorage(`${url}?mirror=off`);
        const b = await opened(url);
        try {
          await off.open();
          await b.mirrorServing();
          for (let i = 0; i < 5; i++) {
            await off.register("svc", `PYRO:v${i}@127.0.0.1:1`, null, false);
            assert.equal((await lookup(b, "svc")).entry?.uri, `PYRO:v${i}@127.0.0.1:1`);
            assert.deepEqual(await lookup(off, "svc"), {
              entry: { uri: `PYRO:v${i}@127.0.0.1:1`, metadata: [] },
              mirrored: false,
            });
          }
        } finally {
          await Promise.all([off.close(), b.close()]);
        }
      },
    );

    await t.step(
      "while the database is down lookups fail instead of being served from memory, and the mirror comes back",
      async () => {
        const url = await cluster.createDatabase("down");
        const a = await opened(url), b = await opened(url);
        try {
          await Promise.all([a.mirrorServing(), b.mirrorServing()]);
          await a.register("svc", "PYRO:v1@127.0.0.1:1", null, false);
          await lookup(b, "svc");
          assert.equal((await lookup(b, "svc")).mirrored, true);
          await cluster.stop();
          await eventually("lookups to fail", 10_000, async () => {
            try {
              await b.lookup("svc");
              return false;
            } catch (e) {
              assert.ok(e instanceof NamingError && /Cannot reach/.test(e.message), String(e));
              return true;
            }
          });
          await cluster.start();
          await eventually("a write to succeed", 30_000, async () => {
            await a.register("svc", "PYRO:v2@127.0.0.1:1", null, false);
            return true;
          });
          assert.equal((await lookup(b, "svc")).entry?.uri, "PYRO:v2@127.0.0.1:1");
          await b.mirrorServing();
          assert.deepEqual(await lookup(b, "svc"), {
            entry: { uri: "PYRO:v2@127.0.0.1:1", metadata: [] },
            mirrored: true,
          });
        } finally {
          await Promise.all([a.close(), b.close()]);
        }
      },
    );
  },
});
