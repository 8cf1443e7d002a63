/**
 * Fuzz tests of the serpent decoder (seeded, bounded): whatever arrives from the network, the
 * decoder ends with a value or a `SerializeError`, never another exception, and never hangs.
 * Also a seeded round trip of random values through our own encoder and decoder.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SerializeError } from "../errors.ts";
import { serpentSerializer } from "../_codecs/serpent.ts";
import { Complex, isTuple, tuple } from "../value.ts";

const te = new TextEncoder();
/** A hang detector, not a performance assertion: no single input may take this long. */
const HANG_MS = 2000;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decodes and checks the outcome: a value or a SerializeError, in bounded time. */
function check(data: Uint8Array | string, label: string): "value" | "error" {
  const bytes = typeof data === "string" ? te.encode(data) : data;
  const start = performance.now();
  let outcome: "value" | "error";
  try {
    serpentSerializer.loads(bytes);
    outcome = "value";
  } catch (e) {
    if (!(e instanceof SerializeError)) {
      assert.fail(
        `${label}: ${e instanceof Error ? e.name : typeof e} instead of SerializeError: ${e}`,
      );
    }
    outcome = "error";
  }
  const ms = performance.now() - start;
  assert.ok(ms < HANG_MS, `${label}: took ${ms.toFixed(0)} ms`);
  return outcome;
}

async function transcriptTexts(): Promise<string[]> {
  const dir = new URL("../../shared/interop/transcripts/", import.meta.url);
  const texts: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".serpent.json")) continue;
    const doc = JSON.parse(await Deno.readTextFile(new URL(entry.name, dir)));
    for (const frame of doc.frames) {
      const t = frame.decoded.payload_text;
      if (typeof t === "string") texts.push(t);
    }
  }
  return texts.sort();
}

Deno.test("Random bytes decode to a value or a SerializeError", () => {
  const rnd = prng(1);
  const syntax = te.encode("()[]{},:'\"\\0123456789.eEjJxXoObB_-+ \n\r\t#rbuNTFs\0é");
  for (let n = 0; n < 4000; n++) {
    const len = Math.floor(rnd() * 120);
    const bytes = new Uint8Array(len);
    const alphabet = n % 2 === 0; // half from the syntax alphabet, half arbitrary bytes
    for (let i = 0; i < len; i++) {
      bytes[i] = alphabet ? syntax[Math.floor(rnd() * syntax.length)]! : Math.floor(rnd() * 256);
    }
    check(bytes, `random #${n}`);
  }
});

Deno.test("Every truncation of every transcript payload ends in a SerializeError or a value", async () => {
  const texts = await transcriptTexts();
  let errors = 0;
  for (const t of texts) {
    const step = Math.max(1, Math.floor(t.length / 200));
    for (let cut = 0; cut < t.length; cut += step) {
      if (check(t.slice(0, cut), `prefix ${cut} of ${t.slice(26, 60)}`) === "error") errors++;
    }
    assert.equal(check(t, "whole"), "value");
  }
  assert.ok(errors > 1000);
});

Deno.test("Mutated transcript payloads end in a SerializeError or a value", async () => {
  const texts = await transcriptTexts();
  const rnd = prng(7);
  const pieces = [
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "'",
    '"',
    "\\",
    "j",
    "e",
    "-",
    "1",
    " ",
    "\n",
    "#",
    "b",
    "r",
  ];
  for (let n = 0; n < 3000; n++) {
    let t = texts[Math.floor(rnd() * texts.length)]!;
    const edits = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(rnd() * t.length);
      const piece = pieces[Math.floor(rnd() * pieces.length)]!;
      const op = rnd();
      t = op < 0.33
        ? t.slice(0, at) + piece + t.slice(at)
        : op < 0.66
        ? t.slice(0, at) + t.slice(at + 1)
        : t.slice(0, at) + piece + t.slice(at + 1);
    }
    check(t, `mutation #${n}`);
  }
});

