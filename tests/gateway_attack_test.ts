/**
 * The HTTP gateway under attack, each attack bounded in count and time, all on 127.0.0.1: idle
 * connections, request heads and bodies trickled or never finished, idle WebSockets, more
 * connections than file descriptors, oversized bodies and messages, a WebSocket client that
 * never reads. The gateway (with its Name Server and a daemon) runs in its own process
 * (tests/_gateway_attack_server.ts), so that its RSS and file descriptors are its own.
 *
 * Quick mode (the default, for CI) uses 1,000 idle connections; full mode
 * (`PYRO_ATTACK_FULL=1`, or `deno task attack`) uses 5,000. Every test prints its figures on a
 * line starting with `attack: gateway:`. Latencies are reported, not asserted, except where an
 * assertion only catches a lockout or a hang (a bound of seconds).
 */

import assert from "node:assert/strict";
import { FULL, mb, openIdle, percentile, rssOf, since } from "./_attack.ts";
import { createProxy } from "../proxy.ts";
import { startGateway } from "../gateway.ts";
import { encodeMessage, MessageType } from "../_wire/protocol.ts";
import { getSerializer } from "../serializer.ts";

const IDLE = FULL ? 5_000 : 1_000;
const STALLED = 200;
const TRICKLING = 100;
const IDLE_WS = FULL ? 1_000 : 200;
/** Catches a lockout or a hang only. */
const HANG = 5_000;
const SERVER = Deno.env.get("PYRO_GATEWAY_ATTACK_SERVER") ??
  new URL("./_gateway_attack_server.ts", import.meta.url).pathname;
const encoder = new TextEncoder();

function report(text: string): void {
  console.log(`attack: gateway: ${text}`);
}

/** A child process of tests/_gateway_attack_server.ts. */
interface Child {
  info: Record<string, unknown>;
  alive(): boolean;
  stop(): Promise<void>;
}

async function spawnChild(role: Record<string, unknown>, fileLimit?: number): Promise<Child> {
  const deno = ["run", "-A", "--v8-flags=--expose-gc", SERVER, JSON.stringify(role)];
  const command = fileLimit === undefined
    ? new Deno.Command(Deno.execPath(), { args: deno, stdin: "piped", stdout: "piped" })
    : new Deno.Command("bash", {
      args: ["-c", `ulimit -n ${fileLimit} && exec "$0" "$@"`, Deno.execPath(), ...deno],
      stdin: "piped",
      stdout: "piped",
    });
  const child = command.spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`attack process ended early: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void child.stdout.pipeTo(new WritableStream()).catch(() => {});
  const writer = child.stdin.getWriter();
  let stopped: Promise<void> | undefined;
  return {
    info: JSON.parse(text.slice(0, text.indexOf("\n"))),
    alive: () => !exited,
    stop() {
      stopped ??= (async () => {
        await writer.close().catch(() => {});
        if (!exited) {
          const timer = setTimeout(() => child.kill(), 10_000);
          await status;
          clearTimeout(timer);
        }
      })();
      return stopped;
    },
  };
}

/** The gateway's process (the Name Server and the daemon run in another one). */
interface GatewayProcess {
  port: number;
  pid: number;
  addr: Deno.NetAddr;
  limits: Record<string, number> | null;
  /** True while the gateway's process runs. */
  alive(): boolean;
}

async function withGateway(
  options: Record<string, unknown>,
  body: (gateway: GatewayProcess) => Promise<void>,
  fileLimit?: number,
): Promise<void> {
  const backend = await spawnChild({ role: "backend" });
  try {
    const child = await spawnChild(
      { role: "gateway", ns: backend.info.ns, options },
      fileLimit,
    );
    try {
      const port = child.info.port as number;
      await body({
        port,
        pid: child.info.pid as number,
        addr: { transport: "tcp", hostname: "127.0.0.1", port },
        limits: child.info.limits as Record<string, number> | null,
        alive: child.alive,
      });
    } finally {
      await child.stop();
    }
  } finally {
    await backend.stop();
  }
}

/**
 * One HTTP call of `method` (of `http.thing`, or `object.method`) with these arguments, on a
 * connection of its own; its status, body and time.
 */
async function httpCall(
  gateway: GatewayProcess,
  method: string,
  args: unknown[],
): Promise<{ status: number; body: unknown; ms: number }> {
  const start = performance.now();
  const dot = method.lastIndexOf(".");
  const path = dot > 0
    ? `${method.slice(0, dot)}/${method.slice(dot + 1)}`
    : `http.thing/${method}`;
  using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  const response = await fetch(`http://127.0.0.1:${gateway.port}/pyro/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ args }),
    client,
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.json();
  return { status: response.status, body, ms: since(start) };
}

