/**
 * madvise's fork flags (MADV_DONTFORK/DOFORK: VM_DONTCOPY;
 * MADV_WIPEONFORK/KEEPONFORK: VM_WIPEONFORK) and the other flags advice
 * sets (read-ahead, THP, VM_DONTDUMP), MADV_POPULATE_READ/WRITE,
 * and MAP_NORESERVE mappings of a hugetlbfs memfd. Each answer was measured
 * on Linux 6.18 (examples/madvise-dontfork.scn, madvise-wipeonfork.scn,
 * madvise-populate.scn and memfd-hugetlb-noreserve.scn run on both
 * backends); these tests pin the model's side, with what the scenarios
 * cannot show: frames, VMA flags, vm.max_map_count, checkpoints.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import {
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_STAT,
  Kernel,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_HUGEPAGE,
  MADV_KEEPONFORK,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_HUGETLB,
  O_CREAT,
  O_RDWR,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  formatTraceEvent,
} from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { edited, openImage, reseal } from '../checkpoint/reseal.js';
import { errno, ok, signal } from '../support/either.js';
import { bytes, smallKernel } from './helpers.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON_PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS;
const MiB2 = 2 * 1024 * 1024;

const byteAt = (p: Process, addr: number): number => ok(p.read(addr, 1))[0] as number;

/** The VMA flags of `p`'s pieces in [addr, addr + len), in address order. */
function flagsOf(p: Process, addr: number, len: number): { start: number; end: number; dontCopy: boolean; wipeOnFork: boolean }[] {
  return p.mm
    .vmas()
    .filter((v) => v.end > addr && v.start < addr + len)
    .map((v) => ({ start: v.start, end: v.end, dontCopy: v.dontCopy, wipeOnFork: v.wipeOnFork }));
}

describe('MADV_DONTFORK and MADV_DOFORK', () => {
  it('cut the mapping, and fork leaves the piece out of the child only', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, 3 * P, RW, ANON_PRIVATE));
    ok(p.fill(a, 3 * P, 7));
    ok(p.madvise(a + P, P, MADV_DONTFORK));
    expect(flagsOf(p, a, 3 * P).map((v) => v.dontCopy)).toEqual([false, true, false]);
    // Advising again changes nothing and cuts nothing.
    ok(p.madvise(a + P, P, MADV_DONTFORK));
    expect(flagsOf(p, a, 3 * P)).toHaveLength(3);
    const c = ok(p.fork());
    expect(signal(c.read(a + P, 1))).toBe('SIGSEGV');
    expect([byteAt(c, a), byteAt(c, a + 2 * P), byteAt(p, a + P)]).toEqual([7, 7, 7]);
    expect(c.mm.vmaCount).toBe(p.mm.vmaCount - 1);
    ok(p.madvise(a, 3 * P, MADV_DOFORK));
    expect(flagsOf(p, a, 3 * P).every((v) => !v.dontCopy)).toBe(true);
    const d = ok(p.fork());
    expect(byteAt(d, a + P)).toBe(7);
    for (const q of [c, d, p]) ok(q.exit());
    expect(k.memoryFile.allocatedFrames).toBe(0);
  });

  it('a System V attachment the child does not get is not counted in nattch', () => {
    const k = smallKernel();
    const p = k.spawn();
    const id = ok(p.shmget(IPC_PRIVATE, 2 * P, IPC_CREAT | 0o600));
    const s = ok(p.shmat(id, 0, 0));
    ok(p.madvise(s + P, P, MADV_DONTFORK));
    const nattch = (): number => Number(ok(p.shmctl(id, IPC_STAT)).ds?.nattch);
    expect(flagsOf(p, s, 2 * P).map((v) => v.dontCopy)).toEqual([false, true]);
    const before = nattch();
    const c = ok(p.fork());
    expect(flagsOf(c, s, 2 * P)).toEqual([{ start: s, end: s + P, dontCopy: false, wipeOnFork: false }]);
    expect(nattch()).toBe(before + 1);
    ok(c.exit());
    ok(p.exit());
  });

  it('a hole is ENOMEM after the mapped part was advised; an unaligned start is EINVAL', () => {
    const p = smallKernel().spawn();
    const a = ok(p.mmap(-1, 3 * P, RW, ANON_PRIVATE));
    ok(p.munmap(a + P, P));
    expect(errno(p.madvise(a, 3 * P, MADV_DONTFORK))).toBe('ENOMEM');
    expect(flagsOf(p, a, 3 * P).map((v) => v.dontCopy)).toEqual([true, true]);
    expect(errno(p.madvise(a + 1, P, MADV_DOFORK))).toBe('EINVAL');
    expect(errno(p.madvise(a, 0, MADV_DOFORK))).toBe('ok');
  });

  it('a split at vm.max_map_count is EAGAIN, as madvise reports split_vma ENOMEM', () => {
    const k = new Kernel({ memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, maxMapCount: 1 });
    const p = k.spawn();
    const a = ok(p.mmap(-1, 3 * P, RW, ANON_PRIVATE));
    expect(errno(p.madvise(a + P, P, MADV_DONTFORK))).toBe('EAGAIN');
    // The whole mapping needs no split.
    ok(p.madvise(a, 3 * P, MADV_DONTFORK));
    expect(flagsOf(p, a, 3 * P)).toEqual([{ start: a, end: a + 3 * P, dontCopy: true, wipeOnFork: false }]);
  });
});

