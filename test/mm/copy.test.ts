import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BULK_COPY_MIN, bulkCopyKind, copyBytes } from '../../src/mm/copy.js';
import { useSeed } from '../support/seed.js';

useSeed();

function pattern(buf: Uint8Array, salt: number): Uint8Array {
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 31 + salt) & 0xff;
  return buf;
}

/** The reference: a byte loop through a copy of the source, so overlap reads old bytes. */
function reference(dst: Uint8Array, at: number, src: Uint8Array, from: number, n: number): void {
  const before = src.slice(from, from + n);
  for (let i = 0; i < n; i++) dst[at + i] = before[i]!;
}

/** The index of the first byte where `a` and `b` differ, or -1. */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('copyBytes', () => {
  it('copies with memcpy under Node, where Buffer#fill exists', () => {
    expect(bulkCopyKind).toBe('memcpy');
  });

  it('copies between shared and ordinary buffers as a byte loop would', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 3 * BULK_COPY_MIN }),
        fc.nat(4096),
        fc.nat(4096),
        (srcShared, dstShared, n, from, at) => {
          const size = n + 4096;
          const mk = (shared: boolean): Uint8Array => new Uint8Array(shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
          const src = pattern(mk(srcShared), 7);
          const dst = pattern(mk(dstShared), 200);
          const want = dst.slice();
          reference(want, at, src, from, n);
          copyBytes(dst, at, src, from, n);
          expect(firstDiff(dst, want)).toBe(-1);
        },
      ),
    );
  });

  it('gives a memmove result when both ranges are in one buffer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * BULK_COPY_MIN }), fc.nat(4096), fc.nat(4096), fc.nat(64), (n, from, at, lead) => {
        const sab = new SharedArrayBuffer(n + 4096 + lead);
        const whole = pattern(new Uint8Array(sab), 3);
        // Two views on one buffer, offset from each other, as chunk views could be.
        const a = new Uint8Array(sab, lead);
        const b = new Uint8Array(sab);
        const want = new Uint8Array(whole);
        const wantA = new Uint8Array(want.buffer, lead);
        reference(wantA, at, new Uint8Array(whole.slice().buffer), from, n);
        copyBytes(a, at, b, from, n);
        expect(firstDiff(whole, want)).toBe(-1);
      }),
    );
  });
});
