/**
 * Truncation and private file mappings: shmem_setattr zaps every mapping's
 * pages past the new end with unmap_mapping_range(..., even_cows=1), so a
 * MAP_PRIVATE mapping loses the copies it made by writing there. The page
 * holding the new end keeps its copy; a hole punch keeps every copy. Measured
 * on Linux 6.18 (examples/mmap-private-truncate.scn runs the same steps on
 * both backends).
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { ok } from '../support/either.js';
import { bytes, smallKernel } from './helpers.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;

const signal = (r: E.Either<{ signal: string }, unknown>): string => (E.isLeft(r) ? r.left.signal : 'ok');
const byteAt = (p: Process, addr: number): number => ok(p.read(addr, 1))[0] as number;

/** A memfd of four pages mapped MAP_PRIVATE, with private copies of pages 1 and 3 (bytes 0x11 and 0x33). */
function privateCopies(p: Process): { fd: number; m: number } {
  const fd = ok(p.memfdCreate('f', 0));
  ok(p.ftruncate(fd, 4 * P));
  const m = ok(p.mmap(fd, 4 * P, RW, MAP_PRIVATE, 0));
  ok(p.write(m + P, bytes(0x11)));
  ok(p.write(m + 3 * P, bytes(0x33)));
  return { fd, m };
}

describe('ftruncate discards private copies past the new end', () => {
  it('a copy wholly past the end goes: SIGBUS, then the file again once it grows', () => {
    const p = smallKernel().spawn();
    const { fd, m } = privateCopies(p);
    expect([...ok(p.mincore(m, 4 * P))]).toEqual([0, 1, 0, 1]);
    ok(p.ftruncate(fd, 2 * P + 1));
    // Page 2 holds the new end: still the file's. Page 3 is past it: its copy is gone.
    expect([...ok(p.mincore(m, 4 * P))]).toEqual([0, 1, 0, 0]);
    expect(signal(p.read(m + 3 * P, 1))).toBe('SIGBUS');
    expect(byteAt(p, m + P)).toBe(0x11);
    ok(p.ftruncate(fd, 4 * P));
    expect(byteAt(p, m + 3 * P)).toBe(0);
  });

  it('keeps the copy of the page holding the new end, and every copy on a hole punch', () => {
    const p = smallKernel().spawn();
    const { fd, m } = privateCopies(p);
    ok(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4 * P));
    expect([byteAt(p, m + P), byteAt(p, m + 3 * P)]).toEqual([0x11, 0x33]);
    ok(p.ftruncate(fd, 3 * P + 1));
    expect(byteAt(p, m + 3 * P)).toBe(0x33);
    ok(p.ftruncate(fd, 0));
    expect([signal(p.read(m, 1)), signal(p.read(m + P, 1)), signal(p.read(m + 3 * P, 1))]).toEqual(['SIGBUS', 'SIGBUS', 'SIGBUS']);
  });

  it('reaches a forked child’s copies, and the parent’s it still shares', () => {
    const p = smallKernel().spawn();
    const { fd, m } = privateCopies(p);
    const child = ok(p.fork());
    ok(child.write(m + 3 * P, bytes(0x44)));
    ok(child.ftruncate(fd, 2 * P));
    expect([signal(p.read(m + 3 * P, 1)), signal(child.read(m + 3 * P, 1))]).toEqual(['SIGBUS', 'SIGBUS']);
    expect([byteAt(p, m + P), byteAt(child, m + P)]).toEqual([0x11, 0x11]);
  });

  it('forgets a mapping once unmapped, and follows one through a checkpoint', () => {
    const kernel = smallKernel();
    const p = kernel.spawn();
    const { fd, m } = privateCopies(p);
    ok(p.munmap(m, 4 * P));
    ok(p.ftruncate(fd, 0));
    ok(p.ftruncate(fd, 4 * P));
    const m2 = ok(p.mmap(fd, 4 * P, RW, MAP_PRIVATE, 0));
    ok(p.write(m2 + 3 * P, bytes(0x55)));
    const restored = ok(restore(ok(checkpoint(kernel))));
    expect(checkInvariants(restored)).toEqual(E.right(undefined));
    const q = restored.processes().find((x) => x.pid === p.pid) as Process;
    ok(q.ftruncate(fd, P));
    expect(signal(q.read(m2 + 3 * P, 1))).toBe('SIGBUS');
    expect(byteAt(p, m2 + 3 * P)).toBe(0x55);
  });
});
