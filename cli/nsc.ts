/**
 * `nsc`, the name server control tool, with Pyro5's verbs, options and output:
 *
 * ```sh
 * deno run -A cli/nsc.ts [-n HOST] [-p PORT] [-u SOCKET] [-v] [-y] [--json] VERB [ARGS...]
 * ```
 *
 * Verbs: `list [prefix]`, `listmatching pattern`, `lookup name`, `register name uri`,
 * `remove name`, `removematching pattern` (asks y/n unless `-y`), `ping`,
 * `yplookup_all tags...`, `yplookup_any tags...`, `setmeta name [tags...]`.
 * `--json` prints one JSON document instead of Pyro5's text, for scripts. It works with our
 * name server and with Python's: like Python's `nsc` it talks serpent unless `PYRO_SERIALIZER` is set.
 *
 * @example Running a verb from a program
 * ```ts
 * import { startNameServer } from "../naming.ts";
 * import { main } from "./nsc.ts";
 *
 * await using ns = await startNameServer({ host: "127.0.0.1", port: 0, broadcast: false });
 * const code = await main(["-n", "127.0.0.1", "-p", String(ns.uri.port), "ping"]);
 * console.log(code); // 0, after printing "Name server ping ok."
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { locateNS, type NameServer, type Tags } from "../locate.ts";

const VERBS = [
  "list",
  "lookup",
  "register",
  "remove",
  "removematching",
  "listmatching",
  "yplookup_all",
  "yplookup_any",
  "setmeta",
  "ping",
] as const;

/** Where {@linkcode main} writes and reads (replaceable for tests). */
export interface NscIO {
  /** Writes one line of output. */
  print(line: string): void;
  /** Writes one line of error output. */
  error(line: string): void;
  /** Shows a prompt and reads one line of input (null at end of input). */
  input(prompt: string): Promise<string | null>;
}

async function readLine(prompt: string): Promise<string | null> {
  await Deno.stdout.write(new TextEncoder().encode(prompt));
  const buf = new Uint8Array(1);
  const bytes: number[] = [];
  for (let i = 0; i < 4096; i++) {
    const n = await Deno.stdin.read(buf);
    if (n === null) {
      return bytes.length > 0 ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
    }
    if (buf[0] === 0x0a) break;
    bytes.push(buf[0]!);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

const defaultIO: NscIO = {
  print: (line) => console.log(line),
  error: (line) => console.error(line),
  input: readLine,
};

/** Python's `repr()` of a string. */
function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

/** Python's `repr()` of the tags as they arrived: a list, or a set (serpent from Python). */
function pyTags(tags: Tags): string {
  const items = [...tags].map(pyRepr).join(", ");
  return tags instanceof Set ? `{${items}}` : `[${items}]`;
}

/** The tags as an array, whether they arrived as a list or a set. */
function tagList(tags: unknown): string[] {
  return Array.isArray(tags) || tags instanceof Set ? [...tags].map(String) : [];
}

class UsageError extends Error {}

const USAGE = `usage: nsc [-h] [-n HOST] [-p PORT] [-u UNIXSOCKET] [-v] [-y] [--json]
           {${VERBS.join(",")}} [args...]

Pyro name server control utility.

options:
  -n, --host HOST       hostname of the NS
  -p, --port PORT       port of the NS (or bc-port if host isn't specified)
  -u, --unixsocket PATH Unix domain socket name of the NS
  -v, --verbose         verbose output
  -y, --yes             don't ask for confirmation (removematching)
      --json            print the result as JSON`;

type ListResult = Record<string, [string, Tags]>;

/**
 * Runs the tool with command line arguments and returns the exit code: 0 on success, 1 for a
 * failed call or a name server that cannot be found, 2 for bad usage.
 *
 * @example
 * ```ts
 * import { main } from "./nsc.ts";
 * const lines: string[] = [];
 * const code = await main(["--help"], {
 *   print: (l) => lines.push(l),
 *   error: (l) => lines.push(l),
 *   input: () => Promise.resolve(null),
 * });
 * console.log(code, lines[0]?.startsWith("usage: nsc")); // 0 true
 * ```
 *
 * @param args The arguments (options, verb, verb arguments).
 * @param io Where to write and read; the console by default.
 * @returns The exit code.
 */
export async function main(args: readonly string[], io: NscIO = defaultIO): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      options: {
        host: { type: "string", short: "n" },
        port: { type: "string", short: "p" },
        unixsocket: { type: "string", short: "u" },
        verbose: { type: "boolean", short: "v" },
        yes: { type: "boolean", short: "y" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    io.error(`${USAGE}\nnsc: error: ${(e as Error).message}`);
    return 2;
  }
  if (values.help) {
    io.print(USAGE);
    return 0;
  }
  const [verb, ...rest] = positionals;
  if (verb === undefined || !(VERBS as readonly string[]).includes(verb)) {
    io.error(
      `${USAGE}\nnsc: error: argument command: invalid choice: ${
        verb === undefined ? "(none)" : pyRepr(verb)
      } (choose from ${VERBS.map(pyRepr).join(", ")})`,
    );
    return 2;
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\s*\d+\s*$/.test(values.port)) {
      io.error(
        `${USAGE}\nnsc: error: argument -p/--port: invalid int value: ${pyRepr(values.port)}`,
      );
      return 2;
    }
  }
  const json = values.json ?? false;
  const host = values.unixsocket !== undefined ? `./u:${values.unixsocket}` : values.host ?? "";
  if (values.verbose && !json) io.print("Locating name server...");
  let ns: NameServer;
  try {
    ns = await locateNS(host, port);
  } catch (e) {
    if (json) {
      io.print(
        JSON.stringify({ error: { class: (e as Error).name, message: (e as Error).message } }),
      );
    } else io.print(`Error: ${(e as Error).message}`);
    return 1;
  }
  try {
    if (values.verbose && !json) io.print(`Name server found: ${ns._pyroUri}`);
    await runVerb(ns, verb, rest, io, json, values.yes ?? false);
    if (values.verbose && !json) io.print("Done.");
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.error(e.message);
      return 1;
    }
    const err = e as Error;
    if (json) io.print(JSON.stringify({ error: { class: err.name, message: err.message } }));
    else io.print(`Error: ${err.name} - ${err.message}`);
    return 1;
  } finally {
    await ns._pyroRelease();
  }
}

