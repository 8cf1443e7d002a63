/**
 * The Name Server console (`/console/`): a page (console/index.html, console.css, console.js)
 * and the small JSON API it uses.
 *
 * | Path | Answer |
 * |---|---|
 * | `GET /console/` | the page |
 * | `GET /console/api/names?prefix=&regex=&all=&any=` | `{ns, total, names: [{name, uri, metadata}]}` of the exposed names, filtered by prefix, Python regex (matched at the start) and tags (comma separated, all of / any of) |
 * | `GET /console/api/events` | Server-Sent Events: `names` with `{version, count}` whenever the Name Server's table changes |
 * | `GET /console/api/ping?name=` | `{name, ok, ms, methods, attributes, oneway}` or `{name, ok: false, error}`: a fresh connection, handshake and daemon ping |
 *
 * The table is polled (one `list` call a second) only while a page listens to the events, so
 * it works with any Name Server, ours or Python's. Method calls go through the gateway's
 * `/pyro/<name>/<method>`, with the same exposure and key checks.
 *
 * @module
 */

import { compilePythonRegex } from "../_naming/regex.ts";
import { createProxy } from "../proxy.ts";
import { DAEMON_NAME } from "../_wire/protocol.ts";
import type { GatewayContext } from "./context.ts";
import { errorResponse, jsonResponse } from "./responses.ts";
import type { Targets } from "./targets.ts";
import type { Tags } from "../locate.ts";

/** The console's routes. */
export interface ConsoleRoutes {
  /** Serves a request under `/console/`. */
  handle(request: Request, url: URL): Promise<Response>;
  /** Ends the live-update streams. */
  close(): Promise<void>;
}

const ASSETS: Record<string, string> = {
  "/console/": "index.html",
  "/console/index.html": "index.html",
  "/console/console.css": "console.css",
  "/console/console.js": "console.js",
};

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
};

const assetCache = new Map<string, Promise<string>>();

function asset(file: string): Promise<string> {
  let text = assetCache.get(file);
  if (text === undefined) {
    text = fetch(new URL(`./console/${file}`, import.meta.url)).then((r) => {
      if (!r.ok) throw new Error(`Cannot load the console's ${file}: ${r.status}`);
      return r.text();
    });
    text.catch(() => assetCache.delete(file));
    assetCache.set(file, text);
  }
  return text;
}

/** A row of the console's table. */
interface Entry {
  name: string;
  uri: string;
  metadata: string[];
}

const POLL_INTERVAL = 1000;
const MAX_LISTENERS = 64;
const PING_TIMEOUT = 5000;

/** Polls the Name Server while pages listen, and tells them when the table changed. */
class Watcher {
  readonly #targets: Targets;
  readonly #listeners = new Set<(version: number, count: number) => void>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #signature = "";
  #version = 0;
  #count = 0;
  #closed = false;

  constructor(targets: Targets) {
    this.#targets = targets;
  }

  get size(): number {
    return this.#listeners.size;
  }

  add(listener: (version: number, count: number) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#version, this.#count);
    if (this.#timer === null) this.#schedule(0);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer !== null) {
        clearTimeout(this.#timer);
        this.#timer = null;
      }
    };
  }

