/**
 * Pyro's test echo server, compatible with Python Pyro5's `python -m Pyro5.utils.echoserver`:
 * the same object name (`test.echoserver`), methods, attribute, private members and flags.
 *
 * ```sh
 * deno run -A cli/echoserver.ts -H 127.0.0.1 -p 0      # prints the URI to call
 * deno run -A cli/echoserver.ts -N -v                  # also starts a name server
 * ```
 *
 * Flags: `-H/--host` (default `localhost`), `-p/--port` (default 0), `-u/--unixsocket PATH`,
 * `-n/--naming` (register with a name server), `-N/--nameserver` (start one, implies `-n`),
 * `-v/--verbose`, `-q/--quiet`, `-h/--help`.
 *
 * @example Running the echo server in-process
 * ```ts
 * import { startEchoServer } from "./echoserver.ts";
 *
 * const server = await startEchoServer({ host: "127.0.0.1", quiet: true });
 * console.log(server.uri.toString()); // PYRO:test.echoserver@127.0.0.1:<port>
 * await server.daemon.close();
 * ```
 *
 * @module
 */

import { stopSignal } from "../_daemon/stop_signal.ts";
import { parseArgs } from "node:util";
import { Daemon } from "../daemon.ts";
import { expose, oneway } from "../expose.ts";
import type { URI } from "../uri.ts";

/** The object name the echo server registers, as in Pyro5. */
export const ECHO_OBJECT_NAME = "test.echoserver";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Python's `time.asctime()`: `Fri Nov 27 02:22:14 2026`. */
function asctime(d = new Date()): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}

