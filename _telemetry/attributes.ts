/**
 * Span attributes shared by the client and server sides: OpenTelemetry's RPC semantic
 * conventions (`rpc.system` = `pyro`, `rpc.service` = the object id, `rpc.method`), the
 * network attributes parsed from a Pyro location or peer address, and the Pyro class name of
 * an error.
 *
 * @example
 * ```ts
 * import { locationAttributes } from "./attributes.ts";
 * console.log(locationAttributes("[::1]:9090", "server"));
 * // { "server.address": "::1", "server.port": 9090, "network.transport": "tcp" }
 * ```
 *
 * @module
 */

import type { Attributes } from "./api.ts";
import { errorToDict, RemoteError } from "../errors.ts";

/** `rpc.system` of every Pyro span and metric. */
export const RPC_SYSTEM = "pyro";

/**
 * The RPC attributes of a call.
 *
 * @param service The object id.
 * @param method The method name.
 * @returns `rpc.system`, `rpc.service`, `rpc.method`.
 */
export function rpcAttributes(service: string, method: string): Attributes {
  return { "rpc.system": RPC_SYSTEM, "rpc.service": service, "rpc.method": method };
}

/**
 * Network attributes of a Pyro location (`host:port`, `[ipv6]:port`, `./u:path` or a socket
 * path), as `server.*` (the daemon a client calls) or `network.peer.*` (a daemon's client).
 *
 * @param location The location, or null when unknown.
 * @param as Which attributes to fill.
 * @returns The attributes (empty for null).
 */
export function locationAttributes(location: string | null, as: "server" | "peer"): Attributes {
  if (location === null || location === "") return {};
  const address = as === "server" ? "server.address" : "network.peer.address";
  const port = as === "server" ? "server.port" : "network.peer.port";
  if (location.startsWith("./u:") || location.startsWith("/")) {
    const path = location.startsWith("./u:") ? location.slice(4) : location;
    return { [address]: path, "network.transport": "unix" };
  }
  const colon = location.lastIndexOf(":");
  if (colon < 0) return { [address]: location, "network.transport": "tcp" };
  let host = location.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const n = Number(location.slice(colon + 1));
  return Number.isInteger(n)
    ? { [address]: host, [port]: n, "network.transport": "tcp" }
    : { [address]: location, "network.transport": "tcp" };
}

/**
 * The Pyro class name of an error, as it travels (`builtins.ValueError`,
 * `Pyro5.errors.NamingError`, ...).
 *
 * @param error The thrown value.
 * @returns The class name.
 */
export function errorClass(error: unknown): string {
  if (error instanceof RemoteError) return error.remoteClass;
  try {
    return errorToDict(error, false).__class__;
  } catch {
    return "builtins.Exception";
  }
}

/**
 * True for an error that a peer sent (a remote exception), false for a local failure.
 *
 * @param error The thrown value.
 * @returns Whether it came from the peer.
 */
export function isRemoteError(error: unknown): boolean {
  return error instanceof RemoteError ||
    (error instanceof Error && Object.hasOwn(error, "remoteAttributes"));
}
