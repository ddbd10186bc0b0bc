/**
 * VMAs and the ordered set that holds them, for one address space.
 *
 * The set is a sorted array cut into chunks: lookups are binary searches (a
 * process may hold tens of thousands of shm attachments), and an insertion or
 * removal shifts one chunk, not the whole set. Adjacent VMAs never merge: Linux does not re-merge shm pieces, so
 * every piece stays a separate VMA and counts once in nattch.
 *
 * Every method requires the owning MemoryManager's mappingMu to be held.
 */

import { PAGE_SIZE } from '../abi/constants.js';
import { clipGuards } from './guards.js';
import type { GuardRuns } from './guards.js';
import type { MappingIdentity, Mappable, Perms } from './memmap.js';

/** stack_guard_gap: 256 pages, Linux's default, kept free below a growing-down mapping. */
export const STACK_GUARD_GAP = 256 * PAGE_SIZE;

/**
 * vm_start_gap: where the room below `v` ends for a new mapping the kernel
 * places (or a hint it takes): a growing-down mapping keeps stack_guard_gap
 * free below its start, down to address 0.
 */
function startGap(v: Vma): number {
  return v.growsDown === true ? Math.max(v.start - STACK_GUARD_GAP, 0) : v.start;
}

/** One mapping piece: [start, end) shows object bytes from `offset` on. */
export interface Vma {
  start: number;
  end: number;
  readonly mappable: Mappable;
  /**
   * Byte offset into the mappable of `start`: a multiple of PAGE_SIZE below
   * 2^64 (Linux keeps vm_pgoff, the same in pages). A multiple of PAGE_SIZE
   * is a double exactly even past 2^53, and so is the sum of two of them
   * below 2^64, so the offset is only ever added to page-aligned amounts;
   * a byte inside a page is found from the page index offset / PAGE_SIZE
   * (exact, below 2^52) and the byte's distance from `start` (see access.ts).
   */
  offset: number;
  perms: Perms;
  /** The most mprotect may ever grant (SHM_RDONLY drops PROT_WRITE here). */
  readonly maxPerms: Perms;
  /** Holds one reference for as long as this VMA exists. */
  readonly identity: MappingIdentity;
  /** The shared-writable flag given to addMapping; fixed for the mapping's life. */
  readonly writable: boolean;
  /** VM_LOCKED (mlock): the pages stay in memory; not inherited at fork. Absent means false. */
  locked?: boolean;
  /**
   * VM_LOCKONFAULT (mlock2 with MLOCK_ONFAULT), only beside `locked`: the
   * lock faults nothing in, and mprotect making the piece writable does not
   * populate it either. Absent means false.
   */
  lockOnFault?: boolean;
  /** VM_DONTCOPY (MADV_DONTFORK): fork leaves this piece out of the child. Absent means false. */
  dontCopy?: boolean;
  /**
   * VM_WIPEONFORK (MADV_WIPEONFORK, private anonymous memory only): fork gives
   * the child fresh zeroed memory here, and the child's piece keeps the flag.
   * Absent means false.
   */
  wipeOnFork?: boolean;
  /**
   * VM_GROWSDOWN (MAP_GROWSDOWN, private anonymous memory): an access in the
   * hole below the mapping grows it down to the accessed page (see
   * MemoryManager's growth), as a stack does. Absent means false.
   */
  growsDown?: boolean;
  /** VM_SEQ_READ (MADV_SEQUENTIAL; MADV_RANDOM and MADV_NORMAL clear it). Absent means false. */
  seqRead?: boolean;
  /** VM_RAND_READ (MADV_RANDOM; MADV_SEQUENTIAL and MADV_NORMAL clear it). Absent means false. */
  randRead?: boolean;
  /** VM_HUGEPAGE (MADV_HUGEPAGE; MADV_NOHUGEPAGE clears it). Absent means false. */
  hugePage?: boolean;
  /** VM_NOHUGEPAGE (MADV_NOHUGEPAGE; MADV_HUGEPAGE clears it). Absent means false. */
  noHugePage?: boolean;
  /** VM_DONTDUMP (MADV_DONTDUMP, MAP_DROPPABLE; MADV_DODUMP clears it). Absent means false. */
  dontDump?: boolean;
  /**
   * The guard pages inside [start, end) (MADV_GUARD_INSTALL), as runs of
   * virtual page numbers (guards.ts); undefined when there are none, which
   * is all the access paths test before going on.
   */
  guards?: GuardRuns | undefined;
}

