/**
 * The sparse page table of one tmpfs file: which MemoryFile frame holds each
 * page, and which memory cgroup paid for it. Like Shm's table it is a Map of
 * fixed-size leaves made on first touch, so a 1 GiB sparse file holds no
 * leaves at all.
 */
import type { MemoryCharge } from '../memcg/charge.js';

const LEAF_SIZE = 512;
const LEAF_MASK = LEAF_SIZE - 1;

/** One leaf: frame + 1 per slot (0 = hole), and the charge target of each present page. */
interface Leaf {
  readonly frames: Int32Array;
  readonly charges: (MemoryCharge | undefined)[];
  present: number;
}

/** Receives a page taken out of the table: its frame and the cgroup it was charged to. */
export type PageRelease = (frame: number, charge: MemoryCharge) => void;

/**
 * Page number → (frame, charge target), sparse. Page numbers reach 2^41, past
 * int32, so leaves are found with division; `& LEAF_MASK` stays exact because
 * ToInt32 keeps the low bits.
 */
export class PageTable {
  private readonly leaves = new Map<number, Leaf>();
  private count = 0;

  /** Pages present. */
  get size(): number {
    return this.count;
  }

  /** The frame of `page`, or -1 for a hole. */
  frameAt(page: number): number {
    const leaf = this.leaves.get(Math.floor(page / LEAF_SIZE));
    if (leaf === undefined) return -1;
    return (leaf.frames[page & LEAF_MASK] ?? 0) - 1;
  }

  /**
   * How many pages from `page` (which holds `frame`), up to `end`, hold
   * consecutive frames: at least 1. Walks each leaf's slots directly, one
   * leaf lookup per LEAF_SIZE pages; a hole ends the run.
   */
  runLength(page: number, frame: number, end: number): number {
    let n = 1;
    while (page + n < end) {
      const leaf = this.leaves.get(Math.floor((page + n) / LEAF_SIZE));
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

  /** Records `frame` for the hole at `page`, charged to `charge`. */
  insert(page: number, frame: number, charge: MemoryCharge): void {
    const leafNo = Math.floor(page / LEAF_SIZE);
    let leaf = this.leaves.get(leafNo);
    if (leaf === undefined) {
      leaf = { frames: new Int32Array(LEAF_SIZE), charges: new Array<MemoryCharge | undefined>(LEAF_SIZE), present: 0 };
      this.leaves.set(leafNo, leaf);
    }
    const slot = page & LEAF_MASK;
    if (leaf.frames[slot] !== 0) throw new Error(`page ${page} already holds frame ${(leaf.frames[slot] ?? 0) - 1}`);
    leaf.frames[slot] = frame + 1;
    leaf.charges[slot] = charge;
    leaf.present += 1;
    this.count += 1;
  }

  /** Calls `fn` with every present page, its frame and its charge target, in page order. */
  forEach(fn: (page: number, frame: number, charge: MemoryCharge) => void): void {
    for (const leafNo of [...this.leaves.keys()].sort((a, b) => a - b)) {
      const leaf = this.leaves.get(leafNo) as Leaf;
      for (let slot = 0; slot < LEAF_SIZE; slot += 1) {
        const stored = leaf.frames[slot] ?? 0;
        const charge = leaf.charges[slot];
        if (stored !== 0 && charge !== undefined) fn(leafNo * LEAF_SIZE + slot, stored - 1, charge);
      }
    }
  }

  /** Takes every present page in [first, end) out of the table, handing each to `release`. */
  removeRange(first: number, end: number, release: PageRelease): void {
    if (first >= end) return;
    // Deleting the current entry while iterating a Map is safe.
    for (const [leafNo, leaf] of this.leaves) {
      const base = leafNo * LEAF_SIZE;
      if (base + LEAF_SIZE <= first || base >= end) continue;
      const from = Math.max(first, base) - base;
      const to = Math.min(end, base + LEAF_SIZE) - base;
      for (let slot = from; slot < to; slot += 1) {
        const stored = leaf.frames[slot] ?? 0;
        if (stored === 0) continue;
        const charge = leaf.charges[slot];
        if (charge === undefined) throw new Error(`page ${base + slot} has a frame but no charge target`);
        leaf.frames[slot] = 0;
        leaf.charges[slot] = undefined;
        leaf.present -= 1;
        this.count -= 1;
        release(stored - 1, charge);
      }
      if (leaf.present === 0) this.leaves.delete(leafNo);
    }
  }

  /** Takes every page out of the table. */
  clear(release: PageRelease): void {
    this.removeRange(0, Number.MAX_SAFE_INTEGER, release);
  }
}