/** Collects garbage in the gateway's process and returns its RSS. */
async function settledRss(gateway: GatewayProcess, reduce = false): Promise<number> {
  for (let i = 0; i < 2; i++) {
    assert.equal((await httpCall(gateway, "http.gwstats.stats", [reduce])).status, 200);
  }
  return rssOf(gateway.pid);
}

/** The gateway's client connections, besides the one asking. */
async function connectionsOf(gateway: GatewayProcess): Promise<number> {
  const reply = await httpCall(gateway, "http.gwstats.stats", [false]);
  return (reply.body as { connections: number }).connections - 1;
}

/** `count` good HTTP calls and `count` good WebSocket calls; their latencies. */
async function goodCalls(
  gateway: GatewayProcess,
  count: number,
): Promise<{ http: number[]; ws: number[] }> {
  const http: number[] = [];
  const ws: number[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await httpCall(gateway, "echo", [i]);
    assert.equal(reply.status, 200);
    assert.equal(reply.body, i);
    http.push(reply.ms);
  }
  const start = performance.now();
  await using proxy = createProxy("PYRONAME:http.thing", {
    via: `ws://127.0.0.1:${gateway.port}/pyro/ws`,
  }) as unknown as { echo(x: number): Promise<number> } & AsyncDisposable;
  assert.equal(await proxy.echo(-1), -1);
  ws.push(since(start)); // the first: open, hello, connect and call
  for (let i = 0; i < count - 1; i++) {
    const t = performance.now();
    assert.equal(await proxy.echo(i), i);
    ws.push(since(t));
  }
  return { http, ws };
}

function figures(values: number[]): string {
  return `median ${percentile(values, 0.5).toFixed(1)} ms, worst ${
    Math.max(...values).toFixed(1)
  } ms`;
}

function closeAll(conns: { close(): void }[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch {
      // already closed by the gateway
    }
  }
}

/** Connections that send the start of a request head and then nothing. */
async function openStalledHeads(addr: Deno.NetAddr, count: number): Promise<Deno.TcpConn[]> {
  const conns = await openIdle(addr, count);
  const part = encoder.encode("POST /pyro/http.thing/echo HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  await Promise.all(conns.map((c) => c.write(part)));
  return conns;
}

/** Connections that send a whole head, promise a body and send ten bytes of it. */
async function openTricklingBodies(addr: Deno.NetAddr, count: number): Promise<Deno.TcpConn[]> {
  const conns = await openIdle(addr, count);
  const head = encoder.encode(
    "POST /pyro/http.thing/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
      'Content-Length: 100000\r\n\r\n{"args": [',
  );
  await Promise.all(conns.map((c) => c.write(head)));
  return conns;
}

/** WebSocket upgrades that complete and then never send the hello. */
async function openIdleWebSockets(addr: Deno.NetAddr, count: number): Promise<Deno.TcpConn[]> {
  const conns = await openIdle(addr, count);
  const upgrade = encoder.encode(
    "GET /pyro/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await Promise.all(conns.map((c) => c.write(upgrade)));
  return conns;
}

/** Reads until the peer closes; the milliseconds it took, or null past `bound`. */
async function closedWithin(conn: Deno.Conn, bound: number): Promise<number | null> {
  const start = performance.now();
  const buf = new Uint8Array(256 * 1024);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), bound);
  });
  try {
    for (;;) {
      const n = await Promise.race([conn.read(buf).catch(() => null), timeout]);
      if (n === "timeout") return null;
      if (n === null) return since(start);
    }
  } finally {
    clearTimeout(timer);
  }
}

