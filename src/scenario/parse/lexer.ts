/**
 * The scenario lexer: splits one line into blank-separated tokens, drops the
 * comment, and decodes the (at most one) string a token may end with. Columns
 * count code points from 1, as error messages report them.
 */

/** A lexer or parser complaint about one place in the source. */
export interface ParseError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/** An error position within the line being lexed or parsed. */
export interface LineError {
  readonly col: number;
  readonly message: string;
}

/**
 * One token. `text` is the source as written (quotes and escapes included).
 * When the token ends with a string, `str` holds the text before the opening
 * quote (`data=` in `data="hi"`, empty for a bare string) and the decoded bytes.
 */
export interface Token {
  readonly text: string;
  readonly col: number;
  readonly str?: { readonly prefix: string; readonly bytes: Uint8Array };
}

/** The tokens of one line, or the error that stopped its lexing. */
export type LexedLine = { readonly ok: true; readonly tokens: readonly Token[] } | { readonly ok: false; readonly error: LineError };

const isBlank = (c: string): boolean => c === ' ' || c === '\t';

const HEX_DIGIT = /^[0-9a-fA-F]$/;

/** Appends the UTF-8 encoding of code point `cp`: strings store the file's bytes. */
function pushUtf8(out: number[], cp: number): void {
  if (cp < 0x80) {
    out.push(cp);
  } else if (cp < 0x800) {
    out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  } else {
    out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
}

/**
 * Decodes the string whose opening quote is at `chars[open]`. Returns the
 * index just past the closing quote, or an error naming the bad escape's
 * column (or the opening quote's, when the string never closes).
 */
function lexString(chars: readonly string[], open: number): { end: number; bytes: Uint8Array } | LineError {
  const out: number[] = [];
  let i = open + 1;
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === '"') return { end: i + 1, bytes: Uint8Array.from(out) };
    if (c !== '\\') {
      pushUtf8(out, c.codePointAt(0) as number);
      i += 1;
      continue;
    }
    const e = chars[i + 1];
    if (e === '\\' || e === '"') {
      out.push(e.charCodeAt(0));
      i += 2;
    } else if (e === 'n') {
      out.push(0x0a);
      i += 2;
    } else if (e === 't') {
      out.push(0x09);
      i += 2;
    } else if (e === 'x' && HEX_DIGIT.test(chars[i + 2] ?? '') && HEX_DIGIT.test(chars[i + 3] ?? '')) {
      out.push(parseInt(`${chars[i + 2]}${chars[i + 3]}`, 16));
      i += 4;
    } else if (e === 'x') {
      return { col: i + 1, message: 'escape \\x needs two hexadecimal digits' };
    } else if (e === undefined) {
      break;
    } else {
      return { col: i + 1, message: `unknown escape \\${e} (use \\\\, \\", \\n, \\t or \\xHH)` };
    }
  }
  return { col: open + 1, message: 'unterminated string' };
}

/**
 * Lexes one line (without its newline). `#` outside a string ends the line. A
 * string may only end a token: text glued after its closing quote is an error.
 */
export function lexLine(line: string): LexedLine {
  const chars = Array.from(line);
  const tokens: Token[] = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i] as string;
    if (isBlank(c)) {
      i += 1;
      continue;
    }
    if (c === '#') break;
    const start = i;
    while (i < chars.length && !isBlank(chars[i] as string) && chars[i] !== '#' && chars[i] !== '"') {
      i += 1;
    }
    if (chars[i] !== '"') {
      tokens.push({ text: chars.slice(start, i).join(''), col: start + 1 });
      continue;
    }
    const s = lexString(chars, i);
    if ('message' in s) return { ok: false, error: s };
    const prefix = chars.slice(start, i).join('');
    i = s.end;
    const rest = chars[i];
    if (rest !== undefined && !isBlank(rest) && rest !== '#') {
      return { ok: false, error: { col: i + 1, message: 'a string must end its token' } };
    }
    tokens.push({ text: chars.slice(start, i).join(''), col: start + 1, str: { prefix, bytes: s.bytes } });
  }
  return { ok: true, tokens };
}
