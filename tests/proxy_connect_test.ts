/**
 * Connection set-up of a proxy: a new proxy's first call to a method that an earlier connection
 * to the same object showed to be a plain one goes out with CONNECT in one write, saving a round
 * trip; a oneway method, or an object not seen before, waits for CONNECTOK as Pyro5 does. A
 * scripted peer plays the daemon, so the test sees exactly what arrives before it answers. On
 * the daemon's side, CONNECTOK and the reply to a call that came with CONNECT leave in one write
 * when the call answers at once, and CONNECTOK does not wait for a call that takes longer.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createProxy } from "../proxy.ts";
import { MessageConnection } from "../_wire/connection.ts";
import { encodeMessage, Flags, type Message, MessageType } from "../_wire/protocol.ts";
import { getSerializer } from "../serializer.ts";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";

const json = getSerializer("json");
const META = { methods: ["echo", "tick"], oneway: ["tick"], attrs: [] };

function reply(type: number, to: Message, data: unknown): Uint8Array {
  return encodeMessage({ type, serializerId: json.id, seq: to.seq, data: json.dumps(data) });
}

/**
 * Serves one connection: with `pipelined`, reads CONNECT and the first INVOKE before answering
 * either; otherwise answers CONNECT first. Returns the INVOKE's flags.
 */
async function serveOne(conn: Deno.Conn, pipelined: boolean): Promise<number> {
  const mc = new MessageConnection(conn);
  try {
    const connect = await mc.receive();
    assert.equal(connect?.type, MessageType.CONNECT);
    const ok = reply(MessageType.CONNECTOK, connect!, { handshake: "hello", meta: META });
    if (!pipelined) await mc.send(ok);
    const invoke = await mc.receive();
    assert.equal(invoke?.type, MessageType.INVOKE, "the call arrived before CONNECTOK was sent");
    if (pipelined) await mc.send(ok);
    const call = json.loads(invoke!.data) as { params: unknown[] };
    if (!(invoke!.flags & Flags.ONEWAY)) {
      await mc.send(reply(MessageType.RESULT, invoke!, call.params[0]));
    }
    assert.equal(await mc.receive(), null); // the proxy is released
    return invoke!.flags;
  } finally {
    mc.close();
  }
}

Deno.test("A new proxy's first call rides with the handshake once the object's method is known", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const uri = `PYRO:thing@127.0.0.1:${listener.addr.port}`;
  type Thing = { echo(x: string): string; tick(): void };
  const scripts = [false, true, false]; // first sight; known plain method; known oneway method
  const served = (async () => {
    const flags: number[] = [];
    for (const pipelined of scripts) flags.push(await serveOne(await listener.accept(), pipelined));
    return flags;
  })();

  const first = createProxy<Thing>(uri, { serializer: "json", timeout: 10_000 });
  assert.equal(await first.echo("a"), "a");
  await first._pyroRelease();

  const second = createProxy<Thing>(uri, { serializer: "json", timeout: 10_000 });
  assert.equal(await second.echo("b"), "b");
  await second._pyroRelease();

  const third = createProxy<Thing>(uri, { serializer: "json", timeout: 10_000 });
  assert.equal(await third.tick(), undefined);
  await third._pyroRelease();

  const flags = await served;
  assert.equal(flags[2]! & Flags.ONEWAY, Flags.ONEWAY, "the oneway call was flagged oneway");
});

Deno.test("The daemon answers CONNECT and a call that came with it in one write, unless the call takes longer", async () => {
  const gate = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(
    expose({
      echo: (x: unknown) => x,
      slow: async () => {
        entered.resolve();
        await gate.promise;
        return "done";
      },
    }),
    "thing",
  );
  const { port } = daemon.addr as Deno.NetAddr;
  const call = (seq: number, method: string) =>
    encodeMessage({
      type: MessageType.INVOKE,
      serializerId: json.id,
      seq,
      data: json.dumpsCall({ object: "thing", method, params: ["x"], kwargs: {} }),
    });
  const connect = encodeMessage({
    type: MessageType.CONNECT,
    serializerId: json.id,
    seq: 0,
    data: json.dumps({ handshake: "hello", object: "thing" }),
  });
  const both = (first: Uint8Array) => {
    const out = new Uint8Array(connect.length + first.length);
    out.set(connect);
    out.set(first, connect.length);
    return out;
  };

  // A call answered at once: CONNECTOK and its reply come back together.
  const quick = await Deno.connect({ hostname: "127.0.0.1", port });
  await quick.write(both(call(1, "echo")));
  const mc = new MessageConnection(quick);
  assert.equal((await mc.receive())?.type, MessageType.CONNECTOK);
  assert.ok(mc.hasBufferedFrame, "the reply came in the same read as CONNECTOK");
  assert.equal(json.loads((await mc.receive())!.data), "x");
  mc.close();

  // A call still running: CONNECTOK comes first, the reply when the call is done.
  const slow = await Deno.connect({ hostname: "127.0.0.1", port });
  await slow.write(both(call(1, "slow")));
  await entered.promise;
  const mcSlow = new MessageConnection(slow);
  assert.equal((await mcSlow.receive())?.type, MessageType.CONNECTOK);
  gate.resolve();
  assert.equal(json.loads((await mcSlow.receive())!.data), "done");
  mcSlow.close();

  // Through a proxy: a new proxy's first call rides with CONNECT (the method is known now).
  await using p = createProxy<{ echo(x: string): string }>(uri, { serializer: "json" });
  assert.equal(await p.echo("y"), "y");
});

Deno.test("Proxy logs its connection and its close at DEBUG only (log.debugging)", async () => {
  const { config } = await import("../config.ts");
  const { log, setLogSink } = await import("../log.ts");
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(expose({ echo: (x: unknown) => x }), "echo");
  const lines: string[] = [];
  const previousSink = setLogSink((level, message) => lines.push(`${level} ${message}`));
  const level = config.LOGLEVEL;
  try {
    for (const wanted of ["WARNING", "DEBUG"]) {
      config.LOGLEVEL = wanted;
      assert.equal(log.debugging, wanted === "DEBUG");
      lines.length = 0;
      const p = createProxy<{ echo(x: unknown): unknown }>(uri, { serializer: "json" });
      assert.equal(await p.echo(1), 1);
      await p._pyroRelease();
      const ours = lines.filter((l) => l.startsWith("DEBUG proxy: connect"));
      assert.equal(ours.length, wanted === "DEBUG" ? 2 : 0, ours.join("\n"));
    }
  } finally {
    config.LOGLEVEL = level;
    setLogSink(previousSink);
  }
});
