/**
 * Pyro5's daemon hooks and extras: clientDisconnect, the method-call error handler,
 * housekeeping, proxyFor, resetMetadataCache, register with force, shutdown, and `@callback`.
 * Also the proxy controls Pyro5 has: _pyroReconnect, _pyroLocalSocket, _pyroGetMetadata and
 * _pyroSeq.
 */

import assert from "node:assert/strict";
import { type ConnectionInfo, Daemon, type MethodCallErrorInfo } from "../daemon.ts";
import { callback, expose, isCallbackMark } from "../expose.ts";
import { createBatch, createProxy } from "../proxy.ts";
import { ConnectionClosedError, DaemonError, RemoteError } from "../errors.ts";
import { setLogSink } from "../log.ts";
import { skipPython, startPython } from "./_python.ts";

const service = expose({
  ok: () => "ok",
  fail: () => {
    throw new RangeError("bad range");
  },
  failLater: async () => {
    await Promise.resolve();
    throw new Error("later");
  },
});

Deno.test("clientDisconnect runs when a client's connection ends (option and subclass)", async () => {
  const gone = Promise.withResolvers<ConnectionInfo>();
  await using daemon = new Daemon({ host: "127.0.0.1", clientDisconnect: gone.resolve });
  const uri = daemon.register(service);
  const p = createProxy<typeof service>(uri);
  assert.equal(await p.ok(), "ok");
  await p._pyroRelease();
  const info = await gone.promise;
  assert.match(info.remoteAddress ?? "", /^127\.0\.0\.1:\d+$/);

  const seen = Promise.withResolvers<number>();
  class Counting extends Daemon {
    override clientDisconnect(connection: ConnectionInfo): void {
      seen.resolve(connection.id);
    }
  }
  await using counting = new Counting({ host: "127.0.0.1" });
  const q = createProxy<typeof service>(counting.register(service));
  await q.ok();
  await q._pyroRelease();
  assert.equal(typeof await seen.promise, "number");
});

Deno.test("The method-call error handler sees every exception a method raises", async () => {
  const seen: MethodCallErrorInfo[] = [];
  await using daemon = new Daemon({
    host: "127.0.0.1",
    methodCallErrorHandler: (info) => seen.push(info),
  });
  const uri = daemon.register(service, "svc");
  await using p = createProxy<typeof service>(uri);
  await assert.rejects(p.fail(), RemoteError);
  await assert.rejects(p.failLater(), RemoteError);
  await assert.rejects(p._pyroCall("nosuch"), RemoteError); // not a method error: not reported
  const batch = createBatch(p);
  batch.ok();
  batch.fail();
  await batch._pyroRunSettled();
  assert.deepEqual(seen.map((i) => [i.objectId, i.method, (i.error as Error).message]), [
    ["svc", "fail", "bad range"],
    ["svc", "failLater", "later"],
    ["svc", "fail", "bad range"],
  ]);
  assert.match(seen[0]!.context.clientAddress ?? "", /^127\.0\.0\.1:/);
  // Assignable, as Pyro5's daemon.methodcall_error_handler is.
  let replaced = 0;
  daemon.methodCallErrorHandler = () => replaced++;
  await assert.rejects(p.fail(), RemoteError);
  assert.equal(replaced, 1);
});

Deno.test("Housekeeping runs on its schedule until the daemon closes", async () => {
  let runs = 0;
  const twice = Promise.withResolvers<void>();
  const daemon = new Daemon({
    host: "127.0.0.1",
    housekeepingInterval: 5,
    housekeeping: () => {
      if (++runs === 2) twice.resolve();
    },
  });
  await twice.promise;
  await daemon.shutdown();
  const after = runs;
  daemon.housekeeping(); // callable directly; the schedule is gone
  assert.equal(runs, after + 1);
});

Deno.test("proxyFor gives a proxy with known metadata; resetMetadataCache re-reads members", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const thing: Record<string, unknown> = expose({ a: () => 1 });
  daemon.register(thing, "thing");
  await using p = daemon.proxyFor<{ a(): number }>(thing);
  assert.deepEqual(p._pyroMetadata?.methods, ["a"]);
  assert.equal(p._pyroConnected, false);
  assert.equal(await p.a(), 1);
  thing.b = expose(() => 2);
  assert.deepEqual(daemon.proxyFor("thing")._pyroMetadata?.methods, ["a"]);
  daemon.resetMetadataCache(thing);
  assert.deepEqual(daemon.proxyFor("thing")._pyroMetadata?.methods, ["a", "b"]);
  assert.throws(() => daemon.proxyFor("nosuch"), DaemonError);
});

