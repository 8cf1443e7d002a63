/**
 * Tests of MessageConnection over real TCP on 127.0.0.1 and over scripted in-memory streams.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ByteStream, MessageConnection } from "../_wire/connection.ts";
import { ConnectionClosedError, MessageTooLargeError, ProtocolError } from "../errors.ts";
import { encodeMessage, Flags, HEADER_SIZE, type Message, MessageType } from "../_wire/protocol.ts";

interface TcpPair {
  client: Deno.TcpConn;
  server: Deno.TcpConn;
  [Symbol.dispose](): void;
}

async function tcpPair(): Promise<TcpPair> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  listener.close();
  client.setNoDelay(true);
  server.setNoDelay(true);
  return {
    client,
    server,
    [Symbol.dispose]() {
      for (const c of [client, server]) {
        try {
          c.close();
        } catch {
          // already closed by the test
        }
      }
    },
  };
}

/** A frame whose payload (seq-dependent bytes) and annotation can be checked on arrival. */
function frame(seq: number, size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (seq * 31 + i) & 0xff;
  return encodeMessage({
    type: MessageType.INVOKE,
    serializerId: 4,
    seq,
    annotations: seq % 3 === 0 ? { SEQN: new TextEncoder().encode(String(seq)) } : undefined,
    data,
  });
}

