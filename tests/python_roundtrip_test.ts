/**
 * Round trips through real Python (/usr/bin/python3 with Debian's python3-msgpack and the
 * stdlib json module, using Pyro5's hooks re-stated in a few lines): what we encode must decode
 * in Python to the expected Python value, what Python encodes must decode here to the expected
 * TypeScript value, and where both sides hold the same value the bytes must be identical.
 */

import assert from "node:assert/strict";
import { getSerializer } from "../serializer.ts";
import { ExceptionWrapper } from "../class_registry.ts";
import { RemoteError } from "../errors.ts";
import { URI } from "../uri.ts";
import { Complex, tuple } from "../value.ts";

const PYTHON = "/usr/bin/python3";

/** Python side: reads cases from stdin, answers one JSON object per case. */
const HELPER = String.raw`
import sys, json, struct, datetime, math, msgpack

def ext_hook(code, data):
    if code == 0x30:
        return complex(*struct.unpack("dd", data))
    if code == 0x31:
        return int(data)
    if code == 0x32:
        return datetime.datetime.fromtimestamp(struct.unpack("d", data)[0])
    if code == 0x33:
        return datetime.date.fromordinal(struct.unpack("l", data)[0])
    raise ValueError("invalid ext code for msgpack: %d" % code)

def mp_default(obj):
    if isinstance(obj, set):
        return tuple(obj)
    if isinstance(obj, complex):
        return msgpack.ExtType(0x30, struct.pack("dd", obj.real, obj.imag))
    if isinstance(obj, datetime.datetime):
        return msgpack.ExtType(0x32, struct.pack("d", obj.timestamp()))
    if isinstance(obj, datetime.date):
        return msgpack.ExtType(0x33, struct.pack("l", obj.toordinal()))
    if isinstance(obj, int):
        return msgpack.ExtType(0x31, str(obj).encode("ascii"))
    raise TypeError("cannot pack %r" % (obj,))

def js_default(obj):
    if isinstance(obj, set):
        return tuple(obj)
    if isinstance(obj, (datetime.datetime, datetime.date)):
        return obj.isoformat()
    raise TypeError("cannot serialize %r" % (obj,))

def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, complex):
        return repr(a) == repr(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a.keys()) == list(b.keys()) and all(same(a[k], b[k]) for k in a)
    return a == b

def dumps(ser, value, call):
    if ser == "json":
        if call:
            value = {"object": value[0], "method": value[1], "params": value[2], "kwargs": value[3]}
        return json.dumps(value, ensure_ascii=False, default=js_default).encode("utf-8")
    if call:
        value = tuple(value)
    return msgpack.packb(value, use_bin_type=True, default=mp_default)

def loads(ser, data, call):
    if ser == "json":
        v = json.loads(data.decode("utf-8"))
        return [v["object"], v["method"], v["params"], v["kwargs"]] if call else v
    v = msgpack.unpackb(data, raw=False, ext_hook=ext_hook)
    return v

out = []
for case in json.load(sys.stdin):
    ser, call = case["ser"], case.get("call", False)
    expected = eval(case["py"], {"datetime": datetime, "msgpack": msgpack, "math": math})
    r = {"id": case["id"]}
    try:
        got = loads(ser, bytes.fromhex(case["hex"]), call)
        r["ok"] = same(got, expected)
        r["got"] = repr(got)
    except Exception as e:
        r["ok"] = False
        r["got"] = "error: %r" % (e,)
    try:
        r["pyhex"] = dumps(ser, expected, call).hex()
    except Exception as e:
        r["pyhex"] = None
        r["pyerror"] = repr(e)
    out.append(r)
json.dump(out, sys.stdout)
`;
import { fromHex, toHex } from "./_hex.ts";

