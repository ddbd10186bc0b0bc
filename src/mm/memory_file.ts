/**
 * MemoryFile: the simulated physical memory every Mappable draws its pages
 * from, after gVisor's pgalloc.MemoryFile.
 *
 * Memory is a set of equally sized chunks, each one SharedArrayBuffer (so
 * workers can share it) or, where SharedArrayBuffer is unavailable, an
 * ArrayBuffer. A frame is a page-sized slot named by a plain integer: frame f
 * lives in chunk f >> chunkShift at byte (f & frameMask) * PAGE_SIZE. Chunks
 * are created on demand, and frames are never moved, so a frame number stays
 * valid for as long as someone holds a reference to it.
 *
 * Ownership: whoever allocates a frame holds its first reference; a Mappable
 * holds one reference per page it has populated. When the last reference goes,
 * the frame returns to the free pool.
 */

import { PAGE_SIZE } from '../abi/constants.js';
import { FreeFrames } from './free_frames.js';
import { FutexQueue } from './futex.js';
import { MAX_WORKER_THREADS } from './inflight.js';

/** Options for a MemoryFile. */
export interface MemoryFileOptions {
  /** Bytes per chunk: a power of two, at least one page. Default 16 MiB. */
  readonly chunkBytes?: number;
  /** The simulated RAM size in frames. Default 24 GiB worth. */
  readonly maxFrames?: number;
  /**
   * When set, freed frames are filled with this byte value, so tests catch
   * anyone still reading a frame after its last reference went.
   */
  readonly poisonFreed?: number;
  /**
   * Makes the buffer of a new chunk (default: a SharedArrayBuffer, or an
   * ArrayBuffer where there is none). A RangeError from it, as the host's
   * allocation failure throws, means no memory: allocate returns -1, as when
   * the simulated RAM runs out. Tests inject a failing one here.
   */
  readonly allocateChunk?: ChunkAllocator;
}

/** Makes a chunk's buffer of `bytes` bytes, or throws a RangeError when the host has no memory for it. */
export type ChunkAllocator = (bytes: number) => ArrayBufferLike;