describe('MADV_WIPEONFORK and MADV_KEEPONFORK', () => {
  it('the child gets zeroed memory, keeps the flag for its own children, and the parent keeps its data', () => {
    const k = smallKernel();
    const p = k.spawn();
    const w = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    ok(p.fill(w, 2 * P, 9));
    ok(p.madvise(w, P, MADV_WIPEONFORK));
    const frames = k.memoryFile.allocatedFrames;
    const c = ok(p.fork());
    expect(k.memoryFile.allocatedFrames).toBe(frames);
    expect([byteAt(c, w), byteAt(c, w + P), byteAt(p, w)]).toEqual([0, 9, 9]);
    expect(flagsOf(c, w, 2 * P).map((v) => v.wipeOnFork)).toEqual([true, false]);
    ok(c.write(w, bytes(1, 2, 3)));
    expect(byteAt(p, w)).toBe(9);
    const g = ok(c.fork());
    expect(byteAt(g, w)).toBe(0);
    ok(c.madvise(w, P, MADV_KEEPONFORK));
    const h = ok(c.fork());
    expect(byteAt(h, w + 2)).toBe(3);
    for (const q of [g, h, c, p]) ok(q.exit());
    expect(k.memoryFile.allocatedFrames).toBe(0);
  });

  it('only private anonymous memory takes the flag; KEEPONFORK takes anything', () => {
    const p = smallKernel().spawn();
    const n = ok(p.mmap(-1, P, PROT_NONE, ANON_PRIVATE));
    expect(errno(p.madvise(n, P, MADV_WIPEONFORK))).toBe('ok');
    const s = ok(p.mmap(-1, P, RW, MAP_SHARED | MAP_ANONYMOUS));
    expect(errno(p.madvise(s, P, MADV_WIPEONFORK))).toBe('EINVAL');
    expect(errno(p.madvise(s, P, MADV_KEEPONFORK))).toBe('ok');
    const fd = ok(p.memfdCreate('f', 0));
    ok(p.ftruncate(fd, P));
    const fp = ok(p.mmap(fd, P, RW, MAP_PRIVATE));
    expect(errno(p.madvise(fp, P, MADV_WIPEONFORK))).toBe('EINVAL');
    const id = ok(p.shmget(IPC_PRIVATE, P, IPC_CREAT | 0o600));
    const m = ok(p.shmat(id, 0, 0));
    expect(errno(p.madvise(m, P, MADV_WIPEONFORK))).toBe('EINVAL');
    expect(flagsOf(p, 0, 2 ** 47).filter((v) => v.wipeOnFork)).toEqual([{ start: n, end: n + P, dontCopy: false, wipeOnFork: true }]);
  });
});

