/**
 * Our proxy against small scripted peers: refused connections, out-of-sequence and
 * wrong-serializer replies, pipelining, timeouts, aborts, oneway flags, marshal CONNECTFAIL,
 * TLS, the autoproxy wire form and local refusals.
 */

import assert from "node:assert/strict";
import { config } from "../config.ts";
import { CommunicationError, ProtocolError, SerializeError } from "../errors.ts";
import { decodeMessage, Flags, MessageType } from "../_wire/protocol.ts";
import { createProxy, isProxy, type Proxy, type ProxyOptions } from "../proxy.ts";
import { getSerializer } from "../serializer.ts";
import { FrameReader, type Thing } from "./_proxy_peer.ts";

Deno.test("Proxy reports a refused TCP connection as CommunicationError with the URI", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const p = createProxy(`PYRO:obj@127.0.0.1:${port}`);
  await assert.rejects(p._pyroBind(), (e: unknown) => {
    assert.ok(e instanceof CommunicationError);
    assert.equal(e.message, `Cannot connect to PYRO:obj@127.0.0.1:${port}: connection refused`);
    assert.ok(e.cause instanceof Error);
    return true;
  });
});

/** A tiny scripted daemon: answers CONNECT with metadata, then runs `onInvoke` per request. */
async function withPeer(
  onInvoke: (msg: ReturnType<typeof decodeMessage>, conn: Deno.Conn) => Promise<boolean>,
  body: (proxy: (options?: ProxyOptions) => Proxy<Thing>) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const s = getSerializer("json");
  const { encodeMessage } = await import("../_wire/protocol.ts");
  const served = (async () => {
    const conn = await listener.accept();
    const reader = new FrameReader(conn);
    try {
      const hello = await reader.next();
      if (hello === null) return;
      const connect = decodeMessage(hello);
      await conn.write(encodeMessage({
        type: MessageType.CONNECTOK,
        serializerId: 3,
        seq: connect.seq,
        data: s.dumps({
          handshake: "hello",
          meta: { methods: ["echo", "slow"], oneway: [], attrs: [] },
        }),
      }));
      for (;;) {
        const frame = await reader.next();
        if (frame === null) return;
        if (!await onInvoke(decodeMessage(frame), conn)) return;
      }
    } finally {
      conn.close();
    }
  })();
  const proxies: Proxy<Thing>[] = [];
  const uri = `PYRO:thing@127.0.0.1:${listener.addr.port}`;
  try {
    await body((options) => {
      const p = createProxy<Thing>(uri, { serializer: "json", ...options });
      proxies.push(p);
      return p;
    });
  } finally {
    for (const p of proxies) await p._pyroRelease();
    await served;
    listener.close();
  }
}

Deno.test("Proxy fails all pending calls with ProtocolError on a reply with the wrong seq", async () => {
  const s = getSerializer("json");
  const { encodeMessage } = await import("../_wire/protocol.ts");
  await withPeer(async (msg, conn) => {
    await conn.write(encodeMessage({
      type: MessageType.RESULT,
      serializerId: 3,
      seq: msg.seq + 5,
      data: s.dumps("x"),
    }));
    return true;
  }, async (proxy) => {
    const p = proxy();
    await assert.rejects(p.echo(1), (e: unknown) => {
      assert.ok(e instanceof ProtocolError);
      assert.match(e.message, /reply sequence out of sync, got 6 expected 1/);
      return true;
    });
    assert.equal(p._pyroConnected, false);
    await p._pyroRelease();
  });
});

Deno.test("Proxy refuses a reply in another serializer", async () => {
  const m = getSerializer("msgpack");
  const { encodeMessage } = await import("../_wire/protocol.ts");
  await withPeer(async (msg, conn) => {
    await conn.write(encodeMessage({
      type: MessageType.RESULT,
      serializerId: 4,
      seq: msg.seq,
      data: m.dumps("x"),
    }));
    return true;
  }, async (proxy) => {
    const p = proxy();
    await assert.rejects(p.echo(1), (e: unknown) => {
      assert.ok(e instanceof SerializeError);
      assert.equal(e.message, "invalid serializer in response: 4");
      return true;
    });
    await p._pyroRelease();
  });
});

