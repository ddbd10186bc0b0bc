/**
 * Anonymous MAP_HUGETLB: mmap makes an unnamed hugetlbfs file of the length
 * rounded up to whole huge pages and maps it, on a kernel whose huge page
 * pools are empty (vm.nr_hugepages 0), as Linux 6.18 answered a scenario
 * run on both backends: EINVAL for a huge page size the kernel lacks,
 * ENOMEM without MAP_NORESERVE (nothing to reserve), a mapping with it
 * whose every touch is SIGBUS and whose pages are never resident; munmap
 * and mprotect inside a huge page are EINVAL. The file goes with the last
 * mapping, and a checkpoint keeps the mapping. mlock never marks it
 * locked (mlock_fixup leaves hugetlb alone) but still tries to fault it in.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import {
  Kernel,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGE_1GB,
  MAP_HUGE_2MB,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  MADV_COLD,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_PAGEOUT,
  MLOCK_ONFAULT,
  MS_INVALIDATE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok } from '../support/either.js';

const MiB2 = 2 * 1024 * 1024;
const RW = PROT_READ | PROT_WRITE;
const HUGE_ANON = MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE;

/** The signal an access ended in, or 'ok'. */
function signalOf(r: E.Either<{ readonly signal: string }, unknown>): string {
  return E.isLeft(r) ? r.left.signal : 'ok';
}

function twoMegKernel(): { kernel: Kernel; p: Process } {
  const kernel = new Kernel({ memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, hugePageSizes: [MiB2] });
  return { kernel, p: kernel.spawn() };
}

