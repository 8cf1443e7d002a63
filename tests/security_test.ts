/**
 * Exposure cannot be bypassed: hostile member names and object ids reach nothing, hostile
 * payloads (`__proto__` keys, `__class__` maps naming classes nobody registered) pollute
 * nothing, and each gets Pyro5's error while the daemon keeps serving.
 */

import assert from "node:assert/strict";
import { Daemon } from "../daemon.ts";
import { expose } from "../expose.ts";
import { setLogSink } from "../log.ts";
import { encodeMessage, Flags, MessageType } from "../_wire/protocol.ts";
import { NameServer } from "../_naming/server.ts";
import { getSerializer } from "../serializer.ts";
import { RawClient } from "./_raw_client.ts";

const SERIALIZERS = [["serpent", 1], ["json", 3], ["msgpack", 4]] as const;

function snapshot(): string {
  const protos: [string, object][] = [
    ["Object", Object.prototype],
    ["Function", Function.prototype],
    ["Array", Array.prototype],
    ["String", String.prototype],
    ["Error", Error.prototype],
    ["Promise", Promise.prototype],
    ["Map", Map.prototype],
  ];
  return protos.map(([name, p]) =>
    `${name}:` + Reflect.ownKeys(p).map(String).sort().join(",") +
    `:${Object.isExtensible(p)}`
  ).join("\n");
}

const OBJECT_PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype);
const HOSTILE_NAMES = [
  ...new Set([
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "valueOf",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "_private",
    "__private",
    "_",
    "__",
    "hidden",
    "field",
    "then",
    "call",
    "apply",
    "bind",
    "arguments",
    "caller",
    "length",
    "name",
    "Symbol(Symbol.iterator)",
    "Symbol(Symbol.asyncIterator)",
    "Symbol(pyro.autoproxy)",
    "@@iterator",
    "",
    " ",
    "echo ",
    "ECHO",
    "echo.constructor",
    "constructor.constructor",
    "a.b",
    "__proto__.polluted",
    "prop.constructor",
    "x".repeat(100_000),
    "é\u0000\u202e",
    "__getattr__",
    "__setattr__",
    "<batch>",
    "__init__",
    "__class__",
    "__dict__",
    ...OBJECT_PROTO_NAMES,
  ]),
];

@expose
class Target {
  field = "plain field, never exposed";
  echo(x: unknown): unknown {
    return x;
  }
  get prop(): number {
    return 5;
  }
  _private(): string {
    return "private";
  }
  __private(): string {
    return "private";
  }
}

class Unexposed {
  hidden(): string {
    return "hidden";
  }
}

function serve(): { daemon: Daemon; target: Target; restore: () => void } {
  const previous = setLogSink(() => {});
  const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const target = new Target();
  daemon.register(target, "thing");
  daemon.register(expose({ echo: (x: unknown) => x }), "plain");
  daemon.register(new Unexposed(), "unexposed");
  daemon.register(new NameServer(), "ns");
  return { daemon, target, restore: () => setLogSink(previous) };
}

interface RemoteErrorLike {
  message: string;
  remoteClass?: string;
  name: string;
}

function errorOf(reply: { msg: { flags: number }; value: unknown }): RemoteErrorLike {
  assert.ok(
    reply.msg.flags & Flags.EXCEPTION,
    `expected an exception reply, got ${String(reply.value)}`,
  );
  assert.ok(reply.value instanceof Error);
  return reply.value as RemoteErrorLike;
}

function assertAttributeError(e: RemoteErrorLike, name: string): void {
  assert.equal(e.remoteClass, "builtins.AttributeError", `${name}: ${e.name} ${e.message}`);
  assert.match(
    e.message,
    /^(attempt to access (private|unexposed) attribute|'\w+' object has no attribute|type object '\w+' has no attribute|attempt to access unexposed or unknown remote attribute)/,
  );
}

Deno.test("Hostile method names reach nothing and get AttributeError on every serializer", async () => {
  const before = snapshot();
  const { daemon, target, restore } = serve();
  try {
    for (const [, sid] of SERIALIZERS) {
      const client = await RawClient.connected(daemon.addr, "thing", sid);
      for (const objectId of ["thing", "plain", "unexposed", "ns"]) {
        for (const name of HOSTILE_NAMES) {
          const e = errorOf(await client.call(objectId, name, [1]));
          if (name === "__getattr__" || name === "__setattr__") {
            assert.equal(e.remoteClass, "builtins.AttributeError", `${name}: ${e.message}`);
          } else {
            assertAttributeError(e, name);
          }
        }
      }
      // Still serving on the same connection.
      assert.equal((await client.call("thing", "echo", ["ok"])).value, "ok");
      client.close();
    }
  } finally {
    await daemon.close();
    restore();
  }
  assert.equal(target.field, "plain field, never exposed");
  assert.equal(snapshot(), before);
});

