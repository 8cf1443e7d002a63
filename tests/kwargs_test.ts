/**
 * Keyword arguments reach TypeScript methods by parameter name, as Python binds them: the names
 * come from the method's own parameter list (or the `params` register option), a `kwargs`
 * parameter collects the rest, a rest parameter gets the Kwargs object, and mistakes give
 * Python's TypeError texts. With `PYRO5_PYTHONPATH`, a Python client gets the same answers from
 * our echo server and Name Server as from Python's.
 */

import assert from "node:assert/strict";
import { Daemon } from "../daemon.ts";
import { expose, isKwargs } from "../expose.ts";
import { createProxy, kwargs } from "../proxy.ts";
import { RemoteError } from "../errors.ts";
import { startEchoServer } from "../cli/echoserver.ts";
import { bindKeywords, declaredParams, KWARGS_OBJECT, paramsOf } from "../_daemon/params.ts";
import { runPython, skipPython, startPython } from "./_python.ts";

Deno.test("Parameter names are read from plain, default, destructured and arrow parameter lists", () => {
  const names = (fn: (...args: never[]) => unknown) => {
    const p = paramsOf(fn);
    return p.takesKwargsObject
      ? "kwargs object"
      : p.names.map((n, i) => (p.defaults[i] ? `${n}=` : n));
  };
  assert.deepEqual(
    names(function f(a: number, b = 2) {
      return a + b;
    }),
    ["a", "b="],
  );
  assert.deepEqual(names((x: string) => x), ["x"]);
  assert.deepEqual(names(async (x: string, y = "a,(b)") => await Promise.resolve(x + y)), [
    "x",
    "y=",
  ]);
  assert.deepEqual(
    names(({ a }: { a: number }, [b]: number[], c = { d: [1, 2] }) => a + b! + c.d[0]!),
    [
      null,
      null,
      "c=",
    ],
  );
  // deno-fmt-ignore
  assert.deepEqual(names(function (/* a, b */ first /* , c */, second = `x${"}"}),`) {
    return [first, second];
  }), ["first", "second="]);
  assert.deepEqual(
    names(function* gen(n: number) {
      yield n;
    }),
    ["n"],
  );
  class C {
    m(a: number, kwargs: Record<string, unknown> = {}) {
      return [a, kwargs];
    }
  }
  assert.equal(paramsOf(C.prototype.m).collector, 1);
  assert.equal(names((...args: unknown[]) => args), "kwargs object");
  assert.equal(names(Math.max), "kwargs object");
  assert.equal(names(C.prototype.m.bind(new C())), "kwargs object");
  assert.equal(paramsOf(C.prototype.m), paramsOf(C.prototype.m), "cached");
});

Deno.test("Keyword binding gives Python's TypeError texts", () => {
  const p = declaredParams(["message", "count="]);
  assert.deepEqual(bindKeywords(p, "Echo.echo", [], { message: "hi" }), ["hi"]);
  assert.deepEqual(bindKeywords(p, "Echo.echo", [], { count: 2, message: "hi" }), ["hi", 2]);
  const fails = (args: unknown[], kw: Record<string, unknown>, message: string) =>
    assert.throws(() => bindKeywords(p, "Echo.echo", args, kw), { name: "TypeError", message });
  fails([], { x: 1 }, "Echo.echo() got an unexpected keyword argument 'x'");
  fails(["a"], { message: 1 }, "Echo.echo() got multiple values for argument 'message'");
  fails([], { count: 1 }, "Echo.echo() missing 1 required positional argument: 'message'");
  fails([1, 2, 3], {}, "Echo.echo() takes from 2 to 3 positional arguments but 4 were given");
  fails([], {}, "Echo.echo() missing 1 required positional argument: 'message'");
  assert.deepEqual(bindKeywords(p, "Echo.echo", ["hi"], {}), ["hi"]);
  const three = declaredParams(["a", "b", "c", "d"]);
  assert.throws(() => bindKeywords(three, "f", [], { d: 1 }), {
    message: "f() missing 3 required positional arguments: 'a', 'b', and 'c'",
  });
  const collecting = declaredParams(["a", "**extra"]);
  const [a, extra] = bindKeywords(collecting, "f", [], { a: 1, z: 2 });
  assert.equal(a, 1);
  assert.ok(isKwargs(extra));
  assert.deepEqual({ ...extra }, { z: 2 });
  const objectCall = bindKeywords(KWARGS_OBJECT, "f", [1], { b: 2 });
  assert.equal(objectCall[0], 1);
  assert.ok(isKwargs(objectCall[1]));
});

