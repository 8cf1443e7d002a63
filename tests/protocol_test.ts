/**
 * Tests of the Pyro5 frame codec against Python's vectors and recorded traffic, plus the
 * error texts for malformed frames.
 *
 * @module
 */

import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { MessageTooLargeError, ProtocolError } from "../errors.ts";
import {
  correlationIdFromString,
  correlationIdToString,
  decodeMessage,
  encodeMessage,
  Flags,
  HEADER_SIZE,
  type Message,
  MessageType,
  messageTypeName,
  parseHeader,
  randomCorrelationId,
} from "../_wire/protocol.ts";
import { fromHex, toHex } from "./_hex.ts";

const INTEROP = new URL("../../shared/interop/", import.meta.url);

const text = (s: string) => new TextEncoder().encode(s);

/** Re-encodes a decoded message without compression. */
function reencode(msg: Message): Uint8Array {
  return encodeMessage({
    type: msg.type,
    serializerId: msg.serializerId,
    seq: msg.seq,
    flags: msg.flags,
    correlationId: msg.correlationId,
    annotations: msg.annotations,
    data: msg.data,
  });
}

function annotationsHex(msg: Message): Record<string, string> {
  return Object.fromEntries([...msg.annotations].map(([k, v]) => [k, toHex(v)]));
}

