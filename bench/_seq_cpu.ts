/**
 * CPU per sequential call, client and server, against a raw ping-pong of the same frame sizes
 * (a helper for work on the call path; not part of the suite). The server process serves a
 * Pyro daemon and a raw length-prefixed echo; the client alternates runs of raw ping-pongs and
 * Pyro echo calls per serializer and reads the CPU time of both processes (all threads) from
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds).
 *
 * Run: `deno run -A bench/_seq_cpu.ts [--calls=20000] [--rounds=7] [--serializers=msgpack,json]`
 * (prefix `taskset -c 0` for the pinned mode).
 *
 * @module
 */

import process from "node:process";
import { AsyncLocalStorage } from "node:async_hooks";
import { createProxy } from "../proxy.ts";
import { Daemon } from "../daemon.ts";
import { BenchObject } from "./_pyro_server.ts";
import { FrameReader, makeFrame } from "./_raw.ts";
import { roleArgs, summarize, threadCpuNs } from "./_stats.ts";
import { getSerializer } from "../serializer.ts";
import { dumpsForFrame } from "../_codecs/frame.ts";
import { encodeFrame, encodeMessage, MessageType } from "../_wire/protocol.ts";
import { MessageConnection } from "../_wire/connection.ts";
import { randomCorrelationIdShared } from "../_wire/correlation_id.ts";

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(off === 0 ? data : data.subarray(off));
}

