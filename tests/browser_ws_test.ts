/**
 * Browser proxies in a real Chromium: a page loads the gateway's `/pyro/client.js` and calls a
 * TypeScript object (and a Python Pyro5 object when `PYRO5_PYTHONPATH` is set) over the
 * gateway's WebSocket relay: plain calls, a stream, a batch, a remote error, an attribute, a
 * oneway call, compressed frames both ways and an unexposed name; and a daemon mounted in an
 * app's own `Deno.serve` (`daemon.websocketHandler`), with the client module the app serves
 * itself. Skipped without `/usr/bin/chromium`.
 */

import { readLine } from "./_python.ts";
import assert from "node:assert/strict";
import { Daemon } from "../daemon.ts";
import { expose, oneway } from "../expose.ts";
import { startGateway } from "../gateway.ts";
import { startNameServer } from "../naming.ts";
import { browserClient } from "../browser_build.ts";
import { HAVE_CHROMIUM, launchChromium } from "./_chromium.ts";

const PYTHONPATH = (() => {
  try {
    return Deno.env.get("PYRO5_PYTHONPATH");
  } catch {
    return undefined;
  }
})();

class Shop {
  #fired: string[] = [];
  stock = 3;

  @expose
  add(a: number, b: number): number {
    return a + b;
  }

  @expose
  *count(n: number): Generator<number> {
    for (let i = 0; i < n; i++) yield i;
  }

  @expose
  fail(why: string): never {
    throw new RangeError(why);
  }

  @oneway
  fire(text: string): void {
    this.#fired.push(text);
  }

  @expose
  fired(): string[] {
    return this.#fired;
  }

  @expose
  get items(): number {
    return this.stock;
  }
}

const PYTHON_SERVER = String.raw`
import Pyro5.api
from Pyro5 import config
config.SERVERTYPE = "thread"
config.COMPRESSION = True

@Pyro5.api.expose
class PyShop:
    def __init__(self):
        self._fired = []
    def add(self, a, b):
        return a + b
    def count(self, n):
        for i in range(n):
            yield i
    def fail(self, why):
        raise ValueError(why)
    @Pyro5.api.oneway
    def fire(self, text):
        self._fired.append(text)
    def fired(self):
        return self._fired
    @property
    def items(self):
        return 3

daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
print(daemon.register(PyShop(), "pyshop"), flush=True)
daemon.requestLoop()
`;

/** What the page reports back from one object. */
interface PageReport {
  sum: number;
  items: number[];
  error: { name: string; remoteClass: string; message: string; isRemote: boolean };
  batch: unknown[];
  attribute: number;
  fired: string[];
  refused: string;
  compressed: number;
}

/** Runs in the page: every kind of call on one name, through the gateway. */
async function exercise(name: string): Promise<PageReport> {
  // deno-lint-ignore no-explicit-any
  const pyro: any = await import(new URL("/pyro/client.js", location.href).href);
  const via = new URL("/pyro/ws", location.href.replace(/^http/, "ws")).href;
  const shop = pyro.createProxy(`PYRONAME:${name}`, { via });
  const sum = await shop.add(2, 3);
  const items: number[] = [];
  for await (const i of await shop.count(4)) items.push(i);
  let error = { name: "", remoteClass: "", message: "", isRemote: false };
  try {
    await shop.fail("out of stock");
  } catch (caught) {
    // deno-lint-ignore no-explicit-any
    const e = caught as any;
    error = {
      name: e.name,
      remoteClass: e.remoteClass,
      message: e.message,
      isRemote: e instanceof pyro.RemoteError,
    };
  }
  const b = pyro.createBatch(shop);
  b.add(1, 1);
  b.add(2, 2);
  const batch = await b._pyroRun();
  const attribute = await shop._pyroGet("items");
  await shop.fire("hello");
  const fired = await shop.fired();
  await shop._pyroRelease();
  // compressed both ways: the request by this proxy, long replies by the daemon
  const packed = pyro.createProxy(`PYRONAME:${name}`, { via, compression: true });
  const compressed = (await packed.add("a".repeat(1000), "b")).length;
  await packed._pyroRelease();
  let refused = "";
  const secret = pyro.createProxy("PYRONAME:private.shop", { via });
  try {
    await secret._pyroBind();
  } catch (e) {
    refused = `${(e as Error).name}: ${(e as Error).message}`;
  }
  return { sum, items, error, batch, attribute, fired, refused, compressed };
}

