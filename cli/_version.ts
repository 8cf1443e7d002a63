/**
 * The version of Pyro for Deno's command-line tools, shared by `pyro --version` and
 * `pyro config`.
 *
 * @module
 */

/** The package version. */
export const VERSION = "0.1.0";
