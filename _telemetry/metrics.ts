/**
 * The library's metrics, exported through the same OpenTelemetry pipeline as its spans:
 *
 * | name | kind | attributes |
 * | --- | --- | --- |
 * | `rpc.client.duration`, `rpc.server.duration` | histogram, ms | `rpc.system`, `rpc.service` (object id), `rpc.method`, `error.type` on failure |
 * | `pyro.client.calls`, `pyro.server.calls` | counter | `rpc.service`, `rpc.method` |
 * | `pyro.client.errors`, `pyro.server.errors` | counter | `rpc.service`, `rpc.method`, `error.type` |
 * | `pyro.server.calls_in_flight` | up-down counter | |
 * | `pyro.server.connections` | up-down counter (open connections) | |
 * | `pyro.server.connections.refused`, `pyro.server.connections.evicted` | counter | |
 * | `pyro.server.streams` | up-down counter (open item streams) | |
 * | `pyro.ns.names` | observable gauge (registered names) | |
 * | `pyro.ns.lookups` | counter | `pyro.ns.operation`, `pyro.ns.found` |
 *
 * Instruments exist only when telemetry is on; every function here is then called behind the
 * `TELEMETRY` test.
 *
 * @example
 * ```ts
 * import { recordCall } from "./metrics.ts";
 * recordCall("client", { "rpc.system": "pyro", "rpc.service": "echo", "rpc.method": "echo" }, 1.5, null);
 * ```
 *
 * @module
 */

import { type Attributes, meter, TELEMETRY } from "./api.ts";

function instruments() {
  return {
    clientDuration: meter.createHistogram("rpc.client.duration", {
      description: "Duration of outgoing Pyro calls",
      unit: "ms",
    }),
    serverDuration: meter.createHistogram("rpc.server.duration", {
      description: "Duration of Pyro calls served",
      unit: "ms",
    }),
    clientCalls: meter.createCounter("pyro.client.calls", { description: "Outgoing Pyro calls" }),
    serverCalls: meter.createCounter("pyro.server.calls", { description: "Pyro calls served" }),
    clientErrors: meter.createCounter("pyro.client.errors", {
      description: "Outgoing Pyro calls that failed",
    }),
    serverErrors: meter.createCounter("pyro.server.errors", {
      description: "Pyro calls served that failed",
    }),
    inFlight: meter.createUpDownCounter("pyro.server.calls_in_flight", {
      description: "Calls a daemon is running",
    }),
    connections: meter.createUpDownCounter("pyro.server.connections", {
      description: "Open client connections of daemons",
    }),
    refused: meter.createCounter("pyro.server.connections.refused", {
      description: "Client connections a daemon refused",
    }),
    evicted: meter.createCounter("pyro.server.connections.evicted", {
      description: "Client connections a daemon closed to make room",
    }),
    streams: meter.createUpDownCounter("pyro.server.streams", {
      description: "Open item streams of daemons",
    }),
    nsLookups: meter.createCounter("pyro.ns.lookups", {
      description: "Name Server lookups",
    }),
  };
}

const m = TELEMETRY ? instruments() : null;

/** The side of a call. */
export type Side = "client" | "server";

/**
 * Records one finished call: its count, its duration, and its error type when it failed.
 *
 * @param side Client or server.
 * @param attrs `rpc.system`, `rpc.service` and `rpc.method`.
 * @param ms The duration in milliseconds.
 * @param errorType The error class, or null for success.
 */
export function recordCall(
  side: Side,
  attrs: Attributes,
  ms: number,
  errorType: string | null,
): void {
  if (m === null) return;
  const client = side === "client";
  (client ? m.clientCalls : m.serverCalls).add(1, attrs);
  if (errorType === null) {
    (client ? m.clientDuration : m.serverDuration).record(ms, attrs);
    return;
  }
  const withError = { ...attrs, "error.type": errorType };
  (client ? m.clientErrors : m.serverErrors).add(1, withError);
  (client ? m.clientDuration : m.serverDuration).record(ms, withError);
}

/**
 * Counts a call a daemon starts (+1) or finishes (-1).
 *
 * @param delta +1 or -1.
 */
export function callsInFlight(delta: number): void {
  m?.inFlight.add(delta);
}

/** What happened to a daemon's client connection. */
export type ConnectionEvent = "opened" | "closed" | "refused" | "evicted";

/**
 * Counts a connection event of a daemon.
 *
 * @param event What happened.
 * @param count How many connections (evictions come in batches).
 */
export function connectionEvent(event: ConnectionEvent, count = 1): void {
  if (m === null) return;
  switch (event) {
    case "opened":
      m.connections.add(1);
      break;
    case "closed":
      m.connections.add(-1);
      break;
    case "refused":
      m.refused.add(1);
      break;
    case "evicted":
      if (count > 0) m.evicted.add(count);
      break;
  }
}

/**
 * Counts an item stream a daemon opens (+1) or drops (-1).
 *
 * @param delta +1 or -1.
 */
export function streamsOpen(delta: number): void {
  m?.streams.add(delta);
}

/**
 * Counts a Name Server lookup.
 *
 * @param operation `lookup`, `yplookup` or `list`.
 * @param found Whether anything was found.
 */
export function nsLookup(operation: string, found: boolean): void {
  m?.nsLookups.add(1, { "pyro.ns.operation": operation, "pyro.ns.found": found });
}

/**
 * Reports a Name Server's number of names as the gauge `pyro.ns.names`, read at each export,
 * until the returned function is called. A storage that answers asynchronously reports the
 * count it gave at the previous export.
 *
 * @param count Gives the current number of names.
 * @returns Stops reporting.
 */
export function observeNameCount(count: () => number | PromiseLike<number>): () => void {
  if (!TELEMETRY) return () => {};
  const gauge = meter.createObservableGauge("pyro.ns.names", {
    description: "Names registered in the Name Server",
  });
  let last: number | undefined;
  const callback = (result: { observe(value: number): void }) => {
    try {
      const n = count();
      if (typeof n === "number") last = n;
      else {
        Promise.resolve(n).then((value) => {
          last = value;
        }, () => {});
      }
    } catch {
      // a closed storage reports nothing new
    }
    if (last !== undefined) result.observe(last);
  };
  gauge.addCallback(callback);
  return () => gauge.removeCallback(callback);
}
