/**
 * Tests of the serpent codec's byte-level paths: the decoder's fast path (_codecs/serpent_fast.ts)
 * gives exactly what the full parser gives, or leaves the payload to it; the reusable writer
 * (_codecs/serpent_encode.ts) keeps its output intact across large outputs and hooks that
 * encode again.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SerializeError } from "../errors.ts";
import { serpentSerializer } from "../_codecs/serpent.ts";
import { decodeSerpentText } from "../_codecs/serpent_decode.ts";
import { SERPENT_HEADER } from "../_codecs/serpent_encode.ts";
import { fastDecode, NOT_FAST } from "../_codecs/serpent_fast.ts";
import {
  registerClassToDict,
  registerDictToClass,
  unregisterClassToDict,
  unregisterDictToClass,
} from "../class_registry.ts";
import { isTuple, tuple } from "../value.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const strict = new TextDecoder("utf-8", { fatal: true });
const HEADER_LENGTH = SERPENT_HEADER.length;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

/** Structural equality that also compares tuple marks, -0, NaN and prototypes. */
function sameValue(a: unknown, b: unknown, path = "$"): string | null {
  if (typeof a !== typeof b) return `${path}: ${typeof a} vs ${typeof b}`;
  if (typeof a === "number") return Object.is(a, b) ? null : `${path}: ${a} vs ${b}`;
  if (typeof a !== "object" || a === null || b === null) {
    return a === b ? null : `${path}: ${String(a)} vs ${String(b)}`;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: prototype`;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (isTuple(a) !== isTuple(other)) return `${path}: tuple mark`;
    if (a.length !== other.length) return `${path}: length`;
    for (let i = 0; i < a.length; i++) {
      const d = sameValue(a[i], other[i], `${path}[${i}]`);
      if (d !== null) return d;
    }
    return null;
  }
  if (a instanceof Set || a instanceof Map) {
    return sameValue([...a], [...(b as Set<unknown>)], `${path}<entries>`);
  }
  if (Object.getPrototypeOf(a) !== Object.prototype) {
    return String(a) === String(b) ? null : `${path}: ${String(a)} vs ${String(b)}`;
  }
  const keys = Object.keys(a);
  if (keys.join("\0") !== Object.keys(b as object).join("\0")) return `${path}: keys`;
  for (const k of keys) {
    const d = sameValue(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      `${path}.${k}`,
    );
    if (d !== null) return d;
  }
  return null;
}

const PIECES = [
  "'a'",
  '"b"',
  "''",
  "'it''s'",
  "'x\\n'",
  "u'x'",
  "b'x'",
  "0",
  "7",
  "-3",
  "-0",
  "- 4",
  "+5",
  "1.5",
  "-0.0",
  "1e5",
  "2E-3",
  "1.",
  ".5",
  "00",
  "012",
  "1_0",
  "0x1f",
  "3j",
  "1+2j",
  "123456789012345",
  "1234567890123456",
  "12345678901234567890",
  "None",
  "True",
  "False",
  "Nonex",
  "set()",
  "()",
  "(1)",
  "(1,)",
  "(1,2)",
  "[]",
  "[1,]",
  "{}",
  "{1}",
  "{'k':1}",
  "{1:2}",
  "{'__proto__':1}",
  "{'data':'aGk=','encoding':'base64'}",
  "{'__class__':'float','value':'nan'}",
  " ",
  "\t",
  "\n",
  "# c\n",
  "\\\n",
  "é",
  "\0",
  // Long strings, read on the fast path from the payload's text: plain, with an escape, a
  // newline, a tab or a non-ASCII character near the end, or unterminated.
  `'${"x".repeat(70)}'`,
  `'${"y".repeat(70)}\\n'`,
  `'${"z".repeat(66)}\n'`,
  `'${"t".repeat(65)}\t'`,
  `'${"u".repeat(80)}é'`,
  `"${"v".repeat(64)}'"`,
  `'${"w".repeat(64)}`,
  // Non-ASCII, escapes and triple quotes (the scanner of the full parser, on the text).
  "'é'",
  "'\ufeffx'",
  `'${"é".repeat(40)}'`,
  `'${"ü".repeat(40)}\\x'`,
  "'a\\u00e9'",
  "'\\''",
  '"\\""',
  "'''tri'ple'''",
  `'${"s".repeat(70)}\\\\'`,
];

/** Random literal text from pieces, some well formed, many not. */
function randomText(rnd: (n: number) => number, depth = 0): string {
  const k = rnd(depth > 3 ? 3 : 7);
  if (k < 3) return PIECES[rnd(PIECES.length)]!;
  const items = Array.from({ length: rnd(4) }, () => randomText(rnd, depth + 1));
  const sep = rnd(8) === 0 ? ", " : ",";
  switch (k) {
    case 3:
      return `(${items.join(sep)}${items.length === 1 && rnd(2) ? "," : ""})`;
    case 4:
      return `[${items.join(sep)}]`;
    case 5:
      return `{${items.map((v, i) => `${rnd(6) ? `'k${i}'` : v}:${v}`).join(sep)}}`;
    default:
      return `{${items.join(sep)}}`;
  }
}

Deno.test("Serpent's fast path reads exactly what the full parser reads, or leaves it", () => {
  const rnd = prng(18);
  let fast = 0;
  for (let i = 0; i < 20000; i++) {
    let body = randomText(rnd);
    if (rnd(3) === 0) { // past 256 bytes, numbers too are read from the text
      body = `[${body},${Array.from({ length: 40 }, (_, k) => `${k}.25`).join(",")}]`;
    }
    if (rnd(4) === 0) { // a cut or a stray character
      const at = rnd(body.length + 1);
      body = rnd(2) ? body.slice(0, at) : body.slice(0, at) + PIECES[rnd(PIECES.length)]! +
        body.slice(at);
    }
    const call = rnd(4) === 0;
    const maxDepth = 2 + rnd(6);
    const data = te.encode(SERPENT_HEADER + body);
    if (rnd(10) === 0) data[HEADER_LENGTH + rnd(data.length - HEADER_LENGTH)] = 0x80 + rnd(128);
    let quick: unknown;
    let quickError: unknown = null;
    try {
      quick = fastDecode(data, HEADER_LENGTH, { maxDepth, call });
    } catch (e) {
      quickError = e;
    }
    if (quick === NOT_FAST) continue;
    fast++;
    let full: unknown;
    let fullError: unknown = null;
    try {
      const text = strict.decode(data.subarray(HEADER_LENGTH)); // as the full path reads it
      full = decodeSerpentText(text, { maxDepth, call });
    } catch (e) {
      fullError = e;
    }
    if (quickError !== null || fullError !== null) {
      assert.ok(quickError instanceof SerializeError, `fast path error for ${body}`);
      assert.ok(fullError !== null, `full parser error for ${body}`); // (or not UTF-8)
      continue;
    }
    const difference = sameValue(full, quick);
    assert.equal(difference, null, `for ${JSON.stringify(body)}`);
  }
  assert.ok(fast > 2000, `only ${fast} payloads took the fast path`);
});

Deno.test("Serpent's fast path reads our own encoder's calls and results", () => {
  const values = [
    "hello",
    42,
    -7.25,
    null,
    [1, "two", tuple(3, tuple()), { k: new Set(["a", 1]) }],
    { data: new Uint8Array([1, 2, 3]), nested: { z: tuple("x") } },
    new Uint8Array([104, 105]),
  ];
  for (const value of values) {
    const data = serpentSerializer.dumps(value);
    const quick = fastDecode(data, HEADER_LENGTH, { maxDepth: 200, call: false });
    assert.notEqual(quick, NOT_FAST, td.decode(data));
    assert.equal(sameValue(decodeSerpentText(td.decode(data)), quick), null);
  }
  const call = { object: "thing", method: "echo", params: [tuple(1, 2)], kwargs: { k: "v" } };
  const data = serpentSerializer.dumpsCall(call);
  assert.notEqual(fastDecode(data, HEADER_LENGTH, { maxDepth: 200, call: true }), NOT_FAST);
  const back = serpentSerializer.loadsCall(data);
  assert.deepEqual(back, call);
  assert.ok(!isTuple(back.params) && isTuple(back.params[0]));
});

Deno.test("A dict revival hook runs once when the fast path gives up after its dict", () => {
  let runs = 0;
  registerDictToClass("test.Counted", () => {
    runs++;
    return "revived";
  });
  try {
    // The escape in the last string sends the payload to the full parser.
    const text = `${SERPENT_HEADER}[{'__class__':'test.Counted'},'a\\tb']`;
    assert.deepEqual(serpentSerializer.loads(te.encode(text)), ["revived", "a\tb"]);
    assert.equal(runs, 1);
    assert.deepEqual(
      serpentSerializer.loads(te.encode(`${SERPENT_HEADER}[{'__class__':'test.Counted'}]`)),
      ["revived"],
    );
    assert.equal(runs, 2);
  } finally {
    unregisterDictToClass("test.Counted");
  }
});

class Wrapper {
  constructor(readonly inner: unknown) {}
}

Deno.test("Serpent output stays intact across large outputs and hooks that encode again", () => {
  registerClassToDict(Wrapper, (w) => ({
    __class__: "test.Wrapper",
    text: td.decode(serpentSerializer.dumps(w.inner)),
  }));
  try {
    const large = "x".repeat(70000) + "é";
    const first = serpentSerializer.dumpsFramed!(large);
    const copy = first.slice();
    const second = serpentSerializer.dumpsFramed!(large + "2");
    assert.deepEqual(first, copy, "a handed-over large output is not written again");
    assert.equal(serpentSerializer.loads(second), large + "2");
    const small = serpentSerializer.dumps([1, new Wrapper(tuple("in", 2)), "after"]);
    assert.equal(
      td.decode(small),
      `${SERPENT_HEADER}[1,{'__class__':'test.Wrapper','text':"${SERPENT_HEADER.trim()}\\n('in',2)"},'after']`,
    );
    assert.equal(
      serpentSerializer.loads(serpentSerializer.dumps("é".repeat(30000))),
      "é".repeat(30000),
    );
  } finally {
    unregisterClassToDict(Wrapper);
  }
});
