/**
 * Raw socket baselines (no Pyro at all): a server and a client role over TCP on 127.0.0.1 or a
 * Unix socket, exchanging length-prefixed frames with `Deno.connect` / `Deno.listen`, one
 * write per frame, no-delay on. Each frame starts with its total length and the length of the
 * wanted reply (u32 big-endian each); the server answers every frame with one frame of that
 * size, or echoes the frame itself when the sizes are equal (no copy). A frame whose reply
 * length has its top bit set ({@linkcode FRESH}) is read into a new buffer of its own, on both
 * sides, as any call that hands received bytes to its caller must; other frames are read into
 * one reused buffer.
 *
 * Run by bench/main.ts:
 * `deno run -A bench/_raw.ts server --transport=tcp|unix [--path=sock]`, then
 * `deno run -A bench/_raw.ts client --port=N|--path=sock --req=60 --resp=46 --tests=pingpong,echo1m,connect`.
 *
 * @module
 */

import { emit, emitPhase, emitRate, measureRate, planFrom, roleArgs } from "./_stats.ts";

/** Bytes of the 1 MiB echo payload (a Pyro frame adds a 40-byte header, so do we). */
export const MIB = 1024 * 1024;
const HEADER = 40;
/** Flag in a frame's reply length: read this frame (and its echo) into a new buffer. */
export const FRESH = 0x8000_0000;

/** Reads length-prefixed frames through one growing, reused buffer. */
export class FrameReader {
  #conn: Deno.Conn;
  #buf = new Uint8Array(4 * 1024);
  #start = 0;
  #end = 0;