Deno.test("Hostile attribute names cannot be read or written remotely", async () => {
  const before = snapshot();
  const { daemon, target, restore } = serve();
  try {
    for (const [, sid] of SERIALIZERS) {
      const client = await RawClient.connected(daemon.addr, "thing", sid);
      for (const name of HOSTILE_NAMES) {
        assertAttributeError(
          errorOf(await client.call("thing", "__getattr__", [name], null)),
          name,
        );
        const set = errorOf(
          await client.call("thing", "__setattr__", [name, { polluted: true }], null),
        );
        assertAttributeError(set, name);
      }
      assert.equal((await client.call("thing", "__getattr__", ["prop"], null)).value, 5);
      client.close();
    }
  } finally {
    await daemon.close();
    restore();
  }
  assert.equal(target.field, "plain field, never exposed");
  assert.equal(Object.getPrototypeOf(target), Target.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(snapshot(), before);
});

Deno.test("Hostile object ids are unknown objects, in calls and in the handshake", async () => {
  const { daemon, restore } = serve();
  try {
    for (const [, sid] of SERIALIZERS) {
      const client = await RawClient.connected(daemon.addr, "thing", sid);
      for (
        const id of [
          "__proto__",
          "constructor",
          "toString",
          "hasOwnProperty",
          "",
          "Pyro.Daemon.x",
          "x".repeat(100_000),
        ]
      ) {
        const e = errorOf(await client.call(id, "echo", [1]));
        assert.equal(e.name, "DaemonError");
        assert.equal(e.message, "unknown object");
      }
      client.close();
      const fresh = await RawClient.open(daemon.addr, sid);
      const reply = await fresh.handshake("__proto__");
      assert.equal(reply.msg.type, MessageType.CONNECTFAIL);
      assert.equal(reply.value, "unknown object");
      fresh.close();
    }
  } finally {
    await daemon.close();
    restore();
  }
});

/**
 * Encodes a call holding `__zzzzz__` keys and swaps `__proto__` (same length) into the bytes,
 * so the hostile key arrives whatever the encoder thinks of it.
 */
function callWithProtoKey(
  sid: number,
  params: unknown[],
  kwargs: Record<string, unknown> | null,
): Uint8Array {
  const data = getSerializer(sid).dumpsCall({ object: "thing", method: "echo", params, kwargs });
  const placeholder = new TextEncoder().encode("__zzzzz__");
  const replacement = new TextEncoder().encode("__proto__");
  let hits = 0;
  for (let i = 0; i + placeholder.length <= data.length; i++) {
    if (placeholder.every((b, j) => data[i + j] === b)) {
      data.set(replacement, i);
      hits++;
    }
  }
  assert.ok(hits > 0, "placeholder not found");
  return data;
}

Deno.test("__proto__ keys in json, msgpack and serpent maps are refused and pollute nothing", async () => {
  const before = snapshot();
  const { daemon, restore } = serve();
  try {
    for (const [, sid] of SERIALIZERS) {
      const shapes: [unknown[], Record<string, unknown> | null][] = [
        [[{ __zzzzz__: { polluted: true } }], {}],
        [[[1, { a: { __zzzzz__: { polluted: true } } }]], {}],
        [[new Map([["__zzzzz__", { polluted: true }]])], {}],
        [[1], { __zzzzz__: { polluted: true } }],
      ];
      for (const [params, kwargs] of shapes) {
        const client = await RawClient.connected(daemon.addr, "thing", sid);
        const data = callWithProtoKey(sid, params, kwargs);
        await client.sendRaw(
          encodeMessage({ type: MessageType.INVOKE, serializerId: sid, seq: 5, data }),
        );
        const e = errorOf(await client.reply());
        assert.equal(e.name, "SerializeError", `${sid}: ${e.message}`);
        assert.ok(await client.closedByPeer());
        client.close();
      }
    }
    // The daemon still serves.
    const client = await RawClient.connected(daemon.addr, "thing", 4);
    assert.equal((await client.call("thing", "echo", ["ok"])).value, "ok");
    client.close();
  } finally {
    await daemon.close();
    restore();
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(snapshot(), before);
});

Deno.test("__class__ maps naming classes nobody registered instantiate nothing", async () => {
  const before = snapshot();
  const { daemon, restore } = serve();
  try {
    for (const [, sid] of SERIALIZERS) {
      const client = await RawClient.connected(daemon.addr, "thing", sid);
      for (
        const name of [
          "os.system",
          "builtins.eval",
          "Function",
          "Object",
          "__proto__",
          "constructor",
          "Deno.Command",
          "Pyro5.core.Daemon",
        ]
      ) {
        const payload = { __class__: name, args: ["rm -rf /"], state: { polluted: true } };
        const reply = await client.call("thing", "echo", [payload]);
        if (reply.msg.flags & Flags.EXCEPTION) {
          // Pyro5 answers SerializeError("unsupported serialized class") and closes.
          assert.equal(errorOf(reply).name, "SerializeError");
          client.close();
          break;
        }
        const value = reply.value as Record<string, unknown>;
        assert.equal(value.__class__, name);
        assert.deepEqual(value.args, ["rm -rf /"]);
        assert.equal(Object.getPrototypeOf(value), Object.prototype);
      }
      client.close();
    }
  } finally {
    await daemon.close();
    restore();
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(snapshot(), before);
});
