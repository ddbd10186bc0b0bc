/**
 * Guard pages (MADV_GUARD_INSTALL, MADV_GUARD_REMOVE). Each answer was
 * measured on Linux 6.18 (examples/madvise-guard-*.scn run on both
 * backends); these tests pin the model's side, with what the scenarios
 * cannot show: frames, VMA pieces, the TLB fill, checkpoints.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import {
  IPC_CREAT,
  IPC_PRIVATE,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  O_CREAT,
  O_RDWR,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/index.js';
import type { Kernel, Process } from '../../src/index.js';
import { edited, openImage, reseal } from '../checkpoint/reseal.js';
import { errno, ok, signal } from '../support/either.js';
import { smallKernel } from './helpers.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON_PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS;

const byteAt = (p: Process, addr: number): number => ok(p.read(addr, 1))[0] as number;

/** The guard runs of `p`'s pieces meeting [addr, addr + len), in address order, as byte ranges. */
function guardsOf(p: Process, addr: number, len: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const v of p.mm.vmas()) {
    if (v.end <= addr || v.start >= addr + len || v.guards === undefined) continue;
    for (let i = 0; i < v.guards.length; i += 2) out.push([v.guards[i]! * P - addr, v.guards[i + 1]! * P - addr]);
  }
  return out;
}

