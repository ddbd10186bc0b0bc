/** FrameTable: the sparse page table of shm segments, anonymous memory and tmpfs files. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { isBusError } from '../../src/mm/memmap.js';
import type { BusError, Translation } from '../../src/mm/memmap.js';
import { FrameTable } from '../../src/mm/frame_table.js';
import { MemoryFile } from '../../src/mm/memory_file.js';

function run(r: Translation | BusError): Translation {
  if (isBusError(r)) throw new Error(`unexpected bus error: ${r.reason}`);
  return r;
}

describe('FrameTable.run', () => {
  it('returns one run across leaf boundaries when the frames are consecutive', () => {
    const mf = new MemoryFile({ chunkBytes: 4096 * PAGE_SIZE });
    const t = new FrameTable(mf);
    // 1500 pages from page 300: three leaf boundaries (512, 1024, 1536) inside.
    expect(run(t.run(300, 1500, 5000))).toEqual({ page: 300, frame: 0, pages: 1500 });
    expect(t.residentPages).toBe(1500);
    // Translating again allocates nothing and finds the same run.
    expect(run(t.run(300, 1500, 5000))).toEqual({ page: 300, frame: 0, pages: 1500 });
    expect(run(t.run(700, 5000, 1000))).toEqual({ page: 700, frame: 400, pages: 300 });
    expect(mf.allocatedFrames).toBe(1500);
  });

  it('stops the run at the first page whose frame is not the next one', () => {
    const mf = new MemoryFile();
    const t = new FrameTable(mf);
    const other = new FrameTable(mf);
    run(t.run(0, 510, 2000)); // frames 0..509
    run(other.run(0, 1, 1)); // frame 510
    // Pages 510..519 of t get frames 511..520: page 510 breaks the run from page 0.
    expect(run(t.run(0, 520, 2000))).toEqual({ page: 0, frame: 0, pages: 510 });
    expect(run(t.run(510, 10, 2000))).toEqual({ page: 510, frame: 511, pages: 10 });
    expect(t.residentPages).toBe(520);
  });

  it('fills holes inside a range it translates, extending the run while frames stay consecutive', () => {
    const mf = new MemoryFile();
    const t = new FrameTable(mf);
    run(t.run(511, 1, 2000)); // frame 0, last page of leaf 0
    expect(run(t.run(511, 3, 2000))).toEqual({ page: 511, frame: 0, pages: 3 });
    expect(t.residentPages).toBe(3);
  });

  it('ends a run short where memory runs out, and reports the next page as a bus error', () => {
    const mf = new MemoryFile({ maxFrames: 600 });
    const t = new FrameTable(mf);
    expect(run(t.run(0, 1000, 1000))).toEqual({ page: 0, frame: 0, pages: 600 });
    expect(isBusError(t.run(600, 400, 1000))).toBe(true);
    expect(t.residentPages).toBe(600);
    t.release();
    expect(mf.allocatedFrames).toBe(0);
  });
});

describe('FrameTable.runLength', () => {
  it('counts the consecutive frames the page-by-page walk counts', () => {
    const mf = new MemoryFile();
    fc.assert(
      fc.property(
        fc.array(fc.record({ page: fc.nat(1600), frame: fc.nat(3000), len: fc.integer({ min: 1, max: 700 }) }), { maxLength: 6 }),
        fc.nat(1600),
        fc.integer({ min: 1, max: 2000 }),
        (runs, start, max) => {
          const t = new FrameTable<string>(mf);
          for (const r of runs) for (let j = 0; j < r.len; j += 1) if (t.frameAt(r.page + j) < 0) t.adopt(r.page + j, r.frame + j, 'charge');
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

describe('FrameTable with tags (a tmpfs file)', () => {
  it('hands each frame back with its tag', () => {
    const mf = new MemoryFile();
    const t = new FrameTable<string>(mf);
    t.adopt(3, 30, 'a');
    t.adopt(600, 60, 'b');
    t.adopt(601, 61, 'c');
    const seen: [number, number, string][] = [];
    t.forEach((page, frame, tag) => seen.push([page, frame, tag]));
    expect(seen).toEqual([
      [3, 30, 'a'],
      [600, 60, 'b'],
      [601, 61, 'c'],
    ]);
    const released: [number, string][] = [];
    t.removeRange(0, 601, (frame, tag) => released.push([frame, tag]));
    expect(released).toEqual([
      [30, 'a'],
      [60, 'b'],
    ]);
    expect([t.residentPages, t.frameAt(3), t.frameAt(600), t.frameAt(601)]).toEqual([1, -1, -1, 61]);
    t.clear((frame, tag) => released.push([frame, tag]));
    expect(released.at(-1)).toEqual([61, 'c']);
    expect(t.residentPages).toBe(0);
  });
});
