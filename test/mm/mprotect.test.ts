import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import type { SysError } from '../../src/abi/errno.js';
import { MemoryFile } from '../../src/mm/memory_file.js';
import { MemoryManager } from '../../src/mm/memory_manager.js';
import { FakeObject, ctxOf, sharedRW } from './fake_mappable.js';

const RW = PROT_READ | PROT_WRITE;
const RWX = RW | PROT_EXEC;
const P = PAGE_SIZE;
const ctx = ctxOf(9);

function errno(r: E.Either<SysError, unknown>): string {
  return E.isLeft(r) ? r.left.errno : 'ok';
}

/** A 3-page object mapped RW at a fixed address, with the given maxPerms. */
function setup(maxPerms = RWX): { mf: MemoryFile; mm: MemoryManager; obj: FakeObject; a: number } {
  const mf = new MemoryFile();
  const mm = new MemoryManager({ memoryFile: mf });
  const obj = new FakeObject(mf, 3 * P);
  const a = 0x10000000;
  const r = mm.mmap(ctx, sharedRW(obj, { addr: a, fixed: true, maxPerms }));
  expect(r).toEqual(E.right(a));
  return { mf, mm, obj, a };
}

function layout(mm: MemoryManager): Array<[number, number, number, number]> {
  return mm.vmas().map((v) => [v.start, v.end, v.offset, v.perms]);
}

describe('mprotect', () => {
  it('splits a middle page into its own piece, and never re-merges', () => {
    const { mm, obj, a } = setup();
    expect(mm.mprotect(ctx, a + P, P, PROT_READ)).toEqual(E.right(undefined));
    expect(layout(mm)).toEqual([
      [a, a + P, 0, RW],
      [a + P, a + 2 * P, P, PROT_READ],
      [a + 2 * P, a + 3 * P, 2 * P, RW],
    ]);
    // Linux: nattch 3 after mprotect of the middle page, still 3 after changing it back.
    expect(obj.pieces).toBe(3);
    expect(obj.refs).toBe(3);
    expect(obj.calls.slice(1).map((c) => [c.kind, c.start, c.end, c.offset, c.pid])).toEqual([
      ['copy', a, a + P, 0, 9],
      ['copy', a + 2 * P, a + 3 * P, 2 * P, 9],
    ]);
    expect(mm.mprotect(ctx, a, 3 * P, RW)).toEqual(E.right(undefined));
    expect(layout(mm).map((v) => v[3])).toEqual([RW, RW, RW]);
    expect(obj.pieces).toBe(3);
  });

  it('enforces the new protection on access', () => {
    const { mm, a } = setup();
    expect(mm.mprotect(ctx, a, P, PROT_READ)).toEqual(E.right(undefined));
    expect(mm.write(a, Uint8Array.of(1))).toEqual(E.left({ signal: 'SIGSEGV', addr: a }));
    expect(E.isRight(mm.read(a, 1))).toBe(true);
    expect(mm.mprotect(ctx, a + P, P, PROT_NONE)).toEqual(E.right(undefined));
    expect(mm.read(a + P, 1)).toEqual(E.left({ signal: 'SIGSEGV', addr: a + P }));
  });

  it('does not split a piece whose protection is unchanged', () => {
    const { mm, obj, a } = setup();
    expect(mm.mprotect(ctx, a + P, 1, RW)).toEqual(E.right(undefined));
    expect(mm.vmaCount).toBe(1);
    expect(obj.count('copy')).toBe(0);
  });

  it('gives EACCES beyond maxPerms and changes nothing', () => {
    const { mm, obj, a } = setup(PROT_READ | PROT_WRITE);
    expect(errno(mm.mprotect(ctx, a + P, P, PROT_READ | PROT_EXEC))).toBe('EACCES');
    expect(layout(mm)).toEqual([[a, a + 3 * P, 0, RW]]);
    expect(obj.pieces).toBe(1);
  });

  it('keeps the changes made before a piece that fails with EACCES', () => {
    const { mf, mm, a } = setup();
    const ro = new FakeObject(mf, P);
    const b = a + 3 * P;
    const r = mm.mmap(ctx, sharedRW(ro, { addr: b, fixed: true, perms: PROT_READ, maxPerms: PROT_READ, writable: false }));
    expect(r).toEqual(E.right(b));
    expect(errno(mm.mprotect(ctx, a + P, 3 * P, RWX))).toBe('EACCES');
    expect(layout(mm)).toEqual([
      [a, a + P, 0, RW],
      [a + P, a + 3 * P, P, RWX],
      [b, b + P, 0, PROT_READ],
    ]);
  });

  it('gives ENOMEM when the start is unmapped or the range has a hole, keeping earlier changes', () => {
    const { mf, mm, a } = setup();
    expect(errno(mm.mprotect(ctx, a - P, 2 * P, PROT_READ))).toBe('ENOMEM');
    expect(layout(mm)).toEqual([[a, a + 3 * P, 0, RW]]);

    const other = new FakeObject(mf, P);
    const b = a + 4 * P;
    const r = mm.mmap(ctx, sharedRW(other, { addr: b, fixed: true }));
    expect(r).toEqual(E.right(b));
    expect(errno(mm.mprotect(ctx, a + 2 * P, 3 * P, PROT_READ))).toBe('ENOMEM');
    expect(layout(mm)).toEqual([
      [a, a + 2 * P, 0, RW],
      [a + 2 * P, a + 3 * P, 2 * P, PROT_READ],
      [b, b + P, 0, RW],
    ]);

    // A range running past the last mapping changes everything mapped, then fails.
    expect(errno(mm.mprotect(ctx, b, 2 * P, PROT_EXEC))).toBe('ENOMEM');
    expect(layout(mm)[2]).toEqual([b, b + P, 0, PROT_EXEC]);
  });

  it('checks arguments in Linux order', () => {
    const { mm, a } = setup();
    expect(errno(mm.mprotect(ctx, a + 1, P, PROT_READ))).toBe('EINVAL');
    // A zero length succeeds before prot is looked at.
    expect(mm.mprotect(ctx, a, 0, 0x100)).toEqual(E.right(undefined));
    expect(errno(mm.mprotect(ctx, a, P, 0x100))).toBe('EINVAL');
    expect(errno(mm.mprotect(ctx, a, -1, PROT_READ))).toBe('ENOMEM');
    expect(errno(mm.mprotect(ctx, 0x20000000, P, PROT_READ))).toBe('ENOMEM');
    expect(mm.vmaCount).toBe(1);
  });
});
