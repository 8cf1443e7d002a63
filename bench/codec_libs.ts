/**
 * Our hand-written codecs against the npm libraries made for the same jobs (issue 13), on the
 * same messages and patterns, in one process and one run: speed as a ratio to ours measured
 * in alternating rounds, plus the checks that decide whether a library could replace ours
 * (byte-exact Python interop, error behaviour, limits).
 *
 * - MessagePack: our codec (`msgpack.ts`) against `npm:msgpackr` with records off, used as it
 *   comes ("raw") and wrapped to Pyro5's semantics as far as it allows ("pyro", see
 *   `_msgpackr_pyro.ts`).
 * - Name Server regexes: our linear-time Python-regex matcher (`_naming_regex.ts`) against
 *   `npm:re2js` behind a Python-to-RE2 syntax rewrite (see `_re2js_python.ts`).
 *
 * Run: `deno run -A bench/codec_libs.ts [--quick] [--only=msgpack|regex] [--out=FILE]`
 * (`--out` writes the figures as JSON; default: print only).
 *
 * @module
 */

import { PYTHON_REGEX_PATTERNS, PYTHON_REGEX_SUBJECTS } from "../tests/_regex_patterns.ts";
import { parseArgs } from "node:util";
import { isDeepStrictEqual } from "node:util";
import { msgpackSerializer as ours } from "../_codecs/msgpack.ts";
import { SerializeError } from "../errors.ts";
import { compilePythonRegex } from "../_naming/regex.ts";
import { tuple } from "../value.ts";
import { msgpackrPyro, msgpackrRaw } from "./_msgpackr_pyro.ts";
import { compileWithRe2js } from "./_re2js_python.ts";

const { values: opts } = parseArgs({
  args: Deno.args,
  options: { quick: { type: "boolean" }, only: { type: "string" }, out: { type: "string" } },
});
const QUICK = opts.quick === true;
const ROUNDS = QUICK ? 3 : 7;
const RUN_MS = QUICK ? 30 : 120;
const PYTHON = "/usr/bin/python3";
const figures: Record<string, unknown>[] = [];

// ---------------------------------------------------------------------------------------------
// Timing: candidates of one operation run in alternating rounds; the figure is the median of
// the rounds' µs per operation, the ratio is candidate / ours (> 1: slower than ours).

function timeOnce(fn: () => unknown, ms: number): number {
  let n = 0;
  let batch = 1;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    if (batch < 1024) batch *= 2;
    now = performance.now();
  }
  return ((now - start) * 1000) / n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** µs per operation of each candidate (median of rounds, alternating order). */
function compare(fns: Record<string, () => unknown>, ms = RUN_MS): Record<string, number> {
  const names = Object.keys(fns);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) timeOnce(fns[n]!, Math.min(ms, 50)); // warm up
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const n of order) samples[n]!.push(timeOnce(fns[n]!, ms));
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n]!)]));
}

function us(x: number): string {
  return x >= 1000
    ? `${(x / 1000).toFixed(2)} ms`
    : x >= 10
    ? `${x.toFixed(1)} µs`
    : `${x.toFixed(3)} µs`;
}

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log("  " + r.map((cell, c) => cell.padEnd(widths[c]!)).join("  "));
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

// ---------------------------------------------------------------------------------------------
// MessagePack

interface Message {
  name: string;
  call?: { object: string; method: string; params: unknown[]; kwargs: Record<string, unknown> };
  value?: unknown;
}

