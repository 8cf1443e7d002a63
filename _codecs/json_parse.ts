/**
 * Private: the exact json reader used when `JSON.parse` cannot be: text with Python's `NaN`,
 * `Infinity` and `-Infinity` tokens or integers beyond 2^53 (read as `bigint`). It revives
 * `__class__` maps bottom-up and refuses `__proto__` keys.
 *
 * @module
 */

import { SerializeError } from "../errors.ts";

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/**
 * Parses json text the way Python's `json.loads` does.
 *
 * @param text The text.
 * @param reviveDict Called for every object with a string `__class__`.
 * @returns The value.
 * @throws {SerializeError} For malformed text.
 */
export function parseJsonSlow(
  text: string,
  reviveDict: (map: Record<string, unknown>) => unknown,
): unknown {
  let pos = 0;

  function fail(what: string): never {
    throw new SerializeError(`Cannot deserialize json: ${what} at position ${pos}`);
  }

  function skipSpace(): void {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  }

  function parseString(): string {
    const start = pos; // at the opening quote
    pos++;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (Number.isNaN(c)) fail("unterminated string");
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        pos += 2;
      } else {
        if (c < 0x20) fail("invalid control character in string");
        pos++;
      }
    }
    pos++;
    if (!escaped) return text.slice(start + 1, pos - 1);
    try {
      return JSON.parse(text.slice(start, pos)) as string;
    } catch {
      return fail("invalid string escape");
    }
  }

  function literal(word: string, value: unknown): unknown {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return value;
    }
    return fail("unexpected character");
  }

  function parseNumber(): number | bigint {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m === null) return fail("unexpected character");
    pos = NUMBER.lastIndex;
    const n = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  function parseValue(depth: number): unknown {
    if (depth > 5000) fail("nesting too deep");
    skipSpace();
    const c = text.charCodeAt(pos);
    switch (c) {
      case 0x7b: // {
        return parseObject(depth);
      case 0x5b: // [
        return parseArray(depth);
      case 0x22:
        return parseString();
      case 0x74:
        return literal("true", true);
      case 0x66:
        return literal("false", false);
      case 0x6e:
        return literal("null", null);
      case 0x4e:
        return literal("NaN", NaN);
      case 0x49:
        return literal("Infinity", Infinity);
      case 0x2d:
        if (text.startsWith("-Infinity", pos)) return literal("-Infinity", -Infinity);
        return parseNumber();
      default:
        if (c >= 0x30 && c <= 0x39) return parseNumber();
        return fail(Number.isNaN(c) ? "unexpected end of data" : "unexpected character");
    }
  }

  function parseArray(depth: number): unknown[] {
    pos++;
    const out: unknown[] = [];
    skipSpace();
    if (text.charCodeAt(pos) === 0x5d) {
      pos++;
      return out;
    }
    for (;;) {
      out.push(parseValue(depth + 1));
      skipSpace();
      const c = text.charCodeAt(pos++);
      if (c === 0x5d) return out;
      if (c !== 0x2c) fail("expected ',' or ']'");
    }
  }

  function parseObject(depth: number): unknown {
    pos++;
    const out: Record<string, unknown> = {};
    skipSpace();
    if (text.charCodeAt(pos) === 0x7d) {
      pos++;
      return out;
    }
    for (;;) {
      skipSpace();
      if (text.charCodeAt(pos) !== 0x22) fail("expected a string key");
      const key = parseString();
      if (key === "__proto__") fail("the key __proto__ is not allowed");
      skipSpace();
      if (text.charCodeAt(pos++) !== 0x3a) fail("expected ':'");
      out[key] = parseValue(depth + 1);
      skipSpace();
      const c = text.charCodeAt(pos++);
      if (c === 0x7d) break;
      if (c !== 0x2c) fail("expected ',' or '}'");
    }
    return typeof out.__class__ === "string" ? reviveDict(out) : out;
  }

  const value = parseValue(0);
  skipSpace();
  if (pos < text.length) fail("extra data");
  return value;
}
