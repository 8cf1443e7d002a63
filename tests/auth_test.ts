/** Shared-secret authentication through the handshake. */

import assert from "node:assert/strict";
import {
  FailureThrottle,
  secretsEqual,
  sharedSecretHandshake,
  sharedSecretProxyOptions,
} from "../auth.ts";
import { Daemon } from "../daemon.ts";
import { CommunicationError } from "../errors.ts";
import { expose } from "../expose.ts";
import { setLogSink } from "../log.ts";
import { MessageType } from "../_wire/protocol.ts";
import { createProxy, type UntypedMethods } from "../proxy.ts";
import { RawClient } from "./_raw_client.ts";

function captureLog(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const previous = setLogSink((level, message) => lines.push(`${level} ${message}`));
  return { lines, restore: () => setLogSink(previous) };
}

function serve(secret: string, baseDelay = 1) {
  const daemon = new Daemon({
    host: "127.0.0.1",
    port: 0,
    validateHandshake: sharedSecretHandshake(secret, { baseDelay, maxDelay: 8, reply: "welcome" }),
  });
  const uri = daemon.register(expose({ hello: () => "hi" }), "greeter");
  return { daemon, uri };
}

Deno.test("A client with the shared secret connects and calls", async () => {
  const { daemon, uri } = serve("s3cret");
  const proxy = createProxy<UntypedMethods<"hello">>(uri, sharedSecretProxyOptions("s3cret"));
  assert.equal(await proxy.hello(), "hi");
  assert.equal(proxy._pyroHandshake, "s3cret");
  await proxy._pyroRelease();
  await daemon.close();
});

Deno.test("A wrong secret gets CONNECTFAIL and the daemon closes the connection", async () => {
  const log = captureLog();
  const { daemon, uri } = serve("s3cret");
  try {
    for (const wrong of ["s3cres", "", "s3cret ", 42, null, { secret: "s3cret" }]) {
      const proxy = createProxy<UntypedMethods<"hello">>(uri, { handshake: wrong });
      await assert.rejects(proxy.hello(), (e: Error) => {
        assert.ok(e instanceof CommunicationError, String(e));
        assert.match(e.message, /authentication failed/);
        return true;
      });
      await proxy._pyroRelease();
    }
    // On the wire: CONNECTFAIL, then end of stream.
    const raw = await RawClient.open(daemon.addr);
    const reply = await raw.handshake("greeter", "nope");
    assert.equal(reply?.msg.type, MessageType.CONNECTFAIL);
    assert.equal(reply?.value, "authentication failed");
    assert.equal(await raw.conn.receive(), null);
    raw.close();
  } finally {
    await daemon.close();
    log.restore();
  }
});

Deno.test("Repeated failures from one address are answered ever more slowly", async () => {
  const log = captureLog();
  const { daemon, uri } = serve("s3cret");
  try {
    for (let i = 0; i < 5; i++) {
      const proxy = createProxy<UntypedMethods<"hello">>(uri, { handshake: "guess" + i });
      await assert.rejects(proxy.hello(), CommunicationError);
      await proxy._pyroRelease();
    }
    const delays = log.lines
      .filter((l) => l.includes("auth: handshake"))
      .map((l) => Number(/after (\d+) ms/.exec(l)?.[1]));
    assert.deepEqual(delays, [1, 2, 4, 8, 8]);
    // A success clears the address's record.
    const good = createProxy<UntypedMethods<"hello">>(uri, sharedSecretProxyOptions("s3cret"));
    assert.equal(await good.hello(), "hi");
    await good._pyroRelease();
    const bad = createProxy<UntypedMethods<"hello">>(uri, { handshake: "again" });
    await assert.rejects(bad.hello(), CommunicationError);
    await bad._pyroRelease();
    assert.match(log.lines.at(-1) ?? "", /failure 1 from 127\.0\.0\.1, answering after 1 ms/);
  } finally {
    await daemon.close();
    log.restore();
  }
});

Deno.test("The failure table stays within its size, dropping the oldest addresses", () => {
  const throttle = new FailureThrottle({ baseDelay: 10, maxDelay: 50, maxAddresses: 3 });
  for (let i = 0; i < 1000; i++) throttle.fail(`10.0.${i >> 8}.${i & 255}`);
  assert.equal(throttle.size, 3);
  assert.equal(throttle.failures("10.0.0.0"), 0);
  assert.equal(throttle.failures("10.0.3.231"), 1);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => throttle.fail("x")), [10, 20, 40, 50, 50]);
});

Deno.test("Secrets compare equal only when identical, strings and bytes alike", () => {
  assert.equal(secretsEqual("abc", "abc"), true);
  assert.equal(secretsEqual("abc", "abcd"), false);
  assert.equal(secretsEqual("", ""), true);
  assert.equal(secretsEqual(new TextEncoder().encode("abc"), "abc"), true);
  assert.equal(secretsEqual("x".repeat(10_000), "x".repeat(9_999) + "y"), false);
});
