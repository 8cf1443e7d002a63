/**
 * The web app: one `Deno.serve` app that serves the page (`index.html`) and, mounted under
 * `/pyro/`, a Pyro gateway, whose WebSocket endpoint the page's proxy talks through and which
 * serves the browser client at `/pyro/client.js`. The shop itself runs in a daemon registered
 * with the Name Server as `http.example.shop` (the gateway exposes `http.` names).
 *
 * Run: `deno run -A examples/webapp/server.ts [PORT]` (with a Name Server running), then open
 * the printed address.
 *
 * @module
 */

import { createGateway, Daemon, locateNS } from "../../mod.ts";
import { Shop } from "./shop.ts";

const port = Number(Deno.args[0] ?? 8080);
const page = await Deno.readTextFile(new URL("index.html", import.meta.url));

await using daemon = new Daemon({ host: "127.0.0.1" });
const uri = daemon.register(new Shop(), "shop");
{
  await using ns = await locateNS();
  await ns.register("http.example.shop", uri);
}

await using gateway = createGateway();
const stop = new AbortController();
const server = Deno.serve({
  hostname: "127.0.0.1",
  port,
  signal: stop.signal,
  onListen: ({ port }) => console.log(`webapp: ready at http://127.0.0.1:${port}/`),
}, (request, info) => {
  const { pathname } = new URL(request.url);
  if (pathname.startsWith("/pyro/")) return gateway.handler(request, info);
  if (pathname === "/") {
    return new Response(page, { headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
  return new Response("not found", { status: 404 });
});

Deno.addSignalListener("SIGTERM", () => stop.abort());
Deno.addSignalListener("SIGINT", () => stop.abort());
stop.signal.addEventListener("abort", () => void gateway.close());
await server.finished;
{
  await using ns = await locateNS();
  await ns.remove("http.example.shop");
}
console.log("webapp: stopped");
