import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from '../../src/abi/fs.js';
import { isBusError } from '../../src/mm/memmap.js';
import { MemoryFile } from '../../src/mm/memory_file.js';
import { UnlimitedCharge, fixedFaultCharge } from '../../src/memcg/charge.js';
import { isChargeRefused } from '../../src/tmpfs/claim.js';
import type { RegularFile } from '../../src/tmpfs/regular.js';
import { Tmpfs } from '../../src/tmpfs/superblock.js';
import { errno, ok } from '../support/either.js';
import { LimitedCharge } from './charge_helpers.js';

const MiB = 1024 * 1024;
const owner = { uid: 0, gid: 0, mode: 0o644 };

function setup(sizeBytes: number): { fs: Tmpfs; mf: MemoryFile; charge: UnlimitedCharge; file: (name: string) => RegularFile } {
  const mf = new MemoryFile();
  const charge = new UnlimitedCharge();
  const fs = ok(Tmpfs.create(mf, { sizeBytes }, fixedFaultCharge(charge)));
  return { fs, mf, charge, file: (name) => ok(fs.root.createFile(name, owner)) };
}

/**
 * expect(got).toEqual(want) for byte arrays, compared natively first: vitest's
 * toEqual walks typed arrays element by element, which made the model
 * property below take most of a minute. On a difference toEqual still runs,
 * so the failure shows the same diff.
 */
function expectBytes(got: Uint8Array, want: Uint8Array): void {
  if (got.length === want.length && Buffer.compare(got, want) === 0) return;
  expect(got).toEqual(want);
}

describe('write: short counts, then ENOSPC', () => {
  it('one 40 MiB write into an empty 32 MiB tmpfs returns 33554432; the next 1-byte write is ENOSPC', () => {
    const { fs, charge, file } = setup(32 * MiB);
    const f = file('big');
    const first = ok(f.write(0, new Uint8Array(40 * MiB).fill(7), charge));
    expect([first.written, first.stopped?.errno]).toEqual([33554432, 'ENOSPC']);
    const next = ok(f.write(f.size, new Uint8Array(1), charge));
    expect([next.written, next.stopped?.errno, f.size, fs.statfs().bfree]).toEqual([0, 'ENOSPC', 33554432, 0]);
  });

  it('full 8 KiB tmpfs: appending 4095 bytes into the page a 1-byte file holds succeeds, 1 more is ENOSPC', () => {
    const { charge, file } = setup(8192);
    const a = file('a');
    const b = file('b');
    ok(a.write(0, new Uint8Array([1]), charge));
    ok(b.write(0, new Uint8Array([1]), charge));
    const fill = ok(a.write(1, new Uint8Array(4095), charge));
    const more = ok(a.write(4096, new Uint8Array(1), charge));
    expect([fill.written, fill.stopped, more.written, more.stopped?.errno]).toEqual([4095, undefined, 0, 'ENOSPC']);
  });

  it('appending 5000 bytes to a 1-byte file on a full tmpfs writes 4095 (a short write)', () => {
    const { charge, file } = setup(8192);
    const a = file('a');
    ok(a.write(0, new Uint8Array(4096), charge));
    const b = file('b');
    ok(b.write(0, new Uint8Array([1]), charge));
    const w = ok(b.write(1, new Uint8Array(5000), charge));
    expect([w.written, b.size]).toEqual([4095, 4096]);
  });

  it('dd bs=3000 on 32 MiB: 11184 full blocks, then a partial one, then nothing', () => {
    const { charge, file } = setup(32 * MiB);
    const f = file('dd');
    const block = new Uint8Array(3000);
    const counts: number[] = [];
    for (;;) {
      const w = ok(f.write(f.size, block, charge));
      if (w.written === 0) break;
      counts.push(w.written);
    }
    expect([counts.length, counts.filter((n) => n === 3000).length, f.size]).toEqual([11185, 11184, 33554432]);
  });

  it('EFBIG at the largest file size; a zero-length write is 0 even when full', () => {
    const { charge, file } = setup(4096);
    const f = file('x');
    expect(errno(f.write((1n << 63n) - 1n, new Uint8Array(1), charge))).toBe('EFBIG');
    ok(f.write(0, new Uint8Array(4096), charge));
    expect(ok(f.write(4096, new Uint8Array(0), charge)).written).toBe(0);
  });
});

