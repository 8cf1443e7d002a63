// The Name Server console: lists the names (filtered on the server), follows changes over
// Server-Sent Events, pings each listed object, and calls methods through the gateway.
// Plain DOM code, no framework; served by the Pyro gateway and by `pyro ns --web PORT`.

const $ = (id) => document.getElementById(id);
const key = new URLSearchParams(location.search).get("key") ?? "";
const headers = key ? { "X-Pyro-Gateway-Key": key } : {};
const withKey = (path) =>
  key ? `${path}${path.includes("?") ? "&" : "?"}$key=${encodeURIComponent(key)}` : path;

const state = {
  names: [],
  pings: new Map(), // name -> {ok, ms, error, methods, attributes, oneway}
  selected: null,
  loading: 0,
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child !== null) node.append(child);
  return node;
}

function filterQuery() {
  const params = new URLSearchParams();
  const prefix = $("f-prefix").value.trim();
  const regex = $("f-regex").value.trim();
  const meta = $("f-meta").value.trim();
  if (prefix) params.set("prefix", prefix);
  if (regex) params.set("regex", regex);
  if (meta) params.set($("f-mode").value, meta);
  return params.toString();
}

function showMessage(text) {
  const message = $("message");
  message.hidden = !text;
  message.textContent = text ?? "";
}

async function loadNames() {
  const ticket = ++state.loading;
  let reply;
  try {
    reply = await fetch(withKey(`api/names?${filterQuery()}`), { headers });
  } catch (e) {
    showMessage(`Cannot reach the gateway: ${e.message}`);
    return;
  }
  const body = await reply.json().catch(() => null);
  if (ticket !== state.loading) return; // a newer request is under way
  if (!reply.ok) {
    showMessage(body?.args?.[0] ?? `Error ${reply.status}`);
    return;
  }
  showMessage(null);
  state.names = body.names;
  $("ns-uri").textContent = body.ns;
  const shown = body.names.length;
  $("count").textContent = shown === body.total
    ? `${shown} names`
    : `${shown} of ${body.total} names`;
  renderNames();
  for (const entry of body.names) if (!state.pings.has(entry.name)) void ping(entry.name);
}

function pingLabel(result) {
  if (result === undefined) return el("span", { class: "ping" }, "…");
  if (result.ok) return el("span", { class: "ping ok", title: "answers" }, `${result.ms} ms`);
  return el("span", { class: "ping bad", title: result.error }, "down");
}

function renderNames() {
  const list = $("names");
  list.replaceChildren();
  if (state.names.length === 0) {
    list.append(el("div", { class: "empty" }, "No names match."));
    return;
  }
  for (const entry of state.names) {
    const row = el(
      "button",
      {
        class: `row${entry.name === state.selected ? " selected" : ""}`,
        type: "button",
        role: "row",
        dataset: { name: entry.name },
        onclick: () => select(entry.name),
      },
      el("span", { class: "name", role: "cell" }, entry.name),
      el("code", { class: "uri", role: "cell" }, entry.uri),
      el(
        "span",
        { class: "chips", role: "cell" },
        ...entry.metadata.map((tag) => el("span", { class: "chip" }, tag)),
      ),
      el("span", { class: "ping-cell", role: "cell" }, pingLabel(state.pings.get(entry.name))),
    );
    list.append(row);
  }
}

async function ping(name) {
  try {
    const reply = await fetch(withKey(`api/ping?name=${encodeURIComponent(name)}`), { headers });
    const body = await reply.json();
    state.pings.set(name, reply.ok ? body : { ok: false, error: body?.args?.[0] ?? "error" });
  } catch (e) {
    state.pings.set(name, { ok: false, error: e.message });
  }
  renderNames();
  if (state.selected === name) renderDetail();
}

function select(name) {
  state.selected = name;
  renderNames();
  renderDetail();
  void ping(name);
  if (matchMedia("(max-width: 900px)").matches) $("detail").scrollIntoView({ behavior: "smooth" });
}

