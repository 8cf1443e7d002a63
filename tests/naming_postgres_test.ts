/**
 * Several Name Servers on one real PostgreSQL database (tests/_postgres.ts starts a throw-away
 * cluster per test): one namespace with read-your-writes across servers, safe registrations
 * raced from many processes, `kill -9` of a server under load, the database stopped and
 * restarted under load, autoclean handed over when its server dies, a newer schema refused,
 * and Python Pyro5 clients against any of the servers (with PYRO5_PYTHONPATH).
 */

import assert from "node:assert/strict";
import { locateNS, type NameServer } from "../locate.ts";
import { NamingError } from "../errors.ts";
import { startNameServer } from "../naming.ts";
import { URI } from "../uri.ts";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";
import { postgresUnavailable, startPostgres } from "./_postgres.ts";
import { runPython, skipPython } from "./_python.ts";

const noPostgres = postgresUnavailable();
if (noPostgres) console.warn(`PostgreSQL Name Server tests skipped: ${noPostgres}`);

const HERE = new URL(".", import.meta.url).pathname;

/** A Name Server in a process of its own (tests/_pg_ns.ts). */
interface NsProcess {
  readonly uri: URI;
  /** `127.0.0.1:PORT`, an entry for `nameServers`. */
  readonly entry: string;
  kill9(): Promise<void>;
  close(): Promise<void>;
}

