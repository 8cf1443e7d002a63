/**
 * Replays of recorded Python Pyro5 traffic against our daemon: for every daemon scenario in
 * ../shared/interop/transcripts (json, msgpack and serpent), our daemon serves the equivalent
 * of the recorded `server_object`, receives the Python client's recorded frames, and must
 * answer like the Python daemon did (compared as the transcripts' README says).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MessageConnection } from "../_wire/connection.ts";
import { ExceptionWrapper, registerDictToClass } from "../class_registry.ts";
import { currentContext } from "../context.ts";
import { Daemon, type DaemonOptions } from "../daemon.ts";
import { RemoteError } from "../errors.ts";
import { expose, isKwargs, oneway } from "../expose.ts";
import { decodeMessage, type Message, MessageType } from "../_wire/protocol.ts";
import { getSerializer, hasSerializer } from "../serializer.ts";
import { URI } from "../uri.ts";
import { isTuple } from "../value.ts";
import { fromHex, toHex } from "./_hex.ts";

// Replies are compared as the maps on the wire: keep proxy maps as maps here instead of the
// live proxies that proxy.ts (imported by daemon.ts for callbacks) makes of them.
registerDictToClass("Pyro5.client.Proxy", (_name, dict) => dict);

const DIR = fileURLToPath(new URL("../../shared/interop/transcripts/", import.meta.url));

interface Frame {
  conn: number;
  dir: "c2s" | "s2c";
  hex: string;
  decoded: { type: number; serializer: number; flags: number; seq: number };
}

interface Transcript {
  scenario: string;
  serializer: string;
  ports: { client_connected_to: number };
  frames: Frame[];
  nondeterministic: { pointer: string; kind: string }[];
}

// ---------------------------------------------------------------------------------------------
// The served objects: TypeScript equivalents of the transcripts' `server_object`.

class CustomError extends RemoteError {
  constructor(message: string) {
    super("demo.CustomError", [message], { code: 1234 });
  }
}

function pythonError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Python's `class Thing` with method-level `@expose`, served per session. */
class Thing {
  #value: unknown = 42;
  #fired: unknown[] = [];

  @expose
  echo(...args: unknown[]): unknown {
    if (args.length !== 1) {
      throw new TypeError("Thing.echo() missing 1 required positional argument: 'x'");
    }
    return args[0];
  }

  /** Python: `kw(a, b=2, **extra)`; kwargs arrive as a final marked argument. */
  @expose
  kw(...args: unknown[]): unknown {
    const extra: Record<string, unknown> = isKwargs(args.at(-1))
      ? { ...(args.pop() as Record<string, unknown>) }
      : {};
    const take = (index: number, name: string, fallback?: unknown): unknown => {
      if (index < args.length) return args[index];
      if (Object.hasOwn(extra, name)) {
        const value = extra[name];
        delete extra[name];
        return value;
      }
      if (fallback === undefined) throw new TypeError(`kw() missing argument '${name}'`);
      return fallback;
    };
    const a = take(0, "a");
    const b = take(1, "b", 2);
    return { a, b, extra };
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
  fail_value(): never {
    throw pythonError("ValueError", "invalid value: 42");
  }

  @expose
  fail_custom(): never {
    throw new CustomError("custom failure");
  }

  @expose
  *gen(n: number): Generator<number> {
    for (let i = 0; i < n; i++) yield i;
  }

  @expose
  get_other(): object {
    return other;
  }

  @expose
  annotated(): Record<string, string> {
    const ctx = currentContext()!;
    const out: Record<string, string> = {};
    for (const key of [...ctx.annotations.keys()].sort()) {
      out[key] = decoder.decode(ctx.annotations.get(key));
    }
    ctx.responseAnnotations.set("XRSP", encoder.encode("reply-annotation"));
    return out;
  }

  @expose
  corr_id(): string {
    return currentContext()!.correlationId;
  }

  @expose
  get value(): unknown {
    return this.#value;
  }

  @expose
  set value(v: unknown) {
    this.#value = v;
  }

  hidden(): string {
    return "not exposed";
  }

  _private(): string {
    return "private";
  }
}

/** Python's `class Other`, exposed as a whole. */
@expose
class Other {
  name(): string {
    return "other";
  }
  add(a: number, b: number): number {
    return a + b;
  }
}

const other = new Other();

// ---------------------------------------------------------------------------------------------
// Comparison helpers.

/** Turns a decoded value into plain JSON-like data, the same way for both sides. */
function canon(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { $float: "NaN" };
    if (!Number.isFinite(v)) return { $float: v > 0 ? "Infinity" : "-Infinity" };
    return v;
  }
  if (typeof v === "bigint") {
    return Number.isSafeInteger(Number(v)) ? Number(v) : { $bigint: v.toString() };
  }
  if (typeof v !== "object") return v;
  if (v instanceof Uint8Array) return { $bytes: toHex(v) };
  // Tuples keep their tag, so that a list where Pyro5 sends a tuple is a difference.
  if (isTuple(v)) return { $tuple: v.map(canon) };
  if (Array.isArray(v)) return v.map(canon);
  if (v instanceof Set) return [...v].map(canon);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), canon(x)]));
  if (v instanceof URI) return { __class__: "Pyro5.core.URI", state: canon(v.toState()) };
  if (v instanceof ExceptionWrapper) {
    return { __class__: "Pyro5.core._ExceptionWrapper", exception: canon(v.error) };
  }
  if (v instanceof RemoteError) {
    return {
      __class__: v.remoteClass,
      __exception__: true,
      args: canon(v.args),
      attributes: { ...(canon(v.attributes) as object), _pyroTraceback: v.remoteTraceback ?? null },
    };
  }
  if (v instanceof Error) {
    const extra = v as { remoteAttributes?: unknown; remoteTraceback?: unknown };
    return {
      __class__: `Pyro5.errors.${v.name}`,
      __exception__: true,
      args: [v.message],
      attributes: {
        ...(canon(extra.remoteAttributes ?? {}) as object),
        _pyroTraceback: extra.remoteTraceback ?? null,
      },
    };
  }
  if (v instanceof Date) return v.toISOString();
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canon(x)]));
}

