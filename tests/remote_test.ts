/**
 * Our proxy against our daemon, end to end over real sockets (TCP, Unix, IPv6 when present):
 * calls, errors, exposure, pipelining, timeouts, oneway, batches, streams, attributes,
 * autoproxy, callbacks, reconnects, release, correlation ids and annotations.
 */

import assert from "node:assert/strict";
import { currentContext, Daemon } from "../daemon.ts";
import {
  CommunicationError,
  ConnectionClosedError,
  PyroError,
  RemoteError,
  TimeoutError,
} from "../errors.ts";
import { expose, oneway } from "../expose.ts";
import { createBatch, createProxy, isProxy, type Proxy, type ProxyOptions } from "../proxy.ts";
import { hasSerializer } from "../serializer.ts";

interface Listener {
  notify(x: number): string;
}

/** A gate that server methods wait on, opened by the test (no sleeps). */
let gate = Promise.withResolvers<void>();
let streamClosed = Promise.withResolvers<void>();
let flakyCalls = 0;

class Other {
  @expose
  add(a: number, b: number): number {
    return a + b;
  }
}

class Thing {
  #value: unknown = 42;
  #fired: unknown[] = [];
  readonly other: Other;

  constructor(other: Other) {
    this.other = other;
  }

  @expose
  echo(x: unknown): unknown {
    return x;
  }

  @expose
  fail(): never {
    throw new RangeError("invalid value: 42");
  }

  @expose
  async block(): Promise<string> {
    await gate.promise;
    return "opened";
  }

  @oneway
  fire(x: unknown): void {
    this.#fired.push(x);
  }

  @expose
  fired(): unknown[] {
    return this.#fired;
  }

  @expose
  *gen(n: number): Generator<number> {
    try {
      for (let i = 0; i < n; i++) yield i;
    } finally {
      streamClosed.resolve();
    }
  }

  @expose
  get value(): unknown {
    return this.#value;
  }

  @expose
  set value(v: unknown) {
    this.#value = v;
  }

  @expose
  getOther(): Other {
    return this.other;
  }

  @expose
  async callback(listener: Proxy<Listener>, x: number): Promise<string> {
    assert.ok(isProxy(listener));
    try {
      return await listener.notify(x);
    } finally {
      await listener._pyroRelease();
    }
  }

  @expose
  connectionId(): number {
    return currentContext()!.connection.id;
  }

  @expose
  flaky(): string {
    if (flakyCalls++ === 0) currentContext()!.connection.close();
    return "ok";
  }

  @expose
  context(): { corr: string; ann: string | null } {
    const ctx = currentContext()!;
    ctx.responseAnnotations.set("XRSP", new TextEncoder().encode("reply"));
    const ann = ctx.annotations.get("XREQ");
    return { corr: ctx.correlationId, ann: ann ? new TextDecoder().decode(ann) : null };
  }

  @expose
  _secret(): string {
    return "never";
  }

  hidden(): string {
    return "not exposed";
  }
}

interface ThingApi {
  echo<T>(x: T): T;
  fail(): never;
  block(): Promise<string>;
  fire(x: unknown): void;
  fired(): unknown[];
  gen(n: number): Generator<number>;
  value: unknown;
  getOther(): Proxy<{ add(a: number, b: number): number }>;
  callback(listener: unknown, x: number): string;
  connectionId(): number;
  flaky(): string;
  context(): { corr: string; ann: string | null };
  hidden(): string;
}

async function serve(
  options: ConstructorParameters<typeof Daemon>[0],
  body: (daemon: Daemon, uri: string) => Promise<void>,
): Promise<void> {
  gate = Promise.withResolvers<void>();
  streamClosed = Promise.withResolvers<void>();
  flakyCalls = 0;
  const daemon = new Daemon(options);
  const other = new Other();
  daemon.register(other, "other");
  const uri = daemon.register(new Thing(other), "thing").toString();
  try {
    await body(daemon, uri);
  } finally {
    gate.resolve();
    await daemon.close();
  }
}

const serializers = ["msgpack", "json", ...(hasSerializer("serpent") ? ["serpent"] : [])];

