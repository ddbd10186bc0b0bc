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
 * Removes the attachment whose origin is `addr` and returns true, or returns
 * false when there is none (shmdt's EINVAL). Each removed VMA is handed to
 * `removed` and then taken out of the set.
 *
 * Step 1 walks upward from the first VMA ending above `addr`, without bound,
 * to the first shm piece starting at or above `addr` with origin `addr`.
 * Step 2 continues while pieces end within addr + PAGE_ALIGN(segsz), removing
 * those of the same segment with the same origin and skipping the rest.
 *
 * Preconditions: the owning MemoryManager's mappingMu is held.
 */
export function detachShmLocked(vmas: VmaSet, addr: number, removed: (vma: Vma) => void): boolean {
  let i = vmas.lowerBound(addr);
  let first = vmas.at(i);
  while (first !== undefined && !(isShmMappable(first.mappable) && hasOrigin(first, addr))) {
    first = vmas.at(++i);
  }
  if (first === undefined) {
    return false;
  }
  // The loop above only stops at a ShmMappable.
  const segment = first.mappable as ShmMappable;
  const limit = addr + segment.effectiveBytes();
  removed(first);
  vmas.removeRange(i, 1);
  for (let vma = vmas.at(i); vma !== undefined && vma.end <= limit; vma = vmas.at(i)) {
    if (vma.mappable === segment && hasOrigin(vma, addr)) {
      removed(vma);
      vmas.removeRange(i, 1);
    } else {
      i++;
    }
  }
  return true;
}

/** True when `vma` starts at or above `addr` and was cut from a mapping made at `addr`. */
function hasOrigin(vma: Vma, addr: number): boolean {
  return vma.start >= addr && vma.start - vma.offset === addr;
}
