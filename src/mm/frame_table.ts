/**
 * The frames behind a memory object's pages (a shm segment, anonymous
 * memory): page → MemoryFile frame, allocated zeroed on first touch and
 * given back when the object goes. Sparse: a Map of 512-entry leaves made on
 * first use, so an untouched object of any size holds nothing.
 *
 * Not thread-safe; the owner serializes access (translate runs under the
 * address space's mappingMu).
 */
import type { BusError, Translation } from './memmap.js';
import type { MemoryFile } from './memory_file.js';

const LEAF_SIZE = 512;
const LEAF_MASK = LEAF_SIZE - 1;

/** page → frame for one object; each present frame holds one MemoryFile reference owned by the table. */
export class FrameTable {
  /** Leaves by leaf number; each slot holds frame + 1, or 0 for an untouched page. */
  private leaves: Map<number, Int32Array> | undefined = undefined;
  private count = 0;

  constructor(private readonly mf: MemoryFile) {}

  /** Pages that hold a frame. */
  get residentPages(): number {
    return this.count;
  }

  /**
   * The run of consecutive frames behind pages [page, page+n), n ≤ maxPages
   * and page+n ≤ limit, allocating on first touch; a BusError when memory is
   * exhausted at `page`. Precondition: page < limit.
   */
  run(page: number, maxPages: number, limit: number): Translation | BusError {
    const first = this.touch(page);
    if (first < 0) return { bus: true, reason: 'out of memory' };
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
        const stored = leaf[slot] ?? 0;
        const frame = stored !== 0 ? stored - 1 : this.allocateAt(leaf, slot);
        if (frame !== first + n) return { page, frame: first, pages: n };
        n += 1;
      }
    }
    return { page, frame: first, pages: n };
  }

  /** Calls `fn` with every touched page and its frame, in page order. */
  forEach(fn: (page: number, frame: number) => void): void {
    if (this.leaves === undefined) return;
    for (const leafNo of [...this.leaves.keys()].sort((a, b) => a - b)) {
      const leaf = this.leaves.get(leafNo) as Int32Array;
      for (let slot = 0; slot < LEAF_SIZE; slot += 1) {
        const stored = leaf[slot] ?? 0;
        if (stored !== 0) fn(leafNo * LEAF_SIZE + slot, stored - 1);
      }
    }
  }

  /** Records that untouched `page` is held in `frame`, whose reference the table now owns (checkpoint restore, fork copies). */
  adopt(page: number, frame: number): void {
    const leaf = this.leafFor(page);
    const slot = page & LEAF_MASK;
    if (leaf[slot] !== 0) throw new Error(`page ${page} already holds frame ${(leaf[slot] ?? 0) - 1}`);
    leaf[slot] = frame + 1;
    this.count += 1;
  }

  /** Gives every frame back to the MemoryFile; the table is empty afterwards. */
  release(): void {
    if (this.leaves === undefined) return;
    for (const leaf of this.leaves.values()) {
      for (let slot = 0; slot < LEAF_SIZE; slot += 1) {
        const stored = leaf[slot] ?? 0;
        if (stored !== 0) this.mf.decRef(stored - 1);
      }
    }
    this.leaves = undefined;
    this.count = 0;
  }

  /** The frame behind `page`, allocating a zeroed one on first touch; -1 when memory is exhausted. */
  private touch(page: number): number {
    const leaf = this.leafFor(page);
    const slot = page & LEAF_MASK;
    const stored = leaf[slot] ?? 0;
    return stored !== 0 ? stored - 1 : this.allocateAt(leaf, slot);
  }

  /** Allocates a zeroed frame for the untouched page at `slot` of `leaf`; -1 when memory is exhausted. */
  private allocateAt(leaf: Int32Array, slot: number): number {
    const frame = this.mf.allocate();
    if (frame < 0) return -1;
    leaf[slot] = frame + 1;
    this.count += 1;
    return frame;
  }

  private leafFor(page: number): Int32Array {
    const leafNo = Math.floor(page / LEAF_SIZE);
    const leaves = (this.leaves ??= new Map<number, Int32Array>());
    let leaf = leaves.get(leafNo);
    if (leaf === undefined) {
      leaf = new Int32Array(LEAF_SIZE);
      leaves.set(leafNo, leaf);
    }
    return leaf;
  }
}
