/**
 * Pyro URIs: `PYRO:<objectid>@<location>`, `PYRONAME:<name>[@<location>]` and
 * `PYROMETA:<tag>[,<tag>...][@<location>]`, where a location is `host:port`,
 * `[ipv6]:port` or `./u:<unix socket path>`.
 *
 * Parsing follows Python Pyro5's `Pyro5.core.URI` exactly, including its leniency and its
 * error texts, so that both sides accept the same URIs and print them the same way.
 *
 * @example Parsing and printing
 * ```ts
 * import { URI } from "./uri.ts";
 *
 * const uri = new URI("pyro:thing@[::1]:9999");
 * console.log(uri.protocol, uri.object, uri.host, uri.port); // PYRO thing ::1 9999
 * console.log(uri.toString()); // PYRO:thing@[::1]:9999
 * ```
 *
 * @module
 */

import { PyroError, SerializeError } from "./errors.ts";
import { hostPort } from "./_wire/address.ts";

/** The name server's default TCP port, used for PYRONAME and PYROMETA without a port. */
const NS_PORT = 9090;

/** The URI protocols Pyro knows. */
export type URIProtocol = "PYRO" | "PYRONAME" | "PYROMETA";

/**
 * The serialized state of a URI, as Python's `Pyro5.core.URI` gives it:
 * `[protocol, object, sockname, host, port]`, with the PYROMETA tags as an array.
 */
export type URIState = [
  protocol: string,
  object: string | string[],
  sockname: string | null,
  host: string | null,
  port: number | null,
];

/** The parts that {@linkcode URI.fromParts} builds a URI from. */
export interface URIParts {
  /**
   * The protocol.
   *
   * @default {"PYRO"}
   */
  protocol?: URIProtocol | undefined;
  /**
   * The object id, name, or the PYROMETA tags (a list, or a comma-separated string whose
   * pieces are stripped of surrounding whitespace as Python does).
   */
  object: string | Iterable<string>;
  /** The host name or address (an IPv6 address without brackets). */
  host?: string | null | undefined;
  /** The port; PYRONAME and PYROMETA with a host default to 9090. */
  port?: number | null | undefined;
  /** The Unix domain socket path, instead of host and port. */
  sockname?: string | null | undefined;
}

// Python's `\s` for str patterns (the characters for which str.isspace() is true).
const PY_WS = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029" +
  "\\u202f\\u205f\\u3000";
