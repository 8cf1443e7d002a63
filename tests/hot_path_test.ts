/**
 * Tests for the performance work on the call path: reply batching on the daemon, buffer reuse
 * for large payloads, frames built in front of a codec's output, and int64 decoding without a
 * scan of the input.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Daemon } from "../daemon.ts";
import { createProxy } from "../proxy.ts";
import {
  decodeMessage,
  encodeMessage,
  Flags,
  HEADER_SIZE,
  MessageType,
  offerHeadroom,
  readPlainMessage,
  writePlainHeader,
} from "../_wire/protocol.ts";
import { msgpackSerializer } from "../_codecs/msgpack.ts";
import { jsonSerializer } from "../_codecs/json.ts";
import { MessageConnection } from "../_wire/connection.ts";
import { Link } from "../_proxy/link.ts";

interface Service {
  echo(x: unknown): Promise<unknown>;
  gate(): Promise<string>;
  open(): Promise<string>;
}

function makeService() {
  const { promise, resolve } = Promise.withResolvers<string>();
  return {
    echo: (x: unknown) => x,
    gate: () => promise,
    open: () => {
      resolve("gate");
      return "open";
    },
  };
}

Deno.test("Pipelined calls get their replies in request order, also behind a call that waits", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = daemon.register(makeService(), { id: "svc", expose: ["echo", "gate", "open"] });
  await using proxy = createProxy<Service>(uri, { serializer: "msgpack" });
  await proxy.echo(0);
  const calls: Promise<unknown>[] = [];
  const expected: unknown[] = [];
  for (let i = 0; i < 150; i++) {
    if (i === 40) {
      calls.push(proxy.gate());
      expected.push("gate");
    } else if (i === 120) {
      calls.push(proxy.open());
      expected.push("open");
    } else {
      calls.push(proxy.echo(i));
      expected.push(i);
    }
  }
  assert.deepEqual(await Promise.all(calls), expected);
});

Deno.test("Large byte payloads stay intact while later calls reuse buffers", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = daemon.register(makeService(), { id: "svc", expose: ["echo", "gate", "open"] });
  await using proxy = createProxy<Service>(uri, { serializer: "msgpack" });
  const sizes = [1 << 20, (1 << 20) + 7, 200_000, 1 << 20, 70_000];
  const sent = sizes.map((n, k) => new Uint8Array(n).map((_, i) => (i * 31 + k) & 0xff));
  const got: Uint8Array[] = [];
  for (const payload of sent) got.push(await proxy.echo(payload) as Uint8Array);
  got.push(...await Promise.all(sent.map((p) => proxy.echo(p))) as Uint8Array[]);
  for (let i = 0; i < got.length; i++) {
    assert.deepEqual(got[i], sent[i % sent.length], `payload ${i}`);
  }
});

Deno.test("A frame is built in front of offered headroom once, and copied after that", () => {
  const buffer = new Uint8Array(HEADER_SIZE + 16 + 5);
  const data = buffer.subarray(HEADER_SIZE + 16);
  data.set([1, 2, 3, 4, 5]);
  offerHeadroom(data);
  const init = {
    type: MessageType.RESULT,
    serializerId: 4,
    seq: 9,
    annotations: { XRES: new Uint8Array([7, 7, 7, 7, 7, 7, 7, 7]) },
    data,
  };
  const inPlace = encodeMessage(init);
  assert.equal(inPlace.buffer, buffer.buffer);
  const copied = encodeMessage(init);
  assert.notEqual(copied.buffer, buffer.buffer);
  assert.deepEqual(inPlace, copied);
  const msg = decodeMessage(inPlace);
  assert.deepEqual([...msg.data], [1, 2, 3, 4, 5]);
  assert.deepEqual([...msg.annotations.get("XRES")!], [7, 7, 7, 7, 7, 7, 7, 7]);
});

Deno.test("msgpack gives numbers for int64 and uint64 in the safe range and bigints beyond", () => {
  const hex = (h: string) => new Uint8Array(h.match(/../g)!.map((b) => parseInt(b, 16)));
  assert.equal(msgpackSerializer.loads(hex("cf0000000000000001")), 1);
  assert.equal(msgpackSerializer.loads(hex("d3ffffffffffffffff")), -1);
  assert.equal(msgpackSerializer.loads(hex("cf001fffffffffffff")), Number.MAX_SAFE_INTEGER);
  assert.equal(msgpackSerializer.loads(hex("cf0020000000000000")), 2n ** 53n);
  assert.equal(msgpackSerializer.loads(hex("cfffffffffffffffff")), 2n ** 64n - 1n);
  assert.equal(msgpackSerializer.loads(hex("d38000000000000000")), -(2n ** 63n));
  assert.deepEqual(msgpackSerializer.loads(hex("92cf0000000000000002c40101")), [
    2,
    new Uint8Array([1]),
  ]);
});

Deno.test("Plain calls of every size arrive intact, one at a time and pipelined", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = daemon.register(makeService(), { id: "svc", expose: ["echo", "gate", "open"] });
  for (const serializer of ["msgpack", "json"]) {
    await using proxy = createProxy<Service>(uri, { serializer });
    // Around the size of the link's own frame buffer (512 bytes), and well past it.
    const texts = [0, 1, 7, 300, 420, 440, 460, 470, 480, 500, 2000, 70_000, 5, 460].map((n) =>
      "abcdefghij".repeat(Math.ceil(n / 10)).slice(0, n)
    );
    for (const t of texts) assert.equal(await proxy.echo(t), t, `${serializer} ${t.length}`);
    const all = await Promise.all([...texts, ...texts.toReversed()].map((t) => proxy.echo(t)));
    assert.deepEqual(all, [...texts, ...texts.toReversed()]);
    for (const t of texts.toReversed()) assert.equal(await proxy.echo(t), t);
  }
});

Deno.test("A large plain call's frame is built in front of its payload, not copied into fresh memory", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = new MessageConnection(
    await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  );
  using _peer = await accepted;
  const link = new Link(conn, msgpackSerializer.id, "127.0.0.1:1", "svc");
  const call = { object: "svc", method: "echo", params: [new Uint8Array(200_000)], kwargs: {} };
  const data = msgpackSerializer.dumpsCallFramed!(call);
  const frame = link.invokeFrame(1, data, {});
  assert.equal(frame.buffer, data.buffer, "the header went into the codec's headroom");
  assert.equal(frame.byteOffset + HEADER_SIZE, data.byteOffset);
  const msg = decodeMessage(frame);
  assert.equal(msg.type, MessageType.INVOKE);
  assert.equal(msg.seq, 1);
  assert.deepEqual(msgpackSerializer.loadsCall(msg.data).params, call.params);
  conn.close();
});

Deno.test("A plain frame header is the header encodeMessage writes", () => {
  const data = new Uint8Array([0x94, 0xa1, 0x6f, 0xa1, 0x6d, 0x90, 0x80]);
  for (const seq of [0, 1, 255, 256, 65535]) {
    const frame = new Uint8Array(HEADER_SIZE + data.length);
    writePlainHeader(frame, MessageType.INVOKE, 4, seq, data.length);
    frame.set(data, HEADER_SIZE);
    assert.deepEqual(
      frame,
      encodeMessage({ type: MessageType.INVOKE, serializerId: 4, seq, data }),
    );
  }
});

Deno.test("The receive loop's one-step read takes whole plain frames only, with decodeMessage's fields", () => {
  const data = new Uint8Array([0xa5, 104, 101, 108, 108, 111]);
  const corr = new Uint8Array(16).fill(7);
  for (const correlationId of [undefined, corr]) {
    const frame = encodeMessage({
      type: MessageType.RESULT,
      serializerId: 4,
      seq: 300,
      correlationId,
      data,
    });
    const padded = new Uint8Array(frame.length + 10);
    padded.set(frame, 5);
    const msg = readPlainMessage(padded, 5, 5 + frame.length, 1024);
    assert.ok(msg !== null);
    assert.deepEqual({ ...msg, data: [...msg.data] }, { ...decodeMessage(frame), data: [...data] });
    assert.equal(readPlainMessage(padded, 5, 4 + frame.length, 1024), null, "truncated");
    assert.equal(readPlainMessage(padded, 5, 5 + frame.length, 5), null, "over the size");
  }
  const annotated = encodeMessage({
    type: MessageType.RESULT,
    serializerId: 4,
    seq: 1,
    annotations: { XRES: new Uint8Array([1]) },
    data,
  });
  assert.equal(readPlainMessage(annotated, 0, annotated.length, 1024), null, "annotations");
  const compressed = encodeMessage({
    type: MessageType.RESULT,
    serializerId: 4,
    seq: 1,
    data: new Uint8Array(500),
  }, { compress: true });
  assert.ok(compressed[9]! & Flags.COMPRESSED);
  assert.equal(readPlainMessage(compressed, 0, compressed.length, 1024), null, "compressed");
  const plain = encodeMessage({ type: MessageType.RESULT, serializerId: 4, seq: 1, data });
  for (const at of [0, 4, 5, 38]) {
    const bad = plain.slice();
    bad[at]! ^= 0xff;
    assert.equal(readPlainMessage(bad, 0, bad.length, 1024), null, `byte ${at} changed`);
  }
});

Deno.test("Call writers repeat object and method bytes and write empty or null kwargs as their general writers do", () => {
  const calls = [
    { object: "bench", method: "echo", params: ["hi"], kwargs: {} },
    { object: "bench", method: "echo", params: ["hi"], kwargs: null },
    { object: "bench", method: "echo", params: [1, [2]], kwargs: { k: 1 } },
    { object: "bench", method: "echx", params: [], kwargs: {} },
    { object: "benci", method: "echx", params: [], kwargs: {} },
    { object: "bench", method: "echo", params: ["hi"], kwargs: Object.freeze({}) },
    { object: "x".repeat(70), method: "echo", params: ["hi"], kwargs: {} },
    { object: "x".repeat(70), method: "echo", params: ["hi"], kwargs: {} },
    { object: "bench", method: "echo", params: ["hi"], kwargs: {} },
  ];
  for (const call of calls) {
    const general = msgpackSerializer.dumps([call.object, call.method, call.params, call.kwargs]);
    assert.deepEqual(msgpackSerializer.dumpsCallFramed(call), general, JSON.stringify(call));
    assert.deepEqual(msgpackSerializer.loadsCall(general), call);
    const text = new TextDecoder().decode(jsonSerializer.dumpsCallFramed(call));
    assert.equal(
      text,
      `{"object": ${JSON.stringify(call.object)}, "method": ${JSON.stringify(call.method)}, ` +
        `"params": ${JSON.stringify(call.params).replaceAll(",", ", ")}, "kwargs": ${
          JSON.stringify(call.kwargs).replaceAll(":", ": ")
        }}`,
    );
  }
  // An object whose only enumerable key is inherited sends no keyword arguments.
  const inherited = Object.create({ k: 1 }) as Record<string, unknown>;
  const call = { object: "bench", method: "echo", params: [], kwargs: inherited };
  assert.deepEqual(msgpackSerializer.loadsCall(msgpackSerializer.dumpsCallFramed(call)).kwargs, {});
});
