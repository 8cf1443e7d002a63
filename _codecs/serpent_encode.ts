/**
 * The serpent writer: turns a value into the Python literal text that Python's `serpent` 1.41
 * library writes for the same value (as Pyro5 calls it: `module_in_classname=True`, bytes as
 * base64 maps), so that Python reads it back with `ast.literal_eval`. It writes UTF-8 bytes
 * straight from the value tree, behind the `# serpent` header line, into one growing buffer
 * that is reused across calls (printable ASCII strings are copied by a loop; other text goes
 * through `TextEncoder.encodeInto`), as the msgpack writer does.
 *
 * Used by serpent.ts; most code wants the serializer from there instead.
 *
 * @example Writing a call payload body
 * ```ts
 * import { encodeSerpentText } from "./serpent_encode.ts";
 * import { tuple } from "../value.ts";
 *
 * console.log(encodeSerpentText(tuple("thing", "echo", tuple("hi"), {})));
 * // ('thing','echo',('hi',),{})
 * ```
 *
 * @module
 */

import { SerializeError } from "../errors.ts";
import { offerHeadroom } from "../_wire/protocol.ts";
import { POOL_MIN, takeBuffer } from "../_wire/buffer_pool.ts";
import { AUTOPROXY, hasClassHooks, NOT_SPECIAL, replaceSpecial } from "../class_registry.ts";
import { URI } from "../uri.ts";
import { Complex, isTuple, tuple } from "../value.ts";
import { dateToIso, unsupported } from "./common.ts";
import { isPlainSingle, pythonFloatRepr, pythonStrRepr } from "./serpent_repr.ts";
import type { CallRequest } from "./types.ts";

export { pythonFloatRepr, pythonStrRepr } from "./serpent_repr.ts";

/** The first line of every serpent payload. */
export const SERPENT_HEADER = "# serpent utf-8 python3.2\n";

/** Python's bracket nesting limit (its tokenizer refuses more than 200 open brackets). */
export const DEFAULT_MAX_DEPTH = 200;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
const HEADER_BYTES = textEncoder.encode(SERPENT_HEADER);
/** Bytes kept free before the output, so a frame header and annotations can go in front of it. */
const HEADROOM = 256;
/** Where the text after the header line starts in the writer's buffer. */
const BODY = HEADROOM + HEADER_BYTES.length;
/** Outputs from this size on are handed over (no copy) together with their headroom. */
const HANDOVER = 64 * 1024;
/** The size of a fresh buffer, and of the buffer kept after a large output. */
const INITIAL = 2048;
/** Strings up to this length are checked and copied by one loop; longer ones natively. */
const SHORT_STRING = 64;

function typeName(value: unknown): string {
  if (typeof value !== "object" || value === null) return typeof value;
  return value.constructor?.name ?? "object";
}

/** Writes serpent bytes for one value tree at a time; reused, but not re-entrant (`busy`). */
class Writer {
  buf: Uint8Array = new Uint8Array(0);
  pos = BODY;
  maxDepth = DEFAULT_MAX_DEPTH;
  /** True while an encode runs (a hook that encodes again gets a fresh writer). */
  busy = false;

  constructor() {
    this.#fresh(INITIAL);
  }

  /** The header line, then the value; see {@linkcode Writer.take}. */
  encode(value: unknown, maxDepth: number, framed: boolean): Uint8Array {
    this.#begin(maxDepth);
    try {
      this.value(value, 0);
      return this.take(framed);
    } finally {
      this.#end();
    }
  }

  /** The header line, then a call's 4-tuple (see {@linkcode encodeSerpentCall}). */
  encodeCall(call: CallRequest, maxDepth: number, framed: boolean): Uint8Array {
    this.#begin(maxDepth);
    try {
      this.checkDepth(0);
      this.byte(40); // (
      this.value(call.object, 1);
      this.byte(44);
      this.value(call.method, 1);
      this.byte(44);
      const params = call.params;
      if (isTuple(params) || call.method === "<batch>") this.value(params, 1);
      else {
        this.checkDepth(1);
        this.tuple(params, 2);
      }
      this.byte(44);
      this.value(call.kwargs, 1);
      this.byte(41); // )
      return this.take(framed);
    } finally {
      this.#end();
    }
  }