Deno.test("Proxy pipelines concurrent calls and matches in-order replies by seq", async () => {
  const s = getSerializer("json");
  const { encodeMessage } = await import("../_wire/protocol.ts");
  const held: ReturnType<typeof decodeMessage>[] = [];
  await withPeer(async (msg, conn) => {
    // Answer nothing until all 50 requests are in: only a pipelining proxy gets here.
    held.push(msg);
    if (held.length < 50) return true;
    const replies = held.map((m) =>
      encodeMessage({
        type: MessageType.RESULT,
        serializerId: 3,
        seq: m.seq,
        data: s.dumps(s.loadsCall(m.data).params[0]),
      })
    );
    const all = new Uint8Array(replies.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of replies) {
      all.set(r, at);
      at += r.length;
    }
    await conn.write(all); // coalesced replies in one write
    return true;
  }, async (proxy) => {
    const p = proxy({ timeout: 30_000 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => p.echo(i)));
    assert.deepEqual(results, Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(held.map((m) => m.seq), Array.from({ length: 50 }, (_, i) => i + 1));
  });
});

Deno.test("Proxy call timeout fails with TimeoutError and closes the connection", async () => {
  await withPeer(() => Promise.resolve(true), async (proxy) => {
    const p = proxy({ timeout: 50 });
    await p._pyroBind();
    const { TimeoutError } = await import("../errors.ts");
    await assert.rejects(p.slow(), TimeoutError);
    assert.equal(p._pyroConnected, false);
  });
});

Deno.test("Proxy call aborted by a signal fails with the signal's reason", async () => {
  await withPeer(() => Promise.resolve(true), async (proxy) => {
    const p = proxy();
    await p._pyroBind();
    const controller = new AbortController();
    const call = p._pyroWith({ signal: controller.signal }).slow();
    controller.abort(new Error("changed my mind"));
    await assert.rejects(call, { message: "changed my mind" });
    assert.equal(p._pyroConnected, true);
    await p._pyroRelease();
  });
});

Deno.test("Proxy sends the oneway flag for explicit oneway calls", async () => {
  const flags: number[] = [];
  await withPeer((msg) => {
    flags.push(msg.flags);
    return Promise.resolve(true);
  }, async (proxy) => {
    const p = proxy();
    assert.equal(await p._pyroWith({ oneway: true }).echo(1), undefined);
    await p._pyroRelease();
  });
  assert.deepEqual(flags, [Flags.ONEWAY]);
});

Deno.test("Proxy reads a marshal-encoded CONNECTFAIL reason (serializer 2)", async () => {
  const { encodeMessage } = await import("../_wire/protocol.ts");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const reason = "invalid msg type 4 received (expected: 1)";
  const served = (async () => {
    const conn = await listener.accept();
    await new FrameReader(conn).next();
    const data = new Uint8Array([0xfa, reason.length, ...new TextEncoder().encode(reason)]);
    await conn.write(
      encodeMessage({ type: MessageType.CONNECTFAIL, serializerId: 2, seq: 0, data }),
    );
    conn.close();
  })();
  const p = createProxy(`PYRO:thing@127.0.0.1:${listener.addr.port}`);
  await assert.rejects(p._pyroBind(), (e: unknown) => {
    assert.ok(e instanceof CommunicationError);
    assert.equal(e.message, `connection to 127.0.0.1:${listener.addr.port} rejected: ${reason}`);
    return true;
  });
  await served;
  listener.close();
});

Deno.test("Proxy talks TLS to a daemon whose certificate its CA signed", async () => {
  const { makeTestCerts } = await import("./_certs.ts");
  const { listenTls } = await import("../_wire/tls_socket.ts");
  const { encodeMessage } = await import("../_wire/protocol.ts");
  const t = await makeTestCerts();
  const s = getSerializer("json");
  const listener = listenTls({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: t.serverCert, key: t.serverKey },
  });
  const served = (async () => {
    const conn = await listener.accept();
    const reader = new FrameReader(conn);
    try {
      const connect = decodeMessage((await reader.next())!);
      await conn.write(encodeMessage({
        type: MessageType.CONNECTOK,
        serializerId: 3,
        seq: connect.seq,
        data: s.dumps({ handshake: "hello", meta: { methods: ["echo"], oneway: [], attrs: [] } }),
      }));
      for (;;) {
        const frame = await reader.next();
        if (frame === null) return;
        const msg = decodeMessage(frame);
        const call = s.loadsCall(msg.data);
        await conn.write(encodeMessage({
          type: MessageType.RESULT,
          serializerId: 3,
          seq: msg.seq,
          data: s.dumps(call.params[0]),
        }));
      }
    } finally {
      conn.close();
    }
  })();
  try {
    await using p = createProxy<Thing>(`PYRO:thing@127.0.0.1:${listener.addr.port}`, {
      serializer: "json",
      tls: { caCerts: [t.ca] },
    });
    assert.equal(await p.echo("over tls"), "over tls");
  } finally {
    await served;
    listener.close();
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("Proxy travels as a Pyro5.client.Proxy map with its serializer name", async () => {
  const { replaceSpecial, reviveDict } = await import("../class_registry.ts");
  const p = createProxy("PYRO:thing@127.0.0.1:9999", { serializer: "json", handshake: "hi" });
  const map = replaceSpecial(p, "msgpack") as { __class__: string; state: unknown[] };
  assert.deepEqual(map, {
    __class__: "Pyro5.client.Proxy",
    state: ["PYRO:thing@127.0.0.1:9999", [], [], [], "hi", "json"],
  });
  const revived = reviveDict({
    __class__: "Pyro5.client.Proxy",
    state: ["PYRO:other@127.0.0.1:9999", ["fire"], ["fire", "add"], ["value"], "hello", null],
  }) as Proxy;
  assert.ok(isProxy(revived));
  assert.equal(String(revived._pyroUri), "PYRO:other@127.0.0.1:9999");
  assert.equal(revived._pyroSerializer, config.SERIALIZER);
  assert.deepEqual(revived._pyroMetadata, {
    methods: ["fire", "add"],
    oneway: ["fire"],
    attrs: ["value"],
  });
  assert.equal(revived._pyroConnected, false);
});

Deno.test("Proxy is not a thenable and refuses property writes", async () => {
  const p = createProxy<Thing>("PYRO:thing@127.0.0.1:9", { serializer: "json" });
  assert.equal(await Promise.resolve(p), p); // `then` is never a remote method
  assert.equal(String(p), "Proxy(PYRO:thing@127.0.0.1:9)");
  assert.throws(() => {
    (p as unknown as Record<string, unknown>).value = 1;
  }, TypeError);
  assert.equal(p._pyroConnected, false);
});

Deno.test("Proxy refuses arguments its serializer cannot carry and stays usable", async () => {
  const s = getSerializer("json");
  const { encodeMessage } = await import("../_wire/protocol.ts");
  await withPeer(async (msg, conn) => {
    await conn.write(encodeMessage({
      type: MessageType.RESULT,
      serializerId: 3,
      seq: msg.seq,
      data: s.dumps(s.loadsCall(msg.data).params[0]),
    }));
    return true;
  }, async (proxy) => {
    const p = proxy();
    await assert.rejects(p.echo(new Uint8Array(1)), SerializeError); // json has no bytes
    assert.equal(await p.echo("fine"), "fine");
  });
});

Deno.test("Proxy survives garbage from the network: the call fails, nothing crashes", async () => {
  const { encodeMessage } = await import("../_wire/protocol.ts");
  let round = 0;
  await withPeer(async (msg, conn) => {
    round++;
    if (round === 1) {
      // An undecodable payload: only this call fails, the connection stays in step.
      await conn.write(encodeMessage({
        type: MessageType.RESULT,
        serializerId: 3,
        seq: msg.seq,
        data: new TextEncoder().encode("{not json"),
      }));
      return true;
    }
    if (round === 2) {
      await conn.write(encodeMessage({
        type: MessageType.RESULT,
        serializerId: 3,
        seq: msg.seq,
        data: getSerializer("json").dumps("ok"),
      }));
      return true;
    }
    await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n".repeat(3)));
    return false;
  }, async (proxy) => {
    const p = proxy();
    await assert.rejects(p.echo(1), SerializeError);
    assert.equal(await p.echo(2), "ok");
    await assert.rejects(p.echo(3), (e: unknown) => e instanceof CommunicationError);
    assert.equal(p._pyroConnected, false);
  });
});

Deno.test("Proxy treats an unsolicited message as a protocol error and closes the connection", async () => {
  const { encodeMessage } = await import("../_wire/protocol.ts");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const s = getSerializer("json");
  const served = (async () => {
    const conn = await listener.accept();
    const reader = new FrameReader(conn);
    const connect = decodeMessage((await reader.next())!);
    await conn.write(encodeMessage({
      type: MessageType.CONNECTOK,
      serializerId: 3,
      seq: connect.seq,
      data: s.dumps({ handshake: "hello", meta: { methods: ["echo"], oneway: [], attrs: [] } }),
    }));
    await conn.write(encodeMessage({ type: MessageType.RESULT, serializerId: 3, seq: 9 }));
    await reader.next(); // the proxy closes its end
    conn.close();
  })();
  const p = createProxy<Thing>(`PYRO:thing@127.0.0.1:${listener.addr.port}`, {
    serializer: "json",
  });
  await p._pyroBind();
  await served;
  listener.close();
  assert.equal(p._pyroConnected, false);
  await p._pyroRelease();
});

Deno.test("Proxy asks Pyro.Daemon.get_metadata when CONNECTOK carries no metadata", async () => {
  const { encodeMessage } = await import("../_wire/protocol.ts");
  const s = getSerializer("json");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const calls: unknown[] = [];
  const served = (async () => {
    const conn = await listener.accept();
    const reader = new FrameReader(conn);
    try {
      const connect = decodeMessage((await reader.next())!);
      await conn.write(encodeMessage({
        type: MessageType.CONNECTOK,
        serializerId: 3,
        seq: connect.seq,
        data: s.dumps({ handshake: "hello", meta: null }),
      }));
      for (;;) {
        const frame = await reader.next();
        if (frame === null) return;
        const msg = decodeMessage(frame);
        const call = s.loadsCall(msg.data);
        calls.push([msg.seq, call.object, call.method, call.params]);
        const result = call.method === "get_metadata"
          ? { methods: ["echo"], oneway: [], attrs: [] }
          : call.params[0];
        await conn.write(encodeMessage({
          type: MessageType.RESULT,
          serializerId: 3,
          seq: msg.seq,
          data: s.dumps(result),
        }));
      }
    } finally {
      conn.close();
    }
  })();
  const p = createProxy<Thing>(`PYRO:thing@127.0.0.1:${listener.addr.port}`, {
    serializer: "json",
  });
  assert.equal(await p.echo("x"), "x");
  assert.deepEqual(p._pyroMetadata?.methods, ["echo"]);
  await p._pyroRelease();
  await served;
  listener.close();
  assert.deepEqual(calls, [
    [1, "Pyro.Daemon", "get_metadata", ["thing"]],
    [2, "thing", "echo", ["x"]],
  ]);
});

Deno.test("Proxy gives TimeoutError when the daemon never answers the handshake", async () => {
  const { TimeoutError } = await import("../errors.ts");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    const reader = new FrameReader(conn);
    await reader.next(); // the CONNECT, never answered
    await reader.next(); // until the proxy gives up and closes
    conn.close();
  })();
  const p = createProxy(`PYRO:thing@127.0.0.1:${listener.addr.port}`, { timeout: 50 });
  await assert.rejects(p._pyroBind(), TimeoutError);
  assert.equal(p._pyroConnected, false);
  await served;
  listener.close();
});
