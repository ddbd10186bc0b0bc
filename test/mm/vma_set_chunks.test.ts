/**
 * VmaSet with more VMAs than one chunk holds: random splits, fixed inserts
 * and range removals across chunk boundaries against a plain sorted list.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import type { Mappable, MappingIdentity } from '../../src/mm/memmap.js';
import type { Vma } from '../../src/mm/vma.js';
import { VmaSet } from '../../src/mm/vma.js';
import { useSeed } from '../support/seed.js';

useSeed();

const nothing = {} as Mappable & MappingIdentity;
const PAGES = 4000;
const BASE = (PAGES + 8) * PAGE_SIZE;

function vmaAt(page: number, pages: number): Vma {
  return { start: page * PAGE_SIZE, end: (page + pages) * PAGE_SIZE, mappable: nothing, offset: 0, perms: 3, maxPerms: 7, identity: nothing, writable: true };
}

type Op =
  | { readonly kind: 'split'; readonly pick: number; readonly below: boolean }
  | { readonly kind: 'remove'; readonly pick: number; readonly count: number }
  | { readonly kind: 'insert'; readonly page: number }
  | { readonly kind: 'lookup'; readonly page: number };

describe('VmaSet in chunks', () => {
  it('splits, inserts, removes and looks up across chunks as a sorted list does', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('split' as const), pick: fc.nat(), below: fc.boolean() }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat(), count: fc.integer({ min: 1, max: 600 }) }),
      fc.record({ kind: fc.constant('insert' as const), page: fc.integer({ min: 1, max: PAGES }) }),
      fc.record({ kind: fc.constant('lookup' as const), page: fc.integer({ min: 0, max: PAGES + 4 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 900 }), fc.array(op, { maxLength: 80 }), (initial, ops) => {
        const set = new VmaSet(BASE);
        const model: Vma[] = [];
        // Pieces of 4 pages with 1-page holes, loaded at once (as fork does) or inserted top-down.
        for (let i = 0; i < initial; i++) model.push(vmaAt(1 + i * 5, 4));
        if (initial % 2 === 0) set.load(model);
        else for (let i = model.length - 1; i >= 0; i--) set.insert(model[i]!);
        for (const o of ops) {
          if (o.kind === 'split' && model.length > 0) {
            const i = o.pick % model.length;
            const v = model[i]!;
            if (v.end - v.start < 2 * PAGE_SIZE) continue;
            const addr = v.start + PAGE_SIZE;
            const piece = set.split(i, addr, o.below ? 'below' : 'above');
            model.splice(o.below ? i : i + 1, 0, piece);
          } else if (o.kind === 'remove' && model.length > 0) {
            const i = o.pick % model.length;
            const got = set.removeRange(i, o.count);
            expect(got).toEqual(model.splice(i, o.count));
          } else if (o.kind === 'insert') {
            const v = vmaAt(o.page, 1);
            if (model.some((m) => m.start < v.end && v.start < m.end)) continue;
            set.insert(v);
            model.push(v);
            model.sort((a, b) => a.start - b.start);
          } else if (o.kind === 'lookup') {
            const addr = o.page * PAGE_SIZE;
            expect(set.find(addr)).toBe(model.find((m) => m.start <= addr && addr < m.end));
            const lb = model.findIndex((m) => m.end > addr);
            expect(set.lowerBound(addr)).toBe(lb < 0 ? model.length : lb);
          }
          expect(set.size).toBe(model.length);
        }
        expect(set.all()).toEqual(model);
        for (let i = 0; i < model.length; i += 97) expect(set.at(i)).toBe(model[i]);
        if (model.length > 0) expect(set.removeAt(0)).toBe(model.shift());
        expect(set.all()).toEqual(model);
      }),
      { numRuns: 40 },
    );
  });

  it('cuts a chunk that splits overfill, keeping every piece in order', () => {
    for (const extra of ['above', 'below'] as const) {
      const set = new VmaSet(BASE);
      set.insert(vmaAt(1, 1000));
      set.insert(vmaAt(0, 1));
      // Split the big VMA at every page, from its low end (above) or its high end (below).
      for (let k = 1; k < 1000; k++) {
        const i = extra === 'above' ? k : 1;
        const v = set.at(i)!;
        set.split(i, extra === 'above' ? v.start + PAGE_SIZE : v.end - PAGE_SIZE, extra);
      }
      const all = set.all();
      expect(all.length).toBe(1001);
      all.forEach((v, i) => {
        expect(v.start).toBe(i * PAGE_SIZE);
        expect(v.end).toBe((i + 1) * PAGE_SIZE);
        expect(set.at(i)).toBe(v);
        expect(set.find(v.start + 1)).toBe(v);
      });
    }
  });
});