async function runVerb(
  ns: NameServer,
  verb: string,
  args: string[],
  io: NscIO,
  json: boolean,
  yes: boolean,
): Promise<void> {
  const printList = (result: ListResult, title = "") => {
    if (json) {
      const out: Record<string, { uri: string; metadata: string[] }> = {};
      for (const [name, [uri, metadata]] of Object.entries(result)) {
        Object.defineProperty(out, name, {
          value: { uri, metadata: tagList(metadata) },
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      io.print(JSON.stringify(out));
      return;
    }
    io.print(`--------START LIST ${title}`);
    const names = Object.keys(result).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const [uri, metadata] = result[name]!;
      io.print(`${name} --> ${uri}`);
      if (tagList(metadata).length > 0) io.print(`    metadata: ${pyTags(metadata)}`);
    }
    io.print(`--------END LIST ${title}`);
  };
  const need = (ok: boolean, message: string) => {
    if (!ok) throw new UsageError(message);
  };
  switch (verb) {
    case "ping":
      await ns.ping();
      io.print(json ? JSON.stringify({ ping: "ok" }) : "Name server ping ok.");
      return;
    case "list":
      if (args.length === 0) printList(await ns.list(null, null, true));
      else printList(await ns.list(args[0], null, true), `- prefix '${args[0]}'`);
      return;
    case "listmatching":
      need(args.length === 1, "requires one argument: pattern");
      printList(await ns.list(null, args[0], true), `- regex '${args[0]}'`);
      return;
    case "lookup": {
      need(args.length === 1, "requires one argument: name");
      const [uri, metadata] = await ns.lookup(args[0]!, true);
      if (json) {
        io.print(JSON.stringify({ name: args[0], uri: String(uri), metadata: tagList(metadata) }));
        return;
      }
      io.print(String(uri));
      if (tagList(metadata).length > 0) io.print(`metadata: ${pyTags(metadata)}`);
      return;
    }
    case "register":
      need(args.length === 2, "requires two arguments: name uri");
      await ns.register(args[0]!, args[1]!, true);
      io.print(json ? JSON.stringify({ registered: args[0] }) : `Registered ${args[0]}`);
      return;
    case "remove": {
      need(args.length === 1, "requires one argument: name");
      const count = await ns.remove(args[0]!);
      if (json) io.print(JSON.stringify({ removed: count }));
      else io.print(count > 0 ? `Removed ${args[0]}` : "Nothing removed");
      return;
    }
    case "removematching": {
      need(args.length === 1, "requires one argument: pattern");
      let sure = yes ? "y" : (await io.input(
        "Potentially removing lots of items from the Name server. Are you sure (y/n)?",
      ))?.trim() ?? "";
      if (sure !== "y" && sure !== "Y") sure = "";
      if (!sure) {
        if (json) io.print(JSON.stringify({ removed: 0, confirmed: false }));
        return;
      }
      const count = await ns.remove(null, null, args[0]!);
      io.print(json ? JSON.stringify({ removed: count }) : `${count} items removed.`);
      return;
    }
    case "setmeta": {
      need(args.length >= 1, "requires arguments: uri and zero or more meta tags");
      const tags = [...new Set(args.slice(1))];
      await ns.set_metadata(args[0]!, tags);
      if (json) io.print(JSON.stringify({ name: args[0], metadata: tags }));
      else io.print(tags.length > 0 ? "Metadata updated" : "Metadata cleared");
      return;
    }
    case "yplookup_all":
      need(args.length >= 1, "requires at least one metadata tag argument");
      printList(await ns.yplookup(args, null, true), " - searched by metadata");
      return;
    case "yplookup_any":
      need(args.length >= 1, "requires at least one metadata tag argument");
      printList(await ns.yplookup(null, args, true), " - searched by metadata");
      return;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
