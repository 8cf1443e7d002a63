/**
 * Soak test: several client processes, each with many proxies, call a daemon for a bounded
 * time while the daemon drops connections at random and is killed and restarted, and while
 * the name server (SQLite storage) is killed and restarted too. Then it checks that nothing
 * was lost or done twice:
 *
 * - every call returned its correct result exactly once, or failed with a clear error;
 * - the server's execution log shows no call ran more often than the client sent it
 *   (a call runs twice only when the client retried it);
 * - no oneway call was lost while its connection was up (the server reports, per connection,
 *   the oneway calls it has run; the client compares between two answers on one connection);
 * - every name server registration that was acknowledged is still there at the end.
 *
 * Usage: deno run -A bench/soak.ts [--quick] [--seconds N] [--clients N] [--proxies N] [--idle N]
 *   (`--quick`: about 20 s, 3 clients with 10 busy and 50 idle proxies each; default: 180 s,
 *   6 clients with 25 busy and 300 idle proxies each). Prints the figures and exits 1 on any
 *   loss.
 * Roles used internally: --role server|ns|client.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { config } from "../config.ts";
import { currentContext } from "../context.ts";
import { Daemon } from "../daemon.ts";
import { CommunicationError } from "../errors.ts";
import { oneway } from "../expose.ts";
import { startNameServer } from "../naming.ts";
import { createProxy, type UntypedMethods } from "../proxy.ts";

const args = parseArgs({
  options: {
    role: { type: "string", default: "main" },
    quick: { type: "boolean", default: false },
    seconds: { type: "string" },
    clients: { type: "string" },
    proxies: { type: "string" },
    port: { type: "string", default: "0" },
    nsport: { type: "string", default: "0" },
    dir: { type: "string", default: "" },
    id: { type: "string", default: "0" },
    until: { type: "string", default: "0" },
    drop: { type: "string", default: "0.01" },
    idle: { type: "string" },
  },
});
config.LOGLEVEL = "NONE";

// ---------------------------------------------------------------- server role

/** The served object: its effects are lines appended (unbuffered) to the execution log. */
function runServer(): void {
  const log = Deno.openSync(`${args.values.dir}/exec.log`, { append: true, create: true });
  const boot = crypto.randomUUID().slice(0, 8);
  const drop = Number(args.values.drop);
  const encoder = new TextEncoder();
  const record = (line: string) => log.writeSync(encoder.encode(line + "\n"));
  const daemon = new Daemon({
    host: "127.0.0.1",
    port: Number(args.values.port),
    maxConnections: 10_000,
  });
  daemon.register(
    {
      add(client: string, seq: number, a: number, b: number): number {
        record(`add ${client} ${seq}`);
        // A random disconnect after the call ran: the reply is lost, the client must retry.
        if (Math.random() < drop) currentContext()?.connection.close();
        return a + b;
      },
      note: oneway((client: string, seq: number) => {
        record(`note ${client} ${seq}`);
        const storage = currentContext()?.connection.storage;
        const seen = (storage?.get("notes") as number[] | undefined) ?? [];
        seen.push(seq);
        storage?.set("notes", seen);
      }),
      confirm(): [string, number, number[]] {
        const ctx = currentContext()!;
        const seen = (ctx.connection.storage.get("notes") as number[] | undefined) ?? [];
        ctx.connection.storage.set("notes", []);
        return [boot, ctx.connection.id, seen];
      },
    },
    { id: "soak", expose: ["add", "confirm"], oneway: ["note"] },
  );
  // The peak number of connections held at once, for the figures.
  let peak = 0;
  const timer = setInterval(() => {
    if (daemon.connectionCount <= peak) return;
    peak = daemon.connectionCount;
    Deno.writeTextFileSync(`${args.values.dir}/peak-${Deno.pid}`, String(peak));
  }, 100);
  Deno.unrefTimer(timer);
  console.log(JSON.stringify({ port: (daemon.addr as Deno.NetAddr).port }));
}

