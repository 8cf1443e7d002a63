/**
 * Type-level checks of the proxy's public generic types. The `@ts-expect-error` lines must
 * stay errors; `deno check` (and `deno test`, which type-checks) fails if one stops being one.
 * Nothing here touches the network: the proxies are never called at run time.
 */

import assert from "node:assert/strict";
import type { URI } from "../uri.ts";
import {
  type Batch,
  createBatch,
  createProxy,
  kwargs,
  type Proxy,
  type ProxyMetadata,
  type RemoteStream,
  type UntypedMethods,
} from "../proxy.ts";

interface Thing {
  echo(x: string): string;
  add(a: number, b: number): number;
  optional(a: number, b?: string): boolean;
  fetch(): Promise<{ id: number }>;
  gen(n: number): Generator<number>;
  agen(): AsyncGenerator<string>;
  list(): number[];
  other(): Proxy;
  typedOther(): Proxy<{ add(a: number, b: number): number }>;
  value: number;
  readonly label: string;
  _private(): void;
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
function expectType<T extends true>(_ok: T): void {}

// Never called: only type-checked.
function typeChecks(p: Proxy<Thing>, d: Proxy, u: Proxy<UntypedMethods<"echo" | "ping">>) {
  // Methods become async with the same parameters.
  expectType<Equal<ReturnType<typeof p.echo>, Promise<string>>>(true);
  expectType<Equal<ReturnType<typeof p.add>, Promise<number>>>(true);
  expectType<Equal<ReturnType<typeof p.fetch>, Promise<{ id: number }>>>(true);
  expectType<Equal<ReturnType<typeof p.list>, Promise<number[]>>>(true);
  // Proxies (autoproxy results) stay proxies, typed or not.
  expectType<Equal<ReturnType<typeof p.other>, Promise<Proxy>>>(true);
  expectType<
    Equal<ReturnType<typeof p.typedOther>, Promise<Proxy<{ add(a: number, b: number): number }>>>
  >(true);
  // Generators and async iterables become streams.
  expectType<Equal<ReturnType<typeof p.gen>, Promise<RemoteStream<number>>>>(true);
  expectType<Equal<ReturnType<typeof p.agen>, Promise<RemoteStream<string>>>>(true);

  void p.echo("x");
  void p.add(1, 2);
  void p.optional(1);
  void p.optional(1, "b");
  void p.add(1, 2, kwargs({ c: 3 })); // a trailing kwargs marker is allowed
  void p.optional(1, kwargs({ b: "by name" })); // also after fewer optional arguments
  void p.optional(1, "b", kwargs({}));
  void d.anything?.(1, kwargs({ x: 1 }));
  // @ts-expect-error required arguments come before the kwargs marker
  void p.add(1, kwargs({ b: 2 }));
  // @ts-expect-error the kwargs marker is last
  void p.optional(1, kwargs({}), "b");

  // @ts-expect-error wrong argument type
  void p.echo(1);
  // @ts-expect-error missing argument
  void p.add(1);
  // @ts-expect-error too many arguments
  void p.echo("a", "b");
  // @ts-expect-error unknown method name
  void p.nosuch();
  // @ts-expect-error private names are never remote
  void p._private();
  // @ts-expect-error attributes are not methods; use _pyroGet
  void p.value();

  // Attributes through _pyroGet / _pyroSet, typed by name.
  expectType<Equal<ReturnType<typeof p._pyroGet<"value">>, Promise<number>>>(true);
  void p._pyroSet("value", 3);
  // @ts-expect-error wrong attribute value type
  void p._pyroSet("value", "three");
  // @ts-expect-error not an attribute
  void p._pyroGet("echo");

  // Controls.
  const uri: URI = p._pyroUri;
  const meta: ProxyMetadata | null = p._pyroMetadata;
  const timeout: number = p._pyroTimeout;
  p._pyroTimeout = 1000;
  p._pyroMaxRetries = 2;
  p._pyroSerializer = "json";
  // @ts-expect-error _pyroUri is read-only
  p._pyroUri = uri;
  const view: Proxy<Thing> = p._pyroWith({ timeout: 10, oneway: false });
  void view.echo("through a view");
  // @ts-expect-error unknown call option
  p._pyroWith({ nosuch: 1 });
  const raw: Promise<unknown> = p._pyroCall("anything", [1, 2], { kwargs: null });
  const disposed: Promise<void> = p[Symbol.asyncDispose]();

  // Batches record calls with the same argument types.
  const b: Batch<Thing> = createBatch(p);
  const index: number = b.add(1, 2);
  // @ts-expect-error wrong argument type in a batch
  b.add("1", 2);
  const run: Promise<unknown[]> = b._pyroRun();

  // A proxy without a type accepts any method and arguments.
  const dyn = d.whatever;
  void dyn?.(1, "two", { three: 3 });
  // Listed untyped names are callable without optional chaining.
  const ping: Promise<unknown> = u.ping(1, 2, 3);
  // @ts-expect-error a name not in the list
  void u.pong();

  return [meta, timeout, raw, disposed, index, run, ping];
}

Deno.test("Proxy types map methods to async functions and keep their parameter types", () => {
  assert.equal(typeof typeChecks, "function");
  const p = createProxy<Thing>("PYRO:thing@127.0.0.1:9");
  assert.equal(typeof p.echo, "function");
  assert.equal(p._pyroTimeout, 0);
});
