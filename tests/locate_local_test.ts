/**
 * Pyro5's 127.0.1.1 candidate in locateNS and IPv6 discovery. IPv6 is tested on [::1] only
 * (unicast to the loopback address): this machine's loopback interface has no multicast, so a
 * scoped group such as `ff01::1%lo` goes through the same code path but is not exercised here.
 */

import assert from "node:assert/strict";
import { config } from "../config.ts";
import { locateNS } from "../locate.ts";
import { startNameServer } from "../naming.ts";
import {
  broadcastTargets,
  discoverNameServer,
  loopbackCandidates,
  startBroadcastResponder,
} from "../_naming/broadcast.ts";

Deno.test("127.0.1.1 is a candidate when the hosts file maps it, as in Pyro5", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const withEntry = `${dir}/hosts1`;
    const without = `${dir}/hosts2`;
    await Deno.writeTextFile(withEntry, "127.0.0.1 localhost\n127.0.1.1 myhost\n");
    await Deno.writeTextFile(without, "127.0.0.1 localhost\n# 127.0.1.1 commented\n");
    assert.deepEqual(loopbackCandidates("localhost", withEntry), ["localhost", "127.0.1.1"]);
    assert.deepEqual(loopbackCandidates("127.0.0.1", withEntry), ["127.0.0.1", "127.0.1.1"]);
    assert.deepEqual(loopbackCandidates("127.0.1.1", withEntry), ["127.0.1.1"]);
    assert.deepEqual(loopbackCandidates("localhost", without), ["localhost"]);
    assert.deepEqual(loopbackCandidates("::1", withEntry), ["::1"]);
    assert.deepEqual(loopbackCandidates("ns.example", withEntry), []);
    assert.deepEqual(loopbackCandidates("localhost", `${dir}/missing`), ["localhost"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("IPv6 preference keeps only the IPv6 broadcast destinations", () => {
  assert.deepEqual(broadcastTargets(["<broadcast>", "0.0.0.0"], 0), ["<broadcast>", "0.0.0.0"]);
  assert.deepEqual(broadcastTargets(["<broadcast>", "0.0.0.0"], 6), []);
  assert.deepEqual(broadcastTargets(["127.255.255.255", "::1", "ff01::1%lo"], 6), [
    "::1",
    "ff01::1%lo",
  ]);
});

Deno.test("Discovery asks over IPv6 and IPv4 at once and takes the answer from [::1]", async () => {
  await using responder = await startBroadcastResponder("PYRO:Pyro.NameServer@[::1]:9090", {
    hostname: "::1",
    port: 0,
  });
  const found = await discoverNameServer({
    addresses: ["127.255.255.255", "::1"],
    port: responder.port,
    timeout: 5000,
    rounds: 1,
  });
  assert.equal(found, "PYRO:Pyro.NameServer@[::1]:9090");
});

Deno.test("locateNS with PREFER_IP_VERSION 6 finds a name server by discovery on [::1]", async () => {
  await using server = await startNameServer({
    host: "::1",
    port: 0,
    bcHost: "::1",
    bcPort: 0,
  });
  const before = config.PREFER_IP_VERSION;
  config.PREFER_IP_VERSION = 6;
  try {
    await using ns = await locateNS(undefined, server.broadcast!.port, {
      nsHost: "::1", // tried first on a closed port, then discovery
      nsPort: 1,
      broadcastAddrs: ["127.255.255.255", "::1"],
      broadcastTimeout: 5000,
    });
    assert.equal(await ns.count(), 1);
    assert.equal(ns._pyroUri.host, "::1");
  } finally {
    config.PREFER_IP_VERSION = before;
  }
});