describe('the read-ahead, huge page and dump advice', () => {
  type Hints = { seqRead: boolean; randRead: boolean; hugePage: boolean; noHugePage: boolean; dontDump: boolean };
  const hintsOf = (p: Process, addr: number, len: number): Hints[] =>
    p.mm
      .vmas()
      .filter((v) => v.end > addr && v.start < addr + len)
      .map((v) => ({ seqRead: v.seqRead, randRead: v.randRead, hugePage: v.hugePage, noHugePage: v.noHugePage, dontDump: v.dontDump }));
  const none: Hints = { seqRead: false, randRead: false, hugePage: false, noHugePage: false, dontDump: false };

  it('set VMA flags, cutting the mapping only where a flag changes', () => {
    const kernel = smallKernel();
    const p = kernel.spawn();
    const a = ok(p.mmap(-1, 3 * P, RW, ANON_PRIVATE));
    const vmas = p.mm.vmaCount;
    ok(p.madvise(a, 3 * P, MADV_NORMAL));
    ok(p.madvise(a + P, P, MADV_WILLNEED));
    expect(p.mm.vmaCount).toBe(vmas);
    ok(p.madvise(a + P, P, MADV_SEQUENTIAL));
    expect(p.mm.vmaCount).toBe(vmas + 2);
    expect(hintsOf(p, a, 3 * P)).toEqual([none, { ...none, seqRead: true }, none]);
    ok(p.madvise(a + P, P, MADV_RANDOM));
    ok(p.madvise(a + P, P, MADV_HUGEPAGE));
    ok(p.madvise(a + P, P, MADV_DONTDUMP));
    expect(hintsOf(p, a + P, P)).toEqual([{ ...none, randRead: true, hugePage: true, dontDump: true }]);
    ok(p.madvise(a + P, P, MADV_NOHUGEPAGE));
    ok(p.madvise(a + P, P, MADV_DODUMP));
    ok(p.madvise(a + P, P, MADV_NORMAL));
    expect(hintsOf(p, a + P, P)).toEqual([{ ...none, noHugePage: true }]);
    expect(p.mm.vmaCount).toBe(vmas + 2);
    // A fork child's pieces keep them; a checkpoint keeps them.
    expect(hintsOf(ok(p.fork()), a + P, P)).toEqual([{ ...none, noHugePage: true }]);
    const k2 = ok(restore(ok(checkpoint(kernel))));
    ok(checkInvariants(k2));
    const p2 = k2.processes().find((x) => x.pid === p.pid) as Process;
    expect(hintsOf(p2, a + P, P)).toEqual([{ ...none, noHugePage: true }]);
  });

  it('a change that needs a split is EAGAIN at vm.max_map_count; one that changes nothing is fine', () => {
    const k = new Kernel({ memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, maxMapCount: 1 });
    const p = k.spawn();
    const a = ok(p.mmap(-1, 3 * P, RW, ANON_PRIVATE));
    expect(errno(p.madvise(a + P, P, MADV_SEQUENTIAL))).toBe('EAGAIN');
    ok(p.madvise(a + P, P, MADV_NORMAL));
    ok(p.madvise(a, 3 * P, MADV_SEQUENTIAL));
    ok(p.madvise(a + P, P, MADV_SEQUENTIAL));
  });

  it('in hugetlb memory a change is EINVAL inside a huge page, as Linux 6.18 answered', () => {
    const k = new Kernel({ memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, hugePageSizes: [MiB2] });
    const p = k.spawn();
    const h = ok(p.mmap(-1, 2 * MiB2, RW, ANON_PRIVATE | MAP_HUGETLB | MAP_NORESERVE));
    expect(errno(p.madvise(h + P, P, MADV_RANDOM))).toBe('EINVAL');
    ok(p.madvise(h, MiB2, MADV_RANDOM));
    // The first huge page has the flag now: nothing changes inside it, the second still refuses.
    ok(p.madvise(h + P, P, MADV_RANDOM));
    expect(errno(p.madvise(h + MiB2 + P, P, MADV_RANDOM))).toBe('EINVAL');
    for (const advice of [MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP]) expect(errno(p.madvise(h + MiB2 + P, P, advice))).toBe('EINVAL');
    for (const advice of [MADV_NORMAL, MADV_DODUMP, MADV_WILLNEED]) ok(p.madvise(h + MiB2 + P, P, advice));
  });
});

