/**
 * Our name server tools against Python Pyro5's Name Server, and Python's name server helpers
 * against ours: `nsc` and `locateNS()` work with no settings (they talk serpent, as Pyro5's
 * tools do), and our Name Server answers tuples where Pyro5's does. The live halves need
 * `PYRO5_PYTHONPATH`; the rest runs everywhere.
 */

import assert from "node:assert/strict";
import { locateNS } from "../locate.ts";
import { startNameServer, typeMeta } from "../naming.ts";
import { NameServer } from "../_naming/server.ts";
import { isTuple } from "../value.ts";
import { getSerializer } from "../serializer.ts";
import { URI } from "../uri.ts";
import { main as nsc, type NscIO } from "../cli/nsc.ts";
import { PYTHON_NAME_SERVER, runPython, skipPython, startPython } from "./_python.ts";

function captureIO(): NscIO & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    print: (line) => lines.push(line),
    error: (line) => lines.push(`stderr: ${line}`),
    input: () => Promise.resolve("y"),
  };
}

Deno.test("Name Server answers lookup, list and yplookup with metadata as (uri, tags) tuples", async () => {
  const ns = new NameServer();
  await ns.register("demo.a", "PYRO:a@127.0.0.1:4001", false, ["red"]);
  const found = await ns.lookup("demo.a", true);
  assert.ok(isTuple(found));
  assert.ok(found[0] instanceof URI);
  assert.deepEqual([...found[1]], ["red"]);
  const listed = (await ns.list(null, null, true))["demo.a"]!;
  assert.ok(isTuple(listed));
  assert.ok(isTuple((await ns.yplookup(["red"]))["demo.a"]));
  // Over serpent the pair goes out as a Python tuple, as Pyro5's name server sends it.
  const text = new TextDecoder().decode(getSerializer("serpent").dumps(listed));
  assert.match(text, /\('PYRO:a@127\.0\.0\.1:4001',\{'red'\}\)$/);
});

Deno.test("locateNS proxies talk serpent unless a serializer is chosen", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  await using ns = await locateNS("127.0.0.1", server.uri.port!);
  await ns.register("demo.b", "PYRO:b@127.0.0.1:4002", false, ["blue"]);
  const found = await ns.lookup("demo.b", true);
  assert.ok(isTuple(found), "serpent carries the tuple");
  assert.ok(found[1] instanceof Set, "serpent carries the set");
  await using json = await locateNS("127.0.0.1", server.uri.port!, { serializer: "json" });
  const viaJson = await json.lookup("demo.b", true);
  assert.ok(!(viaJson[1] instanceof Set));
});

Deno.test({
  name: "nsc and locateNS work against Python Pyro5's Name Server with no settings",
  ignore: skipPython(),
  fn: async () => {
    await using python = await startPython(PYTHON_NAME_SERVER);
    const uri = new URI(python.firstLine);
    const hostPort = ["-n", "127.0.0.1", "-p", String(uri.port)];
    await using ns = await locateNS("127.0.0.1", uri.port);
    await ns.register("demo.a", "PYRO:a@127.0.0.1:4001", false, ["red", "big"]);
    const [found, tags] = await ns.lookup("demo.a", true);
    assert.equal(String(found), "PYRO:a@127.0.0.1:4001");
    assert.deepEqual([...tags].sort(), ["big", "red"]);
    const listed = await ns.list(null, null, true);
    assert.ok(isTuple(listed["demo.a"]));
    assert.deepEqual(Object.keys(await ns.yplookup(["red"])), ["demo.a"]);

    const io = captureIO();
    assert.equal(await nsc([...hostPort, "list"], io), 0, io.lines.join("\n"));
    assert.deepEqual(io.lines, [
      "--------START LIST ",
      `Pyro.NameServer --> ${python.firstLine}`,
      "    metadata: {'class:Pyro5.nameserver.NameServer'}",
      "demo.a --> PYRO:a@127.0.0.1:4001",
      io.lines[4]!, // the set's order is Python's
      "--------END LIST ",
    ]);
    assert.match(io.lines[4]!, /^ {4}metadata: \{'(red|big)', '(red|big)'\}$/);
    const lookup = captureIO();
    assert.equal(await nsc([...hostPort, "lookup", "demo.a"], lookup), 0);
    assert.equal(lookup.lines[0], "PYRO:a@127.0.0.1:4001");
    const yp = captureIO();
    assert.equal(await nsc([...hostPort, "yplookup_any", "big"], yp), 0);
    assert.equal(yp.lines[1], "demo.a --> PYRO:a@127.0.0.1:4001");
  },
});

Deno.test({
  name: "Python Pyro5 gets (uri, metadata) tuples from our Name Server, by keyword too",
  ignore: skipPython(),
  fn: async () => {
    await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
    await using ns = await locateNS("127.0.0.1", server.uri.port!);
    await ns.register("demo.a", "PYRO:a@127.0.0.1:4001", false, ["red"]);
    const out = await runPython(`
import Pyro5.api
ns = Pyro5.api.locate_ns("127.0.0.1", ${server.uri.port})
found = ns.lookup("demo.a", return_metadata=True)
print(type(found).__name__, found[0], sorted(found[1]))
print(type(ns.list(return_metadata=True)["demo.a"]).__name__)
print(type(ns.yplookup(meta_all=["red"])["demo.a"]).__name__)
print(ns.list(prefix="demo."))
print(ns.lookup(name="demo.a"))
`);
    assert.deepEqual(out.trim().split("\n"), [
      "tuple PYRO:a@127.0.0.1:4001 ['red']",
      "tuple",
      "tuple",
      "{'demo.a': 'PYRO:a@127.0.0.1:4001'}",
      "PYRO:a@127.0.0.1:4001",
    ]);
  },
});

Deno.test("typeMeta gives Pyro5-style class tags for a class and its bases", () => {
  class Base {}
  class Thing extends Base {}
  assert.deepEqual([...typeMeta(new Thing())], ["class:Thing", "class:Base"]);
  assert.deepEqual([...typeMeta(Thing, "type:")], ["type:Thing", "type:Base"]);
  assert.deepEqual([...typeMeta(new Error("x"))], []);
  assert.deepEqual([...typeMeta(null)], []);
});

const BAD_CALLS = `
import sys, Pyro5.api
ns = Pyro5.api.Proxy(sys.argv[1])
def show(f):
    try:
        print(repr(f()))
    except Exception as x:
        print(type(x).__name__, str(x))
show(lambda: ns.lookup())
show(lambda: ns.lookup("a", True, 3))
show(lambda: ns.lookup(nam="x"))
show(lambda: ns.lookup("x", name="y"))
show(lambda: ns.register())
show(lambda: ns.list(1, 2, 3, 4))
show(lambda: ns.count(1))
show(lambda: ns.ping(x=1))
show(lambda: ns.yplookup(meta_all=["a"], return_metadata=False))
show(lambda: ns.remove(name="nothing"))
show(lambda: ns.set_metadata("x"))
show(lambda: ns.lookup("nothing"))
`;

Deno.test({
  name: "Our Name Server answers wrong positional and keyword calls with Pyro5's exact errors",
  ignore: skipPython(),
  fn: async () => {
    await using python = await startPython(PYTHON_NAME_SERVER);
    await using ours = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
    const script = BAD_CALLS.replace("sys.argv[1]", "URI");
    const expected = await runPython(script.replace("URI", `"${python.firstLine}"`));
    const got = await runPython(script.replace("URI", `"${ours.uri}"`));
    assert.equal(got, expected);
    assert.match(expected, /^TypeError NameServer\.lookup\(\) missing 1 required/m);
  },
});