describe('MADV_GUARD_INSTALL', () => {
  it('makes every access to the page SIGSEGV, frees its private page, and keeps the bytes before it on a crossing store', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, 4 * P, RW, ANON_PRIVATE));
    ok(p.fill(a, 4 * P, 7));
    const frames = k.memoryFile.allocatedFrames;
    const pieces = p.mm.vmaCount;
    ok(p.madvise(a + P, P, MADV_GUARD_INSTALL));
    expect(k.memoryFile.allocatedFrames).toBe(frames - 1);
    // No piece is cut: the marker is per page.
    expect(p.mm.vmaCount).toBe(pieces);
    expect(guardsOf(p, a, 4 * P)).toEqual([[P, 2 * P]]);
    expect([signal(p.read(a + P, 1)), signal(p.write(a + P + 9, Uint8Array.of(1))), signal(p.atomicLoad32(a + P))]).toEqual(['SIGSEGV', 'SIGSEGV', 'SIGSEGV']);
    const crossing = p.write(a + P - 3, Uint8Array.of(1, 2, 3, 4, 5));
    expect(E.isLeft(crossing) && crossing.left).toMatchObject({ signal: 'SIGSEGV', addr: a + P });
    expect([...ok(p.read(a + P - 3, 3))]).toEqual([1, 2, 3]);
    expect(signal(p.read(a, 2 * P))).toBe('SIGSEGV');
    expect(signal(p.fill(a + P - 1, 2, 0))).toBe('SIGSEGV');
    expect([byteAt(p, a + 2 * P), ...ok(p.mincore(a, 4 * P))]).toEqual([7, 1, 0, 1, 1]);
    expect([errno(p.madvise(a + P, P, MADV_POPULATE_READ)), errno(p.madvise(a, 4 * P, MADV_POPULATE_WRITE))]).toEqual(['EFAULT', 'EFAULT']);
    expect([errno(p.futexWait(a + P, 0, 1)), errno(p.futexWake(a + P + 8, 1))]).toEqual(['EFAULT', 'EFAULT']);
    // MADV_GUARD_REMOVE leaves a zero-filled page.
    ok(p.madvise(a, 4 * P, MADV_GUARD_REMOVE));
    expect(guardsOf(p, a, 4 * P)).toEqual([]);
    expect([byteAt(p, a + P), byteAt(p, a)]).toEqual([0, 7]);
    ok(p.exit());
    expect(k.memoryFile.allocatedFrames).toBe(0);
  });

  it("a shared mapping keeps its object's bytes; a private file mapping loses its copy", () => {
    const k = smallKernel();
    const p = k.spawn();
    const fd = ok(p.open('/f', O_RDWR | O_CREAT, 0o600));
    ok(p.ftruncate(fd, 2 * P));
    const s = ok(p.mmap(fd, 2 * P, RW, MAP_SHARED));
    ok(p.fill(s, 2 * P, 5));
    const q = ok(p.mmap(fd, 2 * P, RW, MAP_PRIVATE));
    ok(p.write(q, Uint8Array.of(9)));
    ok(p.madvise(s, P, MADV_GUARD_INSTALL));
    ok(p.madvise(q, P, MADV_GUARD_INSTALL));
    expect([signal(p.read(s, 1)), signal(p.read(q, 1)), byteAt(p, s + P)]).toEqual(['SIGSEGV', 'SIGSEGV', 5]);
    // Guards belong to the mapping: the file and the other mappings still show the page.
    expect([...ok(p.pread(fd, 1, 0n))]).toEqual([5]);
    ok(p.madvise(s, 2 * P, MADV_GUARD_REMOVE));
    ok(p.madvise(q, 2 * P, MADV_GUARD_REMOVE));
    expect([byteAt(p, s), byteAt(p, q)]).toEqual([5, 5]);
  });

  it('refuses hugetlb and (install only) locked mappings with EINVAL, after guarding the pieces before them', () => {
    const k = smallKernel();
    const p = k.spawn();
    const h = ok(p.mmap(-1, 2 * 1024 * 1024, RW, ANON_PRIVATE | MAP_HUGETLB | MAP_NORESERVE));
    expect([errno(p.madvise(h, P, MADV_GUARD_INSTALL)), errno(p.madvise(h, P, MADV_GUARD_REMOVE))]).toEqual(['EINVAL', 'EINVAL']);
    const a = ok(p.mmap(-1, 3 * P, RW, ANON_PRIVATE));
    ok(p.mlock(a + 2 * P, P));
    expect(errno(p.madvise(a, 3 * P, MADV_GUARD_INSTALL))).toBe('EINVAL');
    expect(guardsOf(p, a, 3 * P)).toEqual([[0, 2 * P]]);
    // Removal is allowed on a locked piece; mlock over a guard page is ENOMEM (its fault fails), the lock stays.
    expect(errno(p.mlock(a, 3 * P))).toBe('ENOMEM');
    expect(
      p.mm
        .vmas()
        .filter((v) => v.start >= a && v.start < a + 3 * P)
        .every((v) => v.locked),
    ).toBe(true);
    ok(p.madvise(a, 3 * P, MADV_GUARD_REMOVE));
    expect(byteAt(p, a)).toBe(0);
    // A System V attachment and PROT_NONE memory take guards.
    const id = ok(p.shmget(IPC_PRIVATE, P, IPC_CREAT | 0o600));
    const m = ok(p.shmat(id, 0, 0));
    ok(p.madvise(m, P, MADV_GUARD_INSTALL));
    const n = ok(p.mmap(-1, P, PROT_NONE, ANON_PRIVATE));
    ok(p.madvise(n, P, MADV_GUARD_INSTALL));
    ok(p.mprotect(n, P, PROT_READ));
    expect([signal(p.read(m, 1)), signal(p.read(n, 1))]).toEqual(['SIGSEGV', 'SIGSEGV']);
  });

  it('guards survive MADV_DONTNEED and mprotect splits, and go with munmap and MAP_FIXED', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, 6 * P, RW, ANON_PRIVATE));
    const pieces = p.mm.vmaCount;
    ok(p.madvise(a + P, 4 * P, MADV_GUARD_INSTALL));
    ok(p.madvise(a, 6 * P, MADV_DONTNEED));
    ok(p.mprotect(a + 2 * P, 2 * P, PROT_READ));
    expect(p.mm.vmaCount).toBe(pieces + 2);
    expect(guardsOf(p, a, 6 * P)).toEqual([
      [P, 2 * P],
      [2 * P, 4 * P],
      [4 * P, 5 * P],
    ]);
    ok(p.munmap(a + 3 * P, P));
    ok(p.mmap(-1, P, RW, ANON_PRIVATE | MAP_FIXED, 0n, a + 3 * P));
    ok(p.mmap(-1, P, RW, ANON_PRIVATE | MAP_FIXED, 0n, a + 4 * P));
    expect([byteAt(p, a + 3 * P), byteAt(p, a + 4 * P), signal(p.read(a + 2 * P, 1))]).toEqual([0, 0, 'SIGSEGV']);
    // A hole is ENOMEM once the mapped parts are guarded.
    ok(p.munmap(a, P));
    expect(errno(p.madvise(a, 6 * P, MADV_GUARD_INSTALL))).toBe('ENOMEM');
    expect(signal(p.read(a + 5 * P, 1))).toBe('SIGSEGV');
  });
});

describe('fork and guard pages', () => {
  it('the child inherits them, except over MADV_WIPEONFORK; MADV_DONTFORK leaves nothing', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    ok(p.fill(a, 2 * P, 3));
    ok(p.madvise(a, P, MADV_GUARD_INSTALL));
    const s = ok(p.mmap(-1, P, RW, MAP_SHARED | MAP_ANONYMOUS));
    ok(p.madvise(s, P, MADV_GUARD_INSTALL));
    const w = ok(p.mmap(-1, P, RW, ANON_PRIVATE));
    ok(p.madvise(w, P, MADV_GUARD_INSTALL));
    ok(p.madvise(w, P, MADV_WIPEONFORK));
    const d = ok(p.mmap(-1, P, RW, ANON_PRIVATE));
    ok(p.madvise(d, P, MADV_DONTFORK));
    const c = ok(p.fork());
    expect([signal(c.read(a, 1)), byteAt(c, a + P), signal(c.read(s, 1)), byteAt(c, w), signal(c.read(d, 1))]).toEqual(['SIGSEGV', 3, 'SIGSEGV', 0, 'SIGSEGV']);
    // Each side's guards are its own.
    ok(c.madvise(a, P, MADV_GUARD_REMOVE));
    expect([byteAt(c, a), signal(p.read(a, 1))]).toEqual([0, 'SIGSEGV']);
    // A parent's guard over a page it shares copy-on-write drops its reference only.
    const b = ok(p.mmap(-1, P, RW, ANON_PRIVATE));
    ok(p.fill(b, P, 8));
    const c2 = ok(p.fork());
    ok(p.madvise(b, P, MADV_GUARD_INSTALL));
    expect([byteAt(c2, b), signal(p.read(b, 1))]).toEqual([8, 'SIGSEGV']);
    ok(checkInvariants(k));
  });
});

