import assert from "node:assert/strict";
import { jsonSerializer as json } from "../_codecs/json.ts";
import { SerializeError } from "../errors.ts";
import { registerClassToDict, unregisterClassToDict } from "../class_registry.ts";
import { URI } from "../uri.ts";
import { tuple } from "../value.ts";

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const dumps = (v: unknown) => text(json.dumps(v));
const loads = (s: string) => json.loads(enc.encode(s));

Deno.test("json writes Python's separators, key order and raw UTF-8", () => {
  assert.equal(
    dumps({ b: 1, a: [true, false, null], s: "héllo 😀", e: {}, l: [] }),
    '{"b": 1, "a": [true, false, null], "s": "héllo 😀", "e": {}, "l": []}',
  );
});

Deno.test("json writes floats as Python's repr and ints as digits", () => {
  const cases: [unknown, string][] = [
    [1, "1"],
    [-0, "-0.0"],
    [0.5, "0.5"],
    [1e16, "1e+16"],
    [1.5e16, "1.5e+16"],
    [1e15 + 0.5, "1000000000000000.5"],
    [1e-4, "0.0001"],
    [1e-5, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [1e300, "1e+300"],
    [5e-324, "5e-324"],
    [2 ** 60, "1.152921504606847e+18"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
    [2n ** 70n, "1180591620717411303424"],
    [-(2n ** 70n), "-1180591620717411303424"],
  ];
  for (const [v, want] of cases) assert.equal(dumps(v), want, String(v));
});

Deno.test("json writes strings with the same escapes as Python", () => {
  assert.equal(dumps('a"b\\c\n\t\u0001\u007f\u2028'), '"a\\"b\\\\c\\n\\t\\u0001\u007f\u2028"');
});

Deno.test("json escapes long strings as it escapes short ones", () => {
  const pad = "x".repeat(5000);
  for (
    const special of [
      '"',
      "\\",
      "\n",
      "\u0000",
      "\u001f",
      "\ud800",
      "\udc00x",
      "😀",
      "é",
      "\u007f",
      "",
    ]
  ) {
    const short = dumps(special).slice(1, -1);
    assert.equal(dumps(pad + special + "y"), `"${pad}${short}y"`, JSON.stringify(special));
    assert.equal(loads(dumps(pad + special + "y")), pad + special + "y");
  }
});

Deno.test("json writes sets, maps, tuples, dates and URIs in their list, dict and text forms", () => {
  assert.equal(dumps(tuple(1, 2)), "[1, 2]");
  assert.equal(dumps(new Set(["x"])), '["x"]');
  assert.equal(
    dumps(new Map<unknown, unknown>([[1, "a"], [1.5, "b"], [true, "c"], [null, "d"]])),
    '{"1": "a", "1.5": "b", "true": "c", "null": "d"}',
  );
  assert.equal(dumps(new Date(Date.UTC(2020, 0, 2, 3, 4, 5))), '"2020-01-02T03:04:05+00:00"');
  assert.equal(
    dumps(new URI("PYRO:obj@localhost:9090")),
    '{"__class__": "Pyro5.core.URI", "state": ["PYRO", "obj", null, "localhost", 9090]}',
  );
});

Deno.test("json writes an unregistered class instance as its own enumerable properties", () => {
  class Thing {
    constructor(readonly name: string, public size: number) {}
    method(): void {}
  }
  assert.equal(dumps(new Thing("t", 3)), '{"name": "t", "size": 3}');
});

Deno.test("json refuses bytes, complex numbers, functions, symbols and cycles", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const bad of [new Uint8Array(1), new ArrayBuffer(1), () => 1, Symbol("s"), cyclic]) {
    assert.throws(() => json.dumps({ v: bad }), SerializeError);
  }
  assert.throws(() => json.dumps(() => 1), /don't know how to serialize .* using serializer json/);
  assert.throws(() => json.dumps(new Map([[{}, 1]])), SerializeError);
});

Deno.test("json reads NaN and Infinity tokens and big integers losslessly", () => {
  assert.deepEqual(loads("[NaN, Infinity, -Infinity, 1.5]"), [NaN, Infinity, -Infinity, 1.5]);
  assert.deepEqual(loads('{"big": 1180591620717411303424, "neg": -9007199254740993}'), {
    big: 1180591620717411303424n,
    neg: -9007199254740993n,
  });
  assert.deepEqual(loads("[9007199254740991, -9007199254740991, 1e400]"), [
    9007199254740991,
    -9007199254740991,
    Infinity,
  ]);
  // A token inside a string sends the text to the exact reader, which must keep the string.
  assert.deepEqual(loads('["NaN", "Infinity 12345678901234567890", 2]'), [
    "NaN",
    "Infinity 12345678901234567890",
    2,
  ]);
  // Floats beyond 2^53 send the text to the exact reader too, which keeps them floats.
  assert.deepEqual(loads("[1e300, 12345678901234567.5, -1e20]"), [
    1e300,
    12345678901234567.5,
    -1e20,
  ]);
  assert.deepEqual(loads('{"s": "a\\"b\\u00e9\\ud83d\\ude00", "n": NaN}'), {
    s: 'a"bé😀',
    n: NaN,
  });
});

Deno.test("json revives URIs and exceptions at any depth on both reading paths", () => {
  const uri = '{"__class__": "Pyro5.core.URI", "state": ["PYRO", "obj", null, "h", 1]}';
  for (const extra of ["1", "NaN"]) {
    const v = loads(`{"list": [${uri}], "x": ${extra}}`) as { list: unknown[] };
    assert.ok(v.list[0] instanceof URI);
  }
  const e = loads(
    '{"__class__": "Pyro5.errors.NamingError", "__exception__": true, "args": ["unknown name: x"], "attributes": {}}',
  );
  assert.ok(e instanceof Error && e.name === "NamingError");
  const escaped = loads(
    '{"\\u005f_class__": "Pyro5.core.URI", "state": ["PYRO", "o", null, "h", 1]}',
  );
  assert.ok(escaped instanceof URI);
  assert.deepEqual(loads('{"__class__": "mymod.Thing", "a": 1}'), {
    __class__: "mymod.Thing",
    a: 1,
  });
});

Deno.test("json turns every malformed input into a SerializeError", () => {
  const bad = [
    "",
    "{",
    '{"a": }',
    "[1, 2",
    "Nan",
    "[NaN, Infinit]",
    "[NaN] x",
    "[NaN, 01]",
    '["unterminated, NaN',
    '{"__proto__": 1}',
    '{"a": {"__proto__": {"x": 1}}}',
    '{"__proto__": NaN}',
    '{"\\u005f_proto__": 1}',
    '[{"a": 1}, {"__pro\\u0074o__": {"x": 1}}]',
    "[" + "[".repeat(20000) + "NaN",
  ];
  for (const s of bad) assert.throws(() => loads(s), SerializeError, JSON.stringify(s));
  assert.throws(() => json.loads(new Uint8Array([0x22, 0xff, 0x22])), SerializeError);
  assert.equal(({} as Record<string, unknown>).x, undefined); // no prototype pollution
});

Deno.test("json call payloads use Python's object form and accept null kwargs", () => {
  const bytes = json.dumpsCall({ object: "thing", method: "echo", params: ["hi"], kwargs: {} });
  assert.equal(
    text(bytes),
    '{"object": "thing", "method": "echo", "params": ["hi"], "kwargs": {}}',
  );
  assert.deepEqual(json.loadsCall(bytes), {
    object: "thing",
    method: "echo",
    params: ["hi"],
    kwargs: {},
  });
  const attr = json.dumpsCall({ object: "o", method: "__getattr__", params: ["a"], kwargs: null });
  assert.equal(json.loadsCall(attr).kwargs, null);
});

Deno.test("json rejects call payloads of the wrong shape", () => {
  const bad = [
    "[1, 2, 3, 4]",
    '"thing"',
    '{"object": "o", "method": "m", "params": []}',
    '{"object": 1, "method": "m", "params": [], "kwargs": {}}',
    '{"object": "o", "method": "m", "params": {}, "kwargs": {}}',
    '{"object": "o", "method": "m", "params": [], "kwargs": []}',
    '{"object": "o", "method": "m", "params": [], "kwargs": 3}',
  ];
  for (const s of bad) assert.throws(() => json.loadsCall(enc.encode(s)), SerializeError, s);
});

Deno.test("json's fast paths give the same bytes and values as its general reader and writer", () => {
  const values: unknown[] = [
    "hello",
    "",
    'a "quote" and a \\',
    "tab\there",
    "é",
    0,
    -0,
    7,
    1234567890,
    -12,
    2 ** 53 + 2,
    1.5,
    1e-5,
    1e16,
    NaN,
    true,
    null,
    undefined,
    [1, [2, [3, []]], {}],
    { object: "thing", method: "echo", params: ["x"], kwargs: { a: 1 } },
    { __class__: "Pyro5.errors.PyroError", args: ["boom"], attributes: {} },
    { "a b": [null, false], nested: { deeper: { deepest: "x".repeat(100) } } },
    2n ** 70n,
  ];
  for (const value of values) {
    const general = json.dumps(value);
    assert.equal(text(json.dumpsFramed!(value)), text(general), String(value));
    // Past 2 KiB (trailing white space) a payload takes the general reader.
    const padded = new Uint8Array(general.length + 3000).fill(0x20);
    padded.set(general);
    assert.deepEqual(json.loads(general), json.loads(padded), text(general));
  }
  const call = { object: "thing", method: "echo", params: [1, "two", [3]], kwargs: { k: -0 } };
  assert.equal(text(json.dumpsCallFramed!(call)), text(json.dumpsCall(call)));
  assert.deepEqual(json.loadsCall(json.dumpsCall(call)), call);
  for (
    const bad of [
      "[01]",
      "[1,]",
      '{"a" 1}',
      "[NaN",
      '{"__proto__": 1}',
      '"\\u00',
      "[tru]",
      '"a" "b"',
      '"a"x',
      '"a',
    ]
  ) {
    assert.throws(() => loads(bad), SerializeError, bad);
  }
  assert.equal(loads('"hello" \n'), "hello");
  assert.equal(loads('"a\\"b"'), 'a"b');
  assert.deepEqual(loads(" [ 1 , -0 , 1.5e3 , 12345678901234567890 ] "), [
    1,
    -0,
    1500,
    12345678901234567890n,
  ]);
});

Deno.test("json reads call payloads on its fast path as its general reader does", () => {
  const texts = [
    '{"object": "a", "method": "b", "params": [1, {"x": [true]}], "kwargs": null}',
    '{"method": "b", "object": "a", "kwargs": {"k": -0}, "params": []}',
    '{"object": "a", "object": "c", "method": "b", "params": [], "kwargs": {}, "extra": 5}',
    '{"object": "a", "method": "b", "params": [{"__class__": "Pyro5.errors.PyroError", "args": ["e"], "attributes": {}}], "kwargs": {}}',
    '{"__class__": "x", "object": "a", "method": "b", "params": [], "kwargs": {}}',
  ];
  const refused = [
    '{"object": "a", "method": "b", "params": []}',
    '{"object": 1, "method": "b", "params": [], "kwargs": {}}',
    '{"object": "a", "method": "b", "params": {}, "kwargs": {}}',
    '{"object": "a", "method": "b", "params": [], "kwargs": []}',
    "{}",
  ];
  const general = (t: string) => enc.encode(t + " ".repeat(3000)); // past the fast path's size
  for (const t of texts) {
    assert.deepEqual(json.loadsCall(enc.encode(t)), json.loadsCall(general(t)));
  }
  for (const t of refused) {
    let message = "";
    try {
      json.loadsCall(general(t));
    } catch (e) {
      assert.ok(e instanceof SerializeError, t);
      message = e.message;
    }
    assert.throws(() => json.loadsCall(enc.encode(t)), { name: "SerializeError", message }, t);
  }
});

Deno.test("json's call reader reads the next call's object id and method name afresh", () => {
  const call = (object: string, method: string, rest = '"params": ["hello"], "kwargs": {}}') =>
    `{"object": ${JSON.stringify(object)}, "method": ${JSON.stringify(method)}, ${rest}`;
  const texts = [
    call("bench", "echo"),
    call("bench", "echo"),
    call("bencx", "echp"),
    call("benc", "ech"),
    call("bench!", "echo2"),
    call("", ""),
    call("bench", "echo", '"params": [], "kwargs": null}  '),
    call("bé", "ech\u00f6"),
    call('b"c', "e\\o"),
    call("bench", "echo", '"params": [1], "kwargs": {"k": [2]}, "extra": 1}'),
    call("x".repeat(80), "y".repeat(70)),
    call("x".repeat(80), "y".repeat(70)),
    call("bench", "echo"),
  ];
  const general = (t: string) => enc.encode(t + " ".repeat(3000)); // past the fast path's size
  for (const t of texts) {
    assert.deepEqual(json.loadsCall(enc.encode(t)), json.loadsCall(general(t)), t);
  }
  const refused = [
    call("bench", "echo") + "x",
    call("bench", "echo", '"params": {}, "kwargs": {}}'),
    call("bench", "echo", '"params": ["hello"], "kwargs": {}'),
    call("bench", "echo", '"params": ["hello"], "kwargs": []}'),
    '{"object": "bench", "method": "echo", "params": ["hello"]}',
  ];
  for (const t of refused) {
    assert.throws(() => json.loadsCall(enc.encode(t)), SerializeError, t);
  }
});

Deno.test("json writes a URI with the same bytes as the general path, and a class hook for URIs still applies", () => {
  const uris = [
    "PYRO:obj@localhost:1234",
    "PYRO:obj@[::1]:70000",
    "PYRO:obj@[2001:db8::5]:9",
    "PYRO:obj@./u:/tmp/s.sock",
    "PYRONAME:demo.name",
    "PYRONAME:demo.name@localhost",
    "PYROMETA:a,b,a@ns:9",
    'PYRO:h\u00e9llo-"quoted"-id@example.org:1',
  ].map((u) => new URI(u));
  let deep: unknown = uris[0];
  for (let i = 0; i < 70; i++) deep = [deep];
  const values = [...uris.flatMap((u) => [u, [1, { u }], tuple(u, u)]), deep];
  // dumpsFramed tries the fast writer (the way replies go); dumps is the general path.
  const fast = values.map((v) => text(json.dumpsFramed!(v)));
  const general = values.map(dumps);
  assert.deepEqual(fast, general);
  assert.equal(
    fast[3 * 3],
    '{"__class__": "Pyro5.core.URI", "state": ["PYRO", "obj", "/tmp/s.sock", null, null]}',
  );
  for (const uri of uris) assert.ok(uri.equals(loads(dumps(uri)) as URI));
  registerClassToDict(URI, (u) => ({ text: String(u) }), { className: "demo.Uri" });
  try {
    assert.equal(
      text(json.dumpsFramed!(uris[0])),
      '{"text": "PYRO:obj@localhost:1234", "__class__": "demo.Uri"}',
    );
  } finally {
    unregisterClassToDict(URI);
  }
});

Deno.test("json's call writer writes each call's object id and method name afresh", () => {
  const calls: [string, string][] = [
    ["bench", "echo"],
    ["bench", "echo"],
    ["bench", "echp"],
    ["bencx", "echp"],
    ["bench", "echo"],
    ["", ""],
    ["bé", "echo"],
    ["bench", 'e"o'],
    ["x".repeat(300), "echo"],
    ["x".repeat(300), "echo"],
    ["bench", "echo"],
  ];
  for (const [object, method] of calls) {
    const call = { object, method, params: ["hello", 1], kwargs: {} };
    assert.equal(text(json.dumpsCallFramed!(call)), text(json.dumpsCall(call)), object + method);
  }
});