Deno.test(`Gateway answers HTTP and WebSocket calls while ${IDLE} idle connections, ${STALLED} stalled heads, ${TRICKLING} trickled bodies and ${IDLE_WS} silent WebSockets are open`, async () => {
  // Every attacker here comes from 127.0.0.1, where real ones come from many addresses: the
  // per-address caps are lifted to model distinct peers, and the deadlines lengthened so that
  // the connections stay while they are counted (the caps and deadlines have tests below).
  await withGateway({
    maxConnectionsPerAddress: 1_000_000,
    headerTimeout: 600_000,
    idleTimeout: 600_000,
    requestTimeout: 600_000,
    maxWebSocketsPerAddress: 1_000_000,
  }, async (gateway) => {
    const unloaded = await goodCalls(gateway, 20);
    const before = await settledRss(gateway);
    const idle = await openIdle(gateway.addr, IDLE);
    const withIdle = await settledRss(gateway);
    const stalled = await openStalledHeads(gateway.addr, STALLED);
    const trickling = await openTricklingBodies(gateway.addr, TRICKLING);
    const sockets = await openIdleWebSockets(gateway.addr, IDLE_WS);
    try {
      const loaded = await goodCalls(gateway, 20);
      const during = await settledRss(gateway);
      const perIdle = (withIdle - before) / IDLE;
      report(
        `${IDLE} idle + ${STALLED} stalled heads + ${TRICKLING} trickled bodies + ${IDLE_WS} ` +
          `silent WebSockets (limit ${gateway.limits?.maxConnections ?? "none"}): HTTP call ` +
          `${figures(loaded.http)} (unloaded ${figures(unloaded.http)}); WebSocket call ` +
          `${figures(loaded.ws)} (unloaded ${figures(unloaded.ws)}); RSS ${mb(before)} -> ${
            mb(withIdle)
          } -> ${mb(during)} MB: ${(perIdle / 1024).toFixed(1)} KiB per idle connection`,
      );
      assert.ok(Math.max(...loaded.http, ...loaded.ws) < HANG, "locked out?");
    } finally {
      closeAll([...idle, ...stalled, ...trickling, ...sockets]);
    }
    report(`RSS after closing them: ${mb(await settledRss(gateway, true))} MB`);
  });
});

Deno.test("Gateway closes connections that send no request head in time, and kept ones left idle", async () => {
  await withGateway({ headerTimeout: 300, idleTimeout: 300 }, async (gateway) => {
    const idle = await openIdle(gateway.addr, 50);
    const stalled = await openStalledHeads(gateway.addr, 50);
    const kept = await Deno.connect({ hostname: "127.0.0.1", port: gateway.port });
    try {
      await kept.write(encoder.encode("GET /pyro/ HTTP/1.1\r\nHost: x\r\n\r\n"));
      const waits = await Promise.all(
        [...idle, ...stalled, kept].map((c) => closedWithin(c, HANG)),
      );
      const open = waits.filter((w) => w === null).length;
      report(
        `header deadline 300 ms: 50 idle and 50 stalled connections closed after ${
          figures(waits.filter((w) => w !== null) as number[])
        }; ${open} still open after ${HANG} ms`,
      );
      assert.equal(open, 0);
      assert.equal((await httpCall(gateway, "echo", [1])).body, 1);
    } finally {
      closeAll([...idle, ...stalled, kept]);
    }
  });
});

Deno.test("Gateway at its connection limit closes the connections idle the longest instead of locking out", async () => {
  await withGateway(
    { maxConnections: 100, maxConnectionsPerAddress: 100, headerTimeout: 600_000 },
    async (gateway) => {
      const idle = await openIdle(gateway.addr, 300);
      try {
        const calls = await goodCalls(gateway, 10);
        const waits = await Promise.all(idle.map((c) => closedWithin(c, 1000)));
        const evicted = waits.filter((w) => w !== null).length;
        report(
          `limit 100, 300 idle connections opened: ${evicted} evicted; HTTP call ${
            figures(calls.http)
          }; WebSocket call ${figures(calls.ws)}`,
        );
        assert.ok(evicted >= 190, `only ${evicted} evicted`);
      } finally {
        closeAll(idle);
      }
    },
  );
});