describe('worker TLB fills', () => {
  it('a fill stops before a guard page and faults on one', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, 4 * P, RW, ANON_PRIVATE));
    ok(p.fill(a, 4 * P, 1));
    ok(p.madvise(a + 2 * P, P, MADV_GUARD_INSTALL));
    const fill = ok(p.mm.translateForTlb(a, 4 * P, false));
    expect(fill.runs.reduce((n, r) => n + r.pages, 0)).toBe(2);
    expect(signal(p.mm.translateForTlb(a + 2 * P + 8, 4, false))).toBe('SIGSEGV');
    expect(ok(p.mm.translateForTlb(a + 3 * P, 4, true)).runs[0]?.start).toBe(a + 3 * P);
  });
});

describe('checkpoint keeps guard pages', () => {
  function sample(): { kernel: Kernel; p: Process; a: number } {
    const kernel = smallKernel();
    const p = kernel.spawn();
    const a = ok(p.mmap(-1, 8 * P, RW, ANON_PRIVATE));
    ok(p.fill(a, 8 * P, 2));
    ok(p.madvise(a + P, P, MADV_GUARD_INSTALL));
    ok(p.madvise(a + 4 * P, 2 * P, MADV_GUARD_INSTALL));
    return { kernel, p, a };
  }

  it('a restored process faults where the original did, and its children too', () => {
    const { kernel, p, a } = sample();
    const k2 = ok(restore(ok(checkpoint(kernel))));
    ok(checkInvariants(k2));
    const p2 = k2.processes().find((x) => x.pid === p.pid) as Process;
    expect(guardsOf(p2, a, 8 * P)).toEqual([
      [P, 2 * P],
      [4 * P, 6 * P],
    ]);
    const c = ok(p2.fork());
    for (const q of [p2, c]) expect([signal(q.read(a + P, 1)), signal(q.read(a + 5 * P, 1)), byteAt(q, a + 3 * P)]).toEqual(['SIGSEGV', 'SIGSEGV', 2]);
  });

  describe('restore refuses guard runs no madvise could make', () => {
    const { kernel, p, a } = sample();
    const opened = openImage(ok(checkpoint(kernel)));
    // biome-ignore lint/suspicious/noExplicitAny: edits reach into decoded JSON
    const meta: any = opened.meta;
    const I = meta.processes.findIndex((x: { pid: number }) => x.pid === p.pid);
    const V = meta.processes[I].vmas.findIndex((v: { start: number }) => v.start === a);
    const at = `metadata.processes[${I}].vmas[${V}].guards`;
    // biome-ignore lint/suspicious/noExplicitAny: edits reach into decoded JSON
    const refusedAt = (edit: (m: any) => void): string => {
      const r = restore(reseal(opened, edited(meta, edit)));
      if (E.isRight(r)) throw new Error('the edited image was restored');
      return r.left.where;
    };

    it('the unedited image holds the runs counted from the VMA', () => {
      expect(meta.processes[I].vmas[V].guards).toEqual([
        [1, 1],
        [4, 2],
      ]);
      expect(E.isRight(restore(reseal(opened, meta)))).toBe(true);
    });

    it('an empty list, an empty run, runs out of order or touching, a run past the VMA', () => {
      expect(refusedAt((m) => (m.processes[I].vmas[V].guards = []))).toBe(at);
      expect(refusedAt((m) => (m.processes[I].vmas[V].guards = [[1, 0]]))).toBe(`${at}[0]`);
      expect(
        refusedAt(
          (m) =>
            (m.processes[I].vmas[V].guards = [
              [4, 1],
              [1, 1],
            ]),
        ),
      ).toBe(`${at}[1]`);
      expect(
        refusedAt(
          (m) =>
            (m.processes[I].vmas[V].guards = [
              [1, 1],
              [2, 1],
            ]),
        ),
      ).toBe(`${at}[1]`);
      expect(refusedAt((m) => (m.processes[I].vmas[V].guards = [[7, 2]]))).toBe(`${at}[0]`);
      expect(refusedAt((m) => (m.processes[I].vmas[V].guards = [[-1, 2]]))).toMatch(new RegExp(`^metadata\\.processes\\[${I}\\]\\.vmas\\[${V}\\]`));
    });
  });
});