/** The bench's codec messages (bench/serpent_codec.ts) plus the shapes issue 13 names. */
const MESSAGES: Message[] = [
  {
    name: "call echo('hello')",
    call: { object: "thing", method: "echo", params: ["hello"], kwargs: {} },
  },
  { name: "reply 'hello'", value: "hello" },
  {
    name: "call with kwargs",
    call: {
      object: "Pyro.NameServer",
      method: "list",
      params: [],
      kwargs: { prefix: "demo.", return_metadata: false },
    },
  },
  { name: "result int", value: 42 },
  {
    name: "CONNECTOK metadata",
    value: {
      handshake: "hello",
      meta: {
        methods: ["echo", "fire", "gen", "fired", "annotated", "kw", "corr_id", "fail_value"],
        oneway: ["fire"],
        attrs: ["value"],
      },
    },
  },
  {
    name: "nested record",
    value: {
      name: "x",
      nested: { list: [1, 2, { deep: true }], empty: {}, t: tuple(1, "a", 2.5) },
      none: null,
      big: 2n ** 70n,
    },
  },
  {
    name: "medium dict (50 keys)",
    value: Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [
        `key_${i}`,
        i % 5 === 0
          ? `value number ${i}`
          : i % 5 === 1
          ? i * 1000
          : i % 5 === 2
          ? i / 3
          : i % 5 === 3
          ? [i, `x${i}`, true]
          : { id: i, ok: i % 2 === 0 },
      ]),
    ),
  },
  {
    name: "200 records",
    value: Array.from(
      { length: 200 },
      (_, i) => ({ id: i, name: `item-${i}`, price: i * 1.25, tags: ["a", "b"] }),
    ),
  },
  { name: "1000 ints", value: Array.from({ length: 1000 }, (_, i) => i * 7919 - 500000) },
  { name: "1000 floats", value: Array.from({ length: 1000 }, (_, i) => i / 7 + 0.001) },
  { name: "text 10 kB ASCII", value: "Pyro5 serpent benchmark text. ".repeat(340) },
  { name: "text 10 kB non-ASCII", value: "héllo wörld ✓ 😀 ".repeat(590) },
  { name: "bytes 1 MiB", value: Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 31) & 255) },
];

/** Values at the edges of Pyro5's msgpack forms (from tests/msgpack_test.ts). */
const EDGE_VALUES: [string, unknown][] = [
  ["int 2^32", 2 ** 32],
  ["int 2^53-1", 2 ** 53 - 1],
  ["int -2^31-1", -(2 ** 31) - 1],
  ["float -0.0", -0],
  ["float 2^60", 2 ** 60],
  ["bigint 5n", 5n],
  ["bigint 2^64-1", 2n ** 64n - 1n],
  ["bigint -2^63", -(2n ** 63n)],
  ["bigint 2^70", 2n ** 70n],
  ["undefined", undefined],
  ["Map int key", new Map<unknown, unknown>([[1, true]])],
  ["Set", new Set([1])],
  ["Uint16Array", new Uint16Array([1])],
  ["Date", new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 123))],
  ["record", { a: [1, { b: null }] }],
];

interface Codec {
  dumps(v: unknown): Uint8Array;
  loads(d: Uint8Array): unknown;
  dumpsCall(c: CallArgs): Uint8Array;
  loadsCall(d: Uint8Array): unknown;
}
type CallArgs = NonNullable<Message["call"]>;

const CODECS: Record<string, Codec> = {
  ours,
  "msgpackr pyro": msgpackrPyro,
  "msgpackr raw": msgpackrRaw,
};

function encodeWith(c: Codec, m: Message): Uint8Array {
  return m.call ? c.dumpsCall(m.call) : c.dumps(m.value);
}

function decodeWith(c: Codec, m: Message, data: Uint8Array): unknown {
  return m.call ? c.loadsCall(data) : c.loads(data);
}

