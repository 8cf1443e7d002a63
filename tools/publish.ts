/**
 * Publishes both packages of this repository to JSR in dependency order: `@pyro/pyro` (the
 * root) first, then `@pyro/ns` (`ns/`), which imports it. Arguments are passed to each
 * `deno publish`, so `deno task publish --dry-run` simulates both. Stops at the first package
 * that fails.
 *
 * ```sh
 * deno task publish --dry-run --allow-dirty
 * deno task publish
 * ```
 *
 * @module
 */

/** The packages, in the order they must be published: each depends only on those before it. */
export const PACKAGES: readonly string[] = [".", "ns"];

/**
 * Runs `deno publish` with `args` in every package folder, in order.
 *
 * @example Simulating both
 * ```ts ignore
 * import { publishAll } from "./publish.ts";
 * Deno.exit(await publishAll(["--dry-run", "--allow-dirty"]));
 * ```
 *
 * @param args Arguments for `deno publish` (for example `--dry-run`).
 * @returns The exit code: 0 when every package published (or simulated), else the failing one's.
 */
export async function publishAll(args: readonly string[]): Promise<number> {
  const root = new URL("..", import.meta.url);
  for (const dir of PACKAGES) {
    const cwd = new URL(`${dir}/`, root);
    const { name } = JSON.parse(await Deno.readTextFile(new URL("deno.json", cwd)));
    console.log(`== deno publish ${args.join(" ")} (${name}, ${dir})`);
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: ["publish", ...args],
      cwd,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      console.error(`Cannot publish ${name}: deno publish exited with ${code}`);
      return code;
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await publishAll(Deno.args));