// Python: (?P<protocol>[Pp][Yy][Rr][Oo][a-zA-Z]*):(?P<object>\S+?)(@(?P<location>.+))?$
// matched from the start; Python's `.` excludes only "\n" and `$` also matches before a final "\n".
const URI_RE = new RegExp(
  `^([Pp][Yy][Rr][Oo][a-zA-Z]*):([^${PY_WS}]+?)(@([^\\n]+))?\\n?$`,
);
// Python: \[([0-9a-fA-F:%]+)](:(\d+))? matched from the start, with Unicode \d.
// Python's str.strip() without arguments.
const PY_STRIP = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, "g");
const IPV6_RE = /^\[([0-9a-fA-F:%]+)\](:(\p{Nd}+))?/u;
// The whitespace Python's int() strips (str.isspace() without \x1c-\x1f).
const INT_WS =
  /^[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
const INT_BODY = /^[+-]?\p{Nd}+(_\p{Nd}+)*$/u;
const ND = /\p{Nd}/u;

/** Up to 15 ASCII digits: exact as a Number, and read by Python's int() the same way. */
const ASCII_INT = /^[0-9]{1,15}$/;

/** Python's int() limit on the number of digits of a decimal string. */
const MAX_INT_DIGITS = 4300;

/** The value of a Unicode decimal digit (Nd digits come in runs of ten, from 0 to 9). */
function digitValue(cp: number): number {
  if (cp >= 0x30 && cp <= 0x39) return cp - 0x30;
  let start = cp;
  while (start > 0 && ND.test(String.fromCodePoint(start - 1)) && cp - start < 60) start--;
  return (cp - start) % 10;
}

/** Python's `int(text)` for base 10; null where Python raises ValueError. */
function pythonInt(text: string): number | null {
  if (ASCII_INT.test(text)) return Number(text); // the common case: plain ASCII digits
  const s = text.replace(INT_WS, "");
  if (!INT_BODY.test(s)) return null;
  let sign = 1;
  let digits = s;
  if (s[0] === "+" || s[0] === "-") {
    if (s[0] === "-") sign = -1;
    digits = s.slice(1);
  }
  let value = 0n;
  let count = 0;
  for (const ch of digits) {
    if (ch === "_") continue;
    value = value * 10n + BigInt(digitValue(ch.codePointAt(0)!));
    count++;
  }
  if (count > MAX_INT_DIGITS) return null;
  const n = Number(value) * sign;
  return Object.is(n, -0) ? 0 : n;
}

/** The fields of a URI, as parses share them and {@linkcode URI.fromParts} builds them. */
class Fields {
  constructor(
    readonly protocol: URIProtocol,
    readonly object: string,
    readonly tags: ReadonlySet<string>,
    readonly host: string | null,
    readonly port: number | null,
    readonly sockname: string | null,
  ) {}
}

interface Location {
  host: string | null;
  port: number | null;
  sockname: string | null;
}

const NO_TAGS: ReadonlySet<string> = new Set();

function isProtocol(p: string): p is URIProtocol {
  return p === "PYRO" || p === "PYRONAME" || p === "PYROMETA";
}

function parseLocation(location: string | undefined, defaultPort: number | null): Location {
  if (!location) return { host: null, port: null, sockname: null };
  if (location.startsWith("./u:")) {
    const sockname = location.slice(4);
    if (!sockname || sockname.includes(":")) throw new PyroError("invalid uri (location)");
    return { host: null, port: null, sockname };
  }
  let host: string;
  let portText: string | undefined;
  if (location.startsWith("[")) {
    if (location.startsWith("[[")) {
      throw new PyroError("invalid ipv6 address: enclosed in too many brackets");
    }
    const m = IPV6_RE.exec(location);
    if (!m) {
      throw new PyroError(
        "invalid ipv6 address: the part between brackets must be a numeric ipv6 address",
      );
    }
    host = m[1]!;
    portText = m[3];
  } else {
    const colon = location.indexOf(":");
    host = colon < 0 ? location : location.slice(0, colon);
    portText = colon < 0 ? "" : location.slice(colon + 1);
  }
  let port: number | null;
  if (!portText) {
    if (defaultPort === null) throw new PyroError("invalid port in uri, port=None");
    port = defaultPort;
  } else {
    port = pythonInt(portText);
    if (port === null) throw new PyroError("invalid port in uri, port=" + portText);
  }
  return { host, port, sockname: null };
}

/**
 * Strings parsed lately (a Name Server hands out the same URIs over and over, and a proxy revives
 * them from every reply). Fields are immutable, so parses share them. Bounded: cleared when full.
 */
const parsed = new Map<string, Fields>();
const PARSED_MAX = 1024;

function parse(uri: string): Fields {
  let f = parsed.get(uri);
  if (f === undefined) {
    f = parseText(uri);
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(uri, f);
  }
  return f;
}

function parseText(uri: string): Fields {
  const match = URI_RE.exec(uri);
  if (!match) throw new PyroError("invalid uri");
  const protocol = match[1]!.toUpperCase();
  let object = match[2]!;
  const location = match[4];
  let tags = NO_TAGS;
  let at: Location;
  if (protocol === "PYRONAME") at = parseLocation(location, NS_PORT);
  else if (protocol === "PYRO") {
    if (!location) throw new PyroError("invalid uri");
    at = parseLocation(location, null);
  } else if (protocol === "PYROMETA") {
    // The object part holds no whitespace (the regex excludes it), so Python's strip() is moot.
    tags = new Set(object.split(","));
    object = [...tags].join(",");
    at = parseLocation(location, NS_PORT);
  } else throw new PyroError("invalid uri (protocol)");
  return new Fields(protocol, object, tags, at.host, at.port, at.sockname);
}

function badState(what: string): SerializeError {
  return new SerializeError(`invalid URI state: ${what}`);
}

function isNameOrNull(v: unknown): v is string | null | undefined {
  return v === null || v === undefined || typeof v === "string";
}

function sameTags(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const t of a) if (!b.has(t)) return false;
  return true;
}

/**
 * A Pyro URI, parsed with Python Pyro5's rules. Instances are immutable.
 *
 * @example A name server lookup URI gets the default port
 * ```ts
 * import { URI } from "./uri.ts";
 * const uri = new URI("PYRONAME:example.greeting@localhost");
 * console.log(uri.toString()); // PYRONAME:example.greeting@localhost:9090
 * ```
 */