interface Case {
  /** The TypeScript value we send. */
  value: unknown;
  /** The Python expression it must decode to (and that Python encodes for the other way). */
  py: string;
  /** What our decoder must make of Python's encoding; defaults to `value`. */
  back?: unknown;
  /** Custom check of our decoding of Python's bytes instead of deepStrictEqual with `back`. */
  check?: (decoded: unknown) => void;
  /** Whether Python's bytes must equal ours (default true). */
  sameBytes?: boolean;
  /** Serializers this case applies to (default both). */
  only?: "json" | "msgpack";
  /** Only check Python's encoding of \`py\` decoded here (the value cannot travel the other way). */
  fromPythonOnly?: boolean;
  /** Encode as an INVOKE payload: value is [object, method, params, kwargs]. */
  call?: boolean;
}

const LONG_TEXT = "ünïcödé ".repeat(40);
const BIG_BYTES = new Uint8Array(70000).map((_, i) => i * 7);
const MANY = Array.from({ length: 20 }, (_, i) => i * 1000);
const MANY_KEYS = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]));
const WHEN = new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 123));

const CASES: Case[] = [
  { value: null, py: "None" },
  { value: undefined, py: "None", back: null },
  { value: true, py: "True" },
  { value: false, py: "False" },
  // ints: every msgpack width and the json digits beyond 2^53
  ...[0, 1, -1, 127, 128, -32, -33, -128, -129, 255, 256, 65535, 65536, -32768, -32769]
    .map((n) => ({ value: n, py: String(n) })),
  { value: 2 ** 32 - 1, py: "2**32-1" },
  { value: 2 ** 32, py: "2**32" },
  { value: -(2 ** 31), py: "-2**31" },
  { value: -(2 ** 31) - 1, py: "-2**31-1" },
  { value: Number.MAX_SAFE_INTEGER, py: "2**53-1" },
  { value: Number.MIN_SAFE_INTEGER, py: "-(2**53-1)" },
  { value: 2n ** 53n, py: "2**53" },
  { value: -(2n ** 53n), py: "-2**53" },
  { value: 2n ** 63n - 1n, py: "2**63-1" },
  { value: -(2n ** 63n), py: "-2**63" },
  { value: 2n ** 64n - 1n, py: "2**64-1" },
  { value: 2n ** 64n, py: "2**64" },
  { value: -(2n ** 63n) - 1n, py: "-2**63-1" },
  { value: 10n ** 30n, py: "10**30" },
  { value: -(10n ** 40n), py: "-10**40" },
  { value: 5n, py: "5", back: 5 },
  // floats
  ...[0.5, -1.5, 0.1 + 0.2, 1e-5, 1e-4, 123456.789, 1e16, 1.5e16, 1e300, 5e-324, 2 ** 60]
    .map((x) => ({ value: x, py: `float.fromhex(${JSON.stringify(floatHex(x))})` })),
  { value: NaN, py: "float('nan')" },
  { value: Infinity, py: "float('inf')" },
  { value: -Infinity, py: "float('-inf')" },
  { value: -0, py: "-0.0" },
  { value: 1, py: "1.0", sameBytes: false, fromPythonOnly: true }, // lossy: 1.0 arrives as 1
  // strings
  { value: "", py: "''" },
  { value: "hi", py: "'hi'" },
  { value: "héllo wörld", py: "'héllo wörld'" },
  { value: "日本語", py: "'日本語'" },
  { value: "smile 😀 pair", py: "'smile \\U0001F600 pair'" },
  { value: "a".repeat(31), py: "'a'*31" },
  { value: "a".repeat(32), py: "'a'*32" },
  { value: "b".repeat(300), py: "'b'*300" },
  { value: LONG_TEXT, py: `${JSON.stringify("ünïcödé ")}*40` },
  { value: "c".repeat(70000), py: "'c'*70000" },
  {
    value: 'ctl \u0000\u001f\n\t\r"\\ \u007f \u2028',
    py: "'ctl \\x00\\x1f\\n\\t\\r\"\\\\ \\x7f \\u2028'",
  },
  // bytes (msgpack only; json refuses them)
  { value: new Uint8Array(), py: "b''", only: "msgpack" },
  { value: new Uint8Array([0, 1, 255]), py: "bytes([0, 1, 255])", only: "msgpack" },
  { value: new Uint8Array(300).fill(9), py: "bytes([9])*300", only: "msgpack" },
  { value: BIG_BYTES, py: "bytes((i*7) % 256 for i in range(70000))", only: "msgpack" },
  // lists, tuples, sets, dicts, maps
  { value: [], py: "[]" },
  { value: [1, "two", [3, [4, null]], { five: 5 }], py: "[1, 'two', [3, [4, None]], {'five': 5}]" },
  { value: MANY, py: "[i*1000 for i in range(20)]" },
  { value: tuple(1, "a"), py: "[1, 'a']", back: [1, "a"] },
  { value: new Set(["only"]), py: "['only']", back: ["only"] },
  { value: {}, py: "{}" },
  {
    value: { a: { b: { c: [1, 2] } }, "key with space": "v" },
    py: "{'a': {'b': {'c': [1, 2]}}, 'key with space': 'v'}",
  },
  { value: MANY_KEYS, py: "{'k%d' % i: i for i in range(20)}" },
  {
    value: new Map<unknown, unknown>([[1, "one"], ["x", 2]]),
    py: "{'1': 'one', 'x': 2}",
    back: { "1": "one", x: 2 },
  },
  {
    value: null,
    py: "{1: 'a', 'b': 2, None: 3}",
    back: new Map<unknown, unknown>([[1, "a"], ["b", 2], [null, 3]]),
    only: "msgpack",
    fromPythonOnly: true, // int keys: Python refuses them (strict_map_key); we never send them
    sameBytes: false,
  },
  {
    value: null,
    py: "{1: 'a', 'b': 2}",
    back: { "1": "a", b: 2 },
    only: "json",
    fromPythonOnly: true,
    sameBytes: false,
  },
  {
    value: null,
    py: "msgpack.Timestamp(1, 500000000)",
    back: new Date(1500),
    only: "msgpack",
    fromPythonOnly: true,
    sameBytes: false,
  },
  // complex (msgpack only)
  { value: new Complex(1, 2), py: "complex(1, 2)", only: "msgpack" },
  { value: new Complex(-0.5, NaN), py: "complex(-0.5, float('nan'))", only: "msgpack" },
  // dates (the Python helper runs with TZ=UTC)
  {
    value: WHEN,
    py: "datetime.datetime(2020, 1, 2, 3, 4, 5, 123000)",
    only: "msgpack",
  },
  {
    value: WHEN,
    py: "'2020-01-02T03:04:05.123000+00:00'",
    back: "2020-01-02T03:04:05.123000+00:00", // json has no date type: ISO text comes back
    only: "json",
  },
  {
    value: new Date(Date.UTC(2020, 0, 2)),
    py: "datetime.date(2020, 1, 2)",
    only: "msgpack",
    sameBytes: false, // we send a Date as datetime (ext 0x32); Python's date is ext 0x33
    fromPythonOnly: true,
  },
  // special maps
  {
    value: new URI("PYRO:obj@localhost:9090"),
    py: "{'__class__': 'Pyro5.core.URI', 'state': ['PYRO', 'obj', None, 'localhost', 9090]}",
    check: (d) => {
      assert.ok(d instanceof URI);
      assert.equal(String(d), "PYRO:obj@localhost:9090");
    },
  },
  {
    value: new RemoteError("builtins.ValueError", ["bad", 7], {}, ["Traceback\n", "ValueError\n"]),
    py: "{'__class__': 'builtins.ValueError', '__exception__': True, 'args': ['bad', 7], " +
      "'attributes': {'_pyroTraceback': ['Traceback\\n', 'ValueError\\n']}}",
    check: (d) => {
      assert.ok(d instanceof RemoteError);
      assert.equal(d.remoteClass, "builtins.ValueError");
      assert.deepStrictEqual(d.args, ["bad", 7]);
      assert.deepStrictEqual(d.remoteTraceback, ["Traceback\n", "ValueError\n"]);
    },
  },
  {
    value: new ExceptionWrapper(new RemoteError("builtins.KeyError", ["k"], {}, [])),
    py:
      "{'__class__': 'Pyro5.core._ExceptionWrapper', 'exception': {'__class__': 'builtins.KeyError'," +
      " '__exception__': True, 'args': ['k'], 'attributes': {'_pyroTraceback': []}}}",
    check: (d) => {
      assert.ok(d instanceof ExceptionWrapper);
      assert.ok(d.error instanceof RemoteError);
      assert.equal(d.error.remoteClass, "builtins.KeyError");
    },
  },
  { value: { __class__: "mymod.Thing", x: 1 }, py: "{'__class__': 'mymod.Thing', 'x': 1}" },
  // INVOKE payloads
  { value: ["thing", "echo", ["hi"], {}], py: "['thing', 'echo', ['hi'], {}]", call: true },
  {
    value: ["thing", "echo", [1, 2n ** 70n], { k: true, f: 0.5 }],
    py: "['thing', 'echo', [1, 2**70], {'k': True, 'f': 0.5}]",
    call: true,
  },
  {
    value: ["thing", "__getattr__", ["value"], null],
    py: "['thing', '__getattr__', ['value'], None]",
    call: true,
  },
];

