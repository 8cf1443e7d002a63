/** Runs the soak test's quick mode (about 20 s): nothing may be lost or run twice unasked. */

import assert from "node:assert/strict";

Deno.test("The quick soak loses no call, oneway or registration under faults", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../bench/soak.ts", import.meta.url).pathname, "--quick"],
    stdout: "piped",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  console.log(text.trim());
  assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
  const figures = JSON.parse(text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1));
  assert.equal(figures.onewayLost, 0);
  assert.equal(figures.nsLost, 0);
  assert.equal(figures.executedMoreThanSent, 0);
  assert.ok(figures.ok > 0 && figures.serverRestarts > 0);
});
