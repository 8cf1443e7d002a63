import assert from "node:assert/strict";
import {
  getSerializer,
  hasSerializer,
  registerSerializer,
  type Serializer,
} from "../serializer.ts";
import {
  AUTOPROXY,
  ExceptionWrapper,
  NOT_SPECIAL,
  registerClassToDict,
  registerDictToClass,
  replaceSpecial,
  reviveDict,
  unregisterClassToDict,
  unregisterDictToClass,
} from "../class_registry.ts";
import { NamingError, RemoteError, SerializeError } from "../errors.ts";
import { URI } from "../uri.ts";
import { Complex, isTuple, tuple } from "../value.ts";

const BOTH = ["json", "msgpack"] as const;

Deno.test("Serializer registry finds json and msgpack by id and by name", () => {
  assert.equal(getSerializer(3).name, "json");
  assert.equal(getSerializer("json").id, 3);
  assert.equal(getSerializer(4).name, "msgpack");
  assert.equal(getSerializer("msgpack").id, 4);
  assert.equal(getSerializer(1).name, "serpent");
  assert.equal(getSerializer("serpent").id, 1);
  assert.ok(hasSerializer(3) && hasSerializer("msgpack"));
  assert.ok(!hasSerializer(2) && !hasSerializer("marshal") && !hasSerializer(0));
  assert.throws(() => getSerializer(2), SerializeError);
  assert.throws(() => getSerializer("pickle"), /unknown serializer: 'pickle'/);
});

Deno.test("Serializer registry accepts an added serializer under a new id", () => {
  const fake: Serializer = {
    id: 99,
    name: "fake99",
    dumps: () => new Uint8Array(),
    loads: () => null,
    dumpsCall: () => new Uint8Array(),
    loadsCall: () => ({ object: "", method: "", params: [], kwargs: null }),
  };
  registerSerializer(fake);
  assert.equal(getSerializer(99), fake);
  assert.equal(getSerializer("fake99"), fake);
});

Deno.test("Codecs send a registered class through its hook and read it back through the other", () => {
  class Point {
    constructor(readonly x: number, readonly y: number) {}
  }
  class Point3 extends Point {
    z = 0;
  }
  registerClassToDict(Point, (p) => ({ x: p.x, y: p.y }), { className: "geo.Point" });
  registerDictToClass("geo.Point", (_n, d) => new Point(d.x as number, d.y as number));
  try {
    for (const name of BOTH) {
      const s = getSerializer(name);
      const back = s.loads(s.dumps({ p: [new Point(1, 2), new Point3(3, 4)] })) as { p: Point[] };
      assert.ok(back.p[0] instanceof Point, name);
      assert.deepEqual([back.p[0]!.x, back.p[1]!.y], [1, 4]);
    }
    assert.deepEqual(replaceSpecial(new Point(1, 2), "json"), {
      x: 1,
      y: 2,
      __class__: "geo.Point",
    });
  } finally {
    unregisterClassToDict(Point);
    unregisterDictToClass("geo.Point");
  }
  assert.deepEqual(getSerializer("json").loads(getSerializer("json").dumps(new Point(1, 2))), {
    x: 1,
    y: 2,
  });
});

Deno.test("A failing class hook gives a SerializeError", () => {
  class Broken {}
  registerClassToDict(Broken, () => {
    throw new Error("nope");
  });
  try {
    for (const name of BOTH) {
      assert.throws(() => getSerializer(name).dumps([new Broken()]), SerializeError);
    }
  } finally {
    unregisterClassToDict(Broken);
  }
  registerDictToClass("demo.Bad", () => {
    throw new TypeError("bad map");
  });
  try {
    for (const name of BOTH) {
      const s = getSerializer(name);
      assert.throws(() => s.loads(s.dumps({ __class__: "demo.Bad" })), SerializeError);
    }
  } finally {
    unregisterDictToClass("demo.Bad");
  }
});

Deno.test("Autoproxy replaces a served object using the serializer's name", () => {
  const served = {
    name: "hidden",
    [AUTOPROXY](serializer: string) {
      return {
        __class__: "Pyro5.client.Proxy",
        state: ["PYRO:obj@h:1", [], [], [], "hello", serializer],
      };
    },
  };
  for (const name of BOTH) {
    const s = getSerializer(name);
    assert.deepEqual(s.loads(s.dumps([served])), [
      { __class__: "Pyro5.client.Proxy", state: ["PYRO:obj@h:1", [], [], [], "hello", name] },
    ]);
  }
});

Deno.test("URIs, errors and exception wrappers survive every codec", () => {
  for (const name of BOTH) {
    const s = getSerializer(name);
    const v = s.loads(s.dumps({
      uri: new URI("PYRONAME:demo.svc@localhost:9090"),
      err: new NamingError("unknown name: x"),
      remote: new RemoteError("builtins.ValueError", ["bad", 7], { code: 3 }, ["tb\n"]),
      wrapped: new ExceptionWrapper(new TypeError("wrong")),
    })) as Record<string, unknown>;
    assert.ok(v.uri instanceof URI && v.uri.equals("PYRONAME:demo.svc@localhost:9090"));
    assert.ok(v.err instanceof NamingError && v.err.message === "unknown name: x");
    assert.ok(v.remote instanceof RemoteError);
    assert.deepEqual(v.remote.args, ["bad", 7]);
    assert.deepEqual(v.remote.attributes, { code: 3 });
    assert.ok(v.wrapped instanceof ExceptionWrapper && v.wrapped.error instanceof RemoteError);
    assert.equal(v.wrapped.error.remoteClass, "builtins.TypeError");
    assert.throws(() => (v.wrapped as ExceptionWrapper).raiseIfError(), RemoteError);
  }
});

