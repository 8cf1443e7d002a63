/**
 * Users may import the library by URL, where no import map applies: this serves the project
 * over HTTP on 127.0.0.1 and imports `mod.ts` from that URL with `--no-config`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

Deno.test("mod.ts works when imported by URL without a config file", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      if (path.includes("..")) return new Response("bad path", { status: 400 });
      try {
        const body = await Deno.readFile(root + path.slice(1));
        return new Response(body, { headers: { "content-type": "application/typescript" } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/client.ts`;
    await Deno.writeTextFile(
      script,
      `import * as pyro from "${base}/mod.ts";
const daemon = new pyro.Daemon({ host: "127.0.0.1", port: 0 });
const uri = daemon.register(pyro.expose({ add(a: number, b: number) { return a + b; } }), "calc");
const calc = pyro.createProxy<{ add(a: number, b: number): number }>(uri);
console.log("sum=" + (await calc.add(2, 3)));
await calc._pyroRelease();
await daemon.close();
`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--no-lock",
        `--allow-import=127.0.0.1:${server.addr.port}`,
        "--allow-net=127.0.0.1",
        "--allow-env",
        "--allow-read",
        script,
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.match(stdout, /sum=5/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.shutdown();
  }
});
