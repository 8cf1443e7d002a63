/**
 * How a daemon serves one INVOKE (section 4.3 of the protocol reference): decoding the call,
 * finding the object and the exposed member, normal calls, remote attributes, batches, item
 * streams, and turning the outcome into a RESULT frame. Everything about the call travels in its
 * {@linkcode DaemonRequest}.
 *
 * @module
 */

import { ExceptionWrapper } from "../class_registry.ts";
import {
  CommunicationError,
  DaemonError,
  errorToDict,
  ProtocolError,
  PyroError,
  SecurityError,
  SerializeError,
} from "../errors.ts";
import {
  type ExposedMembers,
  getExposedAttribute,
  lookupMethod,
  setExposedAttribute,
} from "./exposure.ts";
import { log } from "../log.ts";
import { errorText } from "../_wire/error_text.ts";
import { dumpsForFrame, loadsCallReceived } from "../_codecs/frame.ts";
import { encodeBareFrame, encodeFrame, Flags, MessageType } from "../_wire/protocol.ts";
import type { CallRequest, Serializer } from "../serializer.ts";
import type { Registration, Session } from "./host.ts";
import { type DaemonRequest, withDaemonAnnotations } from "./request.ts";
import { isStreamable } from "./streams.ts";
import { bindKeywords, KWARGS_OBJECT, type Params } from "./params.ts";
import { TELEMETRY, traceServerCall } from "../_telemetry/mod.ts";
import { isCallbackMark } from "../expose.ts";
import { BLOB_ANNOTATION, readBlobInfo } from "../_codecs/blob.ts";
import { receivedBlob } from "../serialized_blob.ts";
import { decodeDone, decodeTurn, LARGE_PAYLOAD } from "./decode_turn.ts";

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
async function instanceFor(session: Session, reg: Registration): Promise<object> {
  if (!reg.isClass) return reg.target;
  const host = session.host;
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

/**
 * The arguments for a call: the positional ones as sent, or, with keyword arguments, both bound
 * to the method's parameters by name (params.ts).
 */
function argumentsFor(
  table: ExposedMembers,
  method: string,
  params: unknown,
  kwargs: unknown,
): unknown[] {
  if (!Array.isArray(params)) throw new TypeError("call parameters must be a list");
  if (table.declared !== null) {
    const exact = table.declared.get(method);
    if (exact !== undefined) return bindExact(table, method, exact, params, kwargs);
  }
  if (kwargs === null || kwargs === undefined) return params;
  if (typeof kwargs !== "object" || Array.isArray(kwargs) || kwargs instanceof Map) {
    throw new TypeError("argument after ** must be a mapping");
  }
  const keywords = kwargs as Record<string, unknown>;
  for (const _ in keywords) {
    const qualname = table.className === "object" ? method : `${table.className}.${method}`;
    return bindKeywords(table.params.get(method) ?? KWARGS_OBJECT, qualname, params, keywords);
  }
  return params;
}

/** An exception raised by a served method (as opposed to finding it), with what it was. */
class MethodFailure {
  constructor(readonly fn: unknown, readonly error: unknown) {}
}

/** Reports a method's exception to the daemon's handler; the error reply for it. */
function methodFailed(req: DaemonRequest, call: CallRequest, failure: MethodFailure): Reply {
  req.session.host.methodCallError({
    context: req,
    objectId: call.object,
    method: call.method,
    args: Array.isArray(call.params) ? call.params : [],
    kwargs: call.kwargs ?? null,
    error: failure.error,
  });
  const reply = errorReply(req, failure.error);
  if (!isCallbackMark(failure.fn)) return reply;
  // Pyro5's @callback: the error is raised on this side too, which ends the connection.
  const e = failure.error;
  log.warn(
    `daemon: error in callback method '${call.method}': ${e instanceof Error ? e.stack : e}`,
  );
  return { frame: reply.frame, close: true };
}

/**
 * The call of a KEEPSERIALIZED request (Pyro5's serialized blob): routed by its `BLBI`
 * annotation, with one argument, a blob holding the undecoded payload.
 */
function blobCall(req: DaemonRequest): CallRequest {
  const info = req.annotations.get(BLOB_ANNOTATION);
  if (info === undefined) {
    throw new ProtocolError("a KEEPSERIALIZED message without its BLBI annotation");
  }
  const { info: blobInfo, object, method } = readBlobInfo(info);
  // A copy: the blob may outlive the receive buffer (it is forwarded later).
  const message = { serializerId: req.serializerId, data: req.message.data.slice() };
  return { object, method, params: [receivedBlob(blobInfo, message)], kwargs: null };
}

/** Binds a call to a declared signature, checked as Python checks a `def`. */
function bindExact(
  table: ExposedMembers,
  method: string,
  exact: Params,
  params: unknown[],
  kwargs: unknown,
): unknown[] {
  if (kwargs !== null && kwargs !== undefined) {
    if (typeof kwargs !== "object" || Array.isArray(kwargs) || kwargs instanceof Map) {
      throw new TypeError("argument after ** must be a mapping");
    }
  }
  const qualname = table.className === "object" ? method : `${table.className}.${method}`;
  return bindKeywords(exact, qualname, params, (kwargs ?? {}) as Record<string, unknown>);
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
  try {
    return await fn.apply(instance, argumentsFor(table, method, params, kwargs));
  } catch (e) {
    throw new MethodFailure(fn, e);
  }
}

async function runBatch(
  req: DaemonRequest,
  reg: Registration,
  instance: object,
  calls: unknown,
): Promise<unknown[]> {
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
      result = await fn.apply(instance, argumentsFor(reg.table, method, params, kwargs));
    } catch (e) {
      req.session.host.methodCallError({
        context: req,
        objectId: reg.id,
        method,
        args: Array.isArray(params) ? params : [],
        kwargs: isRecord(kwargs) ? kwargs : null,
        error: e,
      });
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

/** Builds the RESULT frame answering a request. */
function replyFrame(
  req: DaemonRequest,
  flags: number,
  annotations: ReadonlyMap<string, Uint8Array>,
  data: Uint8Array,
): Uint8Array {
  const options = req.session.host.encodeOptions;
  if (annotations.size === 0) {
    return encodeBareFrame(
      MessageType.RESULT,
      req.serializerId,
      req.seq,
      flags,
      req.replyCorrelationId,
      data,
      options,
    );
  }
  return encodeFrame({
    type: MessageType.RESULT,
    serializerId: req.serializerId,
    seq: req.seq,
    flags,
    correlationId: req.correlationIdBytes,
    annotations,
    data,
  }, options);
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
      `Error serializing exception: ${errorText(e)}. Original exception: ${errorText(error)}`,
    );
    return serializer.dumps(errorToDict(fallback, traceback));
  }
}