describe('MADV_POPULATE_READ and MADV_POPULATE_WRITE', () => {
  it('fault pages in; a write breaks copy-on-write', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, 3 * P, RW, ANON_PRIVATE));
    ok(p.madvise(a, P, MADV_POPULATE_READ));
    // A read fault maps the zero page: resident, nothing allocated.
    expect(k.memoryFile.allocatedFrames).toBe(0);
    ok(p.madvise(a + P, P, MADV_POPULATE_WRITE));
    expect(k.memoryFile.allocatedFrames).toBe(1);
    expect(Array.from(ok(p.mincore(a, 3 * P)))).toEqual([1, 1, 0]);
    ok(p.write(a + P, bytes(5)));
    const c = ok(p.fork());
    const shared = k.memoryFile.allocatedFrames;
    ok(c.madvise(a + P, P, MADV_POPULATE_READ));
    expect(k.memoryFile.allocatedFrames).toBe(shared);
    ok(c.madvise(a + P, P, MADV_POPULATE_WRITE));
    expect(k.memoryFile.allocatedFrames).toBe(shared + 1);
    expect([byteAt(c, a + P), byteAt(p, a + P)]).toEqual([5, 5]);
  });

  it('EINVAL for access the mapping lacks, ENOMEM at a hole, EFAULT past the end of a file; earlier pages stay in', () => {
    const p = smallKernel().spawn();
    const q = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    ok(p.mprotect(q + P, P, PROT_NONE));
    expect(errno(p.madvise(q, 2 * P, MADV_POPULATE_WRITE))).toBe('EINVAL');
    expect(Array.from(ok(p.mincore(q, 2 * P)))).toEqual([1, 0]);
    const wo = ok(p.mmap(-1, P, PROT_WRITE, ANON_PRIVATE));
    expect(errno(p.madvise(wo, P, MADV_POPULATE_READ))).toBe('EINVAL');
    expect(errno(p.madvise(wo, P, MADV_POPULATE_WRITE))).toBe('ok');
    const ro = ok(p.mmap(-1, P, PROT_READ, ANON_PRIVATE));
    expect(errno(p.madvise(ro, P, MADV_POPULATE_WRITE))).toBe('EINVAL');
    ok(p.munmap(q, P));
    expect(errno(p.madvise(q, 2 * P, MADV_POPULATE_READ))).toBe('ENOMEM');
    ok(p.mkdir('/t', 0o755));
    const fd = ok(p.open('/t/f', O_RDWR | O_CREAT, 0o600));
    ok(p.ftruncate(fd, P));
    const m = ok(p.mmap(fd, 2 * P, RW, MAP_SHARED));
    expect(errno(p.madvise(m, 2 * P, MADV_POPULATE_READ))).toBe('EFAULT');
    expect(Array.from(ok(p.mincore(m, P)))).toEqual([1]);
  });
});

describe('MAP_NORESERVE on a hugetlbfs memfd', () => {
  it('maps without a reservation; every touch is SIGBUS and splits stay on huge pages', () => {
    const k = new Kernel({ memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, hugePageSizes: [MiB2] });
    const p = k.spawn();
    const h = ok(p.memfdCreate('h', MFD_HUGETLB));
    ok(p.ftruncate(h, 2 * MiB2));
    expect(errno(p.mmap(h, 2 * MiB2, RW, MAP_SHARED))).toBe('ENOMEM');
    const m = ok(p.mmap(h, 2 * MiB2, RW, MAP_SHARED | MAP_NORESERVE));
    const pr = ok(p.mmap(h, P, RW, MAP_PRIVATE | MAP_NORESERVE));
    expect(m % MiB2).toBe(0);
    expect([signal(p.read(m, 1)), signal(p.write(m, bytes(1))), signal(p.write(pr, bytes(1)))]).toEqual(['SIGBUS', 'SIGBUS', 'SIGBUS']);
    expect(errno(p.madvise(m, P, MADV_POPULATE_READ))).toBe('EFAULT');
    expect(errno(p.munmap(m, P))).toBe('EINVAL');
    expect(errno(p.munmap(pr + MiB2 - P, P))).toBe('EINVAL');
    expect(errno(p.madvise(m, P, MADV_DONTFORK))).toBe('EINVAL');
    ok(p.madvise(m, MiB2, MADV_DONTFORK));
    expect(k.memoryFile.allocatedFrames).toBe(0);
    ok(p.munmap(m, 2 * MiB2));
    ok(p.munmap(pr, MiB2));
  });
});

