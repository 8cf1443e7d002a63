/**
 * Pyro's configuration items, by Python Pyro5's names and with Pyro5's defaults and units
 * (seconds for times), overridable by `PYRO_<ITEM>` environment variables exactly as Pyro5
 * reads them, and per object (daemon, proxy, name server) by options.
 *
 * One difference from Pyro5: `SERIALIZER` defaults to `"msgpack"`, the fastest serializer
 * that Python Pyro5 also speaks. Set `PYRO_SERIALIZER=serpent` to get Pyro5's default.
 *
 * Environment variables are read once, at import, when the process may read them (with
 * `--allow-env`); without that permission the defaults apply and nothing prompts.
 *
 * @example Reading and changing configuration
 * ```ts
 * import { config } from "./config.ts";
 *
 * console.log(config.NS_PORT); // 9090 unless PYRO_NS_PORT says otherwise
 * config.COMMTIMEOUT = 5; // seconds, for proxies and daemons made from now on
 * ```
 *
 * @module
 */

/** Every configuration item, by Pyro5's name. Times are in seconds, as in Pyro5. */
export interface PyroConfig {
  /** Default bind host of daemons and of the name server. @default {"localhost"} */
  HOST: string;
  /**
   * Where clients look for the name server. Our extension: a comma-separated list of
   * `host[:port]` entries (several name servers on one namespace), tried in order.
   *
   * @default {"localhost"}
   */
  NS_HOST: string;
  /** Name server TCP port. @default {9090} */
  NS_PORT: number;
  /** Name server broadcast (UDP) port. @default {9091} */
  NS_BCPORT: number;
  /** Bind address of the broadcast responder; null means all interfaces. @default {null} */
  NS_BCHOST: string | null;
  /** Name server autoclean period in seconds, 0 = off. @default {0} */
  NS_AUTOCLEAN: number;
  /** Client-side retry window in seconds of the name server lookup helpers. @default {0} */
  NS_LOOKUP_DELAY: number;
  /** Host put into the URIs a daemon hands out instead of its own. @default {null} */
  NATHOST: string | null;
  /** Port put into the URIs a daemon hands out; 0 = the daemon's own port. @default {0} */
  NATPORT: number;
  /** Compress payloads longer than 100 bytes with zlib. @default {false} */
  COMPRESSION: boolean;
  /** Server type; only the event-loop server exists here, both names are accepted. @default {"thread"} */
  SERVERTYPE: string;
  /** Socket timeout in seconds for proxies and daemon connections, 0 = none. @default {0} */
  COMMTIMEOUT: number;
  /** Housekeeping interval in seconds. @default {2} */
  POLLTIMEOUT: number;
  /** Automatic retries of a proxy call after a lost connection or a timeout. @default {0} */
  MAX_RETRIES: number;
  /** Set SO_REUSEADDR on listening sockets. @default {true} */
  SOCK_REUSE: boolean;
  /** TCP_NODELAY; always on here, kept for compatibility. @default {false} */
  SOCK_NODELAY: boolean;
  /** The connection limit of a daemon (Pyro5: its thread pool size). @default {80} */
  THREADPOOL_SIZE: number;
  /** Minimum thread pool size; unused here, kept for compatibility. @default {4} */
  THREADPOOL_SIZE_MIN: number;
  /** Maximum message size in bytes (payload plus annotations). @default {1073741824} */
  MAX_MESSAGE_SIZE: number;
  /** Destinations of the name server broadcast lookup. @default {["<broadcast>", "0.0.0.0"]} */
  BROADCAST_ADDRS: string[];
  /** 4, 6 or 0 (let the system choose). @default {0} */
  PREFER_IP_VERSION: number;
  /** Serializer of proxies: "msgpack", "json" or "serpent". @default {"msgpack"} */
  SERIALIZER: string;
  /** Write serpent bytes as `b'..'` literals instead of base64 maps. @default {false} */
  SERPENT_BYTES_REPR: boolean;
  /** Daemons stream iterator results to the caller. @default {true} */
  ITER_STREAMING: boolean;
  /** Maximum age in seconds of an item stream, 0 = none. @default {0} */
  ITER_STREAM_LIFETIME: number;
  /** Seconds an item stream survives after its client disconnects. @default {30} */
  ITER_STREAM_LINGER: number;
  /** Include more detail in remote tracebacks. @default {false} */
  DETAILED_TRACEBACK: boolean;
  /** Log every frame (at debug level). @default {false} */
  LOGWIRE: boolean;
  /** Use TLS. @default {false} */
  SSL: boolean;
  /** Server certificate file (PEM). @default {""} */
  SSL_SERVERCERT: string;
  /** Server private key file (PEM). @default {""} */
  SSL_SERVERKEY: string;
  /** Password of the server key (unsupported by Deno's TLS; must be empty). @default {""} */
  SSL_SERVERKEYPASSWD: string;
  /** Require and verify client certificates. @default {false} */
  SSL_REQUIRECLIENTCERT: boolean;
  /** Client certificate file (PEM). @default {""} */
  SSL_CLIENTCERT: string;
  /** Client private key file (PEM). @default {""} */
  SSL_CLIENTKEY: string;
  /** Password of the client key (unsupported by Deno's TLS; must be empty). @default {""} */
  SSL_CLIENTKEYPASSWD: string;
  /** CA certificates file (PEM) used to verify the peer. @default {""} */
  SSL_CACERTS: string;
  /** Log level: "", "DEBUG", "INFO", "WARNING" or "ERROR". @default {""} */
  LOGLEVEL: string;
  /** Log file; "{stderr}" means standard error. @default {""} */
  LOGFILE: string;
}

