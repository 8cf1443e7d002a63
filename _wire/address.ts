/**
 * Network addresses as text: `host:port`, with an IPv6 host in brackets (`[::1]:9090`), and
 * the peer address of an accepted connection.
 *
 * @example
 * ```ts
 * import { hostPort } from "./address.ts";
 * console.log(hostPort("::1", 9090), hostPort("localhost", 9090)); // [::1]:9090 localhost:9090
 * ```
 *
 * @module
 */

/**
 * Formats a host and port as a location: an IPv6 host goes in brackets (unless it already is).
 *
 * @example
 * ```ts
 * import { hostPort } from "./address.ts";
 * console.log(hostPort("::1", 9090)); // [::1]:9090
 * console.log(hostPort("127.0.0.1", null)); // 127.0.0.1
 * ```
 *
 * @param host The host name or address.
 * @param port The port, or null for none.
 * @returns `host:port`, `[ipv6]:port`, or the host alone.
 */
export function hostPort(host: string, port: number | null): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return port === null ? h : `${h}:${port}`;
}

/**
 * The text of a socket address: `host:port` for TCP and UDP (as {@linkcode hostPort}), the
 * path for a Unix socket, null when there is none.
 *
 * @example
 * ```ts
 * import { addressText } from "./address.ts";
 * console.log(addressText({ transport: "tcp", hostname: "::1", port: 50123 })); // [::1]:50123
 * ```
 *
 * @param addr The address.
 * @returns Its text, or null.
 */
export function addressText(addr: Deno.Addr): string | null {
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return hostPort(addr.hostname, addr.port);
  }
  if (addr.transport === "unix" || addr.transport === "unixpacket") return addr.path || null;
  return null;
}
