import { describe, expect, it } from 'vitest';
import type { LexedLine, Token } from '../../../src/scenario/parse/lexer.js';
import { lexLine } from '../../../src/scenario/parse/lexer.js';

function tokens(line: string): readonly Token[] {
  const r = lexLine(line);
  if (!r.ok) throw new Error(`${r.error.col}: ${r.error.message}`);
  return r.tokens;
}

function failure(line: string): string {
  const r: LexedLine = lexLine(line);
  if (r.ok) throw new Error(`expected a lex error for ${line}`);
  return `${r.error.col}: ${r.error.message}`;
}

const bytes = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

describe('lexLine', () => {
  it('splits on spaces and tabs and records 1-based columns', () => {
    expect(tokens('A  shmget\t0 4K').map((t) => [t.text, t.col])).toEqual([
      ['A', 1],
      ['shmget', 4],
      ['0', 11],
      ['4K', 13],
    ]);
  });

  it('yields no tokens for blank and comment-only lines', () => {
    expect(tokens('')).toEqual([]);
    expect(tokens(' \t ')).toEqual([]);
    expect(tokens('# a comment "with a quote')).toEqual([]);
  });

  it('ends the line at # outside a string, even inside a word', () => {
    expect(tokens('proc A # start').map((t) => t.text)).toEqual(['proc', 'A']);
    expect(tokens('proc A#B').map((t) => t.text)).toEqual(['proc', 'A']);
  });

  it('keeps # and spaces inside a string', () => {
    const [w, s] = tokens('write "a # b"  # real comment');
    expect(w?.text).toBe('write');
    expect(s?.text).toBe('"a # b"');
    expect(Array.from(s?.str?.bytes ?? [])).toEqual(bytes('a # b'));
    expect(s?.str?.prefix).toBe('');
  });

  it('decodes every escape', () => {
    const [s] = tokens('"\\\\ \\" \\n \\t \\x00\\xfF"');
    expect(Array.from(s?.str?.bytes ?? [])).toEqual([0x5c, 0x20, 0x22, 0x20, 0x0a, 0x20, 0x09, 0x20, 0x00, 0xff]);
  });

  it('stores non-ASCII characters as their UTF-8 bytes', () => {
    const [s] = tokens('"é€😀"');
    expect(Array.from(s?.str?.bytes ?? [])).toEqual([0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
  });

  it('keeps the text before a string that ends a token', () => {
    const [t] = tokens('data="hi there"');
    expect(t?.text).toBe('data="hi there"');
    expect(t?.str?.prefix).toBe('data=');
    expect(Array.from(t?.str?.bytes ?? [])).toEqual(bytes('hi there'));
  });

  it('accepts the empty string', () => {
    expect(tokens('""')[0]?.str?.bytes.length).toBe(0);
  });

  it('counts columns in code points, not UTF-16 units', () => {
    expect(tokens('"😀" x').map((t) => t.col)).toEqual([1, 5]);
    expect(failure('"😀😀\\q"')).toBe('4: unknown escape \\q (use \\\\, \\", \\n, \\t or \\xHH)');
  });

  it('points at the backslash of a bad escape', () => {
    expect(failure('A write a "ab\\zc"')).toBe('14: unknown escape \\z (use \\\\, \\", \\n, \\t or \\xHH)');
    expect(failure('"\\x4"')).toBe('2: escape \\x needs two hexadecimal digits');
    expect(failure('"\\xg0"')).toBe('2: escape \\x needs two hexadecimal digits');
  });

  it('points at the opening quote of an unterminated string', () => {
    expect(failure('A write a "abc')).toBe('11: unterminated string');
    expect(failure('A write a "abc\\"')).toBe('11: unterminated string');
    expect(failure('A write a "abc\\')).toBe('11: unterminated string');
  });

  it('rejects text glued after a closing quote', () => {
    expect(failure('"ab"cd')).toBe('5: a string must end its token');
    expect(failure('"ab""cd"')).toBe('5: a string must end its token');
  });

  it('lets a comment follow a string directly', () => {
    expect(tokens('"ab"# c').map((t) => t.text)).toEqual(['"ab"']);
  });
});