/** Python re-encodes what it decoded with Pyro5's hooks: bytes equal means Python-exact. */
async function pythonReencodes(payloads: Uint8Array[]): Promise<boolean[] | null> {
  try {
    if (!Deno.statSync(PYTHON).isFile) return null;
  } catch {
    return null;
  }
  const script = String.raw`
import sys, json, struct, datetime, msgpack, base64
def ext_hook(code, data):
    if code == 0x30: return complex(*struct.unpack("dd", data))
    if code == 0x31: return int(data)
    if code == 0x32: return datetime.datetime.fromtimestamp(struct.unpack("d", data)[0])
    if code == 0x33: return datetime.date.fromordinal(struct.unpack("l", data)[0])
    raise ValueError("invalid ext code for msgpack: %d" % code)
def default(obj):
    if isinstance(obj, set): return tuple(obj)
    if isinstance(obj, complex): return msgpack.ExtType(0x30, struct.pack("dd", obj.real, obj.imag))
    if isinstance(obj, datetime.datetime): return msgpack.ExtType(0x32, struct.pack("d", obj.timestamp()))
    if isinstance(obj, datetime.date): return msgpack.ExtType(0x33, struct.pack("l", obj.toordinal()))
    if isinstance(obj, int): return msgpack.ExtType(0x31, str(obj).encode("ascii"))
    raise TypeError("cannot pack %r" % (obj,))
out = []
for b64 in json.load(sys.stdin):
    data = base64.b64decode(b64)
    try:
        v = msgpack.unpackb(data, raw=False, ext_hook=ext_hook, strict_map_key=False)
        out.append(msgpack.packb(v, use_bin_type=True, default=default) == data)
    except Exception:
        out.append(False)
print(json.dumps(out))
`;
  const child = new Deno.Command(PYTHON, {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const w = child.stdin.getWriter();
  const b64 = (b: Uint8Array) => btoa(Array.from(b, (x) => String.fromCharCode(x)).join(""));
  await w.write(new TextEncoder().encode(JSON.stringify(payloads.map(b64))));
  await w.close();
  const out = await child.output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

function outcome(fn: () => unknown): string {
  const start = performance.now();
  try {
    fn();
    return `accepted (${(performance.now() - start).toFixed(1)} ms)`;
  } catch (e) {
    const err = e as Error;
    const kind = e instanceof SerializeError ? "SerializeError" : err.name;
    return `${kind}: ${err.message.slice(0, 70)} (${(performance.now() - start).toFixed(1)} ms)`;
  }
}

async function benchMsgpack(): Promise<void> {
  console.log("\n## MessagePack: ours vs npm:msgpackr@2.1.4 (useRecords: false)");
  console.log("µs per operation, median of alternating rounds; ratio = msgpackr / ours\n");
  const rows = [[
    "message",
    "bytes",
    "enc ours",
    "enc pyro",
    "ratio",
    "enc raw",
    "ratio",
    "dec ours",
    "dec pyro",
    "ratio",
    "dec raw",
    "ratio",
  ]];
  for (const m of MESSAGES) {
    const data = encodeWith(ours, m);
    const pyroData = encodeWith(msgpackrPyro, m);
    const rawData = encodeWith(msgpackrRaw, m);
    const enc = compare({
      ours: () => encodeWith(ours, m),
      pyro: () => encodeWith(msgpackrPyro, m),
      raw: () => encodeWith(msgpackrRaw, m),
    });
    const dec = compare({
      ours: () => decodeWith(ours, m, data),
      pyro: () => decodeWith(msgpackrPyro, m, pyroData),
      raw: () => decodeWith(msgpackrRaw, m, rawData),
    });
    rows.push([
      m.name,
      String(data.length),
      us(enc.ours!),
      us(enc.pyro!),
      (enc.pyro! / enc.ours!).toFixed(2),
      us(enc.raw!),
      (enc.raw! / enc.ours!).toFixed(2),
      us(dec.ours!),
      us(dec.pyro!),
      (dec.pyro! / dec.ours!).toFixed(2),
      us(dec.raw!),
      (dec.raw! / dec.ours!).toFixed(2),
    ]);
    figures.push({ section: "msgpack", message: m.name, bytes: data.length, enc, dec });
  }
  table(rows);

  console.log(
    "\nFramed encode (no copy, valid until the next encode): ours dumpsFramed vs msgpackr",
  );
  console.log("REUSE_BUFFER_MODE, both with the Pyro5 semantics above\n");
  const framedRows = [["message", "ours", "msgpackr pyro", "ratio"]];
  for (
    const m of MESSAGES.filter((m) => !m.name.startsWith("bytes") && !m.name.startsWith("1000"))
  ) {
    const t = compare({
      ours: () => m.call ? ours.dumpsCallFramed(m.call) : ours.dumpsFramed(m.value),
      pyro: () => m.call ? msgpackrPyro.dumpsCall(m.call, true) : msgpackrPyro.dumps(m.value, true),
    });
    framedRows.push([m.name, us(t.ours!), us(t.pyro!), (t.pyro! / t.ours!).toFixed(2)]);
    figures.push({ section: "msgpack-framed", message: m.name, enc: t });
  }
  table(framedRows);

  console.log(
    "\nSame bytes as ours / same value back as ours / Python msgpack re-encodes them exactly\n",
  );
  const payloads: Uint8Array[] = [];
  const checks: { name: string; codec: string; same: boolean; value: boolean; idx: number }[] = [];
  const cases: [string, Message][] = [
    ...MESSAGES.map((m): [string, Message] => [m.name, m]),
    ...EDGE_VALUES.map(([n, v]): [string, Message] => [n, { name: n, value: v }]),
  ];
  for (const [name, m] of cases) {
    const want = encodeWith(ours, m);
    const wantValue = decodeWith(ours, m, want);
    for (const [codecName, codec] of Object.entries(CODECS)) {
      let bytes: Uint8Array;
      try {
        bytes = encodeWith(codec, m);
      } catch {
        checks.push({ name, codec: codecName, same: false, value: false, idx: -1 });
        continue;
      }
      let value = false;
      try {
        value = isDeepStrictEqual(normalize(decodeWith(codec, m, bytes)), normalize(wantValue));
      } catch { /* value stays false */ }
      checks.push({
        name,
        codec: codecName,
        same: hex(bytes) === hex(want),
        value,
        idx: payloads.push(bytes) - 1,
      });
    }
  }
  const python = await pythonReencodes(payloads);
  const yes = (b: boolean) => (b ? "yes" : "NO");
  const checkRows = [["case", ...Object.keys(CODECS).map((c) => `${c}: bytes/value/python`)]];
  for (const [name] of cases) {
    checkRows.push([
      name,
      ...Object.keys(CODECS).map((c) => {
        const k = checks.find((x) => x.name === name && x.codec === c)!;
        if (k.idx < 0) return "encode fails";
        const py = python === null ? "n/a" : yes(python[k.idx]!);
        return `${yes(k.same)}/${yes(k.value)}/${py}`;
      }),
    ]);
  }
  table(checkRows);
  figures.push({ section: "msgpack-interop", checks, python });

  console.log("\nBad input (tests/msgpack_test.ts cases and bombs): outcome and time\n");
  const bad: [string, Uint8Array][] = [
    ["truncated array 93", unhex("93")],
    ["bad type byte c1", unhex("c1")],
    ["trailing byte 0101", unhex("0101")],
    ["unknown ext 5", unhex("d40500")],
    ["msgpackr ext 0x73 (Set)", unhex("d47390")],
    ["msgpackr ext 0x78 (RegExp)", unhex("c70878" + "92a3282e2a29a0")],
    ["ext 0 (undefined)", unhex("d40000")],
    ["__proto__ key", unhex("81a95f5f70726f746f5f5f01")],
    ["array32 of 4e9", unhex("ddffffffff01")],
    ["map32 of 4e9", unhex("dfffffffff0101")],
    ["bin32 of 4e9", unhex("c6ffffffff00")],
    ["5000 nested arrays", new Uint8Array(5000).fill(0x91)],
    ["1e6 nested arrays", new Uint8Array(1_000_000).fill(0x91)],
    ["int 2^53 as uint64", unhex("cf0020000000000000")],
  ];
  const badRows = [["input", "ours", "msgpackr pyro", "msgpackr raw"]];
  for (const [name, data] of bad) {
    badRows.push([
      name,
      outcome(() => ours.loads(data)),
      outcome(() => msgpackrPyro.loads(data)),
      outcome(() => msgpackrRaw.loads(data)),
    ]);
  }
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  badRows.push([
    "encode a cycle",
    outcome(() => ours.dumps(cyclic)),
    outcome(() => msgpackrPyro.dumps(cyclic)),
    outcome(() => msgpackrRaw.dumps(cyclic)),
  ]);
  badRows.push([
    "encode a function",
    outcome(() => ours.dumps({ f: () => 1 })),
    outcome(() => msgpackrPyro.dumps({ f: () => 1 })),
    outcome(() => msgpackrRaw.dumps({ f: () => 1 })),
  ]);
  table(badRows);
  figures.push({ section: "msgpack-bad-input", rows: badRows });
}

/** Buffers of any class compare by content (msgpackr returns Node Buffers). */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(normalize);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [normalize(k), normalize(x)]));
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Regex

/** The differential cases of tests/naming_regex_test.ts, and a few more that users send. */
const PATTERNS = [...PYTHON_REGEX_PATTERNS, "a$\\n", "\\w\\b", "é\\b"];
const SUBJECTS = [...PYTHON_REGEX_SUBJECTS, "éx", "é!"];
const REFUSED = ["(a)\\1", "(?P<x>a)(?P=x)", "(?=a)", "(?<!a)b", "(?>a)", "a*+", "(?(1)a|b)"];

async function pythonMatches(): Promise<(boolean[] | null)[] | null> {
  try {
    if (!Deno.statSync(PYTHON).isFile) return null;
  } catch {
    return null;
  }
  const script = `
import json, re, sys
pats, subs = json.load(sys.stdin)
out = []
for p in pats:
    try:
        r = re.compile(p)
        out.append([bool(r.match(s)) for s in subs])
    except re.error:
        out.append(None)
print(json.dumps(out))
`;
  const child = new Deno.Command(PYTHON, {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify([PATTERNS, SUBJECTS])));
  await w.close();
  const out = await child.output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

type Compile = (pattern: string) => (name: string) => boolean;
const ENGINES: Record<string, Compile> = { ours: compilePythonRegex, re2js: compileWithRe2js };

async function benchRegex(): Promise<void> {
  console.log(
    "\n## Name Server regexes: ours vs npm:re2js@2.10.0 (behind a Python-to-RE2 rewrite)",
  );
  const expected = await pythonMatches();
  console.log("\nAgreement with Python's re.match on the test's patterns x subjects\n");
  const agreeRows = [[
    "engine",
    "patterns agreeing",
    "wrong accept/reject of pattern",
    "wrong matches",
  ]];
  const disagreements: Record<string, string[]> = {};
  for (const [engine, compile] of Object.entries(ENGINES)) {
    let agree = 0, badCompile = 0, badMatch = 0;
    const notes: string[] = (disagreements[engine] = []);
    PATTERNS.forEach((p, i) => {
      const want = expected?.[i];
      let match: ((s: string) => boolean) | null = null;
      try {
        match = compile(p);
      } catch { /* refused */ }
      if (want === null || want === undefined) {
        if (match === null) agree++;
        else (badCompile++, notes.push(`${JSON.stringify(p)}: accepted, Python refuses`));
        return;
      }
      if (match === null) {
        badCompile++;
        notes.push(`${JSON.stringify(p)}: refused, Python accepts`);
        return;
      }
      let ok = true;
      SUBJECTS.forEach((s, j) => {
        if (match!(s) !== want[j]) {
          ok = false;
          badMatch++;
          notes.push(`re.match(${JSON.stringify(p)}, ${JSON.stringify(s)}) should be ${want[j]}`);
        }
      });
      if (ok) agree++;
    });
    agreeRows.push([engine, `${agree}/${PATTERNS.length}`, String(badCompile), String(badMatch)]);
  }
  if (expected === null) console.log("  (python3 missing: agreement not checked)");
  table(agreeRows);
  for (const [engine, notes] of Object.entries(disagreements)) {
    if (notes.length > 0) {
      console.log(
        `  ${engine}: ${notes.slice(0, 12).join("; ")}${
          notes.length > 12 ? ` (+${notes.length - 12} more)` : ""
        }`,
      );
    }
  }
  figures.push({ section: "regex-agreement", rows: agreeRows, disagreements });

  console.log("\nRefusals and error texts\n");
  const errRows = [["pattern", "ours", "re2js"]];
  const errText = (compile: Compile, p: string) => {
    try {
      compile(p);
      return "accepted";
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`.slice(0, 90);
    }
  };
  for (const p of [...REFUSED, "(a", "a**", "[a", "a{2,1}", "a".repeat(1001), "(a{1000}){100}"]) {
    errRows.push([
      p.length > 20 ? p.slice(0, 14) + `… (${p.length})` : p,
      errText(ENGINES.ours!, p),
      errText(ENGINES.re2js!, p),
    ]);
  }
  table(errRows);
  figures.push({ section: "regex-errors", rows: errRows });

  console.log("\nSpeed (µs per operation, median of alternating rounds; ratio = re2js / ours)\n");
  const names = Array.from({ length: 100_000 }, (_, i) => `bench.g${i % 1000}.n${i}`);
  let seed = 7;
  const randomAb = Array.from({ length: 400 }, () => {
    let s = "";
    for (let i = 0; i < 30; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      s += seed & 0x100 ? "a" : "b";
    }
    return s;
  });
  const speedRows = [["case", "ours", "re2js", "ratio"]];
  const speed = (label: string, fns: Record<string, () => unknown>, ms = RUN_MS) => {
    const t = compare(fns, ms);
    speedRows.push([label, us(t.ours!), us(t.re2js!), (t.re2js! / t.ours!).toFixed(2)]);
    figures.push({ section: "regex-speed", case: label, us: t });
  };
  const validPatterns = PATTERNS.filter((p) => {
    try {
      compilePythonRegex(p);
      compileWithRe2js(p);
      return true;
    } catch {
      return false;
    }
  });
  speed(`compile ${validPatterns.length} test patterns`, {
    ours: () => validPatterns.forEach((p) => compilePythonRegex(p)),
    re2js: () => validPatterns.forEach((p) => compileWithRe2js(p)),
  });
  const scans: [string, string][] = [
    ["scan 100k names: bench\\.g7\\.n1.*", "bench\\.g7\\.n1.*"],
    ["scan 100k names: .*\\.n999.*", ".*\\.n999.*"],
    ["scan 100k names: (?i)BENCH\\.G1\\d\\.", "(?i)BENCH\\.G1\\d\\."],
    ["scan 100k names: [a-z]+\\.g\\d+\\.n\\d+$", "[a-z]+\\.g\\d+\\.n\\d+$"],
    ["scan 100k names: \\w+\\.g7\\b", "\\w+\\.g7\\b"],
  ];
  for (const [label, p] of scans) {
    const a = compilePythonRegex(p), b = compileWithRe2js(p);
    if (names.filter(a).length !== names.filter(b).length) {
      speedRows.push([label, "results differ", "", ""]);
    }
    speed(label, { ours: () => names.filter(a), re2js: () => names.filter(b) }, RUN_MS * 3);
  }
  const patho: [string, string, string[]][] = [
    ["(a+)+$ on a*20000+b", "(a+)+$", ["a".repeat(20000) + "b"]],
    ["(a|aa)+b on a*20000", "(a|aa)+b", ["a".repeat(20000)]],
    ["(x+x+)+y on x*5000", "(x+x+)+y", ["x".repeat(5000)]],
    ["(a|b)*a(a|b){12}$ on 400 random", "(a|b)*a(a|b){12}$", randomAb],
    ["(.*a){12} on a*1000", "(.*a){12}", ["b".repeat(1000)]],
  ];
  for (const [label, p, inputs] of patho) {
    const a = compilePythonRegex(p), b = compileWithRe2js(p);
    speed(label, { ours: () => inputs.forEach(a), re2js: () => inputs.forEach(b) });
    speed(label + " (compile+match)", {
      ours: () => inputs.forEach(compilePythonRegex(p)),
      re2js: () => inputs.forEach(compileWithRe2js(p)),
    });
  }
  table(speedRows);
}

console.log(
  `codec_libs: Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${QUICK ? "quick" : "full"} run`,
);
if (opts.only === undefined || opts.only === "msgpack") await benchMsgpack();
if (opts.only === undefined || opts.only === "regex") await benchRegex();
if (opts.out !== undefined) {
  await Deno.writeTextFile(
    opts.out,
    JSON.stringify(
      { date: new Date().toISOString(), quick: QUICK, figures },
      (_k, v) => typeof v === "bigint" ? v.toString() : v,
      2,
    ),
  );
}
