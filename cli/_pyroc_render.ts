/**
 * The proxy compiler's back end: the part of `deno doc --json`'s output it reads, a renderer
 * that turns its type descriptions back into TypeScript, and the writer of the generated
 * client module. Internal to `cli/pyroc.ts`.
 *
 * @module
 */

/** A type as `deno doc --json` describes it (only the fields pyroc reads). */
export interface DocType {
  /** A short text form (not used for rendering: it drops type arguments). */
  repr?: string;
  /** The kind: keyword, literal, typeRef, array, union, ... */
  kind?: string;
  /** The kind's details. */
  value?: unknown;
}

/** A parameter as `deno doc --json` describes it. */
export interface DocParam {
  /** identifier, assign (with a default), rest, object or array (destructured). */
  kind: string;
  /** The name of an identifier parameter. */
  name?: string;
  /** Whether it is optional (`x?: T`). */
  optional?: boolean;
  /** Its declared type. */
  tsType?: DocType;
  /** The parameter of an `assign` (the part before `=`). */
  left?: DocParam;
  /** The parameter of a `rest`. */
  arg?: DocParam;
  /** The default value's source text of an `assign`. */
  right?: string;
}

/** A method, getter or setter of a class as `deno doc --json` describes it. */
export interface DocMethod {
  /** The member name. */
  name: string;
  /** method, getter or setter. */
  kind: string;
  /** True for static members. */
  isStatic?: boolean;
  /** public, protected or private (TypeScript modifiers). */
  accessibility?: string;
  /** The JSDoc text and tags. */
  jsDoc?: { doc?: string; tags?: { kind: string; value?: string }[] };
  /** The signature. */
  functionDef: {
    params: DocParam[];
    returnType?: DocType;
    isAsync?: boolean;
    isGenerator?: boolean;
    hasBody?: boolean;
    typeParams?: { name: string; constraint?: DocType; default?: DocType }[];
    decorators?: { name: string }[];
  };
}

/** One remote method of the generated interface. */
export interface RemoteMethodModel {
  /** The method name. */
  name: string;
  /** Its documentation. */
  doc: string;
  /** Its type parameters, rendered with the angle brackets, or "". */
  typeParams: string;
  /** Its parameter list, rendered. */
  params: string;
  /** Its result type, rendered (a Promise). */
  result: string;
  /** Whether it is oneway. */
  oneway: boolean;
}

/** One remote attribute. */
export interface RemoteAttributeModel {
  /** The attribute name. */
  name: string;
  /** Its documentation. */
  doc: string;
  /** Its type, rendered. */
  type: string;
}

/** Everything the writer needs. */
export interface ClientModel {
  /** The class name; the generated names derive from it. */
  className: string;
  /** Where the class came from (a module path or a URI), for the module doc. */
  source: string;
  /** The command that generated the module, for the module doc. */
  command: string;
  /** The class documentation. */
  doc: string;
  /** The library's module specifier. */
  library: string;
  /** Type imports: module specifier to names. */
  imports: Map<string, Set<string>>;
  /** The remote methods. */
  methods: RemoteMethodModel[];
  /** The remote attributes. */
  attributes: RemoteAttributeModel[];
  /** The factory's default URI, if any. */
  defaultUri: string | null;
}

/** Where a named type comes from, for the generated module's imports. */
export type TypeResolver = (
  name: string,
  resolution: Record<string, unknown> | undefined,
) => string;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Quotes a member name unless it is an identifier.
 *
 * @example
 * ```ts
 * import { memberName } from "./_pyroc_render.ts";
 * console.log(memberName("echo"), memberName("__len__"), memberName("my-name")); // echo __len__ "my-name"
 * ```
 *
 * @param name The name.
 * @returns The name as it can appear in an interface.
 */