  #schedule(delay: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#poll(), delay);
  }

  async #poll(): Promise<void> {
    try {
      const ns = await this.#targets.nameServer();
      const all = await ns.list(null, null, true);
      const signature = JSON.stringify(
        Object.entries(all).map(([n, [u, tags]]) => [n, String(u), [...tags].sort()]).sort(),
      );
      if (signature !== this.#signature) {
        this.#signature = signature;
        this.#version++;
        this.#count = Object.keys(all).length;
        for (const listener of this.#listeners) listener(this.#version, this.#count);
      }
    } catch {
      // The Name Server is away: keep polling, the page shows the last table.
    }
    if (this.#listeners.size > 0 && !this.#closed) this.#schedule(POLL_INTERVAL);
    else this.#timer = null;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

function tagsParam(url: URL, name: string): string[] {
  return (url.searchParams.get(name) ?? "").split(",").map((t) => t.trim()).filter((t) => t);
}

async function listNames(context: GatewayContext, targets: Targets, url: URL): Promise<Response> {
  const prefix = url.searchParams.get("prefix") ?? "";
  const regexText = url.searchParams.get("regex") ?? "";
  let regex: ((name: string) => boolean) | null = null;
  if (regexText !== "") {
    try {
      regex = compilePythonRegex(regexText);
    } catch (e) {
      return errorResponse(
        context,
        400,
        "builtins.ValueError",
        `Cannot use the regex: ${(e as Error).message}`,
      );
    }
  }
  const all = tagsParam(url, "all");
  const any = tagsParam(url, "any");
  const ns = await targets.nameServer();
  const table = await ns.list(null, null, true);
  const names: Entry[] = [];
  let total = 0;
  for (const name of Object.keys(table).sort()) {
    if (!context.isExposed(name)) continue;
    total++;
    if (!name.startsWith(prefix) || (regex !== null && !regex(name))) continue;
    const [uri, tags] = table[name]!;
    const metadata = [...(tags as Tags)].map(String).sort();
    if (all.some((t) => !metadata.includes(t))) continue;
    if (any.length > 0 && !any.some((t) => metadata.includes(t))) continue;
    names.push({ name, uri: String(uri), metadata });
  }
  return jsonResponse(
    context,
    {
      ns: ns._pyroUri.toString(),
      expose: context.settings.exposeSource,
      total,
      names,
    },
    200,
    { "Cache-Control": "no-store" },
  );
}

async function ping(context: GatewayContext, targets: Targets, url: URL): Promise<Response> {
  const name = url.searchParams.get("name") ?? "";
  if (name === "" || !context.isExposed(name)) {
    return errorResponse(context, 403, "Pyro5.errors.SecurityError", `'${name}' is not exposed`);
  }
  const started = performance.now();
  try {
    const uri = await targets.resolve(name);
    const timeout = context.settings.timeout > 0
      ? Math.min(context.settings.timeout, PING_TIMEOUT)
      : PING_TIMEOUT;
    await using proxy = createProxy(uri, {
      serializer: context.settings.serializer,
      timeout,
      maxRetries: 0,
    });
    await proxy._pyroBind();
    await proxy._pyroCall("ping", [], { objectId: DAEMON_NAME });
    const meta = proxy._pyroMetadata!;
    return jsonResponse(
      context,
      {
        name,
        ok: true,
        ms: Math.round((performance.now() - started) * 10) / 10,
        methods: [...meta.methods],
        attributes: [...meta.attrs],
        oneway: [...meta.oneway],
      },
      200,
      { "Cache-Control": "no-store" },
    );
  } catch (e) {
    targets.forget(name);
    return jsonResponse(
      context,
      {
        name,
        ok: false,
        ms: Math.round((performance.now() - started) * 10) / 10,
        error: `${(e as Error).name}: ${(e as Error).message}`,
      },
      200,
      { "Cache-Control": "no-store" },
    );
  }
}

const encoder = new TextEncoder();

function events(context: GatewayContext, watcher: Watcher): Response {
  if (watcher.size >= MAX_LISTENERS) {
    return errorResponse(
      context,
      503,
      "Pyro5.errors.PyroError",
      "Cannot follow the names: too many listeners",
      {
        "Retry-After": "5",
      },
    );
  }
  let stop: (() => void) | null = null;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (version: number, count: number) => {
        try {
          controller.enqueue(
            encoder.encode(`event: names\ndata: {"version":${version},"count":${count}}\n\n`),
          );
        } catch {
          finish();
        }
      };
      const onAbort = () => {
        finish();
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      const remove = watcher.add(send);
      const finish = () => {
        remove();
        context.signal.removeEventListener("abort", onAbort);
      };
      stop = finish;
      context.signal.addEventListener("abort", onAbort, { once: true });
      controller.enqueue(encoder.encode("retry: 2000\n\n"));
    },
    cancel() {
      stop?.();
    },
  });
  return new Response(body, {
    status: 200,
    headers: context.headers({
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
    }),
  });
}

/** Makes the console routes of a gateway. */
export function createConsole(context: GatewayContext, targets: Targets): ConsoleRoutes {
  const watcher = new Watcher(targets);
  return {
    async handle(request, url) {
      const path = url.pathname;
      if (request.method !== "GET" && request.method !== "HEAD") {
        return errorResponse(
          context,
          405,
          "Pyro5.errors.PyroError",
          `Cannot serve method ${request.method} here`,
          {
            Allow: "GET, OPTIONS",
          },
        );
      }
      const file = ASSETS[path];
      if (file !== undefined) {
        const type = TYPES[file.slice(file.lastIndexOf(".") + 1)]!;
        return new Response(await asset(file), {
          headers: context.headers({
            "Content-Type": type,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            ...(file === "index.html"
              ? {
                "Content-Security-Policy":
                  "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:",
                "X-Frame-Options": "DENY",
              }
              : {}),
          }),
        });
      }
      if (!path.startsWith("/console/api/")) {
        return errorResponse(
          context,
          404,
          "Pyro5.errors.PyroError",
          `Cannot find ${JSON.stringify(path.slice(0, 200))}`,
        );
      }
      if (!context.hasKey(request, url)) {
        return errorResponse(
          context,
          403,
          "Pyro5.errors.SecurityError",
          "incorrect gateway api key",
        );
      }
      try {
        switch (path) {
          case "/console/api/names":
            return await listNames(context, targets, url);
          case "/console/api/events":
            return events(context, watcher);
          case "/console/api/ping":
            return await ping(context, targets, url);
        }
      } catch (e) {
        return errorResponse(
          context,
          502,
          "Pyro5.errors.NamingError",
          `Cannot reach the Name Server: ${(e as Error).message}`,
        );
      }
      return errorResponse(
        context,
        404,
        "Pyro5.errors.PyroError",
        `Cannot find ${JSON.stringify(path.slice(0, 200))}`,
      );
    },
    close() {
      watcher.close();
      return Promise.resolve();
    },
  };
}