describe('anonymous MAP_HUGETLB with empty huge page pools', () => {
  it('needs a huge page size the kernel has, and MAP_NORESERVE', () => {
    const { p } = twoMegKernel();
    expect(errno(p.mmap(-1, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB))).toBe('ENOMEM');
    expect(errno(p.mmap(-1, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB))).toBe('ENOMEM');
    expect(errno(p.mmap(-1, PAGE_SIZE, RW, MAP_SHARED | HUGE_ANON | MAP_HUGE_1GB))).toBe('EINVAL');
    expect(errno(p.mmap(-1, PAGE_SIZE, RW, MAP_SHARED | HUGE_ANON | (25 << 26)))).toBe('EINVAL');
    expect(errno(p.mmap(-1, 0, RW, MAP_SHARED | HUGE_ANON))).toBe('EINVAL');
    expect(errno(p.mmap(-1, PAGE_SIZE, RW, MAP_SHARED | HUGE_ANON | MAP_HUGE_2MB))).toBe('ok');
  });

  it('maps whole huge pages that no touch can fault in', () => {
    const { kernel, p } = twoMegKernel();
    const used = kernel.memoryFile.allocatedFrames;
    const a = ok(p.mmap(-1, PAGE_SIZE, RW, MAP_PRIVATE | HUGE_ANON));
    expect(a % MiB2).toBe(0);
    expect(ok(p.mincore(a, MiB2))).toEqual(new Uint8Array(MiB2 / PAGE_SIZE));
    expect(signalOf(p.read(a, 1))).toBe('SIGBUS');
    expect(signalOf(p.write(a + MiB2 - 1, new Uint8Array([1])))).toBe('SIGBUS');
    expect(kernel.memoryFile.allocatedFrames).toBe(used);
    // The mapping is one huge page long: a small page inside it cannot be cut out.
    expect(errno(p.munmap(a, PAGE_SIZE))).toBe('EINVAL');
    expect(errno(p.mprotect(a, PAGE_SIZE, PROT_READ))).toBe('EINVAL');
    ok(p.mprotect(a, MiB2, PROT_READ));
    ok(p.munmap(a, MiB2));
  });

  it('is never locked: mlock and mlock2 fault it in (ENOMEM) and count nothing', () => {
    const p = twoMegKernel().kernel.spawn({ uid: 1000, gid: 1000 });
    ok(p.setMemlockLimit(BigInt(PAGE_SIZE)));
    const h = ok(p.mmap(-1, MiB2, RW, MAP_PRIVATE | HUGE_ANON));
    // The limit is checked on the length first, then the population fails; MLOCK_ONFAULT too,
    // since only a VM_LOCKONFAULT piece is passed over and a hugetlb piece never gets the flag.
    expect(errno(p.mlock(h, MiB2))).toBe('ENOMEM');
    expect(errno(p.mlock(h, PAGE_SIZE))).toBe('ENOMEM');
    expect(errno(p.mlock2(h, PAGE_SIZE, MLOCK_ONFAULT))).toBe('ENOMEM');
    // Nothing is locked: DONTNEED and MS_INVALIDATE take it, and the limit's one page is free.
    ok(p.madvise(h, MiB2, MADV_DONTNEED));
    ok(p.msync(h, MiB2, MS_INVALIDATE));
    const small = ok(p.mmap(-1, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    ok(p.mlock(small, PAGE_SIZE));
    expect(errno(p.madvise(small, PAGE_SIZE, MADV_DONTNEED))).toBe('EINVAL');
    ok(p.munlock(small, PAGE_SIZE));
    // MAP_LOCKED is checked against the limit (EAGAIN) but leaves a mapping that is not locked.
    expect(errno(p.mmap(-1, MiB2, PROT_READ, MAP_PRIVATE | HUGE_ANON | MAP_LOCKED))).toBe('EAGAIN');
    ok(p.setMemlockLimit(BigInt(MiB2)));
    const l = ok(p.mmap(-1, MiB2, PROT_READ, MAP_PRIVATE | HUGE_ANON | MAP_LOCKED));
    ok(p.madvise(l, MiB2, MADV_DONTNEED));
    ok(p.mlock(small, PAGE_SIZE));
  });

  it('an MLOCK_ONFAULT range over small pages and a hugetlb piece locks the small ones unfaulted', () => {
    const { p } = twoMegKernel();
    const h = ok(p.mmap(-1, MiB2, RW, MAP_PRIVATE | HUGE_ANON));
    const a = ok(p.mmap(-1, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0, h - 2 * PAGE_SIZE));
    expect(errno(p.mlock2(a, 2 * PAGE_SIZE + MiB2, MLOCK_ONFAULT))).toBe('ENOMEM');
    expect(ok(p.mincore(a, 2 * PAGE_SIZE))).toEqual(new Uint8Array(2));
    expect(errno(p.madvise(a, 2 * PAGE_SIZE, MADV_DONTNEED))).toBe('EINVAL');
    ok(p.madvise(h, MiB2, MADV_DONTNEED));
  });

  it('madvise: DONTNEED needs a huge page start, COLD and PAGEOUT refuse it', () => {
    const { p } = twoMegKernel();
    const h = ok(p.mmap(-1, 2 * MiB2, RW, MAP_SHARED | HUGE_ANON));
    // madvise_dontneed_free_valid_vma, as Linux 6.18 answered: the length is free, the start is not.
    ok(p.madvise(h, PAGE_SIZE, MADV_DONTNEED));
    ok(p.madvise(h + MiB2, PAGE_SIZE, MADV_DONTNEED_LOCKED));
    expect(errno(p.madvise(h + PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED))).toBe('EINVAL');
    expect(errno(p.madvise(h + MiB2 - PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTNEED_LOCKED))).toBe('EINVAL');
    // can_madv_lru_vma refuses hugetlb memory as it refuses locked memory.
    expect(errno(p.madvise(h, MiB2, MADV_COLD))).toBe('EINVAL');
    expect(errno(p.madvise(h + PAGE_SIZE, PAGE_SIZE, MADV_PAGEOUT))).toBe('EINVAL');
    const a = ok(p.mmap(-1, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    ok(p.madvise(a, PAGE_SIZE, MADV_COLD));
    ok(p.madvise(a, PAGE_SIZE, MADV_PAGEOUT));
  });

  it('places MAP_FIXED on a huge page boundary only', () => {
    const { p } = twoMegKernel();
    expect(errno(p.mmap(-1, PAGE_SIZE, RW, MAP_PRIVATE | HUGE_ANON | MAP_FIXED, 0, 0x40001000))).toBe('EINVAL');
    expect(ok(p.mmap(-1, PAGE_SIZE, RW, MAP_PRIVATE | HUGE_ANON | MAP_FIXED, 0, 0x40000000))).toBe(0x40000000);
  });

  it('a child inherits it, and a checkpoint keeps it', () => {
    const { kernel, p } = twoMegKernel();
    const a = ok(p.mmap(-1, 3 * MiB2, RW, MAP_SHARED | HUGE_ANON));
    const child = ok(p.fork());
    expect(signalOf(child.read(a + 2 * MiB2, 1))).toBe('SIGBUS');
    const restored = ok(restore(ok(checkpoint(kernel))));
    const q = restored.processes().find((x) => x.pid === p.pid) as Process;
    expect(ok(q.mincore(a, 3 * MiB2)).every((b) => b === 0)).toBe(true);
    expect(signalOf(q.read(a, 1))).toBe('SIGBUS');
    expect(errno(q.munmap(a + PAGE_SIZE, PAGE_SIZE))).toBe('EINVAL');
    ok(q.munmap(a, 3 * MiB2));
  });
});
