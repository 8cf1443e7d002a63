/**
 * Pyro's error classes, named as in Python Pyro5 (`Pyro5.errors`), and the mapping of
 * exceptions to and from the wire form that Pyro5 uses for remote errors.
 *
 * Every error that the library raises for a protocol, network or naming problem is a
 * {@linkcode PyroError}. An exception raised by a remote method that is not a Pyro error
 * arrives as a {@linkcode RemoteError} carrying the remote class name, arguments,
 * attributes and traceback.
 *
 * @example Catching a remote error
 * ```ts
 * import { RemoteError } from "./errors.ts";
 *
 * try {
 *   throw new RemoteError("builtins.ValueError", ["bad value"]);
 * } catch (e) {
 *   if (e instanceof RemoteError && e.remoteClass === "builtins.ValueError") {
 *     console.log("the server refused the value:", e.message);
 *   }
 * }
 * ```
 *
 * @module
 */

import { markTuple } from "./value.ts";

/** Options accepted by every Pyro error constructor. */
export interface PyroErrorOptions extends ErrorOptions {
  /** Lines of the remote traceback, when the error came over the wire. */
  remoteTraceback?: readonly string[];
}

/**
 * The base class of every Pyro error (Pyro5's `PyroError`).
 *
 * @example Catching any Pyro failure
 * ```ts
 * import { PyroError } from "./errors.ts";
 *
 * try {
 *   throw new PyroError("invalid uri");
 * } catch (e) {
 *   console.log(e instanceof PyroError); // true
 * }
 * ```
 */
export class PyroError extends Error {
  /** Traceback lines sent by the remote side, if this error came over the wire. */
  remoteTraceback: readonly string[] | undefined;
  /**
   * The class name, as in Pyro5. Each subclass sets its own, and shares this constructor (a
   * message, then the cause and the remote traceback).
   */
  override name = "PyroError";

  /**
   * Makes an error with a message and, optionally, a cause and a remote traceback.
   *
   * @param message What went wrong.
   * @param options The cause and remote traceback, if any.
   */
  constructor(message = "", options?: PyroErrorOptions) {
    super(message, options);
    this.remoteTraceback = options?.remoteTraceback;
  }
}

/**
 * A problem with the name server or a name (Pyro5's `NamingError`).
 *
 * @example
 * ```ts
 * import { NamingError } from "./errors.ts";
 * const e = new NamingError("unknown name: example.thing");
 * console.log(e.name); // "NamingError"
 * ```
 */
export class NamingError extends PyroError {
  /** The class name, as in Pyro5. */
  override name = "NamingError";
}

/**
 * A daemon-side registration or lookup problem, such as "unknown object" (Pyro5's `DaemonError`).
 *
 * @example
 * ```ts
 * import { DaemonError } from "./errors.ts";
 * const e = new DaemonError("unknown object");
 * console.log(e.message);
 * ```
 */
export class DaemonError extends PyroError {
  /** The class name, as in Pyro5. */
  override name = "DaemonError";
}

/**
 * A refusal for security reasons (Pyro5's `SecurityError`).
 *
 * @example
 * ```ts
 * import { SecurityError } from "./errors.ts";
 * const e = new SecurityError("handshake refused");
 * console.log(e.name); // "SecurityError"
 * ```
 */
export class SecurityError extends PyroError {
  /** The class name, as in Pyro5. */
  override name = "SecurityError";
}

/**
 * A network-level problem (Pyro5's `CommunicationError`), for example a refused connection or
 * a handshake rejected by the daemon.
 *
 * @example
 * ```ts
 * import { CommunicationError } from "./errors.ts";
 * const e = new CommunicationError("Cannot connect to PYRO:obj@127.0.0.1:9999: connection refused");
 * console.log(e.message);
 * ```
 */
export class CommunicationError extends PyroError {
  /** The class name, as in Pyro5. */
  override name = "CommunicationError";
}

