/**
 * How a daemon serves one INVOKE (section 4.3 of the protocol reference): decoding the call,
 * finding the object and the exposed member, normal calls, remote attributes, batches, item
 * streams, and turning the outcome into a RESULT frame. Also the shared types between the
 * daemon and its connection handler.
 *
 * @module
 */

import { ExceptionWrapper } from "../class_registry.ts";
import type { CallContext, ConnectionInfo } from "../context.ts";
import {
  CommunicationError,
  DaemonError,
  errorToDict,
  ProtocolError,
  PyroError,
  SecurityError,
  SerializeError,
} from "../errors.ts";
import { type Behavior, makeKwargs } from "../expose.ts";
import {
  type ExposedMembers,
  getExposedAttribute,
  lookupMethod,
  setExposedAttribute,
} from "./exposure.ts";
import { log } from "../log.ts";
import { dumpsForFrame, loadsCallReceived } from "../_codecs/frame.ts";
import {
  correlationIdToString,
  EMPTY_ANNOTATIONS,
  encodeFrame,
  Flags,
  type Message,
  MessageType,
} from "../_wire/protocol.ts";
import type { CallRequest, Serializer } from "../serializer.ts";
import { isStreamable, type StreamRegistry } from "./streams.ts";

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

/** The per-connection state a call sees. */
export interface Session {
  /** The connection, as exposed to calls. */
  readonly info: ConnectionInfo;
  /** Instances of `session` mode classes made for this connection. */
  readonly instances: Map<Registration, Promise<object>>;
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
  /** Include stack traces in exception replies. */
  readonly tracebacks: boolean;
  /** The daemon-wide annotations hook's current value. */
  annotations(): ReadonlyMap<string, Uint8Array>;
  /** Metadata of an object id (throws DaemonError "unknown object"). */
  metadata(id: unknown): { methods: string[]; oneway: string[]; attrs: string[] };
  /** The handshake hook: returns the CONNECTOK handshake value, or throws to refuse. */
  validateHandshake(data: unknown, context: CallContext): unknown;
}

/**
 * The context of one call as the daemon makes it: the correlation id text and the response
 * annotations map are made only when a method asks for them.
 */
export class DaemonCallContext implements CallContext {
  readonly connection: ConnectionInfo;
  readonly clientAddress: string | null;
  readonly annotations: ReadonlyMap<string, Uint8Array>;
  readonly seq: number;
  readonly flags: number;
  readonly serializerId: number;
  readonly #correlationId: Uint8Array;
  #correlationText: string | undefined;
  #responseAnnotations: Map<string, Uint8Array> | undefined;

  /**
   * Makes the context of a request.
   *
   * @param connection The connection.
   * @param msg The request.
   * @param correlationId Its correlation id bytes (a random one when it had none).
   */
  constructor(connection: ConnectionInfo, msg: Message, correlationId: Uint8Array) {
    this.connection = connection;
    this.clientAddress = connection.remoteAddress;
    this.annotations = msg.annotations;
    this.seq = msg.seq;
    this.flags = msg.flags;
    this.serializerId = msg.serializerId;
    this.#correlationId = correlationId;
  }

  /** The request's correlation id (UUID text). */
  get correlationId(): string {
    return this.#correlationText ??= correlationIdToString(this.#correlationId);
  }

  /** Annotations to add to the reply. */
  get responseAnnotations(): Map<string, Uint8Array> {
    return this.#responseAnnotations ??= new Map();
  }

  set responseAnnotations(value: Map<string, Uint8Array>) {
    this.#responseAnnotations = value;
  }

  /** The response annotations, or an empty map when none were asked for (not to be changed). */
  get replyAnnotations(): ReadonlyMap<string, Uint8Array> {
    return this.#responseAnnotations ?? EMPTY_ANNOTATIONS;
  }
}

/** A reply to send (or not), and whether to close the connection afterwards. */
export interface Reply {
  /** The frame to send, or null for none. */
  frame: Uint8Array | null;
  /** Close the connection after sending the frame. */
  close: boolean;
}

/** No reply, keep the connection. */
export const NO_REPLY: Reply = { frame: null, close: false };

/** Gets the instance that serves a call, per the registration's instance mode. */
async function instanceFor(host: DaemonHost, session: Session, reg: Registration): Promise<object> {
  if (!reg.isClass) return reg.target;
  switch (reg.behavior?.instanceMode ?? "session") {
    case "single": {
      if (reg.single === undefined) {
        const made = host.createInstance(reg);
        reg.single = made;
        made.catch(() => {
          if (reg.single === made) reg.single = undefined;
        });
      }
      return await reg.single;
    }
    case "percall":
      return await host.createInstance(reg);
    default: {
      let made = session.instances.get(reg);
      if (made === undefined) {
        made = host.createInstance(reg);
        session.instances.set(reg, made);
        const failed = made;
        made.catch(() => {
          if (session.instances.get(reg) === failed) session.instances.delete(reg);
        });
      }
      return await made;
    }
  }
}

