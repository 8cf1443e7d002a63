/**
 * Bench only: `npm:re2js` made to take the Python `re` syntax the Name Server receives, so that
 * `codec_libs.ts` can measure it against our own matcher (`_naming_regex.ts`) on equal terms.
 *
 * RE2's syntax is not Python's, so a pattern is first rewritten: `\d`, `\w`, `\s` and their
 * negations as Python's Unicode classes (ASCII ones under `(?a)`), `\Z` as `\z`, `\uXXXX`,
 * `\UXXXXXXXX` and octal escapes as `\x{...}`, `{,n}` as `{0,n}`, a `{` that is no repeat as
 * `\{`, comments dropped, and a `$` outside `(?m)` as `(?:\n?\z)` (Python's `$` also matches
 * before a final line break; RE2 has no lookahead, so this form consumes it, which differs
 * only when the pattern goes on after the `$`). RE2's `\b` is ASCII only (Python's is not).
 * The match is `re.match`: the rewritten pattern anchored with `\A` and run with `test`.
 *
 * @module
 */

import { RE2JS } from "npm:re2js@2.10.0";

/** A pattern that cannot be rewritten or compiled. */
export class Re2jsPatternError extends SyntaxError {
  override name = "Re2jsPatternError";
}

const UNI_SPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}";

function classBody(letter: string, ascii: boolean): string | null {
  switch (letter) {
    case "d":
      return ascii ? "0-9" : "\\p{Nd}";
    case "w":
      return ascii ? "A-Za-z0-9_" : "\\p{L}\\p{N}_";
    case "s":
      return ascii ? " \\t\\n\\r\\f\\v" : UNI_SPACE;
  }
  return null;
}

/** Rewrites a Python pattern into RE2 syntax. */
export function pythonToRe2(pattern: string): string {
  const chars = [...pattern];
  let i = 0;
  let out = "";
  let ascii = false;
  let multiline = false;
  // global flags at the start
  for (;;) {
    const m = /^\(\?([aiLmsux]+)\)/.exec(chars.slice(i, i + 12).join(""));
    if (!m) break;
    for (const f of m[1]!) {
      if (f === "x" || f === "L") throw new Re2jsPatternError(`the (?${f}) flag is not supported`);
      if (f === "a") ascii = true;
      if (f === "m") multiline = true;
      if (f === "i" || f === "m" || f === "s") out += `(?${f})`;
    }
    i += [...m[0]].length;
  }
  const hexEscape = (n: number): string => {
    const digits = chars.slice(i, i + n).join("");
    if (digits.length !== n || !/^[0-9a-fA-F]+$/.test(digits)) {
      throw new Re2jsPatternError(`incomplete escape at position ${i}`);
    }
    i += n;
    return `\\x{${digits}}`;
  };
  const escape = (inClass: boolean): string => {
    const letter = chars[i++];
    if (letter === undefined) throw new Re2jsPatternError("bad escape (end of pattern)");
    const body = classBody(letter.toLowerCase(), ascii);
    if (body !== null) {
      if (letter === letter.toLowerCase()) return inClass ? body : `[${body}]`;
      if (inClass) throw new Re2jsPatternError(`\\${letter} inside a set is not supported`);
      return `[^${body}]`;
    }
    switch (letter) {
      case "Z":
        return inClass ? "Z" : "\\z";
      case "b":
        return inClass ? "\\x{8}" : "\\b";
      case "u":
        return hexEscape(4);
      case "U":
        return hexEscape(8);
      case "x":
        return hexEscape(2);
      case "0": {
        let digits = "0";
        while (digits.length < 3 && /[0-7]/.test(chars[i] ?? "")) digits += chars[i++];
        return `\\x{${parseInt(digits, 8).toString(16)}}`;
      }
    }
    return "\\" + letter;
  };
  while (i < chars.length) {
    const c = chars[i++]!;
    if (c === "\\") out += escape(false);
    else if (c === "[") {
      out += "[";
      if (chars[i] === "^") out += chars[i++];
      if (chars[i] === "]") out += "\\]", i++;
      for (;;) {
        const d = chars[i++];
        if (d === undefined) throw new Re2jsPatternError("unterminated character set");
        if (d === "]") break;
        if (d === "\\") out += escape(true);
        else if (d === "[") out += "\\[";
        else out += d;
      }
      out += "]";
    } else if (c === "{") {
      const m = /^(\d*)(,(\d*))?\}/.exec(chars.slice(i, i + 24).join(""));
      if (!m || (m[1] === "" && m[2] === undefined)) out += "\\{";
      else {
        out += `{${m[1] === "" ? "0" : m[1]}${m[2] ?? ""}}`;
        i += m[0].length;
      }
    } else if (c === "(" && chars[i] === "?" && chars[i + 1] === "#") {
      const end = chars.indexOf(")", i);
      if (end < 0) throw new Re2jsPatternError("missing ), unterminated comment");
      i = end + 1;
    } else if (c === "$" && !multiline) out += "(?:\\n?\\z)";
    else out += c;
  }
  return out;
}

/** Compiles a Python pattern into an `re.match` test run by re2js. */
export function compileWithRe2js(pattern: string): (name: string) => boolean {
  let re: RE2JS;
  try {
    re = RE2JS.compile(`\\A(?:${pythonToRe2(pattern)})`);
  } catch (e) {
    if (e instanceof Re2jsPatternError) throw e;
    throw new Re2jsPatternError((e as Error).message);
  }
  return (name) => re.test(name);
}