  #begin(maxDepth: number): void {
    this.busy = true;
    this.maxDepth = maxDepth;
    this.pos = BODY;
  }

  #end(): void {
    this.busy = false;
    if (this.buf.length > 1 << 20) this.#fresh(INITIAL); // do not keep a huge buffer alive
  }

  /**
   * The output, header line included: when small, a copy (or with `framed`, a view of the
   * writer's buffer, valid until its next use); when large, the buffer itself (no copy), whose
   * headroom `encodeMessage` may then fill with the frame header.
   */
  take(framed: boolean): Uint8Array {
    const end = this.pos;
    if (end - HEADROOM < HANDOVER) {
      return framed ? this.buf.subarray(HEADROOM, end) : this.buf.slice(HEADROOM, end);
    }
    const out = this.buf.subarray(HEADROOM, end);
    offerHeadroom(out);
    this.#fresh(INITIAL);
    return out;
  }

  /** A new buffer of `size` bytes holding the header line and the bytes written so far. */
  #fresh(size: number): void {
    const spare = size >= POOL_MIN ? takeBuffer(size, size * 2) : null;
    const next = spare !== null ? new Uint8Array(spare) : new Uint8Array(size);
    if (this.pos > BODY && size > this.buf.length) {
      next.set(this.buf.subarray(HEADROOM, this.pos), HEADROOM);
    } else {
      next.set(HEADER_BYTES, HEADROOM);
      this.pos = BODY;
    }
    this.buf = next;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need > this.buf.length) this.#fresh(Math.max(need, this.buf.length * 2));
  }

  byte(b: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Text known to be ASCII. */
  ascii(text: string): void {
    const n = text.length;
    if (n > SHORT_STRING) return this.utf8(text);
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = text.charCodeAt(i);
    this.pos = p;
  }

  /** Any text, as UTF-8 (lone surrogates become U+FFFD, as TextEncoder writes them). */
  utf8(text: string): void {
    const n = text.length;
    this.ensure(n); // ASCII first; more room when the text holds other characters
    let from = 0;
    for (;;) {
      const rest = from === 0 ? text : text.slice(from);
      const { read, written } = textEncoder.encodeInto(rest, this.buf.subarray(this.pos));
      this.pos += written;
      from += read;
      if (from >= n) return;
      this.ensure((n - from) * 3);
    }
  }

  /** Python's `repr()` of a str: printable ASCII is copied as it is checked. */
  str(text: string): void {
    const n = text.length;
    if (n <= SHORT_STRING) {
      this.ensure(n + 2);
      const buf = this.buf;
      let p = this.pos;
      buf[p++] = 39;
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c < 32 || c > 126 || c === 39 || c === 92) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[p++] = 39;
        this.pos = p;
        return;
      }
    } else if (isPlainSingle(text)) {
      this.byte(39);
      this.utf8(text);
      this.byte(39);
      return;
    }
    this.utf8(pythonStrRepr(text)); // escapes, quotes or non-ASCII characters
  }

  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case "string":
        return this.str(v);
      case "number":
        return this.ascii(
          Number.isSafeInteger(v) && !Object.is(v, -0) ? String(v) : pythonFloatRepr(v),
        );
      case "boolean":
        return this.ascii(v ? "True" : "False");
      case "undefined":
        return this.ascii("None");
      case "bigint":
        return this.ascii(v.toString());
      case "object":
        if (v === null) return this.ascii("None");
        return this.object(v, depth);
      default:
        throw unsupported(v, "serpent");
    }
  }

  checkDepth(depth: number): void {
    if (depth >= this.maxDepth) {
      throw new SerializeError(
        `Cannot serialize with serpent: nesting deeper than ${this.maxDepth} levels (or a circular reference)`,
      );
    }
  }

  object(v: object, depth: number): void {
    this.checkDepth(depth);
    const d = depth + 1;
    if (Array.isArray(v)) {
      if (isTuple(v)) this.tuple(v, d);
      else this.list(v, d);
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if ((proto === Object.prototype || proto === null) && !(AUTOPROXY in v)) {
      this.dict(v as Record<string, unknown>, d);
      return;
    }
    if (v instanceof URI && !hasClassHooks() && !(AUTOPROXY in v)) return this.uri(v, depth);
    if (v instanceof Uint8Array) return this.bytes(v);
    if (ArrayBuffer.isView(v)) {
      return this.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
    if (v instanceof ArrayBuffer) return this.bytes(new Uint8Array(v));
    if (v instanceof Set) return this.set(v, d);
    if (v instanceof Map) return this.map(v, d);
    if (v instanceof Date) return this.str(dateToIso(v, "serpent"));
    if (v instanceof Complex) {
      this.ascii(
        "(" + pythonFloatRepr(v.re) + (v.im >= 0 ? "+" : "") + pythonFloatRepr(v.im) + "j)",
      );
      return;
    }
    const replaced = replaceSpecial(v, "serpent");
    if (replaced !== NOT_SPECIAL) {
      this.value(pythonShape(replaced), d);
      return;
    }
    this.dict(v as Record<string, unknown>, d);
  }

  /**
   * A URI as the dict `replaceSpecial` and `pythonShape` make of it (the same bytes), written
   * from its fields without building the dict (Name Server lookups). `depth` is the URI's own,
   * already checked; the dict and its state tuple are one and two deeper.
   */
  uri(uri: URI, depth: number): void {
    this.checkDepth(depth + 2);
    this.ascii(URI_HEAD);
    this.str(uri.protocol);
    this.byte(44);
    if (uri.protocol === "PYROMETA") this.value([...uri.tags], depth + 3);
    else this.str(uri.object);
    this.byte(44);
    const { sockname, host, port } = uri;
    if (sockname === null) this.ascii("None");
    else this.str(sockname);
    this.byte(44);
    if (host === null) this.ascii("None");
    else this.str(host);
    this.byte(44);
    this.value(port, depth + 3);
    this.ascii(")}");
  }

  tuple(v: readonly unknown[], depth: number): void {
    this.byte(40); // (
    const n = v.length;
    for (let i = 0; i < n; i++) {
      if (i > 0) this.byte(44);
      this.value(v[i], depth);
    }
    if (n === 1) this.byte(44);
    this.byte(41);
  }

  list(v: readonly unknown[], depth: number): void {
    this.byte(91); // [
    const n = v.length;
    for (let i = 0; i < n; i++) {
      if (i > 0) this.byte(44);
      this.value(v[i], depth);
    }
    this.byte(93);
  }

  dict(v: Record<string, unknown>, depth: number): void {
    this.byte(123); // {
    let first = true;
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      if (first) first = false;
      else this.byte(44);
      this.str(k);
      this.byte(58); // :
      this.value(v[k], depth);
    }
    this.byte(125);
  }

  map(v: Map<unknown, unknown>, depth: number): void {
    this.byte(123);
    let first = true;
    for (const [k, item] of v) {
      if (first) first = false;
      else this.byte(44);
      this.key(k, depth);
      this.byte(58);
      this.value(item, depth);
    }
    this.byte(125);
  }

  set(v: Set<unknown>, depth: number): void {
    if (v.size === 0) {
      this.ascii("()"); // Python has no empty-set literal; serpent writes an empty tuple
      return;
    }
    this.byte(123);
    let first = true;
    for (const item of v) {
      if (first) first = false;
      else this.byte(44);
      this.key(item, depth);
    }
    this.byte(125);
  }

  /** A dict key or set element: only what Python can hash (serpent refuses other keys too). */
  key(k: unknown, depth: number): void {
    if (isHashable(k)) {
      this.value(k, depth);
      return;
    }
    throw new SerializeError(
      `Cannot serialize a dict key or set element of type '${
        typeName(k)
      }' with serpent: use str, number, bool or tuple`,
    );
  }

  bytes(v: Uint8Array): void {
    // Python writes repr() of a dict here, hence the spaces.
    this.ascii("{'data': '");
    this.ascii(v.toBase64());
    this.ascii("', 'encoding': 'base64'}");
  }
}

