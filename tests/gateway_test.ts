/**
 * The HTTP gateway against our Name Server and daemons over real sockets on 127.0.0.1: every
 * URL, header and status of Pyro5's gateway and of ours (POST bodies, streams, bytes, CORS,
 * reuse of connections, moved targets), the console's API, and bad input (garbage paths, huge
 * and slow bodies, bad JSON, wrong keys, many idle connections): the gateway keeps serving and
 * nothing reaches an unexposed object. One test runs the real `curl` when it is installed.
 */

import assert from "node:assert/strict";
import { startNameServer } from "../naming.ts";
import { currentContext, Daemon } from "../daemon.ts";
import { expose, oneway } from "../expose.ts";
import {
  createGateway,
  type GatewayOptions,
  type GatewayServer,
  startGateway,
} from "../gateway.ts";
import type { NameServer } from "../_naming/server.ts";

/** Something a test can wait on until a served object does a thing. */
function signal<T = void>(): PromiseWithResolvers<T> {
  return Promise.withResolvers<T>();
}

class Calc {
  calls = 0;
  fired = signal<string>();
  gate: PromiseWithResolvers<void> | null = null;
  add(a: number, b: number): number {
    this.calls++;
    return a + b;
  }
  *count(n: number): Generator<number> {
    for (let i = 0; i < n; i++) yield i;
  }
  *failing(): Generator<number> {
    yield 1;
    throw new TypeError("stream broke");
  }
  fail(): never {
    throw new RangeError("no good");
  }
  greet(name: string, greeting = "Hello"): string {
    return `${greeting}, ${name}!`;
  }
  inc(data: Uint8Array): Uint8Array {
    return data.map((b) => b + 1);
  }
  connection(): number {
    return currentContext()!.connection.id;
  }
  correlation(): string | null {
    const id = currentContext()?.correlationId;
    return id === undefined || id === null ? null : String(id);
  }
  async wait(): Promise<string> {
    await this.gate?.promise;
    return "done";
  }
  @oneway
  fire(x: string): void {
    this.fired.resolve(x);
  }
  get total(): number {
    return 42;
  }
}
expose(Calc);

/** An object that must never be reached: it counts every call. */
class Secret {
  static reached = 0;
  add(a: number, b: number): number {
    Secret.reached++;
    return a + b;
  }
}
expose(Secret);

interface Fixture {
  gateway: GatewayServer;
  base: string;
  calc: Calc;
  ns: NameServer;
  daemon: Daemon;
  nsPort: number;
}

async function withGateway(
  options: GatewayOptions,
  fn: (f: Fixture) => Promise<void>,
): Promise<void> {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const calc = new Calc();
  ns.nameServer.register("http.calc", daemon.register(calc, "calc").toString(), false, ["math"]);
  ns.nameServer.register("private.calc", daemon.register(new Secret(), "secret").toString());
  ns.nameServer.register("xhttp.calc", daemon.uriFor("secret").toString());
  await using gateway = await startGateway({
    host: "127.0.0.1",
    port: 0,
    ns: `127.0.0.1:${ns.uri.port}`,
    ...options,
  });
  const before = Secret.reached;
  await fn({
    gateway,
    base: gateway.url,
    calc,
    ns: ns.nameServer,
    daemon,
    nsPort: ns.uri.port!,
  });
  assert.equal(Secret.reached, before, "an unexposed object was reached");
}

function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

async function json(reply: Response): Promise<Record<string, unknown>> {
  assert.match(reply.headers.get("Content-Type") ?? "", /application\/json/);
  return await reply.json();
}

/** Sends raw bytes over TCP and reads the whole answer (the server closes or `until` matches). */
async function raw(port: number, text: string, until = /\r\n\r\n[\s\S]*\}/): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(text));
    let out = "";
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      out += new TextDecoder().decode(buf.subarray(0, n));
      if (until.test(out)) break;
    }
    return out;
  } finally {
    conn.close();
  }
}