/** The errors of failed calls' replies, kept for their spans while telemetry is on. */
const failures = new WeakMap<Reply, unknown>();

/** The error a reply reports, or null. */
function replyError(reply: Reply): unknown {
  return failures.get(reply) ?? null;
}

/** Builds the exception reply (or no reply) for an error, with Pyro5's close rules. */
function errorReply(req: DaemonRequest, error: unknown): Reply {
  if (TELEMETRY) {
    const reply = errorReplyFor(req, error);
    failures.set(reply, error);
    return reply;
  }
  return errorReplyFor(req, error);
}

function errorReplyFor(req: DaemonRequest, error: unknown): Reply {
  const oneway = (req.flags & Flags.ONEWAY) !== 0;
  const closeAfter = error instanceof CommunicationError || error instanceof SecurityError;
  if (error instanceof CommunicationError && !(error instanceof SerializeError)) {
    log.warn(`daemon: closing the connection after a call failed: ${errorText(error)}`);
    return { frame: null, close: true };
  }
  if (oneway) {
    log.warn(`daemon: oneway call failed: ${errorText(error)}`);
    return { frame: null, close: closeAfter };
  }
  const host = req.session.host;
  const data = exceptionPayload(req.serializer, error, host.tracebacks);
  return {
    frame: replyFrame(req, Flags.EXCEPTION, host.annotations(), data),
    close: closeAfter,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** True for a promise or another thenable (what `await` would wait for). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/**
 * Builds the reply for a call that returned `value` (flags: BATCH for batch results). The reply
 * to a large request is encoded in its turn (decode_turn.ts), ahead of the waiting decodes: a
 * large request tends to have a large reply, and encoding it right after its decode in the same
 * turn would block every other socket for both.
 */
function resultReply(req: DaemonRequest, value: unknown, flags: number): Reply | Promise<Reply> {
  if (req.message.data.length >= LARGE_PAYLOAD && !(req.flags & Flags.ONEWAY)) {
    const turn = decodeTurn(true);
    if (turn !== undefined) {
      return turn.then(() => {
        try {
          return encodeReply(req, value, flags);
        } finally {
          decodeDone();
        }
      });
    }
  }
  return encodeReply(req, value, flags);
}

function encodeReply(req: DaemonRequest, value: unknown, flags: number): Reply {
  try {
    if (req.flags & Flags.ONEWAY) return NO_REPLY;
    if (!(req.flags & Flags.BATCH) && isStreamable(value)) {
      const host = req.session.host;
      const annotations = new Map<string, Uint8Array>();
      if (host.iterStreaming) {
        const streamId = host.streams.create(value, req.connection.id);
        annotations.set("STRM", new TextEncoder().encode(streamId));
      }
      const marker = exceptionPayload(
        req.serializer,
        new ProtocolError("result of call is an iterator"),
        false,
      );
      return {
        frame: replyFrame(
          req,
          Flags.EXCEPTION | Flags.ITEMSTREAMRESULT,
          withDaemonAnnotations(annotations, host.annotations()),
          marker,
        ),
        close: false,
      };
    }
    // msgpack bytes straight from the writer's buffer into the frame: nothing may encode between.
    const result = value === undefined ? null : value;
    const data = dumpsForFrame(req.serializer, result);
    return { frame: replyFrame(req, flags, req.replyAnnotations, data), close: false };
  } catch (e) {
    return errorReply(req, e);
  }
}

/**
 * Serves one INVOKE request inside its call context and builds the reply. A method of a
 * registered object (not a class) that returns a plain value is answered synchronously; other
 * calls return a promise.
 *
 * @param req The request (already the current call context).
 * @returns The reply, or a promise of it.
 */
export function serveInvoke(req: DaemonRequest): Reply | Promise<Reply> {
  let call: CallRequest;
  try {
    call = req.flags & Flags.KEEPSERIALIZED
      ? blobCall(req)
      : loadsCallReceived(req.serializer, req.message);
    if (typeof call.method !== "string") throw new TypeError("the method name must be a string");
  } catch (e) {
    return errorReply(req, e);
  }
  if (TELEMETRY) {
    const info = {
      object: String(call.object),
      method: call.method,
      serializer: req.serializer.name,
    };
    return traceServerCall(req, info, () => serveCall(req, call), replyError);
  }
  return serveCall(req, call);
}

/** Serves a decoded call. */
function serveCall(req: DaemonRequest, call: CallRequest): Reply | Promise<Reply> {
  let reg: Registration | undefined;
  try {
    reg = typeof call.object === "string" ? req.session.host.lookup(call.object) : undefined;
    if (reg === undefined) throw new DaemonError("unknown object");
    const method = call.method;
    if (
      !reg.isClass && !(req.flags & Flags.BATCH) && method !== "__getattr__" &&
      method !== "__setattr__"
    ) {
      // The common case, without the promise machinery unless the method returns a promise.
      const fn = lookupMethod(reg.table, method);
      let value: unknown;
      try {
        value = fn.apply(reg.target, argumentsFor(reg.table, method, call.params, call.kwargs));
      } catch (e) {
        return methodFailed(req, call, new MethodFailure(fn, e));
      }
      if (!isThenable(value)) return resultReply(req, value, 0);
      const failing = call;
      return Promise.resolve(value).then(
        (v) => resultReply(req, v, 0),
        (e) => methodFailed(req, failing, new MethodFailure(fn, e)),
      );
    }
  } catch (e) {
    return errorReply(req, e);
  }
  return serveGeneral(req, call, reg);
}

/** Serves class instances, batches and remote attribute access. */
async function serveGeneral(
  req: DaemonRequest,
  call: CallRequest,
  reg: Registration,
): Promise<Reply> {
  try {
    const instance = await instanceFor(req.session, reg);
    let value: unknown;
    let flags = 0;
    if (req.flags & Flags.BATCH) {
      value = await runBatch(req, reg, instance, call.params);
      flags = Flags.BATCH;
    } else if (call.method === "__getattr__") {
      value = await getExposedAttribute(reg.table, instance, String(call.params?.[0]));
    } else if (call.method === "__setattr__") {
      const [name, newValue] = Array.isArray(call.params) ? call.params : [];
      value = await setExposedAttribute(reg.table, instance, String(name), newValue);
    } else {
      value = await invokeMember(reg.table, instance, call.method, call.params, call.kwargs);
    }
    return resultReply(req, value, flags);
  } catch (e) {
    if (e instanceof MethodFailure) return methodFailed(req, call, e);
    return errorReply(req, e);
  }
}
