/**
 * Where the kernel places a hugetlbfs mapping (anonymous MAP_HUGETLB or a
 * MFD_HUGETLB memfd) that is not MAP_FIXED: on a huge page boundary, as
 * hugetlb_get_unmapped_area aligns it. A hint is rounded down to its page
 * and then up to the huge page size; measured on Linux 6.18 with
 * MAP_FIXED_NOREPLACE probes (2 MiB hinted at 0x10001000 lands at
 * 0x10200000, at 0x60000001 at 0x60000000). The emulator used to take the
 * hint's page as it was and place unhinted ones on any page.
 */
import { describe, expect, it } from 'vitest';
import { Kernel, MAP_ANONYMOUS, MAP_HUGETLB, MAP_NORESERVE, MAP_PRIVATE, MAP_SHARED, MFD_HUGETLB, PAGE_SIZE, PROT_READ } from '../../src/index.js';
import { ok } from '../support/either.js';

const MiB2 = 2 * 1024 * 1024;
const HUGE_ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE;

function spawn() {
  return new Kernel({ memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, hugePageSizes: [MiB2] }).spawn();
}

describe('hugetlbfs mappings the kernel places start on a huge page', () => {
  it('rounds a hint to its page, then up to the huge page size', () => {
    const p = spawn();
    expect(ok(p.mmap(-1, MiB2, PROT_READ, HUGE_ANON, 0, 0x1000_1000))).toBe(0x1020_0000);
    expect(ok(p.mmap(-1, MiB2, PROT_READ, HUGE_ANON, 0, 0x6000_0001))).toBe(0x6000_0000);
    expect(ok(p.mmap(-1, MiB2, PROT_READ, HUGE_ANON, 0, 0x7000_0800))).toBe(0x7000_0000);
    const m = ok(p.memfdCreate('h', MFD_HUGETLB));
    ok(p.ftruncate(m, 2 * MiB2));
    expect(ok(p.mmap(m, MiB2, PROT_READ, MAP_SHARED | MAP_NORESERVE, 0, 0x8000_1000))).toBe(0x8020_0000);
    expect(ok(p.mmap(m, MiB2, PROT_READ, MAP_SHARED | MAP_NORESERVE, 0, 0x9010_0000))).toBe(0x9020_0000);
    // A page-sized mapping's hint is only rounded down to its page.
    expect(ok(p.mmap(-1, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 0, 0xa000_0800))).toBe(0xa000_0000);
  });

  it('aligns a mapping placed without a hint, after a page-sized one', () => {
    const p = spawn();
    ok(p.mmap(-1, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS));
    const h = ok(p.mmap(-1, MiB2, PROT_READ, HUGE_ANON));
    expect(h % MiB2).toBe(0);
    const m = ok(p.memfdCreate('h', MFD_HUGETLB));
    ok(p.ftruncate(m, 2 * MiB2));
    expect(ok(p.mmap(m, 2 * MiB2, PROT_READ, MAP_SHARED | MAP_NORESERVE)) % MiB2).toBe(0);
  });
});