export class URI {
  /** The protocol, always upper case. */
  readonly protocol: URIProtocol;
  /** The object id (PYRO), the logical name (PYRONAME), or the tags joined with `,` (PYROMETA). */
  readonly object: string;
  /** The PYROMETA tags; empty for the other protocols. */
  readonly tags: ReadonlySet<string>;
  /** The host (an IPv6 address without brackets), or null. May be empty, as Python allows. */
  readonly host: string | null;
  /** The port, or null for Unix sockets and name-server URIs without a location. */
  readonly port: number | null;
  /** The Unix domain socket path, or null. */
  readonly sockname: string | null;

  /**
   * Parses a URI string, or copies another URI.
   *
   * @example
   * ```ts
   * import { URI } from "./uri.ts";
   * const uri = new URI("PYRO:obj@./u:/tmp/pyro.sock");
   * console.log(uri.sockname); // /tmp/pyro.sock
   * ```
   *
   * @param uri The URI text or a URI.
   * @throws {PyroError} With Python's texts: `"invalid uri"`, `"invalid uri (protocol)"`,
   *   `"invalid uri (location)"`, `"invalid ipv6 address: ..."`, `"invalid port in uri,
   *   port=..."`.
   * @throws {TypeError} When `uri` is neither a string nor a URI.
   */
  constructor(uri: string | URI) {
    const given: unknown = uri;
    let f: Fields;
    if (typeof given === "string") f = parse(given);
    else if (given instanceof URI || given instanceof Fields) f = given; // Fields: from build()
    else throw new TypeError("uri parameter object is of wrong type");
    this.protocol = f.protocol;
    this.object = f.object;
    this.tags = f.tags;
    this.host = f.host;
    this.port = f.port;
    this.sockname = f.sockname;
  }

  /**
   * The location: `host:port`, `[ipv6]:port`, `./u:path`, or null when there is none (this
   * includes an empty host, as in Python).
   *
   * @example
   * ```ts
   * import { URI } from "./uri.ts";
   * console.log(new URI("PYRO:obj@localhost:4444").location); // localhost:4444
   * ```
   */
  get location(): string | null {
    if (this.host) {
      return hostPort(this.host, this.port);
    }
    if (this.sockname) return "./u:" + this.sockname;
    return null;
  }

  /**
   * The string form `PROTOCOL:object@location` (without `@location` when there is none).
   *
   * @example
   * ```ts
   * import { URI } from "./uri.ts";
   * console.log(String(new URI("pyrometa:a,b@ns:1"))); // PYROMETA:a,b@ns:1
   * ```
   *
   * @returns The URI text, as Python prints it.
   */
  toString(): string {
    const location = this.location;
    const head = `${this.protocol}:${this.object}`;
    return location === null ? head : `${head}@${location}`;
  }

  /**
   * Tells whether two URIs have the same protocol, object (or tag set), sockname, host and
   * port. A string is parsed first; an invalid string is never equal.
   *
   * @example
   * ```ts
   * import { URI } from "./uri.ts";
   * console.log(new URI("pyro:o@h:1").equals("PYRO:o@h:1")); // true
   * ```
   *
   * @param other The URI to compare with.
   * @returns True when equal.
   */
  equals(other: URI | string): boolean {
    let o: URI;
    try {
      o = other instanceof URI ? other : new URI(other);
    } catch {
      return false;
    }
    return this.protocol === o.protocol &&
      (this.protocol === "PYROMETA" ? sameTags(this.tags, o.tags) : this.object === o.object) &&
      this.sockname === o.sockname && this.host === o.host && this.port === o.port;
  }

  /**
   * The serialized state `[protocol, object, sockname, host, port]` of Python's
   * `Pyro5.core.URI`; for PYROMETA the object slot is the array of tags.
   *
   * @example
   * ```ts
   * import { URI } from "./uri.ts";
   * console.log(new URI("PYRO:obj@host:1234").toState()); // [ "PYRO", "obj", null, "host", 1234 ]
   * ```
   *
   * @returns The state tuple.
   */
  toState(): URIState {
    const object = this.protocol === "PYROMETA" ? [...this.tags] : this.object;
    return [this.protocol, object, this.sockname, this.host, this.port];
  }