for (const serializer of serializers) {
  const opts: ProxyOptions = { serializer };

  Deno.test(`Proxy calls our daemon and gets results and remote errors (${serializer})`, async () => {
    await serve({ host: "127.0.0.1" }, async (_daemon, uri) => {
      await using p = createProxy<ThingApi>(uri, opts);
      assert.equal(await p.echo("hi"), "hi");
      assert.deepEqual(await p.echo({ a: [1, 2, null] }), { a: [1, 2, null] });
      await assert.rejects(p.fail(), (e: unknown) => {
        assert.ok(e instanceof RemoteError);
        assert.equal(e.remoteClass, "builtins.ValueError");
        assert.equal(e.message, "invalid value: 42");
        assert.ok(e.remoteTraceback && e.remoteTraceback.length > 0);
        return true;
      });
      assert.equal(await p.echo("still usable"), "still usable");
    });
  });

  Deno.test(`Proxy pipelines 100 concurrent calls over one connection (${serializer})`, async () => {
    await serve({ host: "127.0.0.1" }, async (_daemon, uri) => {
      await using p = createProxy<ThingApi>(uri, opts);
      const n = Array.from({ length: 100 }, (_, i) => i);
      assert.deepEqual(await Promise.all(n.map((i) => p.echo(i))), n);
      const ids = await Promise.all(n.map(() => p.connectionId()));
      assert.equal(new Set(ids).size, 1);
    });
  });

  Deno.test(`Proxy streams, batches and reads attributes (${serializer})`, async () => {
    await serve({ host: "127.0.0.1" }, async (_daemon, uri) => {
      await using p = createProxy<ThingApi>(uri, opts);
      const items: number[] = [];
      for await (const i of await p.gen(4)) items.push(i);
      assert.deepEqual(items, [0, 1, 2, 3]);
      streamClosed = Promise.withResolvers<void>();
      for await (const i of await p.gen(100)) {
        if (i === 2) break;
      }
      await streamClosed.promise; // the early break closed the generator on the server
      assert.equal(await p._pyroGet("value"), 42);
      await p._pyroSet("value", "text");
      assert.equal(await p._pyroGet("value"), "text");
      const b = createBatch(p);
      b.echo(1);
      b.fail();
      b.echo(3);
      await assert.rejects(b._pyroRun(), RemoteError);
      b.echo(1);
      b.echo(2);
      assert.deepEqual(await b._pyroRun(), [1, 2]);
      const ob = p._pyroBatch();
      ob.fire("batched");
      await ob._pyroRunOneway();
      assert.equal(await p.fire("direct"), undefined);
      assert.deepEqual(await p.fired(), ["batched", "direct"]);
    });
  });

  Deno.test(`Proxy revives autoproxies and serves callbacks (${serializer})`, async () => {
    await serve({ host: "127.0.0.1" }, async (_daemon, uri) => {
      await using p = createProxy<ThingApi>(uri, opts);
      const other = await p.getOther();
      assert.ok(isProxy(other));
      assert.equal(await other.add(2, 3), 5);
      await other._pyroRelease();
      await using clientDaemon = new Daemon({ host: "127.0.0.1" });
      const listener = expose({ notify: (x: number) => `got ${x}` });
      const listenerUri = clientDaemon.register(listener, "listener");
      assert.equal(await p.callback(listener, 5), "got 5");
      await using lp = createProxy<Listener>(listenerUri, opts);
      assert.equal(await p.callback(lp, 6), "got 6");
    });
  });
}

Deno.test("Proxy refuses unexposed names locally and the daemon refuses them too", async () => {
  await serve({ host: "127.0.0.1" }, async (_daemon, uri) => {
    await using p = createProxy<ThingApi>(uri);
    await assert.rejects(p.hidden(), (e: unknown) => {
      assert.ok(e instanceof PyroError);
      assert.equal(e.message, `remote object '${uri}' has no exposed attribute or method 'hidden'`);
      return true;
    });
    await assert.rejects(p._pyroCall("hidden"), (e: unknown) => {
      assert.ok(e instanceof RemoteError && e.remoteClass === "builtins.AttributeError");
      return true;
    });
    await assert.rejects(p._pyroCall("_secret"), (e: unknown) => {
      assert.ok(e instanceof RemoteError && e.remoteClass === "builtins.AttributeError");
      return true;
    });
    assert.deepEqual(p._pyroMetadata?.attrs, ["value"]);
    assert.ok(!p._pyroMetadata?.methods.includes("_secret"));
  });
});

Deno.test("Proxy timeouts fail the call and close the connection; signals abort calls", async () => {
  await serve({ host: "127.0.0.1" }, async (_daemon, uri) => {
    await using p = createProxy<ThingApi>(uri, { timeout: 100 });
    await p._pyroBind();
    await assert.rejects(p.block(), TimeoutError);
    assert.equal(p._pyroConnected, false);
    p._pyroTimeout = 0;
    await assert.rejects(p._pyroWith({ timeout: 50 }).block(), TimeoutError);
    const aborted = p._pyroWith({ signal: AbortSignal.timeout(50) }).block();
    await assert.rejects(aborted, (e: unknown) => (e as Error).name === "TimeoutError");
    assert.equal(p._pyroConnected, true); // an aborted call leaves the connection usable
    gate.resolve();
    assert.equal(await p.echo("after"), "after");
  });
});

