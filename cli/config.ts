/**
 * `pyro config`: the effective configuration and where each value comes from (Pyro5's
 * `pyro5-check-config`, `python -m Pyro5.configure`), with the version lines first.
 *
 * ```sh
 * deno run -A cli/main.ts config          # Pyro5's text, with each item's source
 * deno run -A cli/main.ts config --json   # one JSON document
 * ```
 *
 * @example Printing the configuration from a program
 * ```ts
 * import { main } from "./config.ts";
 * console.log(await main([])); // 0, after printing "Pyro for Deno version: ..." and every item
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { config, type ConfigSource, configSource, type PyroConfig } from "../config.ts";
import { VERSION } from "./_version.ts";

const USAGE = `usage: pyro config [-h] [--json]

Shows the effective Pyro configuration and where each value comes from: Pyro's default, a
PYRO_<ITEM> environment variable, or the program.

options:
  -h, --help  show this help message and exit
  --json      print one JSON document instead of text`;

/** One configuration item as `pyro config` shows it. */
export interface ConfigItem {
  /** The item's name, e.g. `NS_PORT`. */
  name: keyof PyroConfig;
  /** Its current value. */
  value: PyroConfig[keyof PyroConfig];
  /** Where the value comes from. */
  source: ConfigSource;
  /** The environment variable that sets it. */
  variable: string;
}

/**
 * The effective configuration, sorted by name as Pyro5 prints it, with each value's source.
 *
 * @example
 * ```ts
 * import { configItems } from "./config.ts";
 * const port = configItems().find((i) => i.name === "NS_PORT")!;
 * console.log(port.variable, port.source); // PYRO_NS_PORT default (unless set)
 * ```
 *
 * @returns The items.
 */
export function configItems(): ConfigItem[] {
  return (Object.keys(config) as (keyof PyroConfig)[]).sort().map((name) => ({
    name,
    value: config[name],
    source: configSource(name),
    variable: `PYRO_${name}`,
  }));
}

/** Python's `str()` of a configuration value, as Pyro5's dump prints it. */
function pythonStr(value: unknown): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (Array.isArray(value)) return `[${value.map((v) => `'${String(v)}'`).join(", ")}]`;
  return String(value);
}

/**
 * Runs `pyro config`.
 *
 * @example
 * ```ts
 * import { main } from "./config.ts";
 * console.log(await main(["--json"])); // 0, after printing the JSON document
 * ```
 *
 * @param args The arguments.
 * @param print Where lines go.
 * @returns The exit code: 0, or 2 for bad arguments.
 */
export function main(
  args: readonly string[],
  print: (line: string) => void = console.log,
): Promise<number> {
  let values: { help?: boolean; json?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { help: { type: "boolean", short: "h" }, json: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`${USAGE}\npyro config: error: ${(e as Error).message}`);
    return Promise.resolve(2);
  }
  if (values.help) {
    print(USAGE);
    return Promise.resolve(0);
  }
  const items = configItems();
  const loadedFrom = new URL("..", import.meta.url).href;
  const runtime = `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}, ${Deno.build.os})`;
  if (values.json) {
    print(JSON.stringify({
      version: VERSION,
      loadedFrom,
      runtime,
      protocolVersion: 502,
      items: Object.fromEntries(
        items.map((i) => [i.name, { value: i.value, source: i.source }]),
      ),
    }));
    return Promise.resolve(0);
  }
  print(`Pyro for Deno version: ${VERSION}`);
  print(`Loaded from: ${loadedFrom}`);
  print(`Runtime: ${runtime}`);
  print("Protocol version: 502");
  print("Currently active global configuration settings:");
  for (const item of items) {
    const from = item.source === "environment" ? `environment: ${item.variable}` : item.source;
    print(`${item.name} = ${pythonStr(item.value)}  (${from})`);
  }
  return Promise.resolve(0);
}