function checkFrame(msg: Message | null, seq: number, size: number): void {
  assert.ok(msg !== null, `frame ${seq} missing`);
  assert.equal(msg.seq, seq);
  assert.equal(msg.type, MessageType.INVOKE);
  assert.equal(msg.data.length, size, `frame ${seq} size`);
  for (let i = 0; i < size; i++) {
    if (msg.data[i] !== ((seq * 31 + i) & 0xff)) assert.fail(`frame ${seq} byte ${i} differs`);
  }
  if (seq % 3 === 0) {
    assert.equal(new TextDecoder().decode(msg.annotations.get("SEQN")), String(seq));
  } else {
    assert.equal(msg.annotations.size, 0);
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

async function rejectsWith(
  p: Promise<unknown>,
  cls: new (...args: never[]) => Error,
  message: string | RegExp,
): Promise<Error> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught}`);
  if (typeof message === "string") assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

/** An in-memory stream: reads are scripted, writes are recorded and can be held or cut short. */
class ScriptedStream implements ByteStream {
  reads: (Uint8Array | Error | null)[] = [];
  writes: Uint8Array[] = [];
  maxPerWrite = Infinity;
  writeError: Error | null = null;
  #gate: PromiseWithResolvers<void> | null = null;
  closed = false;

  holdWrites(): void {
    this.#gate = Promise.withResolvers<void>();
  }

  releaseWrites(): void {
    const gate = this.#gate;
    this.#gate = null;
    gate?.resolve();
  }

  read(p: Uint8Array): Promise<number | null> {
    const next = this.reads.shift();
    if (next === undefined || next === null) return Promise.resolve(null);
    if (next instanceof Error) return Promise.reject(next);
    const n = Math.min(p.length, next.length);
    p.set(next.subarray(0, n));
    if (n < next.length) this.reads.unshift(next.subarray(n));
    return Promise.resolve(n);
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.#gate) await this.#gate.promise;
    if (this.writeError) throw this.writeError;
    const n = Math.min(p.length, this.maxPerWrite);
    this.writes.push(p.slice(0, n));
    return n;
  }

  close(): void {
    this.closed = true;
  }
}

Deno.test("MessageConnection reassembles frames written one byte at a time", async () => {
  using pair = await tcpPair();
  const conn = new MessageConnection(pair.server);
  const sizes = [0, 1, 17, 300, 1000];
  const bytes = concat(sizes.map((size, seq) => frame(seq, size)));
  const writer = (async () => {
    for (let i = 0; i < bytes.length; i++) await writeAll(pair.client, bytes.subarray(i, i + 1));
  })();
  for (const [seq, size] of sizes.entries()) checkFrame(await conn.receive(), seq, size);
  await writer;
  pair.client.close();
  assert.equal(await conn.receive(), null);
  conn.close();
});

Deno.test("MessageConnection splits many frames that arrive in one write, and keeps their payloads intact", async () => {
  using pair = await tcpPair();
  const conn = new MessageConnection(pair.server);
  const sizes: number[] = [];
  for (let seq = 0; seq < 400; seq++) sizes.push(seq === 200 ? 300_000 : (seq * 977) % 3000);
  const writer = writeAll(pair.client, concat(sizes.map((size, seq) => frame(seq, size))));
  const received: (Message | null)[] = [];
  for (let i = 0; i < sizes.length; i++) received.push(await conn.receive());
  await writer;
  // Checked only after everything arrived: later reads must not have overwritten earlier payloads.
  for (const [seq, size] of sizes.entries()) checkFrame(received[seq]!, seq, size);
  pair.client.close();
  assert.equal(await conn.receive(), null);
  conn.close();
});

Deno.test("MessageConnection receives a frame larger than its buffer written in odd-sized pieces", async () => {
  using pair = await tcpPair();
  const conn = new MessageConnection(pair.server);
  const bytes = concat([frame(1, 1_000_000), frame(2, 10), frame(3, 70_000)]);
  const writer = (async () => {
    for (let i = 0; i < bytes.length; i += 7919) {
      await writeAll(pair.client, bytes.subarray(i, i + 7919));
    }
  })();
  checkFrame(await conn.receive(), 1, 1_000_000);
  checkFrame(await conn.receive(), 2, 10);
  checkFrame(await conn.receive(), 3, 70_000);
  await writer;
  conn.close();
});

Deno.test("A frame over 16 MiB, whose buffer grows as it arrives, is received intact", async () => {
  using pair = await tcpPair();
  const conn = new MessageConnection(pair.server);
  const size = 20 * 1024 * 1024 + 3;
  const writer = writeAll(pair.client, concat([frame(4, size), frame(5, 1)]));
  checkFrame(await conn.receive(), 4, size);
  checkFrame(await conn.receive(), 5, 1);
  await writer;
  conn.close();
});

Deno.test("Frames sent while a write is under way arrive intact and in order over TCP", async () => {
  using pair = await tcpPair();
  const sender = new MessageConnection(pair.client);
  const receiver = new MessageConnection(pair.server);
  const sends: Promise<void>[] = [];
  for (let seq = 0; seq < 300; seq++) sends.push(sender.send(frame(seq, seq % 50)));
  const received: (Message | null)[] = [];
  for (let seq = 0; seq < 300; seq++) received.push(await receiver.receive());
  await Promise.all(sends);
  for (let seq = 0; seq < 300; seq++) checkFrame(received[seq]!, seq, seq % 50);
  sender.close();
  assert.equal(await receiver.receive(), null);
  receiver.close();
});

Deno.test("Frames queued behind a write in flight go out together in one write", async () => {
  const stream = new ScriptedStream();
  const conn = new MessageConnection(stream);
  stream.holdWrites();
  const frames = [0, 1, 2, 3, 4, 5].map((seq) => frame(seq, seq * 10));
  const sends = frames.map((f) => conn.send(f));
  stream.releaseWrites();
  await Promise.all(sends);
  assert.equal(stream.writes.length, 2);
  assert.deepEqual(stream.writes[0], frames[0]);
  assert.deepEqual(stream.writes[1], concat(frames.slice(1)));
  await conn.send(frames[0]!); // idle again: written at once
  assert.equal(stream.writes.length, 3);
  conn.close();
});

Deno.test("Partial writes are continued until the whole frame is written", async () => {
  const stream = new ScriptedStream();
  stream.maxPerWrite = 3;
  const conn = new MessageConnection(stream);
  const frames = [frame(1, 20), frame(2, 5), frame(3, 0)];
  await Promise.all(frames.map((f) => conn.send(f)));
  assert.deepEqual(concat(stream.writes), concat(frames));
  assert.ok(stream.writes.every((w) => w.length <= 3));
  conn.close();
});

Deno.test("A failed write rejects that send, the queued sends and later sends", async () => {
  const stream = new ScriptedStream();
  const conn = new MessageConnection(stream);
  stream.holdWrites();
  stream.writeError = new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  const first = conn.send(frame(1, 1));
  const queued = conn.send(frame(2, 1));
  stream.releaseWrites();
  const e = await rejectsWith(
    first,
    ConnectionClosedError,
    /^sending: connection lost: Broken pipe/,
  );
  assert.ok(e.cause instanceof Deno.errors.BrokenPipe);
  await rejectsWith(queued, ConnectionClosedError, /^sending: connection lost: /);
  await rejectsWith(conn.send(frame(3, 1)), ConnectionClosedError, /^sending: connection lost: /);
  conn.close();
});

Deno.test("Listeners of sends without a promise hear of their frames in order, or of the failure", async () => {
  const stream = new ScriptedStream();
  const conn = new MessageConnection(stream);
  const heard: string[] = [];
  const listener = {
    sent: (f: Uint8Array) => heard.push(`sent ${f[11]}`),
    sendFailed: (e: Error) => heard.push(`failed ${e.message}`),
  };
  stream.holdWrites();
  conn.sendWith(frame(1, 1), listener);
  const mixed = conn.send(frame(2, 1));
  conn.sendWith(frame(3, 1), listener);
  stream.releaseWrites();
  await mixed;
  assert.deepEqual(heard, ["sent 1", "sent 3"]);
  assert.equal(stream.writes.length, 2); // frames 2 and 3 together
  heard.length = 0;
  stream.holdWrites();
  stream.writeError = new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  conn.sendWith(frame(4, 1), listener);
  conn.sendWith(frame(5, 1), listener);
  stream.releaseWrites();
  await rejectsWith(conn.send(frame(6, 1)), ConnectionClosedError, /^sending: connection lost: /);
  assert.deepEqual(heard, [
    "failed sending: connection lost: Broken pipe (os error 32)",
    "failed sending: connection lost: Broken pipe (os error 32)",
  ]);
  conn.close();
  const { promise, resolve } = Promise.withResolvers<string>();
  conn.sendWith(frame(7, 1), {
    sent: () => resolve("sent"),
    sendFailed: (e) => resolve(e.message),
  });
  assert.equal(await promise, "sending: connection closed");
});

Deno.test("Listen mode delivers every frame in order, large, compressed and split ones too", async () => {
  const stream = new ScriptedStream();
  const compressed = encodeMessage(
    { type: MessageType.INVOKE, serializerId: 4, seq: 3, data: new Uint8Array(5000).fill(7) },
    { compress: true },
  );
  const bytes = concat([frame(0, 10), frame(1, 200), frame(2, 100_000), compressed, frame(4, 1)]);
  // In pieces of every size: a header split, frames together, a body across reads.
  for (let at = 0, size = 1; at < bytes.length; at += size, size = size * 3 + 1) {
    stream.reads.push(bytes.slice(at, at + size));
  }
  stream.reads.push(new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)"));
  const conn = new MessageConnection(stream);
  const got: Message[] = [];
  const { promise, resolve } = Promise.withResolvers<Error | null>();
  let paused = 0;
  conn.listen({
    message(msg) {
      got.push(msg);
      if (msg.seq === 1) return Promise.resolve().then(() => void paused++); // holds the next read
    },
    ended: resolve,
  });
  assert.equal(got.length, 0); // nothing before listen() returns
  const error = await promise;
  assert.ok(error instanceof ConnectionClosedError);
  assert.match(error.message, /^receiving: connection lost: Connection reset/);
  assert.equal(paused, 1);
  assert.deepEqual(got.map((m) => m.seq), [0, 1, 2, 3, 4]);
  checkFrame(got[0]!, 0, 10);
  checkFrame(got[2]!, 2, 100_000);
  assert.deepEqual(got[3]!.data, new Uint8Array(5000).fill(7));
  await rejectsWith(conn.receive(), ConnectionClosedError, /Connection reset/);
  conn.close();
});

Deno.test("Listen mode ends with null at the end of the stream and after close", async () => {
  for (const how of ["end", "close"]) {
    const stream = new ScriptedStream();
    stream.reads.push(frame(1, 3));
    if (how === "close") stream.reads.push(new Deno.errors.BadResource("Bad resource ID"));
    const conn = new MessageConnection(stream);
    const { promise, resolve } = Promise.withResolvers<Error | null>();
    conn.listen({ message: () => how === "close" ? conn.close() : undefined, ended: resolve });
    assert.equal(await promise, null, how);
    conn.close();
  }
});

Deno.test("A socket error while reading becomes ConnectionClosedError", async () => {
  for (
    const err of [
      new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)"),
      new Deno.errors.BadResource("Bad resource ID"),
      new Deno.errors.Interrupted("operation canceled"),
    ]
  ) {
    const stream = new ScriptedStream();
    stream.reads = [frame(1, 3).subarray(0, 10), err];
    const conn = new MessageConnection(stream);
    const e = await rejectsWith(
      conn.receive(),
      ConnectionClosedError,
      `receiving: connection lost: ${err.message}`,
    );
    assert.equal(e.cause, err);
    conn.close();
  }
});

Deno.test("End of stream at a frame boundary gives null, inside a frame an error", async () => {
  const cases: [number, boolean][] = [[0, true], [3, false], [10, false], [40, false], [45, false]];
  for (const [cut, clean] of cases) {
    using pair = await tcpPair();
    const conn = new MessageConnection(pair.server);
    const f = frame(7, 20);
    await writeAll(pair.client, concat([f, f.subarray(0, cut)]));
    pair.client.close();
    checkFrame(await conn.receive(), 7, 20);
    if (clean) assert.equal(await conn.receive(), null);
    else {
      await rejectsWith(conn.receive(), ConnectionClosedError, "receiving: not enough data");
    }
    conn.close();
  }
});

Deno.test("A frame past the size limit is refused from its header, before its body arrives", async () => {
  using pair = await tcpPair();
  const conn = new MessageConnection(pair.server);
  const header = frame(1, 0).subarray(0, HEADER_SIZE).slice();
  new DataView(header.buffer).setUint32(12, 0x7fffffff); // 2 GiB announced, never sent
  await writeAll(pair.client, header);
  await rejectsWith(
    conn.receive(),
    MessageTooLargeError,
    "message too large (2147483647, max=1073741824)",
  );
  conn.close();
});

Deno.test("The size limit can be lowered per connection", async () => {
  const stream = new ScriptedStream();
  stream.reads = [frame(1, 100)];
  const conn = new MessageConnection(stream, { maxMessageSize: 50 });
  await rejectsWith(conn.receive(), MessageTooLargeError, "message too large (100, max=50)");
  conn.close();
});

Deno.test("Bad frame headers fail at once with Python's texts, while the peer stays connected", async () => {
  const good = frame(1, 5);
  const badMagic = good.slice();
  badMagic[39] = 0;
  const cases: [Uint8Array, string][] = [
    [new TextEncoder().encode("GET / HTTP/1.1\r\n"), "invalid data"],
    [new Uint8Array([0x50, 0x59, 0x52, 0x4f, 0x00, 0x30]), "invalid protocol version: 48"],
    [badMagic, "invalid magic number"],
  ];
  for (const [bytes, message] of cases) {
    using pair = await tcpPair();
    const conn = new MessageConnection(pair.server);
    await writeAll(pair.client, bytes);
    await rejectsWith(conn.receive(), ProtocolError, message);
    // the error sticks: the byte stream cannot be trusted any more
    await rejectsWith(conn.receive(), ProtocolError, message);
    conn.close();
  }
});

Deno.test("Bad annotations and corrupt compressed payloads arriving on a connection are ProtocolErrors", async () => {
  const overrun = frame(1, 0).slice();
  const view = new DataView(overrun.buffer);
  view.setUint32(16, 8);
  const withArea = concat([overrun, new Uint8Array([0x41, 0x41, 0x41, 0x41, 0, 0, 0, 9])]);
  const zlib = frame(2, 200).slice();
  new DataView(zlib.buffer).setUint16(8, Flags.COMPRESSED);
  const cases: [Uint8Array, string | RegExp][] = [
    [withArea, "annotation chunk length exceeds remaining data"],
    [zlib, /^Cannot decompress the message payload: /],
  ];
  for (const [bytes, message] of cases) {
    const stream = new ScriptedStream();
    stream.reads = [bytes];
    const conn = new MessageConnection(stream);
    await rejectsWith(conn.receive(), ProtocolError, message);
    conn.close();
  }
});

Deno.test("Concurrent receive calls are answered in call order", async () => {
  using pair = await tcpPair();
  const conn = new MessageConnection(pair.server);
  const pending = [conn.receive(), conn.receive(), conn.receive()];
  await writeAll(pair.client, concat([frame(1, 5), frame(2, 70_000), frame(3, 0)]));
  const [a, b, c] = await Promise.all(pending);
  checkFrame(a!, 1, 5);
  checkFrame(b!, 2, 70_000);
  checkFrame(c!, 3, 0);
  conn.close();
});

Deno.test("Closing ends a pending receive with null and makes later sends fail", async () => {
  using pair = await tcpPair();
  const conn = new MessageConnection(pair.server);
  const pending = conn.receive();
  assert.equal(conn.closed, false);
  conn.close();
  conn.close(); // twice is fine
  assert.equal(conn.closed, true);
  assert.equal(await pending, null);
  assert.equal(await conn.receive(), null);
  await rejectsWith(conn.send(frame(1, 1)), ConnectionClosedError, "sending: connection closed");
});

Deno.test("A stream that keeps reading zero bytes is treated as lost instead of spinning", async () => {
  const stream: ByteStream = {
    read: () => Promise.resolve(0),
    write: (p) => Promise.resolve(p.length),
    close: () => {},
  };
  const conn = new MessageConnection(stream);
  await rejectsWith(conn.receive(), ConnectionClosedError, /^receiving: connection lost: /);
  conn.close();
});
