/**
 * The shape every codec implements: {@linkcode Serializer}, and the call request it encodes.
 * Codecs import these types from here, never from the public `serializer.ts`, so that the
 * registry there can import the codecs without an import circle.
 *
 * @module
 */

/**
 * The content of an INVOKE message: which object, which method, positional and keyword arguments.
 *
 * @example
 * ```ts
 * import type { CallRequest } from "../serializer.ts";
 * const call: CallRequest = { object: "thing", method: "echo", params: [1], kwargs: null };
 * console.log(call.method); // echo
 * ```
 */
export interface CallRequest {
  /** The object id, e.g. `thing` or `Pyro.NameServer`. */
  object: string;
  /** The method name, or `__getattr__`, `__setattr__`, `<batch>`. */
  method: string;
  /** Positional arguments. */
  params: unknown[];
  /** Keyword arguments; null for attribute access and batch calls (as Python sends them). */
  kwargs: Record<string, unknown> | null;
}

/**
 * A Pyro serializer: one wire format for values and call requests.
 *
 * The four methods are all a serializer needs. The framed methods and `decodesToCopies` are
 * fast paths the daemon and proxy use when a serializer offers them (the built-in ones all
 * do); a serializer without them works the same, one copy slower.
 *
 * @example Looking one up by id
 * ```ts
 * import { getSerializer, type Serializer } from "../serializer.ts";
 * const s: Serializer = getSerializer(4);
 * console.log(s.name, s.loads(s.dumps([1, "two"]))); // msgpack [ 1, "two" ]
 * ```
 */
export interface Serializer {
  /** The Pyro5 serializer id (header byte 0x07): 1 serpent, 3 json, 4 msgpack. */
  readonly id: number;
  /** The Pyro5 name: `serpent`, `json` or `msgpack`. */
  readonly name: string;
  /**
   * Encodes one value (CONNECT, CONNECTOK, CONNECTFAIL and RESULT payloads).
   *
   * @throws {SerializeError} For a value the format cannot carry.
   */
  dumps(value: unknown): Uint8Array;
  /**
   * Decodes one value, reviving URIs, exceptions and registered classes.
   *
   * @throws {SerializeError} For malformed data.
   */
  loads(data: Uint8Array): unknown;
  /** Encodes an INVOKE payload in this format's call form. */
  dumpsCall(call: CallRequest): Uint8Array;
  /**
   * Decodes an INVOKE payload.
   *
   * @throws {SerializeError} For malformed data or a payload of the wrong shape.
   */
  loadsCall(data: Uint8Array): CallRequest;
  /**
   * Encodes a value, as `dumps`, for a frame that is built at once: the bytes may be a view
   * into a buffer this serializer reuses (valid only until its next encode), saving a copy.
   * Without it, `dumps` is used.
   *
   * @throws {SerializeError} For a value the format cannot carry.
   */
  dumpsFramed?(value: unknown): Uint8Array;
  /**
   * Encodes an INVOKE payload, as `dumpsCall`, for a frame that is built at once (see
   * `dumpsFramed`). Without it, `dumpsCall` is used.
   *
   * @throws {SerializeError} For a value the format cannot carry.
   */
  dumpsCallFramed?(call: CallRequest): Uint8Array;
  /**
   * True when the values `loads` and `loadsCall` return never point into the payload bytes,
   * so a large received buffer can be reused as soon as it is decoded.
   *
   * @default {false}
   */
  readonly decodesToCopies?: boolean;
}

/** A serializer with every fast path: what each built-in codec implements. */
export type FramedSerializer = Required<Serializer>;
