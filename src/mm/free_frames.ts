/**
 * The MemoryFile's pool of free frames. Allocation always takes the lowest
 * free frame, so pages claimed one after another (a file written in order, a
 * segment touched in order) get consecutive frames, which the copy paths
 * turn into one typed-array operation per run.
 *
 * Kept as a three-level bitmap: bit f of level 0 is set while frame f is
 * free, and a bit of each higher level is set while the word of the level
 * below it names has any bit set. Taking the lowest free frame is then a
 * lowest-set-bit lookup per level, where a binary heap needed a sift down
 * whose branches the CPU could not predict (the costliest step of a tmpfs
 * write claiming a reused page). The top level is scanned from the lowest
 * word that may be non-zero; it has one word per 32768 frames.
 *
 * Owner: one MemoryFile, which serializes access.
 */

/** Index of the lowest set bit of a non-zero 32-bit word. */
function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** Frames that are free for reuse, lowest first. */
export class FreeFrames {
  private level0 = new Int32Array(0);
  private level1 = new Int32Array(0);
  private level2 = new Int32Array(0);
  /** Every level-2 word below this one is zero. */
  private lowWord = 0;
  private count = 0;

  /** How many frames are free. */
  get size(): number {
    return this.count;
  }

  /** Adds `frame` (a non-negative integer below 2^31 that is not free now). */
  push(frame: number): void {
    if (frame >= this.level0.length * 32) this.grow(frame + 1);
    const w0 = frame >>> 5;
    const w1 = w0 >>> 5;
    const w2 = w1 >>> 5;
    const bit = 1 << (frame & 31);
    const had = this.level0[w0] as number;
    if ((had & bit) !== 0) throw new Error(`FreeFrames: frame ${frame} is already free`);
    this.level0[w0] = had | bit;
    this.level1[w1] = (this.level1[w1] as number) | (1 << (w0 & 31));
    this.level2[w2] = (this.level2[w2] as number) | (1 << (w1 & 31));
    if (w2 < this.lowWord) this.lowWord = w2;
    this.count += 1;
  }

  /** Removes and returns the lowest free frame. Precondition: size > 0. */
  pop(): number {
    const level2 = this.level2;
    let w2 = this.lowWord;
    while (level2[w2] === 0) w2 += 1;
    this.lowWord = w2;
    const word2 = level2[w2] as number;
    const w1 = (w2 << 5) | lowestBit(word2);
    const word1 = this.level1[w1] as number;
    const w0 = (w1 << 5) | lowestBit(word1);
    const word0 = this.level0[w0] as number;
    const low = lowestBit(word0);
    const left0 = word0 & (word0 - 1);
    this.level0[w0] = left0;
    if (left0 === 0) {
      const left1 = word1 & (word1 - 1);
      this.level1[w1] = left1;
      if (left1 === 0) level2[w2] = word2 & (word2 - 1);
    }
    this.count -= 1;
    return (w0 << 5) | low;
  }

  /** Makes room for frames [0, frames), doubling so pushes stay amortized O(1). */
  private grow(frames: number): void {
    const words0 = Math.max(Math.ceil(frames / 32), this.level0.length * 2);
    const words1 = Math.ceil(words0 / 32);
    const words2 = Math.ceil(words1 / 32);
    this.level0 = widened(this.level0, words0);
    this.level1 = widened(this.level1, words1);
    this.level2 = widened(this.level2, words2);
  }
}

function widened(words: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  if (length <= words.length) return words;
  const out = new Int32Array(length);
  out.set(words);
  return out;
}
