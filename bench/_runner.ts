/**
 * Role processes of the benchmark suite: every server and client runs as its own Deno (or
 * Python) subprocess, optionally pinned to CPU 0 with `taskset -c 0`. The orchestrator talks
 * to a role through JSON lines (prefixed, see `_stats.ts`) on its standard output and plain
 * lines on its standard input, and reads its resident memory from /proc.
 *
 * @module
 */

import { LINE_PREFIX, splitLines } from "./_stats.ts";

/** How role processes are placed on CPUs. */
export type Mode = "unpinned" | "pinned";

/** A message from a role process. */
export type RoleMessage = { type: string } & Record<string, unknown>;

/** How to start a role. */
export interface RoleOptions {
  /** Pin to CPU 0 with taskset. */
  mode: Mode;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Extra V8 flags for a Deno role (e.g. `--expose-gc`). */
  v8Flags?: readonly string[];
  /** Extra `deno run` flags (e.g. `--cpu-prof`). */
  denoFlags?: readonly string[];
}

const BENCH_DIR = new URL(".", import.meta.url).pathname;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/**
 * Tells whether `taskset -c 0` works here (util-linux installed, affinity allowed).
 *
 * @example
 * ```ts ignore
 * import { tasksetAvailable } from "./_runner.ts";
 * console.log(await tasksetAvailable()); // null when it works, else the reason
 * ```
 *
 * @returns Null when pinning works, else why not.
 */