function argumentsFor(params: unknown, kwargs: unknown): unknown[] {
  if (!Array.isArray(params)) throw new TypeError("call parameters must be a list");
  if (kwargs === null || kwargs === undefined) return params;
  if (typeof kwargs !== "object" || Array.isArray(kwargs) || kwargs instanceof Map) {
    throw new TypeError("argument after ** must be a mapping");
  }
  const entries = Object.keys(kwargs);
  if (entries.length === 0) return params;
  return [...params, makeKwargs(kwargs as Record<string, unknown>)];
}

/** Calls the resolved method and awaits its result. */
async function invokeMember(
  table: ExposedMembers,
  instance: object,
  method: string,
  params: unknown,
  kwargs: unknown,
): Promise<unknown> {
  const fn = lookupMethod(table, method);
  const args = argumentsFor(params, kwargs);
  return await fn.apply(instance, args);
}

async function runBatch(reg: Registration, instance: object, calls: unknown): Promise<unknown[]> {
  if (!Array.isArray(calls)) throw new TypeError("batch parameters must be a list of calls");
  const results: unknown[] = [];
  for (const call of calls as unknown[]) {
    if (!Array.isArray(call) || call.length !== 3 || typeof call[0] !== "string") {
      throw new TypeError("each batch call must be [method, params, kwargs]");
    }
    const [method, params, kwargs] = call as [string, unknown, unknown];
    // Resolution errors fail the whole batch (as in Pyro5); call errors end it.
    const fn = lookupMethod(reg.table, method);
    let result: unknown;
    try {
      result = await fn.apply(instance, argumentsFor(params, kwargs));
    } catch (e) {
      results.push(new ExceptionWrapper(e instanceof Error ? e : new Error(String(e))));
      break;
    }
    if (isStreamable(result)) {
      throw new SerializeError("cannot serialize an iterator result in a batch call");
    }
    results.push(result);
  }
  return results;
}

function replyFrame(
  host: DaemonHost,
  msg: Message,
  correlationId: Uint8Array,
  flags: number,
  annotations: ReadonlyMap<string, Uint8Array>,
  data: Uint8Array,
): Uint8Array {
  return encodeFrame({
    type: MessageType.RESULT,
    serializerId: msg.serializerId,
    seq: msg.seq,
    flags,
    correlationId,
    annotations,
    data,
  }, { compress: host.compress, maxMessageSize: host.maxMessageSize });
}

