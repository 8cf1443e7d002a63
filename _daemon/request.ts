/**
 * One request as a daemon serves it ({@linkcode DaemonRequest}): the received message, its
 * serializer, the connection it came in on, and the call context its method sees through
 * `currentContext()`. The connection handler makes one per CONNECT and INVOKE and hands it to
 * the dispatcher, which builds the reply from it.
 *
 * @module
 */

import type { CallContext, ConnectionInfo } from "../context.ts";
import { RANDOM_CORRELATION_ID, randomCorrelationIdShared } from "../_wire/correlation_id.ts";
import { correlationIdToString, type Message } from "../_wire/protocol.ts";
import type { Serializer } from "../serializer.ts";
import type { Session } from "./host.ts";

/**
 * One request and its call context. The correlation id (random when the request had none), its
 * text and the response annotations map are made only when asked for.
 *
 * @example Making the request of a received message
 * ```ts
 * import { DaemonRequest } from "./request.ts";
 * import { MessageType } from "../_wire/protocol.ts";
 * import { getSerializer } from "../serializer.ts";
 * import type { Session } from "./host.ts";
 *
 * const session = {
 *   info: { id: 1, remoteAddress: "127.0.0.1:50000", storage: new Map(), peerCertificate: null, close() {} },
 *   instances: new Map(),
 * } as unknown as Session;
 * const msg = {
 *   type: MessageType.INVOKE, serializerId: 4, flags: 0, seq: 7, correlationId: null,
 *   annotations: new Map(), data: new Uint8Array(0),
 * };
 * const request = new DaemonRequest(session, msg, getSerializer(4));
 * console.log(request.seq, request.clientAddress, request.correlationId.length); // 7 127.0.0.1:50000 36
 * ```
 */
export class DaemonRequest implements CallContext {
  /** The connection's state (and, through it, the daemon). */
  readonly session: Session;
  /** The received message. */
  readonly message: Message;
  /** The message's serializer. */
  readonly serializer: Serializer;
  readonly connection: ConnectionInfo;
  readonly annotations: ReadonlyMap<string, Uint8Array>;
  readonly seq: number;
  readonly flags: number;
  readonly serializerId: number;
  #correlationBytes: Uint8Array | null;
  #correlationText: string | undefined;
  #responseAnnotations: Map<string, Uint8Array> | undefined;

  /**
   * Makes the request of a received message.
   *
   * @param session The connection's state.
   * @param message The CONNECT or INVOKE message.
   * @param serializer Its serializer.
   */
  constructor(session: Session, message: Message, serializer: Serializer) {
    this.session = session;
    this.message = message;
    this.serializer = serializer;
    this.#correlationBytes = message.correlationId;
    this.connection = session.info;
    this.annotations = message.annotations;
    this.seq = message.seq;
    this.flags = message.flags;
    this.serializerId = message.serializerId;
  }

  /** The request's correlation id bytes (a random id, made when first asked for, when it had none). */
  get correlationIdBytes(): Uint8Array {
    return this.#correlationBytes ??= randomCorrelationIdShared();
  }

  /**
   * The correlation id bytes to put on the reply: the request's, or, when it had none and none
   * was asked for, `RANDOM_CORRELATION_ID`: for `encodeBareFrame` only, which writes fresh
   * random bytes in its place (anything else takes `correlationIdBytes`).
   */
  get replyCorrelationId(): Uint8Array {
    return this.#correlationBytes ?? RANDOM_CORRELATION_ID;
  }

  /** The client's address as text (made when first asked for, see `ConnectionInfo`). */
  get clientAddress(): string | null {
    return this.connection.remoteAddress;
  }

  /** The request's correlation id (UUID text). */
  get correlationId(): string {
    return this.#correlationText ??= correlationIdToString(this.correlationIdBytes);
  }

  /** Annotations to add to the reply. */
  get responseAnnotations(): Map<string, Uint8Array> {
    return this.#responseAnnotations ??= new Map();
  }

  set responseAnnotations(value: Map<string, Uint8Array>) {
    this.#responseAnnotations = value;
  }

  /**
   * The annotations of the reply: those the method set, then the daemon-wide ones (which win
   * on a repeated id).
   */
  get replyAnnotations(): ReadonlyMap<string, Uint8Array> {
    const daemonWide = this.session.host.annotations();
    const own = this.#responseAnnotations;
    if (own === undefined) return daemonWide; // the usual case: the method set none
    return withDaemonAnnotations(own, daemonWide);
  }
}

/**
 * Joins a reply's own annotations with the daemon-wide ones, which win on a repeated id. Returns
 * one of its arguments unchanged when the other is empty (neither is to be changed after).
 *
 * @example
 * ```ts
 * import { withDaemonAnnotations } from "./request.ts";
 * const own = new Map([["XOWN", new Uint8Array([1])]]);
 * const merged = withDaemonAnnotations(own, new Map([["XDMN", new Uint8Array([2])]]));
 * console.log([...merged.keys()]); // ["XOWN", "XDMN"]
 * ```
 *
 * @param own The reply's own annotations.
 * @param daemonWide The daemon-wide annotations.
 * @returns Both, as one map.
 */
export function withDaemonAnnotations(
  own: ReadonlyMap<string, Uint8Array>,
  daemonWide: ReadonlyMap<string, Uint8Array>,
): ReadonlyMap<string, Uint8Array> {
  if (daemonWide.size === 0) return own;
  if (own.size === 0) return daemonWide;
  const merged = new Map(own);
  for (const [k, v] of daemonWide) merged.set(k, v);
  return merged;
}
