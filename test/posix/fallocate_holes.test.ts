/**
 * Fallocated pages of a tmpfs file, as Linux 6.18's shmem keeps them: not
 * uptodate until written or faulted in through a mapping, so SEEK_DATA,
 * SEEK_HOLE and mincore count them as holes, while they stay allocated and
 * charged. read() gives zeros and leaves them so; a later fallocate over
 * them makes them uptodate. Each expectation was measured on Linux 6.18
 * with a small C program (memfd, fallocate, mmap, mincore, lseek). A
 * checkpoint keeps the state; restore refuses a list naming pages the file
 * does not hold, with a Left naming the field.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from '../../src/abi/fs.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MemoryCgroup, PAGE_SIZE, PROT_READ, PROT_WRITE, SEEK_DATA, SEEK_HOLE } from '../../src/index.js';
import type { Kernel, Process } from '../../src/index.js';
import { edited, openImage, reseal } from '../checkpoint/reseal.js';
import { ok } from '../support/either.js';
import { bytes, smallKernel } from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: edits reach into decoded JSON by path
type Meta = any;

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;

/** What a page looks like to the calls: the mincore bit, and SEEK_DATA/SEEK_HOLE from its start in pages (-1 for ENXIO). */
function view(p: Process, fd: number, addr: number, pages: number): { mincore: number[]; data: number[]; hole: number[] } {
  const at = (whence: number, i: number): number => {
    const r = p.lseek(fd, i * P, whence);
    return E.isLeft(r) ? (r.left.errno === 'ENXIO' ? -1 : Number.NaN) : Number(r.right) / P;
  };
  const idx = [...Array(pages).keys()];
  return { mincore: Array.from(ok(p.mincore(addr, pages * P))), data: idx.map((i) => at(SEEK_DATA, i)), hole: idx.map((i) => at(SEEK_HOLE, i)) };
}

/** A memfd of `pages` pages, all fallocated, mapped with `flags`. */
function fallocated(pages: number, flags = MAP_SHARED, mode = 0): { kernel: Kernel; p: Process; fd: number; a: number; cg: MemoryCgroup } {
  const kernel = smallKernel();
  const cg = new MemoryCgroup('/box', BigInt(64 * P));
  const p = kernel.spawn({ memoryCharge: cg });
  const fd = ok(p.memfdCreate('f', 0));
  if (mode === FALLOC_FL_KEEP_SIZE) ok(p.ftruncate(fd, pages * P));
  ok(p.fallocate(fd, mode, 0, pages * P));
  const a = ok(p.mmap(fd, pages * P, RW, flags));
  return { kernel, p, fd, a, cg };
}

describe('fallocated pages are holes until written or faulted in', () => {
  for (const mode of [0, FALLOC_FL_KEEP_SIZE]) {
    it(`fallocate mode ${mode}: pwrite, a read fault and read() as Linux shows them`, () => {
      const { kernel, p, fd, a, cg } = fallocated(3, MAP_SHARED, mode);
      ok(p.ftruncate(fd, 4 * P));
      expect(view(p, fd, a, 3)).toEqual({ mincore: [0, 0, 0], data: [-1, -1, -1], hole: [0, 1, 2] });
      expect([ok(p.fstat(fd)).blocks, cg.usagePages]).toEqual([24, 3]);
      ok(p.pwrite(fd, bytes(7), P + 5));
      expect(view(p, fd, a, 3)).toEqual({ mincore: [0, 1, 0], data: [1, 1, -1], hole: [0, 2, 2] });
      expect(ok(p.read(a + 2 * P, 1))).toEqual(bytes(0));
      expect(view(p, fd, a, 3)).toEqual({ mincore: [0, 1, 1], data: [1, 1, 2], hole: [0, 3, 3] });
      // read() gives zeros without making page 0 uptodate.
      expect(ok(p.pread(fd, 10, 0))).toEqual(new Uint8Array(10));
      expect(view(p, fd, a, 3)).toEqual({ mincore: [0, 1, 1], data: [1, 1, 2], hole: [0, 3, 3] });
      // A second fallocate over a fallocated page makes it uptodate.
      ok(p.fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, P));
      expect(view(p, fd, a, 3)).toEqual({ mincore: [1, 1, 1], data: [0, 1, 2], hole: [3, 3, 3] });
      expect([ok(p.fstat(fd)).blocks, cg.usagePages]).toEqual([24, 3]);
      expect(E.isRight(checkInvariants(kernel))).toBe(true);
    });
  }

  it('a fault makes only its own page uptodate: fault-around skips fallocated pages', () => {
    for (const [flags, write] of [
      [MAP_SHARED, false],
      [MAP_SHARED, true],
      [MAP_PRIVATE, false],
      [MAP_PRIVATE, true],
    ] as const) {
      const { p, fd, a } = fallocated(6, flags);
      if (write) ok(p.write(a + P + 7, bytes(1)));
      else ok(p.read(a + P, 1));
      expect(view(p, fd, a, 6)).toEqual({ mincore: [0, 1, 0, 0, 0, 0], data: [1, 1, -1, -1, -1, -1], hole: [0, 2, 2, 3, 4, 5] });
      // Reading across the mapping faults each page in.
      ok(p.read(a, 6 * P));
      expect(view(p, fd, a, 6).mincore).toEqual([1, 1, 1, 1, 1, 1]);
    }
  });

  it('MAP_POPULATE faults every page in; mlock the pages it locks', () => {
    const { p, fd, a } = fallocated(6);
    ok(p.mlock(a + 3 * P, P));
    expect(view(p, fd, a, 6).mincore).toEqual([0, 0, 0, 1, 0, 0]);
    const b = ok(p.mmap(fd, 6 * P, PROT_READ, MAP_SHARED | MAP_POPULATE));
    expect(view(p, fd, b, 6)).toEqual({ mincore: [1, 1, 1, 1, 1, 1], data: [0, 1, 2, 3, 4, 5], hole: [6, 6, 6, 6, 6, 6] });
  });

  it('truncation and hole punching keep what is left as it was', () => {
    const { p, fd, a } = fallocated(6);
    ok(p.fallocate(fd, 0, 2 * P, 3 * P));
    expect(view(p, fd, a, 6)).toEqual({ mincore: [0, 0, 1, 1, 1, 0], data: [2, 2, 2, 3, 4, -1], hole: [0, 1, 5, 5, 5, 5] });
    // The partial last page stays fallocated.
    ok(p.ftruncate(fd, 5 * P + 10));
    expect(view(p, fd, a, 6)).toEqual({ mincore: [0, 0, 1, 1, 1, 0], data: [2, 2, 2, 3, 4, -1], hole: [0, 1, 5, 5, 5, 5] });
    ok(p.ftruncate(fd, 3 * P));
    ok(p.ftruncate(fd, 6 * P));
    expect(view(p, fd, a, 6)).toEqual({ mincore: [0, 0, 1, 0, 0, 0], data: [2, 2, 2, -1, -1, -1], hole: [0, 1, 3, 3, 4, 5] });
    // A punched page and a newly fallocated one in its place: fallocated again.
    ok(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * P, P));
    ok(p.fallocate(fd, 0, 2 * P, P));
    expect(view(p, fd, a, 6).mincore).toEqual([0, 0, 0, 0, 0, 0]);
    expect(ok(p.fstat(fd)).blocks).toBe(24);
  });
});

