/**
 * Item streams of a daemon: iterator, generator and async generator results, consumed with
 * `Pyro.Daemon.get_next_stream_item`, closed early, failing, expiring after their lifetime,
 * lingering after their client left, and re-attached from another connection.
 */

import assert from "node:assert/strict";
import { Daemon, type DaemonOptions } from "../daemon.ts";
import { PyroError, type RemoteError } from "../errors.ts";
import { expose } from "../expose.ts";
import { Flags } from "../_wire/protocol.ts";
import { deferred, RawClient } from "./_raw_client.ts";

class Streams {
  events: string[] = [];
  closed = deferred();

  @expose
  *count(n: number): Generator<number> {
    try {
      for (let i = 0; i < n; i++) yield i;
    } finally {
      this.events.push("count closed");
      this.closed.resolve();
    }
  }

  @expose
  async *acount(n: number): AsyncGenerator<number> {
    for (let i = 0; i < n; i++) yield i;
  }

  @expose
  badStream(): Generator<number> {
    return (function* () {
      yield 1;
      throw new TypeError("stream broke");
    })();
  }

  @expose
  echo(x: unknown): unknown {
    return x;
  }

  @expose
  get numbers(): Iterator<number> {
    return [7, 8].values();
  }
}

function startDaemon(options: DaemonOptions = {}): Daemon {
  return new Daemon({ host: "127.0.0.1", port: 0, ...options });
}

async function openStream(client: RawClient, method: string, params: unknown[]): Promise<string> {
  const { msg, value } = await client.call("thing", method, params);
  assert.equal(msg.flags & (Flags.EXCEPTION | Flags.ITEMSTREAMRESULT), 0x11);
  assert.equal((value as Error).message, "result of call is an iterator");
  return new TextDecoder().decode(msg.annotations.get("STRM"));
}

Deno.test("Daemon streams a generator's items and ends with StopIteration", async () => {
  await using daemon = startDaemon();
  const service = new Streams();
  daemon.register(service, "thing");
  using client = await RawClient.connected(daemon.addr);
  for (const method of ["count", "acount"]) {
    const id = await openStream(client, method, [2]);
    assert.equal(id.length, 36);
    const items = [];
    for (;;) {
      const { msg, value } = await client.call("Pyro.Daemon", "get_next_stream_item", [id]);
      if (msg.flags & Flags.EXCEPTION) {
        assert.equal((value as RemoteError).remoteClass, "builtins.StopIteration");
        assert.deepEqual((value as RemoteError).args, []);
        break;
      }
      items.push(value);
    }
    assert.deepEqual(items, [0, 1]);
    const gone = await client.call("Pyro.Daemon", "get_next_stream_item", [id]);
    assert.ok(gone.value instanceof PyroError);
    assert.equal(gone.value.message, "item stream terminated");
  }
  assert.deepEqual(service.events, ["count closed"]);
});

Deno.test("Daemon closes a stream early on close_stream and refuses unknown stream ids", async () => {
  await using daemon = startDaemon();
  const service = new Streams();
  daemon.register(service, "thing");
  using client = await RawClient.connected(daemon.addr);
  const id = await openStream(client, "count", [10]);
  assert.equal((await client.call("Pyro.Daemon", "get_next_stream_item", [id])).value, 0);
  await client.send("Pyro.Daemon", "close_stream", [id], {}, { flags: Flags.ONEWAY });
  const after = await client.call("Pyro.Daemon", "get_next_stream_item", [id]);
  assert.equal((after.value as Error).message, "item stream terminated");
  assert.deepEqual(service.events, ["count closed"]);
  const unknown = await client.call("Pyro.Daemon", "get_next_stream_item", ["no-such-stream"]);
  assert.equal((unknown.value as Error).message, "item stream terminated");
  assert.equal((await client.call("Pyro.Daemon", "close_stream", ["no-such-stream"])).value, null);
  const broken = await openStream(client, "badStream", []);
  assert.equal((await client.call("Pyro.Daemon", "get_next_stream_item", [broken])).value, 1);
  const failure = await client.call("Pyro.Daemon", "get_next_stream_item", [broken]);
  assert.equal((failure.value as RemoteError).remoteClass, "builtins.TypeError");
  const ended = await client.call("Pyro.Daemon", "get_next_stream_item", [broken]);
  assert.equal((ended.value as Error).message, "item stream terminated");
});

