/** placement.ts's alignment test, across the 32-bit boundary where `%` stops being an integer operation. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, TASK_SIZE } from '../../src/abi/constants.js';
import { isPageAligned } from '../../src/mm/placement.js';

describe('isPageAligned', () => {
  it('agrees with the remainder for every safe integer, below and above 2^32', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.nat(),
          fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          fc.nat(2 ** 35).map((p) => p * PAGE_SIZE),
        ),
        (addr) => {
          expect(isPageAligned(addr)).toBe(addr % PAGE_SIZE === 0);
        },
      ),
    );
    expect([TASK_SIZE - PAGE_SIZE, TASK_SIZE - 1, 2 ** 53 - PAGE_SIZE, 2 ** 32 + 1].map(isPageAligned)).toEqual([true, false, true, false]);
  });

  it('refuses what is not a safe integer', () => {
    expect([2 ** 53, 4096.5, -0.5, Number.NaN, Infinity].map(isPageAligned)).toEqual([false, false, false, false, false]);
  });
});
