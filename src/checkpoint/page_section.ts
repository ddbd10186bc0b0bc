/**
 * The page section of an image, both ways: the frames objects hold, as runs
 * of consecutive frames, copied out of a kernel's MemoryFile on checkpoint,
 * and on restore handed to a new one, which copies each frame out of the
 * image into its object's arena when the object adopts it. On checkpoint
 * each piece of at most PIECE_FRAMES frames is hashed right after it is
 * copied, while it is still in cache, instead of in a second pass over
 * memory: this loop and restore's copies are where checkpoint and restore
 * spend their time.
 */
import { PAGE_SIZE } from '../abi/constants.js';
import { copyBytes } from '../mm/copy.js';
import type { MemoryFile } from '../mm/memory_file.js';
import { SectionHasher } from './checksum.js';
import type { ImageSections } from './format.js';
import { FORMAT_VERSION, PIECE_FRAMES, RUN_HEADER_BYTES } from './format.js';

/** [first frame, count] of each run of held frames, in frame order. */
export type FrameRun = readonly [number, number];

/** The runs of consecutive frames marked in `held`. */
export function frameRuns(held: Uint8Array): FrameRun[] {
  const runs: [number, number][] = [];
  for (let f = 0; f < held.length; ) {
    if (held[f] === 0) {
      f += 1;
      continue;
    }
    const first = f;
    while (f < held.length && held[f] !== 0) f += 1;
    runs.push([first, f - first]);
  }
  return runs;
}

/** The bytes the page section of `runs` takes. */
export function pageSectionBytes(runs: readonly FrameRun[]): number {
  let bytes = 0;
  for (const [, count] of runs) bytes += RUN_HEADER_BYTES + count * PAGE_SIZE;
  return bytes;
}

/**
 * Writes the page section of `runs` into `image` at `start` (pageBytes
 * long), copying the frames out of `mf`; gives the section's checksum
 * (format FORMAT_VERSION).
 */
export function writePageSection(image: Uint8Array, start: number, pageBytes: number, runs: readonly FrameRun[], mf: MemoryFile): number {
  const view = new DataView(image.buffer);
  const sum = new SectionHasher(image, start, start + pageBytes, FORMAT_VERSION);
  let at = start;
  for (const [first, count] of runs) {
    view.setUint32(at, first, true);
    view.setUint32(at + 4, count, true);
    at += RUN_HEADER_BYTES;
    // A run of frames may cross from one MemoryFile chunk to the next.
    for (let f = first, left = count; left > 0; ) {
      const n = Math.min(mf.contiguousInChunk(f, left), PIECE_FRAMES);
      const from = mf.byteOffset(f);
      copyBytes(image, at, mf.chunkBytes(f), from, n * PAGE_SIZE);
      at += n * PAGE_SIZE;
      f += n;
      left -= n;
      sum.upTo(at);
    }
  }
  return sum.digest();
}

/**
 * Makes the frames of the image exist in the new kernel's MemoryFile. Their
 * bytes stay in the image until their objects adopt them: each is copied
 * once, straight into its object's arena (MemoryFile.restoreFrames). When
 * the page checksum was left to this step, the page section is hashed here;
 * false when it does not match its checksum.
 */
export function readPageSection(mf: MemoryFile, sections: ImageSections, image: Uint8Array, frameLimit: number): boolean {
  const { runs, pendingPages } = sections;
  mf.restoreFrames(frameLimit, runs, image);
  if (pendingPages === undefined) return true;
  const sum = new SectionHasher(image, pendingPages.start, pendingPages.end, pendingPages.version);
  return sum.digest() === pendingPages.checksum;
}