/**
 * The connection was closed or lost (Pyro5's `ConnectionClosedError`).
 *
 * @example
 * ```ts
 * import { ConnectionClosedError } from "./errors.ts";
 * const e = new ConnectionClosedError("receiving: not enough data");
 * console.log(e.name); // "ConnectionClosedError"
 * ```
 */
export class ConnectionClosedError extends CommunicationError {
  /** The class name, as in Pyro5. */
  override name = "ConnectionClosedError";
}

/**
 * A call or connection did not finish in time (Pyro5's `TimeoutError`, not the built-in one).
 *
 * @example
 * ```ts
 * import { TimeoutError } from "./errors.ts";
 * const e = new TimeoutError("receiving: timeout");
 * console.log(e.name); // "TimeoutError"
 * ```
 */
export class TimeoutError extends CommunicationError {
  /** The class name, as in Pyro5. */
  override name = "TimeoutError";
}

/**
 * Malformed or unexpected protocol data (Pyro5's `ProtocolError`).
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./errors.ts";
 * const e = new ProtocolError("invalid data");
 * console.log(e.name); // "ProtocolError"
 * ```
 */
export class ProtocolError extends CommunicationError {
  /** The class name, as in Pyro5. */
  override name = "ProtocolError";
}

/**
 * A message larger than the configured maximum (Pyro5's `MessageTooLargeError`).
 *
 * @example
 * ```ts
 * import { MessageTooLargeError, ProtocolError } from "./errors.ts";
 * const e = new MessageTooLargeError("message too large (2000, max=1000)");
 * console.log(e instanceof ProtocolError); // true
 * ```
 */
export class MessageTooLargeError extends ProtocolError {
  /** The class name, as in Pyro5. */
  override name = "MessageTooLargeError";
}

/**
 * A value could not be serialized or deserialized (Pyro5's `SerializeError`).
 *
 * @example
 * ```ts
 * import { SerializeError } from "./errors.ts";
 * const e = new SerializeError("unsupported serialized class: demo.Thing");
 * console.log(e.name); // "SerializeError"
 * ```
 */
export class SerializeError extends ProtocolError {
  /** The class name, as in Pyro5. */
  override name = "SerializeError";
}

/**
 * An exception raised by a remote method that has no Pyro error class of its own, for
 * example a Python `ValueError` or a TypeScript `Error` thrown by a served object.
 *
 * @example Branching on the remote class
 * ```ts
 * import { RemoteError } from "./errors.ts";
 * const e = new RemoteError("builtins.KeyError", ["missing"], {}, ["Traceback ...\n"]);
 * console.log(e.remoteClass, e.message); // builtins.KeyError missing
 * ```
 */
export class RemoteError extends Error {
  /** The remote class name as sent, e.g. `builtins.ValueError` or `demo.CustomError`. */
  readonly remoteClass: string;
  /** The exception's arguments (Python's `exc.args`). */
  readonly args: readonly unknown[];
  /** The exception's attributes other than the traceback. */
  readonly attributes: Readonly<Record<string, unknown>>;
  /** The remote traceback lines, if the server sent them. */
  readonly remoteTraceback: readonly string[] | undefined;

  /**
   * Makes a remote error.
   *
   * @param remoteClass The remote class name.
   * @param args The exception's arguments.
   * @param attributes Extra attributes of the exception.
   * @param remoteTraceback Traceback lines.
   */
  constructor(
    remoteClass: string,
    args: readonly unknown[] = [],
    attributes: Readonly<Record<string, unknown>> = {},
    remoteTraceback?: readonly string[],
  ) {
    super(messageFromArgs(args));
    this.name = remoteClass.slice(remoteClass.lastIndexOf(".") + 1) || "RemoteError";
    this.remoteClass = remoteClass;
    this.args = args;
    this.attributes = attributes;
    this.remoteTraceback = remoteTraceback;
  }
}

/** The wire form of an exception (section 2.6.4 of the protocol reference). */
export interface ExceptionDict {
  /** Remote class name. */
  __class__: string;
  /** Always true. */
  __exception__: true;
  /** Constructor arguments. */
  args: unknown[];
  /** Attributes, including `_pyroTraceback`. */
  attributes: Record<string, unknown>;
}

