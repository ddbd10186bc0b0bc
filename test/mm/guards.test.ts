/**
 * The guard-page run lists (src/mm/guards.ts) against a plain set of pages:
 * random installs, removals and clips must leave a well-formed list that
 * holds exactly the pages the set holds. The run's fast-check seed is
 * printed at the start (FC_SEED replays it).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyGuard, clipGuards, firstGuard, guardRunsValid, withGuards, withoutGuards } from '../../src/mm/guards.js';
import type { GuardRuns } from '../../src/mm/guards.js';
import { useSeed } from '../support/seed.js';

useSeed();

const SPAN = 40;

function pagesOf(runs: GuardRuns | undefined): number[] {
  const out: number[] = [];
  if (runs === undefined) return out;
  for (let i = 0; i < runs.length; i += 2) for (let p = runs[i]!; p < runs[i + 1]!; p++) out.push(p);
  return out;
}

describe('guard runs', () => {
  it('merge touching runs and cut removed ones', () => {
    let r = withGuards(undefined, 4, 6);
    r = withGuards(r, 8, 9);
    expect(r).toEqual([4, 6, 8, 9]);
    r = withGuards(r, 6, 8);
    expect(r).toEqual([4, 9]);
    expect(withoutGuards(r, 5, 7)).toEqual([4, 5, 7, 9]);
    expect(withoutGuards(r, 0, 100)).toBeUndefined();
    expect(clipGuards([4, 5, 7, 9], 5, 8)).toEqual([7, 8]);
    expect(clipGuards([4, 5], 5, 8)).toBeUndefined();
    expect([firstGuard([4, 5, 7, 9], 0, 4), firstGuard([4, 5, 7, 9], 0, 5), firstGuard([4, 5, 7, 9], 5, 20), firstGuard([4, 5, 7, 9], 8, 9)]).toEqual([
      -1, 4, 7, 8,
    ]);
    expect(anyGuard(undefined, 0, 100)).toBe(false);
  });

  it('always hold exactly the pages a set of pages holds', () => {
    const range = fc.tuple(fc.integer({ min: 0, max: SPAN }), fc.integer({ min: 0, max: SPAN })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);
    const op = fc.tuple(fc.constantFrom('add', 'remove', 'clip'), range);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        let runs: GuardRuns | undefined;
        let set = new Set<number>();
        for (const [kind, [from, to]] of ops) {
          if (kind === 'add') {
            runs = withGuards(runs, from, to);
            for (let p = from; p < to; p++) set.add(p);
          } else if (kind === 'remove') {
            runs = withoutGuards(runs, from, to);
            for (let p = from; p < to; p++) set.delete(p);
          } else {
            runs = clipGuards(runs, from, to);
            set = new Set([...set].filter((p) => p >= from && p < to));
          }
          if (runs !== undefined && runs.length === 0) runs = undefined;
          expect(pagesOf(runs)).toEqual([...set].sort((a, b) => a - b));
          if (runs !== undefined) expect(guardRunsValid(runs, 0, SPAN)).toBe(true);
          for (let p = 0; p < SPAN; p += 7) {
            const want = [...set].filter((q) => q >= p && q < p + 5).sort((a, b) => a - b)[0] ?? -1;
            expect(runs === undefined ? -1 : firstGuard(runs, p, p + 5)).toBe(want);
          }
        }
      }),
    );
  });
});