  /**
   * Wraps a connection.
   *
   * @param conn The connection to read.
   */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  async #fill(need: number): Promise<boolean> {
    while (this.#end - this.#start < need) {
      if (this.#start + need > this.#buf.length) {
        const have = this.#end - this.#start;
        if (need > this.#buf.length) {
          const bigger = new Uint8Array(Math.max(need, this.#buf.length * 2));
          bigger.set(this.#buf.subarray(this.#start, this.#end), 0);
          this.#buf = bigger;
        } else {
          this.#buf.copyWithin(0, this.#start, this.#end);
        }
        this.#start = 0;
        this.#end = have;
      }
      const n = await this.#conn.read(this.#buf.subarray(this.#end));
      if (n === null) return false;
      this.#end += n;
    }
    return true;
  }

  /** Reads the frame at the read position into a new buffer of its own. */
  async #readFresh(len: number): Promise<Uint8Array> {
    const frame = new Uint8Array(len);
    const have = Math.min(this.#end - this.#start, len);
    frame.set(this.#buf.subarray(this.#start, this.#start + have));
    this.#start += have;
    for (let got = have; got < len;) {
      const n = await this.#conn.read(frame.subarray(got));
      if (n === null) throw new Error("connection closed mid-frame");
      got += n;
    }
    return frame;
  }

  /**
   * The next whole frame (a view valid until the next call, or a buffer of its own for a
   * {@linkcode FRESH} frame), or null at end of input.
   *
   * @returns The frame.
   */
  async read(): Promise<Uint8Array | null> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (!(await this.#fill(8))) return null;
    const b = this.#buf;
    const s = this.#start;
    const len = ((b[s]! << 24) | (b[s + 1]! << 16) | (b[s + 2]! << 8) | b[s + 3]!) >>> 0;
    if (len < 8) throw new Error(`bad frame length ${len}`);
    if ((b[s + 4]! & 0x80) !== 0) return await this.#readFresh(len);
    if (!(await this.#fill(len))) throw new Error("connection closed mid-frame");
    const frame = this.#buf.subarray(this.#start, this.#start + len);
    this.#start += len;
    return frame;
  }
}

/**
 * Makes a frame of `size` bytes asking for a reply of `replySize` bytes.
 *
 * @param size Total frame length (at least 8).
 * @param replySize Wanted reply length.
 * @param fresh Mark the frame to be read into a new buffer on both sides.
 * @returns The frame.
 */
export function makeFrame(size: number, replySize: number, fresh = false): Uint8Array {
  const frame = new Uint8Array(size);
  const view = new DataView(frame.buffer);
  view.setUint32(0, size);
  view.setUint32(4, fresh ? (replySize | FRESH) >>> 0 : replySize);
  for (let i = 8; i < size; i++) frame[i] = i & 0xff;
  return frame;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(off === 0 ? data : data.subarray(off));
}

async function serveConn(conn: Deno.Conn): Promise<void> {
  const replies = new Map<number, Uint8Array>();
  const reader = new FrameReader(conn);
  try {
    for (;;) {
      const frame = await reader.read();
      if (frame === null) break;
      const replySize = new DataView(frame.buffer, frame.byteOffset, 8).getUint32(4) & ~FRESH;
      if (replySize === frame.length) {
        await writeAll(conn, frame);
      } else {
        let reply = replies.get(replySize);
        if (reply === undefined) replies.set(replySize, reply = makeFrame(replySize, 0));
        await writeAll(conn, reply);
      }
    }
  } catch {
    // a client that goes away mid-frame ends its connection only
  } finally {
    try {
      conn.close();
    } catch {
      // closed
    }
  }
}

async function server(args: Record<string, string>): Promise<void> {
  const listener = args.transport === "unix"
    ? Deno.listen({ transport: "unix", path: args.path! })
    : Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = listener.addr;
  emit({
    type: "ready",
    port: addr.transport === "tcp" ? addr.port : null,
    path: addr.transport === "unix" ? addr.path : null,
  });
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      if (conn.remoteAddr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
      void serveConn(conn);
    }
  })();
  // Exit at end of standard input.
  for await (const _ of Deno.stdin.readable) { /* wait */ }
  listener.close();
  await accepting;
  Deno.exit(0);
}

async function connect(args: Record<string, string>): Promise<Deno.Conn> {
  if (args.path !== undefined) return await Deno.connect({ transport: "unix", path: args.path });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(args.port) });
  conn.setNoDelay(true);
  return conn;
}

async function client(args: Record<string, string>): Promise<void> {
  const plan = planFrom(args);
  const req = Number(args.req ?? 60);
  const resp = Number(args.resp ?? 46);
  const tests = (args.tests ?? "pingpong,echo1m,connect").split(",");
  for (const test of tests) {
    emitPhase(test);
    if (test === "pingpong") {
      const conn = await connect(args);
      const reader = new FrameReader(conn);
      const frame = makeFrame(req, resp);
      const summary = await measureRate(async () => {
        await writeAll(conn, frame);
        await reader.read();
        return 1;
      }, plan);
      conn.close();
      emitRate("pingpong", summary, summary.steps, { req, resp });
    } else if (test === "echo1m" || test === "echo1m-fresh") {
      const conn = await connect(args);
      const reader = new FrameReader(conn);
      const frame = makeFrame(MIB + HEADER, MIB + HEADER, test === "echo1m-fresh");
      const summary = await measureRate(
        async () => {
          await writeAll(conn, frame);
          await reader.read();
          return MIB;
        },
        { ...plan, minSteps: Math.min(plan.minSteps, 20) },
        1e-6,
      );
      conn.close();
      emitRate(test, summary, summary.steps);
    } else if (test === "connect") {
      const frame = makeFrame(req, resp);
      const summary = await measureRate(async () => {
        const conn = await connect(args);
        await writeAll(conn, frame);
        await new FrameReader(conn).read();
        conn.close();
        return 1;
      }, plan);
      emitRate("connect", summary, summary.steps);
    } else {
      throw new Error(`unknown raw test '${test}'`);
    }
  }
  emit({ type: "done" });
}

if (import.meta.main) {
  const args = roleArgs(Deno.args);
  try {
    if (args._0 === "server") await server(args);
    else await client(args);
  } catch (e) {
    emit({ type: "error", message: e instanceof Error ? e.message : String(e) });
    Deno.exit(1);
  }
}