Deno.test("Unbalanced brackets, depth bombs, huge numbers and long strings are bounded", () => {
  const big = 1_000_000;
  const cases: [string, string, "value" | "error"][] = [
    ["open lists", "[".repeat(big), "error"],
    ["open tuples", "(".repeat(big), "error"],
    ["open dicts", "{'a':".repeat(100_000), "error"],
    ["closers", ")]}".repeat(100_000), "error"],
    ["balanced but deep", "[".repeat(5000) + "]".repeat(5000), "error"],
    ["mixed", "[(".repeat(150) + ")]".repeat(150), "error"],
    ["signs", "-".repeat(big) + "1", "error"],
    ["decimal digits", "9".repeat(big), "error"],
    ["hex digits", "0x" + "f".repeat(big), "error"],
    ["float digits", "1." + "1".repeat(big), "error"],
    ["exponent digits", "1e" + "9".repeat(big), "error"],
    ["4300 digits", "9".repeat(4300), "value"],
    ["long float", "0." + "3".repeat(9000), "value"],
    ["long string", "'" + "a".repeat(big) + "'", "value"],
    ["long unterminated string", "'" + "a".repeat(big), "error"],
    ["long escaped string", "'" + "\\x41\\u00e9\\n".repeat(100_000) + "'", "value"],
    ["long triple string", "'''" + "a'\n".repeat(300_000) + "'''", "value"],
    ["unterminated triple string", '"""' + "ab\n".repeat(300_000), "error"],
    ["many adjacent literals", "'a' ".repeat(100_000), "value"],
    ["many adjacent bytes", "b'a' ".repeat(100_000), "value"],
    ["wide list", "[" + "1,".repeat(300_000) + "]", "value"],
    [
      "wide dict",
      "{" + Array.from({ length: 100_000 }, (_, i) => `'k${i}':${i}`).join(",") + "}",
      "value",
    ],
    ["many comments", "#\n".repeat(300_000) + "1", "value"],
    ["comment without newline", "# " + "x".repeat(big), "error"],
    ["backslashes", "\\".repeat(big), "error"],
    ["nul in string", "'a\0b'", "error"],
  ];
  for (const [label, text, want] of cases) {
    assert.equal(check(text, label), want, label);
  }
});

function randomValue(rnd: () => number, depth: number): unknown {
  const pick = Math.floor(rnd() * (depth > 4 ? 8 : 14));
  const int = () => Math.floor(rnd() * 2000) - 1000;
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rnd() < 0.5;
    case 2:
      return int();
    case 3:
      return [rnd() * 1e-8, rnd() * 1e20, -rnd(), 1.5, -0, NaN, Infinity][Math.floor(rnd() * 7)];
    case 4:
      return BigInt(int()) * 10n ** 20n + 1n;
    case 5: {
      let s = "";
      const n = Math.floor(rnd() * 12);
      for (let i = 0; i < n; i++) {
        const r = rnd();
        s += r < 0.6
          ? String.fromCharCode(32 + Math.floor(rnd() * 95))
          : r < 0.8
          ? String.fromCharCode(Math.floor(rnd() * 0x800))
          : r < 0.9
          ? String.fromCodePoint(0x10000 + Math.floor(rnd() * 0x100000))
          : String.fromCharCode(0xd800 + Math.floor(rnd() * 0x800));
      }
      return s;
    }
    case 6:
      return Uint8Array.from({ length: Math.floor(rnd() * 10) }, () => Math.floor(rnd() * 256));
    case 7:
      return new Complex(int() / 4, int() / 8);
    case 8:
    case 9: {
      const items = Array.from(
        { length: Math.floor(rnd() * 5) },
        () => randomValue(rnd, depth + 1),
      );
      return pick === 8 ? items : tuple(...items);
    }
    case 10:
      return new Set(Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => int()));
    case 11:
      return new Map<unknown, unknown>([[int(), randomValue(rnd, depth + 1)], ["k", null]]);
    default: {
      const obj: Record<string, unknown> = {};
      const n = Math.floor(rnd() * 5);
      for (let i = 0; i < n; i++) obj[`k${i}'"\n${i}`] = randomValue(rnd, depth + 1);
      return obj;
    }
  }
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number") return Object.is(a, b);
  if (typeof a !== "object" || a === null) return a === b;
  if (typeof b !== "object" || b === null) return false;
  if (Array.isArray(a)) {
    return Array.isArray(b) && isTuple(a) === isTuple(b) && a.length === b.length &&
      a.every((x, i) => same(x, b[i]));
  }
  if (a instanceof Uint8Array) return b instanceof Uint8Array && a.join() === b.join();
  if (a instanceof Complex) return b instanceof Complex && a.equals(b);
  if (a instanceof Set) {
    return b instanceof Set && a.size === b.size && [...a].every((x) => b.has(x));
  }
  if (a instanceof Map) {
    return b instanceof Map && a.size === b.size && [...a].every(([k, v]) => same(v, b.get(k)));
  }
  const ka = Object.keys(a);
  return same(ka, Object.keys(b)) &&
    ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

Deno.test("Random values survive a round trip through our encoder and decoder", () => {
  const rnd = prng(42);
  for (let n = 0; n < 2000; n++) {
    const v = randomValue(rnd, 0);
    const back = serpentSerializer.loads(serpentSerializer.dumps(v));
    assert.ok(same(v, back), `#${n}: ${Deno.inspect(v)} came back as ${Deno.inspect(back)}`);
  }
});
