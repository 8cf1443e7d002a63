/**
 * Builds the browser client: `browser.ts` bundled into one JavaScript ES module with
 * `deno bundle --platform browser`, the Deno-only modules (TCP/TLS transport, Name Server
 * lookup, `node:zlib`) and OpenTelemetry (off in a page) swapped for the browser stand-ins in
 * this folder by an import map. The gateway serves the result at `/pyro/client.js`, built on
 * first use and kept.
 *
 * @example
 * ```ts ignore
 * import { browserClient } from "./build.ts";
 * const js = await browserClient(); // about 150 KB of JavaScript, no Deno API in it
 * console.log(js.includes("createProxy")); // true
 * ```
 *
 * @module
 */

const here = new URL("./", import.meta.url);
const root = new URL("../", import.meta.url);

/** Modules replaced in the browser build, and their stand-ins. */
const SWAPS: Record<string, string> = {
  "node:zlib": new URL("zlib.ts", here).href,
  [new URL("_wire/transport.ts", root).href]: new URL("transport.ts", here).href,
  [new URL("tls.ts", root).href]: new URL("tls.ts", here).href,
  [new URL("locate.ts", root).href]: new URL("locate.ts", here).href,
  [new URL("_telemetry/mod.ts", root).href]: new URL("telemetry.ts", here).href,
};

/** Deno API uses allowed in the bundle: inspection symbols only (`Symbol.for("Deno...")`). */
const DENO_API = /(?<!Symbol\.for\(")\bDeno\.(?!customInspect\b)\w+/;

/**
 * Bundles `browser.ts` for browsers, minified (a fresh build each call; see
 * {@linkcode browserClient}).
 *
 * @example
 * ```ts ignore
 * import { buildBrowserClient } from "./build.ts";
 * const js = await buildBrowserClient();
 * ```
 *
 * @returns The JavaScript module text.
 * @throws {Error} "Cannot build the browser client: ..." when bundling fails or the result
 *   still uses a Deno API.
 */
export async function buildBrowserClient(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "pyro-browser-" });
  try {
    const map = `${dir}/import_map.json`;
    const out = `${dir}/client.js`;
    await Deno.writeTextFile(map, JSON.stringify({ imports: SWAPS }));
    const args = [
      "bundle",
      "--quiet",
      "--platform=browser",
      "--format=esm",
      `--import-map=${map}`,
      "--no-lock",
      "--minify",
      "--keep-names",
      "-o",
      out,
      new URL("browser.ts", root).href,
    ];
    const result = await new Deno.Command(Deno.execPath(), {
      args,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    }).output();
    if (!result.success) {
      const detail = new TextDecoder().decode(result.stderr).trim().split("\n").slice(-5);
      throw new Error(`Cannot build the browser client: deno bundle failed: ${detail.join(" ")}`);
    }
    const js = await Deno.readTextFile(out);
    const deno = DENO_API.exec(js);
    if (deno !== null) {
      throw new Error(`Cannot build the browser client: the bundle uses '${deno[0]}'`);
    }
    return js;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

let cached: Promise<string> | null = null;

/**
 * The browser client, built on the first call and kept for the process (a failed build is
 * tried again on the next call).
 *
 * @example
 * ```ts ignore
 * import { browserClient } from "./build.ts";
 * const response = new Response(await browserClient(), {
 *   headers: { "content-type": "text/javascript; charset=utf-8" },
 * });
 * ```
 *
 * @returns The JavaScript module text.
 */
export function browserClient(): Promise<string> {
  if (cached === null) {
    cached = buildBrowserClient();
    cached.catch(() => {
      cached = null;
    });
  }
  return cached;
}
