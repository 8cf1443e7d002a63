import assert from "node:assert/strict";
import { decodeTraceContext, encodeTraceContext } from "./trace_context.ts";
import { createTraceState } from "npm:@opentelemetry/api@1.9.0";
import { TELEMETRY } from "./api.ts";
import { locationAttributes } from "./attributes.ts";

const enc = new TextEncoder();
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

Deno.test("W3TC round-trips a span context with its tracestate", () => {
  const bytes = encodeTraceContext({
    traceId: TRACE,
    spanId: SPAN,
    traceFlags: 1,
    traceState: createTraceState("vendor=abc,other=1"),
  });
  assert.equal(new TextDecoder().decode(bytes), `00-${TRACE}-${SPAN}-01\nvendor=abc,other=1`);
  const sc = decodeTraceContext(bytes)!;
  assert.deepEqual([sc.traceId, sc.spanId, sc.traceFlags, sc.isRemote], [TRACE, SPAN, 1, true]);
  // The trace state is read only with telemetry on (it parents the server span; the library
  // does not load the OpenTelemetry API without a registered provider).
  assert.equal(sc.traceState?.get("vendor"), TELEMETRY ? "abc" : undefined);
});

Deno.test("W3TC values that are not a valid traceparent are ignored", () => {
  const bad = [
    "",
    "garbage",
    `00-${TRACE}-${SPAN}`,
    `00-${"0".repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${"0".repeat(16)}-01`,
    `ff-${TRACE}-${SPAN}-01`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01-extra`,
    `00-${TRACE}-${SPAN}-01\n${"x".repeat(2000)}`,
  ];
  for (const text of bad) assert.equal(decodeTraceContext(enc.encode(text)), null, text);
  assert.equal(decodeTraceContext(new Uint8Array(60).fill(0xff)), null);
});

Deno.test("W3TC accepts a later traceparent version with more fields", () => {
  const sc = decodeTraceContext(enc.encode(`01-${TRACE}-${SPAN}-00-more`));
  assert.equal(sc?.traceFlags, 0);
});

Deno.test("Locations become OpenTelemetry network attributes", () => {
  assert.deepEqual(locationAttributes("127.0.0.1:9090", "server"), {
    "server.address": "127.0.0.1",
    "server.port": 9090,
    "network.transport": "tcp",
  });
  assert.deepEqual(locationAttributes("[::1]:50000", "peer"), {
    "network.peer.address": "::1",
    "network.peer.port": 50000,
    "network.transport": "tcp",
  });
  assert.deepEqual(locationAttributes("./u:/tmp/pyro.sock", "server"), {
    "server.address": "/tmp/pyro.sock",
    "network.transport": "unix",
  });
  assert.deepEqual(locationAttributes(null, "server"), {});
});
