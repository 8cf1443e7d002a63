/**
 * Replays of recorded Python Pyro5 name-server traffic (../shared/interop/transcripts/ns_*)
 * against our Name Server: the recorded client frames go in, and our replies must match the
 * Python name server's, compared as the transcripts' README says. Also the recorded
 * `broadcast.json` datagram exchange against our broadcast responder.
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { MessageConnection } from "../_wire/connection.ts";
import { RemoteError } from "../errors.ts";
import { decodeMessage, type Message } from "../_wire/protocol.ts";
import { getSerializer, hasSerializer } from "../serializer.ts";
import { URI } from "../uri.ts";
import { isTuple } from "../value.ts";
import { startNameServer } from "../naming.ts";
import { startBroadcastResponder } from "../_naming/broadcast.ts";
import { fromHex } from "./_hex.ts";

const DIR = fileURLToPath(new URL("../../shared/interop/transcripts/", import.meta.url));

interface Frame {
  conn: number;
  dir: "c2s" | "s2c";
  hex: string;
}

interface Transcript {
  scenario: string;
  serializer: string;
  ports: { client_connected_to: number };
  frames: Frame[];
  nondeterministic: { pointer: string; kind: string }[];
}

/**
 * Plain data for comparison, built the same way from both sides' decoded values. Tuples keep
 * their mark (`{$tuple: [...]}`, as the transcripts write them), so that a list where Pyro5
 * sends a tuple is a difference.
 */
function plain(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === "bigint") return Number(v);
  if (typeof v !== "object") return v;
  if (isTuple(v)) return { $tuple: v.map(plain) };
  if (Array.isArray(v) || v instanceof Set) return [...v].map(plain);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  if (v instanceof URI) return { __class__: "Pyro5.core.URI", state: plain(v.toState()) };
  if (v instanceof RemoteError) return { error: v.remoteClass, args: plain(v.args) };
  if (v instanceof Error) return { error: `Pyro5.errors.${v.name}`, args: [v.message] };
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

/** Applies one nondeterminism rule at `path` inside both wrapped values. */
function neutralise(pair: { root: unknown }[], path: string[], kind: string): void {
  for (const side of pair) {
    let parent: Record<string, unknown> = side as unknown as Record<string, unknown>;
    const keys = ["root", ...path];
    const last = keys.pop()!;
    for (const key of keys) parent = parent?.[key] as Record<string, unknown>;
    if (parent === undefined || !(last in parent)) continue;
    const value = parent[last];
    if (kind === "unordered" && Array.isArray(value)) {
      parent[last] = [...value].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    } else if (kind === "port") {
      parent[last] = JSON.parse(JSON.stringify(value).replace(/:\d+/g, ":<port>"));
    } else if (
      kind === "traceback" || kind === "python_specific_text" || kind === "random_corr_id"
    ) {
      parent[last] = `<${kind}>`;
    }
  }
}

function compare(ours: Message, recorded: Message, t: Transcript, index: number): void {
  const where = `${t.scenario}.${t.serializer} frame ${index}`;
  assert.equal(ours.type, recorded.type, `${where}: type`);
  assert.equal(ours.serializerId, recorded.serializerId, `${where}: serializer`);
  assert.equal(ours.seq, recorded.seq, `${where}: seq`);
  assert.equal(ours.flags & ~0x42, recorded.flags & ~0x42, `${where}: flags`);
  assert.deepEqual(
    [...ours.annotations.keys()],
    [...recorded.annotations.keys()],
    `${where}: annotations`,
  );
  const serializer = getSerializer(recorded.serializerId);
  const pair = [{ root: plain(serializer.loads(ours.data)) }, {
    root: plain(serializer.loads(recorded.data)),
  }];
  const prefix = `/frames/${index}/decoded/payload`;
  for (const rule of t.nondeterministic) {
    if (rule.pointer !== prefix && !rule.pointer.startsWith(prefix + "/")) continue;
    const path = rule.pointer.slice(prefix.length).split("/").slice(1)
      .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
      .filter((s) => s !== "$set"); // set tags vanish in decoded values, tuple tags stay
    neutralise(pair, path, rule.kind);
  }
  // Exception texts from the name server are Pyro5's own; tracebacks differ by language.
  assert.deepEqual(pair[0]!.root, pair[1]!.root, `${where}: payload`);
}

async function replay(t: Transcript): Promise<void> {
  await using server = await startNameServer({
    host: "127.0.0.1",
    port: 0,
    broadcast: false,
    natHost: "127.0.0.1",
    natPort: t.ports.client_connected_to,
  });
  const port = (server.daemon.addr as Deno.NetAddr).port;
  const conns = new Map<number, MessageConnection>();
  try {
    for (const [index, frame] of t.frames.entries()) {
      let conn = conns.get(frame.conn);
      if (frame.dir === "c2s") {
        if (conn === undefined) {
          conn = new MessageConnection(await Deno.connect({ hostname: "127.0.0.1", port }));
          conns.set(frame.conn, conn);
        }
        await conn.send(fromHex(frame.hex));
        continue;
      }
      const ours = await conn!.receive();
      assert.ok(ours !== null, `${t.scenario}: connection closed instead of a reply`);
      compare(ours, decodeMessage(fromHex(frame.hex)), t, index);
    }
  } finally {
    for (const conn of conns.values()) conn.close();
  }
}

const files = [...Deno.readDirSync(DIR)].map((e) => e.name)
  .filter((n) => /^ns_.*\.(json|msgpack|serpent)\.json$/.test(n)).sort();

for (const file of files) {
  const t = JSON.parse(Deno.readTextFileSync(DIR + file)) as Transcript;
  Deno.test({
    name:
      `Name server answers the recorded ${t.scenario} conversation (${t.serializer}) like Python Pyro5`,
    ignore: t.serializer === "serpent" && !hasSerializer(1),
    fn: () => replay(t),
  });
}

Deno.test("Broadcast responder answers the recorded GET_NSURI datagram and ignores others", async () => {
  const recorded = JSON.parse(Deno.readTextFileSync(DIR + "broadcast.json")) as {
    ports: { name_server_tcp: number };
    datagrams: { dir: string; hex: string | null; text: string | null }[];
  };
  const nsUri = `PYRO:Pyro.NameServer@127.0.0.1:${recorded.ports.name_server_tcp}`;
  await using responder = await startBroadcastResponder(nsUri, { port: 0 });
  const socket = dgram.createSocket("udp4");
  const replies: string[] = [];
  let onReply: (() => void) | null = null;
  socket.on("message", (msg: Uint8Array) => {
    replies.push(Buffer.from(msg).toString("hex"));
    onReply?.();
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  try {
    const send = (hex: string) =>
      new Promise<void>((resolve) =>
        socket.send(fromHex(hex), responder.port, "127.0.0.1", () => resolve())
      );
    const [request, reply, other] = recorded.datagrams;
    // The exact request gets the URI back as Latin-1 text.
    const got = new Promise<void>((resolve) => (onReply = resolve));
    await send(request!.hex!);
    await got;
    assert.deepEqual(replies, [reply!.hex]);
    // An unknown datagram gets nothing; a GET_NSURI sent after it is answered, and only it.
    const second = new Promise<void>((resolve) => (onReply = resolve));
    await send(other!.hex!);
    await send(request!.hex!);
    await second;
    assert.deepEqual(replies, [reply!.hex, reply!.hex]);
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
});
