/**
 * `pyroc`, the proxy compiler: writes a typed client module for a remote object.
 *
 * From a TypeScript class it reads Deno's own documentation output (`deno doc --json`, run as
 * a subprocess) and writes an interface whose methods return promises (item streams as
 * `RemoteStream`, oneway methods as `Promise<void>` and marked `@oneway`), an interface of
 * the remote attributes, and a factory that makes the proxy from a `PYRO:` or `PYRONAME:`
 * URI. Which members are remote follows `@expose` / `@oneway` as the daemon does (a JSDoc
 * `@oneway` tag marks a method oneway too). From a live URI it asks the daemon for the
 * object's metadata and writes the same module with names only and `unknown` types, a typed
 * starting point for Python objects.
 *
 * ```sh
 * deno run -A cli/pyroc.ts examples/warehouse/warehouse.ts Warehouse -o warehouse_client.ts
 * deno run -A cli/pyroc.ts --uri PYRONAME:example.greeting -o greeting_client.ts
 * ```
 *
 * @example Generating a client module from a program
 * ```ts ignore
 * import { main } from "./pyroc.ts";
 * const code = await main(["examples/warehouse/warehouse.ts", "Warehouse", "-o", "client.ts"]);
 * console.log(code); // 0
 * ```
 *
 * @module
 */

import { dirname, isAbsolute, relative, resolve as resolvePath } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createProxy } from "../proxy.ts";
import { URI } from "../uri.ts";
import {
  type ClientModel,
  type DocMethod,
  renderParams,
  renderType,
  resultType,
  type TypeResolver,
  writeClientModule,
} from "./_pyroc_render.ts";

const USAGE =
  `usage: pyroc [-h] [-o FILE] [--lib SPECIFIER] [--default-uri URI] [--all] MODULE CLASS
       pyroc [-h] [-o FILE] [--lib SPECIFIER] [--name NAME] --uri URI

Writes a typed client module (interface, attributes, oneway list, proxy factory) for a remote
object: for CLASS of the TypeScript MODULE (read with 'deno doc --json'), or for the object a
live URI names (from the daemon's metadata; names only, unknown types).

options:
  -h, --help           show this help message and exit
  -o, --output FILE    write the module to FILE (default: standard output)
  --lib SPECIFIER      import the library from SPECIFIER (default: a path to this copy's mod.ts,
                       or jsr:@pyro/pyro when run from JSR)
  --default-uri URI    make URI the factory's default argument (e.g. PYRONAME:example.thing)
  --all                include public methods without @expose (for register(obj, {expose}))
  --uri URI            generate from a live object (PYRO:, PYRONAME: or PYROMETA:)
  --name NAME          the class name to use with --uri (default: from the object's name)
  --no-fmt             do not format the output with 'deno fmt'
  -q, --quiet          no progress lines on standard error`;

const SHORT_USAGE = USAGE.split("\n\n")[0]!;

function usageError(message: string): string {
  return `${SHORT_USAGE}\npyroc: error: ${message}\n(run 'pyroc --help' for the options)`;
}

/** Where {@linkcode main} writes (replaceable for tests). */
export interface PyrocIO {
  /** Writes the generated module when no output file is given. */
  print(text: string): void;
  /** Writes a progress or error line. */
  error(line: string): void;
}

const defaultIO: PyrocIO = {
  print: (text) => console.log(text),
  error: (line) => console.error(line),
};

/** A failure with a message for the user and an exit code. */
class UsageError extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

interface Options {
  output: string | undefined;
  lib: string | undefined;
  defaultUri: string | null;
  all: boolean;
  fmt: boolean;
  quiet: boolean;
  command: string;
}

/**
 * Runs the proxy compiler with command-line arguments.
 *
 * @example
 * ```ts ignore
 * import { main } from "./pyroc.ts";
 * Deno.exit(await main(["--uri", "PYRONAME:example.greeting", "-o", "greeting_client.ts"]));
 * ```
 *
 * @param args The arguments (without the program name).
 * @param io Where output and progress lines go.
 * @returns The exit code: 0 done, 1 failed, 2 bad arguments.
 */
