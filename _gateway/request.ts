/**
 * Reading a call request: the query string as keyword arguments (Pyro5's way), a POSTed JSON
 * body `{"args": [...], "kwargs": {...}}` or form body, the body read under a size limit and a
 * deadline, and the `X-Pyro-*` headers.
 *
 * @module
 */

import { reviveBytes } from "./json.ts";

/** A request that cannot be served, with the status to answer. */
export class BadRequest extends Error {
  /** The HTTP status. */
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "BadRequest";
    this.status = status;
  }
}

/** The arguments of a call. */
export interface CallArguments {
  /** Positional arguments. */
  readonly args: unknown[];
  /** Keyword arguments. */
  readonly kwargs: Record<string, unknown>;
}

/**
 * Query parameters as keyword arguments: a name given once maps to its text, a repeated name to
 * the list of its texts (Pyro5's `singlyfy_parameters`). `$key` is left out.
 */
export function queryKwargs(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of params) {
    if (name === "$key") continue;
    const prev = out[name];
    if (prev === undefined || !Object.hasOwn(out, name)) {
      Object.defineProperty(out, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/** Reads the body as bytes, at most `limit` of them, within `timeout` milliseconds. */
export async function readBody(
  request: Request,
  limit: number,
  timeout: number,
): Promise<Uint8Array> {
  const declared = request.headers.get("Content-Length");
  if (declared !== null && Number(declared) > limit) {
    throw new BadRequest(413, `Cannot read the request: the body is larger than ${limit} bytes`);
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeout);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        reader.cancel().catch(() => {});
        throw new BadRequest(
          413,
          `Cannot read the request: the body is larger than ${limit} bytes`,
        );
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof BadRequest) throw e;
    if (timedOut) {
      throw new BadRequest(408, `Cannot read the request: the body took longer than ${timeout} ms`);
    }
    throw new BadRequest(400, `Cannot read the request body: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    throw new BadRequest(408, `Cannot read the request: the body took longer than ${timeout} ms`);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses a JSON call body: `{"args": [...], "kwargs": {...}}`, both optional. */
export function parseJsonCall(body: Uint8Array): CallArguments {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch (e) {
    throw new BadRequest(400, `Cannot parse the request body as JSON: ${(e as Error).message}`);
  }
  if (!isRecord(value)) {
    throw new BadRequest(
      400,
      'Cannot use the request body: expected {"args": [...], "kwargs": {...}}',
    );
  }
  for (const key of Object.keys(value)) {
    if (key !== "args" && key !== "kwargs") {
      throw new BadRequest(400, `Cannot use the request body: unknown field "${key}"`);
    }
  }
  const args = value.args ?? [];
  const kwargs = value.kwargs ?? {};
  if (!Array.isArray(args)) {
    throw new BadRequest(400, 'Cannot use the request body: "args" must be an array');
  }
  if (!isRecord(kwargs)) {
    throw new BadRequest(400, 'Cannot use the request body: "kwargs" must be an object');
  }
  try {
    return {
      args: reviveBytes(args) as unknown[],
      kwargs: reviveBytes(kwargs) as Record<string, unknown>,
    };
  } catch (e) {
    throw new BadRequest(400, (e as Error).message);
  }
}

/** The call arguments of a request: query parameters, then the body's (which win). */
export async function callArguments(
  request: Request,
  url: URL,
  limit: number,
  timeout: number,
): Promise<CallArguments> {
  const kwargs = queryKwargs(url.searchParams);
  if (request.method !== "POST") return { args: [], kwargs };
  const body = await readBody(request, limit, timeout);
  if (body.byteLength === 0) return { args: [], kwargs };
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") {
    let text: string;
    try {
      text = decoder.decode(body);
    } catch {
      throw new BadRequest(400, "Cannot read the form body: not UTF-8");
    }
    return { args: [], kwargs: { ...kwargs, ...queryKwargs(new URLSearchParams(text)) } };
  }
  if (type !== "application/json" && type !== "" && type !== "text/plain") {
    throw new BadRequest(415, `Cannot read a body of type "${type}": send application/json`);
  }
  const call = parseJsonCall(body);
  return { args: call.args, kwargs: { ...kwargs, ...call.kwargs } };
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** The correlation id of a request (`X-Pyro-Correlation-Id`), or a fresh one. */
export function correlationIdOf(request: Request): string {
  const given = request.headers.get("X-Pyro-Correlation-Id");
  if (given === null || given.trim() === "") return crypto.randomUUID();
  const text = given.trim();
  if (!UUID.test(text)) {
    throw new BadRequest(
      400,
      `Cannot use X-Pyro-Correlation-Id "${text.slice(0, 60)}": not a UUID`,
    );
  }
  const hex = text.replaceAll("-", "").toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** The `X-Pyro-Options` values, e.g. `oneway`. */
export function pyroOptionsOf(request: Request): Set<string> {
  const text = request.headers.get("X-Pyro-Options") ?? "";
  return new Set(text.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== ""));
}
