/**
 * Smoke test of the benchmark suite: its quick mode runs as a subprocess (unpinned, nothing
 * written) and prints every catalogued figure. No timing assertions: values may be anything.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FIGURES } from "../bench/_pyro_figures.ts";

Deno.test("Quick benchmark run exits cleanly and prints every figure", async () => {
  const main = new URL("../bench/main.ts", import.meta.url).pathname;
  const env: Record<string, string> = { RUST_BACKTRACE: "0", NO_COLOR: "1" };
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", main, "--quick", "--no-write", "--mode=unpinned"],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `bench/main.ts --quick failed:\n${stderr.slice(-2000)}`);
  const printed = new Set(stdout.split("\n").map((line) => line.split(/\s+/)[0]));
  const missing = FIGURES.map((f) => f.name).filter((name) => !printed.has(name));
  assert.deepEqual(missing, [], `figures not printed:\n${stdout.slice(-3000)}`);
  assert.match(stdout, /^figure\s+mode\s+value/m);
});
