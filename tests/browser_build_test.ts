/**
 * The browser build of the client (`browser_build.ts`): one ES module without Deno APIs, whose
 * proxies work over WebSocket and explain that they need `via` otherwise. Loaded here in Deno
 * (the Chromium tests load it in a page).
 */

import assert from "node:assert/strict";
import { bundleBrowserClient } from "../browser_build.ts";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";

Deno.test("Browser client bundles into one module that uses no Deno API and proxies over WebSocket", async () => {
  const js = await bundleBrowserClient();
  assert.doesNotMatch(js, /(?<!Symbol\.for\(")\bDeno\.(?!customInspect\b)\w+/);
  assert.doesNotMatch(js, /\bfrom\s*"(node|npm|jsr):/); // everything bundled
  const url = URL.createObjectURL(new Blob([js], { type: "text/javascript" }));
  // deno-lint-ignore no-explicit-any
  let pyro: any;
  try {
    pyro = await import(url);
  } finally {
    URL.revokeObjectURL(url);
  }
  const direct = pyro.createProxy("PYRO:calc@127.0.0.1:1");
  await assert.rejects(() => direct._pyroBind(), (e: Error) => {
    assert.ok(e instanceof pyro.CommunicationError);
    assert.match(e.message, /give it the 'via' option/);
    return true;
  });

  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = daemon.register(expose({ add: (a: number, b: number) => a + b }), "calc");
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => daemon.websocketHandler(req, info),
  );
  const calc = pyro.createProxy(uri.toString(), { via: `ws://127.0.0.1:${server.addr.port}/` });
  assert.equal(await calc.add(20, 22), 42);
  await calc._pyroRelease();
});