Deno.test("register with force replaces an id and re-registers an object, as Pyro5", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const one = expose({ who: () => "one" });
  const two = expose({ who: () => "two" });
  daemon.register(one, "x");
  assert.throws(() => daemon.register(two, "x"), DaemonError);
  assert.throws(() => daemon.register(one, "y"), DaemonError);
  daemon.register(two, { id: "x", force: true });
  await using p = createProxy<{ who(): string }>(daemon.uriFor("x"));
  assert.equal(await p.who(), "two");
  daemon.register(two, { id: "z", force: true });
  assert.equal(daemon.uriFor(two).object, "z");
  assert.throws(() => daemon.register(two, { id: "Pyro.Daemon", force: true }), DaemonError);
});

@expose
class Listener {
  @callback
  notify(event: string): string {
    if (event === "") throw new RangeError("empty event");
    return `got ${event}`;
  }
}

Deno.test("An error in a @callback method reaches the caller and is raised on the callback side", async () => {
  assert.ok(isCallbackMark(Listener.prototype.notify));
  const logged: string[] = [];
  const previous = setLogSink((level, message) => logged.push(`${level}: ${message}`));
  try {
    const gone = Promise.withResolvers<void>();
    await using daemon = new Daemon({ host: "127.0.0.1", clientDisconnect: () => gone.resolve() });
    await using p = createProxy<Listener>(daemon.register(new Listener()));
    assert.equal(await p.notify("x"), "got x");
    await assert.rejects(p.notify(""), (e: unknown) => {
      assert.ok(e instanceof RemoteError && e.remoteClass === "builtins.ValueError");
      return true;
    });
    await gone.promise; // the callback side ended the connection, as Pyro5's does
    assert.ok(logged.some((l) => /error in callback method 'notify'.*empty event/s.test(l)));
    assert.equal(await p.notify("again"), "got again", "the next call reconnects");
  } finally {
    setLogSink(previous);
  }
});

Deno.test("_pyroReconnect reconnects to a restarted daemon and gives up after its tries", async () => {
  const first = new Daemon({ host: "127.0.0.1" });
  const uri = first.register(service, "svc");
  await using p = createProxy<typeof service>(uri);
  await p._pyroBind();
  const local = p._pyroLocalSocket as Deno.NetAddr;
  assert.equal(local.hostname, "127.0.0.1");
  assert.notEqual(local.port, uri.port);
  await first.close();
  await using second = new Daemon({ host: "127.0.0.1", port: uri.port! });
  second.register(service, "svc");
  await p._pyroReconnect(3, { delay: 0 });
  assert.equal(p._pyroConnected, true);
  assert.equal(await p.ok(), "ok");
  const seq = p._pyroSeq;
  await p.ok();
  assert.equal(p._pyroSeq, (seq + 1) & 0xffff);
  await second.close();
  await assert.rejects(p._pyroReconnect(2, { delay: 0 }), (e: unknown) => {
    assert.ok(e instanceof ConnectionClosedError);
    assert.equal(e.message, "failed to reconnect");
    return true;
  });
  assert.equal(p._pyroLocalSocket, null);
});

Deno.test("_pyroGetMetadata asks the daemon, or takes known metadata", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(service, "svc");
  daemon.register(expose({ other: () => 1 }), "other");
  await using p = createProxy(uri);
  assert.deepEqual((await p._pyroGetMetadata())?.methods, ["ok", "fail", "failLater"]);
  assert.deepEqual((await p._pyroGetMetadata("other"))?.methods, ["other"]);
  const known = { methods: ["x"], oneway: [], attrs: [] };
  assert.deepEqual((await p._pyroGetMetadata(undefined, known))?.methods, ["x"]);
});

const PYTHON_CALLER = `
import Pyro5.api
@Pyro5.api.expose
class Caller:
    def call_me(self, cb, x):
        return cb.notify(x)
daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
print(daemon.register(Caller, "caller"), flush=True)
daemon.requestLoop()
`;

Deno.test({
  name: "A Python server calling a failing @callback gets the error, and our side raises it too",
  ignore: skipPython(),
  fn: async () => {
    await using python = await startPython(PYTHON_CALLER);
    const logged: string[] = [];
    const previous = setLogSink((level, message) => logged.push(`${level}: ${message}`));
    try {
      const gone = Promise.withResolvers<void>();
      await using daemon = new Daemon({
        host: "127.0.0.1",
        clientDisconnect: () => gone.resolve(),
      });
      const listener = new Listener();
      daemon.register(listener);
      await using caller = createProxy<{ call_me(cb: Listener, x: string): string }>(
        python.firstLine,
        { serializer: "serpent" },
      );
      assert.equal(await caller.call_me(listener, "x"), "got x");
      await assert.rejects(caller.call_me(listener, ""), (e: unknown) => {
        assert.ok(e instanceof RemoteError && e.remoteClass === "builtins.ValueError");
        return true;
      });
      await gone.promise;
      assert.ok(logged.some((l) => /error in callback method 'notify'/.test(l)));
    } finally {
      setLogSink(previous);
    }
  },
});
