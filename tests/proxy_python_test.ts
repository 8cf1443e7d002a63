/**
 * Our proxy against a real Python Pyro5 daemon, with every serializer. Opt-in: runs only when
 * `PYRO5_PYTHONPATH` names a directory holding the `Pyro5` package (for example
 * `PYRO5_PYTHONPATH=/path/to/Pyro5-source`); CI skips it.
 */

import { readLine } from "./_python.ts";
import assert from "node:assert/strict";
import { Daemon } from "../daemon.ts";
import { RemoteError } from "../errors.ts";
import { expose } from "../expose.ts";
import { createBatch, createProxy, isProxy, kwargs, type Proxy } from "../proxy.ts";
import { hasSerializer } from "../serializer.ts";

const PYTHONPATH = (() => {
  try {
    return Deno.env.get("PYRO5_PYTHONPATH");
  } catch {
    return undefined;
  }
})();

const SERVER = String.raw`
import sys
import Pyro5.api
from Pyro5 import config
config.SERVERTYPE = "thread"

@Pyro5.api.expose
class Other:
    def add(self, a, b):
        return a + b

@Pyro5.api.expose
class Thing:
    def __init__(self):
        self._value = 42
        self._fired = []
    def echo(self, x):
        return x
    def kw(self, a, b=2, **extra):
        return {"a": a, "b": b, "extra": extra}
    def fail(self):
        raise ValueError("invalid value: 42")
    def gen(self, n):
        for i in range(n):
            yield i
    @Pyro5.api.oneway
    def fire(self, x):
        self._fired.append(x)
    def fired(self):
        return self._fired
    @property
    def value(self):
        return self._value
    @value.setter
    def value(self, v):
        self._value = v
    def get_other(self):
        return other
    def call_me(self, cb, x):
        return cb.notify(x)

daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
other = Other()
daemon.register(other, "other")
print(daemon.register(Thing, "thing"), flush=True)
daemon.requestLoop()
`;

interface PyThing {
  echo<T>(x: T): T;
  kw(a: number, b?: number): Record<string, unknown>;
  fail(): never;
  gen(n: number): Generator<number>;
  fire(x: unknown): void;
  fired(): unknown[];
  value: unknown;
  get_other(): Proxy<{ add(a: number, b: number): number }>;
  call_me(cb: unknown, x: number): string;
}

Deno.test({
  name: "Proxy calls a Python Pyro5 daemon with every serializer",
  ignore: PYTHONPATH === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/server.py`, SERVER);
    const child = new Deno.Command("/usr/bin/python3", {
      args: [`${dir}/server.py`],
      env: { PYTHONPATH: PYTHONPATH!, PYRO_BROADCAST_ADDRS: "127.255.255.255" },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const uri = await readLine(child.stdout);
      assert.match(uri, /^PYRO:thing@127\.0\.0\.1:\d+$/);
      const serializers = ["msgpack", "json", ...(hasSerializer("serpent") ? ["serpent"] : [])];
      for (const serializer of serializers) {
        await using p = createProxy<PyThing>(uri, { serializer });
        assert.deepEqual(await p.echo([1, "two", 2n ** 64n]), [1, "two", 2n ** 64n]);
        assert.deepEqual(await p.kw(1, kwargs({ c: 3 })), { a: 1, b: 2, extra: { c: 3 } });
        await assert.rejects(p.fail(), (e: unknown) => {
          assert.ok(e instanceof RemoteError && e.remoteClass === "builtins.ValueError");
          assert.ok(e.remoteTraceback && e.remoteTraceback.length > 0);
          return true;
        });
        const items: number[] = [];
        for await (const i of await p.gen(3)) items.push(i);
        assert.deepEqual(items, [0, 1, 2]);
        for await (const i of await p.gen(10)) if (i === 1) break;
        await p.fire("x");
        assert.deepEqual(await p.fired(), ["x"]);
        await p._pyroSet("value", 7);
        assert.equal(await p._pyroGet("value"), 7);
        const b = createBatch(p);
        b.echo(1);
        b.fail();
        b.echo(3);
        assert.deepEqual((await b._pyroRunSettled()).map((r) => r.status), [
          "fulfilled",
          "rejected",
        ]);
        const other = await p.get_other();
        assert.ok(isProxy(other));
        assert.equal(await other.add(2, 3), 5);
        await other._pyroRelease();
        await using callbacks = new Daemon({ host: "127.0.0.1" });
        const listener = expose({ notify: (x: number) => `got ${x}` });
        callbacks.register(listener, "listener");
        assert.equal(await p.call_me(listener, 5), "got 5");
        const n = Array.from({ length: 20 }, (_, i) => i);
        assert.deepEqual(await Promise.all(n.map((i) => p.echo(i))), n);
      }
    } finally {
      child.kill();
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