function renderDetail() {
  const entry = state.names.find((e) => e.name === state.selected);
  const detail = $("detail");
  document.querySelector(".layout").classList.toggle("with-detail", Boolean(entry));
  detail.hidden = !entry;
  if (!entry) return;
  $("d-name").textContent = entry.name;
  $("d-uri").textContent = entry.uri;
  const info = state.pings.get(entry.name);
  const form = $("call");
  const methodSelect = $("c-method");
  if (!info) {
    $("d-state").textContent = "Connecting…";
  } else if (!info.ok) {
    $("d-state").textContent = `Not answering: ${info.error}`;
  } else {
    $("d-state").textContent =
      `${info.methods.length} methods, ${info.attributes.length} attributes, ping ${info.ms} ms`;
  }
  const methods = info?.ok ? info.methods : [];
  form.hidden = methods.length === 0;
  const current = methodSelect.dataset.object === entry.name ? methodSelect.value : null;
  methodSelect.replaceChildren(
    ...methods.map((m) =>
      el("option", { value: m }, info.oneway.includes(m) ? `${m} (oneway)` : m)
    ),
  );
  methodSelect.dataset.object = entry.name;
  if (current && methods.includes(current)) methodSelect.value = current;
  const attrs = info?.ok ? info.attributes : [];
  $("attrs").hidden = attrs.length === 0;
  $("d-attrs").replaceChildren(
    ...attrs.map((a) =>
      el("button", {
        class: "chip",
        type: "button",
        title: "read",
        onclick: () => readAttribute(entry.name, a),
      }, a)
    ),
  );
}

function showResult(title, text, isError) {
  const result = $("result");
  result.hidden = false;
  result.classList.toggle("error", isError);
  $("r-title").textContent = title;
  $("r-body").textContent = text;
}

function formatError(body, status) {
  if (!body || typeof body !== "object" || !body.__class__) return `HTTP ${status}`;
  const lines = [`${body.__class__}: ${(body.args ?? []).join(", ")}`];
  const trace = body.attributes?._pyroTraceback;
  if (Array.isArray(trace) && trace.length > 0) {
    lines.push(
      "",
      ...trace.map((l) => l.replace(/\n$/, "")),
    );
  }
  return lines.join("\n");
}

async function showReply(title, reply) {
  const type = reply.headers.get("Content-Type") ?? "";
  if (type.includes("ndjson")) {
    const lines = (await reply.text()).trim().split("\n").filter((l) => l);
    const items = lines.map((l) => JSON.parse(l));
    showResult(
      `${title}: stream of ${items.length} items`,
      items.map((i) => JSON.stringify(i)).join("\n"),
      false,
    );
    return;
  }
  const text = await reply.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (reply.ok) {
    showResult(
      `${title}: ${reply.status}`,
      text ? JSON.stringify(body, null, 2) : "(no result)",
      false,
    );
  } else showResult(`${title}: ${reply.status}`, formatError(body, reply.status), true);
}

async function call(event) {
  event.preventDefault();
  const name = state.selected;
  const method = $("c-method").value;
  let args, kwargs;
  try {
    args = JSON.parse($("c-args").value || "[]");
    kwargs = JSON.parse($("c-kwargs").value || "{}");
    if (!Array.isArray(args)) throw new Error("the arguments must be a JSON list");
    if (typeof kwargs !== "object" || kwargs === null || Array.isArray(kwargs)) {
      throw new Error("the keyword arguments must be a JSON object");
    }
  } catch (e) {
    showResult("Cannot call", e.message, true);
    return;
  }
  const callHeaders = { ...headers, "Content-Type": "application/json" };
  if ($("c-oneway").checked) callHeaders["X-Pyro-Options"] = "oneway";
  $("c-submit").disabled = true;
  try {
    const reply = await fetch(`../pyro/${encodeURIComponent(name)}/${encodeURIComponent(method)}`, {
      method: "POST",
      headers: callHeaders,
      body: JSON.stringify({ args, kwargs }),
    });
    await showReply(`${method}()`, reply);
  } catch (e) {
    showResult(`${method}()`, e.message, true);
  } finally {
    $("c-submit").disabled = false;
  }
}

async function readAttribute(name, attribute) {
  try {
    const reply = await fetch(
      `../pyro/${encodeURIComponent(name)}/${encodeURIComponent(attribute)}`,
      { headers },
    );
    await showReply(attribute, reply);
  } catch (e) {
    showResult(attribute, e.message, true);
  }
}

function follow() {
  const events = new EventSource(withKey("api/events"));
  let version = -1;
  events.addEventListener("open", () => $("live").classList.add("on"));
  events.addEventListener("error", () => $("live").classList.remove("on"));
  events.addEventListener("names", (event) => {
    $("live").classList.add("on");
    $("live").textContent = "live";
    const data = JSON.parse(event.data);
    if (data.version !== version) {
      version = data.version;
      state.pings.clear();
      void loadNames();
    }
  });
}

let debounce = 0;
$("filters").addEventListener("input", () => {
  clearTimeout(debounce);
  debounce = setTimeout(() => void loadNames(), 200);
});
$("filters").addEventListener("submit", (event) => event.preventDefault());
$("call").addEventListener("submit", call);
$("d-close").addEventListener("click", () => {
  state.selected = null;
  renderNames();
  renderDetail();
});
void loadNames();
follow();
