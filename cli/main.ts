/**
 * `pyro`, the one command line of Pyro for Deno, with the subcommands `ns` (run a Name
 * Server), `nsc` (control one), `echoserver` (Pyro's test echo server) and `pyroc` (generate a
 * typed client module). Each has `--help`.
 *
 * ```sh
 * deno run -A cli/main.ts ns -n 127.0.0.1            # or: deno run -A jsr:@pyro/pyro/cli ns
 * deno run -A cli/main.ts nsc list
 * deno run -A cli/main.ts echoserver -n
 * deno run -A cli/main.ts pyroc --uri PYRONAME:test.echoserver
 * deno run -A cli/main.ts config
 * deno run -A cli/main.ts gateway -e "http\\." --ns 127.0.0.1:9090
 * ```
 *
 * Exit codes: 0 success, 1 failure (the message says what went wrong), 2 bad arguments.
 *
 * @example Running a subcommand from a program
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["pyroc", "--help"]);
 * console.log(code); // 0, after printing pyroc's usage
 * ```
 *
 * @module
 */

import { VERSION } from "./_version.ts";

const COMMANDS: Record<Command, string> = {
  ns: "start a Name Server (Pyro5's 'python -m Pyro5.nameserver')",
  nsc: "control a Name Server: list, lookup, register, remove, yplookup_all, ping, ...",
  echoserver: "run Pyro's test echo server (test.echoserver)",
  pyroc: "generate a typed client module for a class or a live remote object",
  gateway: "run the HTTP gateway (Pyro5's pyro5-httpgateway) and the Name Server console",
  config: "show the effective configuration and where each value comes from (pyro5-check-config)",
};

/** The names of the subcommands. */
export type Command = "ns" | "nsc" | "echoserver" | "pyroc" | "gateway" | "config";

const USAGE = `usage: pyro [-h] [--version] COMMAND [ARGS...]

Pyro for Deno's command-line tools (run as 'deno run -A cli/main.ts' from a clone, or
'deno run -A jsr:@pyro/pyro/cli' once published).

commands:
${Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(11)} ${text}`).join("\n")}

Run 'pyro COMMAND --help' for the options of a command.`;

function isCommand(name: string): name is Command {
  return Object.hasOwn(COMMANDS, name);
}

/**
 * Runs a subcommand's own `main` with the remaining arguments. Subcommand modules are loaded
 * only when used, so `--help` stays fast.
 *
 * @example
 * ```ts
 * import { runCommand } from "./main.ts";
 * console.log(await runCommand("nsc", ["--help"])); // 0
 * ```
 *
 * @param command The subcommand.
 * @param args Its arguments.
 * @returns Its exit code.
 */
export async function runCommand(command: Command, args: readonly string[]): Promise<number> {
  switch (command) {
    case "ns":
      return await (await import("./ns.ts")).main(args);
    case "nsc":
      return await (await import("./nsc.ts")).main(args);
    case "echoserver":
      return await (await import("./echoserver.ts")).main([...args]);
    case "pyroc":
      return await (await import("./pyroc.ts")).main(args);
    case "gateway":
      return await (await import("./gateway.ts")).main(args);
    case "config":
      return await (await import("./config.ts")).main(args);
  }
}

/**
 * Runs the command line: `pyro COMMAND [ARGS...]`.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * console.log(await main(["--version"])); // 0, after printing the version
 * ```
 *
 * @param args The arguments (without the program name).
 * @returns The exit code: 0 success, 1 failure, 2 bad arguments.
 */
export async function main(args: readonly string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === "-h" || first === "--help" || first === "help") {
    if (rest[0] !== undefined && isCommand(rest[0])) return await runCommand(rest[0], ["--help"]);
    console.log(USAGE);
    return 0;
  }
  if (first === "--version" || first === "-V") {
    console.log(`pyro ${VERSION} (Pyro5 protocol 502, Deno ${Deno.version.deno})`);
    return 0;
  }
  if (first === undefined) {
    console.error(`${USAGE}\n\npyro: error: a command is required`);
    return 2;
  }
  if (!isCommand(first)) {
    console.error(
      `pyro: error: unknown command '${first}' (choose from ${
        Object.keys(COMMANDS).join(", ")
      }); ` +
        "run 'pyro --help' for more",
    );
    return 2;
  }
  try {
    return await runCommand(first, rest);
  } catch (e) {
    console.error(`pyro ${first}: error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