/**
 * Returns a fresh configuration with every item at its default value (environment ignored).
 *
 * @example
 * ```ts
 * import { defaultConfig } from "./config.ts";
 * console.log(defaultConfig().MAX_MESSAGE_SIZE); // 1073741824
 * ```
 *
 * @returns The defaults.
 */
export function defaultConfig(): PyroConfig {
  return {
    HOST: "localhost",
    NS_HOST: "localhost",
    NS_PORT: 9090,
    NS_BCPORT: 9091,
    NS_BCHOST: null,
    NS_AUTOCLEAN: 0,
    NS_LOOKUP_DELAY: 0,
    NATHOST: null,
    NATPORT: 0,
    COMPRESSION: false,
    SERVERTYPE: "thread",
    COMMTIMEOUT: 0,
    POLLTIMEOUT: 2,
    MAX_RETRIES: 0,
    SOCK_REUSE: true,
    SOCK_NODELAY: false,
    THREADPOOL_SIZE: 80,
    THREADPOOL_SIZE_MIN: 4,
    MAX_MESSAGE_SIZE: 1073741824,
    BROADCAST_ADDRS: ["<broadcast>", "0.0.0.0"],
    PREFER_IP_VERSION: 0,
    SERIALIZER: "msgpack",
    SERPENT_BYTES_REPR: false,
    ITER_STREAMING: true,
    ITER_STREAM_LIFETIME: 0,
    ITER_STREAM_LINGER: 30,
    DETAILED_TRACEBACK: false,
    LOGWIRE: false,
    SSL: false,
    SSL_SERVERCERT: "",
    SSL_SERVERKEY: "",
    SSL_SERVERKEYPASSWD: "",
    SSL_REQUIRECLIENTCERT: false,
    SSL_CLIENTCERT: "",
    SSL_CLIENTKEY: "",
    SSL_CLIENTKEYPASSWD: "",
    SSL_CACERTS: "",
    LOGLEVEL: "",
    LOGFILE: "",
  };
}

/** Items whose default is null: their environment value is taken as a string. */
const NULLABLE_STRINGS = new Set(["NS_BCHOST", "NATHOST"]);

