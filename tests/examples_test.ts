/**
 * Runs every example under `examples/` the way a user would: a Name Server (started here, in
 * process, on a free port), then the example's servers as separate processes (each waited for
 * until it prints a line ending in "ready"), then its clients, and asserts on what they print.
 * The Python halves of `examples/pythoninterop` run only when `PYRO5_PYTHONPATH` names a
 * Pyro5 source tree; they are reported as ignored otherwise.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startNameServer } from "../mod.ts";

const EXAMPLES = new URL("../examples/", import.meta.url);
const PYTHON = "/usr/bin/python3";
const PYRO5_PYTHONPATH = Deno.env.get("PYRO5_PYTHONPATH") ?? "";
/** Longest time one example may take before its processes are killed (a guard, not a wait). */
const GUARD_MS = 45_000;

function existsSync(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** A program of an example: a Deno or Python script with arguments. */
interface Program {
  /** Label used in failure messages. */
  label: string;
  /** The executable. */
  command: string;
  /** Its arguments. */
  args: string[];
}

function deno(example: string, script: string, ...args: string[]): Program {
  const path = new URL(`${example}/${script}`, EXAMPLES).pathname;
  return {
    label: [`${example}/${script}`, ...args].join(" "),
    command: Deno.execPath(),
    args: ["run", "-A", path, ...args],
  };
}

function python(example: string, script: string, ...args: string[]): Program {
  const path = new URL(`${example}/${script}`, EXAMPLES).pathname;
  return {
    label: [`${example}/${script}`, ...args].join(" "),
    command: PYTHON,
    args: [path, ...args],
  };
}

/** A started program: its output lines, its "ready" line and its exit. */
class Running {
  readonly program: Program;
  readonly lines: string[] = [];
  readonly ready: Promise<string>;
  readonly status: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #readers: Promise<void>;

  constructor(program: Program, env: Record<string, string>) {
    this.program = program;
    this.#child = new Deno.Command(program.command, {
      args: program.args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const ready = Promise.withResolvers<string>();
    this.ready = ready.promise;
    this.ready.catch(() => {});
    this.#readers = Promise.all([
      this.#read(this.#child.stdout, (line) => {
        if (/\bready\b/.test(line)) ready.resolve(line);
      }),
      this.#read(this.#child.stderr),
    ]).then(() => {});
    this.status = this.#child.status.then(async (status) => {
      await this.#readers;
      ready.reject(new Error(`${program.label} exited (code ${status.code}) before it was ready`));
      return status;
    });
  }

  async #read(stream: ReadableStream<Uint8Array>, onLine?: (line: string) => void): Promise<void> {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        this.lines.push(line);
        onLine?.(line);
      }
    }
    if (pending) this.lines.push(pending);
  }

  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch {
      // already exited
    }
  }
}

/** What an example run does: servers waited for until ready, then stages of clients. */
interface ExampleRun {
  /** Run to completion, in order, before anything else. */
  setup?: Program[];
  /** Started in order, each waited for until it prints "ready"; stopped with SIGTERM at the end. */
  servers?: Program[];
  /** Started after the servers, each waited for until ready; they stop by themselves at the end. */
  workers?: Program[];
  /**
   * Run one stage after another; the programs of a stage run at the same time. `{uri}` in an
   * argument is replaced by the first `PYRO:` URI the servers printed, `{url}` by the first
   * `http://127.0.0.1:PORT/` address.
   */
  stages: Program[][];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Do not start a Name Server. */
  noNameServer?: boolean;
}

/** The output of an example run: every program's lines, each prefixed with its label. */
interface ExampleOutput {
  /** All lines of all programs. */
  text: string;
  /** The lines of one program by its label. */
  of(label: string): string;
}

/**
 * Runs an example and returns its output; fails when a client exits with an error or a
 * server does not stop cleanly.
 */