Deno.test("Proxy gets ConnectionClosedError when the connection drops mid-call, and retries", async () => {
  await serve({ host: "127.0.0.1" }, async (_daemon, uri) => {
    await using bystander = createProxy<ThingApi>(uri);
    assert.equal(await bystander.echo(1), 1);
    await using p = createProxy<ThingApi>(uri);
    await assert.rejects(p.flaky(), ConnectionClosedError);
    assert.equal(await bystander.echo(2), 2); // the daemon keeps serving others
    assert.equal(await p.flaky(), "ok"); // the next call reconnects
    flakyCalls = 0;
    await using r = createProxy<ThingApi>(uri, { maxRetries: 1 });
    assert.equal(await r.flaky(), "ok"); // retried once after the drop
  });
});

Deno.test("Proxy reconnects after the daemon restarts on the same port", async () => {
  const first = new Daemon({ host: "127.0.0.1" });
  const uri = first.register(expose({ echo: (x: unknown) => x }), "echo").toString();
  const port = Number(uri.slice(uri.lastIndexOf(":") + 1));
  await using p = createProxy<{ echo(x: number): number }>(uri, { maxRetries: 2 });
  assert.equal(await p.echo(1), 1);
  await first.close();
  await using second = new Daemon({ host: "127.0.0.1", port });
  second.register(expose({ echo: (x: unknown) => x }), "echo");
  assert.equal(await p.echo(2), 2);
});

Deno.test("Proxy release closes the connection and the next call reconnects", async () => {
  await serve({ host: "127.0.0.1" }, async (_daemon, uri) => {
    const p = createProxy<ThingApi>(uri);
    const id1 = await p.connectionId();
    await p._pyroRelease();
    assert.equal(p._pyroConnected, false);
    assert.notEqual(await p.connectionId(), id1);
    await p[Symbol.asyncDispose]();
    assert.equal(p._pyroConnected, false);
  });
});

Deno.test("Proxy sends correlation ids and annotations and reads reply annotations", async () => {
  await serve({ host: "127.0.0.1" }, async (_daemon, uri) => {
    const id = "11112222-3333-4444-5555-666677778888";
    await using p = createProxy<ThingApi>(uri, { correlationId: id });
    const view = p._pyroWith({ annotations: { XREQ: "hello" } });
    assert.deepEqual(await view.context(), { corr: id, ann: "hello" });
    assert.equal(new TextDecoder().decode(view._pyroResponseAnnotations.get("XRSP")), "reply");
    const random = await p._pyroWith({ correlationId: true }).context();
    assert.notEqual(random.corr, id);
  });
});

Deno.test("Proxy connects over a Unix socket", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await serve({ unixSocket: `${dir}/pyro.sock` }, async (_daemon, uri) => {
      assert.ok(uri.includes("./u:"));
      await using p = createProxy<ThingApi>(uri);
      assert.equal(await p.echo("unix"), "unix");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function hasIPv6(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "Proxy connects over IPv6 loopback",
  ignore: !hasIPv6(),
  fn: async () => {
    await serve({ host: "::1" }, async (_daemon, uri) => {
      assert.ok(uri.includes("[::1]"));
      await using p = createProxy<ThingApi>(uri);
      assert.equal(await p.echo("v6"), "v6");
    });
  },
});

Deno.test("Proxy reports a handshake refused by the daemon", async () => {
  await serve({
    host: "127.0.0.1",
    validateHandshake: (data) => {
      if (data !== "let me in") throw new Error("handshake refused: bad secret");
      return "welcome";
    },
  }, async (_daemon, uri) => {
    await using bad = createProxy<ThingApi>(uri);
    await assert.rejects(bad._pyroBind(), (e: unknown) => {
      assert.ok(e instanceof CommunicationError);
      assert.match(e.message, /rejected: handshake refused: bad secret$/);
      return true;
    });
    await using good = createProxy<ThingApi>(uri, { handshake: "let me in" });
    await good._pyroBind();
    assert.equal(good._pyroHandshakeResponse, "welcome");
  });
});

Deno.test("Proxy resolves PYRONAME and PYROMETA URIs through the name server", async () => {
  const { startNameServer } = await import("../naming.ts");
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  await serve({ host: "127.0.0.1" }, async (_daemon, uri) => {
    ns.nameServer.register("test.thing", uri, false, ["role:thing"]);
    const port = ns.uri.port!;
    await using byName = createProxy<ThingApi>(`PYRONAME:test.thing@127.0.0.1:${port}`);
    assert.equal(await byName.echo("by name"), "by name");
    assert.equal(byName._pyroUri.protocol, "PYRONAME");
    await using byMeta = createProxy<ThingApi>(`PYROMETA:role:thing@127.0.0.1:${port}`);
    assert.equal(await byMeta.echo("by tag"), "by tag");
    await using missing = createProxy<ThingApi>(`PYRONAME:test.nosuch@127.0.0.1:${port}`);
    await assert.rejects(missing.echo("x"), PyroError);
  });
});
