/**
 * Errors as text, for log lines and for the texts of errors that wrap another: with the class
 * name ({@linkcode errorText}) or the message alone ({@linkcode errorMessage}).
 *
 * @example
 * ```ts
 * import { errorMessage, errorText } from "./error_text.ts";
 * const e = new RangeError("out of range");
 * console.log(errorText(e), "|", errorMessage(e)); // RangeError: out of range | out of range
 * ```
 *
 * @module
 */

/**
 * An error as `Name: message` (anything else as its string).
 *
 * @example
 * ```ts
 * import { errorText } from "./error_text.ts";
 * console.log(errorText(new TypeError("bad")), errorText("plain")); // TypeError: bad plain
 * ```
 *
 * @param e What was thrown.
 * @returns Its text.
 */
export function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * An error's message, or its class name when the message is empty (anything else as its
 * string).
 *
 * @example
 * ```ts
 * import { errorMessage } from "./error_text.ts";
 * console.log(errorMessage(new Error("reset")), errorMessage(new RangeError())); // reset RangeError
 * ```
 *
 * @param e What was thrown.
 * @returns Its text.
 */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message || e.name : String(e);
}
