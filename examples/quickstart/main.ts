/**
 * The main job: the seed scenario end to end. Starts a Name Server, then the server and the
 * client of `examples/quickstart` as separate processes, and prints what each one does.
 *
 * Run: `deno task demo`.
 *
 * @module
 */

import { startNameServer } from "../../mod.ts";

const here = new URL(".", import.meta.url);

function prefixLines(stream: ReadableStream<Uint8Array>, onLine?: (line: string) => void) {
  return (async () => {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        console.log(`  ${line}`);
        onLine?.(line);
      }
    }
    if (pending) console.log(`  ${pending}`);
  })();
}

await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
console.log(`name server: running at ${ns.uri}`);
const env = {
  PYRO_NS_HOST: "127.0.0.1",
  PYRO_NS_PORT: String(ns.uri.port),
  PYRO_BROADCAST_ADDRS: "127.255.255.255",
  NO_COLOR: "1",
  RUST_BACKTRACE: "0",
};

function deno(script: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, here).pathname],
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

const server = deno("server.ts");
const ready = Promise.withResolvers<void>();
const serverOutput = prefixLines(server.stdout, (line) => {
  if (line === "server: ready") ready.resolve();
});
const serverErrors = prefixLines(server.stderr);
const exited = server.status.then((status) => {
  ready.reject(new Error(`the server exited early with code ${status.code}`));
  return status;
});
await ready.promise;

const client = deno("client.ts");
await Promise.all([prefixLines(client.stdout), prefixLines(client.stderr)]);
const clientStatus = await client.status;

server.kill("SIGTERM");
await Promise.all([serverOutput, serverErrors, exited]);
const names = await ns.nameServer.list(null, null, false);
console.log(
  `name server: ${Object.keys(names).length} names registered: ${Object.keys(names).join(", ")}`,
);
console.log(clientStatus.success ? "demo: done" : `demo: the client failed (${clientStatus.code})`);
if (!clientStatus.success) Deno.exitCode = 1;
