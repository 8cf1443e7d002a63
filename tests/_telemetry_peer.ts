/**
 * The processes of the telemetry tests. `daemon` serves the object `svc` on 127.0.0.1 (port
 * 0), prints `{"uri": ...}` and runs until its stdin closes (a clean exit flushes telemetry).
 * `client <A> <B> <PYRONAME of A> [<python relay>]` runs the fixed scenario against daemon A
 * (whose `hop` calls daemon B; its process also runs a Name Server), prints what it saw as one
 * JSON line, and exits. `evict <A>` connects twice in turn (for a daemon run with
 * `PEER_MAX_CONNECTIONS=1`). `gateway <ns host:port>` runs an HTTP gateway like `daemon` runs.
 */

import { Daemon } from "../daemon.ts";
import { currentContext } from "../context.ts";
import { expose, oneway } from "../expose.ts";
import { log } from "../log.ts";
import { startNameServer } from "../naming.ts";
import { startGateway } from "../gateway.ts";
import { createBatch, createProxy, type Proxy } from "../proxy.ts";

const text = new TextDecoder();

/** What `svc` offers. */
export interface Svc {
  echo(x: unknown): unknown;
  fail(): never;
  annotationKeys(): string[];
  hop(uri: string, x: unknown): unknown;
  relay(pyUri: string, backUri: string, x: string): Record<string, unknown>;
  count(n: number): Generator<number>;
  logged(x: string): string;
  fire(x: unknown): void;
  dropOnce(): string;
}

async function daemon(): Promise<void> {
  const max = Deno.env.get("PEER_MAX_CONNECTIONS");
  const d = new Daemon({
    host: "127.0.0.1",
    port: 0,
    ...(max === undefined ? {} : { maxConnections: Number(max) }),
  });
  let dropped = false;
  const svc = expose({
    echo: (x: unknown) => x,
    fail(): never {
      throw new RangeError("invalid value: 42");
    },
    annotationKeys: () => [...(currentContext()?.annotations.keys() ?? [])],
    async hop(uri: string, x: unknown) {
      await using p = createProxy<Svc>(uri);
      return await p.echo(x);
    },
    async relay(pyUri: string, backUri: string, x: string) {
      await using p = createProxy<{ relay(uri: string, x: string): Record<string, unknown> }>(
        pyUri,
        {
          serializer: "serpent",
        },
      );
      return await p.relay(backUri, x);
    },
    *count(n: number) {
      for (let i = 0; i < n; i++) yield i;
    },
    logged(x: string) {
      log.warn(`svc: logged ${x}`);
      return x;
    },
    fire: oneway((_x: unknown) => {}),
    dropOnce() {
      if (!dropped) {
        dropped = true;
        currentContext()?.connection.close();
      }
      return "answered";
    },
  });
  const uri = d.register(svc, "svc");
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
  await ns.nameServer.register("example.svc", String(uri));
  console.log(JSON.stringify({ uri: String(uri), ns: `${ns.uri.host}:${ns.uri.port}` }));
  for await (const _ of Deno.stdin.readable) {
    // runs until stdin closes
  }
  await d.close();
}

async function client(
  a: string,
  b: string,
  byName: string,
  py: string | undefined,
): Promise<void> {
  const out: Record<string, unknown> = {};
  await using p: Proxy<Svc> = createProxy<Svc>(a);
  await using named: Proxy<Svc> = createProxy<Svc>(byName);
  out.byName = await named.echo("by name");
  for (let i = 0; i < 3; i++) await p.echo(`hi ${i}`);
  const reply = new Map<string, Uint8Array>();
  await p._pyroCall("echo", ["annotated"], { responseAnnotations: reply });
  const w3tc = reply.get("W3TC");
  out.replyW3TC = w3tc === undefined ? null : text.decode(w3tc);
  try {
    await p.fail();
  } catch (e) {
    out.failed = (e as Error).name;
  }
  out.hop = await p.hop(b, "two hops");
  const items: number[] = [];
  for await (const item of await p.count(3)) items.push(item);
  out.items = items;
  out.annotationKeys = await p.annotationKeys();
  out.logged = await p.logged("a line");
  await p.fire(1);
  const batch = createBatch(p);
  batch.echo("b1");
  batch.echo("b2");
  out.batch = await batch._pyroRun();
  await using retrying = createProxy<Svc>(a, { maxRetries: 1 });
  out.retried = await retrying.dropOnce();
  if (py !== undefined) out.python = await p.relay(py, b, "via python");
  console.log(JSON.stringify(out));
}

/** Two proxies in turn against a daemon that takes one connection: the first is evicted. */
async function evict(a: string): Promise<void> {
  await using first = createProxy<Svc>(a);
  await first.echo(1);
  await using second = createProxy<Svc>(a);
  await second.echo(2);
  console.log(JSON.stringify({ evicted: true }));
}

/** An HTTP gateway to the given Name Server, exposing everything, until stdin closes. */
async function gateway(ns: string): Promise<void> {
  await using gw = await startGateway({ host: "127.0.0.1", port: 0, ns, expose: "" });
  console.log(JSON.stringify({ uri: gw.url }));
  for await (const _ of Deno.stdin.readable) {
    // runs until stdin closes
  }
}

if (import.meta.main) {
  const [mode, ...args] = Deno.args;
  if (mode === "daemon") await daemon();
  else if (mode === "evict") await evict(args[0]!);
  else if (mode === "gateway") await gateway(args[0]!);
  else if (mode === "client") await client(args[0]!, args[1]!, args[2]!, args[3]);
  else throw new TypeError(`unknown mode '${mode}'`);
}