Deno.test("Gateway keeps serving when its process runs out of file descriptors", async () => {
  // A limit far above the file descriptors the process may open: only running out of them
  // stops the accepting, which Deno.serve alone does not survive.
  const files = 256;
  await withGateway(
    { maxConnections: 100_000, maxConnectionsPerAddress: 100_000, headerTimeout: 600_000 },
    async (gateway) => {
      const idle = await openIdle(gateway.addr, files + 100);
      try {
        const reply = await httpCall(gateway, "echo", ["still here"]);
        const waits = await Promise.all(idle.map((c) => closedWithin(c, 1000)));
        report(
          `file limit ${files}, ${idle.length} idle connections opened: ${
            waits.filter((w) => w !== null).length
          } closed to make room; the gateway ${
            gateway.alive() ? "still runs" : "died"
          }; a call took ${reply.ms.toFixed(1)} ms`,
        );
        assert.equal(reply.body, "still here");
        assert.ok(gateway.alive());
      } finally {
        closeAll(idle);
      }
    },
    files,
  );
});

/** Writes `body` until the gateway answers; its status line. */
async function postHostile(
  gateway: GatewayProcess,
  head: string,
  chunk: Uint8Array,
  chunks: number,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: gateway.port });
  let answered = false;
  const answer = (async () => {
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf).catch(() => null);
    answered = true;
    return n === null ? "closed" : new TextDecoder().decode(buf.subarray(0, n)).split("\r\n")[0]!;
  })();
  const writing = (async () => {
    try {
      await conn.write(encoder.encode(head));
      for (let i = 0; i < chunks && !answered; i++) await conn.write(chunk);
    } catch {
      // the gateway closed the connection
    }
  })();
  const status = await answer;
  conn.close();
  await writing;
  return status;
}

Deno.test("Gateway refuses oversized and deeply nested bodies before buffering them", async () => {
  await withGateway({}, async (gateway) => {
    const before = await settledRss(gateway);
    const piece = new Uint8Array(64 * 1024).fill(0x20);
    const chunked = new Uint8Array([
      ...encoder.encode(`${piece.length.toString(16)}\r\n`),
      ...piece,
      ...encoder.encode("\r\n"),
    ]);
    const post =
      "POST /pyro/http.thing/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    const start = performance.now();
    let peak = 0;
    const sampling = setInterval(() => peak = Math.max(peak, rssOf(gateway.pid)), 20);
    const answers = await Promise.all([
      ...Array.from(
        { length: 5 },
        () => postHostile(gateway, `${post}Content-Length: 1073741824\r\n\r\n`, piece, 256),
      ),
      ...Array.from(
        { length: 5 },
        () => postHostile(gateway, `${post}Transfer-Encoding: chunked\r\n\r\n`, chunked, 256),
      ),
    ]);
    clearInterval(sampling);
    const took = since(start);
    const depth = 400_000;
    const nested = await fetch(`http://127.0.0.1:${gateway.port}/pyro/http.thing/echo`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: `{"args": [${"[".repeat(depth)}${"]".repeat(depth)}]}`,
    });
    const nestedText = await nested.text();
    const good = await httpCall(gateway, "echo", ["fine"]);
    const after = await settledRss(gateway, true);
    report(
      `10 bodies of 1 GB declared or 16 MiB chunked: ${[...new Set(answers)].join(", ")} within ${
        took.toFixed(0)
      } ms; ${depth} levels of nesting: ${nested.status}; RSS ${mb(before)} -> peak ${
        mb(peak)
      } -> ${mb(after)} MB; then a call took ${good.ms.toFixed(1)} ms`,
    );
    for (const answer of answers) assert.match(answer, /^HTTP\/1\.1 413|^closed$/);
    assert.ok(answers.some((a) => a.includes("413")));
    assert.equal(nested.status, 400, nestedText);
    assert.equal(good.body, "fine");
  });
});

