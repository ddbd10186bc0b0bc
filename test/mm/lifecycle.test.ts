import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PROT_READ } from '../../src/abi/constants.js';
import { MemoryFile } from '../../src/mm/memory_file.js';
import { MemoryManager } from '../../src/mm/memory_manager.js';
import type { AddrRange, MappingContext, MappingSpace, MappingStamp } from '../../src/mm/memmap.js';
import { FakeShm, ctxOf, sharedRW } from './fake_mappable.js';

const P = PAGE_SIZE;
const parentCtx = ctxOf(20);
const childCtx = ctxOf(21);

function attach(mm: MemoryManager, seg: FakeShm, ctx: MappingContext = parentCtx): number {
  const r = mm.mmap(ctx, sharedRW(seg));
  if (E.isLeft(r)) {
    throw new Error(r.left.message);
  }
  return r.right;
}

/** A segment that records whether mappingMu was held during each kind of call. */
class LockWatchingShm extends FakeShm {
  readonly lockedDuring: Array<[string, boolean]> = [];
  mm: MemoryManager | undefined;

  override removeMapping(at: MappingStamp, ms: MappingSpace, ar: AddrRange, offset: number, writable: boolean): void {
    this.lockedDuring.push(['remove', this.mm?.mappingMu.isLocked() ?? false]);
    super.removeMapping(at, ms, ar, offset, writable);
  }

  override decRef(): void {
    this.lockedDuring.push(['decRef', this.mm?.mappingMu.isLocked() ?? false]);
    super.decRef();
  }
}

describe('fork', () => {
  it('copies every VMA into the child, announced with the parent as caller', () => {
    const mf = new MemoryFile();
    const parent = new MemoryManager({ memoryFile: mf, mmapBase: 0x40000000 });
    const seg = new FakeShm(mf, 3 * P);
    const a = attach(parent, seg);
    expect(parent.mprotect(parentCtx, a + P, P, PROT_READ)).toEqual(E.right(undefined));
    expect(seg.pieces).toBe(3);

    const child = parent.fork(parentCtx);
    expect(child.spaceId).not.toBe(parent.spaceId);
    expect(child.mmapBase).toBe(0x40000000);
    expect(child.vmas()).toEqual(parent.vmas());
    // Linux: 3 pieces become 6 after fork.
    expect(seg.pieces).toBe(6);
    expect(seg.refs).toBe(6);
    const copies = seg.calls.filter((c) => c.space === child.spaceId);
    expect(copies.map((c) => [c.kind, c.pid, c.start, c.offset])).toEqual([
      ['copy', 20, a, 0],
      ['copy', 20, a + P, P],
      ['copy', 20, a + 2 * P, 2 * P],
    ]);
  });

  it('shares the pages: writes in either process are seen by the other', () => {
    const mf = new MemoryFile();
    const parent = new MemoryManager({ memoryFile: mf });
    const seg = new FakeShm(mf, 2 * P);
    const a = attach(parent, seg);
    expect(parent.write(a, Uint8Array.of(1, 2))).toEqual(E.right(undefined));
    const child = parent.fork(parentCtx, { mmapBase: 0x30000000 });
    expect(child.mmapBase).toBe(0x30000000);
    expect(child.read(a, 2)).toEqual(E.right(Uint8Array.of(1, 2)));
    expect(child.atomicAdd32(a + P, 5)).toEqual(E.right(0));
    expect(parent.atomicLoad32(a + P)).toEqual(E.right(5));
    expect(mf.allocatedFrames).toBe(2);
    // The child's own mappings do not appear in the parent.
    expect(attach(child, new FakeShm(mf, P), childCtx)).toBe(0x30000000 - P);
    expect(parent.vmaCount).toBe(1);
  });
});

describe('release (exit)', () => {
  it('removes every mapping with the exiting process as caller and balances identity references', () => {
    const mf = new MemoryFile();
    const parent = new MemoryManager({ memoryFile: mf });
    const seg = new FakeShm(mf, 4 * P);
    const a = attach(parent, seg);
    attach(parent, seg);
    expect(parent.munmap(parentCtx, a + P, P)).toEqual(E.right(undefined));
    expect(parent.fill(a, 4 * P, 7)).toEqual(E.left({ signal: 'SIGSEGV', addr: a + P }));
    const child = parent.fork(parentCtx);
    expect(seg.pieces).toBe(6);

    child.release(childCtx);
    expect(child.vmaCount).toBe(0);
    expect(seg.calls.filter((c) => c.kind === 'remove' && c.space === child.spaceId).every((c) => c.pid === 21)).toBe(true);
    expect(seg.pieces).toBe(3);
    expect(parent.read(a, 1)).toEqual(E.right(Uint8Array.of(7)));

    parent.release(parentCtx);
    expect(parent.vmaCount).toBe(0);
    expect(seg.pieces).toBe(0);
    expect(seg.refs).toBe(0);
    seg.freeFrames();
    expect(mf.allocatedFrames).toBe(0);
  });

  it('drops identity references only after mappingMu is released', () => {
    const mf = new MemoryFile();
    const mm = new MemoryManager({ memoryFile: mf });
    const seg = new LockWatchingShm(mf, 3 * P);
    seg.mm = mm;
    const a = attach(mm, seg);
    const b = attach(mm, seg);
    expect(mm.munmap(parentCtx, a + P, P)).toEqual(E.right(undefined));
    expect(mm.detachShm(parentCtx, b)).toEqual(E.right(undefined));
    const r = mm.mmap(parentCtx, sharedRW(seg, { length: P, addr: a, fixed: true, replace: true }));
    expect(r).toEqual(E.right(a));
    mm.release(parentCtx);
    expect(seg.refs).toBe(0);
    const removes = seg.lockedDuring.filter(([k]) => k === 'remove');
    const decRefs = seg.lockedDuring.filter(([k]) => k === 'decRef');
    expect(removes.length).toBe(decRefs.length);
    expect(removes.every(([, locked]) => locked)).toBe(true);
    expect(decRefs.every(([, locked]) => !locked)).toBe(true);
  });
});

describe('scale', () => {
  it('holds 10,000 attachments with O(log n) lookups', () => {
    const mf = new MemoryFile();
    const mm = new MemoryManager({ memoryFile: mf });
    const seg = new FakeShm(mf, P);
    const n = 10_000;
    const addrs: number[] = [];
    for (let i = 0; i < n; i++) {
      addrs.push(attach(mm, seg));
    }
    expect(mm.vmaCount).toBe(n);
    expect(addrs.every((addr, i) => i === 0 || addr === (addrs[i - 1] ?? 0) - P)).toBe(true);
    // All attachments share the one page: a write through one shows through all.
    expect(mm.write(addrs[0] ?? 0, Uint8Array.of(99))).toEqual(E.right(undefined));
    for (let i = 0; i < n; i += 97) {
      expect(mm.read(addrs[i] ?? 0, 1)).toEqual(E.right(Uint8Array.of(99)));
    }
    for (let i = 0; i < n; i += 2) {
      expect(mm.detachShm(parentCtx, addrs[i] ?? 0)).toEqual(E.right(undefined));
    }
    expect(mm.vmaCount).toBe(n / 2);
    expect(mm.read(addrs[0] ?? 0, 1)).toEqual(E.left({ signal: 'SIGSEGV', addr: addrs[0] }));
    // A freed one-page hole is the highest that fits: the next attach lands there.
    expect(attach(mm, seg)).toBe(addrs[0]);
    mm.release(parentCtx);
    expect(seg.refs).toBe(0);
    expect(mm.vmaCount).toBe(0);
  });
});
