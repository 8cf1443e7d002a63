/**
 * Test harness: a real, throw-away PostgreSQL cluster. `initdb` into a temporary folder and
 * `postgres` on a free loopback port (127.0.0.1 only, its Unix socket inside the folder), run as
 * the `postgres` user when the tests run as root (PostgreSQL refuses root). Stopped and removed
 * by `close()`; `stop()`/`start()` take it down and bring it back on the same port and data.
 *
 * {@linkcode postgresUnavailable} says why no cluster can be had here (tests then skip and say
 * so); binaries are looked up in `PG_BIN`, `/usr/local/bin`, then `/usr/lib/postgresql/<v>/bin`.
 *
 * @module
 */

const CANDIDATES = [
  Deno.env.get("PG_BIN"),
  "/usr/local/bin",
  ...["17", "16", "15", "14", "13"].map((v) => `/usr/lib/postgresql/${v}/bin`),
].filter((d): d is string => !!d);

function findBin(): string | null {
  for (const dir of CANDIDATES) {
    try {
      const initdb = Deno.realPathSync(`${dir}/initdb`);
      if (Deno.statSync(`${dir}/postgres`).isFile) return initdb.slice(0, initdb.lastIndexOf("/"));
    } catch { /* not here */ }
  }
  return null;
}

function postgresUser(): { uid: number; gid: number } | null {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const f = line.split(":");
      if (f[0] === "postgres") return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch { /* no passwd file */ }
  return null;
}

const BIN = findBin();
const AS_ROOT = Deno.uid() === 0;
const PG_USER = AS_ROOT ? postgresUser() : null;

/**
 * Why no PostgreSQL can be started here, or null when one can.
 *
 * @returns The reason, for a test's skip message.
 */
export function postgresUnavailable(): string | null {
  if (BIN === null) return `no PostgreSQL binaries (initdb, postgres) in ${CANDIDATES.join(", ")}`;
  if (AS_ROOT && PG_USER === null) return "running as root and there is no postgres user";
  return null;
}

function asPostgres(bin: string, args: string[]): Deno.Command {
  const cmd = AS_ROOT ? "runuser" : `${BIN}/${bin}`;
  const full = AS_ROOT ? ["-u", "postgres", "--", `${BIN}/${bin}`, ...args] : args;
  return new Deno.Command(cmd, { args: full, stdin: "null", stdout: "piped", stderr: "piped" });
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A running test cluster. */
export interface PostgresCluster extends AsyncDisposable {
  /** `postgresql://postgres@127.0.0.1:PORT/postgres`. */
  readonly url: string;
  /** The TCP port. */
  readonly port: number;
  /** A URL for another database of the cluster (see `createDatabase`). */
  urlFor(database: string): string;
  /** Creates a database (empty, from template0). */
  createDatabase(name: string): Promise<string>;
  /** Shuts the server down (fast mode) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

/**
 * Starts a fresh cluster. Tests run it with `fsync=off` (nothing here survives a machine
 * crash anyway); benchmarks pass `{ durable: true }` for PostgreSQL's default durability.
 *
 * @param options `durable`: keep `fsync` on.
 * @returns The running cluster.
 * @throws {Error} When PostgreSQL is unavailable or does not start (with its log).
 */
export async function startPostgres(
  options: { durable?: boolean } = {},
): Promise<PostgresCluster> {
  const reason = postgresUnavailable();
  if (reason !== null) throw new Error(`Cannot start PostgreSQL: ${reason}`);
  const dir = await Deno.makeTempDir({ prefix: "pyro_pg_" });
  if (PG_USER) await Deno.chown(dir, PG_USER.uid, PG_USER.gid);
  const data = `${dir}/data`;
  const init = await asPostgres("initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]).output();
  if (!init.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(
      `Cannot start PostgreSQL: initdb failed: ${new TextDecoder().decode(init.stderr)}`,
    );
  }
  let port = freePort();
  let child: Deno.ChildProcess | null = null;
  let exited: Promise<unknown> = Promise.resolve();

  const launch = async (): Promise<void> => {
    const proc = asPostgres("postgres", [
      "-D",
      data,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `unix_socket_directories=${dir}`,
      "-c",
      "max_connections=300",
      "-c",
      `fsync=${options.durable ? "on" : "off"}`,
      "-c",
      "shared_buffers=32MB",
    ]).spawn();
    child = proc;
    const lines: string[] = [];
    let ready!: () => void;
    let failed!: (e: Error) => void;
    const readyP = new Promise<void>((res, rej) => {
      ready = res;
      failed = rej;
    });
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      let buffered = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buffered += chunk;
        let nl;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          lines.push(line);
          if (lines.length > 50) lines.shift();
          if (line.includes("ready to accept connections")) ready();
        }
      }
    };
    exited = Promise.all([drain(proc.stdout), drain(proc.stderr), proc.status]).then(() =>
      failed(new Error(`postgres exited: ${lines.join("\n")}`))
    );
    const timer = setTimeout(
      () => failed(new Error(`postgres did not start: ${lines.join("\n")}`)),
      30000,
    );
    try {
      await readyP;
    } finally {
      clearTimeout(timer);
    }
  };

  const stop = async (): Promise<void> => {
    if (child === null) return;
    try {
      const pid = Number((await Deno.readTextFile(`${data}/postmaster.pid`)).split("\n")[0]);
      if (pid > 0) Deno.kill(pid, "SIGINT");
    } catch {
      try {
        child.kill("SIGINT");
      } catch { /* gone */ }
    }
    await exited;
    child = null;
  };

  for (let attempt = 0;; attempt++) {
    try {
      await launch();
      break;
    } catch (e) {
      await stop().catch(() => {});
      if (attempt >= 2 || !/could not bind|already in use/i.test((e as Error).message)) {
        await Deno.remove(dir, { recursive: true });
        throw e;
      }
      port = freePort();
    }
  }

  const urlFor = (db: string) => `postgresql://postgres@127.0.0.1:${port}/${db}`;
  const close = async () => {
    await stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return {
    get url() {
      return urlFor("postgres");
    },
    get port() {
      return port;
    },
    urlFor,
    async createDatabase(name: string) {
      const out = await asPostgres("psql", [
        "-h",
        dir,
        "-p",
        String(port),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        `CREATE DATABASE "${name}" TEMPLATE template0`,
      ]).output();
      if (!out.success) {
        throw new Error(
          `Cannot create database "${name}": ${new TextDecoder().decode(out.stderr)}`,
        );
      }
      return urlFor(name);
    },
    stop,
    start: launch,
    close,
    [Symbol.asyncDispose]: close,
  };
}
