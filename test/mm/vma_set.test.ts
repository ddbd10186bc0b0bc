/**
 * VmaSet against a plain list of intervals. The set's hot methods answer
 * their common case inline (a new lowest VMA, a placement just below the
 * free-area floor, the lowest VMA's removal and lookup) and the rest out of
 * line; random sequences of placements, fixed inserts and removals check
 * that both ways give the reference's answers, including Linux's rule that
 * a top-down placement takes the highest gap that fits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import type { Mappable, MappingIdentity } from '../../src/mm/memmap.js';
import type { Vma } from '../../src/mm/vma.js';
import { VmaSet } from '../../src/mm/vma.js';

/** A small address space, in pages, so that gaps run out and get reused. */
const BASE_PAGES = 64;
const LOW_PAGES = 1;
const BASE = BASE_PAGES * PAGE_SIZE;
const LOW = LOW_PAGES * PAGE_SIZE;

const nothing = {} as Mappable & MappingIdentity;

function vmaAt(start: number, end: number): Vma {
  return { start, end, mappable: nothing, offset: 0, perms: 3, maxPerms: 7, identity: nothing, writable: true };
}

/** The reference: intervals [start, end) in ascending order. */
type Model = Array<[number, number]>;

/** The highest start for `len` bytes in [LOW, BASE) overlapping nothing, or -1. */
function highestGap(model: Model, len: number): number {
  // Walk the gaps from the top: between each interval and the one above it (or BASE).
  let top = BASE;
  for (let i = model.length - 1; i >= -1; i--) {
    const bottom = i >= 0 ? Math.max(model[i]![1], LOW) : LOW;
    if (top - bottom >= len) return top - len;
    if (i >= 0) top = model[i]![0];
  }
  return -1;
}

function free(model: Model, start: number, end: number): boolean {
  return model.every(([s, e]) => e <= start || s >= end);
}

type Op =
  | { readonly kind: 'place'; readonly pages: number }
  | { readonly kind: 'fixed'; readonly page: number; readonly pages: number }
  | { readonly kind: 'remove'; readonly pick: number }
  | { readonly kind: 'lookup'; readonly page: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('place' as const), pages: fc.integer({ min: 1, max: 12 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('fixed' as const),
      page: fc.integer({ min: LOW_PAGES, max: BASE_PAGES - 1 }),
      pages: fc.integer({ min: 1, max: 6 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('lookup' as const), page: fc.integer({ min: 0, max: BASE_PAGES + 1 }) }) },
);

describe('VmaSet', () => {
  it('places top-down in the highest gap, inserts, removes and looks up as a plain interval list does', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const set = new VmaSet(BASE);
        const model: Model = [];
        for (const o of ops) {
          if (o.kind === 'place') {
            const len = o.pages * PAGE_SIZE;
            const got = set.topDownGap(len, LOW);
            expect(got).toBe(highestGap(model, len));
            if (got >= 0) {
              set.insert(vmaAt(got, got + len));
              model.push([got, got + len]);
            }
          } else if (o.kind === 'fixed') {
            const start = o.page * PAGE_SIZE;
            const end = Math.min(start + o.pages * PAGE_SIZE, BASE);
            if (!free(model, start, end)) continue;
            set.insert(vmaAt(start, end));
            model.push([start, end]);
          } else if (o.kind === 'remove') {
            if (model.length === 0) continue;
            const i = o.pick % model.length;
            const removed = set.removeAt(i);
            expect([removed.start, removed.end]).toEqual(model[i]);
            model.splice(i, 1);
          } else {
            const addr = o.page * PAGE_SIZE;
            const expected = model.findIndex(([, e]) => e > addr);
            expect(set.lowerBound(addr)).toBe(expected < 0 ? model.length : expected);
            const hit = model.find(([s, e]) => s <= addr && addr < e);
            const found = set.find(addr);
            expect(found === undefined ? undefined : [found.start, found.end]).toEqual(hit);
          }
          model.sort((a, b) => a[0] - b[0]);
          expect(set.size).toBe(model.length);
          expect(set.infos().map((v) => [v.start, v.end])).toEqual(model);
        }
      }),
      { numRuns: 300 },
    );
  });
});
