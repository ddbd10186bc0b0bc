/**
 * FileOffset arithmetic (src/tmpfs/offset.ts) and a tmpfs file's pages at
 * the top of the loff_t range: page indices reach 2^51 - 1, which the
 * sparse FrameTable keys exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from '../../src/abi/fs.js';
import { MemoryFile } from '../../src/mm/memory_file.js';
import { UnlimitedCharge, fixedFaultCharge } from '../../src/memcg/charge.js';
import { addOffset, inPageOf, offsetOf, pageOf, pageStart, pagesFor, subOffset } from '../../src/tmpfs/offset.js';
import { Tmpfs } from '../../src/tmpfs/superblock.js';
import { ok } from '../support/either.js';

const MAX = 2n ** 63n - 1n;
const owner = { uid: 0, gid: 0, mode: 0o644 };

describe('FileOffset', () => {
  it('is a number while safe and a bigint past it, so values compare and add exactly', () => {
    const i64 = fc.bigInt({ min: 0n, max: MAX });
    fc.assert(
      fc.property(i64, i64, (a, b) => {
        const x = offsetOf(a);
        const y = offsetOf(b);
        expect(typeof x === 'number').toBe(a <= BigInt(Number.MAX_SAFE_INTEGER));
        expect(BigInt(addOffset(x, y))).toBe(a + b);
        expect(BigInt(subOffset(x, y))).toBe(a - b);
        expect(x < y).toBe(a < b);
        expect(x === y).toBe(a === b);
        expect(pageOf(x)).toBe(Number(a / 4096n));
        expect(pagesFor(x)).toBe(Number((a + 4095n) / 4096n));
        expect(inPageOf(x)).toBe(Number(a % 4096n));
        expect(BigInt(pageStart(pageOf(x)))).toBe((a / 4096n) * 4096n);
      }),
    );
  });
});

describe('pages at the top of the range', () => {
  it('writes, reads, punches and truncates the pages just below 2^63', () => {
    const mf = new MemoryFile();
    const charge = new UnlimitedCharge();
    const fs = ok(Tmpfs.create(mf, { sizeBytes: 1 << 20 }, fixedFaultCharge(charge)));
    const f = ok(fs.root.createFile('top', owner));
    const lastPage = 2 ** 51 - 1;
    // Two bytes straddling the last two pages.
    expect(ok(f.write(MAX - 4096n, new Uint8Array([1, 2]), charge)).written).toBe(2);
    expect(f.size).toBe(MAX - 4094n);
    expect(f.residentPages).toBe(2);
    expect([...f.read(MAX - 4097n, 4)]).toEqual([0, 1, 2]);
    ok(f.fallocate(FALLOC_FL_KEEP_SIZE, MAX - 1n, 1, charge));
    expect(f.residentPages).toBe(2);
    const pages: number[] = [];
    f.forEachPage((page) => pages.push(page));
    expect(pages).toEqual([lastPage - 1, lastPage]);
    // The last page ends at 2^63 - 1, one byte short of whole: a punch up to it only zeroes.
    ok(f.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, BigInt(lastPage) * BigInt(PAGE_SIZE), 4095, charge));
    expect(f.residentPages).toBe(2);
    expect([...f.read(MAX - 4097n, 4)]).toEqual([0, 1, 0]);
    // The new end falls inside page 2^51 - 2, which stays (its tail zeroed); the last page goes.
    ok(f.truncate(MAX - 4096n));
    expect(f.residentPages).toBe(1);
    expect(f.read(MAX - 4097n, 4)).toEqual(new Uint8Array([0]));
  });
});
