/**
 * Choosing where a new mapping goes: Linux's get_unmapped_area for x86-64,
 * fixed and top-down.
 */

import * as E from 'fp-ts/lib/Either.js';
import { MMAP_MIN_ADDR, PAGE_SIZE, TASK_SIZE } from '../abi/constants.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import type { VmaSet } from './vma.js';

/** PAGE_ALIGN, for lengths already known to be non-negative safe integers. */
export function pageAlign(len: number): number {
  return Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
}

/** True when `addr` is an integer multiple of the page size; no `%` (why: see "Hot paths" in docs/architecture.md). */
export function isPageAligned(addr: number): boolean {
  return Number.isSafeInteger(addr) && Math.floor(addr / PAGE_SIZE) * PAGE_SIZE === addr;
}

/** What a fixed placement needs to know about the mmap call. */
export interface FixedRequest {
  readonly addr?: number;
  readonly replace?: boolean;
  readonly mayMapBelowMinAddr?: boolean;
  /** The mapped object's page size when above PAGE_SIZE (hugetlb): a fixed address must be a multiple of it. */
  readonly alignment?: number;
}

/**
 * Validates a MAP_FIXED address for `len` page-aligned bytes, in the order of
 * __get_unmapped_area and then do_mmap: ENOMEM when the range passes
 * TASK_SIZE, EINVAL when unaligned, EPERM below vm.mmap_min_addr without
 * CAP_SYS_RAWIO (security_mmap_addr; with it even page 0 may be mapped), and
 * EEXIST when it overlaps a mapping and may not replace it
 * (MAP_FIXED_NOREPLACE).
 * Preconditions: the owner's mappingMu is held.
 */
export function fixedAddress(vmas: VmaSet, req: FixedRequest, len: number): E.Either<SysError, number> {
  const addr = req.addr ?? 0;
  // The file's get_area runs first: hugetlb refuses an unaligned fixed
  // address (prepare_hugepage_range) before the range is checked.
  const align = req.alignment ?? PAGE_SIZE;
  if (align > PAGE_SIZE && addr % align !== 0) {
    return E.left(sysError('EINVAL', `mmap fixed address ${addr} is not aligned to the ${align}-byte pages of the object`));
  }
  if (!(addr >= 0) || addr > TASK_SIZE - len) {
    return E.left(sysError('ENOMEM', `mmap range at ${addr} reaches past TASK_SIZE`));
  }
  if (!isPageAligned(addr)) {
    return E.left(sysError('EINVAL', `mmap fixed address ${addr} is not page aligned`));
  }
  if (addr < MMAP_MIN_ADDR && req.mayMapBelowMinAddr !== true) {
    return E.left(sysError('EPERM', `mapping at ${addr}, below vm.mmap_min_addr, needs CAP_SYS_RAWIO`));
  }
  if (req.replace !== true && vmas.intersects(addr, addr + len)) {
    return E.left(sysError('EEXIST', `[${addr}, ${addr + len}) overlaps an existing mapping`));
  }
  return E.right(addr);
}

/** The lowest address top-down placement may use: vm.mmap_min_addr, page aligned, and never page 0. */
const LOWEST_TOP_DOWN = Math.max(PAGE_SIZE, pageAlign(MMAP_MIN_ADDR));

/**
 * do_mmap's length rule: a length is mapped when it is positive and at most
 * TASK_SIZE; otherwise badMmapLength gives the error.
 */
export function mmapLengthFits(length: number): boolean {
  return length > 0 && length <= TASK_SIZE;
}

/** The error of a length mmapLengthFits refused: 0 or NaN is EINVAL; the rest (a negative one is a huge size_t) is ENOMEM. */
export function badMmapLength(length: number): E.Either<SysError, never> {
  return length === 0 || Number.isNaN(length)
    ? E.left(sysError('EINVAL', `mmap length ${length} is not a positive byte count`))
    : E.left(sysError('ENOMEM', `mmap length ${length} exceeds the user address space`));
}

/**
 * Picks an address for `len` page-aligned bytes of a non-fixed mapping, as
 * x86-64's arch_get_unmapped_area_topdown: the hint (rounded down to its
 * page, or up to an `alignment` above PAGE_SIZE) when that range is free, else the highest gap below the mmap
 * base that fits, rounded up to `alignment`; -1 when none does (the caller
 * returns noFreeRange). (round_hint_to_min never fires here: with
 * mmap_min_addr one page, every non-zero page-aligned hint is above it.)
 * Preconditions: the owner's mappingMu is held.
 */
export function unmappedArea(vmas: VmaSet, hint: number, len: number, alignment: number): number {
  // shmat's call (no hint, page alignment) is the gap search alone; the rest
  // is out of line (a hot path: see "Hot paths" in docs/architecture.md).
  return hint === 0 && alignment === PAGE_SIZE ? vmas.topDownGap(len, LOWEST_TOP_DOWN) : hintedOrAlignedArea(vmas, hint, len, alignment);
}

/** unmappedArea with a hint or an alignment above PAGE_SIZE (hugetlb). */
function hintedOrAlignedArea(vmas: VmaSet, hint: number, len: number, alignment: number): number {
  // A hint is rounded down to its page (addr &= PAGE_MASK), and for a hugetlbfs mapping then up to the
  // huge page size (hugetlb_get_unmapped_area's ALIGN): on Linux 6.18 a 2 MiB mapping hinted at
  // 0x60000001 lands at 0x60000000, one hinted at 0x80001000 at 0x80200000.
  const page = Number.isSafeInteger(hint) && hint > 0 ? hint - (hint % PAGE_SIZE) : 0;
  const hinted = alignment > PAGE_SIZE ? Math.ceil(page / alignment) * alignment : page;
  if (hinted !== 0 && hinted <= TASK_SIZE - len && !vmas.intersectsWithGap(hinted, hinted + len)) return hinted;
  // An aligned placement asks for enough slack to round the start up to the alignment.
  const window = len + alignment - PAGE_SIZE;
  const gap = vmas.topDownGap(window, LOWEST_TOP_DOWN);
  if (gap < 0) return gap;
  // A gap start is a VMA boundary, so page aligned already: only a larger alignment rounds.
  const addr = Math.ceil(gap / alignment) * alignment;
  // The window's slack below and above the mapping stays free: the next search must see it.
  vmas.noteFree(gap, addr);
  vmas.noteFree(addr + len, gap + window);
  return addr;
}

/** The ENOMEM of a placement that found no gap. */
export function noFreeRange(len: number): E.Either<SysError, never> {
  return E.left(sysError('ENOMEM', `no free range of ${len} bytes below the mmap base`));
}
