/**
 * Opens the web app's page in a headless Chromium and prints what the page logged, so the
 * example runs unattended (`tests/examples_test.ts` does). Uses the machine's Chromium
 * (`/usr/bin/chromium`) through npm:playwright-core, with a fresh profile and no background
 * networking.
 *
 * Run: `deno run -A examples/webapp/headless.ts http://127.0.0.1:8080/`
 *
 * @module
 */

import { chromium } from "npm:playwright-core@1.65.2";

const url = Deno.args[0] ?? "http://127.0.0.1:8080/";
const profile = await Deno.makeTempDir({ prefix: "pyro-webapp-" });
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => console.log(`page error: ${error.message}`));
  await page.goto(url);
  await page.waitForSelector("body[data-ready]", { timeout: 20_000 });
  await page.fill("#store input", "kettle");
  await page.click("#store button");
  await page.waitForFunction('document.querySelector("#stock")?.textContent?.includes("kettle")');
  for (const line of await page.locator("#log li").allTextContents()) console.log(`page: ${line}`);
  console.log(`page: in stock: ${await page.textContent("#stock")}`);
} finally {
  await browser.close();
  await Deno.remove(profile, { recursive: true });
}