  /**
   * Rebuilds a URI from the state of a serialized `Pyro5.core.URI`.
   *
   * @example
   * ```ts
   * import { URI } from "./uri.ts";
   * const uri = URI.fromState(["PYRO", "obj", null, "host", 1234]);
   * console.log(uri.toString()); // PYRO:obj@host:1234
   * ```
   *
   * @param state The decoded state: an array of five items (tags as an array or a set).
   * @returns The URI.
   * @throws {SerializeError} When the state has the wrong shape.
   */
  static fromState(state: unknown): URI {
    if (!Array.isArray(state) || state.length !== 5) throw badState("expected 5 items");
    const protocol: unknown = state[0];
    const object: unknown = state[1];
    const sockname: unknown = state[2];
    const host: unknown = state[3];
    const rawPort: unknown = state[4];
    if (typeof protocol !== "string" || !isProtocol(protocol)) throw badState("protocol");
    if (!isNameOrNull(sockname) || !isNameOrNull(host)) throw badState("sockname or host");
    let port: number | null;
    if (rawPort === null || rawPort === undefined) port = null;
    else if (typeof rawPort === "number" && Number.isInteger(rawPort)) port = rawPort;
    else if (typeof rawPort === "bigint") port = Number(rawPort);
    else throw badState("port");
    if (typeof object === "string") {
      return build(protocol, object, host ?? null, port, sockname ?? null);
    }
    if (protocol !== "PYROMETA" || !(Array.isArray(object) || object instanceof Set)) {
      throw badState("object");
    }
    const tagList = [...(object as Iterable<unknown>)].map((t) => {
      if (typeof t !== "string") throw badState("tags");
      return t;
    });
    return build(protocol, tagList, host ?? null, port, sockname ?? null);
  }

  /**
   * Builds a URI from its parts without parsing text. PYRONAME and PYROMETA with a host and
   * no port get port 9090.
   *
   * @example
   * ```ts
   * import { URI } from "./uri.ts";
   * const uri = URI.fromParts({ object: "thing", host: "::1", port: 5000 });
   * console.log(uri.toString()); // PYRO:thing@[::1]:5000
   * ```
   *
   * @param parts The protocol, object, and either host and port or a socket path.
   * @returns The URI.
   * @throws {PyroError} `"invalid uri"` for a PYRO URI without a location, `"invalid port in
   *   uri, port=None"` for a PYRO host without a port.
   */
  static fromParts(parts: URIParts): URI {
    const protocol = parts.protocol ?? "PYRO";
    if (!isProtocol(protocol)) throw new PyroError("invalid uri (protocol)");
    return build(
      protocol,
      parts.object,
      parts.host ?? null,
      parts.port ?? null,
      parts.sockname ?? null,
    );
  }

  /** Shows the URI text in `console.log` and `Deno.inspect`. */
  [Symbol.for("Deno.customInspect")](): string {
    return `URI <${this.toString()}>`;
  }
}

/** {@linkcode URI.fromParts} once the protocol is known: checks the parts and builds the URI. */
function build(
  protocol: URIProtocol,
  parts: string | Iterable<string>,
  host: string | null,
  port: number | null,
  sockname: string | null,
): URI {
  let object: string;
  let tags = NO_TAGS;
  if (protocol === "PYROMETA") {
    tags = new Set(
      typeof parts === "string" ? parts.split(",").map((t) => t.replace(PY_STRIP, "")) : parts,
    );
    object = [...tags].join(",");
  } else if (typeof parts === "string") {
    object = parts;
  } else {
    throw new TypeError("Cannot build URI: the object must be a string");
  }
  if (host !== null && port === null) {
    if (protocol === "PYRO") throw new PyroError("invalid port in uri, port=None");
    port = NS_PORT;
  }
  if (protocol === "PYRO" && host === null && sockname === null) {
    throw new PyroError("invalid uri");
  }
  // The constructor copies the fields, so that every URI has the same object shape.
  return new URI(new Fields(protocol, object, tags, host, port, sockname) as unknown as URI);
}

/**
 * Tells whether a value is a {@linkcode URI}.
 *
 * @example
 * ```ts
 * import { isURI, URI } from "./uri.ts";
 * console.log(isURI(new URI("PYRO:o@h:1")), isURI("PYRO:o@h:1")); // true false
 * ```
 *
 * @param value Any value.
 * @returns True for a URI instance.
 */
export function isURI(value: unknown): value is URI {
  return value instanceof URI;
}