describe('checkpoint keeps fallocated pages', () => {
  function sample(): { kernel: Kernel; p: Process; fd: number; a: number } {
    const { kernel, p, fd, a } = fallocated(6);
    ok(p.pwrite(fd, bytes(1), 2 * P));
    ok(p.read(a + 4 * P, 1));
    return { kernel, p, fd, a };
  }

  it('the restored file shows the same holes, and checkpoints to the same bytes', () => {
    const s = sample();
    const before = view(s.p, s.fd, s.a, 6);
    expect(before.mincore).toEqual([0, 0, 1, 0, 1, 0]);
    const image = ok(checkpoint(s.kernel));
    const meta: Meta = openImage(image).meta;
    const file = meta.tmpfs.flatMap((t: Meta) => t.inodes).find((n: Meta) => n.fallocated !== undefined);
    expect(file.fallocated).toEqual([
      [0, 2],
      [3, 1],
      [5, 1],
    ]);
    const kernel = ok(restore(image));
    const p = kernel.processes().find((x) => x.pid === s.p.pid) as Process;
    expect(view(p, s.fd, s.a, 6)).toEqual(before);
    expect(ok(checkpoint(kernel))).toEqual(image);
    ok(p.pwrite(s.fd, bytes(1), 0));
    expect(view(p, s.fd, s.a, 6).mincore).toEqual([1, 0, 1, 0, 1, 0]);
  });

  it('an image of files without fallocated pages has no field for them', () => {
    const { kernel, p, fd } = fallocated(2);
    ok(p.pwrite(fd, new Uint8Array(2 * P).fill(1), 0));
    const meta: Meta = openImage(ok(checkpoint(kernel))).meta;
    expect(meta.tmpfs.flatMap((t: Meta) => t.inodes).some((n: Meta) => 'fallocated' in n)).toBe(false);
  });

  describe('restore refuses fallocated lists no calls could make, naming the field', () => {
    const s = sample();
    const opened = openImage(ok(checkpoint(s.kernel)));
    const meta: Meta = opened.meta;
    const T = meta.tmpfs.findIndex((t: Meta) => t.inodes.some((n: Meta) => n.fallocated !== undefined));
    const I = meta.tmpfs[T].inodes.findIndex((n: Meta) => n.fallocated !== undefined);
    const field = `metadata.tmpfs[${T}].inodes[${I}].fallocated`;

    function refusedAt(edit: (m: Meta) => void): string {
      const r = restore(reseal(opened, edited(meta, edit)));
      if (E.isRight(r)) throw new Error('the edited image was restored');
      return r.left.where;
    }

    it('the unedited image restores', () => {
      expect(E.isRight(restore(reseal(opened, meta)))).toBe(true);
    });

    it('a page the file does not hold', () => {
      expect(refusedAt((m) => (m.tmpfs[T].inodes[I].fallocated = [[6, 1]]))).toBe(`${field}[0]`);
      expect(refusedAt((m) => (m.tmpfs[T].inodes[I].fallocated = [[5, 2]]))).toBe(`${field}[0]`);
    });

    it('runs out of order, empty runs, an empty list, and a list on a directory', () => {
      expect(
        refusedAt(
          (m) =>
            (m.tmpfs[T].inodes[I].fallocated = [
              [3, 1],
              [0, 1],
            ]),
        ),
      ).toBe(`${field}[1]`);
      expect(refusedAt((m) => (m.tmpfs[T].inodes[I].fallocated = [[0, 0]]))).toBe(`${field}[0]`);
      expect(refusedAt((m) => (m.tmpfs[T].inodes[I].fallocated = []))).toBe(field);
      expect(refusedAt((m) => (m.tmpfs[T].inodes[0].fallocated = [[0, 1]]))).toBe(`metadata.tmpfs[${T}].inodes[0].fallocated`);
    });

    it('a list that is not runs of page numbers', () => {
      expect(refusedAt((m) => (m.tmpfs[T].inodes[I].fallocated = [[-1, 1]]))).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}`));
    });
  });
});