export async function tasksetAvailable(): Promise<string | null> {
  try {
    const out = await new Deno.Command("taskset", {
      args: ["-c", "0", "true"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return null;
    return `taskset failed: ${new TextDecoder().decode(out.stderr).trim()}`;
  } catch (e) {
    return e instanceof Deno.errors.NotFound
      ? "taskset not found (util-linux)"
      : `taskset failed: ${String(e)}`;
  }
}

/** Settings applied to every role started afterwards (e.g. profiling by bench/main.ts). */
export const roleDefaults: {
  /** Extra `deno run` flags for every Deno role. */
  denoFlags: string[];
  /** Called with each started role. */
  onStart: ((role: Role) => void) | null;
} = { denoFlags: [], onStart: null };

/** A running role process. */
export class Role {
  /** The process id (taskset execs, so it is the role's own). */
  readonly pid: number;
  /** A label for error messages. */
  readonly label: string;
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #status: Promise<Deno.CommandStatus>;
  #stderr = "";
  readonly #stderrDone: Promise<void>;
  #exited = false;

  private constructor(label: string, cmd: string, args: string[], env: Record<string, string>) {
    this.label = label;
    this.#child = new Deno.Command(cmd, {
      args,
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1", ...env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#lines = this.#child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())
      [Symbol.asyncIterator]();
    this.#writer = this.#child.stdin.getWriter();
    this.#status = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    const stderr = this.#child.stderr;
    this.#stderrDone = (async () => {
      for await (const chunk of stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr = (this.#stderr + chunk).slice(-4000);
      }
    })();
  }

  /**
   * Starts a Deno role script from the bench directory.
   *
   * @param script The file name under bench/ (e.g. `_raw.ts`).
   * @param args Its arguments.
   * @param options Mode, environment, flags.
   * @returns The running role.
   */
  static deno(script: string, args: readonly string[], options: RoleOptions): Role {
    const deno = [
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      ...(options.v8Flags?.length ? [`--v8-flags=${options.v8Flags.join(",")}`] : []),
      ...(options.denoFlags ?? []),
      ...roleDefaults.denoFlags,
      BENCH_DIR + script,
      ...args,
    ];
    return Role.#start(`${script} ${args[0] ?? ""}`.trim(), deno, options);
  }

  /**
   * Starts any program as a role (e.g. /usr/bin/python3 with a script).
   *
   * @param command The program and its arguments.
   * @param options Mode and environment.
   * @returns The running role.
   */
  static command(command: readonly string[], options: RoleOptions): Role {
    return Role.#start(command.slice(1, 3).join(" "), [...command], options);
  }

  static #start(label: string, command: string[], options: RoleOptions): Role {
    const full = options.mode === "pinned" ? ["taskset", "-c", "0", ...command] : command;
    const role = new Role(label, full[0]!, full.slice(1), options.env ?? {});
    roleDefaults.onStart?.(role);
    return role;
  }

  /**
   * Waits for the next protocol message (skipping other output) of the given type.
   *
   * @param type The expected `type` (or one of several); an `error` message throws instead.
   * @param timeoutMs Give up (and kill the role) after this long.
   * @returns The message.
   */
  async expect(type: string | readonly string[], timeoutMs = 120_000): Promise<RoleMessage> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.label}: no '${String(type)}' within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.#next(type), timeout]);
    } catch (e) {
      this.kill();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  async #next(type: string | readonly string[]): Promise<RoleMessage> {
    const types = typeof type === "string" ? [type] : type;
    for (;;) {
      const r = await this.#lines.next();
      if (r.done) {
        const status = await this.#status;
        await this.#stderrDone;
        throw new Error(
          `${this.label} exited (code ${status.code}) before '${types.join("|")}': ${
            lastLines(this.#stderr)
          }`,
        );
      }
      if (!r.value.startsWith(LINE_PREFIX)) continue;
      const msg = JSON.parse(r.value.slice(LINE_PREFIX.length)) as RoleMessage;
      if (msg.type === "error") throw new Error(`${this.label}: ${String(msg.message)}`);
      if (types.includes(msg.type)) return msg;
    }
  }

  /**
   * Sends one line to the role's standard input.
   *
   * @param line The line (without line end).
   */
  async send(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
  }

  /**
   * The role's resident memory (VmRSS) in KiB.
   *
   * @returns KiB, or NaN when unreadable.
   */
  rssKiB(): number {
    try {
      const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
      return Number(/^VmRSS:\s*(\d+)\s*kB/m.exec(status)?.[1] ?? NaN);
    } catch {
      return NaN;
    }
  }

  /**
   * The role's CPU time (user + system, from /proc; 10 ms resolution) in microseconds.
   *
   * @returns Microseconds, or NaN when unreadable.
   */
  cpuUs(): number {
    try {
      const stat = Deno.readTextFileSync(`/proc/${this.pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) * (1e6 / CLOCK_TICKS);
    } catch {
      return NaN;
    }
  }

  /** Kills the role (SIGKILL) if it still runs. */
  kill(): void {
    if (this.#exited) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // gone
    }
  }

  /**
   * Closes the role's standard input (roles exit at end of input) and waits for the exit;
   * kills it after `timeoutMs`.
   *
   * @param timeoutMs How long to wait.
   * @returns The exit code.
   */
  async stop(timeoutMs = 10_000): Promise<number> {
    try {
      await this.#writer.close();
    } catch {
      // already closed
    }
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      const status = await this.#status;
      // drain stdout so the pipe is released
      for (;;) if ((await this.#lines.next()).done) break;
      await this.#stderrDone;
      return status.code;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The end of what the role wrote on standard error. */
  get stderr(): string {
    return this.#stderr;
  }
}

function lastLines(text: string): string {
  const lines = text.trim().split("\n").filter((l) => l.trim() !== "");
  return lines.slice(-3).join(" | ") || "(no output)";
}

/**
 * Runs `fn` with roles it starts through `start`, stopping every one of them afterwards.
 *
 * @example
 * ```ts ignore
 * import { Role, withRoles } from "./_runner.ts";
 * await withRoles(async (start) => {
 *   const server = start(Role.deno("_raw.ts", ["server"], { mode: "unpinned" }));
 *   await server.expect("ready");
 * });
 * ```
 *
 * @param fn The work.
 * @returns What `fn` returns.
 */
export async function withRoles<T>(fn: (start: (role: Role) => Role) => Promise<T>): Promise<T> {
  const roles: Role[] = [];
  try {
    return await fn((role) => {
      roles.push(role);
      return role;
    });
  } finally {
    for (const role of roles.reverse()) {
      try {
        await role.stop();
      } catch {
        role.kill();
      }
    }
  }
}
