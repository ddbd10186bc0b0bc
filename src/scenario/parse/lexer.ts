/**
 * The scenario lexer: splits one line into blank-separated tokens, drops the
 * comment, and decodes the (at most one) string a token may end with. Columns
 * count code points from 1, as error messages report them. Control characters
 * other than tab are refused wherever they stand (comments included).
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

const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Most tokens a line may have; real statements have a few dozen, and each token costs memory. */
export const MAX_TOKENS_PER_LINE = 1000;

const isBlank = (c: number): boolean => c === SPACE || c === TAB;

/** Whether the UTF-16 unit at `i` is the second half of a surrogate pair (it does not start a column). */
function continuesPair(line: string, i: number): boolean {
  const c = line.charCodeAt(i);
  if (c < 0xdc00 || c > 0xdfff || i === 0) return false;
  const p = line.charCodeAt(i - 1);
  return p >= 0xd800 && p <= 0xdbff;
}

const hexValue = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
};

/** The characters a line may not hold: C0 controls other than tab, DEL, and C1 controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's job.
const FORBIDDEN = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/** The column of UTF-16 index `i`: code points before it, plus one. */
function columnOf(line: string, i: number): number {
  let col = 1;
  for (let j = 0; j < i; j += 1) if (!continuesPair(line, j)) col += 1;
  return col;
}

/**
 * The first character the language does not allow in a line, if any: a
 * control character other than tab (C0, DEL or C1; a string spells such a
 * byte as \xHH). The newline ends the line, and a carriage return just
 * before it belongs to the line end, so neither reaches here.
 */
function forbiddenCharacter(line: string): LineError | undefined {
  const m = FORBIDDEN.exec(line);
  if (m === null) return undefined;
  const c = line.charCodeAt(m.index);
  const code = `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  const what = c === 0 ? 'a NUL byte' : c === 0x0d ? 'a carriage return not at the end of the line' : `control character ${code}`;
  return { col: columnOf(line, m.index), message: `${what} is not allowed in a scenario (inside a string, write a byte as \\xHH)` };
}

/** A growable byte buffer: a string's bytes, without an array slot per byte. */
class Bytes {
  private buf = new Uint8Array(16);
  private n = 0;
  push(b: number): void {
    if (this.n === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.n++] = b;
  }
  /** Appends the UTF-8 encoding of code point `cp`: strings store the file's bytes. */
  pushCodePoint(cp: number): void {
    if (cp < 0x80) {
      this.push(cp);
    } else if (cp < 0x800) {
      this.push(0xc0 | (cp >> 6));
      this.push(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      this.push(0xe0 | (cp >> 12));
      this.push(0x80 | ((cp >> 6) & 0x3f));
      this.push(0x80 | (cp & 0x3f));
    } else {
      this.push(0xf0 | (cp >> 18));
      this.push(0x80 | ((cp >> 12) & 0x3f));
      this.push(0x80 | ((cp >> 6) & 0x3f));
      this.push(0x80 | (cp & 0x3f));
    }
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

/**
 * Decodes the string whose opening quote is at `line[open]` (column
 * `openCol`). Returns the index and column just past the closing quote, or
 * an error naming the bad escape's column (or the opening quote's, when the
 * string never closes).
 */
function lexString(line: string, open: number, openCol: number): { end: number; endCol: number; bytes: Uint8Array } | LineError {
  const out = new Bytes();
  let i = open + 1;
  let col = openCol + 1;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) return { end: i + 1, endCol: col + 1, bytes: out.done() };
    if (c !== BACKSLASH) {
      const cp = line.codePointAt(i) as number;
      out.pushCodePoint(cp);
      i += cp > 0xffff ? 2 : 1;
      col += 1;
      continue;
    }
    const e = line.charCodeAt(i + 1);
    if (e === BACKSLASH || e === QUOTE) {
      out.push(e);
    } else if (e === 0x6e) {
      out.push(0x0a);
    } else if (e === 0x74) {
      out.push(0x09);
    } else if (e === 0x78) {
      const hi = hexValue(line.charCodeAt(i + 2));
      const lo = hexValue(line.charCodeAt(i + 3));
      if (hi < 0 || lo < 0) return { col, message: 'escape \\x needs two hexadecimal digits' };
      out.push(hi * 16 + lo);
      i += 4;
      col += 4;
      continue;
    } else if (Number.isNaN(e)) {
      break;
    } else {
      const shown = String.fromCodePoint(line.codePointAt(i + 1) as number);
      return { col, message: `unknown escape \\${shown} (use \\\\, \\", \\n, \\t or \\xHH)` };
    }
    i += 2;
    col += 2;
  }
  return { col: openCol, message: 'unterminated string' };
}

/**
 * Lexes one line (without its newline). `#` outside a string ends the line. A
 * string may only end a token: text glued after its closing quote is an error.
 * One pass over the line's UTF-16 units, whatever its length.
 */
export function lexLine(line: string): LexedLine {
  const bad = forbiddenCharacter(line);
  if (bad !== undefined) return { ok: false, error: bad };
  const tokens: Token[] = [];
  const n = line.length;
  let i = 0;
  let col = 1;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (isBlank(c)) {
      i += 1;
      col += 1;
      continue;
    }
    if (c === HASH) break;
    if (tokens.length === MAX_TOKENS_PER_LINE) {
      return { ok: false, error: { col, message: `a line may have at most ${MAX_TOKENS_PER_LINE} tokens` } };
    }
    const start = i;
    const startCol = col;
    while (i < n) {
      const d = line.charCodeAt(i);
      if (d <= QUOTE + 1 && (isBlank(d) || d === HASH || d === QUOTE)) break;
      // The second half of a surrogate pair shares its first half's column.
      if (d < 0xdc00 || d > 0xdfff || !continuesPair(line, i)) col += 1;
      i += 1;
    }
    if (line.charCodeAt(i) !== QUOTE) {
      tokens.push({ text: line.slice(start, i), col: startCol });
      continue;
    }
    const s = lexString(line, i, col);
    if ('message' in s) return { ok: false, error: s };
    const prefix = line.slice(start, i);
    i = s.end;
    col = s.endCol;
    if (i < n && !isBlank(line.charCodeAt(i)) && line.charCodeAt(i) !== HASH) {
      return { ok: false, error: { col, message: 'a string must end its token' } };
    }
    tokens.push({ text: line.slice(start, i), col: startCol, str: { prefix, bytes: s.bytes } });
  }
  return { ok: true, tokens };
}
