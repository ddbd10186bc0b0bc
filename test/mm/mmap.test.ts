import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, TASK_SIZE } from '../../src/abi/constants.js';
import type { SysError } from '../../src/abi/errno.js';
import { MemoryFile } from '../../src/mm/memory_file.js';
import { MemoryManager } from '../../src/mm/memory_manager.js';
import type { MmapOptions } from '../../src/mm/memory_manager.js';
import { FakeObject, ctxOf, sharedRW } from './fake_mappable.js';

const RW = PROT_READ | PROT_WRITE;
const RWX = RW | PROT_EXEC;
const P = PAGE_SIZE;
const BASE = 0x7f0000000000;
const ctx = ctxOf(7);

function setup(mmapBase?: number): { mf: MemoryFile; mm: MemoryManager } {
  const mf = new MemoryFile();
  return { mf, mm: new MemoryManager({ memoryFile: mf, ...(mmapBase === undefined ? {} : { mmapBase }) }) };
}

function errno(r: E.Either<SysError, unknown>): string {
  return E.isLeft(r) ? r.left.errno : 'ok';
}

function must(r: E.Either<SysError, number>): number {
  if (E.isLeft(r)) {
    throw new Error(r.left.message);
  }
  return r.right;
}

describe('mmap placement', () => {
  it('places mappings top-down from the mmap base, each directly below the last', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 3 * P);
    const a = must(mm.mmap(ctx, sharedRW(obj)));
    const b = must(mm.mmap(ctx, sharedRW(obj)));
    expect(a).toBe(BASE - 3 * P);
    expect(b).toBe(a - 3 * P);
    expect(mm.munmap(ctx, a, 3 * P)).toEqual(E.right(undefined));
    // The highest free gap below the base is the one just vacated.
    expect(must(mm.mmap(ctx, sharedRW(obj, { length: P })))).toBe(BASE - P);
  });

  it('fills the highest gap that fits and skips smaller ones', () => {
    const { mf, mm } = setup(0x100000);
    const obj = new FakeObject(mf, 4 * P);
    must(mm.mmap(ctx, sharedRW(obj, { addr: 0x100000 - P, fixed: true, length: P })));
    must(mm.mmap(ctx, sharedRW(obj, { addr: 0x100000 - 4 * P, fixed: true, length: P })));
    // Free: a 2-page gap at base-3P and everything below base-4P.
    expect(must(mm.mmap(ctx, sharedRW(obj, { length: 2 * P })))).toBe(0x100000 - 3 * P);
    expect(must(mm.mmap(ctx, sharedRW(obj, { length: 2 * P })))).toBe(0x100000 - 6 * P);
  });

  it('uses a free hint and falls back to top-down when the hint is taken', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 2 * P);
    expect(must(mm.mmap(ctx, sharedRW(obj, { addr: 0x20000123 })))).toBe(0x20000000);
    expect(must(mm.mmap(ctx, sharedRW(obj, { addr: 0x20001000 })))).toBe(BASE - 2 * P);
    // A hint inside page 0 rounds down to no hint at all.
    expect(must(mm.mmap(ctx, sharedRW(obj, { addr: 0x10 })))).toBe(BASE - 4 * P);
  });

  it('reports ENOMEM when no gap below the base is large enough', () => {
    const { mf, mm } = setup(0x10000);
    const obj = new FakeObject(mf, 16 * P);
    expect(errno(mm.mmap(ctx, sharedRW(obj)))).toBe('ENOMEM');
    expect(must(mm.mmap(ctx, sharedRW(obj, { length: 15 * P })))).toBe(P);
    expect(obj.calls.length).toBe(1);
  });

  it('announces the mapping to the mappable and takes an identity reference', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 100);
    const a = must(mm.mmap(ctx, sharedRW(obj, { writable: false, perms: PROT_READ, maxPerms: PROT_READ })));
    expect(obj.calls).toEqual([{ kind: 'add', pid: 7, space: mm.spaceId, start: a, end: a + P, offset: 0, writable: false }]);
    expect(obj.refs).toBe(1);
    expect(mm.vmas()).toEqual([
      {
        start: a,
        end: a + P,
        offset: 0,
        perms: PROT_READ,
        maxPerms: PROT_READ,
        mappable: obj,
        identity: obj,
        writable: false,
        locked: false,
        lockOnFault: false,
        dontCopy: false,
        wipeOnFork: false,
        growsDown: false,
        seqRead: false,
        randRead: false,
        hugePage: false,
        noHugePage: false,
        dontDump: false,
      },
    ]);
  });
});