/** Pointer segments into a canonical value (`$set` tags are plain arrays there, `$tuple` stay). */
function segmentsOf(pointer: string): string[] {
  return pointer.split("/").slice(1)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
    .filter((s) => s !== "$set");
}

/** Applies a nondeterministic-value rule at a path of both values (wrapped as `{root}`). */
function applyRule(
  ours: { root: unknown },
  recorded: { root: unknown },
  path: string[],
  kind: string,
  where: string,
): void {
  const parentPath = ["root", ...path];
  const key = parentPath.pop()!;
  const parent = (o: { root: unknown }) => {
    let cur: unknown = o;
    for (const seg of parentPath) cur = (cur as Record<string, unknown>)?.[seg];
    return cur as Record<string, unknown> | undefined;
  };
  const po = parent(ours);
  const pr = parent(recorded);
  assert.ok(po !== undefined && pr !== undefined, `${where}: missing ${path.join("/")}`);
  const a = po[key];
  const b = pr[key];
  switch (kind) {
    case "traceback": {
      const ok = (x: unknown) =>
        x === null || (Array.isArray(x) && x.every((l) => typeof l === "string"));
      assert.ok(ok(a), `${where}: our traceback is not a list of strings or null`);
      assert.ok(ok(b), `${where}: recorded traceback is not a list of strings or null`);
      po[key] = pr[key] = "<traceback>";
      break;
    }
    case "python_specific_text":
      assert.equal(typeof a, typeof b, `${where}: text kinds differ at ${path.join("/")}`);
      po[key] = pr[key] = "<text>";
      break;
    case "random_corr_id":
      assert.equal(typeof a, "string", `${where}: correlation id is not a string`);
      po[key] = pr[key] = "<corr>";
      break;
    case "unordered": {
      const sort = (x: unknown) =>
        Array.isArray(x)
          ? [...x].sort((p, q) => JSON.stringify(p) < JSON.stringify(q) ? -1 : 1)
          : x;
      po[key] = sort(a);
      pr[key] = sort(b);
      break;
    }
    case "port": {
      const strip = (x: unknown) => typeof x === "string" ? x.replace(/:\d+/g, ":<port>") : x;
      po[key] = strip(a);
      pr[key] = strip(b);
      break;
    }
  }
}

function comparePayload(
  ours: Message,
  recorded: Message,
  rules: { path: string[]; kind: string }[],
  where: string,
): void {
  if (recorded.type === MessageType.PING || recorded.serializerId === 2) {
    assert.deepEqual(toHex(ours.data), toHex(recorded.data), `${where}: raw payload`);
    return;
  }
  const serializer = getSerializer(recorded.serializerId);
  const o = { root: canon(serializer.loads(ours.data)) };
  const r = { root: canon(serializer.loads(recorded.data)) };
  for (const kind of ["port", "traceback", "python_specific_text", "random_corr_id", "unordered"]) {
    for (const rule of rules) if (rule.kind === kind) applyRule(o, r, rule.path, kind, where);
  }
  // Autoproxy maps: Python leaves the serializer out (null); we name ours, as the reference
  // recommends, so that Python calls back with a serializer we speak.
  for (const pair of [o, r]) {
    const root = pair.root as { __class__?: unknown; state?: unknown } | null;
    const state = (root?.state as { $tuple?: unknown[] } | undefined)?.$tuple ?? root?.state;
    if (root?.__class__ === "Pyro5.client.Proxy" && Array.isArray(state)) {
      if (pair === o) assert.equal(state[5], serializer.name, `${where}: proxy serializer`);
      state[5] = null;
    }
  }
  assert.deepEqual(o.root, r.root, `${where}: payload`);
}