/** A WebSocket opened by hand on a TCP connection, so that the test decides when to read. */
async function rawWebSocket(gateway: GatewayProcess): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: gateway.port });
  await conn.write(encoder.encode(
    "GET /pyro/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  ));
  let text = "";
  const buf = new Uint8Array(1);
  while (!text.endsWith("\r\n\r\n")) {
    if (await conn.read(buf) === null) throw new Error("the upgrade was refused");
    text += String.fromCharCode(buf[0]!);
  }
  assert.match(text, /^HTTP\/1\.1 101/);
  return conn;
}

/** One client frame (masked with a zero key, which leaves the payload as it is). */
function wsFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126
    ? [0x80 | opcode, 0x80 | n]
    : n < 65536
    ? [0x80 | opcode, 0x80 | 126, n >> 8, n & 255]
    : [
      0x80 | opcode,
      0x80 | 127,
      0,
      0,
      0,
      0,
      (n >>> 24) & 255,
      (n >> 16) & 255,
      (n >> 8) & 255,
      n & 255,
    ];
  const out = new Uint8Array(head.length + 4 + n);
  out.set(head);
  out.set(payload, head.length + 4);
  return out;
}

Deno.test("Gateway drops WebSocket clients that never read their replies, and refuses oversized messages", async () => {
  await withGateway({ writeTimeout: 1000 }, async (gateway) => {
    const before = await settledRss(gateway);
    const msgpack = getSerializer("msgpack");
    const CLIENTS = 10, CALLS = 32, SIZE = 1 << 20;
    const start = performance.now();
    const sockets = await Promise.all(Array.from({ length: CLIENTS }, async () => {
      const conn = await rawWebSocket(gateway);
      await conn.write(wsFrame(1, encoder.encode('{"object": "PYRONAME:http.thing"}')));
      await conn.read(new Uint8Array(256)); // the welcome: {"object": "thing"}
      const frames = [encodeMessage({
        type: MessageType.CONNECT,
        serializerId: msgpack.id,
        seq: 0,
        data: msgpack.dumps({ handshake: "hello", object: "thing" }),
      })];
      for (let i = 1; i <= CALLS; i++) {
        frames.push(encodeMessage({
          type: MessageType.INVOKE,
          serializerId: msgpack.id,
          seq: i,
          data: msgpack.dumpsCall({ object: "thing", method: "big", params: [SIZE], kwargs: {} }),
        }));
      }
      for (const frame of frames) await conn.write(wsFrame(2, frame));
      return conn; // and never read
    }));
    const sent = since(start);
    const during = await goodCalls(gateway, 10);
    // Until the gateway has dropped them (its connection count, polled; bounded).
    let peak = rssOf(gateway.pid);
    let open = await connectionsOf(gateway);
    while (open > 0 && since(start) < 30_000) {
      peak = Math.max(peak, rssOf(gateway.pid));
      open = await connectionsOf(gateway);
    }
    const dropped = since(start);
    const waits = await Promise.all(sockets.map((c) => closedWithin(c, HANG)));
    // An oversized message, from a well-behaved WebSocket.
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/pyro/ws`);
    ws.binaryType = "arraybuffer";
    const welcome = new Promise((resolve) => ws.onmessage = resolve);
    const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
    await new Promise((resolve) => ws.onopen = resolve);
    ws.send('{"object": "PYRONAME:http.thing"}');
    await welcome;
    ws.send(new Uint8Array(20 << 20));
    const close = await closed;
    const after = await settledRss(gateway, true);
    report(
      `${CLIENTS} WebSockets asking for ${CALLS} x 1 MiB replies and never reading ` +
        `(sent in ${sent.toFixed(0)} ms): all dropped ${
          dropped.toFixed(0)
        } ms after the start (write deadline 1000 ms; ${
          waits.filter((w) => w === null).length
        } still open); gateway RSS ${mb(before)} -> peak ${mb(peak)} -> ${
          mb(after)
        } MB; meanwhile HTTP call ${figures(during.http)}, WebSocket call ${
          figures(during.ws)
        }; a 20 MiB message: close ${close.code} ${close.reason}`,
    );
    closeAll(sockets);
    assert.ok(waits.every((w) => w !== null), "a non-reading WebSocket was kept");
    assert.equal(close.code, 1009);
  });
});

Deno.test("Gateway without its guard serves with Deno.serve alone and reports no limits", async () => {
  await using guarded = await startGateway({ host: "127.0.0.1", port: 0, ns: "127.0.0.1:9" });
  await using bare = await startGateway({
    host: "127.0.0.1",
    port: 0,
    ns: "127.0.0.1:9",
    guard: false,
  });
  for (const gateway of [guarded, bare]) {
    const reply = await fetch(gateway.url, { redirect: "manual" });
    await reply.body?.cancel();
    assert.equal(reply.status, 302);
  }
  assert.ok((guarded.limits?.maxConnections ?? 0) >= 64);
  assert.equal(bare.limits, null);
  assert.equal(bare.connections, null);
});

Deno.test("Gateway keeps answering others while WebSockets flood it with frames", async () => {
  await withGateway({}, async (gateway) => {
    const unloaded = await goodCalls(gateway, 10);
    const msgpack = getSerializer("msgpack");
    const CLIENTS = 10, FRAMES = FULL ? 200_000 : 50_000;
    const pyroPing = encodeMessage({ type: MessageType.PING, serializerId: msgpack.id, seq: 1 });
    const ping = wsFrame(2, pyroPing);
    const burst = new Uint8Array(ping.length * FRAMES);
    for (let i = 0; i < FRAMES; i++) burst.set(ping, i * ping.length);
    // Each PING comes back as one unmasked binary message of the same Pyro frame size.
    const answers = (pyroPing.length + 2) * FRAMES;
    const start = performance.now();
    const flooders = await Promise.all(Array.from({ length: CLIENTS }, async () => {
      const conn = await rawWebSocket(gateway);
      await conn.write(wsFrame(1, encoder.encode('{"object": "PYRONAME:http.thing"}')));
      await conn.read(new Uint8Array(256)); // the welcome
      await conn.write(wsFrame(
        2,
        encodeMessage({
          type: MessageType.CONNECT,
          serializerId: msgpack.id,
          seq: 0,
          data: msgpack.dumps({ handshake: "hello", object: "thing" }),
        }),
      ));
      await conn.read(new Uint8Array(4096)); // CONNECTOK, one small message
      const writing = (async () => {
        try {
          let off = 0;
          while (off < burst.length) off += await conn.write(burst.subarray(off));
        } catch {
          // closed by the gateway
        }
      })();
      const answered = (async () => {
        const buf = new Uint8Array(256 * 1024);
        let got = 0;
        while (got < answers) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return { ms: since(start), closed: true };
          got += n;
        }
        return { ms: since(start), closed: false };
      })();
      return { conn, done: Promise.all([writing, answered]).then(([, a]) => a) };
    }));
    try {
      const during = await goodCalls(gateway, 10);
      const callsDone = since(start);
      const floods = await Promise.all(flooders.map((f) => f.done));
      report(
        `${CLIENTS} WebSockets each sending ${FRAMES} PING frames at once: meanwhile HTTP call ${
          figures(during.http)
        } (unloaded ${figures(unloaded.http)}), WebSocket call ${figures(during.ws)} (unloaded ${
          figures(unloaded.ws)
        }); the good calls done ${callsDone.toFixed(0)} ms after the start; ${
          floods.filter((f) => f.closed).length
        } flooding WebSockets closed by the gateway, all ended after ${
          Math.min(...floods.map((f) => f.ms)).toFixed(0)
        }-${Math.max(...floods.map((f) => f.ms)).toFixed(0)} ms`,
      );
      assert.ok(Math.max(...during.http, ...during.ws) < HANG, "starved?");
      assert.ok(floods.every((f) => f.closed), "a flood past 1,024 frames in flight was relayed");
    } finally {
      closeAll(flooders.map((f) => f.conn));
    }
  });
});