export async function main(args: readonly string[], io: PyrocIO = defaultIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        help: { type: "boolean", short: "h" },
        output: { type: "string", short: "o" },
        lib: { type: "string" },
        "default-uri": { type: "string" },
        all: { type: "boolean" },
        uri: { type: "string" },
        name: { type: "string" },
        "no-fmt": { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    io.error(usageError((e as Error).message));
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.print(USAGE);
    return 0;
  }
  const options: Options = {
    output: values.output,
    lib: values.lib,
    defaultUri: values["default-uri"] ?? null,
    all: values.all ?? false,
    fmt: !values["no-fmt"],
    quiet: values.quiet ?? false,
    command: ["pyroc", ...args].map((a) => /^[\w./:@=-]+$/.test(a) ? a : JSON.stringify(a)).join(
      " ",
    ),
  };
  const progress = (line: string) => {
    if (!options.quiet) io.error(`pyroc: ${line}`);
  };
  try {
    let model: ClientModel;
    if (values.uri !== undefined) {
      if (positionals.length > 0) {
        throw new UsageError("give either --uri or MODULE CLASS, not both", 2);
      }
      model = await modelFromUri(values.uri, values.name, options, progress);
    } else {
      if (positionals.length !== 2) {
        throw new UsageError("expected MODULE and CLASS (or --uri URI)", 2);
      }
      model = await modelFromModule(positionals[0]!, positionals[1]!, options, progress);
    }
    let text = writeClientModule(model);
    if (options.fmt) text = await format(text);
    if (options.output === undefined) io.print(text.trimEnd());
    else {
      await Deno.writeTextFile(options.output, text);
      const oneway = model.methods.filter((m) => m.oneway).length;
      const names = new Set(model.methods.map((m) => m.name)).size;
      progress(
        `wrote ${options.output}: ${model.className}, ${names} methods ` +
          `(${oneway} oneway), ${model.attributes.length} attributes`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.error(e.code === 2 ? usageError(e.message) : `pyroc: error: ${e.message}`);
      return e.code;
    }
    io.error(`pyroc: error: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}

function outputDir(options: Options): string {
  return options.output === undefined ? Deno.cwd() : dirname(resolvePath(options.output));
}

/** A module specifier for `target` (a URL) as seen from the output's directory. */
function specifierFrom(dir: string, target: URL): string {
  if (target.protocol !== "file:") return target.href;
  let rel = relative(dir, fileURLToPath(target)).replaceAll("\\", "/");
  if (!rel.startsWith(".") && !isAbsolute(rel)) rel = `./${rel}`;
  return rel;
}

function librarySpecifier(options: Options): string {
  if (options.lib !== undefined) return options.lib;
  const mod = new URL("../mod.ts", import.meta.url);
  return mod.protocol === "file:" ? specifierFrom(outputDir(options), mod) : "jsr:@pyro/pyro";
}

async function format(text: string): Promise<string> {
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--ext", "ts", "--line-width", "100", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const out = await child.output();
    return out.success ? new TextDecoder().decode(out.stdout) : text;
  } catch {
    return text;
  }
}

interface DocSymbol {
  name: string;
  declarations: {
    declarationKind?: string;
    kind: string;
    jsDoc?: { doc?: string };
    def?: ClassDef;
  }[];
}

interface ClassDef {
  extends?: string;
  methods?: DocMethod[];
  decorators?: { name: string }[];
}

interface DocNode {
  symbols?: DocSymbol[];
}

async function runDenoDoc(moduleUrl: URL): Promise<Record<string, DocNode>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "--private", moduleUrl.href],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    const reason = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 5).join("\n");
    throw new UsageError(`Cannot read ${moduleUrl.href} with deno doc: ${reason}`, 1);
  }
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    nodes?: Record<string, DocNode>;
  };
  if (typeof doc !== "object" || doc === null || typeof doc.nodes !== "object") {
    throw new UsageError("Cannot understand the output of deno doc --json (expected version 2)", 1);
  }
  return doc.nodes;
}

function findClass(
  node: DocNode | undefined,
  name: string,
): { def: ClassDef; doc: string; exported: boolean } | undefined {
  for (const symbol of node?.symbols ?? []) {
    if (symbol.name !== name) continue;
    for (const d of symbol.declarations) {
      if (d.kind === "class" && d.def) {
        return { def: d.def, doc: d.jsDoc?.doc ?? "", exported: d.declarationKind !== "private" };
      }
    }
  }
  return undefined;
}

function hasDecorator(list: { name: string }[] | undefined, name: string): boolean {
  return (list ?? []).some((d) => d.name === name);
}

function isOnewayTagged(m: DocMethod): boolean {
  return (m.jsDoc?.tags ?? []).some((t) =>
    t.kind === "oneway" || (t.value ?? "").startsWith("@oneway")
  );
}

async function modelFromModule(
  module: string,
  className: string,
  options: Options,
  progress: (line: string) => void,
): Promise<ClientModel> {
  const moduleUrl = /^[a-z][\w+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)
    ? new URL(module)
    : pathToFileURL(resolvePath(module));
  progress(`reading ${module} with deno doc`);
  const nodes = await runDenoDoc(moduleUrl);
  const node = nodes[moduleUrl.href] ?? Object.values(nodes)[0];
  const found = findClass(node, className);
  if (found === undefined) {
    const classes = (node?.symbols ?? [])
      .filter((s) =>
        s.declarations.some((d) => d.kind === "class" && d.declarationKind !== "private")
      )
      .map((s) => s.name);
    throw new UsageError(
      `Cannot find class '${className}' in ${module}; exported classes there: ${
        classes.join(", ") || "none"
      }`,
      1,
    );
  }
  const dir = outputDir(options);
  const imports = new Map<string, Set<string>>();
  const exported = new Set(
    (node?.symbols ?? []).filter((s) => s.declarations.some((d) => d.declarationKind !== "private"))
      .map((s) => s.name),
  );
  const addImport = (from: string, name: string) => {
    let set = imports.get(from);
    if (set === undefined) imports.set(from, set = new Set());
    set.add(name);
  };
  const warned = new Set<string>();
  const resolveType: TypeResolver = (name, resolution) => {
    const kind = resolution?.kind;
    if (kind === "typeParam") return name;
    if (kind === "local") {
      if (exported.has(name)) {
        addImport(specifierFrom(dir, moduleUrl), name);
        return name;
      }
    } else if (kind === "import" && typeof resolution?.specifier === "string") {
      const spec = resolution.specifier;
      const from = spec.startsWith(".") || spec.startsWith("/")
        ? specifierFrom(dir, new URL(spec, moduleUrl))
        : spec;
      const original = typeof resolution.name === "string" ? resolution.name : name;
      addImport(from, original === name ? name : `${original} as ${name}`);
      return name;
    } else if (kind === undefined) return name; // a global type
    if (!warned.has(name)) {
      warned.add(name);
      progress(`warning: type '${name}' is not exported by ${module}; using unknown`);
    }
    return "unknown";
  };

  const methods: DocMethod[] = [];
  const seen = new Set<string>();
  let classExposed = false;
  for (let def: ClassDef | undefined = found.def, depth = 0; def && depth < 20; depth++) {
    if (hasDecorator(def.decorators, "expose")) classExposed = true;
    const byKey = new Map<string, DocMethod[]>();
    for (const m of def.methods ?? []) {
      const key = `${m.kind}:${m.name}`;
      byKey.set(key, [...(byKey.get(key) ?? []), m]);
    }
    for (const [key, list] of byKey) {
      if (seen.has(key)) continue; // overridden in a subclass
      seen.add(key);
      // Overloads: the signatures without a body are the public ones; the implementation
      // carries the decorators.
      const signatures = list.filter((m) => !m.functionDef.hasBody);
      const impl = list.find((m) => m.functionDef.hasBody);
      if (list.length === 1 || signatures.length === 0) methods.push(list[0]!);
      else {
        for (const sig of signatures) {
          methods.push({
            ...sig,
            jsDoc: sig.jsDoc ?? impl?.jsDoc ?? {},
            functionDef: {
              ...sig.functionDef,
              decorators: impl?.functionDef.decorators ?? sig.functionDef.decorators ?? [],
            },
          });
        }
      }
    }
    def = def.extends ? findClass(node, def.extends.replace(/<.*$/, ""))?.def : undefined;
  }
  const model: ClientModel = {
    className,
    source: module,
    command: options.command,
    doc: found.doc,
    library: librarySpecifier(options),
    imports,
    methods: [],
    attributes: [],
    defaultUri: options.defaultUri,
  };
  const attrs = new Map<string, { doc: string; type: string }>();
  for (const m of methods) {
    if (m.isStatic || m.accessibility === "private" || m.accessibility === "protected") continue;
    if (m.name.startsWith("_") || m.name.startsWith("#") || m.name === "constructor") continue;
    if (m.name.startsWith("[")) continue; // symbol-keyed members are never remote
    const decorators = m.functionDef.decorators;
    const oneway = hasDecorator(decorators, "oneway") || isOnewayTagged(m);
    const exposed = classExposed || options.all || oneway || hasDecorator(decorators, "expose");
    if (!exposed) continue;
    const doc = m.jsDoc?.doc ?? "";
    if (m.kind === "getter" || m.kind === "setter") {
      const type = m.kind === "getter"
        ? renderType(m.functionDef.returnType, resolveType)
        : renderType(m.functionDef.params[0]?.tsType, resolveType);
      const prev = attrs.get(m.name);
      attrs.set(m.name, {
        doc: prev?.doc || doc,
        type: prev && prev.type !== "unknown" ? prev.type : type,
      });
      continue;
    }
    if (m.kind !== "method") continue;
    const typeParams = (m.functionDef.typeParams ?? []).map((p) =>
      `${p.name}${p.constraint ? ` extends ${renderType(p.constraint, resolveType)}` : ""}` +
      `${p.default ? ` = ${renderType(p.default, resolveType)}` : ""}`
    );
    model.methods.push({
      name: m.name,
      doc,
      typeParams: typeParams.length > 0 ? `<${typeParams.join(", ")}>` : "",
      params: renderParams(m.functionDef.params, resolveType),
      result: resultType(m.functionDef, oneway, resolveType).type,
      oneway,
    });
  }
  model.attributes = [...attrs].map(([name, a]) => ({ name, ...a }));
  if (model.methods.length === 0 && model.attributes.length === 0) {
    progress(
      `warning: ${className} exposes nothing (no @expose); use --all to include public methods`,
    );
  }
  return model;
}

/** A class name from an object name: `example.greeting` → `Greeting`. */
function classNameFor(uri: URI): string {
  const base = uri.object.split(/[.:/]/).filter(Boolean).pop() ?? "";
  const name = base.replace(
    /(^|[^A-Za-z0-9]+)([A-Za-z0-9])/g,
    (_m, _s, c: string) => c.toUpperCase(),
  )
    .replace(/[^A-Za-z0-9]/g, "");
  return /^[A-Za-z]/.test(name) && !/^Obj[0-9a-f]{32}$/i.test(name) ? name : "RemoteObject";
}

async function modelFromUri(
  text: string,
  name: string | undefined,
  options: Options,
  progress: (line: string) => void,
): Promise<ClientModel> {
  let uri: URI;
  try {
    uri = new URI(text);
  } catch (e) {
    throw new UsageError(`invalid URI '${text}': ${(e as Error).message}`, 2);
  }
  const className = name ?? classNameFor(uri);
  if (!/^[A-Za-z_$][\w$]*$/.test(className)) {
    throw new UsageError(`invalid --name '${className}'`, 2);
  }
  progress(`connecting to ${uri} for its metadata`);
  await using proxy = createProxy(uri, { timeout: 10_000 });
  await proxy._pyroBind();
  const meta = proxy._pyroMetadata;
  if (meta === null) throw new UsageError(`${uri} sent no metadata`, 1);
  const oneway = new Set(meta.oneway);
  return {
    className,
    source: `metadata of ${uri}`,
    command: options.command,
    doc:
      `The remote methods of ${uri}.\n\nFrom the object's metadata: names only, so every type is unknown.`,
    library: librarySpecifier(options),
    imports: new Map(),
    methods: [...meta.methods].sort().map((m) => ({
      name: m,
      doc: "",
      typeParams: "",
      params: "...args: unknown[]",
      result: oneway.has(m) ? "Promise<void>" : "Promise<unknown>",
      oneway: oneway.has(m),
    })),
    attributes: [...meta.attrs].sort().map((a) => ({ name: a, doc: "", type: "unknown" })),
    defaultUri: options.defaultUri ?? uri.toString(),
  };
}

if (import.meta.main) Deno.exit(await main(Deno.args));
