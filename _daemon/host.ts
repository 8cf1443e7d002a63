/**
 * What a daemon's connections and its dispatcher share: the daemon as they see it
 * ({@linkcode DaemonHost}), its registrations, and the per-connection state ({@linkcode Session}).
 * Types only.
 *
 * @module
 */

import type { CallContext, ConnectionInfo } from "../context.ts";
import type { Behavior } from "../expose.ts";
import type { ExposedMembers, WireMetadata } from "./exposure.ts";
import type { StreamRegistry } from "./streams.ts";
import type { EncodeOptions } from "../_wire/protocol.ts";
import type { MethodCallErrorInfo } from "./options.ts";

/** One registered object or class. */
export interface Registration {
  /** The object id. */
  readonly id: string;
  /** The instance, plain object or class. */
  readonly target: object;
  /** True when `target` is a class served according to its instance mode. */
  readonly isClass: boolean;
  /** What may be called. */
  readonly table: ExposedMembers;
  /** The instance mode (classes only). */
  readonly behavior: Behavior | undefined;
  /** The lazily made instance of a `single` class. */
  single: Promise<object> | undefined;
}

/** What the connection handler and the dispatcher need from their daemon. */
export interface DaemonHost {
  /** Finds a registration. */
  lookup(id: string): Registration | undefined;
  /** Makes an instance of a registered class (instance creator or constructor). */
  createInstance(reg: Registration): Promise<object>;
  /** The daemon's item streams. */
  readonly streams: StreamRegistry;
  /** Whether iterator results become streams. */
  readonly iterStreaming: boolean;
  /** Compress replies over 100 bytes. */
  readonly compress: boolean;
  /** The message size limit. */
  readonly maxMessageSize: number;
  /** `compress` and `maxMessageSize` as encode options (one object for every frame). */
  readonly encodeOptions: EncodeOptions;
  /** Include stack traces in exception replies. */
  readonly tracebacks: boolean;
  /** The daemon-wide annotations hook's current value. */
  annotations(): ReadonlyMap<string, Uint8Array>;
  /** Metadata of an object id (throws DaemonError "unknown object"). */
  metadata(id: unknown): WireMetadata;
  /** Reports an exception raised by a served method (never throws). */
  methodCallError(info: MethodCallErrorInfo): void;
  /** The handshake hook: returns the CONNECTOK handshake value, or throws to refuse. */
  validateHandshake(data: unknown, context: CallContext): unknown;
}

/** The per-connection state a call sees. */
export interface Session {
  /** The daemon serving the connection. */
  readonly host: DaemonHost;
  /** The connection, as exposed to calls. */
  readonly info: ConnectionInfo;
  /** Instances of `session` mode classes made for this connection. */
  readonly instances: Map<Registration, Promise<object>>;
}
