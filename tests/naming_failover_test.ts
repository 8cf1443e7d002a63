/**
 * Client failover across name servers (a comma-separated host or `NS_HOST`, the `nameServers`
 * option) and across daemons serving one service (`PYROMETA:` picks one that accepts
 * connections). The PostgreSQL-backed cluster tests are in naming_postgres_test.ts.
 */

import assert from "node:assert/strict";
import { locateNS, resolve } from "../locate.ts";
import { NamingError } from "../errors.ts";
import { startNameServer } from "../naming.ts";

/** A loopback port where nothing listens. */
function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("locateNS uses the next name server of a list when one is down", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const down = `127.0.0.1:${deadPort()}`;
  const up = `127.0.0.1:${server.uri.port}`;
  await using viaHost = await locateNS(`${down},${up}`);
  assert.equal(await viaHost.count(), 1);
  await using viaOption = await locateNS(null, null, { nameServers: [down, up], broadcast: false });
  assert.equal(viaOption._pyroUri.port, server.uri.port);
  await using viaNsHost = await locateNS(null, null, {
    nsHost: `${down}, ${up}`,
    broadcast: false,
  });
  assert.equal(viaNsHost._pyroUri.port, server.uri.port);
  await assert.rejects(
    locateNS(null, null, { nameServers: [down], broadcast: false }),
    (e: unknown) =>
      e instanceof NamingError && e.message.startsWith("Failed to locate the nameserver; tried") &&
      e.message.includes(down),
  );
});

Deno.test("resolve() asks the next name server for PYRONAME and PYROMETA when one is down", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  await server.nameServer.register("demo.svc", "PYRO:svc@127.0.0.1:4010", false, ["svc"]);
  const nameServers = [`127.0.0.1:${deadPort()}`, `127.0.0.1:${server.uri.port}`];
  assert.equal(
    String(await resolve("PYRONAME:demo.svc", { nameServers })),
    "PYRO:svc@127.0.0.1:4010",
  );
  assert.equal(String(await resolve("PYROMETA:svc", { nameServers })), "PYRO:svc@127.0.0.1:4010");
  await assert.rejects(resolve("PYRONAME:demo.none", { nameServers }), /unknown name: demo\.none/);
});

Deno.test("PYROMETA resolves to a daemon that accepts connections when others are gone", async () => {
  await using server = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const live = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const livePort = (live.addr as Deno.NetAddr).port;
  const accepting = (async () => {
    for await (const conn of live) conn.close();
  })();
  for (let i = 0; i < 5; i++) {
    await server.nameServer.register(`svc.dead${i}`, `PYRO:w@127.0.0.1:${deadPort()}`, false, [
      "service:x",
    ]);
  }
  await server.nameServer.register("svc.live", `PYRO:w@127.0.0.1:${livePort}`, false, [
    "service:x",
  ]);
  try {
    for (let i = 0; i < 5; i++) {
      const uri = await resolve(`PYROMETA:service:x@127.0.0.1:${server.uri.port}`);
      assert.equal(uri.port, livePort);
    }
  } finally {
    live.close();
    await accepting;
  }
});

Deno.test("A proxy with retries resolves its name again when the daemon it was given is gone", async () => {
  const { Daemon } = await import("../daemon.ts");
  const { expose } = await import("../expose.ts");
  const { createProxy } = await import("../proxy.ts");
  const { CommunicationError } = await import("../errors.ts");
  const { NAMESERVER_NAME } = await import("../naming.ts");
  @expose
  class Echo {
    echo(x: unknown) {
      return x;
    }
  }
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const live = daemon.register(new Echo(), "echo");
  const dead = `PYRO:echo@127.0.0.1:${deadPort()}`;
  // A name server whose first answer is a daemon that is gone, and every later one a live one.
  const answers = [dead];
  @expose
  class OneDeadAnswer {
    lookup(_name: string) {
      return answers.shift() ?? String(live);
    }
    ping() {}
  }
  await using nsDaemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const nsUri = nsDaemon.register(new OneDeadAnswer(), NAMESERVER_NAME);
  const name = `PYRONAME:svc@127.0.0.1:${nsUri.port}`;
  {
    await using retrying = createProxy<Echo>(name, { maxRetries: 1 });
    assert.equal(await retrying.echo("hi"), "hi");
  }
  answers.push(dead);
  await using once = createProxy<Echo>(name);
  await assert.rejects(once.echo("hi"), CommunicationError);
});
