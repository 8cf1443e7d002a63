/**
 * UTF-8 text at the frame boundary for the text codecs (json, serpent): short ASCII text is
 * copied by a loop in both directions, which costs far less than a `TextEncoder` or
 * `TextDecoder` call (each is a call into the runtime); small framed output goes into the shared
 * slab, large output behind a headroom for the frame header. Internal.
 *
 * @example
 * ```ts
 * import { encodeText, shortAscii } from "./utf8.ts";
 * const bytes = encodeText("('thing','echo')", true);
 * console.log(shortAscii(bytes)); // ('thing','echo')
 * ```
 *
 * @module
 */

import { releaseBuffer, takeBuffer } from "../_wire/buffer_pool.ts";
import { offerHeadroom } from "../_wire/protocol.ts";
import { allocBytes, trimLast } from "../_wire/slab.ts";

const encoder = new TextEncoder();

/** Bytes kept free before a large output, for the frame header and annotations. */
const HEADROOM = 256;
/** Texts from this length on are encoded behind a headroom, into a spare buffer if one fits. */
const LARGE = 64 * 1024;
/** Texts up to this length are encoded into a shared slab (see _slab.ts). */
const SMALL = 1024;

/** Up to this length, ASCII text is copied by a loop (cheaper than a TextEncoder call). */
export const SHORT_TEXT = 256;

/**
 * The UTF-8 bytes of a text. With `framed`, small outputs are views into a shared slab (for
 * frames); large outputs are always built behind a headroom for the frame header.
 *
 * @example
 * ```ts
 * import { encodeText } from "./utf8.ts";
 * console.log(encodeText("hé", false)); // Uint8Array(3) [ 104, 195, 169 ]
 * ```
 *
 * @param text The text.
 * @param framed The bytes go into a frame at once (they may share a slab).
 * @returns The bytes.
 */
export function encodeText(text: string, framed: boolean): Uint8Array {
  const n = text.length;
  if (n <= SHORT_TEXT) {
    const out = framed ? allocBytes(n) : new Uint8Array(n);
    if (copyAscii(text, out, 0)) return out;
  }
  if (n <= SMALL && framed) {
    const room = allocBytes(n * 3);
    return trimLast(room, encoder.encodeInto(text, room).written);
  }
  if (n < LARGE) return encoder.encode(text);
  // Large: guess ASCII (one byte per character); encodeMessage then writes the header in place.
  const want = HEADROOM + n;
  const spare = takeBuffer(want, want * 2);
  const buf = spare !== null ? new Uint8Array(spare) : new Uint8Array(want);
  const { read, written } = encoder.encodeInto(text, buf.subarray(HEADROOM));
  if (read < n) {
    releaseBuffer(buf.buffer);
    return encoder.encode(text);
  }
  const out = buf.subarray(HEADROOM, HEADROOM + written);
  offerHeadroom(out);
  return out;
}

/**
 * The bytes of an ASCII `header` followed by the UTF-8 bytes of `text`, as
 * {@linkcode encodeText} of both together: short ASCII text is copied behind the header's
 * bytes without joining the strings first.
 *
 * @example
 * ```ts
 * import { encodeWithHeader } from "./utf8.ts";
 * const header = "# x\n";
 * const bytes = encodeWithHeader(header, new TextEncoder().encode(header), "42", true);
 * console.log(new TextDecoder().decode(bytes)); // # x\n42
 * ```
 *
 * @param header The header text (ASCII).
 * @param headerBytes The same header as bytes.
 * @param text The text after it.
 * @param framed As for {@linkcode encodeText}.
 * @returns The bytes.
 */
export function encodeWithHeader(
  header: string,
  headerBytes: Uint8Array,
  text: string,
  framed: boolean,
): Uint8Array {
  const h = headerBytes.length;
  const n = text.length;
  if (n <= SHORT_TEXT) {
    const out = framed ? allocBytes(h + n) : new Uint8Array(h + n);
    out.set(headerBytes);
    if (copyAscii(text, out, h)) return out;
  }
  return encodeText(header + text, framed);
}

/** Copies ASCII text into `out` from `at`; false (part copied) at the first other character. */
function copyAscii(text: string, out: Uint8Array, at: number): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return false;
    out[at + i] = c;
  }
  return true;
}

/**
 * Short ASCII bytes as a string without a TextDecoder call, or null when not all ASCII (or
 * longer than {@linkcode SHORT_TEXT}).
 *
 * @example
 * ```ts
 * import { shortAscii } from "./utf8.ts";
 * console.log(shortAscii(new Uint8Array([104, 105])), shortAscii(new Uint8Array([0xc3, 0xa9]))); // hi null
 * ```
 *
 * @param data The bytes.
 * @returns The text, or null.
 */
export function shortAscii(data: Uint8Array): string | null {
  const n = data.length;
  if (n > SHORT_TEXT) return null;
  const codes: number[] = new Array(n);
  let all = 0;
  for (let i = 0; i < n; i++) all |= codes[i] = data[i]!;
  return all < 0x80 ? String.fromCharCode(...codes) : null;
}