async function runNameServer(): Promise<void> {
  const ns = await startNameServer({
    host: "127.0.0.1",
    port: Number(args.values.nsport),
    broadcast: false,
    storage: `sql:${args.values.dir}/ns.sqlite`,
  });
  console.log(JSON.stringify({ port: (ns.daemon.addr as Deno.NetAddr).port }));
}

// ---------------------------------------------------------------- client role

type Soak = UntypedMethods<"add" | "note" | "confirm">;
type NS = UntypedMethods<"register">;

interface ClientReport {
  calls: number;
  ok: number;
  wrong: number;
  failed: number;
  errors: Record<string, number>;
  attempts: Record<string, number>; // "client seq" -> attempts, for calls tried more than once
  notesSent: number;
  notesVerified: number;
  notesLost: number[];
  notesUnverifiable: number;
  registered: string[];
  nsFailed: number;
  releases: number;
}

async function runClient(): Promise<void> {
  const id = args.values.id;
  const until = Number(args.values.until);
  const proxies = Number(args.values.proxies);
  const idle = Number(args.values.idle ?? 0);
  const uri = `PYRO:soak@127.0.0.1:${args.values.port}`;
  const report: ClientReport = {
    calls: 0,
    ok: 0,
    wrong: 0,
    failed: 0,
    errors: {},
    attempts: {},
    notesSent: 0,
    notesVerified: 0,
    notesLost: [],
    notesUnverifiable: 0,
    registered: [],
    nsFailed: 0,
    releases: 0,
  };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let seqs = 0;
  let noteSeqs = 0;

  async function worker(w: number): Promise<void> {
    const p = createProxy<Soak>(uri, { timeout: 10_000 });
    let last: [string, number] | null = null;
    let pendingNotes: number[] = [];
    while (Date.now() < until) {
      const seq = ++seqs;
      const a = Math.floor(Math.random() * 1e6);
      const b = Math.floor(Math.random() * 1e6);
      report.calls++;
      let attempts = 0;
      for (;;) {
        attempts++;
        try {
          const r = await p.add(id, seq, a, b);
          if (r === a + b) report.ok++;
          else report.wrong++;
          break;
        } catch (e) {
          last = null; // the connection changed: notes sent so far cannot be verified
          report.notesUnverifiable += pendingNotes.length;
          pendingNotes = [];
          const name = e instanceof Error ? e.name : "unknown";
          if (!(e instanceof CommunicationError) || Date.now() > until + 15_000) {
            report.failed++;
            report.errors[name] = (report.errors[name] ?? 0) + 1;
            break;
          }
          await pause(20 + Math.random() * 80);
        }
      }
      if (attempts > 1) report.attempts[`${id} ${seq}`] = attempts;
      // Oneway calls, verified through the same connection.
      if (Math.random() < 0.3) {
        const n = ++noteSeqs;
        try {
          await p.note(id, n);
          report.notesSent++;
          pendingNotes.push(n);
        } catch {
          // not sent: nothing to verify
        }
      }
      if (pendingNotes.length > 0 && Math.random() < 0.5) {
        try {
          const [boot, conn, seen] = await p.confirm() as [string, number, number[]];
          const same: boolean = last !== null && last[0] === boot && last[1] === conn;
          if (same) {
            const got = new Set(seen);
            for (const n of pendingNotes) {
              if (got.has(n)) report.notesVerified++;
              else report.notesLost.push(n);
            }
          } else {
            report.notesUnverifiable += pendingNotes.length;
          }
          last = [boot, conn];
          pendingNotes = [];
        } catch {
          last = null;
          report.notesUnverifiable += pendingNotes.length;
          pendingNotes = [];
        }
      }
      // Random client-side disconnects.
      if (Math.random() < 0.01) {
        await p._pyroRelease();
        last = null;
        report.notesUnverifiable += pendingNotes.length;
        pendingNotes = [];
        report.releases++;
      }
      if (w === 0 && Math.random() < 0.2) await registerOne();
    }
    await p._pyroRelease();
  }

  const ns = createProxy<NS>(`PYRO:Pyro.NameServer@127.0.0.1:${args.values.nsport}`, {
    timeout: 10_000,
  });
  let names = 0;
  async function registerOne(): Promise<void> {
    const name = `soak.c${id}.${++names}`;
    for (let i = 0; i < 200 && Date.now() < until + 15_000; i++) {
      try {
        await ns.register(name, `PYRO:obj${names}@127.0.0.1:1`);
        report.registered.push(name);
        return;
      } catch {
        await pause(50);
      }
    }
    report.nsFailed++;
  }

  // Idle proxies: connected at the start, held through the faults, each makes one checked call
  // at the end (reconnecting if its connection was lost meanwhile).
  const held = Array.from({ length: idle }, () => createProxy<Soak>(uri, { timeout: 10_000 }));
  await Promise.all(held.map(async (p) => {
    for (let i = 0; i < 100; i++) {
      try {
        await p._pyroBind();
        return;
      } catch {
        await pause(50);
      }
    }
  }));
  await Promise.all(Array.from({ length: proxies }, (_, w) => worker(w)));
  await Promise.all(held.map(async (p) => {
    const seq = ++seqs;
    report.calls++;
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        if (await p.add(id, seq, seq, 1) === seq + 1) report.ok++;
        else report.wrong++;
        break;
      } catch (e) {
        if (!(e instanceof CommunicationError) || attempts >= 100) {
          report.failed++;
          const name = e instanceof Error ? e.name : "unknown";
          report.errors[name] = (report.errors[name] ?? 0) + 1;
          break;
        }
        await pause(20 + Math.random() * 80);
      }
    }
    if (attempts > 1) report.attempts[`${id} ${seq}`] = attempts;
    await p._pyroRelease();
  }));
  await ns._pyroRelease();
  console.log(JSON.stringify(report));
}