/** The Vma flags (each absent meaning false), in the order snapshots and checkpoint images list them. */
export const VMA_FLAGS = ['locked', 'lockOnFault', 'dontCopy', 'wipeOnFork', 'growsDown', 'seqRead', 'randRead', 'hugePage', 'noHugePage', 'dontDump'] as const;

/** One of VMA_FLAGS. */
export type VmaFlag = (typeof VMA_FLAGS)[number];

/** Every flag of `v` as a boolean, absent read as false. */
export function vmaFlags(v: Readonly<Partial<Record<VmaFlag, boolean>>>): Record<VmaFlag, boolean> {
  const out = {} as Record<VmaFlag, boolean>;
  for (const f of VMA_FLAGS) out[f] = v[f] === true;
  return out;
}

/** The flags set in `v`, each as `true`, the others left out (a checkpoint image's form). */
export function setVmaFlags(v: Readonly<Partial<Record<VmaFlag, boolean>>>): Partial<Record<VmaFlag, true>> {
  const out: Partial<Record<VmaFlag, true>> = {};
  for (const f of VMA_FLAGS) if (v[f] === true) out[f] = true;
  return out;
}

/** is_vm_hugetlb_page: a piece of hugetlbfs memory, the one kind that cannot be cut at a small page boundary (vm_ops->may_split). */
export function isHugetlbPiece(vma: Vma): boolean {
  return vma.mappable.maySplit?.(vma.offset + PAGE_SIZE) === false;
}

/** A read-only snapshot of one VMA, for tests and /proc/pid/maps. */
export interface VmaInfo {
  readonly start: number;
  readonly end: number;
  /** Vma.offset: page aligned, exact past 2^53 (BigInt(offset) is the byte offset). */
  readonly offset: number;
  readonly perms: Perms;
  readonly maxPerms: Perms;
  readonly mappable: Mappable;
  readonly identity: MappingIdentity;
  readonly writable: boolean;
  readonly locked: boolean;
  readonly lockOnFault: boolean;
  readonly dontCopy: boolean;
  readonly wipeOnFork: boolean;
  readonly growsDown: boolean;
  readonly seqRead: boolean;
  readonly randRead: boolean;
  readonly hugePage: boolean;
  readonly noHugePage: boolean;
  readonly dontDump: boolean;
  /** Vma.guards: the guarded pages' runs, or undefined. */
  readonly guards: GuardRuns | undefined;
}

/** A split's guard pages: each of the two halves (`low` below `high`) keeps those inside it. */
function splitGuards(low: Vma, high: Vma): void {
  const runs = low.guards;
  low.guards = clipGuards(runs, low.start / PAGE_SIZE, low.end / PAGE_SIZE);
  high.guards = clipGuards(runs, high.start / PAGE_SIZE, high.end / PAGE_SIZE);
}

/* Broken invariants of insert and removeAt, thrown out of line (a hot path: see "Hot paths" in docs/architecture.md). */
function overlapBug(vma: Vma, next: Vma): never {
  throw new Error(`VmaSet.insert: [${vma.start}, ${vma.end}) overlaps [${next.start}, ${next.end})`);
}

function noVmaBug(i: number): never {
  throw new Error(`VmaSet.removeAt: no VMA #${i}`);
}

/**
 * The most VMAs one chunk of a VmaSet holds; a chunk that grows past it is
 * cut in two. Inserting or removing inside a chunk shifts at most this many
 * entries, and the chunk starts move for the chunks after it, so a split in a
 * process holding n VMAs costs O(CHUNK + n / CHUNK), never a shift of all n.
 */
const CHUNK = 256;