Deno.test("Daemon without item streaming answers iterators with the marker but no stream id", async () => {
  await using daemon = startDaemon({ iterStreaming: false });
  daemon.register(new Streams(), "thing");
  using client = await RawClient.connected(daemon.addr);
  const { msg } = await client.call("thing", "count", [3]);
  assert.equal(msg.flags & 0x11, 0x11);
  assert.equal(msg.annotations.has("STRM"), false);
});

Deno.test("Daemon streams an iterator returned by a remote attribute", async () => {
  await using daemon = startDaemon();
  daemon.register(new Streams(), "thing");
  using client = await RawClient.connected(daemon.addr);
  const { msg } = await client.call("thing", "__getattr__", ["numbers"], null);
  assert.equal(msg.flags & 0x11, 0x11);
  const id = new TextDecoder().decode(msg.annotations.get("STRM"));
  assert.equal((await client.call("Pyro.Daemon", "get_next_stream_item", [id])).value, 7);
});

Deno.test("Daemon drops a stream after its lifetime and lets the iterator clean up", async () => {
  await using daemon = startDaemon({ iterStreamLifetime: 300 });
  const service = new Streams();
  daemon.register(service, "thing");
  using client = await RawClient.connected(daemon.addr);
  const id = await openStream(client, "count", [100]);
  // A generator that has not started has no cleanup to run, so start it.
  assert.equal((await client.call("Pyro.Daemon", "get_next_stream_item", [id])).value, 0);
  await service.closed.promise;
  const after = await client.call("Pyro.Daemon", "get_next_stream_item", [id]);
  assert.ok(after.value instanceof PyroError);
  assert.equal(after.value.message, "item stream terminated");
});

Deno.test("Daemon drops a client's streams at once when the linger time is 0", async () => {
  await using daemon = startDaemon({ iterStreamLinger: 0 });
  const service = new Streams();
  daemon.register(service, "thing");
  const first = await RawClient.connected(daemon.addr);
  const id = await openStream(first, "count", [100]);
  assert.equal((await first.call("Pyro.Daemon", "get_next_stream_item", [id])).value, 0);
  first.close();
  await service.closed.promise;
  using second = await RawClient.connected(daemon.addr);
  const after = await second.call("Pyro.Daemon", "get_next_stream_item", [id]);
  assert.equal((after.value as Error).message, "item stream terminated");
});

Deno.test("Daemon keeps a stream for a reconnecting client during the linger time", async () => {
  await using daemon = startDaemon({ iterStreamLinger: 60_000 });
  const service = new Streams();
  daemon.register(service, "thing");
  const first = await RawClient.connected(daemon.addr);
  const id = await openStream(first, "count", [3]);
  assert.equal((await first.call("Pyro.Daemon", "get_next_stream_item", [id])).value, 0);
  first.close();
  using second = await RawClient.connected(daemon.addr);
  assert.equal((await second.call("Pyro.Daemon", "get_next_stream_item", [id])).value, 1);
});

Deno.test("Daemon expires a lingering stream after the linger time", async () => {
  await using daemon = startDaemon({ iterStreamLinger: 5 });
  const service = new Streams();
  daemon.register(service, "thing");
  const first = await RawClient.connected(daemon.addr);
  const id = await openStream(first, "count", [100]);
  assert.equal((await first.call("Pyro.Daemon", "get_next_stream_item", [id])).value, 0);
  first.close();
  await service.closed.promise;
  using second = await RawClient.connected(daemon.addr);
  const after = await second.call("Pyro.Daemon", "get_next_stream_item", [id]);
  assert.equal((after.value as Error).message, "item stream terminated");
});

Deno.test("Daemon close() closes open streams and cancels their timers", async () => {
  const daemon = startDaemon({ iterStreamLifetime: 60_000, iterStreamLinger: 60_000 });
  const service = new Streams();
  daemon.register(service, "thing");
  using client = await RawClient.connected(daemon.addr);
  const id = await openStream(client, "count", [100]);
  assert.equal((await client.call("Pyro.Daemon", "get_next_stream_item", [id])).value, 0);
  await daemon.close();
  await service.closed.promise;
  assert.deepEqual(service.events, ["count closed"]);
});