Deno.test("Gateway calls a method with a POSTed JSON body and generates a correlation id", async () => {
  await withGateway({}, async ({ base }) => {
    const reply = await fetch(`${base}pyro/http.calc/add`, post({ args: [2, 3] }));
    assert.equal(reply.status, 200);
    assert.match(
      reply.headers.get("X-Pyro-Correlation-Id")!,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    assert.equal(await json(reply), 5);
  });
});

Deno.test("Gateway passes the client's correlation id to the object and echoes it", async () => {
  await withGateway({}, async ({ base }) => {
    const id = "11112222-1111-2222-3333-222244449999";
    const reply = await fetch(
      `${base}pyro/http.calc/correlation`,
      post({}, { "X-Pyro-Correlation-Id": id }),
    );
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get("X-Pyro-Correlation-Id"), id);
    assert.equal(await reply.json(), id);
    const bad = await fetch(`${base}pyro/http.calc/add`, {
      headers: { "X-Pyro-Correlation-Id": "not-a-uuid" },
    });
    assert.equal(bad.status, 400);
    assert.match(String((await json(bad)).args), /not a UUID/);
  });
});

Deno.test("Gateway passes query parameters as keyword arguments, as Pyro5 does", async () => {
  await withGateway({ expose: "" }, async ({ base }) => {
    const reply = await fetch(`${base}pyro/Pyro.NameServer/lookup?name=http.calc`);
    assert.equal(reply.status, 200);
    assert.match(String(await reply.json()), /^PYRO:calc@127\.0\.0\.1:\d+$/);
    const listed = await fetch(`${base}pyro/Pyro.NameServer/list?prefix=http.`);
    assert.deepEqual(Object.keys(await listed.json()), ["http.calc"]);
    // A TypeScript object binds them by parameter name, as Python does.
    const greeting = await fetch(`${base}pyro/http.calc/greet?greeting=Hi&name=Ann`);
    assert.equal(await greeting.json(), "Hi, Ann!");
    const defaulted = await fetch(`${base}pyro/http.calc/greet?name=Bo`);
    assert.equal(await defaulted.json(), "Hello, Bo!");
    const stream = await fetch(`${base}pyro/http.calc/count?n=2`);
    assert.equal(await stream.text(), "0\n1\n");
  });
});

Deno.test("Gateway answers $meta, reads attributes and refuses unknown members with 404", async () => {
  await withGateway({}, async ({ base }) => {
    const meta = await json(await fetch(`${base}pyro/http.calc/$meta`));
    assert.ok((meta.methods as string[]).includes("add"));
    assert.deepEqual(meta.attributes, ["total"]);
    assert.deepEqual(meta.oneway, ["fire"]);
    const total = await fetch(`${base}pyro/http.calc/total`);
    assert.equal(total.status, 200);
    assert.equal(await total.json(), 42);
    const withParams = await fetch(`${base}pyro/http.calc/total?x=1`);
    assert.equal(withParams.status, 400);
    assert.equal((await json(withParams)).__exception__, true);
    const unknown = await fetch(`${base}pyro/http.calc/nosuch`);
    assert.equal(unknown.status, 404);
    assert.equal((await json(unknown)).__class__, "builtins.AttributeError");
    const privateName = await fetch(`${base}pyro/http.calc/_private`);
    assert.equal(privateName.status, 404);
    await privateName.body?.cancel();
  });
});

Deno.test("Gateway gives a remote exception as a 500 in Pyro5's form with the traceback", async () => {
  await withGateway({}, async ({ base }) => {
    const reply = await fetch(`${base}pyro/http.calc/fail`, { method: "POST" });
    assert.equal(reply.status, 500);
    const body = await json(reply);
    assert.equal(body.__class__, "builtins.ValueError");
    assert.equal(body.__exception__, true);
    assert.deepEqual(body.args, ["no good"]);
    const traceback = (body.attributes as Record<string, unknown>)._pyroTraceback as string[];
    assert.ok(Array.isArray(traceback) && traceback.join("").includes("no good"));
    assert.ok(reply.headers.has("X-Pyro-Correlation-Id"));
  });
});

