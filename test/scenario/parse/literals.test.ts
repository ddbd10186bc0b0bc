import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { parseFlags, parseInteger } from '../../../src/scenario/parse/literals.js';

const int = (text: string, suffix = true): bigint | string => {
  const r = parseInteger(text, 10, suffix);
  return E.isRight(r) ? r.right : `${r.left.col}: ${r.left.message}`;
};

const flags = (text: string): number | string => {
  const r = parseFlags(text, 1);
  return E.isRight(r) ? r.right : `${r.left.col}: ${r.left.message}`;
};

describe('parseInteger', () => {
  it('reads decimal, hexadecimal and leading-zero octal', () => {
    expect(int('4096')).toBe(4096n);
    expect(int('0x1234')).toBe(0x1234n);
    expect(int('0XfF')).toBe(255n);
    expect(int('0600')).toBe(0o600n);
    expect(int('0')).toBe(0n);
    expect(int('00')).toBe(0n);
  });

  it('reads negative numbers in every base', () => {
    expect(int('-1')).toBe(-1n);
    expect(int('-0x10')).toBe(-16n);
    expect(int('-010')).toBe(-8n);
  });

  it('is exact over the whole 64-bit range', () => {
    expect(int('18446744073709551615')).toBe(18446744073709551615n);
    expect(int('0xffffffffffffffff')).toBe(0xffffffffffffffffn);
    expect(int('9007199254740993')).toBe(9007199254740993n);
    expect(int('-9223372036854775808')).toBe(-(2n ** 63n));
  });

  it('rejects values outside [INT64_MIN, UINT64_MAX]', () => {
    expect(int('18446744073709551616')).toBe('10: 18446744073709551616 is out of the 64-bit range');
    expect(int('-9223372036854775809')).toBe('10: -9223372036854775809 is out of the 64-bit range');
    expect(int('17179869184G')).toBe('10: 17179869184G is out of the 64-bit range');
  });

  it('applies binary size suffixes where allowed', () => {
    expect(int('4K')).toBe(4096n);
    expect(int('2M')).toBe(2n << 20n);
    expect(int('3G')).toBe(3n << 30n);
    expect(int('17179869183G')).toBe(2n ** 64n - (1n << 30n));
    expect(int('0x10K')).toBe(16n << 10n);
    expect(int('-1K')).toBe(-1024n);
  });

  it('points at the suffix where none is allowed', () => {
    expect(int('4K', false)).toBe('11: a size suffix is not allowed here');
    expect(int('0x10M', false)).toBe('14: a size suffix is not allowed here');
  });

  it('rejects malformed numbers', () => {
    expect(int('08')).toBe('10: invalid octal number 08');
    expect(int('-09K')).toBe('10: invalid octal number -09K');
    expect(int('0x')).toBe('10: expected a number, got 0x');
    expect(int('4k')).toBe('10: expected a number, got 4k');
    expect(int('1.5')).toBe('10: expected a number, got 1.5');
    expect(int('--1')).toBe('10: expected a number, got --1');
    expect(int('+1')).toBe('10: expected a number, got +1');
    expect(int('')).toBe('10: expected a number, got nothing');
  });
});

describe('parseFlags', () => {
  it('ORs names and numbers', () => {
    expect(flags('IPC_CREAT|IPC_EXCL|0600')).toBe(0o3600);
    expect(flags('0')).toBe(0);
    expect(flags('PROT_READ|PROT_WRITE|PROT_EXEC')).toBe(7);
    expect(flags('PROT_NONE')).toBe(0);
  });

  it('knows every listed name with its Linux value', () => {
    expect(flags('IPC_NOWAIT')).toBe(0o4000);
    expect(flags('SHM_HUGETLB')).toBe(0o4000);
    expect(flags('SHM_NORESERVE')).toBe(0o10000);
    expect(flags('SHM_RDONLY')).toBe(0o10000);
    expect(flags('SHM_RND')).toBe(0o20000);
    expect(flags('SHM_REMAP')).toBe(0o40000);
    expect(flags('SHM_EXEC')).toBe(0o100000);
  });

  it('truncates to a signed 32-bit int as a C call would', () => {
    expect(flags('0xffffffff')).toBe(-1);
    expect(flags('0x80000000')).toBe(-(2 ** 31));
    expect(flags('0x100000001')).toBe(1);
    expect(flags('-1|IPC_CREAT')).toBe(-1);
  });

  it('points at the bad part', () => {
    expect(flags('IPC_CREAT|ipc_excl')).toBe('11: unknown flag ipc_excl');
    expect(flags('IPC_CREAT||1')).toBe('11: expected a number, got nothing');
    expect(flags('0600|4K')).toBe('7: a size suffix is not allowed here');
    expect(flags('IPC_PRIVATE')).toBe('1: unknown flag IPC_PRIVATE');
  });
});