/** The VMAs of one address space, ordered by address and never overlapping. */
export class VmaSet {
  /**
   * The VMAs in DESCENDING address order, cut into chunks of at most CHUNK
   * (chunk 0 holds the highest VMAs). Callers see ascending positions
   * (at(0) is the lowest VMA); storing them reversed puts top-down mappings,
   * the common case, at the last chunk's end, so mapping and unmapping the
   * newest attachment in a process holding thousands costs no shifting.
   * Only a set's one chunk may be empty.
   */
  private readonly chunks: Vma[][] = [[]];
  /** starts[c]: the descending index of chunks[c]'s first VMA. */
  private readonly starts: number[] = [0];
  private count = 0;
  /** The chunk the last positional lookup landed in: walks go chunk by chunk. */
  private cursor = 0;
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
    return this.count;
  }

  /** The VMA at position `i` in address order. */
  at(i: number): Vma | undefined {
    return i >= 0 && i < this.count ? this.byDesc(this.count - 1 - i) : undefined;
  }

  /** The VMA at descending index `d` (0 is the highest), which must be below count. */
  private byDesc(d: number): Vma {
    const chunks = this.chunks;
    const last = chunks.length - 1;
    const s = this.starts[last]!;
    if (d >= s) return chunks[last]![d - s]!;
    const c = this.chunkOf(d);
    return chunks[c]![d - this.starts[c]!]!;
  }

  /** The chunk holding descending index `d` (below count): the last chunk starting at or before it. */
  private chunkOf(d: number): number {
    const starts = this.starts;
    const n = starts.length;
    const c = this.cursor;
    // Walks step through positions in order: try the last chunk used and its neighbours first.
    if (c < n && starts[c]! <= d && (c + 1 === n || starts[c + 1]! > d)) return c;
    if (c + 1 < n && starts[c + 1]! <= d && (c + 2 === n || starts[c + 2]! > d)) return (this.cursor = c + 1);
    if (c > 0 && c - 1 < n && starts[c - 1]! <= d && starts[c]! > d) return (this.cursor = c - 1);
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= d) lo = mid;
      else hi = mid - 1;
    }
    this.cursor = lo;
    return lo;
  }

  /** The lowest VMA (the last chunk's last entry), if any. */
  private lowest(): Vma | undefined {
    const ch = this.chunks[this.chunks.length - 1]!;
    return ch[ch.length - 1];
  }

  /** The position of the first VMA that ends above `addr` (size when there is none). */
  lowerBound(addr: number): number {
    // When even the lowest VMA ends above addr, every VMA does: position 0,
    // with no search. Lookups of the newest top-down mapping land here.
    const low = this.lowest();
    if (low === undefined || low.end > addr) return 0;
    return this.count - this.countEndingAbove(addr);
  }

  /**
   * How many VMAs end above `addr`. In descending storage they form a
   * prefix, so this is also the descending index of the highest VMA ending
   * at or below `addr`.
   */
  private countEndingAbove(addr: number): number {
    const chunks = this.chunks;
    if (this.count === 0) return 0;
    // The first chunk whose lowest VMA ends at or below addr holds the answer.
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const ch = chunks[mid]!;
      if (ch[ch.length - 1]!.end > addr) lo = mid + 1;
      else hi = mid;
    }
    if (lo === chunks.length) return this.count;
    const ch = chunks[lo]!;
    let a = 0;
    let b = ch.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (ch[mid]!.end > addr) a = mid + 1;
      else b = mid;
    }
    return this.starts[lo]! + a;
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

  /** True when [start, end) overlaps some VMA or the guard gap below a growing-down one (startGap): a hint there is not taken. */
  intersectsWithGap(start: number, end: number): boolean {
    const vma = this.at(this.lowerBound(start));
    return vma !== undefined && startGap(vma) < end;
  }

  /** Inserts `vma`, which must not overlap any VMA in the set. */
  insert(vma: Vma): void {
    // A new lowest VMA (the newest top-down mapping) goes on the last chunk's end;
    // the rest is out of line (a hot path: see "Hot paths" in docs/architecture.md).
    const chunks = this.chunks;
    const ch = chunks[chunks.length - 1]!;
    const n = ch.length;
    if (n < CHUNK && (n === 0 || vma.end <= ch[n - 1]!.start)) {
      ch.push(vma);
      this.count += 1;
    } else this.insertAbove(vma);
  }

  /** insert for a VMA that goes above the lowest one, or into a full last chunk. */
  private insertAbove(vma: Vma): void {
    const i = this.lowerBound(vma.start);
    const next = this.at(i);
    if (next !== undefined && next.start < vma.end) overlapBug(vma, next);
    this.insertDesc(this.count - i, vma);
  }

  /** Puts `vma` at descending index `d` (0..count), shifting the VMAs from d on by one. */
  private insertDesc(d: number, vma: Vma): void {
    const chunks = this.chunks;
    const c = d === this.count ? chunks.length - 1 : this.chunkOf(d);
    const ch = chunks[c]!;
    ch.splice(d - this.starts[c]!, 0, vma);
    this.count += 1;
    const starts = this.starts;
    for (let k = c + 1; k < starts.length; k++) starts[k]! += 1;
    if (ch.length > CHUNK) this.cutChunk(c);
  }

  /** Cuts an overfull chunk in two: its higher half becomes a chunk of its own, before it. */
  private cutChunk(c: number): void {
    const ch = this.chunks[c]!;
    const upper = ch.splice(0, ch.length >>> 1);
    this.chunks.splice(c, 0, upper);
    this.restart();
  }

  /** Recomputes every chunk start and forgets the cursor, after chunks were added or dropped. */
  private restart(): void {
    const chunks = this.chunks;
    const starts = this.starts;
    starts.length = chunks.length;
    let s = 0;
    for (let c = 0; c < chunks.length; c++) {
      starts[c] = s;
      s += chunks[c]!.length;
    }
    this.cursor = 0;
  }

  /** Fills an empty set with `vmas`, given in address order without overlaps (fork builds a copy this way). */
  load(vmas: readonly Vma[]): void {
    if (this.count > 0) throw new Error('VmaSet.load: the set is not empty');
    const desc: Vma[] = [];
    for (let i = vmas.length - 1; i >= 0; i -= 1) {
      const vma = vmas[i]!;
      const above = desc[desc.length - 1];
      if (above !== undefined && vma.end > above.start) {
        throw new Error(`VmaSet.load: [${vma.start}, ${vma.end}) overlaps or is out of order`);
      }
      desc.push(vma);
    }
    this.chunks.length = 0;
    const half = CHUNK >>> 1;
    for (let k = 0; k < desc.length; k += half) this.chunks.push(desc.slice(k, k + half));
    if (this.chunks.length === 0) this.chunks.push([]);
    this.count = desc.length;
    this.restart();
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
    const d = this.count - 1 - i;
    // `addr` is page aligned, so the advanced offset stays exact past 2^53.
    if (extra === 'below') {
      const piece: Vma = { ...vma, end: addr };
      vma.offset += addr - vma.start;
      vma.start = addr;
      if (vma.guards !== undefined) splitGuards(piece, vma);
      this.insertDesc(d + 1, piece);
      return piece;
    }
    const piece: Vma = { ...vma, start: addr, offset: vma.offset + (addr - vma.start) };
    vma.end = addr;
    if (vma.guards !== undefined) splitGuards(vma, piece);
    this.insertDesc(d, piece);
    return piece;
  }

  /** Removes `count` VMAs starting at position `i`, returning them in address order. */
  removeRange(i: number, count: number): Vma[] {
    this.lastHit = undefined;
    const n = this.count;
    const take = Math.max(0, Math.min(count, n - i));
    if (take === 0) return [];
    const removed: Vma[] = [];
    if (take === n) {
      for (const ch of this.chunks) for (const vma of ch) removed.push(vma);
      this.chunks.length = 0;
      this.chunks.push([]);
    } else {
      // Descending indexes [n - i - take, n - i), chunk by chunk.
      let c = this.chunkOf(n - i - take);
      let o = n - i - take - this.starts[c]!;
      let left = take;
      while (left > 0) {
        const ch = this.chunks[c]!;
        const k = Math.min(left, ch.length - o);
        for (const vma of ch.splice(o, k)) removed.push(vma);
        left -= k;
        c += 1;
        o = 0;
      }
      this.dropEmptyChunks();
    }
    this.count = n - take;
    this.restart();
    removed.reverse();
    this.noteHoleAt(i);
    return removed;
  }

  /** Drops empty chunks, keeping one when the set is empty. */
  private dropEmptyChunks(): void {
    const chunks = this.chunks;
    let w = 0;
    for (let r = 0; r < chunks.length; r++) if (chunks[r]!.length > 0) chunks[w++] = chunks[r]!;
    chunks.length = w;
    if (w === 0) chunks.push([]);
  }

  /** Removes and returns the VMA at position `i`, which must exist (shmdt's one-piece removal, without an array). */
  removeAt(i: number): Vma {
    const chunks = this.chunks;
    const last = chunks.length - 1;
    const ch = chunks[last]!;
    // The lowest VMA, the newest top-down attachment, sits at the last
    // chunk's end: it pops, and the hole runs from 0 up to the VMA now
    // lowest (as noteHoleAt(0) would find). Other positions, and a chunk
    // left empty, are out of line (a hot path: see "Hot paths" in docs/architecture.md).
    if (i !== 0 || ch.length <= 1) return this.removeInner(i);
    this.lastHit = undefined;
    const vma = ch.pop()!;
    this.count -= 1;
    this.noteHole(0, Math.min(ch[ch.length - 1]!.start, this.topDownBase));
    return vma;
  }

  /** removeAt for a position above 0, or one that empties its chunk. */
  private removeInner(i: number): Vma {
    const vma = this.at(i);
    if (vma === undefined) noVmaBug(i);
    this.lastHit = undefined;
    const d = this.count - 1 - i;
    const c = this.chunkOf(d);
    const ch = this.chunks[c]!;
    ch.splice(d - this.starts[c]!, 1);
    this.count -= 1;
    if (ch.length === 0 && this.chunks.length > 1) {
      this.chunks.splice(c, 1);
      this.restart();
    } else {
      const starts = this.starts;
      for (let k = c + 1; k < starts.length; k++) starts[k]! -= 1;
    }
    this.noteHoleAt(i);
    return vma;
  }

  /** noteHole for the free range that now lies between positions i-1 and i (below topDownBase). */
  private noteHoleAt(i: number): void {
    this.noteHole(this.at(i - 1)?.end ?? 0, Math.min(this.at(i)?.start ?? Infinity, this.topDownBase));
  }

  /**
   * Tells the free-area cache that [bottom, top) stays free although a
   * search handed it out: the slack an aligned placement leaves around its
   * mapping inside the window topDownGap returned. The slack below the
   * mapping starts at the floor the search just set (the window's bottom),
   * where no VMA starts: the floor moves up to the mapping, so the slack
   * joins the free space below it instead of being skipped as a hole above
   * the floor (the next window would otherwise start below the slack).
   */
  noteFree(bottom: number, top: number): void {
    if (top <= bottom) return;
    if (bottom === this.searchFloor) {
      this.searchFloor = top;
      return;
    }
    this.noteHole(bottom, top);
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
  topDownGap(len: number, lowLimit: number): number {
    // The common case first: the request is larger than every hole above the
    // floor, and no VMA lies below the floor, so the space from the floor down
    // to `low` is free and the answer is just below the floor. The full search
    // is out of line (a hot path: see "Hot paths" in docs/architecture.md).
    const floor = this.searchFloor;
    const start = floor - len;
    const low = this.lowest();
    if (len > this.largestHoleAbove && start >= lowLimit && (low === undefined || startGap(low) >= floor)) {
      this.searchFloor = start;
      return start;
    }
    return this.topDownSearch(len, lowLimit);
  }

  /**
   * Runs `search` (topDownGap, perhaps through unmappedArea) as a question
   * only: the free-area cache is put back as it was, since a search moves it
   * as if its answer were about to be mapped, and here nothing will be.
   */
  withCacheKept<T>(search: () => T): T {
    const floor = this.searchFloor;
    const largest = this.largestHoleAbove;
    try {
      return search();
    } finally {
      this.searchFloor = floor;
      this.largestHoleAbove = largest;
    }
  }

  /** topDownGap's search, walking down from the floor or from topDownBase. */
  private topDownSearch(len: number, low: number): number {
    const fromFloor = len > this.largestHoleAbove;
    let top = fromFloor ? this.searchFloor : this.topDownBase;
    let skipped = fromFloor ? this.largestHoleAbove : 0;
    // Descending index k is the highest VMA ending at or below top; k - 1
    // ends above it and may still start below it.
    let k = this.countEndingAbove(top);
    if (k > 0) {
      // The lowest VMA ending above top (it may start below it), or the guard gap below it.
      const gapTop = startGap(this.byDesc(k - 1));
      if (gapTop < top) top = gapTop;
    }
    for (; top - low >= len; k++) {
      const below = k < this.count ? this.byDesc(k) : undefined;
      const bottom = below === undefined ? low : Math.max(below.end, low);
      if (top - bottom >= len) {
        this.searchFloor = top - len;
        this.largestHoleAbove = skipped;
        return top - len;
      }
      skipped = Math.max(skipped, top - bottom);
      if (below === undefined) return -1;
      top = startGap(below);
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
      ...vmaFlags(v),
      guards: v.guards,
    }));
  }

  /** Every VMA in address order (a copy), for walks that do not change the set. */
  all(): Vma[] {
    const out: Vma[] = [];
    const chunks = this.chunks;
    for (let c = chunks.length - 1; c >= 0; c--) {
      const ch = chunks[c]!;
      for (let j = ch.length - 1; j >= 0; j--) out.push(ch[j]!);
    }
    return out;
  }
}