describe('read', () => {
  it('returns the bytes written, zeros for holes without claiming pages, nothing past the end', () => {
    const { fs, charge, file } = setup(MiB);
    const f = file('r');
    ok(f.write(3 * PAGE_SIZE, new Uint8Array([9, 8, 7]), charge));
    expect(fs.usedPages).toBe(1);
    const all = f.read(3 * PAGE_SIZE - 2, 100);
    expect([...all]).toEqual([0, 0, 9, 8, 7]);
    expect([f.read(0, 10).every((b) => b === 0), f.read(f.size, 10).length, fs.usedPages]).toEqual([true, 0, 1]);
  });
});

describe('write into a new page', () => {
  it('a reused frame shows only zeros around the bytes written, never its old contents', () => {
    const mf = new MemoryFile({ poisonFreed: 0xa5 });
    const charge = new UnlimitedCharge();
    const fs = ok(Tmpfs.create(mf, { sizeBytes: MiB }, fixedFaultCharge(charge)));
    const old = ok(fs.root.createFile('old', owner));
    ok(old.write(0, new Uint8Array(3 * PAGE_SIZE).fill(0x77), charge));
    ok(old.truncate(0));
    // The three freed frames hold the poison now; the new file's pages reuse them.
    const f = ok(fs.root.createFile('new', owner));
    ok(f.write(100, new Uint8Array(10).fill(1), charge));
    ok(f.write(PAGE_SIZE + PAGE_SIZE - 5, new Uint8Array(8).fill(2), charge));
    const want = new Uint8Array(2 * PAGE_SIZE + 3);
    want.fill(1, 100, 110);
    want.fill(2, 2 * PAGE_SIZE - 5, 2 * PAGE_SIZE + 3);
    expect(f.read(0, Number(f.size))).toEqual(want);
    // The rest of the last page, past the size, is zero too (a mapping would see it).
    const third = mf.chunkBytes(0);
    expect(third.includes(0xa5)).toBe(false);
  });
});