function compareReply(
  ours: Message,
  recorded: Message,
  rules: { path: string[]; kind: string }[],
  where: string,
) {
  assert.equal(ours.type, recorded.type, `${where}: type`);
  assert.equal(ours.serializerId, recorded.serializerId, `${where}: serializer`);
  assert.equal(ours.seq, recorded.seq, `${where}: seq`);
  assert.equal(ours.flags & ~0x42, recorded.flags & ~0x42, `${where}: flags`);
  const annotations = (m: Message) =>
    Object.fromEntries(
      [...m.annotations].filter(([k]) => k !== "STRM").map(([k, v]) => [k, toHex(v)]),
    );
  assert.deepEqual(annotations(ours), annotations(recorded), `${where}: annotations`);
  assert.equal(ours.annotations.has("STRM"), recorded.annotations.has("STRM"), `${where}: STRM`);
  comparePayload(ours, recorded, rules, where);
}

// ---------------------------------------------------------------------------------------------
// The replay.

function daemonOptionsFor(t: Transcript): DaemonOptions {
  const options: DaemonOptions = {
    host: "127.0.0.1",
    port: 0,
    natHost: "127.0.0.1",
    natPort: t.ports.client_connected_to,
  };
  if (t.scenario === "annotations") {
    options.annotations = () => ({ SRVR: encoder.encode("demo-daemon") });
  }
  if (t.scenario === "compression_both") options.compression = true;
  if (t.scenario === "custom_handshake") {
    options.validateHandshake = (data) => {
      const d = data as Record<string, unknown> | null;
      if (d !== null && typeof d === "object" && d.secret === "s3cr3t") {
        return { welcome: d.user, server: "demo" };
      }
      throw pythonError("ValueError", "handshake refused: bad secret");
    };
  }
  return options;
}

function replaceBytes(frame: Uint8Array, from: Uint8Array, to: Uint8Array): void {
  outer: for (let i = 0; i + from.length <= frame.length; i++) {
    for (let j = 0; j < from.length; j++) if (frame[i + j] !== from[j]) continue outer;
    frame.set(to, i);
  }
}

async function replay(t: Transcript, file: string): Promise<void> {
  await using daemon = new Daemon(daemonOptionsFor(t));
  daemon.register(Thing, "thing");
  daemon.register(other, "other");
  const port = (daemon.addr as Deno.NetAddr).port;
  const conns = new Map<number, MessageConnection>();
  const streamIds = new Map<string, Uint8Array>();
  const failed = new Set<number>();
  try {
    for (const [index, frame] of t.frames.entries()) {
      const where = `${file} frame ${index}`;
      if (frame.dir === "c2s") {
        let conn = conns.get(frame.conn);
        if (conn === undefined) {
          const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
          conn = new MessageConnection(tcp);
          conns.set(frame.conn, conn);
        }
        const bytes = fromHex(frame.hex);
        for (const [recordedId, ourId] of streamIds) {
          replaceBytes(bytes, encoder.encode(recordedId), ourId);
        }
        await conn.send(bytes);
        continue;
      }
      const conn = conns.get(frame.conn)!;
      const ours = await conn.receive();
      assert.ok(ours !== null, `${where}: the daemon closed the connection instead of replying`);
      const recorded = decodeMessage(fromHex(frame.hex));
      const prefix = `/frames/${index}/decoded/payload`;
      const rules = t.nondeterministic
        .filter((n) => n.pointer === prefix || n.pointer.startsWith(prefix + "/"))
        .map((n) => ({ path: segmentsOf(n.pointer.slice(prefix.length)), kind: n.kind }));
      compareReply(ours, recorded, rules, where);
      const recordedStream = recorded.annotations.get("STRM");
      const ourStream = ours.annotations.get("STRM");
      if (recordedStream && ourStream) {
        assert.equal(ourStream.length, 36, `${where}: stream id length`);
        streamIds.set(decoder.decode(recordedStream), ourStream.slice());
      }
      if (recorded.type === MessageType.CONNECTFAIL) failed.add(frame.conn);
    }
    // After a CONNECTFAIL the daemon closes the connection.
    for (const index of failed) {
      assert.equal(
        await conns.get(index)!.receive(),
        null,
        `${file}: connection ${index} still open`,
      );
    }
  } finally {
    for (const conn of conns.values()) conn.close();
  }
}

const files = [...Deno.readDirSync(DIR)]
  .map((e) => e.name)
  .filter((n) => /\.(json|msgpack|serpent)\.json$/.test(n) && !n.startsWith("ns_"))
  .sort();

for (const file of files) {
  const t = JSON.parse(Deno.readTextFileSync(DIR + file)) as Transcript;
  const serpentMissing = t.serializer === "serpent" && !hasSerializer(1);
  Deno.test({
    name:
      `Daemon answers the recorded ${t.scenario} conversation (${t.serializer}) like Python Pyro5`,
    ignore: serpentMissing,
    fn: () => replay(t, file),
  });
}
