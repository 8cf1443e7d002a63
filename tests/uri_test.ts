/**
 * Tests of Pyro URIs against a corpus whose expected results were produced by Python Pyro5's
 * own `Pyro5.core.URI` (5.17-dev0): string forms, state tuples and exact error texts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PyroError, SerializeError } from "../errors.ts";
import { isURI, URI } from "../uri.ts";

// [input, Python's str(uri) (null for PYROMETA, whose set order is random in Python), state
// with PYROMETA tags sorted]
const VALID: [string, string | null, unknown[]][] = [
  ["PYRO:obj@localhost:9999", "PYRO:obj@localhost:9999", ["PYRO", "obj", null, "localhost", 9999]],
  ["pyro:obj@localhost:9999", "PYRO:obj@localhost:9999", ["PYRO", "obj", null, "localhost", 9999]],
  ["PyRoNaMe:x.y", "PYRONAME:x.y", ["PYRONAME", "x.y", null, null, null]],
  ["PYRONAME:x@h", "PYRONAME:x@h:9090", ["PYRONAME", "x", null, "h", 9090]],
  ["PYRONAME:x@h:", "PYRONAME:x@h:9090", ["PYRONAME", "x", null, "h", 9090]],
  ["PYRONAME:x@h:1234", "PYRONAME:x@h:1234", ["PYRONAME", "x", null, "h", 1234]],
  ["PYROMETA:a,b,c", null, ["PYROMETA", ["a", "b", "c"], null, null, null]],
  ["pyrometa:a,,b@ns", null, ["PYROMETA", ["", "a", "b"], null, "ns", 9090]],
  ["PYROMETA:b,a,b@ns:55", null, ["PYROMETA", ["a", "b"], null, "ns", 55]],
  ["PYRO:a@b@host:1", "PYRO:a@b@host:1", ["PYRO", "a", null, "b@host", 1]],
  ["PYRO:obj@[::1]:4444", "PYRO:obj@[::1]:4444", ["PYRO", "obj", null, "::1", 4444]],
  ["PYRO:obj@[::1]:4444junk", "PYRO:obj@[::1]:4444", ["PYRO", "obj", null, "::1", 4444]],
  ["PYRONAME:obj@[::1]", "PYRONAME:obj@[::1]:9090", ["PYRONAME", "obj", null, "::1", 9090]],
  ["PYRO:obj@[fe80::1%25]:1", "PYRO:obj@[fe80::1%25]:1", ["PYRO", "obj", null, "fe80::1%25", 1]],
  ["PYRO:obj@./u:/tmp/sock", "PYRO:obj@./u:/tmp/sock", ["PYRO", "obj", "/tmp/sock", null, null]],
  ["PYRO:obj@./u:/tmp/my sock", "PYRO:obj@./u:/tmp/my sock", [
    "PYRO",
    "obj",
    "/tmp/my sock",
    null,
    null,
  ]],
  ["PYRO:obj@host:1 ", "PYRO:obj@host:1", ["PYRO", "obj", null, "host", 1]],
  ["PYRO:obj@host: 1", "PYRO:obj@host:1", ["PYRO", "obj", null, "host", 1]],
  ["PYRO:obj@host:-5", "PYRO:obj@host:-5", ["PYRO", "obj", null, "host", -5]],
  ["PYRO:obj@host:99999999", "PYRO:obj@host:99999999", ["PYRO", "obj", null, "host", 99999999]],
  ["PYRO:obj@:4444", "PYRO:obj", ["PYRO", "obj", null, "", 4444]],
  ["PYRO:obj@h:1_000", "PYRO:obj@h:1000", ["PYRO", "obj", null, "h", 1000]],
  ["PYRO:obj@h:\u0661\u0662", "PYRO:obj@h:12", ["PYRO", "obj", null, "h", 12]],
  ["PYRO:obj@h:1\n", "PYRO:obj@h:1", ["PYRO", "obj", null, "h", 1]],
  ["PYRO:obj@h:1\r", "PYRO:obj@h:1", ["PYRO", "obj", null, "h", 1]],
  ["PYRONAME:x\n", "PYRONAME:x", ["PYRONAME", "x", null, null, null]],
  ["PYRO:obj@my host:1", "PYRO:obj@my host:1", ["PYRO", "obj", null, "my host", 1]],
  ["PYRO:obj@h:+7", "PYRO:obj@h:7", ["PYRO", "obj", null, "h", 7]],
  ["PYRO:o\ufeffb@h:1", "PYRO:o\ufeffb@h:1", ["PYRO", "o\ufeffb", null, "h", 1]],
  ["PYRO:obj@h:1\u2028", "PYRO:obj@h:1", ["PYRO", "obj", null, "h", 1]],
  ["PYRO:obj@[::1]:\u0661", "PYRO:obj@[::1]:1", ["PYRO", "obj", null, "::1", 1]],
  ["PYRONAME:obj@:", "PYRONAME:obj", ["PYRONAME", "obj", null, "", 9090]],
  ["PYRO:obj@[1:2::3]:9", "PYRO:obj@[1:2::3]:9", ["PYRO", "obj", null, "1:2::3", 9]],
];

const INVALID: [string, string][] = [
  ["PYRO:obj@[::1]", "invalid port in uri, port=None"],
  ["PYRO:obj@[[::1]]:4444", "invalid ipv6 address: enclosed in too many brackets"],
  [
    "PYRO:obj@[fe80::1%eth0]:1",
    "invalid ipv6 address: the part between brackets must be a numeric ipv6 address",
  ],
  [
    "PYRO:obj@[zz]:1",
    "invalid ipv6 address: the part between brackets must be a numeric ipv6 address",
  ],
  ["PYRO:obj@./u:", "invalid uri (location)"],
  ["PYRO:obj@./u:a:b", "invalid uri (location)"],
  ["PYRO:obj@host:abc", "invalid port in uri, port=abc"],
  ["PYRO:obj@host:0x10", "invalid port in uri, port=0x10"],
  ["PYRO:obj@host", "invalid port in uri, port=None"],
  ["PYRO:obj@host:", "invalid port in uri, port=None"],
  ["PYRO:obj", "invalid uri"],
  [" PYRO:obj@h:1", "invalid uri"],
  ["PYRO:o b@h:1", "invalid uri"],
  ["PYROX:obj@h:1", "invalid uri (protocol)"],
  ["PYR:obj@h:1", "invalid uri"],
  ["PYRO:@h:1", "invalid uri"],
  ["PYRO:obj@::1:4444", "invalid port in uri, port=:1:4444"],
  ["PYRO:o\u00a0b@h:1", "invalid uri"],
  ["PYRO:o\u001cb@h:1", "invalid uri"],
  ["PYRO:obj@h:1:2", "invalid port in uri, port=1:2"],
  ["PYRO:obj@h:1_", "invalid port in uri, port=1_"],
  ["", "invalid uri"],
];

function sortedState(uri: URI): unknown[] {
  const state: unknown[] = uri.toState();
  if (Array.isArray(state[1])) state[1] = [...state[1]].sort();
  return state;
}

Deno.test("Valid URIs parse to Python's state and print as Python prints them", () => {
  for (const [input, text, state] of VALID) {
    const uri = new URI(input);
    assert.deepEqual(sortedState(uri), state, JSON.stringify(input));
    if (text !== null) assert.equal(uri.toString(), text, JSON.stringify(input));
    // the string form parses back to an equal URI (an empty host prints without location)
    if (uri.host !== "") assert.ok(new URI(uri.toString()).equals(uri), JSON.stringify(input));
  }
});

Deno.test("Invalid URIs fail with Python's exact PyroError texts", () => {
  for (const [input, message] of INVALID) {
    assert.throws(
      () => new URI(input),
      (e: unknown) => e instanceof PyroError && e.name === "PyroError" && e.message === message,
      JSON.stringify(input),
    );
  }
});

Deno.test("The protocol keyword is case-insensitive and printed in upper case", () => {
  for (const p of ["pyro", "Pyro", "PYRO", "pYrO"]) {
    const uri = new URI(`${p}:obj@localhost:1`);
    assert.equal(uri.protocol, "PYRO");
    assert.equal(String(uri), "PYRO:obj@localhost:1");
  }
  assert.equal(new URI("pyroname:ns.thing").protocol, "PYRONAME");
  assert.equal(new URI("PyroMeta:x").protocol, "PYROMETA");
});

Deno.test("PYROMETA tags form a set, printed joined with commas in first-seen order", () => {
  const uri = new URI("PYROMETA:b,a,b,,c@ns:55");
  assert.deepEqual([...uri.tags], ["b", "a", "", "c"]);
  assert.equal(uri.object, "b,a,,c");
  assert.equal(uri.toString(), "PYROMETA:b,a,,c@ns:55");
  assert.deepEqual(uri.toState(), ["PYROMETA", ["b", "a", "", "c"], null, "ns", 55]);
  assert.ok(uri.equals("PYROMETA:c,,a,b@ns:55"));
  assert.ok(!uri.equals("PYROMETA:a,b@ns:55"));
  assert.equal(new URI("PYRO:o@h:1").tags.size, 0);
  assert.equal(new URI("PYROMETA:x").toString(), "PYROMETA:x");
});

Deno.test("IPv6 hosts are stored without brackets and printed with them", () => {
  const uri = new URI("PYRO:obj@[fe80::1%25]:4444");
  assert.equal(uri.host, "fe80::1%25");
  assert.equal(uri.location, "[fe80::1%25]:4444");
  assert.equal(URI.fromParts({ object: "o", host: "::1", port: 5 }).toString(), "PYRO:o@[::1]:5");
});

Deno.test("Unix socket URIs keep the path, spaces included, and have no host or port", () => {
  const uri = new URI("PYRO:obj@./u:/tmp/my pyro.sock");
  assert.equal(uri.sockname, "/tmp/my pyro.sock");
  assert.equal(uri.host, null);
  assert.equal(uri.port, null);
  assert.equal(uri.location, "./u:/tmp/my pyro.sock");
  assert.equal(uri.toString(), "PYRO:obj@./u:/tmp/my pyro.sock");
});

Deno.test("The object part is the shortest match, so a@b@host gives object a", () => {
  const uri = new URI("PYRO:a@b@host:1");
  assert.equal(uri.object, "a");
  assert.equal(uri.host, "b@host");
  assert.equal(uri.port, 1);
});

Deno.test("The port is read like Python int(), surrounding whitespace included", () => {
  assert.equal(new URI("PYRO:o@h:1234 ").port, 1234);
  assert.equal(new URI("PYRO:o@h:\t 1234\u3000").port, 1234);
  assert.equal(new URI("PYRO:o@h:1_234").port, 1234);
  assert.equal(new URI("PYRO:o@h:\u0661\u0662\u0663").port, 123);
  assert.equal(new URI("PYRO:o@h:\u{1D7D9}").port, 1); // MATHEMATICAL DOUBLE-STRUCK DIGIT ONE
  assert.equal(new URI("PYRO:o@h:-0").port, 0);
  assert.throws(() => new URI("PYRO:o@h:1 2"), /^PyroError: invalid port in uri, port=1 2$/);
  assert.throws(
    () => new URI("PYRO:o@h:\x1c1"),
    (e: unknown) => e instanceof PyroError && e.message === "invalid port in uri, port=\x1c1",
  );
});

Deno.test("Name server URIs without a location have no host, port or sockname", () => {
  const uri = new URI("PYRONAME:example.thing");
  assert.deepEqual(uri.toState(), ["PYRONAME", "example.thing", null, null, null]);
  assert.equal(uri.location, null);
  assert.equal(uri.toString(), "PYRONAME:example.thing");
});

Deno.test("Equality compares protocol, object, sockname, host and port", () => {
  const uri = new URI("PYRO:obj@localhost:9999");
  assert.ok(uri.equals(new URI("pyro:obj@localhost:9999")));
  assert.ok(uri.equals("PYRO:obj@localhost:9999 "));
  assert.ok(!uri.equals("PYRO:obj@localhost:9998"));
  assert.ok(!uri.equals("PYRO:obj2@localhost:9999"));
  assert.ok(!uri.equals("PYRONAME:obj@localhost:9999"));
  assert.ok(!uri.equals("not a uri"));
});

Deno.test("State round-trips through toState and fromState", () => {
  const inputs = [
    "PYRO:obj@localhost:9999",
    "PYRO:obj@./u:/run/app.sock",
    "PYRONAME:x.y",
    "PYRONAME:x.y@[::1]:9090",
    "PYROMETA:a,b@ns:1",
  ];
  for (const input of inputs) {
    const uri = new URI(input);
    const again = URI.fromState(uri.toState());
    assert.ok(again instanceof URI);
    assert.ok(again.equals(uri), input);
    assert.equal(again.toString(), uri.toString());
  }
  assert.deepEqual(new URI("PYRO:obj@./u:/run/app.sock").toState(), [
    "PYRO",
    "obj",
    "/run/app.sock",
    null,
    null,
  ]);
  const meta = URI.fromState(["PYROMETA", new Set(["x", "y"]), null, null, null]);
  assert.deepEqual([...meta.tags], ["x", "y"]);
  assert.equal(URI.fromState(["PYRO", "o", null, "h", 12n]).port, 12);
});

Deno.test("fromState refuses malformed state with SerializeError", () => {
  const bad: unknown[] = [
    null,
    "PYRO:o@h:1",
    ["PYRO", "o", null, "h"],
    ["HTTP", "o", null, "h", 1],
    ["PYRO", ["a"], null, "h", 1],
    ["PYROMETA", [1], null, "h", 1],
    ["PYRO", "o", 5, "h", 1],
    ["PYRO", "o", null, "h", "1"],
    ["PYRO", "o", null, "h", 1.5],
  ];
  for (const state of bad) {
    assert.throws(() => URI.fromState(state), SerializeError, JSON.stringify(state));
  }
});

Deno.test("fromParts builds URIs without parsing and applies the name server port", () => {
  assert.equal(
    URI.fromParts({ object: "thing", host: "localhost", port: 4000 }).toString(),
    "PYRO:thing@localhost:4000",
  );
  assert.equal(
    URI.fromParts({ protocol: "PYRONAME", object: "ns.x", host: "nshost" }).toString(),
    "PYRONAME:ns.x@nshost:9090",
  );
  assert.equal(
    URI.fromParts({ protocol: "PYROMETA", object: ["a", "b", "a"] }).toString(),
    "PYROMETA:a,b",
  );
  assert.deepEqual(
    [...URI.fromParts({ protocol: "PYROMETA", object: " a ,b\x1c, a" }).tags],
    ["a", "b"],
  );
  assert.equal(
    URI.fromParts({ object: "o", sockname: "/tmp/s" }).toString(),
    "PYRO:o@./u:/tmp/s",
  );
  assert.throws(() => URI.fromParts({ object: "o" }), /^PyroError: invalid uri$/);
  assert.throws(
    () => URI.fromParts({ object: "o", host: "h" }),
    /^PyroError: invalid port in uri, port=None$/,
  );
});

Deno.test("A URI can be copied, inspected and recognised", () => {
  const uri = new URI("PYRO:obj@localhost:9999");
  const copy = new URI(uri);
  assert.notEqual(copy, uri);
  assert.ok(copy.equals(uri));
  assert.equal(Deno.inspect(uri), "URI <PYRO:obj@localhost:9999>");
  assert.ok(isURI(uri));
  assert.ok(!isURI("PYRO:obj@localhost:9999"));
  assert.throws(() => new URI(42 as unknown as string), TypeError);
});