describe("write from a page's first byte (the zeroing of the rest waits for the next observer)", () => {
  /** A tmpfs whose free frames hold poison, with `pages` pages of it already freed so new files reuse them. */
  function poisoned(sizeBytes: number, pages = 8): { fs: Tmpfs; mf: MemoryFile; charge: UnlimitedCharge; file: (name: string) => RegularFile } {
    const mf = new MemoryFile({ poisonFreed: 0xa5 });
    const charge = new UnlimitedCharge();
    const fs = ok(Tmpfs.create(mf, { sizeBytes }, fixedFaultCharge(charge)));
    const old = ok(fs.root.createFile('old', owner));
    ok(old.write(0, new Uint8Array(pages * PAGE_SIZE).fill(0x77), charge));
    ok(old.truncate(0));
    return { fs, mf, charge, file: (name) => ok(fs.root.createFile(name, owner)) };
  }

  /** The bytes of the frame holding `page` of `f` (through translate, as a mapping would see them). */
  function frameBytes(mf: MemoryFile, f: RegularFile, page: number): Uint8Array {
    const t = f.translate(page, 1, false);
    if (isBusError(t)) throw new Error(t.reason);
    const at = mf.byteOffset(t.frame);
    return mf.chunkBytes(t.frame).slice(at, at + PAGE_SIZE);
  }

  it('dd bs=1000: blocks crossing page boundaries read back exactly, with zeros after the end', () => {
    const { mf, charge, file } = poisoned(MiB);
    const f = file('dd');
    const want = new Uint8Array(10 * 1000);
    for (let i = 0; i < 10; i++) {
      const block = new Uint8Array(1000).fill(i + 1);
      want.set(block, i * 1000);
      expect(ok(f.write(f.size, block, charge))).toEqual({ written: 1000, stopped: undefined });
      expect(f.read(0, Number(f.size))).toEqual(want.subarray(0, (i + 1) * 1000));
    }
    const last = frameBytes(mf, f, 2);
    expect(last.subarray(0, 10000 - 2 * PAGE_SIZE)).toEqual(want.subarray(2 * PAGE_SIZE));
    expect(last.subarray(10000 - 2 * PAGE_SIZE).every((b) => b === 0)).toBe(true);
  });

  it('a later write that leaves a gap in the page sees zeros in the gap', () => {
    const { charge, file } = poisoned(MiB);
    const f = file('gap');
    ok(f.write(0, new Uint8Array(100).fill(1), charge));
    ok(f.write(300, new Uint8Array(100).fill(2), charge));
    ok(f.write(50, new Uint8Array(100).fill(3), charge));
    const want = new Uint8Array(400);
    want.fill(1, 0, 50).fill(3, 50, 150).fill(2, 300, 400);
    expect(f.read(0, Number(f.size))).toEqual(want);
  });

  it('an overlapping rewrite of the written part keeps the rest of the page zero', () => {
    const { mf, charge, file } = poisoned(MiB);
    const f = file('rewrite');
    ok(f.write(0, new Uint8Array(1000).fill(1), charge));
    ok(f.write(200, new Uint8Array(100).fill(2), charge));
    ok(f.write(900, new Uint8Array(300).fill(3), charge));
    const want = new Uint8Array(PAGE_SIZE);
    want.fill(1, 0, 900).fill(2, 200, 300).fill(3, 900, 1200);
    expect(frameBytes(mf, f, 0)).toEqual(want);
  });

  it('a mapping of the page sees zeros past the bytes written', () => {
    const { mf, charge, file } = poisoned(MiB);
    const f = file('map');
    ok(f.write(0, new Uint8Array(10).fill(9), charge));
    const want = new Uint8Array(PAGE_SIZE).fill(9, 0, 10);
    expect(frameBytes(mf, f, 0)).toEqual(want);
  });

  it('truncate down into the page and back up reads zeros where the old bytes were', () => {
    const { charge, file } = poisoned(MiB);
    const f = file('trunc');
    ok(f.write(0, new Uint8Array(1000).fill(4), charge));
    ok(f.truncate(500));
    ok(f.truncate(PAGE_SIZE));
    const want = new Uint8Array(PAGE_SIZE).fill(4, 0, 500);
    expect(f.read(0, PAGE_SIZE)).toEqual(want);
  });

  it('fallocate KEEP_SIZE and PUNCH_HOLE leave the page reading as written bytes and zeros', () => {
    const { charge, file } = poisoned(MiB);
    const f = file('falloc');
    ok(f.write(0, new Uint8Array(1000).fill(5), charge));
    ok(f.fallocate(FALLOC_FL_KEEP_SIZE, 0, 2 * PAGE_SIZE, charge));
    ok(f.truncate(2 * PAGE_SIZE));
    expect(f.read(0, 2 * PAGE_SIZE)).toEqual(new Uint8Array(2 * PAGE_SIZE).fill(5, 0, 1000));
    const g = file('punch');
    ok(g.write(0, new Uint8Array(1000).fill(6), charge));
    ok(g.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 100, charge));
    ok(g.truncate(PAGE_SIZE));
    expect(g.read(0, PAGE_SIZE)).toEqual(new Uint8Array(PAGE_SIZE).fill(6, 0, 100).fill(6, 200, 1000));
  });

  it('forEachPage (what a checkpoint copies) hands out frames already zeroed past the bytes written', () => {
    const { mf, charge, file } = poisoned(MiB);
    const f = file('ckpt');
    ok(f.write(0, new Uint8Array(PAGE_SIZE + 10).fill(7), charge));
    const seen: number[] = [];
    f.forEachPage((page, frame) => {
      seen.push(page);
      const at = mf.byteOffset(frame);
      const bytes = mf.chunkBytes(frame).subarray(at, at + PAGE_SIZE);
      expect(bytes.every((b, i) => b === (page === 0 || i < 10 ? 7 : 0))).toBe(true);
    });
    expect(seen).toEqual([0, 1]);
  });

  it('a file freed with its last page half written gives back every frame', () => {
    const { fs, mf, charge, file } = poisoned(MiB);
    const f = file('gone');
    ok(f.write(0, new Uint8Array(PAGE_SIZE + 10).fill(8), charge));
    expect(mf.allocatedFrames).toBe(2);
    fs.root.removeEntry('gone');
    expect([mf.allocatedFrames, fs.usedPages, charge.chargedPages]).toEqual([0, 0, 0]);
    const g = file('next');
    ok(g.write(0, new Uint8Array(10).fill(1), charge));
    expect(g.read(0, PAGE_SIZE)).toEqual(new Uint8Array(10).fill(1));
    expect(frameBytes(mf, g, 0)).toEqual(new Uint8Array(PAGE_SIZE).fill(1, 0, 10));
  });

  it("a half-written page freed by truncate or a punched hole is forgotten: its frame's next owner keeps its bytes", () => {
    const frees = [
      (f: RegularFile): void => ok(f.truncate(0)),
      (f: RegularFile, charge: UnlimitedCharge): void => ok(f.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE, charge)),
    ];
    for (const free of frees) {
      const { mf, charge, file } = poisoned(MiB, 1);
      const a = file('a');
      ok(a.write(0, new Uint8Array(1000).fill(1), charge));
      free(a, charge);
      // b's page reuses the frame a's page had.
      const b = file('b');
      ok(b.write(0, new Uint8Array(PAGE_SIZE).fill(2), charge));
      ok(a.write(0, new Uint8Array(10).fill(3), charge));
      expect(a.read(0, 2000)).toEqual(new Uint8Array(Number(a.size)).fill(3, 0, 10));
      expect(frameBytes(mf, b, 0)).toEqual(new Uint8Array(PAGE_SIZE).fill(2));
      expect(mf.allocatedFrames).toBe(2);
    }
  });

  it('dd bs=1000 into a 3-page tmpfs: short write at the limit, then ENOSPC, contents intact', () => {
    const { charge, file } = poisoned(3 * PAGE_SIZE);
    const f = file('full');
    const counts: (number | string)[] = [];
    for (let i = 0; i < 14; i++) {
      const w = ok(f.write(f.size, new Uint8Array(1000).fill(i + 1), charge));
      counts.push(w.stopped === undefined ? w.written : `${w.written} ${w.stopped.errno}`);
    }
    expect(counts).toEqual([...Array<number>(12).fill(1000), '288 ENOSPC', '0 ENOSPC']);
    const want = new Uint8Array(3 * PAGE_SIZE);
    for (let i = 0; i < 13; i++) want.fill(i + 1, i * 1000, Math.min((i + 1) * 1000, 3 * PAGE_SIZE));
    expect(f.read(0, Number(f.size))).toEqual(want);
  });

  it('agrees with a byte-array model under any mix of writes, truncates, punches and reads', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), at: fc.integer({ min: 0, max: 4 * PAGE_SIZE }), len: fc.integer({ min: 1, max: 2 * PAGE_SIZE }) }),
      fc.record({ kind: fc.constant('append' as const), len: fc.integer({ min: 1, max: 1500 }) }),
      fc.record({ kind: fc.constant('truncate' as const), len: fc.integer({ min: 0, max: 5 * PAGE_SIZE }) }),
      fc.record({ kind: fc.constant('punch' as const), at: fc.integer({ min: 0, max: 4 * PAGE_SIZE }), len: fc.integer({ min: 1, max: 2 * PAGE_SIZE }) }),
      fc.record({ kind: fc.constant('read' as const) }),
      fc.record({ kind: fc.constant('map' as const), page: fc.integer({ min: 0, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { mf, charge, file } = poisoned(MiB, 16);
        const f = file('model');
        let model = new Uint8Array(0);
        let tag = 0;
        const resize = (n: number): void => {
          const next = new Uint8Array(n);
          next.set(model.subarray(0, Math.min(n, model.length)));
          model = next;
        };
        for (const o of ops) {
          if (o.kind === 'write' || o.kind === 'append') {
            const at = o.kind === 'write' ? o.at : Number(f.size);
            const bytes = new Uint8Array(o.len).fill((tag++ % 250) + 1);
            expect(ok(f.write(at, bytes, charge)).written).toBe(o.len);
            if (at + o.len > model.length) resize(at + o.len);
            model.set(bytes, at);
          } else if (o.kind === 'truncate') {
            ok(f.truncate(o.len));
            resize(o.len);
          } else if (o.kind === 'punch') {
            ok(f.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, o.at, o.len, charge));
            model.fill(0, o.at, o.at + o.len);
          } else if (o.kind === 'read') {
            expectBytes(f.read(0, Number(f.size)), model);
          } else if (o.page * PAGE_SIZE < f.size) {
            const bytes = frameBytes(mf, f, o.page);
            const want = new Uint8Array(PAGE_SIZE);
            want.set(model.subarray(o.page * PAGE_SIZE, (o.page + 1) * PAGE_SIZE));
            expectBytes(bytes, want);
          }
        }
        expectBytes(f.read(0, Number(f.size)), model);
        f.forEachPage((page, frame) => {
          const at = mf.byteOffset(frame);
          const want = new Uint8Array(PAGE_SIZE);
          want.set(model.subarray(page * PAGE_SIZE, (page + 1) * PAGE_SIZE));
          expectBytes(mf.chunkBytes(frame).slice(at, at + PAGE_SIZE), want);
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe('truncate', () => {
  it('sparse growth is free: truncate to 1 GiB on 32 MiB uses 0 blocks', () => {
    const { fs, file } = setup(32 * MiB);
    const f = file('sparse');
    ok(f.truncate(1024 * MiB));
    expect([f.size, f.residentPages, fs.usedPages]).toEqual([1024 * MiB, 0, 0]);
  });

  it('shrinking frees whole pages past the end and zeroes the tail of the last one', () => {
    const { fs, mf, charge, file } = setup(MiB);
    const f = file('t');
    ok(f.write(0, new Uint8Array(3 * PAGE_SIZE).fill(0xaa), charge));
    ok(f.truncate(PAGE_SIZE + 10));
    expect([fs.usedPages, mf.allocatedFrames, charge.chargedPages]).toEqual([2, 2, 2]);
    ok(f.truncate(2 * PAGE_SIZE));
    const tail = f.read(PAGE_SIZE + 8, 4);
    expect([...tail]).toEqual([0xaa, 0xaa, 0, 0]);
  });

  it('negative is EINVAL, past the largest size EFBIG', () => {
    const { file } = setup(MiB);
    const f = file('e');
    expect([errno(f.truncate(-1)), errno(f.truncate((1n << 63n) - 1n)), errno(f.truncate(1n << 63n))]).toEqual(['EINVAL', 'ok', 'EFBIG']);
    expect(f.size).toBe((1n << 63n) - 1n);
  });
});

describe('fallocate', () => {
  it('40M on 32M is ENOSPC and leaves an empty file; 16M works and uses 16 MiB', () => {
    const { fs, charge, file } = setup(32 * MiB);
    const f = file('fa');
    expect(errno(f.fallocate(0, 0, 40 * MiB, charge))).toBe('ENOSPC');
    expect([f.size, fs.usedPages]).toEqual([0, 0]);
    ok(f.fallocate(0, 0, 16 * MiB, charge));
    expect([f.size, fs.usedPages, f.residentPages]).toEqual([16 * MiB, 4096, 4096]);
  });

  it('a range longer than the whole capacity fails before charging anything (no OOM, just ENOSPC)', () => {
    const { file } = setup(32 * MiB);
    const cg = new LimitedCharge(256);
    expect(errno(file('big').fallocate(0, 0, 40 * MiB, cg))).toBe('ENOSPC');
    expect([cg.refusals, cg.charged]).toEqual([0, 0]);
  });

  it('a range within capacity that runs out part-way gives back what it claimed', () => {
    const { fs, mf, charge, file } = setup(32 * MiB);
    ok(file('other').write(0, new Uint8Array(20 * MiB), charge));
    const f = file('fa');
    ok(f.write(0, new Uint8Array([5]), charge));
    expect(errno(f.fallocate(0, 0, 16 * MiB, charge))).toBe('ENOSPC');
    expect([f.size, f.residentPages, fs.usedPages, mf.allocatedFrames]).toEqual([1, 1, 5121, 5121]);
  });

  it('KEEP_SIZE claims pages past the size; PUNCH_HOLE frees whole pages and zeroes partial ones', () => {
    const { fs, charge, file } = setup(MiB);
    const f = file('k');
    ok(f.fallocate(FALLOC_FL_KEEP_SIZE, 0, 4 * PAGE_SIZE, charge));
    expect([f.size, fs.usedPages]).toEqual([0, 4]);
    ok(f.write(0, new Uint8Array(4 * PAGE_SIZE).fill(1), charge));
    ok(f.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 2 * PAGE_SIZE, charge));
    expect([fs.usedPages, f.size]).toEqual([3, 4 * PAGE_SIZE]);
    expect([f.read(99, 2)[0], f.read(99, 2)[1], f.read(2 * PAGE_SIZE + 99, 2)[0], f.read(2 * PAGE_SIZE + 100, 1)[0]]).toEqual([1, 0, 0, 1]);
  });

  it('bad arguments: EINVAL for length 0, EOPNOTSUPP for PUNCH_HOLE alone', () => {
    const { charge, file } = setup(MiB);
    const f = file('b');
    expect([errno(f.fallocate(0, 0, 0, charge)), errno(f.fallocate(FALLOC_FL_PUNCH_HOLE, 0, 1, charge))]).toEqual(['EINVAL', 'EOPNOTSUPP']);
  });
});

describe('translate (the file as a Mappable)', () => {
  it('claims a page on first touch, reads too, and SIGBUS past EOF rounded up to a page', () => {
    const { fs, file } = setup(MiB);
    const f = file('m');
    ok(f.truncate(PAGE_SIZE + 1));
    const t = f.translate(0, 2, false);
    expect(isBusError(t) ? 'bus' : t.pages).toBe(1);
    expect(fs.usedPages).toBe(1);
    expect(isBusError(f.translate(1, 1, true))).toBe(false);
    expect(isBusError(f.translate(2, 1, false))).toBe(true);
  });

  it('SIGBUS once the tmpfs is full, though the page is inside the file', () => {
    const { file } = setup(2 * PAGE_SIZE);
    const f = file('m');
    ok(f.truncate(64 * MiB));
    expect([0, 1, 2].map((p) => isBusError(f.translate(p, 1, true)))).toEqual([false, false, true]);
  });

  it('extends a run only over pages already held, in consecutive frames', () => {
    const { charge, file } = setup(MiB);
    const f = file('run');
    ok(f.write(0, new Uint8Array(3 * PAGE_SIZE), charge));
    const t = f.translate(0, 8, false);
    expect(isBusError(t) ? 'bus' : [t.page, t.pages]).toEqual([0, 3]);
  });
});

describe('memory cgroup charging', () => {
  it('charges each new page to the writer and uncharges it when the page is freed', () => {
    const { mf, file } = setup(MiB);
    const host = new UnlimitedCharge();
    const container = new LimitedCharge(100);
    const f = file('c');
    ok(f.write(0, new Uint8Array(2 * PAGE_SIZE), container));
    ok(f.write(0, new Uint8Array(3 * PAGE_SIZE), host));
    expect([container.charged, host.chargedPages]).toEqual([2, 1]);
    ok(f.truncate(PAGE_SIZE));
    expect([container.charged, host.chargedPages, mf.allocatedFrames]).toEqual([1, 0, 1]);
  });

  it('a refusal stops the write with a marked ENOMEM, before the size limit is looked at', () => {
    const { fs, file } = setup(2 * PAGE_SIZE);
    const cg = new LimitedCharge(1);
    const f = file('oom');
    const w = ok(f.write(0, new Uint8Array(3 * PAGE_SIZE), cg));
    expect([w.written, w.stopped?.errno, w.stopped !== undefined && isChargeRefused(w.stopped), fs.usedPages, cg.refusals]).toEqual([
      PAGE_SIZE,
      'ENOMEM',
      true,
      1,
      1,
    ]);
  });

  it('a refused fault is a SIGBUS and tells the fault charge source', () => {
    const mf = new MemoryFile();
    const cg = new LimitedCharge(0);
    let refused = 0;
    const fs = ok(
      Tmpfs.create(
        mf,
        {},
        {
          current: () => cg,
          refused: () => {
            refused += 1;
          },
        },
      ),
    );
    const f = ok(fs.root.createFile('f', owner));
    ok(f.truncate(PAGE_SIZE));
    expect([isBusError(f.translate(0, 1, true)), refused, mf.allocatedFrames]).toEqual([true, 1, 0]);
  });
});
