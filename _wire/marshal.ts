/**
 * The one piece of Python's `marshal` format Pyro uses: a string, as the reason of a
 * CONNECTFAIL that a daemon sends before it knows the client's serializer (serializer id 2).
 *
 * @example A round trip
 * ```ts
 * import { decodeMarshalString, encodeMarshalString } from "./marshal.ts";
 * const data = encodeMarshalString("hi");
 * console.log(data, decodeMarshalString(data)); // Uint8Array(4) [ 250, 2, 104, 105 ] hi
 * ```
 *
 * @module
 */

/**
 * Encodes a string the way Python's `marshal.dumps(str)` does (what Pyro5 sends).
 *
 * @example
 * ```ts
 * import { encodeMarshalString } from "./marshal.ts";
 * console.log(encodeMarshalString("hi")); // Uint8Array(4) [ 250, 2, 104, 105 ]
 * ```
 *
 * @param text The string.
 * @returns Its marshal bytes.
 */
export function encodeMarshalString(text: string): Uint8Array {
  const utf8 = new TextEncoder().encode(text);
  // deno-lint-ignore no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(text);
  if (ascii && utf8.length < 256) {
    const out = new Uint8Array(2 + utf8.length);
    out[0] = 0xfa; // short ASCII, ref flag
    out[1] = utf8.length;
    out.set(utf8, 2);
    return out;
  }
  const out = new Uint8Array(5 + utf8.length);
  out[0] = ascii ? 0xe1 : 0xf5; // ASCII or unicode, ref flag
  new DataView(out.buffer).setUint32(1, utf8.length, true);
  out.set(utf8, 5);
  return out;
}

/**
 * Reads a marshal-encoded string (the reason of a CONNECTFAIL sent with serializer 2).
 *
 * @example
 * ```ts
 * import { decodeMarshalString } from "./marshal.ts";
 * const data = new Uint8Array([0xfa, 2, 0x68, 0x69]); // marshal short ASCII "hi"
 * console.log(decodeMarshalString(data)); // "hi"
 * ```
 *
 * @param data The marshal bytes.
 * @returns The string.
 */
export function decodeMarshalString(data: Uint8Array): string {
  if (data.length === 0) return "";
  const code = data[0]! & 0x7f;
  let start = 1;
  let length = data.length - 1;
  if (code === 0x7a || code === 0x5a) { // 'z' 'Z': short ASCII, 1-byte length
    length = data[1] ?? 0;
    start = 2;
  } else if ([0x61, 0x41, 0x75, 0x74, 0x73].includes(code) && data.length >= 5) { // a A u t s
    length = new DataView(data.buffer, data.byteOffset + 1, 4).getUint32(0, true);
    start = 5;
  }
  return new TextDecoder().decode(data.subarray(start, start + length));
}
