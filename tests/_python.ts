/**
 * Runs a Python Pyro5 script for interop tests. Python Pyro5 is found through
 * `PYRO5_PYTHONPATH` (a directory holding the `Pyro5` package); without it the tests that need
 * it are ignored, and {@linkcode PYTHON_SKIP_NOTE} says so once.
 *
 * @module
 */

/** The Pyro5 source directory, or undefined when interop tests are to be skipped. */
export const PYRO5_PYTHONPATH: string | undefined = (() => {
  try {
    return Deno.env.get("PYRO5_PYTHONPATH") || undefined;
  } catch {
    return undefined;
  }
})();

/** The message printed when live Python tests are skipped. */
export const PYTHON_SKIP_NOTE =
  "live Python Pyro5 tests skipped: set PYRO5_PYTHONPATH to a Pyro5 source tree to run them";

/** True when live Python tests must be skipped (and prints why, once per module). */
export function skipPython(): boolean {
  if (PYRO5_PYTHONPATH !== undefined) return false;
  if (!announced) console.log(PYTHON_SKIP_NOTE);
  announced = true;
  return true;
}
let announced = false;

/** A running Python script. */
export interface PythonProcess extends AsyncDisposable {
  /** The first line the script printed (e.g. a URI). */
  readonly firstLine: string;
  /** Everything the script printed to stderr, once it has ended. */
  stderr(): Promise<string>;
}

/**
 * Starts `python3 -c script` with Python Pyro5 on its path and waits for its first line of
 * output. Disposing kills the process and waits for it.
 */
export async function startPython(
  script: string,
  env: Record<string, string> = {},
): Promise<PythonProcess> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script],
    env: {
      PYTHONPATH: PYRO5_PYTHONPATH!,
      PYTHONUNBUFFERED: "1",
      PYRO_BROADCAST_ADDRS: "127.255.255.255",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const errText = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const rest = child.stdout.pipeTo(new WritableStream()).catch(() => {});
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
    await child.status;
    await rest;
    await errText;
  };
  if (!text.includes("\n")) {
    await stop();
    throw new Error(`python script ended before printing a line:\n${await errText}`);
  }
  return {
    firstLine: text.slice(0, text.indexOf("\n")).trim(),
    stderr: () => errText,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Runs a Python Pyro5 client script to completion and returns its standard output; throws with
 * its stderr when it fails.
 */
export async function runPython(script: string, env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script],
    env: { PYTHONPATH: PYRO5_PYTHONPATH!, PYRO_BROADCAST_ADDRS: "127.255.255.255", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`python failed:\n${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** A Python Name Server on 127.0.0.1 with a free port and no broadcast; prints its URI. */
export const PYTHON_NAME_SERVER = `
from Pyro5 import nameserver
uri, daemon, bc = nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
print(uri, flush=True)
daemon.requestLoop()
`;

/** Reads a child process's output up to its first line break (a "ready" line), trimmed. */
export async function readLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    reader.releaseLock();
  }
  return text.trim();
}
