/** PageTable.runLength against the page-by-page walk it replaces, across leaf boundaries and holes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LimitedCharge } from './charge_helpers.js';
import { PageTable } from '../../src/tmpfs/page_table.js';

const charge = new LimitedCharge(Number.MAX_SAFE_INTEGER);

describe('PageTable.runLength', () => {
  it('counts the consecutive frames the page-by-page walk counts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ page: fc.nat(1600), frame: fc.nat(3000), len: fc.integer({ min: 1, max: 700 }) }), { maxLength: 6 }),
        fc.nat(1600),
        fc.integer({ min: 1, max: 2000 }),
        (runs, start, max) => {
          const t = new PageTable();
          for (const r of runs) for (let j = 0; j < r.len; j += 1) if (t.frameAt(r.page + j) < 0) t.insert(r.page + j, r.frame + j, charge);
          const first = t.frameAt(start);
          if (first < 0) return;
          const end = start + max;
          let n = 1;
          while (start + n < end && t.frameAt(start + n) === first + n) n += 1;
          expect(t.runLength(start, first, end)).toBe(n);
        },
      ),
    );
  });
});
