/**
 * The name server's linear-time regex matcher against Python's own `re.match`, run on the
 * same patterns and names (differential; skipped when /usr/bin/python3 is missing), and its
 * refusals.
 */

import assert from "node:assert/strict";
import { PYTHON_REGEX_PATTERNS, PYTHON_REGEX_SUBJECTS } from "./_regex_patterns.ts";
import { compilePythonRegex, RegexSyntaxError } from "../_naming/regex.ts";

Deno.test({
  name: "Name server regexes match names exactly like Python's re.match",
  ignore: !(() => {
    try {
      return Deno.statSync("/usr/bin/python3").isFile;
    } catch {
      return false;
    }
  })(),
  fn: async () => {
    const patterns = PYTHON_REGEX_PATTERNS;
    const subjects = PYTHON_REGEX_SUBJECTS;
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
    const child = new Deno.Command("/usr/bin/python3", {
      args: ["-c", script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify([patterns, subjects])));
    await writer.close();
    const output = await child.output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const expected = JSON.parse(new TextDecoder().decode(output.stdout)) as (boolean[] | null)[];
    patterns.forEach((pattern, i) => {
      const want = expected[i];
      if (want === null || want === undefined) {
        assert.throws(() => compilePythonRegex(pattern), `pattern ${JSON.stringify(pattern)}`);
        return;
      }
      const match = compilePythonRegex(pattern);
      subjects.forEach((subject, j) => {
        assert.equal(
          match(subject),
          want[j],
          `re.match(${JSON.stringify(pattern)}, ${JSON.stringify(subject)})`,
        );
        if (want[j]) assert.ok(subject.startsWith(match.prefix), `prefix of ${pattern}`);
      });
    });
  },
});

Deno.test("Regex matcher refuses patterns that need backtracking, or are too long or too large", () => {
  for (
    const pattern of ["(a)\\1", "(?P<x>a)(?P=x)", "(?=a)", "(?<!a)b", "(?>a)", "a*+", "(?(1)a|b)"]
  ) {
    assert.throws(() => compilePythonRegex(pattern), RegexSyntaxError, pattern);
  }
  assert.throws(() => compilePythonRegex("a".repeat(1001)), /too long/);
  assert.throws(() => compilePythonRegex("(a{1000}){100}"), /too complex/);
  assert.equal(compilePythonRegex("(a+)+$")("a".repeat(20000) + "b"), false);
});

Deno.test("Regex matcher reports the literal prefix every match starts with", () => {
  const prefix = (p: string) => compilePythonRegex(p).prefix;
  assert.equal(prefix("demo\\.b.*"), "demo.b");
  assert.equal(prefix("^(demo)\\.x"), "demo.x");
  assert.equal(prefix("abc*"), "ab");
  assert.equal(prefix("demo\\.b|other"), "");
  assert.equal(prefix("(?i)abc"), "");
  assert.equal(prefix("a{2}"), "");
  assert.equal(prefix("\\x41\\u00e9z?"), "A\u00e9");
});

Deno.test("Regex matcher stays right when a pattern needs more DFA states than it caches", () => {
  // (a|b)*a(a|b){12} has 2^13 DFA states: past the cache cap the scan goes on uncached.
  const match = compilePythonRegex("(a|b)*a(a|b){12}$");
  const dfaMatch = compilePythonRegex("(a|b)*a(a|b){12}c");
  const reference = /^(?:(a|b)*a(a|b){12})$/;
  let seed = 7;
  for (let n = 0; n < 400; n++) {
    let s = "";
    for (let i = 0; i < 30; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      s += seed & 0x100 ? "a" : "b";
    }
    assert.equal(match(s), reference.test(s), s);
    assert.equal(dfaMatch(s + "c"), reference.test(s), s);
  }
});
