/**
 * The Name Server console in a real headless Chromium (tests/_chromium.ts): it lists the
 * names, filters them, shows a name registered while the page is open, calls a method and
 * shows a remote error, at desktop and phone widths. Screenshots go to tests/output/ (not
 * committed). Ignored, saying so, when /usr/bin/chromium is missing.
 */

import assert from "node:assert/strict";
import { startNameServer } from "../naming.ts";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";
import { startGateway } from "../gateway.ts";
import { HAVE_CHROMIUM, launchChromium } from "./_chromium.ts";

if (!HAVE_CHROMIUM) console.log("console_browser_test: skipped, /usr/bin/chromium is missing");

const OUTPUT = new URL("./output/", import.meta.url);

class Warehouse {
  #contents = ["chair", "bike", "flashlight", "laptop", "couch"];
  list(): string[] {
    return this.#contents;
  }
  take(name: string, item: string): string {
    const at = this.#contents.indexOf(item);
    if (at < 0) throw new Error(`${item} is not in the warehouse`);
    this.#contents.splice(at, 1);
    return `${name} took the ${item}`;
  }
  store(name: string, item: string): string {
    this.#contents.push(item);
    return `${name} stored the ${item}`;
  }
  get count(): number {
    return this.#contents.length;
  }
}
expose(Warehouse);

Deno.test({
  name: "Console lists, filters, follows and calls objects in Chromium at two widths",
  ignore: !HAVE_CHROMIUM,
  async fn() {
    await Deno.mkdir(OUTPUT, { recursive: true });
    await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
    await using daemon = new Daemon({ host: "127.0.0.1" });
    const register = (name: string, object: object, tags: string[]) =>
      ns.nameServer.register(name, daemon.register(object).toString(), false, tags);
    register("example.warehouse", new Warehouse(), ["shop", "inventory"]);
    register("example.greeting", expose({ greet: (n: string) => `Hello, ${n}!` }), ["demo"]);
    register(
      "example.stockquotes",
      expose({
        *quotes(n: number) {
          for (let i = 0; i < n; i++) yield { symbol: "ACME", price: 100 + i };
        },
      }),
      ["stream", "demo"],
    );
    ns.nameServer.register("example.offline", "PYRO:gone@127.0.0.1:1", false, ["legacy"]);
    await using gateway = await startGateway({
      host: "127.0.0.1",
      port: 0,
      ns: `127.0.0.1:${ns.uri.port}`,
      expose: "example\\.",
    });
    await using browser = await launchChromium();
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });

    // Conditions evaluated in the page (this file has no DOM types: a minimal view of them).
    type PageGlobal = {
      document: {
        querySelectorAll(selector: string): { length: number };
        getElementById(id: string): { textContent: string | null } | null;
      };
    };
    const rowCount = (n: number) =>
      page.waitForFunction(
        (n) =>
          (globalThis as unknown as PageGlobal).document.querySelectorAll("#names [data-name]")
            .length === n,
        n,
      );
    const resultIs = (text: string, whole = false) =>
      page.waitForFunction(
        ([text, whole]) => {
          const body = (globalThis as unknown as PageGlobal).document.getElementById("r-body");
          const shown = body?.textContent ?? "";
          return whole ? shown === text : shown.includes(text);
        },
        [text, whole] as const,
      );
    const resultHas = (text: string) => resultIs(text);

    for (const [width, height] of [[1280, 800], [390, 844]] as const) {
      await page.setViewportSize({ width, height });
      await page.goto(`${gateway.url}console/`);
      const rows = page.locator("#names [data-name]");
      await page.waitForSelector('[data-name="example.warehouse"] .ping.ok');
      await page.waitForSelector('[data-name="example.offline"] .ping.bad');
      assert.deepEqual(
        await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-name"))),
        [
          "example.greeting",
          "example.offline",
          "example.stockquotes",
          "example.warehouse",
        ],
      );
      assert.equal(await page.textContent("#live"), "live");

      // Filters: prefix, regex, tags.
      await page.fill("#f-prefix", "example.s");
      await rowCount(1);
      await page.fill("#f-prefix", "");
      await page.fill("#f-regex", "example\\.(greeting|offline)$");
      await rowCount(2);
      await page.fill("#f-regex", "");
      await page.fill("#f-meta", "demo");
      await rowCount(2);
      await page.fill("#f-meta", "");
      await rowCount(4);

      // A name registered while the page is open shows up by itself.
      const fresh = `example.fresh${width}`;
      register(fresh, expose({ ping: () => "pong" }), ["new"]);
      await page.waitForSelector(`[data-name="${fresh}"] .ping.ok`);

      // A call, then a remote error.
      await page.click('[data-name="example.warehouse"]');
      await page.waitForSelector('#c-method option[value="take"]', { state: "attached" });
      await page.selectOption("#c-method", "take");
      await page.fill("#c-args", '["Alice", "bike"]');
      await page.click("#c-submit");
      await resultHas("took the bike");
      assert.equal(await page.getAttribute("#result", "class"), "result");
      await page.screenshot({
        path: new URL(`console-${width}.png`, OUTPUT).pathname,
        fullPage: true,
      });
      await page.click("#c-submit"); // the bike is gone now
      await resultHas("is not in the warehouse");
      assert.equal(await page.getAttribute("#result", "class"), "result error");
      assert.match(await page.textContent("#r-title") ?? "", /500/);
      await page.click('#d-attrs button:has-text("count")');
      await resultIs("4", true);
      // Put the bike back for the next width.
      await page.selectOption("#c-method", "store");
      await page.click("#c-submit");
      await resultHas("stored the bike");
      ns.nameServer.remove(fresh);
    }
    assert.deepEqual(problems.filter((p) => !p.includes("Failed to load resource")), []);

    // With a gateway key, the page takes it from its own URL (?key=) for every request.
    await using keyed = await startGateway({
      host: "127.0.0.1",
      port: 0,
      ns: `127.0.0.1:${ns.uri.port}`,
      expose: "example\\.",
      key: "open sesame",
    });
    await page.goto(`${keyed.url}console/?key=open%20sesame`);
    await page.waitForSelector('[data-name="example.greeting"] .ping.ok');
    await page.click('[data-name="example.greeting"]');
    await page.waitForSelector('#c-method option[value="greet"]', { state: "attached" });
    await page.fill("#c-args", '["Chromium"]');
    await page.click("#c-submit");
    await resultHas("Hello, Chromium!");
    await page.goto(`${keyed.url}console/`);
    await page.waitForSelector("#message:not([hidden])");
    assert.match(await page.textContent("#message") ?? "", /incorrect gateway api key/);
  },
});
