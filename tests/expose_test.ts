/**
 * Exposure rules: the decorators, the plain-object form, explicit lists, Pyro5's private-name
 * rule, and a corpus of hostile names sent over the wire that must never reach anything.
 */

import assert from "node:assert/strict";
import { Daemon } from "../daemon.ts";
import type { RemoteError } from "../errors.ts";
import {
  behavior,
  behaviorOf,
  expose,
  isKwargs,
  isPrivateName,
  makeKwargs,
  oneway,
} from "../expose.ts";
import { exposedMembers, lookupMethod, metadataOf } from "../_daemon/exposure.ts";
import { RawClient } from "./_raw_client.ts";

function sorted(meta: { methods: string[]; oneway: string[]; attrs: string[] }) {
  return {
    methods: [...meta.methods].sort(),
    oneway: [...meta.oneway].sort(),
    attrs: [...meta.attrs].sort(),
  };
}

Deno.test("@expose on a class exposes its public methods and accessors, not private or static ones", () => {
  class Base {
    inherited(): number {
      return 1;
    }
  }
  @expose
  class Thing extends Base {
    static helper(): void {}
    field = 1;
    #hidden = 2;
    method(): number {
      return this.#hidden;
    }
    get prop(): number {
      return 1;
    }
    set prop(_v: number) {}
    accessor auto = 3;
    _private(): void {}
    __len__(): number {
      return 0;
    }
    __init__(): void {}
    @oneway
    fire(): void {}
  }
  assert.deepEqual(sorted(metadataOf(exposedMembers(new Thing()))), {
    methods: ["__len__", "fire", "inherited", "method"],
    oneway: ["fire"],
    attrs: ["auto", "prop"],
  });
  assert.deepEqual(metadataOf(exposedMembers(Thing)), metadataOf(exposedMembers(new Thing())));
});

Deno.test("Member decorators expose only the decorated members", () => {
  class Thing {
    @expose
    shown(): void {}
    hidden(): void {}
    @expose
    get reading(): number {
      return 1;
    }
    @expose
    accessor level = 0;
    @oneway
    notify(): void {}
  }
  const table = exposedMembers(new Thing());
  assert.deepEqual(sorted(metadataOf(table)), {
    methods: ["notify", "shown"],
    oneway: ["notify"],
    attrs: ["level", "reading"],
  });
  assert.throws(
    () => lookupMethod(table, "hidden"),
    /attempt to access unexposed attribute 'hidden'/,
  );
});

Deno.test("An unexposed override hides an exposed base method, as in Pyro5", () => {
  @expose
  class Base {
    m(): string {
      return "base";
    }
    kept(): string {
      return "kept";
    }
  }
  class Derived extends Base {
    override m(): string {
      return "derived";
    }
  }
  const table = exposedMembers(new Derived());
  assert.deepEqual(metadataOf(table).methods, ["kept"]);
});

Deno.test("Exposure never reaches the members of built-in base classes", () => {
  @expose
  class Registry extends Map<string, number> {
    total(): number {
      return [...this.values()].reduce((a, b) => a + b, 0);
    }
  }
  const table = exposedMembers(new Registry());
  assert.deepEqual(metadataOf(table).methods, ["total"]);
  assert.throws(() => lookupMethod(table, "set"), /has no attribute 'set'/);
});

Deno.test("The plain-object form exposes own methods and accessors but no data properties", () => {
  const service = expose({
    greet: (name: string) => `hi ${name}`,
    log: oneway((_line: string) => {}),
    get size() {
      return 1;
    },
    data: 5,
  });
  assert.deepEqual(sorted(metadataOf(exposedMembers(service))), {
    methods: ["greet", "log"],
    oneway: ["log"],
    attrs: ["size"],
  });
  const partial = { shown: expose(() => 1), hidden: () => 2 };
  assert.deepEqual(metadataOf(exposedMembers(partial)).methods, ["shown"]);
});

