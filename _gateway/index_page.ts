/**
 * The gateway's index page (`/pyro/`): the exposed names of the Name Server with their URIs,
 * links to their `$meta`, and a link to the console. Plain HTML, no script.
 *
 * @module
 */

import type { GatewayContext } from "./context.ts";
import type { Targets } from "./targets.ts";

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

const MAX_LISTED = 500;

/** Renders the index page. */
export async function indexPage(context: GatewayContext, targets: Targets): Promise<Response> {
  let rows = "";
  let note = "";
  let nsLocation = "?";
  try {
    const ns = await targets.nameServer();
    nsLocation = ns._pyroUri.location ?? String(ns._pyroUri);
    const all = await ns.list(null, null, false);
    const names = Object.keys(all).filter((n) => context.isExposed(n)).sort();
    if (names.length > MAX_LISTED) {
      note = `<p>Showing the first ${MAX_LISTED} of ${names.length} names.</p>`;
    }
    for (const name of names.slice(0, MAX_LISTED)) {
      const path = `${encodeURIComponent(name)}/$meta`;
      rows += `<tr><td><a href="${escapeHtml(path)}">${escapeHtml(name)}</a></td><td><code>${
        escapeHtml(String(all[name]))
      }</code></td></tr>\n`;
    }
    if (names.length === 0) rows = `<tr><td colspan="2">No exposed names.</td></tr>`;
  } catch (e) {
    note = `<p class="error">Cannot reach the Name Server: ${escapeHtml((e as Error).message)}</p>`;
  }
  const pattern = context.settings.exposeSource === ""
    ? "every name"
    : `names matching <code>${escapeHtml(context.settings.exposeSource)}</code>`;
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pyro HTTP gateway</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 60rem; padding: 0 1rem; color: #1d2330; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #dde2ea; vertical-align: top; }
code { font-size: 13px; word-break: break-all; }
.error { color: #a61b1b; }
</style>
</head>
<body>
<h1>Pyro HTTP gateway</h1>
<p>Name Server at <code>${escapeHtml(nsLocation)}</code>; exposing ${pattern}.
${
    context.settings.console
      ? 'Open the <a href="/console/">console</a> to browse and call objects.'
      : ""
  }</p>
<p>Call a method with <code>GET /pyro/&lt;name&gt;/&lt;method&gt;?param=value</code> or
<code>POST</code> a JSON body <code>{"args": [...], "kwargs": {...}}</code>; read an attribute with
<code>GET /pyro/&lt;name&gt;/&lt;attribute&gt;</code>, the methods with <code>/pyro/&lt;name&gt;/$meta</code>.</p>
${note}
<table>
<thead><tr><th>Name</th><th>URI</th></tr></thead>
<tbody>
${rows}</tbody>
</table>
</body>
</html>
`;
  return new Response(html, {
    status: 200,
    headers: context.headers({ "Content-Type": "text/html; charset=utf-8" }),
  });
}