/** The default ChunkAllocator. */
export function hostChunk(bytes: number): ArrayBufferLike {
  return typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/**
 * Decides when a freed frame may be reused. Threads outside the kernel
 * thread access frames through cached translations; a frame whose last
 * reference goes while such an access is in flight must keep its bytes
 * until that access ends, as a real kernel waits for a TLB shootdown before
 * it frees pages.
 */
export interface ReclaimGate {
  /**
   * The accesses in flight now, or undefined when there are none (the frame
   * is freed at once). Returns the same object while the set is unchanged,
   * so frames freed together are held back together.
   */
  inFlight(): object | undefined;
  /** Whether every access in `inFlight` (a value inFlight returned) has ended. */
  finished(inFlight: object): boolean;
}

const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_FRAMES = (24 * 1024 * 1024 * 1024) / PAGE_SIZE;

/** Per-chunk storage: the bytes, an Int32 view of them for Atomics, and the frame refcounts. */
interface Chunk {
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  readonly refs: Uint32Array;
}

/** Physical memory: page frames with reference counts and usage accounting. */
export class MemoryFile {
  /** The simulated RAM size in frames; allocate fails beyond it. */
  readonly totalFrames: number;
  /** Frames per chunk, as a shift: frame f is in chunk f >> chunkShift. */
  readonly chunkShift: number;
  private readonly frameMask: number;
  private readonly framesPerChunk: number;
  private readonly poison: number | undefined = undefined;
  /** Makes chunk buffers; replaceable, so a test can make the host run out of memory part-way. */
  allocateChunk: ChunkAllocator;
  private readonly chunks: Chunk[] = [];
  private futexes: FutexQueue | undefined = undefined;
  /** The lowest frame number never handed out; frames at or above it sit in fresh, zeroed memory. */
  private bump = 0;
  /** Freed frames; reuse takes the lowest, so frames claimed in a row stay consecutive. */
  private readonly freeFrames = new FreeFrames();
  private allocated = 0;
  /** Holds freed frames back from reuse while other threads may still access them; see setReclaimGate. */
  private gate: ReclaimGate | undefined = undefined;
  /** Retired frames, in batches that share one set of in-flight accesses. */
  private readonly limbo: Array<{ readonly inFlight: object; readonly frames: number[] }> = [];

  constructor(options: MemoryFileOptions = {}) {
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isInteger(chunkBytes) || chunkBytes < PAGE_SIZE || (chunkBytes & (chunkBytes - 1)) !== 0) {
      throw new RangeError(`MemoryFile chunkBytes must be a power of two of at least ${PAGE_SIZE}, got ${chunkBytes}`);
    }
    const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
    if (!Number.isInteger(maxFrames) || maxFrames < 0 || maxFrames > 2 ** 31 - 1) {
      throw new RangeError(`MemoryFile maxFrames must be an integer in [0, 2^31), got ${maxFrames}`);
    }
    this.framesPerChunk = chunkBytes / PAGE_SIZE;
    this.chunkShift = Math.log2(this.framesPerChunk);
    this.frameMask = this.framesPerChunk - 1;
    this.totalFrames = maxFrames;
    this.poison = options.poisonFreed;
    this.allocateChunk = options.allocateChunk ?? hostChunk;
  }

  /** Frames currently holding at least one reference, or retired and not yet reusable (see reclaim). */
  get allocatedFrames(): number {
    return this.allocated;
  }

  /** Bytes of backing buffers created so far (chunks are never released). */
  get reservedBytes(): number {
    return this.chunks.length * this.framesPerChunk * PAGE_SIZE;
  }

  /** One past the highest frame ever handed out: frames from here up were never touched. */
  get frameLimit(): number {
    return this.bump;
  }

  /**
   * Checkpoint restore: frames [0, limit) come to exist, those in the `held`
   * runs (ascending and disjoint) with one reference each and their bytes
   * zeroed, for the caller to fill, and the others free. Only a MemoryFile
   * that never allocated may be restored into.
   * @internal
   */
  restoreFrames(limit: number, held: ReadonlyArray<{ readonly firstFrame: number; readonly count: number }>): void {
    if (this.bump !== 0 || this.allocated !== 0) throw new Error('MemoryFile.restoreFrames: frames were already handed out');
    if (!Number.isInteger(limit) || limit < 0 || limit > this.totalFrames) {
      throw new RangeError(`MemoryFile.restoreFrames: ${limit} frames do not fit in ${this.totalFrames}`);
    }
    while (this.chunks.length * this.framesPerChunk < limit) this.chunks.push(this.newChunk(true)!);
    this.bump = limit;
    let next = 0;
    for (const { firstFrame, count } of held) {
      const end = firstFrame + count;
      if (!Number.isInteger(firstFrame) || !Number.isInteger(count) || count <= 0 || firstFrame < next || end > limit) {
        throw new RangeError(`MemoryFile.restoreFrames: frames ${firstFrame}..${end - 1} are not ascending inside ${limit}`);
      }
      for (let f = next; f < firstFrame; f++) this.freeFrames.push(f);
      for (let f = firstFrame; f < end; ) {
        const n = this.contiguousInChunk(f, end - f);
        const i = f & this.frameMask;
        this.chunkOf(f).refs.fill(1, i, i + n);
        f += n;
      }
      this.allocated += count;
      next = end;
    }
    for (let f = next; f < limit; f++) this.freeFrames.push(f);
  }

  /**
   * Allocates one zeroed frame with a reference count of 1, or returns -1 when
   * the simulated RAM is exhausted (the caller turns that into ENOMEM/SIGBUS).
   * With `clear` false a reused frame keeps its old bytes: for a caller that
   * overwrites or zeroes every byte before anyone can see the frame (a tmpfs
   * write, as shmem_write_begin skips clearing a new page).
   */
  allocate(clear = true): number {
    if (this.limbo.length > 0) this.reclaim();
    let frame: number;
    if (this.freeFrames.size > 0) {
      // A reused frame still holds its previous owner's bytes (or the poison).
      frame = this.freeFrames.pop();
      // A copy from a zero page, not fill(0) (why: see "Hot paths" in docs/architecture.md).
      if (clear) this.zero(frame, 0, PAGE_SIZE);
    } else {
      if (this.bump >= this.totalFrames) {
        return -1;
      }
      // The chunk comes first: a host allocation failure leaves everything as it was.
      if (this.bump >> this.chunkShift === this.chunks.length) {
        const chunk = this.newChunk(false);
        if (chunk === undefined) return -1;
        this.chunks.push(chunk);
      }
      frame = this.bump++;
    }
    this.chunkOf(frame).refs[frame & this.frameMask] = 1;
    this.allocated++;
    return frame;
  }

  /**
   * A new chunk, or undefined when the host cannot allocate it (a RangeError
   * from allocateChunk or the views); `must` turns that into a throw, for
   * callers with no failure to report (checkpoint restore checks its size first).
   */
  private newChunk(must: boolean): Chunk | undefined {
    try {
      const buffer = this.allocateChunk(this.framesPerChunk * PAGE_SIZE);
      if (buffer.byteLength !== this.framesPerChunk * PAGE_SIZE)
        throw new Error(`MemoryFile: a chunk buffer of ${buffer.byteLength} bytes, not ${this.framesPerChunk * PAGE_SIZE}`);
      return chunkOver(buffer, this.framesPerChunk);
    } catch (e) {
      if (must || !(e instanceof RangeError)) throw e;
      return undefined;
    }
  }

  /** Adds a reference to an allocated frame. */
  incRef(frame: number): void {
    const refs = this.chunkOf(frame).refs;
    const i = frame & this.frameMask;
    const n = refs[i] ?? 0;
    if (n === 0) {
      throw new Error(`MemoryFile.incRef: frame ${frame} is free`);
    }
    refs[i] = n + 1;
  }

  /** Drops a reference; the frame returns to the free pool when none remain. */
  decRef(frame: number): void {
    const chunk = this.chunkOf(frame);
    const i = frame & this.frameMask;
    const n = chunk.refs[i] ?? 0;
    if (n === 0) {
      throw new Error(`MemoryFile.decRef: frame ${frame} is already free`);
    }
    chunk.refs[i] = n - 1;
    if (n === 1) {
      const inFlight = this.gate?.inFlight();
      if (inFlight !== undefined) {
        this.retire(frame, inFlight);
        return;
      }
      this.free(chunk, i, frame);
    }
  }

  /**
   * Installs (or, with undefined, removes) the gate that holds freed frames
   * back from reuse while another thread may still be using a translation
   * to them. Removing it does not release frames already held back.
   * @internal
   */
  setReclaimGate(gate: ReclaimGate | undefined): void {
    this.gate = gate;
  }

  /** Frames whose last reference went while an access was in flight, not yet reusable. */
  get retiredFrames(): number {
    let n = 0;
    for (const batch of this.limbo) n += batch.frames.length;
    return n;
  }

  /**
   * Returns to the free pool every retired frame whose in-flight accesses
   * have all finished (poisoning it first when poisonFreed is set).
   */
  reclaim(): void {
    let kept = 0;
    for (const batch of this.limbo) {
      if (this.gate !== undefined && !this.gate.finished(batch.inFlight)) {
        this.limbo[kept++] = batch;
        continue;
      }
      for (const frame of batch.frames) this.free(this.chunkOf(frame), frame & this.frameMask, frame);
    }
    this.limbo.length = kept;
  }

  /** The reference count of `frame`; 0 for a free or never-used frame. */
  refCount(frame: number): number {
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.bump) {
      return 0;
    }
    return this.chunkOf(frame).refs[frame & this.frameMask] ?? 0;
  }

  /**
   * The futex wait queue for words in these frames: the kernel thread uses
   * slot KERNEL_THREAD_SLOT, worker threads the slots their platform gives
   * them (FUTEX_THREADS in all).
   * @internal
   */
  get futexQueue(): FutexQueue {
    return (this.futexes ??= FutexQueue.create(FUTEX_THREADS));
  }

  /** Zeroes `length` bytes of `frame` from byte `from` (within the frame). */
  zero(frame: number, from: number, length: number): void {
    this.chunkOf(frame).bytes.set(length === PAGE_SIZE ? ZERO_PAGE : ZERO_PAGE.subarray(0, length), this.byteOffset(frame) + from);
  }

  /** The whole chunk holding `frame`; the frame's bytes start at byteOffset(frame). */
  chunkBytes(frame: number): Uint8Array {
    return this.chunkOf(frame).bytes;
  }

  /** An Int32 view of the whole chunk holding `frame`, for Atomics (index = byte offset / 4). */
  int32View(frame: number): Int32Array {
    return this.chunkOf(frame).words;
  }

  /** The byte offset of `frame` inside its chunk. */
  byteOffset(frame: number): number {
    return (frame & this.frameMask) * PAGE_SIZE;
  }

  /** How many of the `pages` frames starting at `frame` lie in the same chunk as `frame`. */
  contiguousInChunk(frame: number, pages: number): number {
    return Math.min(pages, this.framesPerChunk - (frame & this.frameMask));
  }

  /** Holds `frame` back until the accesses in `inFlight` have finished. */
  private retire(frame: number, inFlight: object): void {
    const last = this.limbo[this.limbo.length - 1];
    if (last !== undefined && last.inFlight === inFlight) last.frames.push(frame);
    else this.limbo.push({ inFlight, frames: [frame] });
  }

  /** A frame with no references left goes back to the pool. */
  private free(chunk: Chunk, i: number, frame: number): void {
    if (this.poison !== undefined) chunk.bytes.fill(this.poison, i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
    this.allocated--;
    this.freeFrames.push(frame);
  }

  private chunkOf(frame: number): Chunk {
    const chunk = this.chunks[frame >> this.chunkShift];
    if (chunk === undefined || !Number.isInteger(frame) || frame < 0 || frame >= this.bump) {
      throw new RangeError(`MemoryFile: frame ${frame} was never allocated`);
    }
    return chunk;
  }
}

/** Threads the futex queue has slots for: the kernel thread (KERNEL_THREAD_SLOT, 0) and every worker. */
export const FUTEX_THREADS = MAX_WORKER_THREADS + 1;

/** The source of every frame clearing. */
const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/** A fresh chunk: shared memory when the platform allows it, zero-filled either way. */
function chunkOver(buffer: ArrayBufferLike, frames: number): Chunk {
  return {
    bytes: new Uint8Array(buffer),
    words: new Int32Array(buffer),
    refs: new Uint32Array(frames),
  };
}