Deno.test("Gateway answers 404 for an unknown name and 403 for an unexposed one", async () => {
  await withGateway({}, async ({ base }) => {
    const unknown = await fetch(`${base}pyro/http.nosuch/add`);
    assert.equal(unknown.status, 404);
    const body = await json(unknown);
    assert.equal(body.__class__, "Pyro5.errors.NamingError");
    assert.match(String(body.args), /unknown name: http\.nosuch/);
    for (const name of ["private.calc", "xhttp.calc", "not.registered", "Pyro.NameServer"]) {
      const reply = await fetch(`${base}pyro/${name}/add`, post({ args: [1, 2] }));
      assert.equal(reply.status, 403, name);
      assert.equal((await json(reply)).__class__, "Pyro5.errors.SecurityError");
    }
  });
});

Deno.test("Gateway sends X-Pyro-Options: oneway calls without waiting for a result", async () => {
  await withGateway({}, async ({ base, calc }) => {
    const reply = await fetch(`${base}pyro/http.calc/fire`, post({ args: ["hi"] }));
    assert.equal(reply.status, 200);
    assert.equal(await reply.text(), "");
    assert.equal(await calc.fired.promise, "hi");
    calc.gate = signal();
    const forced = await fetch(
      `${base}pyro/http.calc/wait`,
      post({}, { "X-Pyro-Options": "oneway" }),
    );
    assert.equal(forced.status, 200); // answered while the method still waits
    assert.equal(await forced.text(), "");
    calc.gate.resolve();
  });
});

Deno.test("Gateway streams a remote generator as NDJSON and as Server-Sent Events", async () => {
  await withGateway({}, async ({ base }) => {
    const ndjson = await fetch(`${base}pyro/http.calc/count`, post({ args: [3] }));
    assert.equal(ndjson.status, 200);
    assert.equal(ndjson.headers.get("Content-Type"), "application/x-ndjson");
    assert.equal(await ndjson.text(), "0\n1\n2\n");
    const sse = await fetch(
      `${base}pyro/http.calc/count`,
      post({ args: [2] }, { Accept: "text/event-stream" }),
    );
    assert.match(sse.headers.get("Content-Type")!, /^text\/event-stream/);
    assert.equal(await sse.text(), "data: 0\n\ndata: 1\n\nevent: end\ndata: null\n\n");
    const broken = await fetch(`${base}pyro/http.calc/failing`, { method: "POST" });
    const lines = (await broken.text()).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines[0], 1);
    assert.equal(lines[1].__class__, "builtins.TypeError");
    // A client that leaves a stream early frees its place: the gateway keeps serving.
    const early = await fetch(`${base}pyro/http.calc/count`, post({ args: [1_000_000] }));
    const reader = early.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value).split("\n")[0], "0");
    await reader.cancel();
    assert.equal(
      await (await fetch(`${base}pyro/http.calc/add`, post({ args: [1, 1] }))).json(),
      2,
    );
  });
});

Deno.test("Gateway carries bytes as base64 with a $bytes marker both ways", async () => {
  await withGateway({}, async ({ base }) => {
    const reply = await fetch(`${base}pyro/http.calc/inc`, post({ args: [{ $bytes: "AQID" }] }));
    assert.equal(reply.status, 200);
    assert.deepEqual(await reply.json(), { $bytes: "AgME" });
    const bad = await fetch(`${base}pyro/http.calc/inc`, post({ args: [{ $bytes: "%%%" }] }));
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  });
});

