import assert from "node:assert/strict";
import { msgpackSerializer as msgpack } from "../_codecs/msgpack.ts";
import { SerializeError } from "../errors.ts";
import {
  AUTOPROXY,
  registerClassToDict,
  registerDictToClass,
  unregisterClassToDict,
  unregisterDictToClass,
} from "../class_registry.ts";
import { URI } from "../uri.ts";
import { Complex } from "../value.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const dumpsHex = (v: unknown) => hex(msgpack.dumps(v));

Deno.test("msgpack writes the smallest int form like Python", () => {
  const cases: [number | bigint, string][] = [
    [0, "00"],
    [127, "7f"],
    [128, "cc80"],
    [256, "cd0100"],
    [65536, "ce00010000"],
    [2 ** 32, "cf0000000100000000"],
    [-1, "ff"],
    [-32, "e0"],
    [-33, "d0df"],
    [-129, "d1ff7f"],
    [-32769, "d2ffff7fff"],
    [-(2 ** 31) - 1, "d3ffffffff7fffffff"],
    [5n, "05"],
    [2n ** 64n - 1n, "cfffffffffffffffff"],
    [-(2n ** 63n), "d38000000000000000"],
    [2n ** 70n, "c71631" + hex(new TextEncoder().encode("1180591620717411303424"))],
  ];
  for (const [v, want] of cases) assert.equal(dumpsHex(v), want, String(v));
});

Deno.test("msgpack writes every non-integer number as float64", () => {
  assert.equal(dumpsHex(1.5), "cb3ff8000000000000");
  assert.equal(dumpsHex(-0), "cb8000000000000000");
  assert.equal(dumpsHex(NaN), "cb7ff8000000000000");
  assert.equal(dumpsHex(2 ** 60), "cb43b0000000000000");
});

Deno.test("msgpack writes str, bin and the Pyro5 ext types", () => {
  assert.equal(dumpsHex("hi"), "a26869");
  assert.equal(dumpsHex("é"), "a2c3a9");
  assert.equal(dumpsHex("a".repeat(32)), "d920" + "61".repeat(32));
  assert.equal(dumpsHex("€".repeat(100)).slice(0, 6), "da012c");
  assert.equal(dumpsHex(new Uint8Array([1, 2])), "c4020102");
  assert.equal(dumpsHex(new Uint16Array([1])), "c4020100");
  assert.equal(dumpsHex(new Complex(1, 2)), "d830000000000000f03f0000000000000040");
  assert.equal(
    dumpsHex(new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 123))),
    "d732" + hex(new Uint8Array(new Float64Array([1577934245.123]).buffer)),
  );
  assert.equal(dumpsHex(new Set([1])), "9101");
  assert.equal(dumpsHex(new Map<unknown, unknown>([[1, true]])), "81a131c3");
});

Deno.test("msgpack call payloads are the 4-array Python sends", () => {
  const bytes = msgpack.dumpsCall({
    object: "thing",
    method: "echo",
    params: [1],
    kwargs: { k: true },
  });
  assert.equal(hex(bytes), "94a57468696e67a46563686f910181a16bc3");
  assert.deepEqual(msgpack.loadsCall(bytes), {
    object: "thing",
    method: "echo",
    params: [1],
    kwargs: { k: true },
  });
  const attr = msgpack.dumpsCall({ object: "o", method: "__getattr__", params: [], kwargs: null });
  assert.equal(hex(attr), "94a16fab5f5f676574617474725f5f90c0");
  assert.equal(msgpack.loadsCall(attr).kwargs, null);
});

Deno.test("msgpack reads 64-bit ints as numbers when safe and bigints otherwise", () => {
  assert.deepEqual(
    msgpack.loads(unhex("93cf0000000000000005d3fffffffffffffffbcfffffffffffffffff")),
    [
      5,
      -5,
      2n ** 64n - 1n,
    ],
  );
  assert.deepEqual(msgpack.loads(unhex("91" + "c70331" + "313233")), [123]);
});

Deno.test("msgpack reads ext 0x30 to 0x33 and timestamps", () => {
  assert.deepEqual(msgpack.loads(unhex("d830000000000000f03f0000000000000040")), new Complex(1, 2));
  assert.deepEqual(
    msgpack.loads(unhex("d732b4e647695783d741")),
    new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 123)),
  );
  assert.deepEqual(
    msgpack.loads(unhex("d733" + "92400b0000000000")),
    new Date(Date.UTC(2020, 0, 2)),
  );
  assert.deepEqual(msgpack.loads(unhex("d6ff00000001")), new Date(1000));
});

