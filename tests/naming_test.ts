/**
 * Our name server client against our name server, over real sockets on 127.0.0.1: every
 * method, keyword binding and Python truthiness, errors and bad input (nothing stored, the
 * server keeps serving), broadcast discovery on loopback, and persistence across a `kill -9`.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { NamingError, PyroError, type RemoteError } from "../errors.ts";
import { createProxy, kwargs } from "../proxy.ts";
import { URI } from "../uri.ts";
import { NameServer as NameServerObject } from "../_naming/server.ts";
import { startNameServer } from "../naming.ts";
import { locateNS, type NameServer, resolve } from "../locate.ts";
import { discoverNameServer } from "../_naming/broadcast.ts";

const NAMING_TS = fileURLToPath(new URL("../cli/ns.ts", import.meta.url));
const LOOPBACK_BROADCAST = ["127.255.255.255"];

async function withServer(
  serializer: string,
  fn: (ns: NameServer, port: number) => Promise<void>,
  options: { maxMessageSize?: number } = {},
): Promise<void> {
  await using server = await startNameServer({
    host: "127.0.0.1",
    port: 0,
    broadcast: false,
    ...options,
  });
  await using ns = await locateNS("127.0.0.1", server.uri.port!, { serializer });
  await fn(ns, server.uri.port!);
}

function isRemote(name: string, text?: RegExp) {
  return (e: unknown) =>
    e instanceof Error &&
    (e.name === name || (e as RemoteError).remoteClass === `builtins.${name}`) &&
    (text === undefined || text.test(e.message));
}

for (const serializer of ["json", "msgpack"]) {
  Deno.test(`Name server methods give Pyro5's results (${serializer})`, async () => {
    await withServer(serializer, async (ns, port) => {
      assert.equal(await ns.ping(), null);
      assert.equal(await ns.count(), 1);
      assert.equal(
        await ns.register("demo.a", "PYRO:objA@127.0.0.1:4001", false, ["red", "big"]),
        null,
      );
      await ns.register(
        "demo.b",
        new URI("PYRO:objB@127.0.0.1:4002"),
        true,
        new Set(["blue", "big"]),
      );
      await ns.register("other.c", "PYRO:objC@127.0.0.1:4003", false, ["red"]);
      await ns.register("plain", "PYRO:objD@127.0.0.1:4004");
      assert.equal(await ns.count(), 5);

      const uri = await ns.lookup("demo.a");
      assert.ok(uri instanceof URI);
      assert.equal(uri.toString(), "PYRO:objA@127.0.0.1:4001");
      const [uri2, tags] = await ns.lookup("demo.b", true);
      assert.equal(uri2.toString(), "PYRO:objB@127.0.0.1:4002");
      assert.deepEqual([...tags].sort(), ["big", "blue"]);
      assert.deepEqual((await ns.lookup("plain", true))[1], []);

      assert.deepEqual(await ns.list(), {
        "Pyro.NameServer": `PYRO:Pyro.NameServer@127.0.0.1:${port}`,
        "demo.a": "PYRO:objA@127.0.0.1:4001",
        "demo.b": "PYRO:objB@127.0.0.1:4002",
        "other.c": "PYRO:objC@127.0.0.1:4003",
        "plain": "PYRO:objD@127.0.0.1:4004",
      });
      assert.deepEqual(Object.keys(await ns.list("demo.")).sort(), ["demo.a", "demo.b"]);
      assert.deepEqual(Object.keys(await ns.list(null, "demo\\.b|other\\..*")).sort(), [
        "demo.b",
        "other.c",
      ]);
      assert.deepEqual(Object.keys(await ns.list(null, "\\.a")), []); // anchored at the start
      const withMeta = await ns.list("demo.", null, true);
      assert.deepEqual(withMeta["demo.a"]![0], "PYRO:objA@127.0.0.1:4001");
      assert.deepEqual([...withMeta["demo.a"]![1]].sort(), ["big", "red"]);
      assert.deepEqual((await ns.list(null, null, true))["plain"], [
        "PYRO:objD@127.0.0.1:4004",
        [],
      ]);

      assert.deepEqual(Object.keys(await ns.yplookup(["red", "big"])), ["demo.a"]);
      assert.deepEqual(Object.keys(await ns.yplookup(null, ["blue", "red"])).sort(), [
        "demo.a",
        "demo.b",
        "other.c",
      ]);
      assert.deepEqual(await ns.yplookup(null, ["big"], false), {
        "demo.a": "PYRO:objA@127.0.0.1:4001",
        "demo.b": "PYRO:objB@127.0.0.1:4002",
      });
      assert.deepEqual(await ns.yplookup(["nothing"]), {});
      assert.deepEqual(await ns.yplookup(), {});

      assert.equal(await ns.set_metadata("demo.a", ["yellow"]), null);
      assert.deepEqual((await ns.lookup("demo.a", true))[1], ["yellow"]);
      await ns.set_metadata("demo.a", null);
      assert.deepEqual((await ns.lookup("demo.a", true))[1], []);

      assert.equal(await ns.remove("demo.b"), 1);
      assert.equal(await ns.remove("demo.b"), 0);
      assert.equal(await ns.remove("Pyro.NameServer"), 0);
      assert.equal(await ns.remove(null, "demo."), 1);
      assert.equal(await ns.remove(null, null, "oth.*|Pyro.*"), 1);
      assert.equal(await ns.remove(null, "Pyro."), 0);
      assert.equal(await ns.remove(""), 0);
      assert.equal(await ns.count(), 2);
    });
  });

  Deno.test(`Name server binds keyword arguments and reads flags by Python truthiness (${serializer})`, async () => {
    await withServer(serializer, async (ns) => {
      await ns._pyroCall("register", [
        "demo.svc",
        kwargs({ uri: "PYRO:svc@127.0.0.1:4010", metadata: ["worker"], safe: 1 }),
      ]);
      // Pyro5's resolve() sends its delay_time (0.0) in the return_metadata slot.
      const plain = await ns._pyroCall("lookup", ["demo.svc", 0.0]);
      assert.ok(plain instanceof URI);
      const pair = await ns._pyroCall("lookup", ["demo.svc", kwargs({ return_metadata: "yes" })]);
      assert.ok(Array.isArray(pair) && pair[0] instanceof URI);
      for (const falsy of [0, "", [], null, false]) {
        assert.ok(await ns._pyroCall("lookup", ["demo.svc", falsy]) instanceof URI);
      }
      assert.deepEqual(
        await ns._pyroCall("yplookup", [kwargs({ meta_all: ["worker"], return_metadata: 0 })]),
        { "demo.svc": "PYRO:svc@127.0.0.1:4010" },
      );
      assert.deepEqual(
        await ns._pyroCall("list", [kwargs({ prefix: "demo", return_metadata: true })]),
        { "demo.svc": ["PYRO:svc@127.0.0.1:4010", ["worker"]] },
      );
      assert.equal(await ns._pyroCall("remove", [kwargs({ regex: "demo" })]), 1);
      await assert.rejects(
        ns._pyroCall("lookup", ["x", kwargs({ name: "y" })]),
        isRemote("TypeError", /multiple values for argument 'name'/),
      );
      await assert.rejects(
        ns._pyroCall("lookup", [kwargs({ nme: "y" })]),
        isRemote("TypeError", /unexpected keyword argument 'nme'/),
      );
      await assert.rejects(ns._pyroCall("lookup", []), isRemote("TypeError", /missing 1 required/));
      await assert.rejects(
        ns._pyroCall("count", [1]),
        isRemote("TypeError", /takes 1 positional argument but 2 were given/),
      );
    });
  });

  Deno.test(`Name server refuses bad input with Pyro5's errors, stores nothing and keeps serving (${serializer})`, async () => {
    await withServer(serializer, async (ns) => {
      await ns.register("keep", "PYRO:k@127.0.0.1:1", false, ["t"]);
      const call = (method: string, ...args: unknown[]) => ns._pyroCall(method, args);
      await assert.rejects(
        ns.lookup("nosuch"),
        (e) => e instanceof NamingError && e.message === "unknown name: nosuch",
      );
      await assert.rejects(
        ns.register("keep", "PYRO:x@127.0.0.1:2", true),
        (e) => e instanceof NamingError && e.message === "name already registered: keep",
      );
      await assert.rejects(ns.set_metadata("nosuch", ["x"]), NamingError);
      await assert.rejects(
        call("register", 42, "PYRO:x@127.0.0.1:2"),
        isRemote("TypeError", /name must be a str/),
      );
      await assert.rejects(
        call("register", "bad", 42),
        isRemote("TypeError", /only URIs or strings/),
      );
      await assert.rejects(
        call("register", "bad", "nonsense"),
        (e) => e instanceof PyroError && e.message === "invalid uri",
      );
      await assert.rejects(
        call("register", "bad", "PYRO:x@127.0.0.1:2", false, "tag"),
        isRemote("TypeError", /should not be a str/),
      );
      await assert.rejects(
        call("register", "bad", "PYRO:x@127.0.0.1:2", false, [1, 2]),
        isRemote("TypeError", /only strings/),
      );
      await assert.rejects(
        call("register", "bad", "PYRO:x@127.0.0.1:2", false, { a: 1 }),
        isRemote("TypeError"),
      );
      await assert.rejects(
        call("set_metadata", "keep", [null]),
        isRemote("TypeError", /only strings/),
      );
      await assert.rejects(
        call("set_metadata", "keep", "t"),
        isRemote("TypeError", /should not be a str/),
      );
      await assert.rejects(call("yplookup", "red"), isRemote("TypeError", /should not be a str/));
      await assert.rejects(call("yplookup", [3]), isRemote("TypeError"));
      await assert.rejects(ns.list("a", "b"), isRemote("ValueError", /only filter on one thing/));
      await assert.rejects(
        ns.yplookup(["a"], ["b"]),
        isRemote("ValueError", /can't use meta_all or meta_any/),
      );
      await assert.rejects(call("list", 5), isRemote("TypeError"));
      for (
        const regex of [
          "(a",
          "[a",
          "a**",
          "\\q",
          "(a)\\1",
          "(?=x)",
          "x".repeat(5000),
          "(a{1000}){1000}",
        ]
      ) {
        await assert.rejects(
          ns.list(null, regex),
          (e) => e instanceof NamingError && e.message.startsWith("invalid regex: "),
          regex.slice(0, 20),
        );
        await assert.rejects(ns.remove(null, null, regex), NamingError);
      }
      // Patterns that make a backtracking engine take exponential time run in linear time here.
      await ns.register("a".repeat(5000) + "!", "PYRO:slow@127.0.0.1:1");
      assert.deepEqual(await ns.list(null, "(a+)+$"), {});
      assert.deepEqual(await ns.list(null, "(a|aa)*b"), {});
      assert.equal(await ns.remove(null, null, "(a*)*$"), 0);
      assert.equal(await ns.count(), 3);
      assert.deepEqual(Object.keys(await ns.list()).sort(), [
        "Pyro.NameServer",
        "a".repeat(5000) + "!",
        "keep",
      ]);
      assert.deepEqual((await ns.lookup("keep", true))[1], ["t"]);
      assert.equal(await ns.ping(), null);
    });
  });
}

Deno.test("Name server refuses an oversize message, stores nothing and keeps serving", async () => {
  await withServer("msgpack", async (ns, port) => {
    // The daemon drops a connection that announces an oversize message (as Pyro5 does).
    await assert.rejects(
      ns.register("huge", "PYRO:x@127.0.0.1:1", false, ["x".repeat(100_000)]),
      PyroError,
    );
    assert.equal(await ns.count(), 1); // the proxy reconnects
    await using again = await locateNS("127.0.0.1", port, { serializer: "msgpack" });
    assert.equal(await again.count(), 1);
    await assert.rejects(again.lookup("huge"), NamingError);
  }, { maxMessageSize: 10_000 });
});

Deno.test("Name server entry names itself and is protected from removal", async () => {
  await withServer("json", async (ns, port) => {
    const [uri, tags] = await ns.lookup("Pyro.NameServer", true);
    assert.equal(uri.toString(), `PYRO:Pyro.NameServer@127.0.0.1:${port}`);
    assert.deepEqual(tags, ["class:Pyro5.nameserver.NameServer"]);
    assert.equal(await ns.remove(null, null, ".*"), 0);
    assert.equal(await ns.remove(null, "Pyro"), 0);
    assert.equal(await ns.count(), 1);
    assert.deepEqual([...(ns._pyroMetadata?.methods ?? [])].sort(), [
      "count",
      "list",
      "lookup",
      "ping",
      "register",
      "remove",
      "set_metadata",
      "yplookup",
    ]);
  });
});

Deno.test("resolve() turns PYRONAME and PYROMETA URIs into PYRO URIs, and proxies use it", async () => {
  await withServer("msgpack", async (ns, port) => {
    await ns.register("demo.svc", "PYRO:svc@127.0.0.1:4010", false, ["worker"]);
    await ns.register("demo.other", "PYRO:other@127.0.0.1:4011", false, ["worker", "extra"]);
    const pyro = await resolve("PYRO:x@127.0.0.1:1");
    assert.equal(pyro.toString(), "PYRO:x@127.0.0.1:1");
    const named = await resolve(`PYRONAME:demo.svc@127.0.0.1:${port}`);
    assert.equal(named.toString(), "PYRO:svc@127.0.0.1:4010");
    const meta = await resolve(new URI(`PYROMETA:worker,extra@127.0.0.1:${port}`));
    assert.equal(meta.toString(), "PYRO:other@127.0.0.1:4011");
    const any = await resolve(`PYROMETA:worker@127.0.0.1:${port}`);
    assert.ok(["PYRO:svc@127.0.0.1:4010", "PYRO:other@127.0.0.1:4011"].includes(any.toString()));
    await assert.rejects(resolve(`PYRONAME:nosuch@127.0.0.1:${port}`), NamingError);
    await assert.rejects(
      resolve(`PYROMETA:nothing@127.0.0.1:${port}`),
      (e) =>
        e instanceof NamingError &&
        /no registrations available with desired metadata properties \{'nothing'\}/.test(e.message),
    );
    // A PYRONAME proxy resolves on connect: here to the name server itself.
    await using self = createProxy<NameServer>(`PYRONAME:Pyro.NameServer@127.0.0.1:${port}`);
    assert.equal(await self.count(), 3);
  });
});

Deno.test("locateNS finds the name server by broadcast on loopback, and says what it tried", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, bcPort: 0 });
  assert.ok(server.broadcast !== null);
  const bcPort = server.broadcast.port;
  // Direct discovery: the datagram and the Latin-1 reply.
  assert.equal(
    await discoverNameServer({ addresses: LOOPBACK_BROADCAST, port: bcPort }),
    server.uri.toString(),
  );
  // locate_ns without a host: the local try on bcPort fails (UDP only), broadcast answers.
  await using ns = await locateNS(null, bcPort, {
    nsHost: "127.0.0.1",
    broadcastAddrs: LOOPBACK_BROADCAST,
  });
  assert.equal(ns._pyroUri.toString(), server.uri.toString());
  assert.equal(await ns.count(), 1);
  // Nothing answers: the error lists every attempt.
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const unused = (free.addr as Deno.NetAddr).port;
  free.close();
  await assert.rejects(
    locateNS(undefined, unused, {
      nsHost: "127.0.0.1",
      nsPort: unused,
      broadcastAddrs: LOOPBACK_BROADCAST,
      broadcastTimeout: 50,
    }),
    (e) =>
      e instanceof NamingError && e.message.startsWith("Failed to locate the nameserver") &&
      e.message.includes(`127.0.0.1:${unused}`) &&
      e.message.includes("broadcast GET_NSURI to 127.255.255.255"),
  );
  await assert.rejects(
    locateNS("127.0.0.1", unused),
    (e) =>
      e instanceof NamingError && e.message.includes(`PYRO:Pyro.NameServer@127.0.0.1:${unused}`),
  );
});

// ---------------------------------------------------------------------------------------------
// Persistence across a crash.

async function spawnServer(
  db: string,
): Promise<{ child: Deno.ChildProcess; port: number; output: Promise<string> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", NAMING_TS, "-n", "127.0.0.1", "-p", "0", "-x", "-s", `sql:${db}`],
    stdout: "piped",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (let i = 0; i < 100; i++) {
    const m = /URI = PYRO:Pyro\.NameServer@127\.0\.0\.1:(\d+)/.exec(text);
    if (m) {
      const rest = (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return text;
          text += value;
        }
      })();
      return {
        child,
        port: Number(m[1]),
        output: Promise.all([rest, stderr]).then((x) => x.join("")),
      };
    }
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  await child.status;
  throw new Error(`name server did not start: ${text}${await stderr}`);
}

Deno.test("SQLite storage keeps every returned registration across kill -9, and refuses a second server", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/ns.db`;
  try {
    const first = await spawnServer(db);
    // A second name server on the same file is refused while the first runs.
    const second = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", NAMING_TS, "-n", "127.0.0.1", "-p", "0", "-x", "-s", `sql:${db}`],
      stdout: "piped",
      stderr: "piped",
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    }).output();
    assert.equal(second.code, 1);
    assert.match(new TextDecoder().decode(second.stderr), /in use by another name server/);

    const returned: string[] = [];
    const clients = await Promise.all(
      [0, 1, 2, 3].map(() => locateNS("127.0.0.1", first.port, { serializer: "msgpack" })),
    );
    let killed = false;
    const workers = clients.map(async (ns, w) => {
      for (let i = 0; i < 200; i++) {
        const name = `crash.${w}.${i}`;
        try {
          await ns.register(name, `PYRO:obj${i}@127.0.0.1:${4000 + w}`, false, [`w${w}`]);
          returned.push(name);
        } catch {
          assert.ok(killed, "a registration failed before the server was killed");
          return;
        }
        if (returned.length === 150 && !killed) {
          killed = true;
          first.child.kill("SIGKILL");
        }
      }
    });
    await Promise.all(workers);
    for (const ns of clients) await ns._pyroRelease();
    assert.ok(killed);
    await first.child.status;
    await first.output;

    const restarted = await spawnServer(db);
    try {
      await using ns = await locateNS("127.0.0.1", restarted.port, { serializer: "json" });
      const names = await ns.list("crash.");
      for (const name of returned) assert.ok(name in names, `${name} was lost`);
      assert.equal(await ns.count(), Object.keys(names).length + 1);
      const [uri] = await ns.lookup(returned[0]!, true);
      assert.match(uri.toString(), /^PYRO:obj\d+@127\.0\.0\.1:400\d$/);
      assert.equal(
        (await ns.lookup("Pyro.NameServer")).toString(),
        `PYRO:Pyro.NameServer@127.0.0.1:${restarted.port}`,
      );
    } finally {
      restarted.child.kill("SIGTERM");
      await restarted.child.status;
      await restarted.output;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Autoclean removes names whose server stays unreachable, and keeps live ones", async () => {
  const { startAutoclean } = await import("../_naming/autoclean.ts");
  const { NameServer: NameServerObject } = await import("../naming.ts");
  const live = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close();
  const ns = new NameServerObject();
  ns.register("Pyro.NameServer", `PYRO:Pyro.NameServer@127.0.0.1:${deadPort}`);
  ns.register("live", `PYRO:x@127.0.0.1:${(live.addr as Deno.NetAddr).port}`);
  ns.register("dead", `PYRO:x@127.0.0.1:${deadPort}`);
  ns.register("named", "PYRONAME:elsewhere");
  assert.throws(() => startAutoclean(ns, { period: 1000 }), RangeError);
  const sweeps: string[][] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const cleaner = startAutoclean(ns, {
    period: 10,
    unreachableAfter: 0,
    allowShortPeriod: true,
    onSweep: (removed) => {
      sweeps.push(removed);
      if (sweeps.length === 2) done();
    },
  });
  const accepting = (async () => {
    for await (const conn of live) conn.close();
  })();
  await finished;
  await cleaner.stop();
  live.close();
  await accepting;
  assert.deepEqual(sweeps[0], ["dead"]);
  assert.deepEqual(Object.keys(await ns.list()).sort(), ["Pyro.NameServer", "live", "named"]);
});

Deno.test("A PYRONAME proxy resolves again when it reconnects, and so follows a server that moved", async () => {
  const { Daemon } = await import("../daemon.ts");
  const { expose } = await import("../expose.ts");
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const port = server.uri.port!;
  const first = new Daemon({ host: "127.0.0.1", port: 0 });
  server.nameServer.register(
    "demo.moving",
    first.register(expose({ where: () => "first" }), "svc"),
  );
  await using proxy = createProxy<{ where(): string }>(`PYRONAME:demo.moving@127.0.0.1:${port}`, {
    serializer: "msgpack",
    maxRetries: 1,
  });
  assert.equal(await proxy.where(), "first");
  await first.close();
  await using second = new Daemon({ host: "127.0.0.1", port: 0 });
  server.nameServer.register(
    "demo.moving",
    second.register(expose({ where: () => "second" }), "svc"),
  );
  assert.equal(await proxy.where(), "second");
  assert.equal(proxy._pyroUri.toString(), `PYRONAME:demo.moving@127.0.0.1:${port}`);
});

Deno.test("resolve() retries a failed lookup within lookupDelay (NS_LOOKUP_DELAY)", async () => {
  const { MemoryStorage } = await import("../_naming/memory.ts");
  let misses = 0;
  class LateStorage extends MemoryStorage {
    override lookup(name: string) {
      const found = super.lookup(name);
      // The name appears right after the first failed lookup.
      if (!found && name === "demo.late" && misses++ === 0) {
        this.register("demo.late", "PYRO:late@127.0.0.1:4020", null, false);
      }
      return found;
    }
  }
  await using server = await startNameServer({
    host: "127.0.0.1",
    port: 0,
    broadcast: false,
    storage: new LateStorage(),
  });
  const uri = `PYRONAME:demo.late@127.0.0.1:${server.uri.port}`;
  assert.equal((await resolve(uri, { lookupDelay: 5000 })).toString(), "PYRO:late@127.0.0.1:4020");
  assert.equal(misses, 1);
  await assert.rejects(resolve(`PYRONAME:demo.never@127.0.0.1:${server.uri.port}`), NamingError);
});

Deno.test("Name server lookups answer with a frozen URI, and with the new one after re-registration", async () => {
  const ns = new NameServerObject();
  await ns.register("demo.a", "PYRO:one@127.0.0.1:4001");
  const first = ns.lookup("demo.a");
  assert.ok(first instanceof Promise); // in-process callers always get a promise
  const uri = await first;
  assert.ok(Object.isFrozen(uri));
  assert.equal(String(uri), "PYRO:one@127.0.0.1:4001");
  await assert.rejects(ns.lookup(42 as unknown as string), TypeError);
  await assert.rejects(ns.lookup("demo.none"), NamingError);
  await ns.register("demo.a", "PYRO:two@127.0.0.1:4002");
  assert.equal(String(await ns.lookup("demo.a")), "PYRO:two@127.0.0.1:4002");
  const [again, tags] = await ns.lookup("demo.a", true);
  assert.equal(String(again), "PYRO:two@127.0.0.1:4002");
  assert.deepEqual([...tags], []);
});
