/**
 * shmdt's search for the pieces of one attachment, after Linux's ksys_shmdt
 * (ipc/shm.c). This is the one place mm must recognise System V shm: it does
 * so through the ShmMappable marker in memmap.ts instead of importing the shm
 * package, which sits above mm.
 *
 * The attach origin of a piece is its start minus its offset into the
 * segment: every piece that munmap or mprotect cut from one shmat keeps the
 * origin of that shmat, so the origin finds them all, and a piece that starts
 * below the address asked for never matches.
 */

import { isShmMappable } from './memmap.js';
import type { ShmMappable } from './memmap.js';
import type { Vma, VmaSet } from './vma.js';

/**
 * Takes the attachment whose origin is `addr` out of the set and returns its
 * first VMA, appending any further pieces to `rest` (empty on entry); returns
 * undefined when there is none (shmdt's EINVAL). The caller tells each VMA's
 * mappable and drops its identity reference.
 *
 * Step 1 walks upward from the first VMA ending above `addr`, without bound,
 * to the first shm piece starting at or above `addr` with origin `addr`.
 * Step 2 continues while pieces end within addr + PAGE_ALIGN(segsz), removing
 * those of the same segment with the same origin and skipping the rest.
 *
 * Preconditions: the owning MemoryManager's mappingMu is held.
 */
export function detachShmLocked(vmas: VmaSet, addr: number, rest: Vma[]): Vma | undefined {
  let i = vmas.lowerBound(addr);
  let first = vmas.at(i);
  // Usually the first VMA ending above addr is the attachment's first piece,
  // and the attachment is that one piece: both walks are out of line (a hot path: see "Hot paths" in docs/architecture.md).
  if (first === undefined || !isShmMappable(first.mappable) || !hasOrigin(first, addr)) {
    i = findOrigin(vmas, i + 1, addr);
    if (i < 0) return undefined;
    first = vmas.at(i)!;
  }
  // findOrigin only stops at a ShmMappable.
  const segment = first.mappable as ShmMappable;
  const limit = addr + segment.effectiveBytes();
  vmas.removeAt(i);
  const next = vmas.at(i);
  if (next !== undefined && next.end <= limit) removeRest(vmas, i, addr, segment, limit, rest);
  return first;
}

/** Step 1's walk from position `i` on: the position of the first shm piece with origin `addr`, or -1. */
function findOrigin(vmas: VmaSet, i: number, addr: number): number {
  for (let vma = vmas.at(i); vma !== undefined; vma = vmas.at(++i)) {
    if (isShmMappable(vma.mappable) && hasOrigin(vma, addr)) return i;
  }
  return -1;
}

/** Step 2 after the first piece is out: appends to `rest` the pieces from position `i` on that belong to the same attachment, up to `limit`. */
function removeRest(vmas: VmaSet, i: number, addr: number, segment: ShmMappable, limit: number, rest: Vma[]): void {
  for (let vma = vmas.at(i); vma !== undefined && vma.end <= limit; vma = vmas.at(i)) {
    if (vma.mappable === segment && hasOrigin(vma, addr)) {
      rest.push(vmas.removeAt(i));
    } else {
      i++;
    }
  }
}

/** True when `vma` starts at or above `addr` and was cut from a mapping made at `addr`. */
function hasOrigin(vma: Vma, addr: number): boolean {
  return vma.start >= addr && vma.start - vma.offset === addr;
}