Deno.test("msgpack reads maps with non-string keys as Maps and keeps odd string keys", () => {
  assert.deepEqual(
    msgpack.loads(unhex("8201a161c3a162")),
    new Map<unknown, unknown>([[1, "a"], [true, "b"]]),
  );
  const odd = msgpack.dumps({ "\uFDD0x": 1, y: 2 });
  assert.deepEqual(msgpack.loads(odd), { "\uFDD0x": 1, y: 2 });
  assert.deepEqual(
    msgpack.loads(unhex("82" + "a4efb79078" + "01" + "02" + "02")), // {"\uFDD0x": 1, 2: 2}
    new Map<unknown, unknown>([["\uFDD0x", 1], [2, 2]]),
  );
});

Deno.test("msgpack revives URIs, exceptions and registered classes inside containers", () => {
  const uri = new URI("PYRO:obj@localhost:1234");
  const back = msgpack.loads(msgpack.dumps({ list: [uri], big: 2n ** 64n })) as {
    list: unknown[];
  };
  assert.ok(back.list[0] instanceof URI);
  assert.equal(String(back.list[0]), "PYRO:obj@localhost:1234");
  registerDictToClass("demo.Point", (_n, d) => ({ point: [d.x, d.y] }));
  try {
    assert.deepEqual(msgpack.loads(msgpack.dumps([{ __class__: "demo.Point", x: 1, y: 2 }])), [
      { point: [1, 2] },
    ]);
  } finally {
    unregisterDictToClass("demo.Point");
  }
});

Deno.test("msgpack revives a URI map in either key order, and a dict hook for URIs still applies", () => {
  const state = ["PYRO", "obj", null, "localhost", 1234];
  const pyroOrder = msgpack.dumps({ __class__: "Pyro5.core.URI", state });
  const otherOrder = msgpack.dumps({ state, __class__: "Pyro5.core.URI" });
  for (const bytes of [pyroOrder, otherOrder]) {
    const back = msgpack.loads(bytes);
    assert.ok(back instanceof URI);
    assert.equal(String(back), "PYRO:obj@localhost:1234");
  }
  assert.deepEqual(msgpack.dumps(msgpack.loads(pyroOrder)), pyroOrder);
  assert.throws(() => msgpack.loads(pyroOrder.subarray(0, 20)), SerializeError);
  assert.throws(() => msgpack.loads(pyroOrder.subarray(0, pyroOrder.length - 1)), SerializeError);
  registerDictToClass("Pyro5.core.URI", (_n, d) => ({ hooked: d.state }));
  try {
    assert.deepEqual(msgpack.loads(pyroOrder), { hooked: state });
  } finally {
    unregisterDictToClass("Pyro5.core.URI");
  }
});

Deno.test("msgpack revives a repeated URI as one frozen URI, and tells similar URIs apart", () => {
  const texts = [
    "PYRO:obj@localhost:1234",
    "PYRO:obj@localhost:1235",
    "PYRO:obk@localhost:1234",
    "PYRO:obj@./u:/tmp/s.sock",
    "PYRONAME:demo.name@localhost:70000",
    "PYROMETA:a,b@ns:9",
  ];
  const buffer = new Uint8Array(256);
  const decoded = texts.map((t) => {
    // Decoded from a reused buffer: what is remembered must not change with it.
    const bytes = msgpack.dumps([new URI(t), new URI(t)]);
    buffer.set(bytes);
    const [a, b] = msgpack.loads(buffer.subarray(0, bytes.length)) as [URI, URI];
    buffer.fill(0);
    assert.equal(String(a), t);
    assert.ok(a.equals(b));
    assert.ok(Object.isFrozen(a) || t.startsWith("PYROMETA"));
    return a;
  });
  for (const [i, t] of texts.entries()) {
    const again = msgpack.loads(msgpack.dumps(new URI(t))) as URI;
    assert.equal(String(again), String(decoded[i]));
  }
  // A truncated state is refused, cached or not.
  const bytes = msgpack.dumps(new URI(texts[0]!));
  assert.throws(() => msgpack.loads(bytes.subarray(0, bytes.length - 1)), SerializeError);
});