function checkReport(report: PageReport, remoteClass: string): void {
  assert.equal(report.sum, 5);
  assert.deepEqual(report.items, [0, 1, 2, 3]);
  assert.equal(report.error.isRemote, true);
  assert.equal(report.error.remoteClass, remoteClass);
  assert.match(report.error.message, /out of stock/);
  assert.deepEqual(report.batch, [2, 4]);
  assert.equal(report.attribute, 3);
  assert.deepEqual(report.fired, ["hello"]);
  assert.match(report.refused, /^SecurityError: name 'private.shop' is not exposed/);
  assert.equal(report.compressed, 1001);
}

Deno.test({
  name: "A page in Chromium calls a TypeScript object through the gateway over WebSocket",
  ignore: !HAVE_CHROMIUM,
  sanitizeResources: false, // playwright's pipes to the browser process
  sanitizeOps: false,
  fn: async () => {
    await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
    await using daemon = new Daemon({ host: "127.0.0.1", port: 0, compression: true });
    ns.nameServer.register("http.shop", daemon.register(new Shop(), "shop").toString());
    ns.nameServer.register("private.shop", daemon.uriFor("shop").toString());
    await using gateway = await startGateway({
      host: "127.0.0.1",
      port: 0,
      ns: `127.0.0.1:${ns.uri.port}`,
    });
    await using browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${gateway.url}pyro/`);
    const report = await page.evaluate(exercise, "http.shop");
    checkReport(report, "builtins.ValueError");
  },
});

Deno.test({
  name: "A page in Chromium calls a Python Pyro5 object through the gateway over WebSocket",
  ignore: !HAVE_CHROMIUM || PYTHONPATH === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/server.py`, PYTHON_SERVER);
    const child = new Deno.Command("/usr/bin/python3", {
      args: [`${dir}/server.py`],
      env: { PYTHONPATH: PYTHONPATH!, PYRO_BROADCAST_ADDRS: "127.255.255.255" },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const uri = await readLine(child.stdout);
      assert.match(uri, /^PYRO:pyshop@127\.0\.0\.1:\d+$/);
      await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
      ns.nameServer.register("http.pyshop", uri);
      ns.nameServer.register("private.shop", uri);
      await using gateway = await startGateway({
        host: "127.0.0.1",
        port: 0,
        ns: `127.0.0.1:${ns.uri.port}`,
      });
      await using browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(`${gateway.url}pyro/`);
      const report = await page.evaluate(exercise, "http.pyshop");
      checkReport(report, "builtins.ValueError");
    } finally {
      child.kill();
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "A page in Chromium calls a daemon mounted in its own Deno.serve app over WebSocket",
  ignore: !HAVE_CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
    const uri = daemon.register(new Shop(), "shop");
    const client = await browserClient();
    await using app = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (
      req,
      info,
    ) => {
      const { pathname } = new URL(req.url);
      if (pathname === "/pyro") return daemon.websocketHandler(req, info);
      if (pathname === "/pyro-client.js") {
        return new Response(client, { headers: { "content-type": "text/javascript" } });
      }
      return new Response("<!doctype html><title>app</title>", {
        headers: { "content-type": "text/html" },
      });
    });
    await using browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${app.addr.port}/`);
    const result = await page.evaluate(async (uri: string) => {
      // deno-lint-ignore no-explicit-any
      const pyro: any = await import(new URL("/pyro-client.js", location.href).href);
      const via = new URL("/pyro", location.href.replace(/^http/, "ws")).href;
      const shop = pyro.createProxy(uri, { via });
      const sum = await shop.add(40, 2);
      const items: number[] = [];
      for await (const i of await shop.count(3)) items.push(i);
      await shop._pyroRelease();
      return { sum, items };
    }, uri.toString());
    assert.deepEqual(result, { sum: 42, items: [0, 1, 2] });
  },
});
