/**
 * The HTTP gateway against our Name Server and daemon over real sockets on 127.0.0.1: every
 * URL, header and status of Pyro5's gateway and ours, and bad input.
 */

import assert from "node:assert/strict";
import { startNameServer } from "../naming.ts";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";
import { type GatewayOptions, type GatewayServer, startGateway } from "../gateway.ts";

class Calc {
  total = 0;
  add(a: number, b: number): number {
    return a + b;
  }
  *count(n: number): Generator<number> {
    for (let i = 0; i < n; i++) yield i;
  }
  fail(): never {
    throw new RangeError("no good");
  }
  bytes(data: Uint8Array): Uint8Array {
    return data.map((b) => b + 1);
  }
}
expose(Calc);

interface Fixture {
  gateway: GatewayServer;
  base: string;
}

async function withGateway(
  options: GatewayOptions,
  fn: (f: Fixture) => Promise<void>,
): Promise<void> {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  await using daemon = new Daemon({ host: "127.0.0.1" });
  ns.nameServer.register("http.calc", daemon.register(new Calc(), "calc").toString());
  ns.nameServer.register("private.calc", daemon.uriFor("calc").toString());
  await using gateway = await startGateway({
    host: "127.0.0.1",
    port: 0,
    ns: `127.0.0.1:${ns.uri.port}`,
    ...options,
  });
  await fn({ gateway, base: gateway.url });
}

function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

Deno.test("Gateway calls a method with a POSTed JSON body and echoes a correlation id", async () => {
  await withGateway({}, async ({ base }) => {
    const reply = await fetch(`${base}pyro/http.calc/add`, post({ args: [2, 3] }));
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get("Content-Type")!, /application\/json/);
    assert.match(reply.headers.get("X-Pyro-Correlation-Id")!, /^[0-9a-f-]{36}$/);
    assert.equal(await reply.json(), 5);
  });
});

Deno.test("Gateway refuses a name outside the expose pattern with 403", async () => {
  await withGateway({}, async ({ base }) => {
    const reply = await fetch(`${base}pyro/private.calc/add`, post({ args: [2, 3] }));
    assert.equal(reply.status, 403);
    const body = await reply.json();
    assert.equal(body.__class__, "Pyro5.errors.SecurityError");
    assert.equal(body.__exception__, true);
  });
});