export function memberName(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Renders a type from `deno doc --json` as TypeScript; unknown shapes become `unknown`.
 *
 * @example
 * ```ts
 * import { renderType } from "./_pyroc_render.ts";
 * const t = { kind: "array", value: { kind: "keyword", value: "string" } };
 * console.log(renderType(t, (name) => name)); // string[]
 * ```
 *
 * @param type The type.
 * @param resolve Maps a referenced type name to the name to write (or "unknown").
 * @returns The TypeScript text.
 */
export function renderType(type: DocType | undefined, resolve: TypeResolver): string {
  if (type === undefined || type === null) return "unknown";
  const v = type.value;
  const r = (t: unknown) => renderType(t as DocType, resolve);
  switch (type.kind) {
    case "keyword":
      return String(v);
    case "literal": {
      if (!isRecord(v)) return "unknown";
      switch (v.kind) {
        case "string":
          return JSON.stringify(v.string);
        case "number":
          return String(v.number);
        case "boolean":
          return String(v.boolean);
        case "bigInt":
          return `${v.string}`;
        case "template": {
          const parts = Array.isArray(v.tsTypes) ? v.tsTypes as DocType[] : [];
          return "`" + parts.map((p) => {
            const lit = p.kind === "literal" && isRecord(p.value) && p.value.kind === "string";
            return lit
              ? String((p.value as Record<string, unknown>).string).replace(/[`$\\]/g, "\\$&")
              : "${" + r(p) + "}";
          }).join("") + "`";
        }
      }
      return "unknown";
    }
    case "typeRef": {
      if (!isRecord(v) || typeof v.typeName !== "string") return "unknown";
      const name = resolve(v.typeName, isRecord(v.resolution) ? v.resolution : undefined);
      if (name === "unknown") return name;
      const params = Array.isArray(v.typeParams) ? v.typeParams.map(r) : [];
      return params.length > 0 ? `${name}<${params.join(", ")}>` : name;
    }
    case "array":
      return `${wrap(r(v))}[]`;
    case "tuple":
      return `[${(Array.isArray(v) ? v : []).map(r).join(", ")}]`;
    case "optional":
      return `${r(v)}?`;
    case "rest":
      return `...${r(v)}`;
    case "union":
      return (Array.isArray(v) ? v : []).map((t) => wrapFn(r(t))).join(" | ");
    case "intersection":
      return (Array.isArray(v) ? v : []).map((t) => wrap(r(t))).join(" & ");
    case "parenthesized":
      return `(${r(v)})`;
    case "typeOperator":
      return isRecord(v) ? `${v.operator} ${wrap(r(v.tsType))}` : "unknown";
    case "indexedAccess":
      return isRecord(v) ? `${wrap(r(v.objType))}[${r(v.indexType)}]` : "unknown";
    case "fnOrConstructor": {
      if (!isRecord(v)) return "unknown";
      const params = renderParams((v.params ?? []) as DocParam[], resolve);
      return `${v.constructor ? "new " : ""}(${params}) => ${r(v.tsType)}`;
    }
    case "typeLiteral":
      return isRecord(v) ? renderTypeLiteral(v, resolve) : "unknown";
    case "this":
      return "unknown";
  }
  return "unknown";
}

function wrap(text: string): string {
  return /^[\w$.<>[\], "'`?]+$/.test(text) && !text.includes(" | ") ? text : `(${text})`;
}

function wrapFn(text: string): string {
  return text.includes("=>") ? `(${text})` : text;
}

function renderTypeLiteral(v: Record<string, unknown>, resolve: TypeResolver): string {
  const members: string[] = [];
  for (const p of (v.properties ?? []) as Record<string, unknown>[]) {
    const ro = p.readonly ? "readonly " : "";
    const opt = p.optional ? "?" : "";
    members.push(
      `${ro}${memberName(String(p.name))}${opt}: ${renderType(p.tsType as DocType, resolve)}`,
    );
  }
  for (const m of (v.methods ?? []) as Record<string, unknown>[]) {
    const params = renderParams((m.params ?? []) as DocParam[], resolve);
    const opt = m.optional ? "?" : "";
    members.push(
      `${memberName(String(m.name))}${opt}(${params}): ${
        renderType(m.returnType as DocType, resolve)
      }`,
    );
  }
  for (const s of (v.indexSignatures ?? []) as Record<string, unknown>[]) {
    const params = renderParams((s.params ?? []) as DocParam[], resolve);
    members.push(
      `${s.readonly ? "readonly " : ""}[${params}]: ${renderType(s.tsType as DocType, resolve)}`,
    );
  }
  return members.length === 0 ? "Record<string, never>" : `{ ${members.join("; ")} }`;
}

/**
 * Renders a parameter list; destructured parameters get the names `arg0`, `arg1`, ....
 *
 * @example
 * ```ts
 * import { renderParams } from "./_pyroc_render.ts";
 * const params = [{ kind: "identifier", name: "n", tsType: { kind: "keyword", value: "number" } }];
 * console.log(renderParams(params, (name) => name)); // n: number
 * ```
 *
 * @param params The parameters.
 * @param resolve Maps referenced type names.
 * @returns The parameter list without parentheses.
 */
export function renderParams(params: readonly DocParam[], resolve: TypeResolver): string {
  return params.map((p, i) => renderParam(p, i, resolve)).join(", ");
}

function renderParam(p: DocParam, index: number, resolve: TypeResolver): string {
  switch (p.kind) {
    case "identifier":
      return `${p.name}${p.optional ? "?" : ""}: ${renderType(p.tsType, resolve)}`;
    case "assign": {
      const left = p.left ?? { kind: "identifier", name: `arg${index}` };
      const type = left.tsType ?? p.tsType;
      const name = left.kind === "identifier" ? left.name : `arg${index}`;
      return `${name}?: ${type ? renderType(type, resolve) : typeOfDefault(p.right)}`;
    }
    case "rest": {
      const name = p.arg?.kind === "identifier" ? p.arg.name : `rest${index}`;
      const type = p.tsType ?? p.arg?.tsType;
      return `...${name}: ${type ? renderType(type, resolve) : "unknown[]"}`;
    }
  }
  return `arg${index}${p.optional ? "?" : ""}: ${renderType(p.tsType, resolve)}`;
}

/** The type of a parameter without annotation, from its default value's text. */
function typeOfDefault(text: string | undefined): string {
  const t = (text ?? "").trim();
  if (t === "true" || t === "false") return "boolean";
  if (/^-?(\d[\d_]*(\.\d+)?(e[+-]?\d+)?|0x[\da-f]+|Infinity|NaN)$/i.test(t)) return "number";
  if (/^-?\d+n$/.test(t)) return "bigint";
  if (/^(["'`]).*\1$/s.test(t)) return "string";
  if (t === "null") return "null";
  return "unknown";
}

const STREAM_TYPES = new Set([
  "Generator",
  "AsyncGenerator",
  "Iterator",
  "AsyncIterator",
  "IterableIterator",
  "AsyncIterableIterator",
  "AsyncIterable",
]);

/**
 * The promise type a remote call of a method gives: `Promise<T>` for a value or a promise of
 * one, `Promise<pyro.RemoteStream<T>>` for iterators and generators, `Promise<void>` for oneway.
 *
 * @example
 * ```ts
 * import { resultType } from "./_pyroc_render.ts";
 * const fn = { params: [], returnType: { kind: "keyword", value: "number" } };
 * console.log(resultType(fn, false, (name) => name).type); // Promise<number>
 * ```
 *
 * @param fn The method's signature.
 * @param oneway Whether the method is oneway.
 * @param resolve Maps referenced type names.
 * @returns The type and whether it is an item stream.
 */
export function resultType(
  fn: DocMethod["functionDef"],
  oneway: boolean,
  resolve: TypeResolver,
): { type: string; stream: boolean } {
  if (oneway) return { type: "Promise<void>", stream: false };
  let t = fn.returnType;
  if (t?.kind === "typeRef" && isRecord(t.value) && t.value.typeName === "Promise") {
    const inner = Array.isArray(t.value.typeParams) ? t.value.typeParams[0] as DocType : undefined;
    t = inner;
  }
  if (t?.kind === "typeRef" && isRecord(t.value) && STREAM_TYPES.has(String(t.value.typeName))) {
    const item = Array.isArray(t.value.typeParams) ? t.value.typeParams[0] as DocType : undefined;
    return { type: `Promise<pyro.RemoteStream<${renderType(item, resolve)}>>`, stream: true };
  }
  if (t === undefined && fn.isGenerator) {
    return { type: "Promise<pyro.RemoteStream<unknown>>", stream: true };
  }
  return { type: `Promise<${renderType(t, resolve)}>`, stream: false };
}

function docComment(text: string, indent: string): string[] {
  const lines = text.trim().split("\n").map((l) => l.replaceAll("*/", "*\\/"));
  if (lines.length === 1 && lines[0] === "") return [];
  if (lines.length === 1) return [`${indent}/** ${lines[0]} */`];
  return [`${indent}/**`, ...lines.map((l) => `${indent} *${l ? " " + l : ""}`), `${indent} */`];
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * Writes the generated client module.
 *
 * @example
 * ```ts
 * import { writeClientModule } from "./_pyroc_render.ts";
 * const text = writeClientModule({
 *   className: "Echo", source: "demo", command: "pyroc demo", doc: "", library: "jsr:@pyro/pyro",
 *   imports: new Map(), attributes: [], defaultUri: null,
 *   methods: [{ name: "echo", doc: "", typeParams: "", params: "x: string", result: "Promise<string>", oneway: false }],
 * });
 * console.log(text.includes("echo(x: string): Promise<string>;")); // true
 * ```
 *
 * @param m The model.
 * @returns The module's text (not formatted).
 */
export function writeClientModule(m: ClientModel): string {
  const iface = `${m.className}Remote`;
  const attrs = `${m.className}Attributes`;
  const proxyType = `${m.className}Proxy`;
  const factory = `create${m.className}Proxy`;
  const constant = `${m.className.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}_ONEWAY`;
  const libTypes = [...(m.imports.get(m.library) ?? [])].sort();
  const out: string[] = [];
  out.push(
    ...docComment(
      `A typed client for \`${m.className}\` (${m.source}), generated by pyroc.\n\n` +
        `Regenerate it rather than editing it:\n\n\`\`\`sh\n${m.command}\n\`\`\`\n\n@module`,
      "",
    ),
    "",
    `import * as pyro from ${JSON.stringify(m.library)};`,
  );
  if (libTypes.length > 0) {
    out.push(`import type { ${libTypes.join(", ")} } from ${JSON.stringify(m.library)};`);
  }
  for (const [from, names] of [...m.imports].sort(([a], [b]) => a.localeCompare(b))) {
    if (from === m.library) continue;
    out.push(`import type { ${[...names].sort().join(", ")} } from ${JSON.stringify(from)};`);
  }
  out.push("");
  out.push(
    ...docComment(
      m.doc || `The remote methods of \`${m.className}\`; every call returns a promise.`,
      "",
    ),
  );
  out.push(`export interface ${iface} {`);
  for (const method of m.methods) {
    const doc = method.oneway
      ? `${method.doc}${
        method.doc ? "\n\n" : ""
      }Oneway: resolves once the call is sent; no result or error comes back.\n\n@oneway`
      : method.doc;
    out.push(...docComment(doc, "  "));
    out.push(
      `  ${memberName(method.name)}${method.typeParams}(${method.params}): ${method.result};`,
    );
  }
  out.push("}", "");
  out.push(
    ...docComment(
      `The remote attributes of \`${m.className}\`: read them with \`_pyroGet\`, write them with \`_pyroSet\`.`,
      "",
    ),
  );
  if (m.attributes.length === 0) {
    out.push(`export type ${attrs} = Record<never, never>;`, "");
  } else {
    out.push(`export interface ${attrs} {`);
    for (const a of m.attributes) {
      out.push(...docComment(a.doc, "  "));
      out.push(`  ${memberName(a.name)}: ${a.type};`);
    }
    out.push("}", "");
  }
  const oneway = m.methods.filter((x) => x.oneway).map((x) => JSON.stringify(x.name));
  out.push(
    ...docComment(`The oneway methods of \`${m.className}\`.`, ""),
    `export const ${constant}: readonly string[] = [${oneway.join(", ")}];`,
    "",
    ...docComment(
      `A proxy for a remote \`${m.className}\`: its methods plus the \`_pyro\` controls.`,
      "",
    ),
    `export type ${proxyType} = ${iface} & pyro.ProxyControls<${iface} & ${attrs}>;`,
    "",
  );
  const uriParam = m.defaultUri === null
    ? "uri: string | pyro.URI"
    : `uri: string | pyro.URI = ${JSON.stringify(m.defaultUri)}`;
  const example = m.defaultUri ?? `PYRONAME:example.${lowerFirst(m.className)}`;
  out.push(
    ...docComment(
      `Makes a proxy for a remote \`${m.className}\` from a \`PYRO:\` or \`PYRONAME:\` URI.\n\n` +
        "@example\n```ts ignore\n" +
        `await using ${lowerFirst(m.className)} = ${factory}(${JSON.stringify(example)});\n` +
        "```\n\n@param uri The object's URI.\n@param options Proxy options (timeout, serializer, ...).\n" +
        "@returns The proxy; it connects on its first call.",
      "",
    ),
    `export function ${factory}(${uriParam}, options: pyro.ProxyOptions = {}): ${proxyType} {`,
    `  return pyro.createProxy<${iface} & ${attrs}>(uri, options) as unknown as ${proxyType};`,
    "}",
    "",
  );
  return out.join("\n");
}