Deno.test("Explicit expose and oneway lists add members and refuse bad names", () => {
  const plain = {
    a: () => 1,
    b: () => 2,
    get c() {
      return 3;
    },
  };
  const table = exposedMembers(plain, { expose: ["a", "c"], oneway: ["b"] });
  assert.deepEqual(sorted(metadataOf(table)), { methods: ["a", "b"], oneway: ["b"], attrs: ["c"] });
  assert.throws(() => exposedMembers(plain, { expose: ["missing"] }), TypeError);
  assert.throws(() => exposedMembers(plain, { expose: ["_a"] }), TypeError);
  assert.throws(() => exposedMembers(plain, { expose: ["constructor"] }), TypeError);
  assert.throws(() => exposedMembers(plain, { oneway: ["c"] }), TypeError);
});

Deno.test("Decorators refuse fields and static members", () => {
  assert.throws(() => {
    class Bad {
      // @ts-expect-error: fields cannot be exposed
      @expose
      field = 1;
    }
    return Bad;
  }, TypeError);
  assert.throws(() => {
    class Bad {
      @expose
      static s(): void {}
    }
    return Bad;
  }, TypeError);
});

Deno.test("@behavior records the instance mode and refuses unknown modes", () => {
  @behavior({ instanceMode: "percall" })
  class PerCall {}
  class Default {}
  assert.equal(behaviorOf(PerCall).instanceMode, "percall");
  assert.equal(behaviorOf(Default).instanceMode, "session");
  assert.throws(() => behavior({ instanceMode: "pooled" as "single" }), TypeError);
});

Deno.test("Private names follow Pyro5's rule with its dunder deny-list", () => {
  for (
    const name of [
      "_x",
      "__x",
      "_",
      "__",
      "___",
      "____",
      "__init__",
      "__class__",
      "__getattr__",
      "__call__",
    ]
  ) {
    assert.equal(isPrivateName(name), true, name);
  }
  for (const name of ["x", "x_", "__len__", "__getitem__", "__custom__", "__proto__"]) {
    assert.equal(isPrivateName(name), false, name);
  }
});

Deno.test("Kwargs objects are marked, copied and have no prototype", () => {
  const k = makeKwargs({ a: 1 });
  assert.equal(isKwargs(k), true);
  assert.equal(isKwargs({ a: 1 }), false);
  assert.equal(Object.getPrototypeOf(k), null);
  assert.deepEqual({ ...k }, { a: 1 });
});

const HOSTILE = [
  "_secret",
  "__init__",
  "__class__",
  "constructor",
  "__proto__",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "__defineGetter__",
  "__lookupGetter__",
  "then",
  "call",
  "apply",
  "bind",
  "echo.call",
  "echo.constructor",
  "constructor.constructor",
  "hidden",
  "",
  " echo",
  "Echo",
  "state",
  "nosuch",
];

Deno.test("Hostile method and attribute names are refused with AttributeError and reach nothing", async () => {
  class Target {
    state = "untouched";
    @expose
    echo(x: unknown): unknown {
      return x;
    }
    @expose
    get value(): string {
      return this.state;
    }
    hidden(): string {
      this.state = "reached";
      return "reached";
    }
    _secret(): string {
      this.state = "reached";
      return "reached";
    }
  }
  const target = new Target();
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  daemon.register(target, "thing");
  for (const serializerId of [3, 4]) {
    using client = await RawClient.connected(daemon.addr, "thing", serializerId);
    for (const name of HOSTILE) {
      const call = await client.call("thing", name, ["x"]);
      assert.equal(
        (call.value as RemoteError).remoteClass,
        "builtins.AttributeError",
        `call ${name}`,
      );
      const get = await client.call("thing", "__getattr__", [name], null);
      assert.equal(
        (get.value as RemoteError).remoteClass,
        "builtins.AttributeError",
        `get ${name}`,
      );
      const set = await client.call("thing", "__setattr__", [name, { polluted: true }], null);
      assert.equal(
        (set.value as RemoteError).remoteClass,
        "builtins.AttributeError",
        `set ${name}`,
      );
    }
    const batch = await client.call("thing", "<batch>", [["__proto__", [], {}]], null, {
      flags: 8,
    });
    assert.equal((batch.value as RemoteError).remoteClass, "builtins.AttributeError");
    assert.equal((await client.call("thing", "echo", ["ok"])).value, "ok");
  }
  assert.equal(target.state, "untouched");
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(target), Target.prototype);
});