const PYRO_ERRORS: Record<string, new (message: string, options?: PyroErrorOptions) => PyroError> =
  {
    PyroError,
    NamingError,
    DaemonError,
    SecurityError,
    CommunicationError,
    ConnectionClosedError,
    TimeoutError,
    ProtocolError,
    MessageTooLargeError,
    SerializeError,
  };

/** Python builtin exception names a TypeScript error may carry to travel as `builtins.<name>`. */
const PYTHON_BUILTINS = new Set([
  "Exception",
  "ArithmeticError",
  "AssertionError",
  "AttributeError",
  "BufferError",
  "EOFError",
  "FloatingPointError",
  "IOError",
  "ImportError",
  "IndexError",
  "KeyError",
  "LookupError",
  "MemoryError",
  "NameError",
  "NotImplementedError",
  "OSError",
  "OverflowError",
  "PermissionError",
  "FileNotFoundError",
  "ConnectionError",
  "RecursionError",
  "RuntimeError",
  "StopIteration",
  "StopAsyncIteration",
  "TypeError",
  "UnicodeError",
  "ValueError",
  "ZeroDivisionError",
]);

/** JavaScript built-in error names and the Python builtin they travel as. */
const JS_TO_PYTHON: Record<string, string> = {
  Error: "Exception",
  TypeError: "TypeError",
  RangeError: "ValueError",
  SyntaxError: "ValueError",
  ReferenceError: "NameError",
  URIError: "ValueError",
  EvalError: "RuntimeError",
  AggregateError: "RuntimeError",
};

function messageFromArgs(args: readonly unknown[]): string {
  if (args.length === 0) return "";
  if (args.length === 1) return String(args[0]);
  return "(" + args.map((a) => typeof a === "string" ? `'${a}'` : String(a)).join(", ") + ")";
}

/**
 * Turns a JavaScript stack trace into Python-style traceback lines, each ending in a newline.
 *
 * @param error The error to describe.
 * @returns The traceback lines.
 */
function tracebackLines(error: Error, pythonName: string): string[] {
  const lines = ["Traceback (most recent call last), TypeScript stack:\n"];
  const stack = error.stack?.split("\n").slice(1) ?? [];
  for (const line of stack) lines.push(`  ${line.trim()}\n`);
  lines.push(`${pythonName}: ${error.message}\n`);
  return lines;
}

/**
 * Converts an error into Pyro5's exception map so that it can be sent to any Pyro peer.
 *
 * Pyro errors travel as `Pyro5.errors.<Name>`, JavaScript built-in errors as the nearest
 * Python builtin (`TypeError` as `builtins.TypeError`, `RangeError` as `builtins.ValueError`,
 * a plain `Error` as `builtins.Exception`), errors whose `name` is a Python builtin exception
 * name as that builtin, and any other class as `builtins.RuntimeError` with its TypeScript
 * class name in the attribute `tsClass`. A {@linkcode RemoteError} keeps its remote class.
 *
 * @example
 * ```ts
 * import { errorToDict } from "./errors.ts";
 * const d = errorToDict(new RangeError("out of range"));
 * console.log(d.__class__); // "builtins.ValueError"
 * ```
 *
 * @param error The thrown value.
 * @param traceback Whether to include the stack as `_pyroTraceback`.
 * @returns The exception map.
 */
