/**
 * The sparse page table of one memory object (a shm segment, anonymous
 * memory, a tmpfs file): page → MemoryFile frame, and for a tagged table
 * (`FrameTable<C>`) a tag per page, which tmpfs and private memory use for
 * the memory cgroup a page is charged to (a table made with `charges`
 * charges each frame `run` allocates to the faulting task's). A Map of 512-entry leaves made on first use, so an
 * untouched object of any size holds nothing. Page numbers reach 2^41, past
 * int32, so leaves are found with division; `& LEAF_MASK` stays exact
 * because ToInt32 keeps the low bits.
 *
 * Each table has its own MemoryFile Arena, and every frame it holds sits
 * there: `run` allocates in it, and `adopt` moves a frame from elsewhere
 * into it (checkpoint restore; a claim that named the arena needs no move).
 *
 * Frames come in two ways. `run` allocates a zeroed one from the MemoryFile
 * on first touch (shm, anonymous memory), and `release` gives them all back.
 * `adopt` records one the owner got elsewhere (tmpfs claims pages from its
 * superblock; checkpoint restore; fork copies), and `removeRange` and `clear`
 * hand frames back to the owner's callback. Either way each present frame
 * holds one MemoryFile reference.
 *
 * Not thread-safe; the owner serializes access (translate runs under the
 * address space's mappingMu).
 */
import type { BusError, PageCharges, Translation } from './memmap.js';
import { HostOutOfMemory } from './memory_file.js';
import type { Arena, MemoryFile } from './memory_file.js';

const LEAF_SIZE = 512;
/** allocateAt's answer when the page's memory cgroup refuses it. */
const REFUSED = -2;
const OUT_OF_MEMORY: BusError = { bus: true, reason: 'out of memory' };
const CHARGE_REFUSED: BusError = { bus: true, reason: 'the memory cgroup refused the page', refusedCharge: true };
const LEAF_MASK = LEAF_SIZE - 1;

/**
 * Slots a leaf starts with: an Int32Array this small lives on V8's heap
 * (64 bytes), where a full leaf is a 2 KiB ArrayBuffer of its own. Most
 * objects of a small kernel (a property test's) touch a page or two; a leaf
 * grows to LEAF_SIZE when a slot past these is stored. Reads past the end
 * see undefined, which every reader takes as 0 (untouched).
 */
const SMALL_LEAF = 16;

/** One leaf: frame + 1 per slot (0 = untouched; slots past the end too), the tags of a tagged table, and how many slots hold a frame. */
interface Leaf<C> {
  frames: Int32Array;
  /** Made at the first tagged adopt; untagged tables never have one. */
  tags: (C | undefined)[] | undefined;
  present: number;
}

/** Receives a frame taken out of the table, with its tag. */
export type FrameRelease<C> = (frame: number, tag: C) => void;

/** page → frame (and tag) for one object. */
export class FrameTable<C = void> {
  /** Leaves by leaf number; made at the first touch. */
  private leaves: Map<number, Leaf<C>> | undefined = undefined;
  private count = 0;

  /** Where this object's frames live: every frame the table holds sits in it (see MemoryFile). */
  readonly arena: Arena;

  /**
   * @param charges for private memory: who pays for each frame `run`
   * allocates, kept as the page's tag (C is then the charge target).
   */
  constructor(
    private readonly mf: MemoryFile,
    private readonly charges?: PageCharges,
  ) {
    this.arena = mf.newArena();
  }

  /** Pages that hold a frame. */
  get residentPages(): number {
    return this.count;
  }

  /** The frame of `page`, or -1 when it holds none. */
  frameAt(page: number): number {
    const leaf = this.leaves?.get(Math.floor(page / LEAF_SIZE));
    if (leaf === undefined) return -1;
    return (leaf.frames[page & LEAF_MASK] ?? 0) - 1;
  }

  /**
   * The run of consecutive frames behind pages [page, page+n), n ≤ maxPages
   * and page+n ≤ limit, allocating on first touch; a BusError when memory is
   * exhausted at `page`. Precondition: page < limit.
   */
  run(page: number, maxPages: number, limit: number): Translation | BusError {
    const first = this.touch(page);
    if (first < 0) return first === REFUSED ? CHARGE_REFUSED : OUT_OF_MEMORY;
    const last = Math.min(page + maxPages, limit);
    let n = 1;
    // Leaf by leaf, so a long run costs one Map lookup per 512 pages; a
    // bulk copy of a touched segment translates every page of it each time.
    while (page + n < last) {
      const next = page + n;
      const leaf = this.leafFor(next);
      const from = next & LEAF_MASK;
      const to = Math.min(LEAF_SIZE, from + (last - next));
      for (let slot = from; slot < to; slot += 1) {
        // Read through the leaf each time: allocateAt may have grown a small one.
        const stored = leaf.frames[slot] ?? 0;
        const frame = stored !== 0 ? stored - 1 : this.allocateAt(leaf, slot, true);
        if (frame !== first + n) return { page, frame: first, pages: n };
        n += 1;
      }
    }
    return { page, frame: first, pages: n };
  }

