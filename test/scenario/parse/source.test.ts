/**
 * A scenario file's bytes: UTF-8 or a parse error at the first bad byte, and
 * control characters refused wherever they stand.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { lexLine, MAX_TOKENS_PER_LINE } from '../../../src/scenario/parse/lexer.js';
import { MAX_PARSE_ERRORS, parseScenario } from '../../../src/scenario/parse/parse.js';
import { decodeSource } from '../../../src/scenario/parse/source.js';
import { errors } from '../helpers.js';

const at = (bytes: number[]): string => {
  const r = decodeSource(Uint8Array.from(bytes));
  if ('text' in r) throw new Error('expected invalid UTF-8');
  return `${r.line}:${r.col}: ${r.message}`;
};

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

describe('decodeSource', () => {
  it('decodes valid UTF-8 as TextDecoder does, and drops a leading byte-order mark', () => {
    const text = 'proc A # café ☃ 𝄞 \u{10ffff}\n';
    const bytes = new TextEncoder().encode(`\uFEFF${text}`);
    expect(decodeSource(bytes)).toEqual({ text });
    const big = 'x'.repeat(20000) + '€'.repeat(9000);
    expect(decodeSource(new TextEncoder().encode(big))).toEqual({ text: big });
  });

  it('names the line and column (in code points) of the first byte that is not UTF-8', () => {
    expect(at([...ascii('proc A\n# '), 0xc3, 0xa9, 0xff])).toBe('2:4: invalid UTF-8: byte 0xff is a byte that never appears in UTF-8');
    expect(at([...ascii('ab'), 0x80])).toBe('1:3: invalid UTF-8: byte 0x80 is a continuation byte with no lead byte');
    expect(at([...ascii('\n\nx'), 0xe2, 0x28, 0xa1])).toBe('3:2: invalid UTF-8: the sequence starting with byte 0xe2 is broken by byte 0x28');
    expect(at([0xf0, 0x9d, 0x84])).toBe('1:1: invalid UTF-8: the sequence starting with byte 0xf0 is cut short by the end of the file');
  });

  it('refuses overlong forms, surrogates and code points past U+10FFFF', () => {
    expect(at([0xc0, 0xaf])).toMatch(/^1:1: invalid UTF-8: byte 0xc0/);
    expect(at([0xe0, 0x80, 0xaf])).toMatch(/^1:1: .*broken by byte 0x80/);
    expect(at([0xed, 0xa0, 0x80])).toMatch(/^1:1: .*broken by byte 0xa0/);
    expect(at([0xf4, 0x90, 0x80, 0x80])).toMatch(/^1:1: .*broken by byte 0x90/);
    expect(at([0xf5, 0x80, 0x80, 0x80])).toMatch(/^1:1: invalid UTF-8: byte 0xf5/);
  });
});

describe('characters the language refuses', () => {
  const lexError = (line: string): string => {
    const r = lexLine(line);
    if (r.ok) throw new Error(`expected an error for ${JSON.stringify(line)}`);
    return `${r.error.col}: ${r.error.message}`;
  };

  it('refuses NUL, C0 controls other than tab, DEL and C1 controls, even in a comment', () => {
    expect(lexError('A mkdir "/a\0b"')).toBe('12: a NUL byte is not allowed in a scenario (inside a string, write a byte as \\xHH)');
    expect(lexError('proc A # ring \x07')).toMatch(/^15: control character U\+0007 is not allowed/);
    expect(lexError('proc\x7fA')).toMatch(/^5: control character U\+007F/);
    expect(lexError('# \u0085')).toMatch(/^3: control character U\+0085/);
    expect(lexError('proc A\rB')).toMatch(/^7: a carriage return not at the end of the line/);
    expect(lexLine('proc\tA').ok).toBe(true);
  });

  it('counts columns in code points after astral characters', () => {
    expect(lexError('# 𝄞𝄞 \x01')).toMatch(/^6: /);
    const r = lexLine('"𝄞" x');
    expect(r.ok && r.tokens.map((t) => t.col)).toEqual([1, 5]);
  });

  it('reports them at FILE:LINE:COL and parses nothing', () => {
    expect(errors('proc A\nA shmget IPC_PRIVATE 4K 0600\n# \x1b[31m\n')).toEqual([
      '3:3: control character U+001B is not allowed in a scenario (inside a string, write a byte as \\xHH)',
    ]);
  });

  it('keeps a carriage return before the newline (CRLF files)', () => {
    expect(E.isRight(parseScenario('proc A\r\nA shmget IPC_PRIVATE 4K 0600\r\n', 't.scn'))).toBe(true);
  });
});

describe('long input', () => {
  it('lexes a 140-million-character line (and a 20-million-byte string) in one pass', { timeout: 60_000 }, () => {
    const word = lexLine('y'.repeat(140_000_000));
    expect(word.ok && word.tokens[0]?.text.length).toBe(140_000_000);
    const str = lexLine(`A write a "${'x'.repeat(20_000_000)}"`);
    expect(str.ok && str.tokens[3]?.str?.bytes.length).toBe(20_000_000);
  });

  it('refuses a line with more tokens than any statement has', () => {
    const r = lexLine('a '.repeat(MAX_TOKENS_PER_LINE + 5));
    expect(r.ok ? 'ok' : `${r.error.col}: ${r.error.message}`).toBe(`${2 * MAX_TOKENS_PER_LINE + 1}: a line may have at most ${MAX_TOKENS_PER_LINE} tokens`);
  });

  it('parses a 60 MiB line to a parse error, quoting a shortened token', { timeout: 60_000 }, () => {
    const r = parseScenario(`proc A\n${'a'.repeat(60 << 20)}\n`, 't.scn');
    expect(E.isLeft(r) && r.left.map((e) => [e.line, e.col, e.message.length])).toEqual([[2, 1, 'unknown operation '.length + (60 << 20)]]);
  });

  it('stops after MAX_PARSE_ERRORS errors, saying where', () => {
    const es = errors('x\n'.repeat(1000));
    expect(es).toHaveLength(MAX_PARSE_ERRORS + 1);
    expect(es.at(-1)).toBe(`${MAX_PARSE_ERRORS + 1}:1: ${MAX_PARSE_ERRORS} errors so far: the rest of the file is not checked`);
  });
});