Deno.test("Gateway requires the gateway key in the header or as $key", async () => {
  await withGateway({ key: "s3cret" }, async ({ base }) => {
    const none = await fetch(`${base}pyro/http.calc/add`, post({ args: [1, 2] }));
    assert.equal(none.status, 403);
    assert.match(String((await json(none)).args), /incorrect gateway api key/);
    const wrong = await fetch(
      `${base}pyro/http.calc/add`,
      post({ args: [1, 2] }, { "X-Pyro-Gateway-Key": "s3cre" }),
    );
    assert.equal(wrong.status, 403);
    await wrong.body?.cancel();
    const header = await fetch(
      `${base}pyro/http.calc/add`,
      post({ args: [1, 2] }, { "X-Pyro-Gateway-Key": "s3cret" }),
    );
    assert.equal(await header.json(), 3);
    const param = await fetch(`${base}pyro/http.calc/add?$key=s3cret`, post({ args: [2, 2] }));
    assert.equal(await param.json(), 4); // $key is not passed on as a keyword argument
    const api = await fetch(`${base}console/api/names`);
    assert.equal(api.status, 403);
    await api.body?.cancel();
  });
});

Deno.test("Gateway answers CORS preflights allowing the X-Pyro headers", async () => {
  await withGateway({ cors: "https://app.example" }, async ({ base }) => {
    const preflight = await fetch(`${base}pyro/http.calc/add`, {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-pyro-gateway-key, content-type",
      },
    });
    assert.ok(preflight.status === 200 || preflight.status === 204);
    await preflight.body?.cancel();
    assert.equal(preflight.headers.get("Access-Control-Allow-Origin"), "https://app.example");
    const allowed = preflight.headers.get("Access-Control-Allow-Headers")!.toLowerCase();
    for (
      const h of ["x-pyro-gateway-key", "x-pyro-options", "x-pyro-correlation-id", "content-type"]
    ) {
      assert.ok(allowed.includes(h), h);
    }
    const reply = await fetch(`${base}pyro/http.calc/add`, post({ args: [1, 2] }));
    assert.equal(reply.headers.get("Access-Control-Allow-Origin"), "https://app.example");
    assert.match(reply.headers.get("Access-Control-Expose-Headers")!, /X-Pyro-Correlation-Id/);
    await reply.body?.cancel();
  });
  await withGateway({}, async ({ base }) => {
    const reply = await fetch(`${base}pyro/http.calc/add`, post({ args: [1, 2] }));
    assert.equal(reply.headers.get("Access-Control-Allow-Origin"), null);
    await reply.body?.cancel();
  });
});

Deno.test("Gateway redirects / to /pyro/, an index page of the exposed names", async () => {
  await withGateway({}, async ({ base }) => {
    const root = await fetch(base, { redirect: "manual" });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get("Location"), "/pyro/");
    await root.body?.cancel();
    const index = await fetch(`${base}pyro/`);
    assert.equal(index.status, 200);
    const html = await index.text();
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    assert.ok(html.includes("http.calc"));
    assert.ok(!html.includes("private.calc"));
  });
});

Deno.test("Gateway reuses its connection to a target across requests", async () => {
  await withGateway({}, async ({ base }) => {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await (await fetch(`${base}pyro/http.calc/connection`, { method: "POST" })).json());
    }
    assert.equal(new Set(ids).size, 1);
  });
});

Deno.test("Gateway follows a target that moved to another daemon", async () => {
  await withGateway({ nsCacheTime: 600_000 }, async ({ base, ns }) => {
    const first = new Daemon({ host: "127.0.0.1" });
    ns.register("http.mover", first.register(expose({ where: () => "first" })).toString());
    assert.equal(
      await (await fetch(`${base}pyro/http.mover/where`, { method: "POST" })).json(),
      "first",
    );
    await first.close();
    await using second = new Daemon({ host: "127.0.0.1" });
    ns.register("http.mover", second.register(expose({ where: () => "second" })).toString());
    const moved = await fetch(`${base}pyro/http.mover/where`, { method: "POST" });
    assert.equal(moved.status, 200);
    assert.equal(await moved.json(), "second");
  });
});

Deno.test("Gateway answers 502 when a registered target cannot be reached", async () => {
  await withGateway({}, async ({ base, ns }) => {
    ns.register("http.gone", "PYRO:gone@127.0.0.1:1");
    const reply = await fetch(`${base}pyro/http.gone/anything`);
    assert.equal(reply.status, 502);
    assert.equal((await json(reply)).__class__, "Pyro5.errors.CommunicationError");
  });
});