// ---------------------------------------------------------------- orchestrator

interface Child {
  proc: Deno.ChildProcess;
  port: number;
}

async function spawn(role: string, extra: string[]): Promise<Child> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--role", role, ...extra],
    stdout: "piped",
    stderr: "inherit",
    env: { RUST_BACKTRACE: "0" },
  }).spawn();
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${role} ended early`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void proc.stdout.pipeTo(new WritableStream()).catch(() => {});
  return { proc, port: JSON.parse(text.slice(0, text.indexOf("\n"))).port };
}

async function kill(child: Child): Promise<void> {
  try {
    child.proc.kill("SIGKILL");
  } catch {
    // gone
  }
  await child.proc.status;
}

async function collect(proc: Deno.ChildProcess): Promise<ClientReport> {
  const out = await proc.output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines.at(-1)!);
}

async function main(): Promise<number> {
  const quick = args.values.quick;
  const seconds = Number(args.values.seconds ?? (quick ? 20 : 180));
  const clients = Number(args.values.clients ?? (quick ? 3 : 6));
  const proxiesPer = Number(args.values.proxies ?? (quick ? 10 : 25));
  const idlePer = Number(args.values.idle ?? (quick ? 50 : 300));
  const dir = await Deno.makeTempDir({ prefix: "pyro_soak_" });
  const started = Date.now();
  const until = started + seconds * 1000;
  let server = await spawn("server", ["--dir", dir]);
  const port = server.port;
  let ns = await spawn("ns", ["--dir", dir]);
  const nsPort = ns.port;
  const children = Array.from({ length: clients }, (_, i) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--role",
        "client",
        "--id",
        String(i),
        "--port",
        String(port),
        "--nsport",
        String(nsPort),
        "--until",
        String(until),
        "--proxies",
        String(proxiesPer),
        "--idle",
        String(idlePer),
      ],
      stdout: "piped",
      stderr: "inherit",
      env: { RUST_BACKTRACE: "0" },
    }).spawn());
  // Faults: server restarts every 2-5 s, name server restarts every 5-9 s (bounded loops).
  let serverRestarts = 0;
  let nsRestarts = 0;
  let nextNs = Date.now() + 5000 + Math.random() * 4000;
  while (Date.now() < until - 2000) {
    await new Promise((r) => setTimeout(r, 2000 + Math.random() * 3000));
    if (Date.now() >= until - 2000) break;
    await kill(server);
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 250));
    server = await spawn("server", ["--dir", dir, "--port", String(port)]);
    serverRestarts++;
    if (Date.now() > nextNs) {
      await kill(ns);
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 250));
      ns = await spawn("ns", ["--dir", dir, "--nsport", String(nsPort)]);
      nsRestarts++;
      nextNs = Date.now() + 5000 + Math.random() * 4000;
    }
  }
  const reports = await Promise.all(children.map(collect));
  await kill(server);
  // Name server check: every acknowledged registration is still there (after the restarts).
  const registry = createProxy<UntypedMethods<"list">>(`PYRO:Pyro.NameServer@127.0.0.1:${nsPort}`);
  const listed = await registry.list("soak.") as Record<string, string>;
  await registry._pyroRelease();
  await kill(ns);
  // Execution log check.
  const executions = new Map<string, number>();
  let notesLogged = 0;
  for (const line of (await Deno.readTextFile(`${dir}/exec.log`)).split("\n")) {
    const [kind, client, seq] = line.split(" ");
    if (kind === "add") {
      executions.set(`${client} ${seq}`, (executions.get(`${client} ${seq}`) ?? 0) + 1);
    } else if (kind === "note") notesLogged++;
  }
  let peakConnections = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith("peak-")) continue;
    peakConnections = Math.max(
      peakConnections,
      Number(await Deno.readTextFile(`${dir}/${entry.name}`)),
    );
  }
  await Deno.remove(dir, { recursive: true });
  let twiceUnretried = 0;
  let twiceRetried = 0;
  for (const [key, n] of executions) {
    if (n <= 1) continue;
    const attempts = reports[Number(key.split(" ")[0])]?.attempts[key] ?? 1;
    if (n > attempts) twiceUnretried++;
    else twiceRetried++;
  }
  const sum = (f: (r: ClientReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  const registered = reports.flatMap((r) => r.registered);
  const nsLost = registered.filter((name) => !(name in listed));
  const figures = {
    seconds: Math.round((Date.now() - started) / 1000),
    clientProcesses: clients,
    proxies: clients * proxiesPer,
    idleProxies: clients * idlePer,
    peakConnections,
    calls: sum((r) => r.calls),
    ok: sum((r) => r.ok),
    wrongResults: sum((r) => r.wrong),
    failedWithError: sum((r) => r.failed),
    errors: reports.reduce((m, r) => {
      for (const [k, v] of Object.entries(r.errors)) m[k] = (m[k] ?? 0) + v;
      return m;
    }, {} as Record<string, number>),
    retriedCalls: sum((r) => Object.keys(r.attempts).length),
    executedTwiceAfterRetry: twiceRetried,
    executedMoreThanSent: twiceUnretried,
    serverRestarts,
    nsRestarts,
    clientDisconnects: sum((r) => r.releases),
    onewaySent: sum((r) => r.notesSent),
    onewayVerified: sum((r) => r.notesVerified),
    onewayUnverifiable: sum((r) => r.notesUnverifiable),
    onewayLost: sum((r) => r.notesLost.length),
    onewayLogged: notesLogged,
    nsRegistered: registered.length,
    nsFailed: sum((r) => r.nsFailed),
    nsLost: nsLost.length,
  };
  console.log(JSON.stringify(figures, null, 1));
  const lost = figures.wrongResults + figures.executedMoreThanSent + figures.onewayLost +
    figures.nsLost;
  const unaccounted = figures.calls - figures.ok - figures.wrongResults - figures.failedWithError;
  if (lost > 0 || unaccounted !== 0) {
    console.log(`soak: FAILED (lost or duplicated: ${lost}, unaccounted calls: ${unaccounted})`);
    return 1;
  }
  console.log("soak: nothing lost");
  return 0;
}

if (import.meta.main) {
  switch (args.values.role) {
    case "server":
      runServer();
      break;
    case "ns":
      await runNameServer();
      break;
    case "client":
      await runClient();
      break;
    default:
      Deno.exit(await main());
  }
}