  /**
   * How many pages from `page` (which holds `frame`), up to `end`, hold
   * consecutive frames, allocating nothing: at least 1. A page without a
   * frame ends the run.
   */
  runLength(page: number, frame: number, end: number): number {
    let n = 1;
    while (page + n < end) {
      const leaf = this.leaves?.get(Math.floor((page + n) / LEAF_SIZE));
      if (leaf === undefined) break;
      const frames = leaf.frames;
      let slot = (page + n) & LEAF_MASK;
      while (slot < LEAF_SIZE && page + n < end && frames[slot] === frame + n + 1) {
        slot += 1;
        n += 1;
      }
      if (slot < LEAF_SIZE) break;
    }
    return n;
  }

  /** Calls `fn` with every page that holds a frame, the frame and its tag, in page order. */
  forEach(fn: (page: number, frame: number, tag: C) => void): void {
    if (this.leaves === undefined) return;
    for (const leafNo of [...this.leaves.keys()].sort((a, b) => a - b)) {
      const leaf = this.leaves.get(leafNo) as Leaf<C>;
      for (let slot = 0; slot < LEAF_SIZE; slot += 1) {
        const stored = leaf.frames[slot] ?? 0;
        if (stored !== 0) fn(leafNo * LEAF_SIZE + slot, stored - 1, leaf.tags?.[slot] as C);
      }
    }
  }

  /**
   * Records that `page`, which holds no frame, is held in `frame`, whose
   * reference the table now owns, with `tag` (a tagged table passes one for
   * every page).
   */
  adopt(page: number, frame: number, tag: C): void {
    const leaf = this.leafFor(page);
    const slot = page & LEAF_MASK;
    if (leaf.frames[slot] !== 0) throw new Error(`page ${page} already holds frame ${(leaf.frames[slot] ?? 0) - 1}`);
    // A frame from elsewhere (checkpoint restore places frames in the default arena) moves into this object's arena.
    const arena = this.mf.arenaOf(frame);
    if (arena !== undefined && arena !== this.arena && !this.mf.moveTo(frame, this.arena)) {
      throw new HostOutOfMemory(frame, `the host cannot allocate a chunk to move frame ${frame} into its object's arena (${this.mf.lastHostRefusal})`);
    }
    leaf.frames[slot] = frame + 1;
    if (tag !== undefined) (leaf.tags ??= new Array<C | undefined>(LEAF_SIZE))[slot] = tag;
    leaf.present += 1;
    this.count += 1;
  }

  /**
   * Records that `page`, which holds no frame, shares `frame` with another
   * table (copy-on-write after fork): the table owns one reference of it,
   * and the frame stays in the arena it is in.
   */
  share(page: number, frame: number, tag: C): void {
    const leaf = this.leafFor(page);
    const slot = page & LEAF_MASK;
    if (leaf.frames[slot] !== 0) throw new Error(`page ${page} already holds frame ${(leaf.frames[slot] ?? 0) - 1}`);
    leaf.frames[slot] = frame + 1;
    if (tag !== undefined) (leaf.tags ??= new Array<C | undefined>(LEAF_SIZE))[slot] = tag;
    leaf.present += 1;
    this.count += 1;
  }

  /**
   * Puts `frame` (whose reference the table now owns, in this table's
   * arena) behind `page`, which holds a frame already; the caller drops
   * the old frame's reference. A copy-on-write fault.
   */
  replace(page: number, frame: number, tag: C): void {
    const leaf = this.leaves?.get(Math.floor(page / LEAF_SIZE));
    const slot = page & LEAF_MASK;
    if (leaf === undefined || (leaf.frames[slot] ?? 0) === 0) throw new Error(`page ${page} holds no frame to replace`);
    leaf.frames[slot] = frame + 1;
    if (tag !== undefined || leaf.tags !== undefined) (leaf.tags ??= new Array<C | undefined>(LEAF_SIZE))[slot] = tag;
  }

  /** The tag of `page` (undefined when it holds no frame or no tag). */
  tagAt(page: number): C | undefined {
    return this.leaves?.get(Math.floor(page / LEAF_SIZE))?.tags?.[page & LEAF_MASK];
  }

