/**
 * A scenario file's bytes to its text. The file must be UTF-8: the first
 * byte that is not is a parse error at its line and column (columns count
 * code points, as everywhere), and nothing else is parsed, since what
 * follows cannot be told apart from noise. A leading byte-order mark is
 * dropped. Which characters may stand in the text is the lexer's rule
 * (lexer.ts), so a string given to parseScenario meets the same one.
 *
 * The decoder builds the text in pieces, never an array per byte, so a file
 * of tens of MiB costs about its own size.
 */
import type { ParseError } from './lexer.js';

/** A place in the source and what is wrong there. */
export interface SourceProblem {
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

/** How many UTF-16 units are gathered before they become a string piece. */
const PIECE = 8192;

/**
 * Decodes `bytes` as UTF-8 (the Encoding Standard's rules: no overlong forms,
 * no surrogates, nothing past U+10FFFF), or names the first byte that breaks
 * them.
 */
export function decodeSource(bytes: Uint8Array): { text: string } | SourceProblem {
  const pieces: string[] = [];
  const units = new Uint16Array(PIECE + 2);
  let n = 0;
  let line = 1;
  let col = 1;
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const len = bytes.length;
  while (i < len) {
    if (n >= PIECE) {
      pieces.push(String.fromCharCode.apply(null, units.subarray(0, n) as unknown as number[]));
      n = 0;
    }
    const b = bytes[i] as number;
    if (b < 0x80) {
      units[n++] = b;
      i += 1;
      if (b === 0x0a) {
        line += 1;
        col = 1;
      } else {
        col += 1;
      }
      continue;
    }
    let needed: number;
    let cp: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      needed = 1;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      needed = 2;
      cp = b & 0x0f;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      needed = 3;
      cp = b & 0x07;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else {
      const why = b <= 0xbf ? 'a continuation byte with no lead byte' : 'a byte that never appears in UTF-8';
      return { line, col, message: `invalid UTF-8: byte ${hex(b)} is ${why}` };
    }
    for (let k = 1; k <= needed; k += 1) {
      const c = bytes[i + k];
      if (c === undefined) return { line, col, message: `invalid UTF-8: the sequence starting with byte ${hex(b)} is cut short by the end of the file` };
      if (c < lower || c > upper) {
        return { line, col, message: `invalid UTF-8: the sequence starting with byte ${hex(b)} is broken by byte ${hex(c)}` };
      }
      lower = 0x80;
      upper = 0xbf;
      cp = (cp << 6) | (c & 0x3f);
    }
    i += needed + 1;
    col += 1;
    if (cp < 0x10000) {
      units[n++] = cp;
    } else {
      units[n++] = 0xd800 + ((cp - 0x10000) >> 10);
      units[n++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
    }
  }
  if (n > 0) pieces.push(String.fromCharCode.apply(null, units.subarray(0, n) as unknown as number[]));
  return { text: pieces.join('') };
}

/** The one error of a file that is not UTF-8, as parseScenario reports errors. */
export function sourceError(file: string, p: SourceProblem): ParseError {
  return { file, line: p.line, col: p.col, message: p.message };
}
