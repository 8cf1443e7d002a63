/**
 * Stands in for `_wire/transport.ts` in the browser build: a browser opens no TCP
 * connections, so a proxy without the `via` option fails with a clear error.
 *
 * @example
 * ```ts
 * import { connectTransport } from "./transport.ts";
 * import { URI } from "../uri.ts";
 * await connectTransport(new URI("PYRO:thing@127.0.0.1:9999")).catch((e) => console.log(e.message));
 * ```
 *
 * @module
 */

import { CommunicationError } from "../errors.ts";
import type { ByteStream } from "../_wire/connection.ts";
import type { URI } from "../uri.ts";

/** TLS settings: none in the browser (the page's `wss:` URL gives TLS). */
export type TransportTlsOptions = never;

/** The options `_wire/transport.ts` takes; ignored. */
export interface TransportOptions {
  /** Ignored. */
  timeout?: number;
  /** Ignored. */
  signal?: AbortSignal | undefined;
  /** Ignored. */
  tls?: unknown;
}

/**
 * Always fails: in the browser a proxy reaches objects through a gateway (`via`).
 *
 * @example
 * ```ts
 * import { connectTransport } from "./transport.ts";
 * import { URI } from "../uri.ts";
 * await connectTransport(new URI("PYRO:thing@127.0.0.1:9999"))
 *   .catch((e) => console.log(e.name)); // CommunicationError
 * ```
 *
 * @param uri The URI a proxy was made for.
 * @param _options Ignored.
 * @throws {CommunicationError} Always.
 */
export function connectTransport(uri: URI, _options?: TransportOptions): Promise<ByteStream> {
  return Promise.reject(
    new CommunicationError(
      `Cannot connect to ${uri}: a browser proxy connects through a gateway; give it the 'via' option`,
    ),
  );
}