Deno.test("Gateway answers bad requests with 4xx and a JSON reason", async () => {
  await withGateway({ maxBodySize: 1000 }, async ({ base }) => {
    const cases: Array<[string, RequestInit, number, RegExp]> = [
      ["pyro/http.calc/add", post("{not json"), 400, /Cannot parse the request body as JSON/],
      ["pyro/http.calc/add", post("[1, 2]"), 400, /expected \{"args"/],
      ["pyro/http.calc/add", post({ args: 1 }), 400, /"args" must be an array/],
      ["pyro/http.calc/add", post({ kwargs: [] }), 400, /"kwargs" must be an object/],
      ["pyro/http.calc/add", post({ args: [], extra: 1 }), 400, /unknown field "extra"/],
      ["pyro/http.calc/add", post({ args: ["x".repeat(2000)] }), 413, /larger than 1000 bytes/],
      [
        "pyro/http.calc/add",
        { method: "POST", headers: { "Content-Type": "image/png" }, body: "x" },
        415,
        /application\/json/,
      ],
      ["pyro/http.calc/add", { method: "PUT", body: "{}" }, 405, /use GET or POST/],
      ["pyro/http.calc/add", { method: "DELETE" }, 405, /use GET or POST/],
      ["pyro/", { method: "POST", body: "{}" }, 405, /Cannot serve method POST/],
      ["nothing/here", {}, 404, /Cannot find/],
      ["pyro/justaname", {}, 404, /Cannot find/],
      ["pyro/http.calc/", {}, 404, /Cannot find/],
      ["pyro//add", {}, 404, /Cannot find/],
      ["pyro/%E0%A4%A/add", {}, 404, /Cannot find/],
      ["console/nothing", {}, 404, /Cannot find/],
    ];
    for (const [path, init, status, reason] of cases) {
      const reply = await fetch(`${base}${path}`, init);
      assert.equal(reply.status, status, `${init.method ?? "GET"} ${path}`);
      const body = await json(reply);
      assert.equal(body.__exception__, true);
      assert.match(String((body.args as string[])[0]), reason, path);
    }
    // A body over the limit without a length (chunked) is cut off too.
    const chunked = await fetch(`${base}pyro/http.calc/add`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 20; i++) c.enqueue(new TextEncoder().encode("x".repeat(100)));
          c.close();
        },
      }),
    });
    assert.equal(chunked.status, 413);
    await chunked.body?.cancel();
    assert.equal(
      await (await fetch(`${base}pyro/http.calc/add`, post({ args: [1, 2] }))).json(),
      3,
    );
  });
});