Deno.test("reviveDict leaves unknown classes as plain records and rejects malformed known ones", () => {
  const rec = { __class__: "mymod.Thing", a: 1 };
  assert.equal(reviveDict(rec), rec);
  assert.throws(() => reviveDict({ __class__: "Pyro5.core.URI", state: "nope" }), SerializeError);
  assert.throws(
    () => reviveDict({ __class__: "Pyro5.core._ExceptionWrapper", exception: 1 }),
    SerializeError,
  );
  assert.equal(replaceSpecial(new Map(), "json"), NOT_SPECIAL);
  assert.equal(replaceSpecial({}, "json"), NOT_SPECIAL);
});

Deno.test("Every codec refuses functions and symbols with Pyro5's message", () => {
  for (const name of BOTH) {
    const s = getSerializer(name);
    assert.throws(() => s.dumps(function f() {}), new RegExp(`using serializer ${name}`));
    assert.throws(() => s.dumps([Symbol("x")]), SerializeError);
    assert.throws(
      () => s.dumpsCall({ object: "o", method: "m", params: [() => 1], kwargs: null }),
      SerializeError,
    );
  }
});

Deno.test("Tuples are marked arrays and Complex prints like Python", () => {
  const t = tuple(1, "a");
  assert.ok(isTuple(t) && !isTuple([1, "a"]));
  assert.deepEqual(Object.keys(t), ["0", "1"]);
  assert.equal(new Complex(1, -2).toString(), "(1-2j)");
  assert.equal(new Complex(0, 2).toString(), "2j");
  assert.ok(new Complex(NaN, 1).equals(new Complex(NaN, 1)));
  for (const name of BOTH) {
    const s = getSerializer(name);
    assert.deepEqual(s.loads(s.dumps(tuple(1, 2))), [1, 2]);
  }
});

Deno.test("Decoded data can never pollute prototypes", () => {
  for (const name of BOTH) {
    const s = getSerializer(name);
    const evil = name === "json"
      ? new TextEncoder().encode('{"__proto__": {"polluted": true}}')
      : Uint8Array.from([0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x80]);
    assert.throws(() => s.loads(evil), SerializeError);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  }
});

Deno.test("A serializer of the user's encodes calls from exactly the four call fields", async () => {
  const { Daemon } = await import("../daemon.ts");
  const { createProxy } = await import("../proxy.ts");
  const { expose } = await import("../expose.ts");
  const json = getSerializer("json");
  const seen: string[][] = [];
  registerSerializer({
    id: 98,
    name: "plainjson98",
    dumps: (v) => json.dumps(v),
    loads: (d) => json.loads(d),
    dumpsCall: (call) => {
      seen.push(Object.keys(call));
      return json.dumpsCall(call);
    },
    loadsCall: (d) => json.loadsCall(d),
  });
  @expose
  class Echo {
    echo(x: unknown) {
      return x;
    }
  }
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = daemon.register(new Echo());
  await using proxy = createProxy<Echo>(uri, { serializer: "plainjson98" });
  assert.equal(await proxy.echo("hi"), "hi");
  assert.ok(seen.length > 0);
  for (const keys of seen) assert.deepEqual(keys.sort(), ["kwargs", "method", "object", "params"]);
});

Deno.test("Every codec reads a million lists in one payload and refuses more", () => {
  for (const name of ["serpent", "json", "msgpack"]) {
    const s = getSerializer(name);
    const fits = Array.from({ length: 999_999 }, () => []); // and the list around them
    assert.equal((s.loads(s.dumps(fits)) as unknown[]).length, 999_999, name);
    fits.push([]);
    assert.throws(() => s.loads(s.dumps(fits)), /more than 1000000 lists/, name);
  }
});

Deno.test("Codecs refuse a megabyte-long number quickly and read escapes by the million", () => {
  const enc = new TextEncoder();
  const digits = "9".repeat(1 << 20);
  assert.throws(() => getSerializer("serpent").loads(enc.encode(digits)), /too long/);
  assert.throws(() => getSerializer("json").loads(enc.encode(digits)), /more than 10000 digits/);
  assert.equal(
    String((getSerializer("json").loads(enc.encode(`[${"9".repeat(4000)}]`)) as unknown[])[0])
      .length,
    4000,
  );
  const escaped = `'${"\\x41\\u00e9\\U0001F600".repeat(100_000)}'`;
  const text = getSerializer("serpent").loads(enc.encode(escaped)) as string;
  assert.equal(text, "A\u00e9\u{1F600}".repeat(100_000));
});
