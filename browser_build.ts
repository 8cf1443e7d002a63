/**
 * The browser client as a JavaScript module: `browser.ts` bundled for browsers (one ES module,
 * no Deno API in it). The gateway serves it at `/pyro/client.js` by itself; use this module
 * when you serve pages from your own app, for instance next to a daemon's
 * `websocketHandler` in a Fresh or Hono app, or to write the file for static hosting:
 *
 * ```sh
 * deno run -A browser_build.ts static/pyro-client.js
 * ```
 *
 * Building runs `deno bundle` in a subprocess (`--allow-run`, `--allow-read`, `--allow-write`
 * for a temporary directory) and takes about a second; {@linkcode browserClient} builds once
 * per process.
 *
 * @example Serving the client from your own app
 * ```ts ignore
 * import { browserClient } from "./browser_build.ts";
 *
 * Deno.serve(async (req) =>
 *   new URL(req.url).pathname === "/pyro-client.js"
 *     ? new Response(await browserClient(), { headers: { "content-type": "text/javascript" } })
 *     : new Response("my app")
 * );
 * ```
 *
 * @module
 */

import { browserClient as cachedClient, buildBrowserClient } from "./_browser/build.ts";

/**
 * Bundles the browser client now (a fresh build on every call).
 *
 * @example
 * ```ts ignore
 * import { bundleBrowserClient } from "./browser_build.ts";
 * await Deno.writeTextFile("pyro-client.js", await bundleBrowserClient());
 * ```
 *
 * @returns The JavaScript module text (minified).
 * @throws {Error} "Cannot build the browser client: ..." when bundling fails.
 */
export function bundleBrowserClient(): Promise<string> {
  return buildBrowserClient();
}

/**
 * The browser client, built on the first call and kept for the process.
 *
 * @example
 * ```ts ignore
 * import { browserClient } from "./browser_build.ts";
 * const js = await browserClient();
 * console.log(js.length > 0); // true
 * ```
 *
 * @returns The JavaScript module text (minified).
 * @throws {Error} "Cannot build the browser client: ..." when bundling fails.
 */
export function browserClient(): Promise<string> {
  return cachedClient();
}

if (import.meta.main) {
  const out = Deno.args[0];
  const js = await bundleBrowserClient();
  if (out === undefined || out === "-") await Deno.stdout.write(new TextEncoder().encode(js));
  else {
    await Deno.writeTextFile(out, js);
    console.error(`wrote ${out} (${js.length} bytes)`);
  }
}