function parseItem(name: string, text: string, defaultValue: unknown): unknown {
  if (typeof defaultValue === "boolean") {
    const t = text.trim().toLowerCase();
    if (["1", "yes", "on", "true"].includes(t)) return true;
    if (["0", "no", "off", "false"].includes(t)) return false;
    throw new TypeError(`Cannot read PYRO_${name}: '${text}' is not a boolean`);
  }
  if (typeof defaultValue === "number") {
    const n = Number(text.trim());
    if (text.trim() === "" || !Number.isFinite(n)) {
      throw new TypeError(`Cannot read PYRO_${name}: '${text}' is not a number`);
    }
    return n;
  }
  if (Array.isArray(defaultValue)) return text.split(",").map((s) => s.trim());
  return text;
}

/**
 * Builds a configuration from the defaults and the given environment variables (`PYRO_<ITEM>`),
 * parsing each value by the type of its default as Pyro5 does. Unknown `PYRO_` variables are
 * ignored here (Python Pyro5 refuses them at import).
 *
 * @example
 * ```ts
 * import { configFromEnv } from "./config.ts";
 * const c = configFromEnv({ PYRO_NS_PORT: "9999", PYRO_COMPRESSION: "on" });
 * console.log(c.NS_PORT, c.COMPRESSION); // 9999 true
 * ```
 *
 * @param env The environment variables.
 * @returns The configuration.
 */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): PyroConfig {
  const result = defaultConfig();
  const record = result as unknown as Record<string, unknown>;
  for (const name of Object.keys(result)) {
    const text = env[`PYRO_${name}`];
    if (text === undefined) continue;
    record[name] = NULLABLE_STRINGS.has(name) ? text : parseItem(name, text, record[name]);
  }
  return result;
}

function readEnvironment(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined) return env; // a browser: the defaults apply
  for (const name of Object.keys(defaultConfig())) {
    const variable = `PYRO_${name}`;
    try {
      if (deno.permissions.querySync({ name: "env", variable }).state !== "granted") continue;
      env[variable] = deno.env.get(variable);
    } catch {
      // No permission API or no access: the default applies.
    }
  }
  return env;
}

/** The environment variables read at import, by variable name. */
const environment = readEnvironment();

/**
 * The process-wide configuration: Pyro5's defaults overridden by `PYRO_*` environment
 * variables. Change items to affect daemons and proxies created afterwards; options passed
 * to a daemon or proxy override it for that object.
 *
 * @example
 * ```ts
 * import { config } from "./config.ts";
 * config.SERIALIZER = "json";
 * ```
 */
export const config: PyroConfig = configFromEnv(environment);
/** The values at import (defaults overridden by the environment), to tell program changes. */
const atImport = configFromEnv(environment);

/**
 * Where a configuration item's current value comes from: Pyro's default, a `PYRO_<ITEM>`
 * environment variable read at import, or the program (an assignment to {@linkcode config}).
 */
export type ConfigSource = "default" | "environment" | "program";

function same(a: unknown, b: unknown): boolean {
  return Array.isArray(a) && Array.isArray(b)
    ? a.length === b.length && a.every((x, i) => x === b[i])
    : a === b;
}

/**
 * Tells where the current value of a configuration item comes from (what `pyro config` shows).
 * An item the program set back to its import-time value counts as coming from there.
 *
 * @example
 * ```ts
 * import { config, configSource } from "./config.ts";
 * config.COMMTIMEOUT = 2.5;
 * console.log(configSource("COMMTIMEOUT")); // "program"
 * ```
 *
 * @param item The item's name.
 * @returns `"default"`, `"environment"` or `"program"`.
 */
export function configSource(item: keyof PyroConfig): ConfigSource {
  if (!same(config[item], atImport[item])) return "program";
  return environment[`PYRO_${item}`] === undefined ? "default" : "environment";
}