async function startNs(storage: string, period = 0, after = 0): Promise<NsProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${HERE}_pg_ns.ts`, storage, String(period), String(after)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let stderr = "";
  const errDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr = (stderr + chunk).slice(-4000);
    }
  })();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let uri: URI | null = null;
  while (uri === null) {
    const { value, done } = await lines.read();
    if (done) break;
    buffered += value;
    const m = /^URI (\S+)$/m.exec(buffered);
    if (m) uri = new URI(m[1]!);
  }
  const outDone = (async () => {
    while (!(await lines.read()).done) { /* drain */ }
  })();
  const stdin = child.stdin.getWriter();
  let ended: Promise<void> | null = null;
  const end = (kill: boolean) =>
    ended ??= (async () => {
      if (kill) child.kill("SIGKILL");
      await stdin.close().catch(() => {});
      await Promise.all([child.status, errDone, outDone]);
    })();
  if (uri === null) {
    await end(true);
    throw new Error(`the name server did not start: ${stderr}`);
  }
  return {
    uri,
    entry: `127.0.0.1:${uri.port}`,
    kill9: () => end(true),
    close: () => end(false),
  };
}

async function nsAt(p: NsProcess): Promise<NameServer> {
  return await locateNS("127.0.0.1", p.uri.port, { serializer: "msgpack" });
}

/** Polls `check` until it returns true, or fails after `ms`. */
async function eventually(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "Three Name Servers on one PostgreSQL database serve one namespace",
  ignore: noPostgres !== null,
  async fn() {
    await using cluster = await startPostgres();
    const servers = await Promise.all([0, 1, 2].map(() => startNs(cluster.url)));
    const proxies: NameServer[] = [];
    try {
      for (const s of servers) proxies.push(await nsAt(s));
      const [a, b, c] = proxies as [NameServer, NameServer, NameServer];
      // Read-your-writes: what one server registered, the next one sees on the next call.
      for (let i = 0; i < 60; i++) {
        const via = proxies[i % 3]!, next = proxies[(i + 1) % 3]!;
        await via.register(`app.n${i}`, `PYRO:o${i}@127.0.0.1:${4000 + i}`, false, [
          `g${i % 4}`,
          "app",
        ]);
        assert.equal(String(await next.lookup(`app.n${i}`)), `PYRO:o${i}@127.0.0.1:${4000 + i}`);
      }
      assert.equal(Object.keys(await b.list("app.")).length, 60);
      assert.equal(await c.count(), 61); // and one Pyro.NameServer entry for the three
      assert.equal(Object.keys(await c.yplookup(["g1", "app"], null, false)).length, 15);
      await a.set_metadata("app.n1", ["moved"]);
      assert.deepEqual(Object.keys(await b.yplookup(["moved"], null, false)), ["app.n1"]);
      assert.equal(Object.keys(await c.yplookup(["g1", "app"], null, false)).length, 14);
      assert.equal(await c.remove(null, null, "app\\.n1[0-9]$"), 10);
      await assert.rejects(a.lookup("app.n15"), NamingError);
      assert.equal(await b.remove(null, "app."), 50);
      assert.equal(await a.count(), 1);

      // Racing safe registrations from six processes, two per server: each name is won once.
      const racers = await Promise.all(
        servers.flatMap((s, i) =>
          [0, 1].map((j) =>
            new Deno.Command(Deno.execPath(), {
              args: ["run", "-A", `${HERE}_pg_racer.ts`, String(s.uri), "40", `${i}${j}`],
              stdout: "piped",
              stderr: "piped",
            }).output()
          )
        ),
      );
      const winners = new Map<string, number>();
      for (const out of racers) {
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        const { won, lost } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
          won: string[];
          lost: string[];
        };
        assert.equal(won.length + lost.length, 40);
        for (const name of won) winners.set(name, (winners.get(name) ?? 0) + 1);
      }
      assert.equal(winners.size, 40);
      assert.ok([...winners.values()].every((n) => n === 1), "each name won exactly once");
      assert.equal(Object.keys(await c.list("race.")).length, 40);
    } finally {
      for (const p of proxies) await p._pyroRelease();
      await Promise.all(servers.map((s) => s.close()));
    }
  },
});

Deno.test({
  name:
    "Clients fail over when a Name Server is killed with kill -9, and no returned registration is lost",
  ignore: noPostgres !== null,
  async fn() {
    await using cluster = await startPostgres();
    const servers = await Promise.all([0, 1, 2].map(() => startNs(cluster.url)));
    const entries = servers.map((s) => s.entry);
    const returned = new Set<string>();
    let failovers = 0;
    let killed: Promise<void> | null = null;
    const worker = async (w: number) => {
      // Each worker prefers another server first: clients spread over the three.
      const order = [...entries.slice(w % 3), ...entries.slice(0, w % 3)];
      let ns = await locateNS(null, null, { nameServers: order, serializer: "msgpack" });
      try {
        for (let i = 0; i < 60; i++) {
          const name = `load.w${w}.${i}`;
          for (let attempt = 0;; attempt++) {
            try {
              await ns.register(name, `PYRO:w${w}@127.0.0.1:${5000 + i}`, false, ["load"]);
              break;
            } catch (e) {
              if (e instanceof NamingError || attempt >= 3) throw e;
              failovers++;
              await ns._pyroRelease();
              ns = await locateNS(null, null, { nameServers: order, serializer: "msgpack" });
            }
          }
          returned.add(name);
          if (returned.size === 90) killed ??= servers[0]!.kill9();
        }
      } finally {
        await ns._pyroRelease();
      }
    };
    try {
      await Promise.all([0, 1, 2, 3, 4, 5].map(worker));
      await killed;
      assert.ok(failovers > 0, "some clients were on the killed server");
      await using survivor = await nsAt(servers[2]!);
      const listed = await survivor.list("load.");
      for (const name of returned) assert.ok(name in listed, `${name} is still registered`);
      assert.equal(returned.size, 360);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  },
});

Deno.test({
  name:
    "Name Servers fail calls with a clear NamingError while PostgreSQL is down and recover when it returns",
  ignore: noPostgres !== null,
  async fn() {
    await using cluster = await startPostgres();
    const servers = await Promise.all([0, 1].map(() => startNs(cluster.url)));
    const [a, b] = [await nsAt(servers[0]!), await nsAt(servers[1]!)];
    const returned = new Set<string>();
    let stop = false;
    const errors: string[] = [];
    const load = (async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        try {
          await a.register(`db.n${i}`, `PYRO:x@127.0.0.1:${i % 60000}`);
          returned.add(`db.n${i}`);
        } catch (e) {
          assert.ok(e instanceof NamingError, String(e));
          errors.push(e.message);
          await new Promise((r) => setTimeout(r, 20)); // back off while the database is away
        }
      }
    })();
    try {
      await eventually("some load", 20000, () => Promise.resolve(returned.size >= 30));
      await cluster.stop();
      await assert.rejects(
        b.lookup("db.n1"),
        (e: unknown) =>
          e instanceof NamingError && /Cannot reach the name server database/.test(e.message),
      );
      await cluster.start();
      const before = returned.size;
      await eventually("recovery", 30000, async () => {
        await b.register("db.after", "PYRO:x@127.0.0.1:1");
        return returned.size > before + 10;
      });
      stop = true;
      await load;
      const listed = await b.list("db.");
      for (const name of returned) assert.ok(name in listed, `${name} is still registered`);
      assert.ok(
        errors.every((m) => /Cannot reach the name server database|postgresql error/.test(m)),
        errors.find((m) => !/Cannot reach/.test(m)),
      );
    } finally {
      stop = true;
      await load.catch(() => {});
      await a._pyroRelease();
      await b._pyroRelease();
      await Promise.all(servers.map((s) => s.close()));
    }
  },
});

Deno.test({
  name: "One Name Server at a time runs autoclean, and the job moves on when that server dies",
  ignore: noPostgres !== null,
  async fn() {
    await using cluster = await startPostgres();
    const live = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepting = (async () => {
      for await (const conn of live) conn.close();
    })();
    const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadUri = `PYRO:gone@127.0.0.1:${(dead.addr as Deno.NetAddr).port}`;
    dead.close();
    const first = await startNs(cluster.url, 3000, 0);
    let second: NsProcess | null = null;
    try {
      await using viaFirst = await nsAt(first);
      await viaFirst.register("svc.live", `PYRO:x@127.0.0.1:${(live.addr as Deno.NetAddr).port}`);
      await viaFirst.register("svc.dead1", deadUri);
      await eventually("the first server to clean", 15000, async () => {
        return !("svc.dead1" in (await viaFirst.list("svc.")));
      });
      second = await startNs(cluster.url, 3000, 0);
      await using viaSecond = await nsAt(second);
      await viaFirst._pyroRelease();
      await first.kill9();
      await viaSecond.register("svc.dead2", deadUri);
      // The shared entry of the name server itself names the dead server: it gets repointed.
      await viaSecond.register("Pyro.NameServer", String(first.uri));
      await eventually("the second server to take over", 20000, async () => {
        const names = await viaSecond.list("svc.");
        return !("svc.dead2" in names) &&
          String(await viaSecond.lookup("Pyro.NameServer")) === String(second!.uri);
      });
      assert.ok("svc.live" in (await viaSecond.list("svc.")));
    } finally {
      await first.close();
      await second?.close();
      live.close();
      await accepting;
    }
  },
});

Deno.test({
  name: "A Name Server refuses a database whose schema is newer than it knows",
  ignore: noPostgres !== null,
  async fn() {
    await using cluster = await startPostgres();
    const { default: postgres } = await import("npm:postgres@4.2.0");
    const first = await startNameServer({
      host: "127.0.0.1",
      port: 0,
      broadcast: false,
      storage: cluster.url,
    });
    await first.close();
    const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
    await sql`UPDATE pyro_ns_schema_version SET version = 99`;
    await sql.end();
    await assert.rejects(
      startNameServer({ host: "127.0.0.1", port: 0, broadcast: false, storage: cluster.url }),
      (e: unknown) => e instanceof NamingError && /schema version 99 is newer/.test(e.message),
    );
  },
});

Deno.test({
  name: "Python Pyro5 clients (nsc, locate_ns, PYRONAME proxies) use any of the Name Servers",
  ignore: noPostgres !== null || skipPython(),
  async fn() {
    await using cluster = await startPostgres();
    const servers = await Promise.all([0, 1, 2].map(() => startNs(cluster.url)));
    await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
    const uri = daemon.register(expose({ hello: (who: string) => `hello ${who}` }), "greeter");
    try {
      await using ns = await nsAt(servers[0]!);
      await ns.register("py.greeter", uri, false, ["greeting"]);
      const [p1, p2] = [servers[1]!.uri.port, servers[2]!.uri.port];
      const out = await runPython(`
import subprocess, sys
from Pyro5.api import locate_ns, Proxy
ns = locate_ns("127.0.0.1", ${p1})
print(ns.lookup("py.greeter"))
ns.register("py.fromPython", "PYRO:x@127.0.0.1:1", safe=True)
print(Proxy("PYRONAME:py.greeter@127.0.0.1:${p2}").hello("python"))
print(subprocess.run([sys.executable, "-m", "Pyro5.nsc", "-n", "127.0.0.1", "-p", "${p2}", "list", "py."],
      capture_output=True, text=True, check=True).stdout)
`);
      assert.match(out, new RegExp(`^${String(uri).replaceAll(".", "\\.")}$`, "m"));
      assert.match(out, /^hello python$/m);
      assert.match(out, /py\.fromPython --> PYRO:x@127\.0\.0\.1:1/);
      assert.equal(String(await ns.lookup("py.fromPython")), "PYRO:x@127.0.0.1:1");
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  },
});
