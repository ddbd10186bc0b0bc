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

/* Broken invariants of insert and removeAt, thrown out of line (a hot path: see "Hot paths" in docs/architecture.md). */
function overlapBug(vma: Vma, next: Vma): never {
  throw new Error(`VmaSet.insert: [${vma.start}, ${vma.end}) overlaps [${next.start}, ${next.end})`);
}

function noVmaBug(i: number): never {
  throw new Error(`VmaSet.removeAt: no VMA #${i}`);
}

/** The VMAs of one address space, ordered by address and never overlapping. */
export class VmaSet {
  /**
   * The VMAs in DESCENDING address order. Callers see ascending positions
   * (at(0) is the lowest VMA); storing them reversed puts top-down mappings,
   * the common case, at the array's end, so mapping and unmapping the newest
   * attachment in a process holding thousands costs no shifting.
   */
  private readonly rev: Vma[] = [];
  /** The VMA the last lookup hit: accesses cluster, so most lookups end here. */
  private lastHit: Vma | undefined = undefined;
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
    return this.rev.length;
  }

  /** The VMA at position `i` in address order. */
  at(i: number): Vma | undefined {
    return i >= 0 && i < this.rev.length ? this.rev[this.rev.length - 1 - i] : undefined;
  }

  /** The position of the first VMA that ends above `addr` (size when there is none). */
  lowerBound(addr: number): number {
    // When even the lowest VMA ends above addr, every VMA does: position 0,
    // with no search. Lookups of the newest top-down mapping land here.
    const rev = this.rev;
    const n = rev.length;
    if (n === 0 || rev[n - 1]!.end > addr) return 0;
    return n - this.countEndingAbove(addr);
  }

  /**
   * How many VMAs end above `addr`. In descending storage they form a
   * prefix, so this is also the storage index of the highest VMA ending at
   * or below `addr`.
   */
  private countEndingAbove(addr: number): number {
    const rev = this.rev;
    let lo = 0;
    let hi = rev.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rev[mid]!.end > addr) {
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
    const vma = this.at(this.lowerBound(addr));
    if (vma === undefined || vma.start > addr) {
      return undefined;
    }
    this.lastHit = vma;
    return vma;
  }

  /** True when some VMA overlaps [start, end). */
  intersects(start: number, end: number): boolean {
    const vma = this.at(this.lowerBound(start));
    return vma !== undefined && vma.start < end;
  }

  /** Inserts `vma`, which must not overlap any VMA in the set. */
  insert(vma: Vma): void {
    // A new lowest VMA (the newest top-down mapping) goes on the array's end;
    // the rest is out of line (a hot path: see "Hot paths" in docs/architecture.md).
    const rev = this.rev;
    const n = rev.length;
    if (n === 0 || vma.end <= rev[n - 1]!.start) rev.push(vma);
    else this.insertAbove(vma);
  }

  /** insert for a VMA that goes above the lowest one. */
  private insertAbove(vma: Vma): void {
    const i = this.lowerBound(vma.start);
    const next = this.at(i);
    if (next !== undefined && next.start < vma.end) overlapBug(vma, next);
    this.rev.splice(this.rev.length - i, 0, vma);
  }

  /** Fills an empty set with `vmas`, given in address order without overlaps (fork builds a copy this way). */
  load(vmas: readonly Vma[]): void {
    if (this.rev.length > 0) throw new Error('VmaSet.load: the set is not empty');
    for (let i = vmas.length - 1; i >= 0; i -= 1) {
      const vma = vmas[i]!;
      const above = this.rev[this.rev.length - 1];
      if (above !== undefined && vma.end > above.start) {
        throw new Error(`VmaSet.load: [${vma.start}, ${vma.end}) overlaps or is out of order`);
      }
      this.rev.push(vma);
    }
  }

  /**
   * Cuts the VMA at position `i` at `addr` (strictly inside it). The piece on
   * the `extra` side ('below' or 'above' addr) becomes a new VMA, which is
   * returned; the original object keeps the other side.
   */
  split(i: number, addr: number, extra: 'below' | 'above'): Vma {
    const vma = this.at(i);
    if (vma === undefined || addr <= vma.start || addr >= vma.end) {
      throw new Error(`VmaSet.split: ${addr} is not strictly inside VMA #${i}`);
    }
    const phys = this.rev.length - 1 - i;
    if (extra === 'below') {
      const piece: Vma = { ...vma, end: addr };
      vma.offset += addr - vma.start;
      vma.start = addr;
      this.rev.splice(phys + 1, 0, piece);
      return piece;
    }
    const piece: Vma = { ...vma, start: addr, offset: vma.offset + (addr - vma.start) };
    vma.end = addr;
    this.rev.splice(phys, 0, piece);
    return piece;
  }

  /** Removes `count` VMAs starting at position `i`, returning them in address order. */
  removeRange(i: number, count: number): Vma[] {
    this.lastHit = undefined;
    const n = this.rev.length;
    const take = Math.max(0, Math.min(count, n - i));
    const removed = this.rev.splice(n - i - take, take).reverse();
    if (removed.length > 0) {
      this.noteHoleAt(i);
    }
    return removed;
  }

  /** Removes and returns the VMA at position `i`, which must exist (shmdt's one-piece removal, without an array). */
  removeAt(i: number): Vma {
    const rev = this.rev;
    const phys = rev.length - 1;
    // The lowest VMA, the newest top-down attachment, sits at the array's
    // end: it pops, and the hole runs from 0 up to the VMA above it (read
    // straight from the array, as noteHoleAt(0) would). Other positions are
    // out of line (a hot path: see "Hot paths" in docs/architecture.md).
    if (i !== 0 || phys < 0) return this.removeInner(i);
    this.lastHit = undefined;
    const vma = rev.pop()!;
    this.noteHole(0, phys > 0 ? Math.min(rev[phys - 1]!.start, this.topDownBase) : this.topDownBase);
    return vma;
  }

  /** removeAt for a position above 0. */
  private removeInner(i: number): Vma {
    const vma = this.at(i);
    if (vma === undefined) noVmaBug(i);
    this.lastHit = undefined;
    this.rev.splice(this.rev.length - 1 - i, 1);
    this.noteHoleAt(i);
    return vma;
  }

  /** noteHole for the free range that now lies between positions i-1 and i (below topDownBase). */
  private noteHoleAt(i: number): void {
    this.noteHole(this.at(i - 1)?.end ?? 0, Math.min(this.at(i)?.start ?? Infinity, this.topDownBase));
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
    // The common case first: the request is larger than every hole above the
    // floor, and no VMA lies below the floor, so the space from the floor down
    // to `low` is free and the answer is just below the floor. The full search
    // is out of line (a hot path: see "Hot paths" in docs/architecture.md).
    const floor = this.searchFloor;
    const start = floor - len;
    const rev = this.rev;
    const n = rev.length;
    if (len > this.largestHoleAbove && start >= low && (n === 0 || rev[n - 1]!.start >= floor)) {
      this.searchFloor = start;
      return start;
    }
    return this.topDownSearch(len, low);
  }

  /** topDownGap's search, walking down from the floor or from topDownBase. */
  private topDownSearch(len: number, low: number): number {
    // Written against the descending array directly, without at() calls.
    const rev = this.rev;
    const fromFloor = len > this.largestHoleAbove;
    let top = fromFloor ? this.searchFloor : this.topDownBase;
    let skipped = fromFloor ? this.largestHoleAbove : 0;
    // rev[k] is the highest VMA ending at or below top; rev[k - 1] ends above
    // it and may still start below it.
    let k = this.countEndingAbove(top);
    if (k > 0 && rev[k - 1]!.start < top) top = rev[k - 1]!.start;
    for (; top - low >= len; k++) {
      const below = k < rev.length ? rev[k] : undefined;
      const bottom = below === undefined ? low : Math.max(below.end, low);
      if (top - bottom >= len) {
        this.searchFloor = top - len;
        this.largestHoleAbove = skipped;
        return top - len;
      }
      skipped = Math.max(skipped, top - bottom);
      if (below === undefined) return -1;
      top = below.start;
    }
    return -1;
  }

  /** Snapshots of every VMA in address order. */
  infos(): VmaInfo[] {
    return this.all().map((v) => ({
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

  /** Every VMA in address order (a copy), for walks that do not change the set. */
  all(): Vma[] {
    return this.rev.slice().reverse();
  }
}
