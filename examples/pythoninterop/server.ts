/**
 * The TypeScript half that Python calls: an object whose methods show how values cross
 * between the languages. `client.py` (Python Pyro5) calls it through the Name Server.
 *
 * Run: `deno run -A examples/pythoninterop/server.ts` (with a Name Server running), then
 * `python3 examples/pythoninterop/client.py` (with Pyro5 installed).
 *
 * @module
 */

import { Complex, expose, serve, type Tuple, tuple } from "../../mod.ts";

/** Methods for a Python caller. */
@expose
export class Interop {
  /** Tells what TypeScript type a Python value arrived as. */
  describe(value: unknown): string {
    if (value === null) return "null";
    if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
    if (Array.isArray(value)) return `Array(${value.length})`;
    if (value instanceof Set) return `Set(${value.size})`;
    if (value instanceof Map) return `Map(${value.size})`;
    if (value instanceof Complex) return `Complex(${value.re}, ${value.im})`;
    if (typeof value === "object") return `object with keys ${Object.keys(value).join(",")}`;
    return `${typeof value} ${String(value)}`;
  }

  /** Returns values of several kinds, for the Python side to print. */
  samples(): Record<string, unknown> {
    return {
      int: 42,
      big: 2n ** 70n,
      float: 1.5,
      text: "héllo",
      bytes: new Uint8Array([1, 2, 3]),
      list: [1, "two", null],
      tuple: tuple(1, 2),
      set: new Set(["a"]),
      nested: { key: [true, false] },
    };
  }

  /** A tuple, which Python receives as a tuple with the serpent serializer. */
  pair(a: number, b: number): Tuple<number> {
    return tuple(a, b);
  }

  /** Throws a TypeScript error, which Python receives as an exception. */
  fail(): never {
    throw new RangeError("a TypeScript RangeError");
  }
}

await serve({
  "example.interop.typescript": new Interop(),
}, { host: "127.0.0.1", verbose: false, onReady: () => console.log("server: ready") });