function errorName(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * Serializes an exception map; if that fails, Pyro5's "Error serializing exception" PyroError.
 */
export function exceptionPayload(
  serializer: Serializer,
  error: unknown,
  traceback: boolean,
): Uint8Array {
  try {
    return serializer.dumps(errorToDict(error, traceback));
  } catch (e) {
    const fallback = new PyroError(
      `Error serializing exception: ${errorName(e)}. Original exception: ${errorName(error)}`,
    );
    return serializer.dumps(errorToDict(fallback, traceback));
  }
}

/** Builds the exception reply (or no reply) for an error, with Pyro5's close rules. */
function errorReply(
  host: DaemonHost,
  serializer: Serializer,
  msg: Message,
  correlationId: Uint8Array,
  error: unknown,
): Reply {
  const oneway = (msg.flags & Flags.ONEWAY) !== 0;
  const closeAfter = error instanceof CommunicationError || error instanceof SecurityError;
  if (error instanceof CommunicationError && !(error instanceof SerializeError)) {
    log.warn(`daemon: closing the connection after a call failed: ${errorName(error)}`);
    return { frame: null, close: true };
  }
  if (oneway) {
    log.warn(`daemon: oneway call failed: ${errorName(error)}`);
    return { frame: null, close: closeAfter };
  }
  const data = exceptionPayload(serializer, error, host.tracebacks);
  return {
    frame: replyFrame(host, msg, correlationId, Flags.EXCEPTION, host.annotations(), data),
    close: closeAfter,
  };
}

function mergeAnnotations(
  first: ReadonlyMap<string, Uint8Array>,
  second: ReadonlyMap<string, Uint8Array>,
): ReadonlyMap<string, Uint8Array> {
  if (second.size === 0) return first;
  if (first.size === 0) return second;
  const merged = new Map(first);
  for (const [k, v] of second) merged.set(k, v);
  return merged;
}

/** True for a promise or another thenable (what `await` would wait for). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/** Builds the reply for a call that returned `value` (flags: BATCH for batch results). */
function resultReply(
  host: DaemonHost,
  session: Session,
  serializer: Serializer,
  msg: Message,
  ctx: CallContext,
  correlationId: Uint8Array,
  value: unknown,
  flags: number,
): Reply {
  try {
    if (msg.flags & Flags.ONEWAY) return NO_REPLY;
    if (!(msg.flags & Flags.BATCH) && isStreamable(value)) {
      const annotations = new Map<string, Uint8Array>();
      if (host.iterStreaming) {
        const streamId = host.streams.create(value, session.info.id);
        annotations.set("STRM", new TextEncoder().encode(streamId));
      }
      const marker = exceptionPayload(
        serializer,
        new ProtocolError("result of call is an iterator"),
        false,
      );
      return {
        frame: replyFrame(
          host,
          msg,
          correlationId,
          Flags.EXCEPTION | Flags.ITEMSTREAMRESULT,
          mergeAnnotations(annotations, host.annotations()),
          marker,
        ),
        close: false,
      };
    }
    const own = ctx instanceof DaemonCallContext ? ctx.replyAnnotations : ctx.responseAnnotations;
    const annotations = mergeAnnotations(own, host.annotations());
    // msgpack bytes straight from the writer's buffer into the frame: nothing may encode between.
    const result = value === undefined ? null : value;
    const data = dumpsForFrame(serializer, result);
    return { frame: replyFrame(host, msg, correlationId, flags, annotations, data), close: false };
  } catch (e) {
    return errorReply(host, serializer, msg, correlationId, e);
  }
}

/**
 * Serves one INVOKE message inside its call context and builds the reply. A method of a
 * registered object (not a class) that returns a plain value is answered synchronously; other
 * calls return a promise.
 *
 * @param host The daemon.
 * @param session The connection's state.
 * @param serializer The message's serializer.
 * @param msg The INVOKE message.
 * @param ctx The call context (already current).
 * @param correlationId The correlation id bytes to put on the reply.
 * @returns The reply, or a promise of it.
 */
export function serveInvoke(
  host: DaemonHost,
  session: Session,
  serializer: Serializer,
  msg: Message,
  ctx: CallContext,
  correlationId: Uint8Array,
): Reply | Promise<Reply> {
  let call: CallRequest;
  let reg: Registration | undefined;
  try {
    if (msg.flags & Flags.KEEPSERIALIZED) {
      throw new PyroError("serialized blob pass-through (flag KEEPSERIALIZED) is not supported");
    }
    call = loadsCallReceived(serializer, msg);
    if (typeof call.method !== "string") throw new TypeError("the method name must be a string");
    reg = typeof call.object === "string" ? host.lookup(call.object) : undefined;
    if (reg === undefined) throw new DaemonError("unknown object");
    const method = call.method;
    if (
      !reg.isClass && !(msg.flags & Flags.BATCH) && method !== "__getattr__" &&
      method !== "__setattr__"
    ) {
      // The common case, without the promise machinery unless the method returns a promise.
      const fn = lookupMethod(reg.table, method);
      const value = fn.apply(reg.target, argumentsFor(call.params, call.kwargs));
      if (!isThenable(value)) {
        return resultReply(host, session, serializer, msg, ctx, correlationId, value, 0);
      }
      return Promise.resolve(value).then(
        (v) => resultReply(host, session, serializer, msg, ctx, correlationId, v, 0),
        (e) => errorReply(host, serializer, msg, correlationId, e),
      );
    }
  } catch (e) {
    return errorReply(host, serializer, msg, correlationId, e);
  }
  return serveGeneral(host, session, serializer, msg, ctx, correlationId, call, reg);
}

/** Serves class instances, batches and remote attribute access. */
async function serveGeneral(
  host: DaemonHost,
  session: Session,
  serializer: Serializer,
  msg: Message,
  ctx: CallContext,
  correlationId: Uint8Array,
  call: CallRequest,
  reg: Registration,
): Promise<Reply> {
  try {
    const instance = await instanceFor(host, session, reg);
    let value: unknown;
    let flags = 0;
    if (msg.flags & Flags.BATCH) {
      value = await runBatch(reg, instance, call.params);
      flags = Flags.BATCH;
    } else if (call.method === "__getattr__") {
      value = await getExposedAttribute(reg.table, instance, String(call.params?.[0]));
    } else if (call.method === "__setattr__") {
      const [name, newValue] = Array.isArray(call.params) ? call.params : [];
      value = await setExposedAttribute(reg.table, instance, String(name), newValue);
    } else {
      value = await invokeMember(reg.table, instance, call.method, call.params, call.kwargs);
    }
    return resultReply(host, session, serializer, msg, ctx, correlationId, value, flags);
  } catch (e) {
    return errorReply(host, serializer, msg, correlationId, e);
  }
}