/** The highest gap of `len` bytes in [P, base) by brute force over the VMAs. */
function highestGap(mm: MemoryManager, len: number, base: number): number {
  let top = base;
  for (const v of [...mm.vmas()].reverse()) {
    if (v.start >= base) {
      continue;
    }
    if (top - Math.max(v.end, P) >= len) {
      return top - len;
    }
    top = Math.min(top, v.start);
  }
  return top - P >= len ? top - len : -1;
}

describe('top-down placement under churn', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('map' as const), pages: fc.integer({ min: 1, max: 6 }) }),
    fc.record({ kind: fc.constant('unmap' as const), page: fc.integer({ min: 0, max: 63 }), pages: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('fixed' as const), page: fc.integer({ min: 0, max: 63 }), pages: fc.integer({ min: 1, max: 4 }) }),
  );

  it('always picks the highest gap that fits, as a full search would', () => {
    const base = 0x100000;
    const window = base - 64 * P;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { mf, mm } = setup(base);
        const obj = new FakeObject(mf, 8 * P);
        for (const o of ops) {
          if (o.kind === 'map') {
            const want = highestGap(mm, o.pages * P, base);
            const got = mm.mmap(ctx, sharedRW(obj, { length: o.pages * P }));
            expect(E.isRight(got) ? got.right : -1).toBe(want);
          } else if (o.kind === 'unmap') {
            expect(E.isRight(mm.munmap(ctx, window + o.page * P, o.pages * P))).toBe(true);
          } else {
            mm.mmap(ctx, sharedRW(obj, { addr: window + o.page * P, fixed: true, replace: true, length: o.pages * P }));
          }
        }
        mm.release(ctx);
        expect(obj.refs).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('mmap argument checks', () => {
  it('rejects bad offsets and lengths', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, P);
    expect(errno(mm.mmap(ctx, sharedRW(obj, { offset: 100 })))).toBe('EINVAL');
    expect(errno(mm.mmap(ctx, sharedRW(obj, { length: 0 })))).toBe('EINVAL');
    expect(errno(mm.mmap(ctx, sharedRW(obj, { length: -1 })))).toBe('ENOMEM');
    expect(errno(mm.mmap(ctx, sharedRW(obj, { length: TASK_SIZE + 1 })))).toBe('ENOMEM');
  });

  it('checks fixed addresses in Linux order: ENOMEM, EINVAL, EPERM, EEXIST, then EACCES', () => {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 3 * P);
    const fixed = (addr: number, extra: Partial<MmapOptions> = {}): E.Either<SysError, number> => mm.mmap(ctx, sharedRW(obj, { addr, fixed: true, ...extra }));
    expect(errno(fixed(0x7ffffffff000))).toBe('ENOMEM');
    expect(errno(fixed(0x800000000000))).toBe('ENOMEM');
    expect(errno(fixed(-P))).toBe('ENOMEM');
    expect(errno(fixed(0x10000800))).toBe('EINVAL');
    expect(errno(fixed(0))).toBe('EPERM');
    expect(errno(fixed(0, { perms: RWX, maxPerms: PROT_READ }))).toBe('EPERM');
    expect(fixed(0, { mayMapBelowMinAddr: true })).toEqual(E.right(0));
    expect(fixed(0x1000 * 3)).toEqual(E.right(0x3000));
    expect(errno(fixed(0x2000))).toBe('EEXIST');
    expect(errno(fixed(0x10000000, { perms: RW, maxPerms: PROT_READ }))).toBe('EACCES');
    expect(fixed(TASK_SIZE - 3 * P)).toEqual(E.right(TASK_SIZE - 3 * P));
    expect(obj.refs).toBe(3);
    expect(obj.count('add')).toBe(3);
  });

  it('replaces what a fixed mapping covers, leaving the uncovered rest mapped', () => {
    const { mf, mm } = setup();
    const seg = new FakeObject(mf, 3 * P);
    const a = must(mm.mmap(ctx, sharedRW(seg, { addr: 0x10000000, fixed: true })));
    expect(mm.write(a, Uint8Array.of(1))).toEqual(E.right(undefined));
    const b = must(mm.mmap(ctx, sharedRW(seg, { addr: 0x10001000, fixed: true, replace: true })));
    expect(b).toBe(0x10001000);
    // Linux: SHM_REMAP at +1 page over a 3-page attach leaves nattch 2.
    expect(seg.pieces).toBe(2);
    expect(seg.refs).toBe(2);
    expect(mm.vmas().map((v) => [v.start, v.end, v.offset])).toEqual([
      [a, a + P, 0],
      [b, b + 3 * P, 0],
    ]);
    expect(mm.read(b, 1)).toEqual(E.right(Uint8Array.of(1)));
  });
});

