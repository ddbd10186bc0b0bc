/**
 * Reads of private anonymous memory never written map the zero page, as
 * Linux's do_anonymous_page does without FAULT_FLAG_WRITE: the page reads
 * as zeros, no frame is allocated and no memory cgroup is charged; the
 * first write allocates the page and charges the writer. mincore counts a
 * zero-mapped page resident (its pte is present); a forked child sees the
 * parent's zero pages only when the mapping has an anon_vma (a page of it
 * was written), as copy_page_range copies no page tables otherwise; the
 * answers were taken from Linux 6.18 with a small C program. Checkpoints
 * hold no bytes for zero pages.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { MADV_DONTNEED, MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, MemoryCgroup, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { ok } from '../support/either.js';
import { bytes, smallKernel } from './helpers.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON_PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS;
const box = (name: string, pages: number): MemoryCgroup => new MemoryCgroup(name, BigInt(pages * P));
const resident = (p: Process, addr: number, pages: number): number[] => [...ok(p.mincore(addr, pages * P))];

describe('reading never-written private anonymous memory maps the zero page', () => {
  it('reads allocate and charge nothing; the first write allocates and charges one page', () => {
    const k = smallKernel();
    const cg = box('/box', 16);
    const p = k.spawn({ memoryCharge: cg });
    const before = k.memoryFile.allocatedFrames;
    const a = ok(p.mmap(-1, 8 * P, RW, ANON_PRIVATE));
    expect(ok(p.read(a, 8 * P)).every((b) => b === 0)).toBe(true);
    expect(ok(p.atomicLoad32(a + 3 * P + 8))).toBe(0);
    expect([k.memoryFile.allocatedFrames - before, cg.usagePages]).toEqual([0, 0]);
    ok(p.write(a + 2 * P + 5, bytes(7)));
    expect([k.memoryFile.allocatedFrames - before, cg.usagePages]).toEqual([1, 1]);
    const got = ok(p.read(a + 2 * P, P));
    expect([got[5], got[4], got[6]]).toEqual([7, 0, 0]);
    // A read over written and zero pages allocates nothing more.
    expect(ok(p.read(a, 8 * P))[2 * P + 5]).toBe(7);
    expect([k.memoryFile.allocatedFrames - before, cg.usagePages]).toEqual([1, 1]);
    ok(checkInvariants(k));
  });

  it('a process reading fresh memory far past its memory limit is not OOM-killed; writing past it is', () => {
    const k = smallKernel();
    const cg = box('/small', 2);
    const p = k.spawn({ memoryCharge: cg });
    const a = ok(p.mmap(-1, 64 * P, RW, ANON_PRIVATE));
    expect(ok(p.read(a, 64 * P)).length).toBe(64 * P);
    expect([p.exited, cg.usagePages, cg.failCount]).toEqual([false, 0, 0]);
    ok(p.write(a, bytes(1)));
    ok(p.write(a + 40 * P, bytes(1)));
    expect(cg.usagePages).toBe(2);
    expect(E.isLeft(p.write(a + 50 * P, bytes(1)))).toBe(true);
    expect([p.exited, p.killedBy, cg.failCount]).toEqual([true, 'SIGKILL', 1]);
  });

  it('a read-only populate maps zero pages; mincore counts them until MADV_DONTNEED', () => {
    const k = smallKernel();
    const cg = box('/box', 16);
    const p = k.spawn({ memoryCharge: cg });
    const ro = ok(p.mmap(-1, 4 * P, PROT_READ, ANON_PRIVATE | MAP_POPULATE));
    expect(resident(p, ro, 4)).toEqual([1, 1, 1, 1]);
    expect(cg.usagePages).toBe(0);
    const a = ok(p.mmap(-1, 4 * P, RW, ANON_PRIVATE));
    ok(p.read(a, 1));
    ok(p.write(a + P, bytes(1)));
    expect(resident(p, a, 4)).toEqual([1, 1, 0, 0]);
    ok(p.madvise(a, 2 * P, MADV_DONTNEED));
    expect(resident(p, a, 4)).toEqual([0, 0, 0, 0]);
    expect(cg.usagePages).toBe(0);
  });

  it('a fork child sees the zero pages only of a mapping with a written page (an anon_vma)', () => {
    const k = smallKernel();
    const p = k.spawn();
    const readOnly = ok(p.mmap(-1, 4 * P, RW, ANON_PRIVATE));
    const written = ok(p.mmap(-1, 4 * P, RW, ANON_PRIVATE));
    ok(p.read(readOnly, 1));
    ok(p.read(written, 1));
    ok(p.write(written + P, bytes(3)));
    const c = ok(p.fork());
    expect(resident(c, readOnly, 4)).toEqual([0, 0, 0, 0]);
    expect(resident(c, written, 4)).toEqual([1, 1, 0, 0]);
    expect(resident(p, readOnly, 4)).toEqual([1, 0, 0, 0]);
    // The child's write to a zero page allocates its own page; the parent's stays zero.
    const before = k.memoryFile.allocatedFrames;
    ok(c.write(written, bytes(9)));
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
    expect([ok(c.read(written, 1))[0], ok(p.read(written, 1))[0]]).toEqual([9, 0]);
    ok(checkInvariants(k));
  });

  it('a futex on a zero page faults it in for writing (get_futex_key), and of a read-only mapping is EFAULT', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, P, RW, ANON_PRIVATE));
    ok(p.read(a, 4));
    const before = k.memoryFile.allocatedFrames;
    const r = p.futexWait(a, 0, 0);
    expect(E.isLeft(r) && r.left.errno).toBe('ETIMEDOUT');
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
    const ro = ok(p.mmap(-1, P, PROT_READ, ANON_PRIVATE));
    const f = p.futexWait(ro, 0, 0);
    expect(E.isLeft(f) && f.left.errno).toBe('EFAULT');
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
  });

  it('a checkpoint holds no bytes for zero pages, and restore leaves them unallocated', () => {
    const k = smallKernel();
    const cg = box('/box', 16);
    const p = k.spawn({ memoryCharge: cg });
    const a = ok(p.mmap(-1, 64 * P, RW, ANON_PRIVATE));
    ok(p.write(a, bytes(1)));
    const small = ok(checkpoint(k));
    ok(p.read(a, 64 * P));
    const image = ok(checkpoint(k));
    expect(image.length).toBe(small.length);
    const k2 = ok(restore(image));
    ok(checkInvariants(k2));
    const p2 = k2.processes().find((x) => x.pid === p.pid) as Process;
    expect(k2.memoryFile.allocatedFrames).toBe(k.memoryFile.allocatedFrames);
    expect((p2.memoryCharge as MemoryCgroup).usagePages).toBe(1);
    expect(ok(p2.read(a, 64 * P)).reduce((s, b) => s + b, 0)).toBe(1);
    expect(k2.memoryFile.allocatedFrames).toBe(k.memoryFile.allocatedFrames);
  });
});
