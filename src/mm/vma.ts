/**
 * VMAs and the ordered set that holds them, for one address space.
 *
 * The set is a sorted array: lookups are binary searches (a process may hold
 * tens of thousands of shm attachments), insertions and removals shift the
 * array. Adjacent VMAs never merge: Linux does not re-merge shm pieces, so
 * every piece stays a separate VMA and counts once in nattch.
 *
 * Every method requires the owning MemoryManager's mappingMu to be held.
 */

import type { MappingIdentity, Mappable, Perms } from './memmap.js';

/** One mapping piece: [start, end) shows object bytes from `offset` on. */
export interface Vma {
  start: number;
  end: number;
  readonly mappable: Mappable;
  /** Byte offset into the mappable of `start`. */
  offset: number;
  perms: Perms;
  /** The most mprotect may ever grant (SHM_RDONLY drops PROT_WRITE here). */
  readonly maxPerms: Perms;
  /** Holds one reference for as long as this VMA exists. */
  readonly identity: MappingIdentity;
  /** The shared-writable flag given to addMapping; fixed for the mapping's life. */
  readonly writable: boolean;
}

/** A read-only snapshot of one VMA, for tests and /proc/pid/maps. */
export interface VmaInfo {
  readonly start: number;
  readonly end: number;
  readonly offset: number;
  readonly perms: Perms;
  readonly maxPerms: Perms;
  readonly mappable: Mappable;
  readonly identity: MappingIdentity;
  readonly writable: boolean;
}

/** The VMAs of one address space, ordered by address and never overlapping. */
export class VmaSet {
  private readonly list: Vma[] = [];
  /** The VMA the last lookup hit: accesses cluster, so most lookups end here. */
  private lastHit: Vma | undefined;
  /**
   * The free-area cache for topDownGap: no gap between searchFloor (a VMA
   * start, or topDownBase) and topDownBase is larger than largestHoleAbove.
   * New mappings only shrink gaps; removals update it (see removeRange).
   */
  private searchFloor: number;
  private largestHoleAbove = 0;

  /** `topDownBase` is where top-down placement starts (mm->mmap_base). */
  constructor(private readonly topDownBase: number) {
    this.searchFloor = topDownBase;
  }

  /** How many VMAs there are. */
  get size(): number {
    return this.list.length;
  }

  /** The VMA at position `i` in address order. */
  at(i: number): Vma | undefined {
    return this.list[i];
  }

  /** The position of the first VMA that ends above `addr` (size when there is none). */
  lowerBound(addr: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.list[mid] as Vma).end <= addr) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** The VMA containing `addr`, if any. */
  find(addr: number): Vma | undefined {
    const hit = this.lastHit;
    if (hit !== undefined && hit.start <= addr && addr < hit.end) {
      return hit;
    }
    const vma = this.list[this.lowerBound(addr)];
    if (vma === undefined || vma.start > addr) {
      return undefined;
    }
    this.lastHit = vma;
    return vma;
  }

  /** True when some VMA overlaps [start, end). */
  intersects(start: number, end: number): boolean {
    const vma = this.list[this.lowerBound(start)];
    return vma !== undefined && vma.start < end;
  }

  /** Inserts `vma`, which must not overlap any VMA in the set. */
  insert(vma: Vma): void {
    const i = this.lowerBound(vma.start);
    const next = this.list[i];
    if (next !== undefined && next.start < vma.end) {
      throw new Error(`VmaSet.insert: [${vma.start}, ${vma.end}) overlaps [${next.start}, ${next.end})`);
    }
    this.list.splice(i, 0, vma);
  }

  /** Appends `vma`, which must lie above every VMA in the set (fork builds a copy this way). */
  append(vma: Vma): void {
    const last = this.list[this.list.length - 1];
    if (last !== undefined && last.end > vma.start) {
      throw new Error(`VmaSet.append: [${vma.start}, ${vma.end}) is not above [${last.start}, ${last.end})`);
    }
    this.list.push(vma);
  }

  /**
   * Cuts the VMA at position `i` at `addr` (strictly inside it). The piece on
   * the `extra` side ('below' or 'above' addr) becomes a new VMA, which is
   * returned; the original object keeps the other side.
   */
  split(i: number, addr: number, extra: 'below' | 'above'): Vma {
    const vma = this.list[i];
    if (vma === undefined || addr <= vma.start || addr >= vma.end) {
      throw new Error(`VmaSet.split: ${addr} is not strictly inside VMA #${i}`);
    }
    if (extra === 'below') {
      const piece: Vma = { ...vma, end: addr };
      vma.offset += addr - vma.start;
      vma.start = addr;
      this.list.splice(i, 0, piece);
      return piece;
    }
    const piece: Vma = { ...vma, start: addr, offset: vma.offset + (addr - vma.start) };
    vma.end = addr;
    this.list.splice(i + 1, 0, piece);
    return piece;
  }

  /** Removes `count` VMAs starting at position `i`, returning them. */
  removeRange(i: number, count: number): Vma[] {
    this.lastHit = undefined;
    const removed = this.list.splice(i, count);
    if (removed.length > 0) {
      this.noteHole(this.list[i - 1]?.end ?? 0, Math.min(this.list[i]?.start ?? Infinity, this.topDownBase));
    }
    return removed;
  }

  /** Keeps the free-area cache true after [bottom, top) became free. */
  private noteHole(bottom: number, top: number): void {
    if (top <= this.searchFloor) {
      return;
    }
    if (bottom >= this.searchFloor) {
      this.largestHoleAbove = Math.max(this.largestHoleAbove, top - bottom);
    } else {
      // The VMA at the floor went away; every gap above this hole was already counted.
      this.searchFloor = top;
    }
  }

  /**
   * The highest start address at which `len` bytes fit between two VMAs
   * with the whole range inside [low, topDownBase); -1 when no gap is large
   * enough. This is the top-down search of Linux's vm_unmapped_area.
   *
   * Linux finds the gap in O(log n) with gap sizes kept in its VMA tree;
   * here the free-area cache of older kernels does the same job for the
   * common case: a search that cannot fit above searchFloor starts there, so
   * a run of attaches costs O(log n) each instead of a walk over every VMA.
   */
  topDownGap(len: number, low: number): number {
    const fromFloor = len > this.largestHoleAbove;
    let top = fromFloor ? this.searchFloor : this.topDownBase;
    let i = this.lowerBound(top);
    // lowerBound gives the first VMA ending above top; it may still start below it.
    const straddling = this.list[i];
    if (straddling !== undefined && straddling.start < top) {
      top = straddling.start;
    }
    let skipped = fromFloor ? this.largestHoleAbove : 0;
    for (i -= 1; top - low >= len; i--) {
      const below = this.list[i];
      const bottom = below === undefined ? low : Math.max(below.end, low);
      if (top - bottom >= len) {
        this.searchFloor = top - len;
        this.largestHoleAbove = skipped;
        return top - len;
      }
      skipped = Math.max(skipped, top - bottom);
      if (below === undefined) {
        return -1;
      }
      top = below.start;
    }
    return -1;
  }

  /** Snapshots of every VMA in address order. */
  infos(): VmaInfo[] {
    return this.list.map((v) => ({
      start: v.start,
      end: v.end,
      offset: v.offset,
      perms: v.perms,
      maxPerms: v.maxPerms,
      mappable: v.mappable,
      identity: v.identity,
      writable: v.writable,
    }));
  }

  /** All VMAs in address order, for walks that do not change the set. */
  all(): readonly Vma[] {
    return this.list;
  }
}