describe('the trace', () => {
  it('names the advice as strace does', () => {
    const k = smallKernel();
    const p = k.spawn();
    const a = ok(p.mmap(-1, P, RW, ANON_PRIVATE));
    const lines: string[] = [];
    const stop = k.onTrace((e) => {
      if (e.kind === 'syscall') lines.push(formatTraceEvent(e));
    });
    ok(p.madvise(a, P, MADV_WIPEONFORK));
    expect(errno(p.madvise(a, P, 999))).toBe('EINVAL');
    stop();
    expect(lines[0]).toMatch(/^\d+ madvise\(0x[0-9a-f]+, 4096, MADV_WIPEONFORK\) = 0$/);
    expect(lines[1]).toMatch(/^\d+ madvise\(0x[0-9a-f]+, 4096, 999\) = -1 EINVAL/);
  });
});

describe('checkpoint keeps VM_DONTCOPY and VM_WIPEONFORK', () => {
  function sample(): { kernel: Kernel; p: Process; a: number; w: number; s: number } {
    const kernel = smallKernel();
    const p = kernel.spawn();
    const a = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    ok(p.fill(a, 2 * P, 4));
    ok(p.madvise(a, P, MADV_DONTFORK));
    const w = ok(p.mmap(-1, P, RW, ANON_PRIVATE));
    ok(p.fill(w, P, 6));
    ok(p.madvise(w, P, MADV_WIPEONFORK));
    const s = ok(p.mmap(-1, P, RW, MAP_SHARED | MAP_ANONYMOUS));
    return { kernel, p, a, w, s };
  }

  it('a restored process forks as the original would', () => {
    const { kernel, p, a, w } = sample();
    const k2 = ok(restore(ok(checkpoint(kernel))));
    ok(checkInvariants(k2));
    const p2 = k2.processes().find((x) => x.pid === p.pid) as Process;
    expect(flagsOf(p2, a, 2 * P).map((v) => v.dontCopy)).toEqual([true, false]);
    expect(flagsOf(p2, w, P).map((v) => v.wipeOnFork)).toEqual([true]);
    const c = ok(p2.fork());
    expect([signal(c.read(a, 1)), byteAt(c, a + P), byteAt(c, w), byteAt(p2, w)]).toEqual(['SIGSEGV', 4, 0, 6]);
  });

  describe('restore refuses flags no madvise could set', () => {
    const { kernel, p, w, s } = sample();
    const opened = openImage(ok(checkpoint(kernel)));
    // biome-ignore lint/suspicious/noExplicitAny: edits reach into decoded JSON
    const meta: any = opened.meta;
    const I = meta.processes.findIndex((x: { pid: number }) => x.pid === p.pid);
    const vmas: { start: number; object: { kind: string } }[] = meta.processes[I].vmas;
    const W = vmas.findIndex((v) => v.start === w);
    const S = vmas.findIndex((v) => v.start === s);
    // biome-ignore lint/suspicious/noExplicitAny: edits reach into decoded JSON
    const refusedAt = (edit: (m: any) => void): string => {
      const r = restore(reseal(opened, edited(meta, edit)));
      if (E.isRight(r)) throw new Error('the edited image was restored');
      return r.left.where;
    };

    it('the unedited image restores, with the flags written as true only', () => {
      expect(E.isRight(restore(reseal(opened, meta)))).toBe(true);
      expect(meta.processes[I].vmas[W].wipeOnFork).toBe(true);
      expect(meta.processes[I].vmas[S].wipeOnFork).toBeUndefined();
    });

    it('VM_WIPEONFORK on a shared mapping', () => {
      expect(vmas[S]?.object.kind).toBe('file');
      expect(refusedAt((m) => (m.processes[I].vmas[S].wipeOnFork = true))).toBe(`metadata.processes[${I}].vmas[${S}].wipeOnFork`);
    });

    it('a flag that is not the literal true', () => {
      expect(refusedAt((m) => (m.processes[I].vmas[W].wipeOnFork = false))).toMatch(new RegExp(`^metadata\\.processes\\[${I}\\]\\.vmas\\[${W}\\]`));
      expect(refusedAt((m) => (m.processes[I].vmas[W].dontCopy = 1))).toMatch(new RegExp(`^metadata\\.processes\\[${I}\\]\\.vmas\\[${W}\\]`));
    });
  });
});