export function errorToDict(error: unknown, traceback = true): ExceptionDict {
  if (error instanceof RemoteError) {
    return {
      __class__: error.remoteClass,
      __exception__: true,
      args: markTuple([...error.args]),
      attributes: { ...error.attributes, _pyroTraceback: error.remoteTraceback ?? null },
    };
  }
  if (!(error instanceof Error)) {
    return {
      __class__: "builtins.Exception",
      __exception__: true,
      args: markTuple([String(error)]),
      attributes: { _pyroTraceback: null },
    };
  }
  let className: string;
  const attributes: Record<string, unknown> = {};
  if (error instanceof PyroError && PYRO_ERRORS[error.name]) {
    className = `Pyro5.errors.${error.name}`;
  } else if (PYTHON_BUILTINS.has(error.name)) {
    className = `builtins.${error.name}`;
  } else if (Object.hasOwn(JS_TO_PYTHON, error.name) && error.constructor.name === error.name) {
    className = `builtins.${JS_TO_PYTHON[error.name]}`;
  } else {
    className = "builtins.RuntimeError";
    attributes.tsClass = error.name;
  }
  const shortName = className.slice(className.lastIndexOf(".") + 1);
  attributes._pyroTraceback = traceback && error.stack ? tracebackLines(error, shortName) : null;
  const args = markTuple<unknown>([error.message]); // Python's exception args are a tuple
  return { __class__: className, __exception__: true, args, attributes };
}

/**
 * Tells whether a decoded map is Pyro5's exception form.
 *
 * @example
 * ```ts
 * import { isExceptionDict } from "./errors.ts";
 * console.log(isExceptionDict({ __class__: "builtins.ValueError", __exception__: true, args: [] })); // true
 * ```
 *
 * @param value A decoded value.
 * @returns True when the value is an exception map.
 */
export function isExceptionDict(value: unknown): value is ExceptionDict {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.__class__ !== "string") return false;
  return v.__exception__ === true || v.__class__.startsWith("Pyro5.errors.");
}

/**
 * Rebuilds an error from Pyro5's exception map: a Pyro error class for `Pyro5.errors.<Name>`
 * (and for bare Pyro error names), a {@linkcode RemoteError} for everything else.
 *
 * @example
 * ```ts
 * import { dictToError, NamingError } from "./errors.ts";
 * const e = dictToError({
 *   __class__: "Pyro5.errors.NamingError",
 *   __exception__: true,
 *   args: ["unknown name: x"],
 *   attributes: { _pyroTraceback: ["Traceback...\n"] },
 * });
 * console.log(e instanceof NamingError, e.message); // true "unknown name: x"
 * ```
 *
 * @param dict The decoded exception map.
 * @returns The error.
 */
export function dictToError(dict: ExceptionDict): Error {
  const args = Array.isArray(dict.args) ? dict.args : [];
  const rawAttributes = typeof dict.attributes === "object" && dict.attributes !== null
    ? dict.attributes
    : {};
  const { _pyroTraceback, ...attributes } = rawAttributes;
  const traceback = Array.isArray(_pyroTraceback)
    ? _pyroTraceback.map((l) => String(l))
    : undefined;
  const className = dict.__class__;
  const shortName = className.startsWith("Pyro5.errors.")
    ? className.slice("Pyro5.errors.".length)
    : className.includes(".")
    ? undefined
    : className;
  const pyroClass = shortName === undefined ? undefined : PYRO_ERRORS[shortName];
  if (pyroClass && Object.hasOwn(PYRO_ERRORS, shortName!)) {
    const error = new pyroClass(
      messageFromArgs(args),
      traceback ? { remoteTraceback: traceback } : {},
    );
    Object.assign(error, { remoteAttributes: attributes });
    return error;
  }
  return new RemoteError(className, args, attributes, traceback);
}

/**
 * Formats an error with its remote traceback, the way Pyro5's `get_pyro_traceback` does.
 *
 * @example
 * ```ts
 * import { formatRemoteTraceback, RemoteError } from "./errors.ts";
 * const e = new RemoteError("builtins.ValueError", ["bad"], {}, ["Traceback (most recent call last):\n", "ValueError: bad\n"]);
 * console.log(formatRemoteTraceback(e));
 * ```
 *
 * @param error The error.
 * @returns The local description followed by the remote traceback, if any.
 */
export function formatRemoteTraceback(error: unknown): string {
  const local = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const remote = (error as { remoteTraceback?: readonly string[] } | null)?.remoteTraceback;
  if (!remote) return local;
  return `${local}\n +--- This exception occurred remotely (Pyro) - Remote traceback:\n | ${
    remote.join("").trimEnd().split("\n").join("\n | ")
  }\n +--- End of remote traceback`;
}