function pythonError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The echo server object (Pyro5's `EchoServer`). With `verbose` on, it prints the calls it
 * gets. `_private` and `__private` are never reachable remotely; `__dunder__` is (a dunder).
 *
 * @example
 * ```ts
 * import { EchoServer } from "./echoserver.ts";
 * const echo = new EchoServer();
 * console.log(echo.echo("hi")); // "hi"
 * ```
 */
@expose
export class EchoServer {
  #verbose = false;
  #mustShutdown = false;
  #onShutdown: (() => void) | undefined;

  /**
   * Makes an echo server object.
   *
   * @param onShutdown Called when a client calls `shutdown()`.
   */
  constructor(onShutdown?: () => void) {
    this.#onShutdown = onShutdown;
  }

  #print(text: string): void {
    if (this.#verbose) console.log(`${asctime()} - ${text}`);
  }

  /** Returns the message. */
  echo(message: unknown): unknown {
    this.#print(`echo: ${Deno.inspect(message)}`);
    return message;
  }

  /** Raises a ValueError. */
  error(): never {
    this.#print("error: generating exception");
    throw pythonError("ValueError", "this is the generated error from echoserver echo() method");
  }

  /** Raises a ValueError with a message. */
  error_with_text(): never {
    this.#print("error: generating exception");
    throw pythonError("ValueError", "the message of the error");
  }

  /** Like echo, but oneway: the client does not wait. */
  @oneway
  oneway_echo(message: unknown): string {
    this.#print(`oneway_echo: ${Deno.inspect(message)}`);
    return "bogus return value";
  }

  /** Answers after 5 seconds. */
  async slow(): Promise<string> {
    this.#print("slow: waiting a bit...");
    await delay(5000);
    this.#print("slow: returning result");
    return "Finally, an answer!";
  }

  /** Yields three items, streamed to the caller. */
  *generator(): Generator<string> {
    yield "one";
    yield "two";
    yield "three";
  }

  /** Returns NaN. */
  nan(): number {
    return NaN;
  }

  /** Returns infinity. */
  inf(): number {
    return Infinity;
  }

  /** Finishes after 5 seconds; oneway, so the client does not wait. */
  @oneway
  async oneway_slow(): Promise<string> {
    this.#print("oneway_slow: waiting a bit...");
    await delay(5000);
    this.#print("oneway_slow: returning result");
    return "bogus return value";
  }

  /** A private method: never reachable remotely. */
  _private(): string {
    return "should not be allowed";
  }

  /** Another private method: never reachable remotely. */
  __private(): string {
    return "should not be allowed";
  }

  /** A dunder method: reachable remotely, as in Pyro5. */
  __dunder__(): string {
    return "should be allowed (dunder)";
  }

  /** Asks the server to shut down (after this call's reply). */
  shutdown(): void {
    this.#print("shutting down");
    this.#mustShutdown = true;
    this.#onShutdown?.();
  }

  /** Whether `shutdown()` was called. */
  get mustShutdown(): boolean {
    return this.#mustShutdown;
  }

  /** Prints the calls it gets when true (a remote attribute). */
  get verbose(): boolean {
    return this.#verbose;
  }

  set verbose(onoff: boolean) {
    this.#verbose = Boolean(onoff);
  }
}

/** Options of {@linkcode startEchoServer}. */
export interface EchoServerOptions {
  /** Host to bind. @default {"localhost"} */
  host?: string;
  /** Port to bind; 0 picks a free one. @default {0} */
  port?: number;
  /** Unix domain socket to bind instead of TCP. */
  unixSocket?: string;
  /** Register with a name server. @default {false} */
  naming?: boolean;
  /** Also start a name server (implies `naming`). @default {false} */
  nameserver?: boolean;
  /** Port of the started name server. @default {config.NS_PORT} */
  nsPort?: number;
  /** Start the name server's broadcast responder. @default {true} */
  nsBroadcast?: boolean;
  /** Print every call. @default {false} */
  verbose?: boolean;
  /** Print nothing. @default {false} */
  quiet?: boolean;
}

/** A running echo server. */
export interface RunningEchoServer extends AsyncDisposable {
  /** The daemon serving it. */
  readonly daemon: Daemon;
  /** The echo object. */
  readonly echo: EchoServer;
  /** Its URI. */
  readonly uri: URI;
  /** The URI of the name server started with it, or null. */
  readonly nameServerUri: URI | null;
  /** Closes the daemon and the name server started with it, if any. */
  close(): Promise<void>;
}

/** The Python signatures of the echo server's methods, checked on every call as Pyro5's are. */
const ECHO_SIGNATURES: Readonly<Record<string, readonly string[]>> = {
  echo: ["message"],
  oneway_echo: ["message"],
  error: [],
  error_with_text: [],
  slow: [],
  generator: [],
  nan: [],
  inf: [],
  oneway_slow: [],
  shutdown: [],
};

/**
 * Starts the echo server (Pyro5's `main(returnWithoutLooping=True)`), printing the start-up
 * lines unless quiet.
 *
 * @example
 * ```ts
 * import { startEchoServer } from "./echoserver.ts";
 * await using server = await startEchoServer({ host: "127.0.0.1", quiet: true });
 * console.log(server.echo.echo(42)); // 42
 * ```
 *
 * @param options Where to listen, naming and output.
 * @returns The running server.
 */
export async function startEchoServer(options: EchoServerOptions = {}): Promise<RunningEchoServer> {
  const quiet = options.verbose ? false : options.quiet ?? false;
  const verbose = options.verbose ?? false;
  const say = (text: string) => {
    if (!quiet) console.log(text);
  };
  say("Starting Pyro's built-in test echo server.");
  const host = options.host ?? "localhost";
  const naming = (options.naming ?? false) || (options.nameserver ?? false);
  let closeNameServer: (() => Promise<void>) | undefined;
  let nsHost: string | undefined;
  let nsPort: number | undefined;
  let nameServerUri: URI | null = null;
  if (options.nameserver) {
    const { startNameServer } = await import("../naming.ts");
    const ns = await startNameServer({
      host,
      ...(options.nsPort !== undefined ? { port: options.nsPort } : {}),
      broadcast: options.nsBroadcast ?? true,
    });
    closeNameServer = () => ns.close();
    nameServerUri = ns.uri;
    nsHost = ns.uri.host ?? undefined;
    nsPort = ns.uri.port ?? undefined;
  }
  let daemon: Daemon;
  try {
    daemon = new Daemon(
      options.unixSocket !== undefined
        ? { unixSocket: options.unixSocket }
        : { host, port: options.port ?? 0 },
    );
  } catch (e) {
    await closeNameServer?.();
    throw e;
  }
  const echo = new EchoServer(() => void daemon.close());
  echo.verbose = verbose;
  const uri = daemon.register(echo, { id: ECHO_OBJECT_NAME, params: ECHO_SIGNATURES });
  const close = async () => {
    await daemon.close();
    await closeNameServer?.();
  };
  try {
    if (naming) {
      const { locateNS } = await import("../locate.ts");
      await using ns = await locateNS(nsHost ?? null, nsPort ?? null);
      await ns.register(ECHO_OBJECT_NAME, uri.toString());
      if (verbose) say(`using name server at ${ns._pyroUri}`);
    } else if (verbose) {
      say("not using a name server.");
    }
  } catch (e) {
    await close();
    throw e;
  }
  say(`object name: ${ECHO_OBJECT_NAME}`);
  say(`echo uri: ${uri}`);
  say("echoserver running.");
  return { daemon, echo, uri, nameServerUri, close, [Symbol.asyncDispose]: close };
}

const HELP = `usage: echoserver [-h] [-H HOST] [-p PORT] [-u UNIXSOCKET] [-n] [-N] [-v] [-q]

Pyro test echo/nameserver command line launcher.

options:
  -h, --help            show this help message and exit
  -H HOST, --host HOST  hostname to bind server on (default=localhost)
  -p PORT, --port PORT  port to bind server on
  -u UNIXSOCKET, --unixsocket UNIXSOCKET
                        Unix domain socket name to bind server on
  -n, --naming          register with nameserver
  -N, --nameserver      also start a nameserver
  -v, --verbose         verbose output
  -q, --quiet           don't output anything`;

/**
 * Runs the echo server from command-line arguments until a client calls `shutdown()` or the
 * process gets SIGINT.
 *
 * @example
 * ```ts ignore
 * import { main } from "./echoserver.ts";
 * Deno.exit(await main(["-H", "127.0.0.1", "-p", "9999"]));
 * ```
 *
 * @param args The arguments (without the program name).
 * @returns The exit code.
 */
export async function main(args: string[] = Deno.args): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        host: { type: "string", short: "H", default: "localhost" },
        port: { type: "string", short: "p", default: "0" },
        unixsocket: { type: "string", short: "u" },
        naming: { type: "boolean", short: "n", default: false },
        nameserver: { type: "boolean", short: "N", default: false },
        verbose: { type: "boolean", short: "v", default: false },
        quiet: { type: "boolean", short: "q", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: false,
    });
  } catch (e) {
    console.error(`${HELP.split("\n\n")[0]}\nechoserver: error: ${(e as Error).message}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const port = Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`echoserver: error: argument -p/--port: invalid int value: '${v.port}'`);
    return 2;
  }
  let server: RunningEchoServer;
  try {
    server = await startEchoServer({
      host: v.host,
      port,
      ...(v.unixsocket !== undefined ? { unixSocket: v.unixsocket } : {}),
      naming: v.naming,
      nameserver: v.nameserver,
      verbose: v.verbose,
      quiet: v.quiet,
    });
  } catch (e) {
    console.error(`echoserver: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  using stop = stopSignal({ signals: ["SIGINT"] });
  stop.signal.addEventListener("abort", () => void server.close(), { once: true });
  await server.daemon.closed;
  await server.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main());