function expectProtocolError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${e}`);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

interface VectorExpectation {
  type: number;
  serializer: number;
  flags: number;
  seq: number;
  corr?: string;
  annotations?: Record<string, string>;
  data?: string;
}

const VECTOR_EXPECTATIONS: Record<string, VectorExpectation> = {
  json_connect: { type: 1, serializer: 3, flags: 0, seq: 0 },
  msgpack_connect: { type: 1, serializer: 4, flags: 0, seq: 0 },
  msgpack_connectok: { type: 2, serializer: 4, flags: 0, seq: 0 },
  json_connectfail: { type: 3, serializer: 3, flags: 0, seq: 0, data: '"unknown object"' },
  json_invoke_echo: { type: 4, serializer: 3, flags: 0, seq: 1 },
  msgpack_invoke_echo: { type: 4, serializer: 4, flags: 0, seq: 1 },
  msgpack_result_hi: { type: 5, serializer: 4, flags: 0, seq: 1 },
  msgpack_invoke_corr_ann: {
    type: 4,
    serializer: 4,
    flags: 0x40,
    seq: 2,
    corr: "11112222-3333-4444-5555-666677778888",
    annotations: { XREQ: "726571", EMPT: "" },
  },
  msgpack_exception_result: { type: 5, serializer: 4, flags: 1, seq: 3 },
  json_exception_result: { type: 5, serializer: 3, flags: 1, seq: 3 },
  msgpack_stream_result: {
    type: 5,
    serializer: 4,
    flags: 0x11,
    seq: 4,
    annotations: { STRM: toHex(text("c9bc09e9-e5b1-44ae-87d4-fd08e61c3740")) },
  },
  ping: { type: 6, serializer: 42, flags: 0, seq: 999, data: "ping" },
  pong: { type: 6, serializer: 42, flags: 0, seq: 999, data: "pong" },
  json_batch: { type: 4, serializer: 3, flags: 8, seq: 5 },
  msgpack_uri_result: { type: 5, serializer: 4, flags: 0, seq: 6 },
};

Deno.test("Every Pyro5 test vector decodes to its fields and re-encodes to the same bytes", async () => {
  const vectors: Record<string, { hex: string }> = JSON.parse(
    await Deno.readTextFile(new URL("pyro5-vectors.json", INTEROP)),
  );
  assert.deepEqual(Object.keys(vectors).sort(), Object.keys(VECTOR_EXPECTATIONS).sort());
  for (const [name, { hex }] of Object.entries(vectors)) {
    const want = VECTOR_EXPECTATIONS[name]!;
    const msg = decodeMessage(fromHex(hex));
    assert.equal(msg.type, want.type, name);
    assert.equal(msg.serializerId, want.serializer, name);
    assert.equal(msg.flags, want.flags, name);
    assert.equal(msg.seq, want.seq, name);
    assert.equal(
      msg.correlationId && correlationIdToString(msg.correlationId),
      want.corr ?? null,
      name,
    );
    assert.deepEqual(annotationsHex(msg), want.annotations ?? {}, name);
    if (want.data !== undefined) assert.equal(new TextDecoder().decode(msg.data), want.data);
    assert.equal(toHex(reencode(msg)), hex, name);
  }
});

interface RecordedFrame {
  conn: number;
  dir: string;
  hex: string;
  decoded: {
    type: number;
    serializer: number;
    flags: number;
    seq: number;
    corr_id: string | null;
    annotations: Record<string, string>;
    payload: unknown;
    payload_text?: string;
  };
}

Deno.test("Every frame of every recorded Python conversation decodes to its recorded fields", async () => {
  const dir = new URL("transcripts/", INTEROP);
  let files = 0, frames = 0, compressed = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".json")) continue;
    if (entry.name === "broadcast.json" || entry.name === "index.json") continue;
    files++;
    const file = JSON.parse(await Deno.readTextFile(new URL(entry.name, dir)));
    for (const [i, frame] of (file.frames as RecordedFrame[]).entries()) {
      const where = `${entry.name} frame ${i}`;
      const d = frame.decoded;
      const msg = decodeMessage(fromHex(frame.hex));
      frames++;
      assert.equal(msg.type, d.type, where);
      assert.equal(msg.serializerId, d.serializer, where);
      assert.equal(msg.flags, d.flags & ~Flags.COMPRESSED, where);
      assert.equal(msg.seq, d.seq, where);
      assert.equal(msg.correlationId && correlationIdToString(msg.correlationId), d.corr_id, where);
      assert.deepEqual(annotationsHex(msg), d.annotations, where);
      if (d.payload_text !== undefined && d.type !== MessageType.PING) {
        assert.equal(new TextDecoder().decode(msg.data), d.payload_text, where);
      }
      if (d.flags & Flags.COMPRESSED) {
        compressed++;
        assert.ok(
          msg.data.length > 100,
          `${where}: Python compresses only payloads over 100 bytes`,
        );
        if (d.serializer === 3) {
          assert.deepEqual(JSON.parse(new TextDecoder().decode(msg.data)), d.payload, where);
        }
        // Our own compression round-trips the inflated payload.
        const again = decodeMessage(
          encodeMessage({ ...msg, flags: d.flags }, { compress: true }),
        );
        assert.deepEqual(again.data, msg.data, where);
        assert.equal(again.flags, msg.flags, where);
      } else {
        assert.equal(toHex(reencode(msg)), frame.hex, where);
      }
    }
  }
  assert.ok(files >= 72, `only ${files} transcript files found`);
  assert.ok(frames >= 900 && compressed >= 18, `${frames} frames, ${compressed} compressed`);
});

Deno.test("A correlation id and annotations are written where Python puts them", () => {
  const frame = encodeMessage({
    type: MessageType.INVOKE,
    serializerId: 4,
    seq: 2,
    correlationId: correlationIdFromString("11112222-3333-4444-5555-666677778888"),
    annotations: new Map([["XREQ", text("req")], ["EMPT", new Uint8Array(0)]]),
    data: fromHex("94a57468696e67a46563686f910181a16bc3"),
  });
  assert.equal(
    toHex(frame),
    "5059524f01f604040040000200000012000000131111222233334444555566667777888800004dc5" +
      "5852455100000003726571454d505400000000" + "94a57468696e67a46563686f910181a16bc3",
  );
});

Deno.test("Annotations given as a plain record keep their order", () => {
  const msg = decodeMessage(
    encodeMessage({
      type: 5,
      serializerId: 3,
      seq: 1,
      annotations: { ZZZZ: text("1"), AAAA: text("22") },
    }),
  );
  assert.deepEqual([...msg.annotations.keys()], ["ZZZZ", "AAAA"]);
  assert.deepEqual(msg.annotations.get("AAAA"), text("22"));
});

Deno.test("Encoding refuses annotation ids that are not exactly 4 ASCII characters", () => {
  for (const id of ["abc", "abcde", "", "äbcd", "ab\u{1F600}"]) {
    expectProtocolError(
      () => encodeMessage({ type: 4, serializerId: 4, seq: 1, annotations: { [id]: text("x") } }),
      "annotation identifier must be 4 ascii characters",
    );
  }
});

Deno.test("Encoding compresses only payloads over 100 bytes, and only when asked", () => {
  const init = { type: MessageType.RESULT, serializerId: 3, seq: 9 };
  const exactly100 = encodeMessage({ ...init, data: new Uint8Array(100) }, { compress: true });
  assert.equal(exactly100[9]! & Flags.COMPRESSED, 0);
  assert.equal(exactly100.length, HEADER_SIZE + 100);

  const big = new Uint8Array(101).fill(65);
  const off = encodeMessage({ ...init, data: big });
  assert.equal(off[9]! & Flags.COMPRESSED, 0);

  const on = encodeMessage({ ...init, data: big }, { compress: true });
  assert.equal(on[9]! & Flags.COMPRESSED, Flags.COMPRESSED);
  assert.deepEqual([on[HEADER_SIZE], on[HEADER_SIZE + 1]], [0x78, 0x5e]); // zlib, level 4
  assert.equal(parseHeader(on).dataSize, on.length - HEADER_SIZE);
  const back = decodeMessage(on);
  assert.deepEqual(back.data, big);
  assert.equal(back.flags, 0);
});

Deno.test("A COMPRESSED flag passed by the caller is dropped when the payload is not compressed", () => {
  const frame = encodeMessage({
    type: 5,
    serializerId: 3,
    seq: 1,
    flags: Flags.COMPRESSED | Flags.EXCEPTION,
    data: text("x"),
  });
  assert.equal(parseHeader(frame).flags, Flags.EXCEPTION);
});

Deno.test("Encoding refuses a message over the maximum size with Python's text", () => {
  assert.throws(
    () =>
      encodeMessage({ type: 5, serializerId: 3, seq: 1, data: new Uint8Array(90) }, {
        maxMessageSize: 80,
      }),
    (e: unknown) =>
      e instanceof MessageTooLargeError && e instanceof ProtocolError &&
      e.message === "message too large (90, max=80)",
  );
});

Deno.test("Encoding refuses header fields that do not fit", () => {
  assert.throws(() => encodeMessage({ type: 256, serializerId: 3, seq: 1 }), RangeError);
  assert.throws(() => encodeMessage({ type: 4, serializerId: 3, seq: 65536 }), RangeError);
  assert.throws(() => encodeMessage({ type: 4, serializerId: 3, seq: -1 }), RangeError);
  expectProtocolError(
    () => encodeMessage({ type: 4, serializerId: 3, seq: 1, correlationId: new Uint8Array(3) }),
    "correlation id must be 16 bytes",
  );
});

const GOOD = fromHex(
  "5059524f01f605040000000100000003000000000000000000000000000000000000000000004dc5a26869",
);

function patched(offset: number, ...bytes: number[]): Uint8Array {
  const copy = GOOD.slice();
  copy.set(bytes, offset);
  return copy;
}

Deno.test("Decoding reports a truncated header", () => {
  expectProtocolError(() => decodeMessage(GOOD.subarray(0, 20)), /truncated header \(20 of 40/);
  expectProtocolError(() => decodeMessage(GOOD.subarray(0, 2)), /truncated header/);
});

Deno.test("Decoding reports a wrong tag, version or magic number with Python's texts", () => {
  expectProtocolError(() => decodeMessage(patched(0, 0x48)), "invalid data");
  expectProtocolError(() => decodeMessage(text("GET / HTTP/1.1\r\n")), "invalid data");
  expectProtocolError(() => decodeMessage(patched(4, 0x01, 0xf5)), "invalid protocol version: 501");
  expectProtocolError(() => decodeMessage(patched(4, 0x00, 0x30)), "invalid protocol version: 48");
  expectProtocolError(() => decodeMessage(patched(38, 0x4d, 0xc6)), "invalid magic number");
});

Deno.test("Decoding reports a length past the maximum from the header alone", () => {
  const header = patched(12, 0xff, 0xff, 0xff, 0xff).subarray(0, HEADER_SIZE);
  assert.throws(
    () => decodeMessage(header),
    (e: unknown) =>
      e instanceof MessageTooLargeError &&
      e.message === "message too large (4294967295, max=1073741824)",
  );
  assert.throws(
    () => decodeMessage(GOOD, { maxMessageSize: 2 }),
    (e: unknown) =>
      e instanceof MessageTooLargeError && e.message === "message too large (3, max=2)",
  );
  // annotations and data lengths add up
  const both = patched(12, 0x20, 0, 0, 0, 0x20, 0, 0, 1).subarray(0, HEADER_SIZE);
  assert.throws(() => decodeMessage(both), /message too large \(1073741825, max=1073741824\)/);
});

Deno.test("Decoding reports a frame whose length does not match its header", () => {
  expectProtocolError(
    () => decodeMessage(GOOD.subarray(0, GOOD.length - 1)),
    "payload length doesn't match message header",
  );
  const longer = new Uint8Array(GOOD.length + 1);
  longer.set(GOOD);
  expectProtocolError(() => decodeMessage(longer), "payload length doesn't match message header");
});

function withAnnotationArea(area: Uint8Array, payload = text("x")): Uint8Array {
  const frame = encodeMessage({ type: 5, serializerId: 3, seq: 1, data: payload });
  const out = new Uint8Array(frame.length + area.length);
  out.set(frame.subarray(0, HEADER_SIZE));
  new DataView(out.buffer).setUint32(16, area.length);
  out.set(area, HEADER_SIZE);
  out.set(payload, HEADER_SIZE + area.length);
  return out;
}

Deno.test("Decoding reports an annotation chunk that runs past the annotation area", () => {
  // id XREQ, length 10, but only 3 value bytes in the area
  const area = fromHex("585245510000000a726571");
  expectProtocolError(
    () => decodeMessage(withAnnotationArea(area)),
    "annotation chunk length exceeds remaining data",
  );
  // a length that would wrap a 32-bit sum
  const huge = fromHex("58524551ffffffff726571");
  expectProtocolError(
    () => decodeMessage(withAnnotationArea(huge)),
    "annotation chunk length exceeds remaining data",
  );
});

Deno.test("Decoding reports annotation bytes left over after the last chunk", () => {
  const area = fromHex("5852455100000003726571" + "abcdef");
  expectProtocolError(
    () => decodeMessage(withAnnotationArea(area)),
    "annotation parsing did not consume all annotation data",
  );
});

Deno.test("Decoding reports an annotation id that is not ASCII", () => {
  const area = fromHex("c3a4424300000000");
  expectProtocolError(
    () => decodeMessage(withAnnotationArea(area)),
    "annotation identifier must be 4 ascii characters",
  );
});

Deno.test("Decoding keeps the last value of a repeated annotation id", () => {
  const area = fromHex("41414141000000013141414141000000013258595a5a00000000");
  const msg = decodeMessage(withAnnotationArea(area));
  assert.deepEqual(annotationsHex(msg), { AAAA: "32", XYZZ: "" });
});

function compressedFrame(payload: Uint8Array): Uint8Array {
  const frame = encodeMessage({ type: 5, serializerId: 3, seq: 1, data: payload });
  new DataView(frame.buffer).setUint16(8, Flags.COMPRESSED);
  return frame;
}

Deno.test("Decoding reports a corrupt zlib payload as a ProtocolError", () => {
  expectProtocolError(
    () => decodeMessage(compressedFrame(text("this is not zlib data"))),
    /^Cannot decompress the message payload: /,
  );
  const z = deflateSync(new Uint8Array(1000), { level: 4 });
  expectProtocolError(
    () => decodeMessage(compressedFrame(new Uint8Array(z.subarray(0, z.length - 5)))),
    /^Cannot decompress the message payload: /,
  );
});

Deno.test("Decoding inflates a compressed payload and clears the flag", () => {
  const data = text("Pyro5 ".repeat(50));
  const z = deflateSync(data);
  const msg = decodeMessage(compressedFrame(new Uint8Array(z)));
  assert.deepEqual(msg.data, data);
  assert.equal(msg.flags & Flags.COMPRESSED, 0);
});

Deno.test("Decoding refuses a payload that inflates past the maximum size", () => {
  const z = new Uint8Array(deflateSync(new Uint8Array(100_000)));
  assert.throws(
    () => decodeMessage(compressedFrame(z), { maxMessageSize: 10_000 }),
    (e: unknown) => e instanceof MessageTooLargeError && /max=10000/.test(e.message),
  );
});

Deno.test("Correlation ids convert between 16 bytes and RFC 4122 text", () => {
  const id = correlationIdFromString("7DB30B5E-D9FB-41B3-AE18-320E83E8B0A1");
  assert.equal(toHex(id), "7db30b5ed9fb41b3ae18320e83e8b0a1");
  assert.equal(correlationIdToString(id), "7db30b5e-d9fb-41b3-ae18-320e83e8b0a1");
  assert.deepEqual(
    correlationIdFromString("urn:uuid:{7db30b5ed9fb41b3ae18320e83e8b0a1}"),
    id,
  );
  assert.throws(() => correlationIdFromString("not-a-uuid"), SyntaxError);
  assert.throws(() => correlationIdToString(new Uint8Array(15)), TypeError);
  const r = randomCorrelationId();
  assert.equal(r.length, 16);
  assert.match(
    correlationIdToString(r),
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-/,
  );
});

Deno.test("Message types have names for logs", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map(messageTypeName),
    ["CONNECT", "CONNECTOK", "CONNECTFAIL", "INVOKE", "RESULT", "PING"],
  );
  assert.equal(messageTypeName(0), "UNKNOWN(0)");
  assert.equal(messageTypeName(77), "UNKNOWN(77)");
});

Deno.test("A decoded correlation id is a copy, not a view into the frame", () => {
  const frame = encodeMessage({
    type: 5,
    serializerId: 4,
    seq: 1,
    correlationId: new Uint8Array(16).fill(7),
  });
  const msg = decodeMessage(frame);
  frame.fill(0);
  assert.deepEqual(msg.correlationId, new Uint8Array(16).fill(7));
});

Deno.test("decodeMessage stops inflating a compressed payload at maxInflatedSize", () => {
  const bomb = new Uint8Array(deflateSync(new Uint8Array(64 << 20))); // 64 KiB on the wire
  const frame = encodeMessage({ type: MessageType.INVOKE, serializerId: 4, seq: 1, data: bomb });
  frame[9]! |= 0x02; // COMPRESSED
  assert.throws(
    () => decodeMessage(frame, { maxInflatedSize: 1 << 20 }),
    (e: unknown) =>
      e instanceof MessageTooLargeError &&
      e.message === "message too large (inflated payload exceeds max=1048576)",
  );
  assert.equal(decodeMessage(frame).data.length, 64 << 20); // within the default (maxMessageSize)
});