/** The text of a URI's dict up to the first item of its state tuple. */
const URI_HEAD = "{'__class__':'Pyro5.core.URI','state':(";

const TUPLE_STATE = new Set(["Pyro5.core.URI", "Pyro5.client.Proxy", "Pyro5.server.Daemon"]);

/**
 * Gives Pyro's special maps the tuples Python writes in them (URI and proxy `state`, exception
 * `args`), so that the text is the same as Python's; Python accepts lists there too.
 */
function pythonShape(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const map = value as Record<string, unknown>;
  const cls = map.__class__;
  if (typeof cls !== "string") return value;
  const out: Record<string, unknown> = { ...map };
  if (TUPLE_STATE.has(cls) && Array.isArray(map.state) && !isTuple(map.state)) {
    out.state = tuple(
      ...map.state.map((x) =>
        Array.isArray(x) && !isTuple(x) && cls !== "Pyro5.core.URI" ? tuple(...x) : x
      ),
    );
  }
  if (map.__exception__ === true && Array.isArray(map.args) && !isTuple(map.args)) {
    out.args = tuple(...map.args);
  }
  if (cls === "Pyro5.core._ExceptionWrapper") out.exception = pythonShape(map.exception);
  return out;
}

function isHashable(k: unknown): boolean {
  const t = typeof k;
  return t === "string" || t === "number" || t === "bigint" || t === "boolean" ||
    k instanceof Complex || (isTuple(k) && k.every(isHashable));
}

