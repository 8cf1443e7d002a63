/**
 * The shape of the tree (ARCHITECTURE.md): public entry files at the root, private code in
 * `_folder/`s with a module doc each, no static import circle, and one command that publishes
 * both packages in dependency order.
 */

import assert from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SKIP = new Set(["tests", "examples", "bench", "tools", "node_modules", "ns", "docs"]);

function sourceFiles(dir = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(join(ROOT, dir))) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory) {
      if (!(dir === "" && (SKIP.has(entry.name) || entry.name.startsWith(".")))) {
        out.push(...sourceFiles(path));
      }
    } else if (path.endsWith(".ts") && !path.endsWith("_test.ts")) {
      out.push(path);
    }
  }
  return out.sort();
}

/** Static imports and re-exports (`import type` included); dynamic `import()` is lazy and left out. */
function staticImports(file: string): string[] {
  const text = Deno.readTextFileSync(join(ROOT, file))
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const deps: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|(?:^|\n)\s*import\s+"(\.[^"]+)"/g;
  for (const m of text.matchAll(re)) {
    deps.push(normalize(join(dirname(file), m[1] ?? m[2]!)));
  }
  return deps;
}

function importCircles(files: readonly string[]): string[][] {
  const graph = new Map(files.map((f) => [f, staticImports(f)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const circle: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        circle.push(w);
      } while (w !== v);
      if (circle.length > 1) circles.push(circle.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return circles;
}

Deno.test("The library has no static import circle", () => {
  assert.deepEqual(importCircles(sourceFiles()), []);
});

Deno.test("Every private file lives in a _folder/ and says in a module doc what it is for", () => {
  for (const file of sourceFiles()) {
    const top = file.split("/")[0]!;
    if (!file.includes("/")) {
      assert.ok(!file.startsWith("_"), `${file}: private files belong in a _folder/`);
      continue;
    }
    if (!top.startsWith("_")) continue;
    const text = Deno.readTextFileSync(join(ROOT, file));
    assert.match(text, /^\/\*\*[\s\S]*?@module[\s\S]*?\*\//, `${file} has no module doc`);
  }
});

Deno.test("Every file at the root is an entry users import, and mod.ts re-exports no private file", () => {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const entries = new Set(
    Object.values(config.exports as Record<string, string>).map((p) => normalize(p)),
  );
  const mod = Deno.readTextFileSync(join(ROOT, "mod.ts"));
  const reexported = new Set(
    [...mod.matchAll(/^export[^;]*?from\s+"\.\/([^"]+)"/gm)].map((m) => m[1]!),
  );
  for (const f of reexported) assert.ok(!f.startsWith("_"), `mod.ts re-exports private ${f}`);
  const roots = sourceFiles().filter((f) => !f.includes("/") && f !== "mod.ts");
  for (const file of roots) {
    assert.ok(
      entries.has(file) || reexported.has(file),
      `${file} is at the root but neither exported by deno.json nor re-exported by mod.ts`,
    );
  }
});

Deno.test("One command simulates publishing both packages, the library before the Name Server", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assert.equal(code, 0, text.slice(-2000));
  const pyro = text.indexOf("Simulating publish of @pyro/pyro@");
  const ns = text.indexOf("Simulating publish of @pyro/ns@");
  assert.ok(pyro >= 0 && ns > pyro, `both packages, in order:\n${text.slice(-2000)}`);
});