  /** Takes every frame of pages [first, end) out of the table, handing each to `release` with its tag. */
  removeRange(first: number, end: number, release: FrameRelease<C>): void {
    if (first >= end || this.leaves === undefined) return;
    // Deleting the current entry while iterating a Map is safe.
    for (const [leafNo, leaf] of this.leaves) {
      const base = leafNo * LEAF_SIZE;
      if (base + LEAF_SIZE <= first || base >= end) continue;
      const from = Math.max(first, base) - base;
      const to = Math.min(end, base + LEAF_SIZE) - base;
      // A whole leaf stops at its last present page: an object that touched a page or two does not scan 512 slots.
      let left = from === 0 && to === LEAF_SIZE ? leaf.present : LEAF_SIZE;
      for (let slot = from; slot < to && left > 0; slot += 1) {
        const stored = leaf.frames[slot] ?? 0;
        if (stored === 0) continue;
        // Released first: a release that throws leaves the page in the table, still held.
        release(stored - 1, leaf.tags?.[slot] as C);
        left -= 1;
        leaf.frames[slot] = 0;
        if (leaf.tags !== undefined) leaf.tags[slot] = undefined;
        leaf.present -= 1;
        this.count -= 1;
      }
      if (leaf.present === 0) this.leaves.delete(leafNo);
    }
  }

  /**
   * Takes every frame out of the table, handing each to `release` with its
   * tag; the table is empty afterwards. A release that throws leaves its
   * page and those not reached yet in the table (see removeRange).
   */
  clear(release: FrameRelease<C>): void {
    this.removeRange(0, Number.MAX_SAFE_INTEGER, release);
    this.leaves = undefined;
  }

  /** Gives every frame back to the MemoryFile; the table is empty afterwards. */
  release(): void {
    const mf = this.mf;
    this.clear((frame) => mf.decRef(frame));
  }

  /** The frame behind `page`, allocating a zeroed one on first touch; -1 when memory is exhausted. */
  private touch(page: number): number {
    const leaf = this.leafFor(page);
    const slot = page & LEAF_MASK;
    const stored = leaf.frames[slot] ?? 0;
    return stored !== 0 ? stored - 1 : this.allocateAt(leaf, slot);
  }

  /**
   * Allocates a zeroed frame for the untouched page at `slot` of `leaf`;
   * -1 when memory is exhausted, REFUSED when the page's memory cgroup
   * refuses it (a page past the first of a run is charged speculatively).
   */
  private allocateAt(leaf: Leaf<C>, slot: number, speculative = false): number {
    if (this.charges !== undefined) return this.allocateCharged(leaf, slot, speculative);
    const frame = this.mf.allocate(true, this.arena);
    if (frame < 0) return -1;
    if (slot >= leaf.frames.length) grow(leaf);
    leaf.frames[slot] = frame + 1;
    leaf.present += 1;
    this.count += 1;
    return frame;
  }

  /** allocateAt for private memory: the current task's cgroup pays first, and the page keeps it as its tag. */
  private allocateCharged(leaf: Leaf<C>, slot: number, speculative: boolean): number {
    const charges = this.charges as PageCharges;
    const target = charges.current();
    if (!target.tryCharge(1, speculative)) {
      if (!speculative) charges.refused();
      return REFUSED;
    }
    const frame = this.mf.allocate(true, this.arena);
    if (frame < 0) {
      target.uncharge(1);
      return -1;
    }
    if (slot >= leaf.frames.length) grow(leaf);
    leaf.frames[slot] = frame + 1;
    (leaf.tags ??= new Array<C | undefined>(LEAF_SIZE))[slot] = target as C;
    leaf.present += 1;
    this.count += 1;
    return frame;
  }

  /** The leaf of `page`, made or grown so that it has the page's slot. */
  private leafFor(page: number): Leaf<C> {
    const leafNo = Math.floor(page / LEAF_SIZE);
    const leaves = (this.leaves ??= new Map<number, Leaf<C>>());
    let leaf = leaves.get(leafNo);
    if (leaf === undefined) {
      leaf = { frames: new Int32Array(SMALL_LEAF), tags: undefined, present: 0 };
      leaves.set(leafNo, leaf);
    }
    if ((page & LEAF_MASK) >= leaf.frames.length) grow(leaf);
    return leaf;
  }
}

/** A small leaf made full-size, its slots kept. */
function grow(leaf: { frames: Int32Array }): void {
  const frames = new Int32Array(LEAF_SIZE);
  frames.set(leaf.frames);
  leaf.frames = frames;
}
