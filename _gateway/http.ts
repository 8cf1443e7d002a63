/**
 * The call route `/pyro/<name>/<member>`: checks the key and the exposure, reads the
 * arguments, and calls the method, reads the attribute, or answers `$meta`. Results are JSON;
 * a remote generator streams as NDJSON, or as Server-Sent Events for `Accept:
 * text/event-stream`. Errors come in Pyro5's exception form with the status that fits.
 *
 * @module
 */

import type { Proxy } from "../proxy.ts";
import { RemoteStream } from "../proxy.ts";
import type { GatewayContext } from "./context.ts";
import { exceptionBody, toJson } from "./json.ts";
import type { Limiter } from "./limiter.ts";
import { BadRequest, callArguments, correlationIdOf, pyroOptionsOf } from "./request.ts";
import { callErrorResponse, errorResponse, JSON_TYPE, jsonResponse } from "./responses.ts";
import type { Targets } from "./targets.ts";

/** What the call route needs besides the request. */
export interface CallRoute {
  readonly context: GatewayContext;
  readonly targets: Targets;
  readonly limiter: Limiter;
}

/** The name and member of a call path, split at the last `/` as Pyro5 does. */
export interface CallPath {
  /** The registered name. */
  readonly name: string;
  /** The method, attribute or `$meta`. */
  readonly member: string;
}

/** Splits `/pyro/<name>/<member>` (already without `/pyro/`); null when it has no such form. */
export function splitCallPath(rest: string): CallPath | null {
  const at = rest.lastIndexOf("/");
  if (at <= 0 || at === rest.length - 1) return null;
  let name: string, member: string;
  try {
    name = decodeURIComponent(rest.slice(0, at));
    member = decodeURIComponent(rest.slice(at + 1));
  } catch {
    return null;
  }
  return { name, member };
}

const encoder = new TextEncoder();

function streamResponse(
  route: CallRoute,
  stream: RemoteStream,
  sse: boolean,
  headers: Headers,
  hold: (until: Promise<unknown>) => void,
  release: () => void,
): Response {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  hold(finished);
  const signal = route.context.signal;
  let closed = false;
  const end = async () => {
    if (closed) return;
    closed = true;
    signal.removeEventListener("abort", onAbort);
    try {
      await stream.close();
    } catch {
      // the connection is gone: nothing to close
    }
    release();
    finish();
  };
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | null = null;
  const onAbort = () => {
    void end();
    try {
      controllerRef?.close();
    } catch {
      // already closed
    }
  };
  signal.addEventListener("abort", onAbort, { once: true });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controllerRef = controller;
    },
    async pull(controller) {
      try {
        const item = await stream.next();
        if (closed) return;
        if (item.done) {
          if (sse) controller.enqueue(encoder.encode("event: end\ndata: null\n\n"));
          controller.close();
          await end();
          return;
        }
        const text = toJson(item.value);
        controller.enqueue(encoder.encode(sse ? `data: ${text}\n\n` : `${text}\n`));
      } catch (error) {
        if (closed) return;
        const text = toJson(exceptionBody(error));
        controller.enqueue(encoder.encode(sse ? `event: error\ndata: ${text}\n\n` : `${text}\n`));
        controller.close();
        await end();
      }
    },
    async cancel() {
      await end();
    },
  }, { highWaterMark: 0 });
  headers.set("Content-Type", sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson");
  headers.set("Cache-Control", "no-cache");
  return new Response(body, { status: 200, headers });
}

/** Serves one call request. */
export async function handleCall(
  route: CallRoute,
  request: Request,
  url: URL,
  path: CallPath,
  host: string | null = null,
): Promise<Response> {
  const { context, targets, limiter } = route;
  const settings = context.settings;
  if (request.method !== "GET" && request.method !== "POST") {
    return errorResponse(
      context,
      405,
      "Pyro5.errors.PyroError",
      `Cannot serve method ${request.method}: use GET or POST`,
      { Allow: "GET, POST, OPTIONS" },
    );
  }
  if (!context.hasKey(request, url)) {
    return errorResponse(context, 403, "Pyro5.errors.SecurityError", "incorrect gateway api key");
  }
  if (!context.isExposed(path.name)) {
    return errorResponse(
      context,
      403,
      "Pyro5.errors.SecurityError",
      `access to the requested object has been denied: '${path.name}' is not exposed`,
    );
  }
  let correlationId: string;
  let args;
  try {
    correlationId = correlationIdOf(request);
    args = await callArguments(request, url, settings.maxBodySize, settings.requestTimeout);
  } catch (e) {
    if (e instanceof BadRequest) {
      return errorResponse(context, e.status, "builtins.ValueError", e.message);
    }
    throw e;
  }
  const idHeader = { "X-Pyro-Correlation-Id": correlationId };
  const options = pyroOptionsOf(request);
  const release = await limiter.acquire(context.signal, host);
  if (release === null) {
    return errorResponse(
      context,
      503,
      "Pyro5.errors.PyroError",
      "Cannot serve the call now: too many calls in progress",
      { ...idHeader, "Retry-After": "1" },
    );
  }
  let released = false;
  const giveBack = () => {
    if (!released) {
      released = true;
      release();
    }
  };
  try {
    return await targets.use(path.name, async (proxy: Proxy, hold) => {
      const meta = proxy._pyroMetadata!;
      const member = path.member;
      if (member === "$meta") {
        return jsonResponse(
          context,
          {
            methods: [...meta.methods],
            attributes: [...meta.attrs],
            oneway: [...meta.oneway],
          },
          200,
          idHeader,
        );
      }
      const callOptions = { correlationId };
      if (meta.attrs.includes(member)) {
        if (args.args.length > 0 || Object.keys(args.kwargs).length > 0) {
          return errorResponse(
            context,
            400,
            "builtins.ValueError",
            `Cannot read attribute '${member}' with parameters`,
            idHeader,
          );
        }
        const value = await proxy._pyroGet(member, callOptions);
        return jsonResponse(context, value, 200, idHeader);
      }
      if (!meta.methods.includes(member)) {
        return errorResponse(
          context,
          404,
          "builtins.AttributeError",
          `remote object '${path.name}' has no exposed attribute or method '${member}'`,
          idHeader,
        );
      }
      const oneway = options.has("oneway") || meta.oneway.includes(member);
      const result = await proxy._pyroCall(member, args.args, {
        ...callOptions,
        kwargs: args.kwargs,
        oneway,
      });
      if (oneway) {
        return new Response(null, {
          status: 200,
          headers: context.headers({ ...idHeader, "Content-Type": JSON_TYPE }),
        });
      }
      if (result instanceof RemoteStream) {
        const sse = (request.headers.get("Accept") ?? "").includes("text/event-stream");
        released = true; // the stream gives the place back when it ends
        return streamResponse(route, result, sse, context.headers(idHeader), hold, release);
      }
      return jsonResponse(context, result, 200, idHeader);
    });
  } catch (error) {
    return callErrorResponse(context, error, idHeader);
  } finally {
    giveBack();
  }
}