function floatHex(x: number): string {
  // Python's float.hex() text from the IEEE bits, so the Python side gets the exact double.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? "-" : "";
  const exp = Number((bits >> 52n) & 0x7ffn);
  const mant = (bits & ((1n << 52n) - 1n)).toString(16).padStart(13, "0");
  if (exp === 0) return `${sign}0x0.${mant}p-1022`;
  return `${sign}0x1.${mant}p${exp - 1023}`;
}

function pythonAvailable(): boolean {
  try {
    const r = new Deno.Command(PYTHON, { args: ["-c", "import msgpack"], stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
}

interface PyResult {
  id: number;
  ok: boolean;
  got: string;
  pyhex: string | null;
  pyerror?: string;
}

async function runPython(cases: object[]): Promise<PyResult[]> {
  const child = new Deno.Command(PYTHON, {
    args: ["-c", HELPER],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { TZ: "UTC", PYTHONIOENCODING: "utf-8" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(cases)));
  await writer.close();
  const out = await child.output();
  const err = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `python failed: ${err}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as PyResult[];
}

for (const ser of ["json", "msgpack"] as const) {
  Deno.test({
    name: `${ser} values round-trip through Python in both directions with identical bytes`,
    ignore: !pythonAvailable(),
    async fn() {
      const s = getSerializer(ser);
      const cases = CASES.filter((c) => c.only === undefined || c.only === ser);
      const sent = cases.map((c, id) => {
        const bytes = c.call
          ? s.dumpsCall({
            object: (c.value as unknown[])[0] as string,
            method: (c.value as unknown[])[1] as string,
            params: (c.value as unknown[])[2] as unknown[],
            kwargs: (c.value as unknown[])[3] as Record<string, unknown> | null,
          })
          : s.dumps(c.value);
        return { id, ser, py: c.py, call: c.call ?? false, hex: toHex(bytes) };
      });
      const results = await runPython(sent);
      assert.equal(results.length, cases.length);
      for (const r of results) {
        const c = cases[r.id]!;
        const what = `${ser} case ${r.id} (${c.py})`;
        if (!c.fromPythonOnly) assert.ok(r.ok, `${what}: Python decoded our bytes to ${r.got}`);
        assert.ok(r.pyhex !== null, `${what}: Python could not encode: ${r.pyerror}`);
        const pyBytes = fromHex(r.pyhex);
        const decoded = c.call ? Object.values(s.loadsCall(pyBytes)) : s.loads(pyBytes);
        if (c.check) c.check(decoded);
        else assert.deepStrictEqual(decoded, "back" in c ? c.back : c.value, what);
        if (c.sameBytes !== false) assert.equal(sent[r.id]!.hex, r.pyhex, `${what}: bytes differ`);
      }
    },
  });
}

Deno.test({
  name: "json refuses bytes and complex numbers the way Python's json does",
  fn() {
    const json = getSerializer("json");
    assert.throws(() => json.dumps(new Uint8Array([1])), { name: "SerializeError" });
    assert.throws(() => json.dumps(new Complex(1, 1)), { name: "SerializeError" });
  },
});
