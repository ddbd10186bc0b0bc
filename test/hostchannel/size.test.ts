import * as O from 'fp-ts/lib/Option.js';
import { describe, expect, it } from 'vitest';
import { INT64_MAX, parseByteSize } from '../../src/hostchannel/size.js';

function size(text: string): bigint | 'invalid' {
  const r = parseByteSize(text);
  return O.isSome(r) ? r.value : 'invalid';
}

describe('parseByteSize: the unit table', () => {
  it.each([
    ['4096', 4096n],
    ['4096b', 4096n],
    ['4096B', 4096n],
    ['4096i', 4096n],
    ['4096iB', 4096n],
    ['4k', 4096n],
    ['4KI', 4096n],
    ['4kb', 4096n],
    ['4KiB', 4096n],
    ['32M', 33554432n],
    ['32m', 33554432n],
    ['32MB', 33554432n],
    ['32mb', 33554432n],
    ['32MiB', 33554432n],
    ['32mi', 33554432n],
    ['32Mi', 33554432n],
    ['1g', 1073741824n],
    ['1GIB', 1073741824n],
    ['1t', 1099511627776n],
    ['1Tb', 1099511627776n],
    ['1p', 1125899906842624n],
    ['1pIb', 1125899906842624n],
  ])('%s = %s bytes (binary units, any case)', (text, bytes) => {
    expect(size(text)).toBe(bytes);
  });

  it.each(['1E', '1Z', '1KK', '1MiBB', '1 M', '1M ', '1KiBi', '1bi', '1\u212a'])('%s is not a unit', (text) => {
    expect(size(text)).toBe('invalid');
  });
});

describe('parseByteSize: the first character and the number part', () => {
  it.each(['', '.5M', '+1M', '-1M', ' 1M', 'M', 'k1'])('%j does not start with a digit', (text) => {
    expect(size(text)).toBe('invalid');
  });

  it.each(['1e3', '0x1000', '1_000', '1,5M'])('%s: whatever follows the digits and dots must be a unit', (text) => {
    expect(size(text)).toBe('invalid');
  });
});

describe('parseByteSize: fractions (strtod of 0.<digits>, times the unit, truncated)', () => {
  it.each([
    ['1.5M', 1572864n],
    ['4.5K', 4608n],
    ['0.5M', 524288n],
    ['4096.9', 4096n],
    ['3.99K', 4085n],
    ['2048.965kI', 2098140n],
    ['1.0000000001K', 1024n],
    ['0.99999999999999999999K', 1024n],
  ])('%s = %s', (text, bytes) => {
    expect(size(text)).toBe(bytes);
  });

  it.each(['1.', '1.K', '1.2.3M', '1..5M', '4096.5.'])('%s has a trailing or second dot', (text) => {
    expect(size(text)).toBe('invalid');
  });

  it('a nonzero fraction below DBL_MIN is strtod ERANGE, so the size is invalid', () => {
    expect(size(`4096.${'0'.repeat(400)}1`)).toBe('invalid');
    expect(size(`4096.${'0'.repeat(400)}`)).toBe(4096n);
  });
});

describe('parseByteSize: the integer part goes through strtoll base 0', () => {
  it.each([
    ['010K', 8192n],
    ['010', 8n],
    ['0777', 511n],
    ['010.5K', 8704n],
    ['0', 0n],
    ['00', 0n],
    ['0.0K', 0n],
  ])('%s = %s (a leading 0 is octal)', (text, bytes) => {
    expect(size(text)).toBe(bytes);
  });

  it.each(['08K', '09', '0128', '08.5K'])('%s: 8 and 9 are not octal digits', (text) => {
    expect(size(text)).toBe('invalid');
  });
});

describe('parseByteSize: overflow of a signed 64-bit value', () => {
  it('INT64_MAX bytes parses; one more does not', () => {
    expect(size('9223372036854775807')).toBe(INT64_MAX);
    expect(size('9223372036854775808')).toBe('invalid');
    expect(size('9999999999999999999')).toBe('invalid');
  });

  it.each(['8388608T', '8192P', '8589934592G'])('%s: integer × unit beyond INT64_MAX', (text) => {
    expect(size(text)).toBe('invalid');
  });

  it('the largest multiple that fits still parses', () => {
    expect(size('8388607T')).toBe(8388607n << 40n);
    expect(size('8191P')).toBe(8191n << 50n);
  });

  it('integer × unit plus the fraction beyond INT64_MAX is an overflow too', () => {
    // 8191.99999...P: the integer part fits, the fraction's bytes push the sum past INT64_MAX.
    expect(size('8191.99999999999999999999P')).toBe('invalid');
    expect(size('8191.5P')).toBe((8191n << 50n) + (1n << 49n));
  });
});