describe('munmap', () => {
  function mapped3(): { mf: MemoryFile; mm: MemoryManager; obj: FakeObject; a: number } {
    const { mf, mm } = setup();
    const obj = new FakeObject(mf, 3 * P);
    return { mf, mm, obj, a: must(mm.mmap(ctx, sharedRW(obj))) };
  }

  it('splits around a middle page: the outer parts become copies, the middle is removed', () => {
    const { mm, obj, a } = mapped3();
    expect(mm.munmap(ctx, a + P, P)).toEqual(E.right(undefined));
    expect(mm.vmas().map((v) => [v.start, v.end, v.offset])).toEqual([
      [a, a + P, 0],
      [a + 2 * P, a + 3 * P, 2 * P],
    ]);
    expect(obj.calls.slice(1).map((c) => [c.kind, c.start, c.end, c.offset])).toEqual([
      ['copy', a, a + P, 0],
      ['copy', a + 2 * P, a + 3 * P, 2 * P],
      ['remove', a + P, a + 2 * P, P],
    ]);
    expect(obj.pieces).toBe(2);
    expect(obj.refs).toBe(2);
    expect(mm.read(a + P, 1)).toEqual(E.left({ signal: 'SIGSEGV', addr: a + P }));
  });

  it('unmaps the first page (one piece left), and the whole mapping (none left)', () => {
    const { mm, obj, a } = mapped3();
    expect(mm.munmap(ctx, a, 1)).toEqual(E.right(undefined));
    expect(mm.vmas().map((v) => [v.start, v.offset])).toEqual([[a + P, P]]);
    expect(obj.pieces).toBe(1);
    expect(mm.munmap(ctx, a - 5 * P, 10 * P)).toEqual(E.right(undefined));
    expect(mm.vmaCount).toBe(0);
    expect(obj.pieces).toBe(0);
    expect(obj.refs).toBe(0);
  });

  it('removes several mappings and the holes between them in one call', () => {
    const { mf, mm, obj, a } = mapped3();
    const other = new FakeObject(mf, P);
    const b = must(mm.mmap(ctx, sharedRW(other, { addr: a - 3 * P, fixed: true })));
    expect(mm.munmap(ctx, b, a + 2 * P - b)).toEqual(E.right(undefined));
    expect(mm.vmas().map((v) => [v.start, v.mappable === obj])).toEqual([[a + 2 * P, true]]);
    expect(other.refs).toBe(0);
    expect(other.calls.at(-1)).toMatchObject({ kind: 'remove', pid: 7 });
  });

  it('accepts a range with nothing mapped, and rejects bad arguments with EINVAL', () => {
    const { mm, obj, a } = mapped3();
    expect(mm.munmap(ctx, 0x10000000, P)).toEqual(E.right(undefined));
    expect(errno(mm.munmap(ctx, a + 1, P))).toBe('EINVAL');
    expect(errno(mm.munmap(ctx, a, 0))).toBe('EINVAL');
    expect(errno(mm.munmap(ctx, -P, P))).toBe('EINVAL');
    expect(errno(mm.munmap(ctx, TASK_SIZE - P, 2 * P))).toBe('EINVAL');
    expect(errno(mm.munmap(ctx, 0x800000000000, P))).toBe('EINVAL');
    expect(obj.pieces).toBe(1);
  });
});
