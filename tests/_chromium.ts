/**
 * Launches the machine's Chromium (`/usr/bin/chromium`, installed by `.ci/run`) headless with
 * playwright-core, a fresh profile, and the flags that keep it off the network (no background
 * requests, no QUIC, no component updates). Browser tests use it.
 *
 * Why playwright-core: it drives an existing Chromium over the DevTools protocol without
 * downloading a browser of its own, and is the best-kept library for this.
 */

import { type BrowserContext, chromium, type Page } from "npm:playwright-core@1.65.2";

/** Where Chromium is. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** True when Chromium is installed. */
export const HAVE_CHROMIUM: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM_PATH).isFile;
  } catch {
    return false;
  }
})();

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A running headless Chromium with its own fresh profile; dispose to close and delete it. */
export interface Chromium extends AsyncDisposable {
  /** The browser context (one profile). */
  readonly context: BrowserContext;
  /** Opens a new page (tab). */
  newPage(): Promise<Page>;
}

/** Starts Chromium with a fresh `--user-data-dir`. */
export async function launchChromium(): Promise<Chromium> {
  const profile = await Deno.makeTempDir({ prefix: "pyro-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
  });
  return {
    context,
    newPage: () => context.newPage(),
    async [Symbol.asyncDispose]() {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