@expose
class Service {
  greet(name: string, greeting = "Hello"): string {
    return `${greeting}, ${name}`;
  }
  collect(a: number, kwargs: Record<string, unknown> = {}): unknown {
    return { a, extra: { ...kwargs } };
  }
  raw(...args: unknown[]): unknown {
    const last = args.at(-1);
    return isKwargs(last) ? { positional: args.slice(0, -1), keywords: { ...last } } : args;
  }
}

Deno.test("A TypeScript daemon binds keyword arguments to parameters by name", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(new Service());
  const bound = expose({ run: ((...args: unknown[]) => args).bind(null) });
  const declared = daemon.register(bound, { params: { run: ["first", "second="] } });
  await using p = createProxy<{
    greet(...a: unknown[]): string;
    collect(...a: unknown[]): unknown;
    raw(...a: unknown[]): unknown;
  }>(uri);
  assert.equal(await p.greet(kwargs({ name: "Ann" })), "Hello, Ann");
  assert.equal(await p.greet("Bo", kwargs({ greeting: "Hi" })), "Hi, Bo");
  assert.equal(await p.greet(kwargs({ greeting: "Hey", name: "Cy" })), "Hey, Cy");
  assert.deepEqual(await p.collect(1, kwargs({ x: 2 })), { a: 1, extra: { x: 2 } });
  assert.deepEqual(await p.raw(1, kwargs({ x: 2 })), { positional: [1], keywords: { x: 2 } });
  await assert.rejects(p.greet(kwargs({ nam: "x" })), (e: unknown) => {
    assert.ok(e instanceof RemoteError && e.remoteClass === "builtins.TypeError");
    assert.equal(e.message, "Service.greet() got an unexpected keyword argument 'nam'");
    return true;
  });
  await using d = createProxy<{ run(...a: unknown[]): unknown[] }>(declared);
  assert.deepEqual(await d.run(kwargs({ second: 2, first: 1 })), [1, 2]);
  assert.throws(
    () => daemon.register(bound, { id: "x", force: true, params: { nope: ["a"] } }),
    TypeError,
  );
});

const PYTHON_ECHO = `
import Pyro5.api
from Pyro5.utils.echoserver import EchoServer
daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
print(daemon.register(EchoServer(), "test.echoserver"), flush=True)
daemon.requestLoop()
`;

/** The same calls to an echo server from a Python client; prints one line per call. */
function pythonClient(uri: string, serializer: string): string {
  return `
import Pyro5.api, Pyro5.errors
Pyro5.config.SERIALIZER = "${serializer}"
p = Pyro5.api.Proxy("${uri}")
def show(f):
    try:
        print(repr(f()))
    except Exception as x:
        print(type(x).__name__, str(x).replace("EchoServer.", ""))
show(lambda: p.echo("pos"))
show(lambda: p.echo(message="kw"))
show(lambda: p.echo(message=[1, 2]))
show(lambda: p.echo(msg="x"))
show(lambda: p.echo("a", message="b"))
show(lambda: p.echo("a", "b"))
show(lambda: p.oneway_echo(message="x"))
show(lambda: p.echo())
show(lambda: p.error(1))
show(lambda: p.echo(1, 2, message=3))
`;
}

Deno.test({
  name: "A Python client gets the same answers from our echo server as from Pyro5's",
  ignore: skipPython(),
  fn: async () => {
    await using python = await startPython(PYTHON_ECHO);
    await using ours = await startEchoServer({ host: "127.0.0.1", quiet: true });
    for (const serializer of ["serpent", "json", "msgpack"]) {
      const expected = await runPython(pythonClient(python.firstLine, serializer));
      const got = await runPython(pythonClient(String(ours.uri), serializer));
      // The echo server declares its Python signatures, so every call is checked as in Pyro5.
      assert.equal(got, expected, serializer);
      assert.match(expected, /^'kw'$/m);
    }
  },
});
