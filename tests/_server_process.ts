/** Starts tests/_fuzz_server.ts in a child process and stops it again. */

import { readLine } from "./_python.ts";

const SERVER = new URL("./_fuzz_server.ts", import.meta.url).pathname;

/** A running server process. */
export interface ServerProcess {
  daemonPort: number;
  nsPort: number;
  pid: number;
  child: Deno.ChildProcess;
  /** Closes stdin and waits for a clean exit. */
  stop(): Promise<void>;
  /** Kills the process at once (SIGKILL) and waits for it. */
  kill(): Promise<void>;
}

/** Starts the server; resolves when it listens. */
export async function startServerProcess(extraArgs: string[] = []): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", SERVER, ...extraArgs],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  const line = (await readLine(child.stdout)).split("\n")[0]!;
  if (line === "") throw new Error("server process ended before it was ready");
  // Drain the rest of stdout so the pipe never fills.
  void child.stdout.pipeTo(new WritableStream()).catch(() => {});
  const info = JSON.parse(line) as {
    daemon: number;
    ns: number;
    pid: number;
  };
  const writer = child.stdin.getWriter();
  let finished: Promise<void> | undefined;
  return {
    daemonPort: info.daemon,
    nsPort: info.ns,
    pid: info.pid,
    child,
    stop() {
      finished ??= (async () => {
        await writer.close().catch(() => {});
        await child.status;
      })();
      return finished;
    },
    kill() {
      finished ??= (async () => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await writer.close().catch(() => {});
        await child.status;
      })();
      return finished;
    },
  };
}