Deno.test("msgpack writes a URI as the map of its state, and a class hook for URIs still applies", () => {
  const uris = [
    "PYRO:obj@localhost:1234",
    "PYRO:obj@[::1]:70000",
    "PYRO:obj@./u:/tmp/s.sock",
    "PYRONAME:demo.name",
    "PYROMETA:a,b,a@ns:9",
    "PYRO:h\u00e9llo-long-object-id-beyond-32-chars@example.org:1",
  ].map((u) => new URI(u));
  for (const uri of uris) {
    // The same bytes as the map Python's Pyro5 sends (and as a plain map of the state gives).
    const expected = msgpack.dumps({ __class__: "Pyro5.core.URI", state: uri.toState() });
    assert.deepEqual(msgpack.dumps(uri), expected);
    const map = { __class__: "Pyro5.core.URI", state: uri.toState() };
    assert.deepEqual(msgpack.dumps([1, { u: uri }]), msgpack.dumps([1, { u: map }]));
    assert.ok(uri.equals(msgpack.loads(expected) as URI));
  }
  registerClassToDict(URI, (u) => ({ text: String(u) }), { className: "demo.Uri" });
  try {
    assert.deepEqual(msgpack.loads(msgpack.dumps(uris[0])), {
      text: "PYRO:obj@localhost:1234",
      __class__: "demo.Uri",
    });
  } finally {
    unregisterClassToDict(URI);
  }
});

Deno.test("msgpack replaces autoproxied objects and survives hooks that encode again", () => {
  const served = {
    [AUTOPROXY]: (ser: string) => ({
      __class__: "Pyro5.client.Proxy",
      state: ["PYRO:x@h:1", [], [], [], "hello", ser, msgpack.dumps([1, 2]).length],
    }),
  };
  const v = msgpack.loads(msgpack.dumps({ p: served, after: "ok" }));
  assert.deepEqual(v, {
    p: {
      __class__: "Pyro5.client.Proxy",
      state: ["PYRO:x@h:1", [], [], [], "hello", "msgpack", 3],
    },
    after: "ok",
  });
});

Deno.test("msgpack turns every malformed input into a SerializeError", () => {
  const bad = [
    "",
    "93",
    "9301",
    "a5686968",
    "d9",
    "c1",
    "0101",
    "d40500",
    "d73000000000",
    "c703310041",
    "81a95f5f70726f746f5f5f01",
    "9181a95f5f70726f746f5f5f80",
  ];
  for (const h of bad) assert.throws(() => msgpack.loads(unhex(h)), SerializeError, h);
  assert.throws(() => msgpack.loads(unhex("d40500")), /invalid ext code for msgpack: 5/);
  assert.throws(() => msgpack.dumps({ f: () => 1 }), /using serializer msgpack/);
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  assert.throws(() => msgpack.dumps(cyclic), SerializeError);
});

Deno.test("msgpack refuses huge counts, deep nesting and trailing bytes without allocating", () => {
  // array32 and map32 announcing 4 billion items in a few bytes
  assert.throws(() => msgpack.loads(unhex("ddffffffff01")), /truncated data/);
  assert.throws(() => msgpack.loads(unhex("dfffffffff0101")), /truncated data/);
  assert.throws(() => msgpack.loads(unhex("c6ffffffff00")), /truncated data/);
  const deep = new Uint8Array(5000).fill(0x91);
  assert.throws(() => msgpack.loads(deep), /nested more than 1000 levels/);
  assert.throws(() => msgpack.loads(unhex("c0c0")), /1 extra byte\(s\)/);
  // bin values are views into the payload, not copies
  const data = unhex("92c40301020301");
  const [bytes, one] = msgpack.loads(data) as [Uint8Array, number];
  assert.deepEqual([...bytes], [1, 2, 3]);
  assert.equal(bytes.buffer, data.buffer);
  assert.equal(one, 1);
});

Deno.test("msgpack rejects call payloads of the wrong shape", () => {
  const bad: unknown[] = [
    ["thing", "echo", []],
    ["thing", "echo", [], {}, 5],
    { object: "thing" },
    [1, "echo", [], {}],
    ["thing", "echo", {}, {}],
    ["thing", "echo", [], []],
  ];
  for (const v of bad) {
    assert.throws(() => msgpack.loadsCall(msgpack.dumps(v)), SerializeError, JSON.stringify(v));
  }
  // kwargs with an int key (Python can send it) is not a keyword map
  assert.throws(() => msgpack.loadsCall(unhex("94a174a16590810102")), SerializeError);
  assert.throws(() => msgpack.loadsCall(unhex("94a174a16590")), SerializeError);
});