async function server(args: Record<string, string>): Promise<void> {
  const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = daemon.register(new BenchObject(), { id: "bench", expose: ["echo"] });
  // A daemon of another tree (--base=DIR): the same figures for the code before a change.
  let baseUri = "";
  let baseDaemon: { close(): Promise<void> } | null = null;
  if (args.base) {
    const mod = await import(`${args.base}/daemon.ts`);
    const d = new mod.Daemon({ host: "127.0.0.1", port: 0 });
    baseUri = d.register(new BenchObject(), { id: "bench", expose: ["echo"] }).toString();
    baseDaemon = d;
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const workListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // The raw echo plus the codec work of a msgpack call (decode the call, encode the reply
  // frame): what that work costs between socket operations rather than in a tight loop.
  const mp = getSerializer("msgpack");
  const callBytes = mp.dumpsCall({
    object: "bench",
    method: "echo",
    params: ["hello"],
    kwargs: {},
  });
  let sink = 0;
  (async () => {
    for await (const conn of workListener) {
      conn.setNoDelay(true);
      (async () => {
        const reader = new FrameReader(conn);
        const reply = makeFrame(46, 0);
        try {
          for (;;) {
            const f = await reader.read();
            if (f === null) break;
            const call = mp.loadsCall(callBytes);
            const frame = encodeFrame({
              type: MessageType.RESULT,
              serializerId: 4,
              seq: 1,
              correlationId: randomCorrelationIdShared(),
              data: dumpsForFrame(mp, call.params[0]),
            });
            sink += frame.length;
            await writeAll(conn, reply);
          }
        } catch { /* gone */ }
        conn.close();
      })();
    }
  })();
  // The raw echo served inside an AsyncLocalStorage run, as the daemon serves connections.
  const alsListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const als = new AsyncLocalStorage<object>();
  (async () => {
    for await (const conn of alsListener) {
      conn.setNoDelay(true);
      als.run({}, async () => {
        const reader = new FrameReader(conn);
        const reply = makeFrame(46, 0);
        try {
          for (;;) {
            const f = await reader.read();
            if (f === null) break;
            await writeAll(conn, reply);
          }
        } catch { /* gone */ }
        conn.close();
      });
    }
  })();
  // Pyro frames through a MessageConnection, answered with a fixed reply frame: what the
  // message connection costs without the daemon around it.
  const mcListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const fixedReply = encodeMessage({
    type: MessageType.RESULT,
    serializerId: 4,
    seq: 0,
    correlationId: new Uint8Array(16),
    data: new Uint8Array([0xa5, 104, 101, 108, 108, 111]),
  });
  const noop = { sent() {}, sendFailed() {} };
  (async () => {
    for await (const conn of mcListener) {
      conn.setNoDelay(true);
      (async () => {
        const mc = new MessageConnection(conn);
        try {
          for (;;) {
            const msg = await mc.receive();
            if (msg === null) break;
            mc.sendWith(fixedReply, noop);
          }
        } catch { /* gone */ }
        mc.close();
      })();
    }
  })();
  (async () => {
    for await (const conn of listener) {
      conn.setNoDelay(true);
      (async () => {
        const reader = new FrameReader(conn);
        const reply = makeFrame(46, 0);
        try {
          for (;;) {
            const f = await reader.read();
            if (f === null) break;
            await writeAll(conn, reply);
          }
        } catch { /* gone */ }
        conn.close();
      })();
    }
  })();
  console.log(
    JSON.stringify({
      uri: uri.toString(),
      baseUri,
      port: listener.addr.port,
      workPort: workListener.addr.port,
      alsPort: alsListener.addr.port,
      mcPort: mcListener.addr.port,
      pid: Deno.pid,
    }),
  );
  // Each byte on standard input asks for this process's user and system CPU time (us).
  for await (const chunk of Deno.stdin.readable) {
    for (let i = 0; i < chunk.length; i++) {
      const u = process.cpuUsage();
      await Deno.stdout.write(new TextEncoder().encode(`${u.user} ${u.system}\n`));
    }
  }
  listener.close();
  workListener.close();
  alsListener.close();
  mcListener.close();
  if (sink < 0) console.log(sink);
  await daemon.close();
  await baseDaemon?.close();
  Deno.exit(0);
}

async function client(args: Record<string, string>): Promise<void> {
  const calls = Number(args.calls ?? 20000);
  const rounds = Number(args.rounds ?? 7);
  const serializers = (args.serializers ?? "msgpack,json").split(",").filter((x) => x);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(args.prof ? ["--cpu-prof", `--cpu-prof-dir=${args.prof}`, "--cpu-prof-interval=25"] : []),
      ...(args.perf ? ["--v8-flags=--perf-basic-prof"] : []),
      ...(args.v8 ? [`--v8-flags=${args.v8}`] : []),
      import.meta.filename!,
      "server",
      ...(args.base ? [`--base=${args.base}`] : []),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: args.v8 ? "piped" : "inherit",
  }).spawn();
  const serverLog = args.v8 ? new Response(child.stderr).text() : Promise.resolve("");
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) line += (await reader.read()).value ?? "";
  const { uri, baseUri, port, workPort, alsPort, mcPort, pid } = JSON.parse(line);
  line = line.slice(line.indexOf("\n") + 1);
  const writer = child.stdin.getWriter();
  const serverUs = async (): Promise<[number, number]> => {
    await writer.write(new Uint8Array([10]));
    while (!line.includes("\n")) line += (await reader.read()).value ?? "";
    const [u, s] = line.slice(0, line.indexOf("\n")).split(" ").map(Number);
    line = line.slice(line.indexOf("\n") + 1);
    return [u!, s!];
  };
  const selfUs = (): [number, number] => {
    const u = process.cpuUsage();
    return [u.user, u.system];
  };
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const frames = new FrameReader(conn);
  const frame = makeFrame(60, 46);
  const raw = async () => {
    await writeAll(conn, frame);
    await frames.read();
  };
  // Experiments: the raw frame written from a view into a big buffer at a moving offset, and
  // raw ping-pongs whose next read is issued before the write (as a read loop does).
  const slab = new Uint8Array(64 * 1024);
  let slabPos = 0;
  const rawSlab = async () => {
    if (slabPos + 64 > slab.length) slabPos = 0;
    const view = slab.subarray(slabPos, slabPos + 60);
    slabPos += 64;
    view.set(frame);
    await writeAll(conn, view);
    await frames.read();
  };
  const conn2 = await Deno.connect({ hostname: "127.0.0.1", port });
  conn2.setNoDelay(true);
  const frames2 = new FrameReader(conn2);
  let nextRead = frames2.read();
  const rawPending = async () => {
    await writeAll(conn2, frame);
    await nextRead;
    nextRead = frames2.read();
  };
  const conn3 = await Deno.connect({ hostname: "127.0.0.1", port: workPort });
  conn3.setNoDelay(true);
  const frames3 = new FrameReader(conn3);
  const rawWork = async () => {
    await writeAll(conn3, frame);
    await frames3.read();
  };
  // The raw ping-pong with four extra async layers (promise + microtask hop each) per call.
  const conn4 = await Deno.connect({ hostname: "127.0.0.1", port });
  conn4.setNoDelay(true);
  const frames4 = new FrameReader(conn4);
  const wrapW = async (f: Uint8Array) => await writeAll(conn4, f);
  const wrapW2 = async (f: Uint8Array) => await wrapW(f);
  const wrapR = async () => await frames4.read();
  const wrapR2 = async () => await wrapR();
  const rawHops = async () => {
    await wrapW2(frame);
    await wrapR2();
  };
  const conn5 = await Deno.connect({ hostname: "127.0.0.1", port: alsPort });
  conn5.setNoDelay(true);
  const frames5 = new FrameReader(conn5);
  const rawAls = async () => {
    await writeAll(conn5, frame);
    await frames5.read();
  };
  const conn6 = await Deno.connect({ hostname: "127.0.0.1", port: mcPort });
  conn6.setNoDelay(true);
  const invoke = encodeMessage({
    type: MessageType.INVOKE,
    serializerId: 4,
    seq: 1,
    data: getSerializer("msgpack").dumpsCall({
      object: "bench",
      method: "echo",
      params: ["hello"],
      kwargs: {},
    }),
  });
  const replyBuf = new Uint8Array(4096);
  const rawMc = async () => {
    await writeAll(conn6, invoke);
    let got = 0;
    while (got < 46) { // the fixed reply frame: 40 + 6
      const n = await conn6.read(replyBuf.subarray(got));
      if (n === null) throw new Error("closed");
      got += n;
    }
  };
  const extra = (args.extra ?? "").split(",").filter((x) => x).map((x) =>
    x === "slab"
      ? { s: "rawslab", call: rawSlab }
      : x === "work"
      ? { s: "rawwork", call: rawWork }
      : x === "mc"
      ? { s: "rawmc", call: rawMc }
      : x === "als"
      ? { s: "rawals", call: rawAls }
      : x === "hops"
      ? { s: "rawhops", call: rawHops }
      : { s: "rawpend", call: rawPending }
  );
  const proxies = serializers.map((s) => {
    const p = createProxy<{ echo(x: unknown): unknown }>(uri, { serializer: s });
    return { s, call: async () => void await p.echo("hello"), p };
  });
  if (args.base) {
    const mod = await import(`${args.base}/proxy.ts`);
    for (const s of serializers) {
      const p = mod.createProxy(baseUri, { serializer: s });
      proxies.push({ s: `${s}@base`, call: async () => void await p.echo("hello"), p });
    }
  }
  const kinds = [...(args.noraw ? [] : [{ s: "raw", call: raw }]), ...extra, ...proxies];
  const stats = new Map<
    string,
    { cli: number[]; srv: number[]; rate: number[]; us: number[][] }
  >();
  for (const k of kinds) stats.set(k.s, { cli: [], srv: [], rate: [], us: [[], [], [], []] });
  for (const k of kinds) for (let i = 0; i < 2000; i++) await k.call(); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const k of kinds) {
      const u0 = [...selfUs(), ...(await serverUs())];
      const c0 = threadCpuNs(Deno.pid), s0 = threadCpuNs(pid), t0 = performance.now();
      for (let i = 0; i < calls; i++) await k.call();
      const t1 = performance.now(), c1 = threadCpuNs(Deno.pid), s1 = threadCpuNs(pid);
      const u1 = [...selfUs(), ...(await serverUs())];
      const st = stats.get(k.s)!;
      for (let j = 0; j < 4; j++) st.us[j]!.push((u1[j]! - u0[j]!) / calls);
      st.cli.push((c1 - c0) / calls / 1000);
      st.srv.push((s1 - s0) / calls / 1000);
      st.rate.push(calls / ((t1 - t0) / 1000));
    }
  }
  const med = (x: number[]) => summarize(x).median.toFixed(2);
  const rawRates = stats.get("raw")?.rate ?? stats.get(kinds[0]!.s)!.rate;
  for (const k of kinds) {
    const st = stats.get(k.s)!;
    const ratio = st.rate.map((x, i) => x / rawRates[i]!);
    console.log(
      `${k.s.padEnd(8)} cpu us/call cli ${summarize(st.cli).median.toFixed(2)} srv ${
        summarize(st.srv).median.toFixed(2)
      } (min ${Math.min(...st.cli).toFixed(2)}+${Math.min(...st.srv).toFixed(2)})  rate ${
        Math.round(summarize(st.rate).median)
      }/s  paired ratio ${summarize(ratio).median.toFixed(3)} (${Math.min(...ratio).toFixed(2)}..${
        Math.max(...ratio).toFixed(2)
      })  user/sys cli ${med(st.us[0]!)}/${med(st.us[1]!)} srv ${med(st.us[2]!)}/${med(st.us[3]!)}`,
    );
  }
  for (const p of proxies) p.p._pyroRelease();
  conn.close();
  nextRead.catch(() => {});
  conn2.close();
  conn3.close();
  conn4.close();
  conn5.close();
  conn6.close();
  await writer.close();
  await child.status;
  if (args.v8) await Deno.writeTextFile("/tmp/seq_server_v8.log", await serverLog);
  reader.releaseLock();
}

if (import.meta.main) {
  const args = roleArgs(Deno.args);
  if (args._0 === "server") await server(args);
  else await client(args);
}