async function runExample(run: ExampleRun): Promise<ExampleOutput> {
  await using ns = run.noNameServer
    ? null
    : await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  const env: Record<string, string> = {
    NO_COLOR: "1",
    RUST_BACKTRACE: "0",
    PYRO_HOST: "127.0.0.1",
    PYRO_NS_HOST: "127.0.0.1",
    PYRO_BROADCAST_ADDRS: "127.255.255.255",
    PYTHONPATH: PYRO5_PYTHONPATH,
    PYTHONUNBUFFERED: "1",
    ...(ns ? { PYRO_NS_PORT: String(ns.uri.port) } : {}),
    ...run.env,
  };
  const all: Running[] = [];
  const guard = setTimeout(() => {
    for (const r of all) r.kill("SIGKILL");
  }, GUARD_MS);
  const transcript = () =>
    all.map((r) => `--- ${r.program.label}\n${r.lines.join("\n")}`).join("\n");
  try {
    for (const program of run.setup ?? []) {
      const step = new Running(program, env);
      all.push(step);
      const status = await step.status;
      assert.ok(
        status.success,
        `${program.label} failed with code ${status.code}\n${transcript()}`,
      );
    }
    const servers: Running[] = [];
    for (const program of run.servers ?? []) {
      const server = new Running(program, env);
      all.push(server);
      servers.push(server);
      try {
        await server.ready;
      } catch (e) {
        await server.status;
        throw new Error(`${(e as Error).message}\n${transcript()}`);
      }
    }
    const workers: Running[] = [];
    for (const program of run.workers ?? []) {
      const worker = new Running(program, env);
      all.push(worker);
      workers.push(worker);
    }
    for (const worker of workers) {
      try {
        await worker.ready;
      } catch (e) {
        await worker.status;
        throw new Error(`${(e as Error).message}\n${transcript()}`);
      }
    }
    const printed = servers.flatMap((s) => s.lines).join("\n");
    const uri = printed.match(/PYRO:\S+/)?.[0] ?? "";
    const url = printed.match(/http:\/\/127\.0\.0\.1:\d+\//)?.[0] ?? "";
    const fill = (a: string) => a.replace("{uri}", uri).replace("{url}", url);
    for (const stage of run.stages) {
      const clients = stage.map((program) =>
        new Running({ ...program, args: program.args.map(fill) }, env)
      );
      all.push(...clients);
      const statuses = await Promise.all(clients.map((c) => c.status));
      statuses.forEach((status, i) => {
        assert.ok(
          status.success,
          `${clients[i]!.program.label} failed with code ${status.code}\n${transcript()}`,
        );
      });
    }
    const workerStatuses = await Promise.all(workers.map((w) => w.status));
    workerStatuses.forEach((status, i) => {
      assert.ok(
        status.success,
        `${workers[i]!.program.label} failed with code ${status.code}\n${transcript()}`,
      );
    });
    for (const server of servers) server.kill("SIGTERM");
    const statuses = await Promise.all(servers.map((s) => s.status));
    statuses.forEach((status, i) => {
      assert.ok(
        status.success,
        `${
          servers[i]!.program.label
        } did not stop cleanly (code ${status.code}, signal ${status.signal})\n${transcript()}`,
      );
    });
  } finally {
    for (const r of all) r.kill("SIGKILL");
    await Promise.allSettled(all.map((r) => r.status));
    clearTimeout(guard);
  }
  return {
    text: all.flatMap((r) => r.lines).join("\n"),
    of: (label) => all.filter((r) => r.program.label === label).flatMap((r) => r.lines).join("\n"),
  };
}

/** Asserts that the output has a line matching each pattern. */
function expectLines(output: ExampleOutput, ...patterns: RegExp[]): void {
  for (const pattern of patterns) {
    assert.ok(
      output.text.split("\n").some((line) => pattern.test(line)),
      `no line matches ${pattern}; output:\n${output.text}`,
    );
  }
}

Deno.test("Example quickstart: the seed scenario calls testclass through the Name Server", async () => {
  const out = await runExample({
    servers: [deno("quickstart", "server.ts")],
    stages: [[deno("quickstart", "client.ts")]],
  });
  expectLines(
    out,
    /^client: mul\(6, 7\) = 42$/,
    /^client: add\(2, 3\) = 5$/,
    /^client: fail\(\) raised builtins\.ValueError: this method always fails$/,
    /four concurrent calls .* = 10,20,30,40$/,
    /^server: stopped$/,
  );
});

Deno.test("Example greeting: a client gets a fortune by URI and by name", async () => {
  const out = await runExample({
    servers: [deno("greeting", "server.ts")],
    stages: [
      [deno("greeting", "client.ts", "{uri}", "Ann")],
      [deno("greeting", "client.ts", "PYRONAME:example.greeting", "Bob")],
    ],
  });
  expectLines(
    out,
    /^client: Hello, Ann\. Here is your fortune message from 127\.0\.0\.1/,
    /^client: Hello, Bob\. Here is your fortune message from 127\.0\.0\.1/,
  );
});

Deno.test("Example warehouse: two people store and take items, and the ledger tells the story", async () => {
  const out = await runExample({
    servers: [deno("warehouse", "server.ts")],
    stages: [[deno("warehouse", "client.ts")]],
  });
  expectLines(
    out,
    /^client: the warehouse contains chair, bike, flashlight, laptop, couch$/,
    /^client: Janet took the laptop\.$/,
    /^client: Henry could not take it: there is no laptop in the warehouse$/,
    /^client: ledger: Henry stored the guitar$/,
  );
});

Deno.test("Example stockquotes: quotes arrive as an item stream and as callbacks", async () => {
  const out = await runExample({
    servers: [deno("stockquotes", "server.ts")],
    stages: [[deno("stockquotes", "client.ts")]],
  });
  expectLines(
    out,
    /^client: the market trades ACME, GLOBEX, INITECH$/,
    /^client: streamed ACME \d+\.\d\d$/,
    /^client: callback INITECH \d+\.\d\d$/,
    /^client: the market called back with 4 quotes$/,
  );
  assert.equal(out.text.split("\n").filter((l) => l.startsWith("client: streamed")).length, 3);
});

Deno.test("Example banks: a client finds every bank through Name Server metadata", async () => {
  const out = await runExample({
    servers: [
      deno("banks", "server.ts", "Rabobank", "--overdraft"),
      deno("banks", "server.ts", "ABN"),
    ],
    stages: [[deno("banks", "client.ts")]],
  });
  expectLines(
    out,
    /^client: the name server knows 2 banks: example\.banks\.ABN, example\.banks\.Rabobank$/,
    /^client: ABN refused: ABN does not allow Suzy to go below zero$/,
    /^client: Rabobank let Suzy withdraw more than she had$/,
    /^client: accounts at Rabobank: Irmen 250, Suzy -150$/,
  );
});

Deno.test("Example batched: a batch of calls travels as one message", async () => {
  const out = await runExample({
    servers: [deno("batched", "server.ts")],
    stages: [[deno("batched", "client.ts")]],
  });
  expectLines(
    out,
    /^client: sending 7 calls in one batch$/,
    /^client: results 101\.00 102\.00 103\.00 104\.00 105\.00 42\.00 3\.14$/,
    /^client: the server saw 1 message\(s\)$/,
    /^client: the batch failed: builtins\.ValueError: division by zero$/,
    /^client: 2 of 3 calls ran: ok 3, failed \(division by zero\)$/,
  );
});

Deno.test("Example oneway: a oneway call returns before the work is done", async () => {
  const out = await runExample({
    servers: [deno("oneway", "server.ts")],
    stages: [[deno("oneway", "client.ts")]],
  });
  expectLines(
    out,
    /^client: the worker is busy with the report$/,
    /^client: the report is done$/,
    /^client: status\(\) sent oneway returned undefined at once$/,
  );
});

Deno.test("Example streaming: remote generators are iterated and closed early", async () => {
  const out = await runExample({
    servers: [deno("streaming", "server.ts")],
    stages: [[deno("streaming", "client.ts")]],
  });
  expectLines(
    out,
    /^client: count\(5\) streamed 1 2 3 4 5$/,
    /^client: took tick-1 tick-2 tick-3 from the endless ticker, then stopped$/,
    /^client: next\(\) gives tock-1$/,
    /^client: the server closed 2 streams early$/,
    /^server: the tick ticker was closed after 3 items$/,
    /^client: squares\(4\) arrived whole: \[1,4,9,16\]$/,
  );
});

Deno.test("Example timeouts: calls time out, abort, and reconnect after a server restart", async () => {
  const out = await runExample({
    servers: [deno("timeouts", "server.ts")],
    stages: [[deno("timeouts", "client.ts")]],
  });
  expectLines(
    out,
    /^client: slow\(3000\) failed with TimeoutError/,
    /^client: the next call connects again: slow\(10\) answered after 10 ms$/,
    /^client: slow\(300\) with an abort signal failed with TimeoutError$/,
    /^client: still connected: true$/,
    /^server: restarted on port \d+$/,
    /^client: reconnected; the server restarted 1 time\(s\)$/,
  );
});

Deno.test("Example handshake: the daemon admits known users and refuses strangers", async () => {
  const out = await runExample({
    servers: [deno("handshake", "server.ts")],
    stages: [[deno("handshake", "client.ts")]],
  });
  expectLines(
    out,
    /^client: the secret of ann is safe$/,
    /^client: the server said "welcome, ann"$/,
    /^client: mallory was refused: connection to 127\.0\.0\.1:\d+ rejected: wrong user name or password$/,
    /^server: refused a connection from 127\.0\.0\.1/,
    /^client: after logging in again: bob$/,
  );
});

Deno.test("Example chat: three participants call each other back through the chat box", async () => {
  const out = await runExample({
    servers: [deno("chat", "server.ts")],
    stages: [["ann", "bob", "cid"].map((nick) => deno("chat", "client.ts", nick, "--people", "3"))],
  });
  for (const nick of ["ann", "bob", "cid"]) {
    expectLines(
      out,
      new RegExp(`^${nick}: all 3 are here$`),
      new RegExp(`^${nick}: heard everyone, bye$`),
    );
    for (const other of ["ann", "bob", "cid"]) {
      expectLines(out, new RegExp(`^${nick}: ${other} says "hello from ${other}"$`));
    }
  }
});

Deno.test("Example distributed: a dispatcher hands work to two workers", async () => {
  const out = await runExample({
    servers: [deno("distributed", "dispatcher.ts")],
    workers: [deno("distributed", "worker.ts", "w1"), deno("distributed", "worker.ts", "w2")],
    stages: [[deno("distributed", "client.ts")]],
  });
  expectLines(
    out,
    /^client: put 10 work items$/,
    /^client: 600851475143 = 71 x 839 x 1471 x 6857$/,
    /^client: 4294967297 = 641 x 6700417$/,
    /^client: 10 results from [12] worker\(s\)$/,
    /^w1: no more work after \d+ items$/,
    /^w2: no more work after \d+ items$/,
  );
});

Deno.test("Example instancemodes: single, session and percall objects", async () => {
  const out = await runExample({
    servers: [deno("instancemodes", "server.ts")],
    stages: [[deno("instancemodes", "client.ts")]],
  });
  const line = (mode: string) =>
    out.text.split("\n").find((l) => l.startsWith(`client: ${mode}:`)) ?? "";
  const visits = (mode: string) =>
    [...line(mode).matchAll(/instance (\d+), call (\d+)/g)].map((m) => [m[1], m[2]]);
  const single = visits("single");
  assert.equal(new Set(single.map(([i]) => i)).size, 1, line("single"));
  assert.deepEqual(single.map(([, c]) => c), ["1", "2", "3", "4"]);
  const session = visits("session");
  assert.equal(new Set(session.map(([i]) => i)).size, 2, line("session"));
  assert.deepEqual(session.map(([, c]) => c), ["1", "2", "1", "2"]);
  const percall = visits("percall");
  assert.equal(new Set(percall.map(([i]) => i)).size, 4, line("percall"));
  assert.deepEqual(percall.map(([, c]) => c), ["1", "1", "1", "1"]);
});

Deno.test("Example customclass: Money and Receipt instances travel with every serializer", async () => {
  const out = await runExample({
    servers: [deno("customclass", "server.ts")],
    stages: [[deno("customclass", "client.ts")]],
  });
  for (const serializer of ["msgpack", "json", "serpent"]) {
    expectLines(
      out,
      new RegExp(
        `^client \\(${serializer}\\): apple 0\\.45 EUR \\+ bread 2\\.60 EUR = 3\\.05 EUR$`,
      ),
      new RegExp(
        `^client \\(${serializer}\\): paid 10\\.00 EUR for coffee, change 1\\.01 EUR, a Receipt: true, a Money: true$`,
      ),
    );
  }
});

Deno.test("Example tls: mutual TLS lets in only clients with a certificate", async () => {
  const certs = await Deno.makeTempDir({ prefix: "pyro_example_tls_" });
  try {
    const out = await runExample({
      setup: [deno("tls", "make_certs.ts", certs)],
      servers: [deno("tls", "server.ts", certs)],
      stages: [[deno("tls", "client.ts", certs)]],
    });
    expectLines(
      out,
      /^client: the server sees "example client"$/,
      /^client: the safe contains the crown jewels$/,
      /^client: TLS without a client certificate: refused \(\w+Error\)$/,
      /^client: plain TCP: refused \(\w+Error\)$/,
    );
  } finally {
    await Deno.remove(certs, { recursive: true });
  }
});

Deno.test({
  name: "Example webapp: a page in Chromium uses the shop through the gateway's WebSocket",
  ignore: !existsSync("/usr/bin/chromium"),
  async fn() {
    const out = await runExample({
      servers: [deno("webapp", "server.ts", "0")],
      stages: [[deno("webapp", "headless.ts", "{url}")]],
    });
    expectLines(
      out,
      /^page: batch: stored apple and pear in one message$/,
      /^page: stream: 3\. apple$/,
      /^page: error: there is no unicorn in the shop$/,
      /^page: store: kettle$/,
      /^page: in stock: chair, lamp, apple, pear, kettle$/,
    );
  },
});

const noPython = PYRO5_PYTHONPATH === "";

Deno.test({
  name: "Example pythoninterop: a Python Pyro5 client calls a TypeScript server",
  ignore: noPython,
  async fn() {
    const out = await runExample({
      servers: [deno("pythoninterop", "server.ts")],
      stages: [[python("pythoninterop", "client.py")]],
    });
    expectLines(
      out,
      /^python: 1180591620717411303424 arrived as bigint 1180591620717411303424$/,
      /^python: b'\\x00\\x01' arrived as Uint8Array\(2\)$/,
      /^python: \(1\+2j\) arrived as Complex\(1, 2\)$/,
      /^python: samples\(\)\['big'\] = 1180591620717411303424$/,
      /^python: samples\(\)\['bytes'\] = b'\\x01\\x02\\x03'$/,
      /^python: pair\(3, 4\) = \(3, 4\)$/,
      /^python: fail\(\) raised ValueError: a TypeScript RangeError$/,
      /^python: done$/,
    );
  },
});

Deno.test({
  name: "Example pythoninterop: a TypeScript client calls a Python Pyro5 server",
  ignore: noPython,
  async fn() {
    const pyroc: Program = {
      label: "pyroc",
      command: Deno.execPath(),
      args: [
        "run",
        "-A",
        new URL("../cli/main.ts", import.meta.url).pathname,
        "pyroc",
        "--uri",
        "PYRONAME:example.interop.python",
        "--name",
        "Calculator",
      ],
    };
    const out = await runExample({
      servers: [python("pythoninterop", "server.py")],
      stages: [[deno("pythoninterop", "client.ts")], [pyroc]],
    });
    expectLines(
      out,
      /^client: add\(2, 3\) = 5$/,
      /^client: stats = \{"count":3,"total":16,"sorted":\[3,5,8\]\}$/,
      /^client: Good morning, Deno! \(from Python\)$/,
      /^client: version = calculator 1\.0$/,
      /^client: oneway methods: log$/,
      /^client: fail\(\) raised builtins\.KeyError: no such key$/,
      /^python server: log: hello from TypeScript$/,
      /^export interface CalculatorRemote \{$/,
      /^ {2}log\(\.\.\.args: unknown\[\]\): Promise<void>;$/,
      /^ {2}version: unknown;$/,
    );
  },
});

Deno.test("Example failover: a PYROMETA proxy moves to another server when its server crashes", async () => {
  const out = await runExample({
    // The first name server entry has nobody listening: clients and servers use the next one.
    env: { PYRO_NS_HOST: "127.0.0.1:1,127.0.0.1" },
    servers: [deno("failover", "server.ts", "a"), deno("failover", "server.ts", "b")],
    stages: [[deno("failover", "client.ts")]],
  });
  expectLines(
    out,
    /^client: served by server [ab]$/,
    /^client: server [ab] crashed$/,
    /^client: failed over without an error$/,
  );
});