Deno.test("Gateway resolves dot segments before checking the exposure", async () => {
  await withGateway({}, async ({ gateway }) => {
    const port = gateway.addr.port;
    for (
      const path of [
        "/pyro/http.calc/../private.calc/add",
        "/pyro/http.calc/%2E%2E/private.calc/add",
        "/pyro/http.calc%2F..%2F..%2Fprivate.calc/add",
        "/pyro/private.calc%2Fhttp.calc/add",
      ]
    ) {
      const answer = await raw(
        port,
        `GET ${path}?a=1&b=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        /^$/,
      );
      const status = Number(answer.slice(9, 12));
      assert.ok(status === 403 || status === 404, `${path}: ${answer.slice(0, 40)}`);
    }
  });
});

Deno.test("Gateway answers a client that sends its body too slowly with 408 and keeps serving", async () => {
  await withGateway({ requestTimeout: 300 }, async ({ gateway, base }) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: gateway.addr.port });
    await conn.write(
      new TextEncoder().encode(
        "POST /pyro/http.calc/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
          'Content-Length: 100\r\n\r\n{"args":',
      ),
    );
    // While that client stalls, others are served.
    assert.equal(
      await (await fetch(`${base}pyro/http.calc/add`, post({ args: [1, 2] }))).json(),
      3,
    );
    let answer = "";
    const buf = new Uint8Array(4096);
    while (!answer.includes("}")) {
      const n = await conn.read(buf);
      if (n === null) break;
      answer += new TextDecoder().decode(buf.subarray(0, n));
    }
    conn.close();
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /took longer than 300 ms/);
  });
});

Deno.test("Gateway keeps serving with 300 idle and half-sent connections open", async () => {
  await withGateway({}, async ({ gateway, base }) => {
    const conns: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 300; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: gateway.addr.port });
        conns.push(conn);
        if (i % 3 === 1) {
          await conn.write(new TextEncoder().encode("GET /pyro/http.calc/add HTTP/1.1\r\nHo"));
        }
        if (i % 3 === 2) await conn.write(new TextEncoder().encode("\x16\x03\x01garbage\r\n\r\n"));
      }
      const replies = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => fetch(`${base}pyro/http.calc/add`, post({ args: [i, 1] })),
        ),
      );
      assert.deepEqual(
        await Promise.all(replies.map((r) => r.json())),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    } finally {
      for (const c of conns) c.close();
    }
  });
});

Deno.test("Gateway bounds the calls in progress, index pages and console lookups included, and answers 503 past its queue", async () => {
  await withGateway({ maxConcurrentCalls: 1 }, async ({ base, calc }) => {
    calc.gate = signal();
    // One call runs and four wait (the queue holds four per place): of ten, five get a 503 at
    // once, and only then is the gate opened for the other five.
    const fiveRefused = signal();
    let refused = 0;
    const replies = Array.from({ length: 10 }, async () => {
      const reply = await fetch(`${base}pyro/http.calc/wait`, { method: "POST" });
      if (reply.status === 503) {
        assert.equal(reply.headers.get("Retry-After"), "1");
        await reply.body?.cancel();
        if (++refused === 5) fiveRefused.resolve();
        return "refused";
      }
      return await reply.json();
    });
    await fiveRefused.promise;
    for (const path of ["pyro/", "console/api/ping?name=http.calc", "console/api/names"]) {
      const reply = await fetch(`${base}${path}`);
      await reply.body?.cancel();
      assert.equal(reply.status, 503, path);
    }
    calc.gate.resolve();
    const results = await Promise.all(replies);
    assert.equal(results.filter((r) => r === "done").length, 5);
    assert.equal(results.filter((r) => r === "refused").length, 5);
  });
});

Deno.test("Gateway gives one client address at most its share of the calls in progress", async () => {
  await withGateway({ maxConcurrentCalls: 4, maxCallsPerAddress: 2 }, async ({ base, calc }) => {
    calc.gate = signal();
    // Places are free, but one address may hold two calls: of three, one is refused at once,
    // and only then is the gate opened for the other two.
    const oneRefused = signal();
    const replies = [0, 1, 2].map(async () => {
      const reply = await fetch(`${base}pyro/http.calc/wait`, { method: "POST" });
      if (reply.status === 503) {
        assert.match(await reply.text(), /too many calls in progress/);
        oneRefused.resolve();
        return "refused";
      }
      return await reply.json();
    });
    await oneRefused.promise;
    calc.gate.resolve();
    assert.deepEqual((await Promise.all(replies)).sort(), ["done", "done", "refused"]);
  });
});

Deno.test("A gateway made with createGateway serves inside an existing Deno.serve app", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  await using daemon = new Daemon({ host: "127.0.0.1" });
  ns.nameServer.register("http.calc", daemon.register(new Calc()).toString());
  await using gateway = createGateway({ ns: `127.0.0.1:${ns.uri.port}` });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  await using server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => listening.resolve(addr),
  }, (request, info) => {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/pyro/")) return gateway.handler(request, info);
    return new Response("the app");
  });
  const { port } = await listening.promise;
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "the app");
  const reply = await fetch(`http://127.0.0.1:${port}/pyro/http.calc/add`, post({ args: [4, 5] }));
  assert.equal(await reply.json(), 9);
  assert.ok(server);
});

Deno.test("Console API lists exposed names with filters, pings them and reports changes", async () => {
  await withGateway({}, async ({ base, ns, daemon }) => {
    ns.register("http.other", daemon.uriFor("calc").toString(), false, ["math", "spare"]);
    ns.register("http.down", "PYRO:gone@127.0.0.1:1", false, ["spare"]);
    const names = async (query = "") => {
      const body = await json(await fetch(`${base}console/api/names${query}`));
      return (body.names as Array<{ name: string }>).map((n) => n.name);
    };
    assert.deepEqual(await names(), ["http.calc", "http.down", "http.other"]);
    assert.deepEqual(await names("?prefix=http.o"), ["http.other"]);
    assert.deepEqual(await names("?regex=http\\.(calc|down)$"), ["http.calc", "http.down"]);
    assert.deepEqual(await names("?all=math,spare"), ["http.other"]);
    assert.deepEqual(await names("?any=math,spare"), ["http.calc", "http.down", "http.other"]);
    const badRegex = await fetch(`${base}console/api/names?regex=(`);
    assert.equal(badRegex.status, 400);
    await badRegex.body?.cancel();

    const up = await json(await fetch(`${base}console/api/ping?name=http.calc`));
    assert.equal(up.ok, true);
    assert.ok((up.methods as string[]).includes("add"));
    const down = await json(await fetch(`${base}console/api/ping?name=http.down`));
    assert.equal(down.ok, false);
    assert.match(String(down.error), /CommunicationError/);
    const hidden = await fetch(`${base}console/api/ping?name=private.calc`);
    assert.equal(hidden.status, 403);
    await hidden.body?.cancel();

    const events = await fetch(`${base}console/api/events`);
    assert.match(events.headers.get("Content-Type")!, /^text\/event-stream/);
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const versions = () => [...text.matchAll(/"version":(\d+)/g)].map((m) => Number(m[1]));
    while (!versions().some((v) => v >= 1)) text += (await reader.read()).value ?? "";
    const seen = Math.max(...versions());
    ns.register("http.new", "PYRO:new@127.0.0.1:1");
    while (!versions().some((v) => v > seen)) text += (await reader.read()).value ?? "";
    await reader.cancel();

    const page = await fetch(`${base}console/`);
    assert.match(page.headers.get("Content-Security-Policy")!, /script-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="console.js">/);
    const script = await fetch(`${base}console/console.js`);
    assert.match(script.headers.get("Content-Type")!, /javascript/);
    await script.body?.cancel();
  });
});

const CURL = (() => {
  try {
    return Deno.statSync("/usr/bin/curl").isFile ? "/usr/bin/curl" : null;
  } catch {
    return null;
  }
})();

Deno.test({
  name: "curl calls a method, reads $meta and sees the Pyro headers",
  ignore: CURL === null,
  async fn() {
    await withGateway({ key: "k", cors: "*" }, async ({ base }) => {
      const run = async (...args: string[]) => {
        const out = await new Deno.Command(CURL!, { args: ["-s", "-i", ...args], stdout: "piped" })
          .output();
        return new TextDecoder().decode(out.stdout);
      };
      const meta = await run("-H", "X-Pyro-Gateway-Key: k", `${base}pyro/http.calc/$meta`);
      assert.match(meta, /^HTTP\/1\.1 200/);
      assert.match(meta, /x-pyro-correlation-id: [0-9a-f-]{36}/i);
      assert.match(meta, /access-control-allow-origin: \*/i);
      assert.match(meta, /"methods":\[/);
      const call = await run(
        "-H",
        "Content-Type: application/json",
        "-H",
        "X-Pyro-Correlation-Id: 11112222-1111-2222-3333-222244449999",
        "--data",
        '{"args": [20, 22]}',
        `${base}pyro/http.calc/add?$key=k`,
      );
      assert.match(call, /^HTTP\/1\.1 200/);
      assert.match(call, /x-pyro-correlation-id: 11112222-1111-2222-3333-222244449999/i);
      assert.match(call, /\r\n\r\n42$/);
      const denied = await run(`${base}pyro/http.calc/add`);
      assert.match(denied, /^HTTP\/1\.1 403/);
    });
  },
});
