import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PROT_READ } from '../../src/abi/constants.js';
import type { SysError } from '../../src/abi/errno.js';
import { MemoryFile } from '../../src/mm/memory_file.js';
import { MemoryManager } from '../../src/mm/memory_manager.js';
import { FakeObject, FakeShm, ctxOf, sharedRW } from './fake_mappable.js';

const P = PAGE_SIZE;
const A = 0x10000000;
const ctx = ctxOf(11);

function errno(r: E.Either<SysError, unknown>): string {
  return E.isLeft(r) ? r.left.errno : 'ok';
}

function setup(): { mf: MemoryFile; mm: MemoryManager } {
  const mf = new MemoryFile();
  return { mf, mm: new MemoryManager({ memoryFile: mf }) };
}

/** shmat of `seg` at `addr` (fixed), mapping `length` bytes (default the segment's pages). */
function attach(mm: MemoryManager, seg: FakeObject, addr: number, length = seg.bytes): void {
  const r = mm.mmap(ctx, sharedRW(seg, { length, addr, fixed: true }));
  expect(r).toEqual(E.right(addr));
}

function starts(mm: MemoryManager): number[] {
  return mm.vmas().map((v) => v.start);
}

describe('detachShm (shmdt)', () => {
  it('detaches an attachment, after which its pages fault and a second shmdt is EINVAL', () => {
    const { mf, mm } = setup();
    const seg = new FakeShm(mf, 3 * P);
    attach(mm, seg, A);
    expect(mm.detachShm(ctx, A)).toEqual(E.right(undefined));
    expect(mm.vmaCount).toBe(0);
    expect(seg.pieces).toBe(0);
    expect(seg.refs).toBe(0);
    expect(seg.calls.at(-1)).toMatchObject({ kind: 'remove', pid: 11, start: A, end: A + 3 * P });
    expect(mm.write(A, Uint8Array.of(1))).toEqual(E.left({ signal: 'SIGSEGV', addr: A }));
    expect(errno(mm.detachShm(ctx, A))).toBe('EINVAL');
  });

  it('gives EINVAL for unaligned addresses, the middle of an attachment, and non-shm mappings', () => {
    const { mf, mm } = setup();
    const seg = new FakeShm(mf, 3 * P);
    const file = new FakeObject(mf, P);
    attach(mm, seg, A);
    attach(mm, file, A + 8 * P);
    expect(errno(mm.detachShm(ctx, A + 1))).toBe('EINVAL');
    expect(errno(mm.detachShm(ctx, A + P))).toBe('EINVAL');
    expect(errno(mm.detachShm(ctx, A + 8 * P))).toBe('EINVAL');
    expect(errno(mm.detachShm(ctx, 0))).toBe('EINVAL');
    expect(errno(mm.detachShm(ctx, -P))).toBe('EINVAL');
    expect(mm.vmaCount).toBe(2);
  });

  it('after munmap of the first page, detaches the rest by the original start only', () => {
    const { mf, mm } = setup();
    const seg = new FakeShm(mf, 3 * P);
    attach(mm, seg, A);
    expect(mm.munmap(ctx, A, P)).toEqual(E.right(undefined));
    expect(errno(mm.detachShm(ctx, A + P))).toBe('EINVAL');
    expect(mm.detachShm(ctx, A)).toEqual(E.right(undefined));
    expect(mm.vmaCount).toBe(0);
    expect(seg.pieces).toBe(0);
  });

  it('removes both pieces around a hole, and skips a piece of another segment in it', () => {
    const { mf, mm } = setup();
    const seg = new FakeShm(mf, 4 * P);
    const other = new FakeShm(mf, P);
    attach(mm, seg, A);
    expect(mm.munmap(ctx, A + P, 2 * P)).toEqual(E.right(undefined));
    attach(mm, other, A + P);
    expect(mm.detachShm(ctx, A)).toEqual(E.right(undefined));
    expect(starts(mm)).toEqual([A + P]);
    expect(seg.pieces).toBe(0);
    expect(other.pieces).toBe(1);
  });

  it('removes every piece left by an mprotect split (the shmat04 regression)', () => {
    const { mf, mm } = setup();
    const seg = new FakeShm(mf, 3 * P);
    attach(mm, seg, A);
    expect(mm.mprotect(ctx, A + P, P, PROT_READ)).toEqual(E.right(undefined));
    expect(seg.pieces).toBe(3);
    expect(mm.detachShm(ctx, A)).toEqual(E.right(undefined));
    expect(seg.pieces).toBe(0);
    expect(seg.refs).toBe(0);
  });

  it('leaves an adjacent attachment of another segment, and another attach of the same one', () => {
    const { mf, mm } = setup();
    const seg = new FakeShm(mf, 2 * P);
    const other = new FakeShm(mf, 2 * P);
    attach(mm, seg, A);
    attach(mm, other, A + 2 * P);
    attach(mm, seg, A + 4 * P);
    expect(mm.detachShm(ctx, A)).toEqual(E.right(undefined));
    expect(starts(mm)).toEqual([A + 2 * P, A + 4 * P]);
    expect(seg.pieces).toBe(1);
    expect(other.pieces).toBe(1);
  });

  it('searches upward from the address for the first piece with that origin', () => {
    const { mf, mm } = setup();
    const seg = new FakeShm(mf, P);
    attach(mm, seg, A + 100 * P);
    expect(errno(mm.detachShm(ctx, A))).toBe('EINVAL');
    expect(mm.detachShm(ctx, A + 100 * P)).toEqual(E.right(undefined));
  });

  it('finds a piece past the segment size when it starts the attachment, but sweeps only within it', () => {
    const { mf, mm } = setup();
    const seg = new FakeShm(mf, 2 * P);
    // A mapping grown to 4 pages (as by mremap), split at its last page.
    attach(mm, seg, A, 4 * P);
    expect(mm.mprotect(ctx, A + 3 * P, P, PROT_READ)).toEqual(E.right(undefined));
    expect(mm.read(A + 2 * P, 1)).toEqual(E.left({ signal: 'SIGBUS', addr: A + 2 * P }));
    expect(mm.detachShm(ctx, A)).toEqual(E.right(undefined));
    // The second loop of ksys_shmdt stops at pieces ending past addr + PAGE_ALIGN(segsz).
    expect(starts(mm)).toEqual([A + 3 * P]);
    expect(mm.detachShm(ctx, A)).toEqual(E.right(undefined));
    expect(mm.vmaCount).toBe(0);
  });

  it('sweeps pieces of the segment that follow pieces of other mappings within the range', () => {
    const { mf, mm } = setup();
    const seg = new FakeShm(mf, 5 * P);
    const file = new FakeObject(mf, P);
    attach(mm, seg, A);
    expect(mm.munmap(ctx, A + P, P)).toEqual(E.right(undefined));
    expect(mm.munmap(ctx, A + 3 * P, P)).toEqual(E.right(undefined));
    attach(mm, file, A + 3 * P);
    expect(seg.pieces).toBe(3);
    expect(mm.detachShm(ctx, A)).toEqual(E.right(undefined));
    expect(starts(mm)).toEqual([A + 3 * P]);
    expect(seg.pieces).toBe(0);
  });
});