/** The shared writer, or a fresh one while it is busy (a hook that encodes again). */
let shared: Writer | undefined;

function writerFor(): Writer {
  if (shared === undefined) shared = new Writer();
  return shared.busy ? new Writer() : shared;
}

/**
 * Encodes a value as serpent bytes: the `# serpent` header line, then the Python literal.
 *
 * @example
 * ```ts
 * import { encodeSerpent } from "./serpent_encode.ts";
 * console.log(new TextDecoder().decode(encodeSerpent([1, "a"])));
 * // # serpent utf-8 python3.2
 * // [1,'a']
 * ```
 *
 * @param value The value.
 * @param maxDepth The deepest container nesting allowed.
 * @param framed Return a view into the writer's buffer when small, valid only until the next
 *   encode (for bytes that are framed at once); otherwise the bytes are the caller's.
 * @returns The bytes.
 * @throws {SerializeError} For functions, symbols, unhashable keys, too deep or circular data.
 */
export function encodeSerpent(
  value: unknown,
  maxDepth: number = DEFAULT_MAX_DEPTH,
  framed = false,
): Uint8Array {
  return writerFor().encode(value, maxDepth, framed);
}

/**
 * Encodes a call as serpent bytes, Python's 4-tuple `(object, method, params, kwargs)` behind
 * the header line: the same text as encoding `tuple(object, method, tuple(...params), kwargs)`,
 * without marking arrays as tuples on the way (params stay as given when already a tuple, or
 * for a `<batch>` call's list).
 *
 * @example
 * ```ts
 * import { encodeSerpentCall } from "./serpent_encode.ts";
 * const call = { object: "o", method: "echo", params: ["hi"], kwargs: null };
 * console.log(new TextDecoder().decode(encodeSerpentCall(call)));
 * // # serpent utf-8 python3.2
 * // ('o','echo',('hi',),None)
 * ```
 *
 * @param call The call.
 * @param maxDepth The deepest container nesting allowed.
 * @param framed As for {@linkcode encodeSerpent}.
 * @returns The bytes.
 * @throws {SerializeError} As `encodeSerpent`.
 */
export function encodeSerpentCall(
  call: CallRequest,
  maxDepth: number = DEFAULT_MAX_DEPTH,
  framed = false,
): Uint8Array {
  return writerFor().encodeCall(call, maxDepth, framed);
}

/**
 * Encodes a value as serpent text without the header line.
 *
 * @example
 * ```ts
 * import { encodeSerpentText } from "./serpent_encode.ts";
 * console.log(encodeSerpentText({ a: [1, 2.5, null], b: new Set([1]) })); // {'a':[1,2.5,None],'b':{1}}
 * ```
 *
 * @param value The value.
 * @param maxDepth The deepest container nesting allowed.
 * @returns The Python literal text.
 * @throws {SerializeError} As `encodeSerpent`.
 */
export function encodeSerpentText(value: unknown, maxDepth: number = DEFAULT_MAX_DEPTH): string {
  const bytes = writerFor().encode(value, maxDepth, true);
  return textDecoder.decode(bytes.subarray(HEADER_BYTES.length));
}
