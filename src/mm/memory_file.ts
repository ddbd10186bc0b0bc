/**
 * MemoryFile: the simulated physical memory every Mappable draws its pages
 * from, after gVisor's pgalloc.MemoryFile.
 *
 * A frame is a page of memory named by a plain integer, its frame number.
 * Numbers are handed out as before arenas existed: the lowest free number,
 * else the next never used, so the numbers a checkpoint image records do not
 * depend on where the bytes live. The bytes live in a slot of a chunk, each
 * chunk one SharedArrayBuffer (so workers can share it) or, where
 * SharedArrayBuffer is unavailable, an ArrayBuffer.
 *
 * Chunks belong to arenas. Every memory object (a segment, a tmpfs file,
 * anonymous memory: the owner of a FrameTable) has its own Arena, whose
 * chunks start small and double up to chunkBytes, and a frame of an object
 * always sits in a slot of the object's arena: a freed slot is reused only
 * by the same arena. So a thread given an arena's chunks reaches that
 * object's bytes and no other object's. A chunk leaves its arena (to be
 * reused by any arena) only when the arena holds no frame in it and no live
 * thread holds it (holdChunk/releaseChunk); its old bytes are cleared
 * whole when an allocation needing a cleared page takes it, and otherwise
 * slot by slot, the rest before a thread is given it (takeSlot, holdChunk).
 * A slot is named by slot = chunk id << chunkShift | index; threads see
 * slots, never frame numbers. allocate() without an arena uses the MemoryFile's default
 * arena of full-size chunks (tests). Checkpoint restore leaves a frame's
 * bytes in the image until FrameTable.adopt places it in its table's arena
 * (restoreFrames).
 *
 * When its kernel is disposed (dispose), a MemoryFile's chunks go to a
 * process-wide pool the next MemoryFile takes from before asking the host
 * (a property test makes thousands of small kernels); a chunk a thread
 * still holds goes only once the last holder released it, and a pooled
 * buffer's old bytes are cleared as a reused chunk's are.
 *
 * Ownership: whoever allocates a frame holds its first reference; a Mappable
 * holds one reference per page it has populated. When the last reference goes,
 * the frame returns to the free pool.
 */

import { PAGE_SIZE } from '../abi/constants.js';
import { hostMonotonic } from '../sync/monotonic.js';
import { copyBytes } from './copy.js';
import { FreeFrames } from './free_frames.js';
import { FutexQueue } from './futex.js';
import { MAX_WORKER_THREADS } from './inflight.js';
import type { PageCharges } from './memmap.js';

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
 * The process-wide pool: buffers of disposed MemoryFiles (see
 * MemoryFile.dispose), by byte length, that a MemoryFile using hostChunk
 * takes before it asks the host for a new one. Making and zeroing a
 * SharedArrayBuffer costs the host far more than clearing a used one, and
 * a property test makes a fresh kernel thousands of times. A buffer enters
 * only once no live thread holds it, and leaves its MemoryFile's chunks for
 * good, so no two kernels ever share one. Capped at POOL_LIMIT_BYTES: past
 * it, released buffers are left to the garbage collector.
 */
const sharedPool = new Map<number, ArrayBufferLike[]>();
let sharedPoolBytes = 0;
/** The most bytes the process-wide pool keeps. */
const POOL_LIMIT_BYTES = 64 * 1024 * 1024;

/** Bytes of chunk buffers waiting in the process-wide pool, owned by no MemoryFile. */
export function pooledChunkBytes(): number {
  return sharedPoolBytes;
}

/**
 * Lets the process-wide pool's buffers go to the garbage collector (a test
 * that measures from an empty pool, or a caller done with kernels).
 */
export function drainChunkPool(): void {
  sharedPool.clear();
  sharedPoolBytes = 0;
}

/** A buffer of `bytes` bytes from the process-wide pool, or undefined; its bytes are stale. */
function fromSharedPool(bytes: number): ArrayBufferLike | undefined {
  const buffer = sharedPool.get(bytes)?.pop();
  if (buffer !== undefined) sharedPoolBytes -= bytes;
  return buffer;
}

/** `buffer`, which nothing can reach any more but the caller, joins the process-wide pool (unless full). */
function toSharedPool(buffer: ArrayBufferLike): void {
  const bytes = buffer.byteLength;
  if (sharedPoolBytes + bytes > POOL_LIMIT_BYTES) return;
  let sized = sharedPool.get(bytes);
  if (sized === undefined) {
    sized = [];
    sharedPool.set(bytes, sized);
  }
  sized.push(buffer);
  sharedPoolBytes += bytes;
}

/** What a MemoryFile made without `allocateChunk` uses (see withDefaultChunkAllocator). */
let defaultChunkAllocator: ChunkAllocator = hostChunk;

/**
 * Runs `fn` with `allocate` as the chunk allocator of every MemoryFile made
 * without one while it runs, then puts the default back (even when `fn`
 * throws). For tests of a call that makes its own MemoryFile, as checkpoint
 * restore does, where the host refuses memory part-way.
 * @internal
 */
export function withDefaultChunkAllocator<T>(allocate: ChunkAllocator, fn: () => T): T {
  const before = defaultChunkAllocator;
  defaultChunkAllocator = allocate;
  try {
    return fn();
  } finally {
    defaultChunkAllocator = before;
  }
}

/**
 * The host could not allocate a chunk where the caller had no failure to
 * report (checkpoint restore placing a frame of its image): thrown, for the
 * entry point to turn into its own ENOMEM. `frame` is the frame being
 * placed, when there was one. A RangeError, as the host's own failure is.
 */
export class HostOutOfMemory extends RangeError {
  constructor(
    readonly frame: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'HostOutOfMemory';
  }
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
  /** Whether every access in `inFlight` has ended or waits for this thread's answer (finished when absent). */
  settled?(inFlight: object): boolean;
}

const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_FRAMES = (24 * 1024 * 1024 * 1024) / PAGE_SIZE;

/** The most frames a MemoryFile numbers (frame numbers are non-negative int32s). */
export const MAX_FRAMES = 2 ** 31 - 1;

/** The largest chunk a MemoryFile takes, and so the largest a Kernel or a checkpoint's restore takes. */
export const MAX_CHUNK_BYTES = 2 ** 30;

/** Whether `n` can be a MemoryFile's chunkBytes: a power of two from one page to MAX_CHUNK_BYTES. */
export function isChunkSize(n: number): boolean {
  return Number.isInteger(n) && n >= PAGE_SIZE && n <= MAX_CHUNK_BYTES && (n & (n - 1)) === 0;
}
/** The frames of an object arena's first chunk (fewer when chunkBytes is smaller). */
const FIRST_ARENA_CHUNK_FRAMES = 16;

/** One chunk: its bytes, an Int32 view of them for Atomics, and its slots' bookkeeping. */
interface Chunk {
  /** chunks[id] is this chunk; its slots are id << chunkShift | index. */
  readonly id: number;
  readonly frames: number;
  /** Emptied (EMPTY_BYTES, EMPTY_WORDS) when the buffer leaves for the process-wide pool. */
  bytes: Uint8Array;
  words: Int32Array;
  /** hostChunk made it, so it may join the process-wide pool when its MemoryFile is disposed. */
  readonly poolable: boolean;
  /** The arena owning it; undefined while it waits in the pool. */
  arena: Arena | undefined;
  /** Where it sits in its arena's chunks. */
  index: number;
  /** Slots holding a frame (retired ones included). */
  used: number;
  /** Slots [0, bump) were handed out since it joined its arena. */
  bump: number;
  /**
   * Whether slots [bump, frames) are zero. A chunk from the pool may hold an
   * earlier arena's bytes there: a slot taken from it is cleared (unless the
   * caller overwrites it), and the rest is cleared before a thread is given it.
   */
  clean: boolean;
  /** Freed slots, lowest first. */
  readonly free: FreeFrames;
  /** Live threads it was given to (holdChunk). */
  holders: number;
}

/**
 * The chunks one memory object's frames live in. Opaque outside the
 * MemoryFile; FrameTable makes one per table.
 */
export class Arena {
  /** @internal */
  readonly chunks: Chunk[] = [];
  /** @internal Frames of the arena (retired ones included). */
  used = 0;
  /** @internal Slots in its chunks. */
  capacity = 0;
  /** @internal Every chunk below this index is full. */
  hint = 0;
  /** @internal */
  constructor(readonly fullChunks: boolean) {}
}

/** What a MemoryFile holds, in bytes of chunk buffers (see MemoryFile.memoryUsage). */
export interface ChunkMemoryUsage {
  /**
   * Bytes of the SharedArrayBuffers (ArrayBuffers without them) this
   * MemoryFile holds: chunks in its objects' arenas and those it keeps for
   * its own reuse. After dispose, only chunks a thread still holds.
   */
  readonly sabBytes: number;
  /** Bytes in the process-wide pool of released chunks, which no MemoryFile holds (shared by all). */
  readonly pooledBytes: number;
}

/** Physical memory: page frames with reference counts and usage accounting. */
export class MemoryFile {
  /** The simulated RAM size in frames; allocate fails beyond it. */
  readonly totalFrames: number;
  /** log2 of the largest chunk's frames: slot s is in chunk s >> chunkShift. */
  readonly chunkShift: number;
  private readonly frameMask: number;
  private readonly framesPerChunk: number;
  private readonly firstChunkFrames: number;
  private readonly poison: number | undefined = undefined;
  /** Makes chunk buffers; replaceable, so a test can make the host run out of memory part-way. */
  allocateChunk: ChunkAllocator;
  /**
   * How many times the host refused a chunk (the syscall or fault then saw
   * ENOMEM or SIGBUS, as Linux reports a page it cannot get), and the host's
   * last message. A simulator sized like the machine (the scenario runner)
   * reads these to tell a shortage of the host from one of the model.
   */
  hostRefusals = 0;
  lastHostRefusal = '';
  /** Every chunk made, by id. */
  private readonly chunks: Chunk[] = [];
  /** Chunks no arena owns, by size; zeroed when an arena takes one. */
  private readonly pool = new Map<number, Chunk[]>();
  private reserved = 0;
  private isDisposed = false;
  /** After dispose: chunks a thread still held then, by id, until it releases them. */
  private readonly stillHeld = new Map<number, Chunk>();
  /** Frame number → its slot (-1: free); frame number → its reference count. */
  private slots = new Int32Array(0);
  private refs = new Uint32Array(0);
  private readonly defaultArena: Arena = new Arena(true);
  private futexes: FutexQueue | undefined = undefined;
  /** The lowest frame number never handed out. */
  private bump = 0;
  /** Free frame numbers; reuse takes the lowest, so frames claimed in a row stay consecutive. */
  private readonly freeFrames = new FreeFrames();
  private allocated = 0;
  /** Holds freed frames back from reuse while other threads may still access them; see setReclaimGate. */
  private gate: ReclaimGate | undefined = undefined;
  /** Retired frames, in batches that share one set of in-flight accesses. */
  private readonly limbo: Array<{ readonly inFlight: object; readonly frames: number[] }> = [];
  /**
   * Checkpoint restore: the image whose page section holds the bytes of the
   * frames not placed yet (slot UNPLACED), where each one's bytes start,
   * and how many there are. A frame is placed, in one copy, in the arena
   * of the object that adopts it, or in the default arena when something
   * else reaches it first.
   */
  private image: Uint8Array | undefined = undefined;
  private imageAt: Float64Array | undefined = undefined;
  private unplaced = 0;
  /** What arenaOf answers for a frame not placed yet: an arena nothing ever allocates in. */
  private readonly imageArena: Arena = new Arena(true);
  /**
   * Who pays for the private pages (anon.ts) made over this memory: the
   * kernel's fault charge source (the faulting task's memory cgroup), set
   * by the Kernel; undefined, nothing is charged, outside a kernel.
   * @internal
   */
  pageCharges: PageCharges | undefined = undefined;

  constructor(options: MemoryFileOptions = {}) {
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!isChunkSize(chunkBytes)) {
      throw new RangeError(`MemoryFile chunkBytes must be a power of two from ${PAGE_SIZE} to ${MAX_CHUNK_BYTES}, got ${chunkBytes}`);
    }
    const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
    if (!Number.isInteger(maxFrames) || maxFrames < 0 || maxFrames > MAX_FRAMES) {
      throw new RangeError(`MemoryFile maxFrames must be an integer in [0, 2^31), got ${maxFrames}`);
    }
    this.framesPerChunk = chunkBytes / PAGE_SIZE;
    this.chunkShift = Math.log2(this.framesPerChunk);
    this.frameMask = this.framesPerChunk - 1;
    this.firstChunkFrames = Math.min(this.framesPerChunk, FIRST_ARENA_CHUNK_FRAMES);
    this.totalFrames = maxFrames;
    this.poison = options.poisonFreed;
    this.allocateChunk = options.allocateChunk ?? defaultChunkAllocator;
  }

  /** Frames currently holding at least one reference, or retired and not yet reusable (see reclaim). */
  get allocatedFrames(): number {
    return this.allocated;
  }

  /**
   * Bytes of the chunk buffers this MemoryFile holds: made or taken from the
   * process-wide pool, and kept (a chunk its arena lets go is reused here)
   * until dispose.
   */
  get reservedBytes(): number {
    return this.reserved;
  }

  /** The bytes this MemoryFile holds and those in the process-wide pool, apart. */
  memoryUsage(): ChunkMemoryUsage {
    return { sabBytes: this.reserved, pooledBytes: sharedPoolBytes };
  }

  /** Whether dispose ran. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * Gives up every chunk: one no live thread holds goes to the process-wide
   * pool now (when hostChunk made it), and one a thread still holds goes
   * when the last holder releases it (releaseChunk). Nothing can reach the
   * bytes through this MemoryFile afterwards: allocate fails (-1), moveTo
   * fails, reference drops are ignored, and reading a frame's bytes throws.
   * Its kernel's threads must have been told to end first. A second call
   * does nothing.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const c of this.chunks) {
      if (c.arena !== undefined) {
        c.arena.chunks.length = 0;
        c.arena.capacity = 0;
        c.arena.used = 0;
        c.arena.hint = 0;
        c.arena = undefined;
      }
      if (c.holders === 0) this.giveUp(c);
      else this.stillHeld.set(c.id, c);
    }
    this.chunks.length = 0;
    this.pool.clear();
    this.defaultArena.chunks.length = 0;
    this.limbo.length = 0;
    this.slots = new Int32Array(0);
    this.refs = new Uint32Array(0);
    this.image = undefined;
    this.imageAt = undefined;
    this.unplaced = 0;
  }

  /** A disposed MemoryFile's chunk no thread holds: its buffer leaves it for good. */
  private giveUp(c: Chunk): void {
    this.reserved -= c.frames * PAGE_SIZE;
    if (c.poolable) toSharedPool(c.bytes.buffer);
    c.bytes = EMPTY_BYTES;
    c.words = EMPTY_WORDS;
  }

  /** One past the highest frame number ever handed out: numbers from here up were never used. */
  get frameLimit(): number {
    return this.bump;
  }

  /**
   * A new, empty arena for one memory object's frames.
   * @internal
   */
  newArena(): Arena {
    return new Arena(false);
  }

  /**
   * Checkpoint restore: frames [0, limit) come to exist, those in the `held`
   * runs (ascending and disjoint) with one reference each, and the others
   * free. Without `image`, the held frames are zeroed, for the caller to
   * fill, in the default arena. With it, each run's bytes are those in
   * `image` from its `dataOffset` on, and a frame is copied from there when
   * its object adopts it (FrameTable.adopt), straight into the object's
   * arena; the image must not change until every held frame was adopted.
   * Only a MemoryFile that never allocated may be restored into.
   * @internal
   */
  restoreFrames(
    limit: number,
    held: ReadonlyArray<{ readonly firstFrame: number; readonly count: number; readonly dataOffset?: number }>,
    image?: Uint8Array,
  ): void {
    if (this.bump !== 0 || this.allocated !== 0 || this.isDisposed) throw new Error('MemoryFile.restoreFrames: frames were already handed out');
    if (!Number.isInteger(limit) || limit < 0 || limit > this.totalFrames) {
      throw new RangeError(`MemoryFile.restoreFrames: ${limit} frames do not fit in ${this.totalFrames}`);
    }
    let next = 0;
    for (const { firstFrame, count } of held) {
      const end = firstFrame + count;
      if (!Number.isInteger(firstFrame) || !Number.isInteger(count) || count <= 0 || firstFrame < next || end > limit) {
        throw new RangeError(`MemoryFile.restoreFrames: frames ${firstFrame}..${end - 1} are not ascending inside ${limit}`);
      }
      next = end;
    }
    this.grow(limit);
    this.bump = limit;
    if (image !== undefined) {
      this.image = image;
      this.imageAt = new Float64Array(limit);
    }
    next = 0;
    for (const { firstFrame, count, dataOffset } of held) {
      for (let f = next; f < firstFrame; f++) this.freeFrames.push(f);
      for (let f = firstFrame; f < firstFrame + count; f++) {
        if (this.imageAt !== undefined) {
          this.imageAt[f] = (dataOffset ?? 0) + (f - firstFrame) * PAGE_SIZE;
          this.slots[f] = UNPLACED;
          this.unplaced++;
        } else this.slots[f] = this.takeSlot(this.defaultArena, true, false);
        this.refs[f] = 1;
      }
      this.allocated += count;
      next = firstFrame + count;
    }
    for (let f = next; f < limit; f++) this.freeFrames.push(f);
  }

  /**
   * Allocates one zeroed frame with a reference count of 1 in `arena` (the
   * default arena when absent), or returns -1 when the simulated RAM is
   * exhausted (the caller turns that into ENOMEM/SIGBUS).
   * With `clear` false a reused slot keeps its old bytes (the same arena's):
   * for a caller that overwrites or zeroes every byte before anyone can see
   * the frame (a tmpfs write, as shmem_write_begin skips clearing a new page).
   */
  allocate(clear = true, arena: Arena = this.defaultArena): number {
    if (this.isDisposed) return -1;
    if (this.limbo.length > 0) this.reclaim();
    if (this.freeFrames.size === 0 && this.bump >= this.totalFrames) return -1;
    // The slot comes first: a host allocation failure leaves everything as it was.
    const slot = this.takeSlot(arena, false, clear);
    if (slot < 0) return -1;
    let frame: number;
    if (this.freeFrames.size > 0) frame = this.freeFrames.pop();
    else {
      frame = this.bump++;
      if (frame >= this.slots.length) this.grow(frame + 1);
    }
    // A slot freed before still holds its arena's old bytes (or the poison); a copy from a zero page, not fill(0) (why: see "Hot paths" in docs/architecture.md).
    this.slots[frame] = slot;
    this.refs[frame] = 1;
    this.allocated++;
    if (clear && this.reusedSlot) this.zero(frame, 0, PAGE_SIZE);
    return frame;
  }

  /** Set by takeSlot: whether the slot it returned held a frame before (so holds stale bytes). */
  private reusedSlot = false;

  /**
   * A slot of `arena` for a new frame, the lowest free one, growing the
   * arena by a chunk when it is full; -1 when the host cannot allocate the
   * chunk (`must` turns that into a throw). Counts the slot as used. A
   * chunk from a pool taken for a `clear` allocation is cleared whole at
   * once: one memcpy per chunk costs less than clearing slot by slot (see
   * "Hot paths" in docs/architecture.md). Not an arena's first-size chunk:
   * its slots are cleared as they are taken (and the rest when a thread is
   * given it), since most such arenas use a page or two.
   */
  private takeSlot(arena: Arena, must: boolean, clear: boolean): number {
    const chunks = arena.chunks;
    for (let i = arena.hint; i < chunks.length; i++) {
      const c = chunks[i] as Chunk;
      if (c.free.size > 0) {
        arena.hint = i;
        c.used++;
        arena.used++;
        this.reusedSlot = true;
        return (c.id << this.chunkShift) | c.free.pop();
      }
      if (c.bump < c.frames) {
        arena.hint = i;
        c.used++;
        arena.used++;
        this.reusedSlot = !c.clean;
        return (c.id << this.chunkShift) | c.bump++;
      }
    }
    const frames = arena.fullChunks ? this.framesPerChunk : Math.min(this.framesPerChunk, Math.max(this.firstChunkFrames, arena.capacity));
    const c = this.chunkOfSize(frames, must);
    if (c === undefined) return -1;
    // A first-size chunk is cleared slot by slot instead: a kernel that touches a page or two (a property test's example) clears those alone.
    if (clear && !c.clean && frames > this.firstChunkFrames) this.clearFrom(c, 0);
    c.arena = arena;
    c.index = chunks.length;
    chunks.push(c);
    arena.capacity += frames;
    arena.hint = c.index;
    c.used++;
    arena.used++;
    this.reusedSlot = !c.clean;
    return (c.id << this.chunkShift) | c.bump++;
  }

  /** A chunk of `frames` frames for an arena: one from the pool (not clean), else a new one. */
  private chunkOfSize(frames: number, must: boolean): Chunk | undefined {
    const pooled = this.pool.get(frames)?.pop();
    if (pooled !== undefined) return pooled;
    const chunk = this.newChunk(frames, must);
    if (chunk !== undefined) {
      this.chunks.push(chunk);
      this.reserved += frames * PAGE_SIZE;
    }
    return chunk;
  }

  /**
   * A new chunk, or undefined when the host cannot allocate it (a RangeError
   * from allocateChunk or the views); `must` turns that into a throw, for
   * callers with no failure to report (checkpoint restore checks its size first).
   */
  private newChunk(frames: number, must: boolean): Chunk | undefined {
    try {
      const poolable = this.allocateChunk === hostChunk;
      const pooled = poolable ? fromSharedPool(frames * PAGE_SIZE) : undefined;
      const buffer = pooled ?? this.allocateChunk(frames * PAGE_SIZE);
      if (buffer.byteLength !== frames * PAGE_SIZE) throw new Error(`MemoryFile: a chunk buffer of ${buffer.byteLength} bytes, not ${frames * PAGE_SIZE}`);
      return {
        id: this.chunks.length,
        frames,
        bytes: new Uint8Array(buffer),
        words: new Int32Array(buffer),
        poolable,
        arena: undefined,
        index: 0,
        used: 0,
        bump: 0,
        // A pooled buffer holds another kernel's old bytes: cleared as one from this file's own pool is.
        clean: pooled === undefined,
        free: new FreeFrames(),
        holders: 0,
      };
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      this.hostRefusals += 1;
      this.lastHostRefusal = e.message;
      if (must) throw new HostOutOfMemory(undefined, `the host cannot allocate a chunk of ${frames * PAGE_SIZE} bytes (${e.message})`);
      return undefined;
    }
  }

  /** Makes room for frame numbers [0, frames). */
  private grow(frames: number): void {
    if (frames <= this.slots.length) return;
    // From 16 up: arrays of 64 bytes or less live on V8's heap and cost a fraction of larger ones, which most small kernels never need.
    const n = Math.max(frames, this.slots.length * 2, 16);
    const slots = new Int32Array(n).fill(-1);
    slots.set(this.slots);
    const refs = new Uint32Array(n);
    refs.set(this.refs);
    this.slots = slots;
    this.refs = refs;
  }

  /** Adds a reference to an allocated frame. */
  incRef(frame: number): void {
    if (this.isDisposed) return;
    this.check(frame);
    const n = this.refs[frame] ?? 0;
    if (n === 0) {
      throw new Error(`MemoryFile.incRef: frame ${frame} is free`);
    }
    this.refs[frame] = n + 1;
  }

  /** Drops a reference; the frame returns to the free pool when none remain. */
  decRef(frame: number): void {
    if (this.isDisposed) return;
    this.check(frame);
    const n = this.refs[frame] ?? 0;
    if (n === 0) {
      throw new Error(`MemoryFile.decRef: frame ${frame} is already free`);
    }
    this.refs[frame] = n - 1;
    if (n === 1) {
      const inFlight = this.gate?.inFlight();
      if (inFlight !== undefined) {
        this.retire(frame, inFlight);
        return;
      }
      this.free(frame);
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

  /**
   * Waits, for at most `ms` milliseconds, until every access other threads
   * have in flight now has ended or waits for this thread (ReclaimGate.settled),
   * as memfd_wait_for_pins waits for pinned pages; whether they all did. An
   * access that started before a change to the address space (an munmap)
   * may still store through the translation it holds until then.
   * @internal
   */
  accessesEnded(ms: number): boolean {
    const gate = this.gate;
    const inFlight = gate?.inFlight();
    if (gate === undefined || inFlight === undefined) return true;
    const settled = (): boolean => (gate.settled === undefined ? gate.finished(inFlight) : gate.settled(inFlight));
    const now = hostMonotonic();
    const deadline = now() + ms;
    while (!settled()) if (now() >= deadline) return false;
    return true;
  }

  /** Frames whose last reference went while an access was in flight, not yet reusable. */
  get retiredFrames(): number {
    let n = 0;
    for (const batch of this.limbo) for (const f of batch.frames) if (f >= 0) n += 1;
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
      // A negative entry is the slot -1 - entry that a moved frame left (moveTo).
      for (const frame of batch.frames) {
        if (frame >= 0) this.free(frame);
        else this.freeSlot(this.chunks[(-1 - frame) >> this.chunkShift] as Chunk, (-1 - frame) & this.frameMask);
      }
    }
    this.limbo.length = kept;
  }

  /** The reference count of `frame`; 0 for a free or never-used frame. */
  refCount(frame: number): number {
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.bump) {
      return 0;
    }
    return this.refs[frame] ?? 0;
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
    const slot = this.slots[frame] ?? 0;
    return ((slot === UNPLACED ? this.placeAnywhere(frame) : slot) & this.frameMask) * PAGE_SIZE;
  }

  /**
   * How many of the `pages` frames from `frame` on sit in consecutive slots
   * of `frame`'s chunk (at least 1). For a frame number never handed out,
   * the frames up to the next multiple of the largest chunk's size.
   */
  contiguousInChunk(frame: number, pages: number): number {
    let slot = this.slots[frame] ?? -1;
    if (slot === UNPLACED) slot = this.placeAnywhere(frame);
    if (slot < 0 || frame >= this.bump) return Math.min(pages, this.framesPerChunk - (frame & this.frameMask));
    const slots = this.slots;
    const end = Math.min(pages, (this.chunks[slot >> this.chunkShift] as Chunk).frames - (slot & this.frameMask));
    let n = 1;
    while (n < end && slots[frame + n] === slot + n) n++;
    return n;
  }

  /** The slot holding `frame` (chunk id << chunkShift | index): what a thread is told. */
  slotOf(frame: number): number {
    this.check(frame);
    const slot = this.slots[frame] ?? -1;
    return slot === UNPLACED ? this.placeAnywhere(frame) : slot;
  }

  /** The id of the chunk holding `frame`. */
  chunkIdOf(frame: number): number {
    return this.slotOf(frame) >> this.chunkShift;
  }

  /** The buffer of chunk `id`, to give to a thread (see holdChunk). */
  chunkBuffer(id: number): ArrayBufferLike {
    const c = this.chunks[id];
    if (c === undefined) throw new RangeError(`MemoryFile: no chunk ${id}`);
    return c.bytes.buffer;
  }

  /**
   * The arena `frame` sits in; undefined for a frame that holds no reference.
   * @internal
   */
  arenaOf(frame: number): Arena | undefined {
    if (this.refCount(frame) === 0) return undefined;
    if (this.slots[frame] === UNPLACED) return this.imageArena;
    return this.chunkOf(frame).arena;
  }

  /**
   * A live thread is given chunk `id`: its slots no frame of its arena ever
   * used are cleared first (an earlier arena's bytes may be there), and until
   * releaseChunk the chunk stays with its arena, so its slots only ever hold
   * that arena's frames.
   */
  holdChunk(id: number): void {
    const c = this.chunks[id];
    if (c === undefined) throw new RangeError(`MemoryFile: no chunk ${id}`);
    if (!c.clean) this.clearFrom(c, c.bump);
    c.holders++;
  }

  /** Zeroes slots [slot, frames) of `c`, which are then clean. */
  private clearFrom(c: Chunk, slot: number): void {
    const bytes = c.bytes;
    for (let at = slot * PAGE_SIZE; at < bytes.length; at += ZERO_SOURCE.length) {
      copyBytes(bytes, at, ZERO_SOURCE, 0, Math.min(ZERO_SOURCE.length, bytes.length - at));
    }
    c.clean = true;
  }

  /** A thread given chunk `id` has ended. */
  releaseChunk(id: number): void {
    const held = this.stillHeld.get(id);
    if (held !== undefined) {
      // Disposed: the last holder gone, the buffer may serve another kernel.
      if (--held.holders === 0) {
        this.stillHeld.delete(id);
        this.giveUp(held);
      }
      return;
    }
    const c = this.chunks[id];
    if (c === undefined || c.holders === 0) throw new RangeError(`MemoryFile: chunk ${id} is not held`);
    c.holders--;
    const arena = c.arena;
    if (c.holders === 0 && arena !== undefined && arena.used === 0) this.letGo(arena);
  }

  /** How many threads hold chunk `id` (holdChunk). */
  chunkHolders(id: number): number {
    return (this.chunks[id] ?? this.stillHeld.get(id))?.holders ?? 0;
  }

  /**
   * Moves `frame` (its bytes and its reference count stay) into a slot of
   * `arena`; false, with nothing changed, when the host cannot allocate
   * the arena a chunk. Checkpoint restore: a frame still in the image is
   * copied from there (restoreFrames).
   */
  moveTo(frame: number, arena: Arena): boolean {
    if (this.isDisposed) return false;
    if (this.slots[frame] === UNPLACED) return this.place(frame, arena);
    const from = this.chunkOf(frame);
    if (from.arena === arena) return true;
    const slot = this.takeSlot(arena, false, false);
    if (slot < 0) return false;
    const to = this.chunks[slot >> this.chunkShift] as Chunk;
    copyBytes(to.bytes, (slot & this.frameMask) * PAGE_SIZE, from.bytes, this.byteOffset(frame), PAGE_SIZE);
    const old = this.slots[frame] ?? 0;
    this.slots[frame] = slot;
    // An access in flight may still read the old slot through a translation taken before the move: it stays taken until that access ends.
    const inFlight = this.gate?.inFlight();
    if (inFlight !== undefined) this.retire(-1 - old, inFlight);
    else this.freeSlot(from, old & this.frameMask);
    return true;
  }

  /** Holds `frame` (or, as -1 - slot, a slot a moved frame left) back until the accesses in `inFlight` have finished. */
  private retire(frame: number, inFlight: object): void {
    const last = this.limbo[this.limbo.length - 1];
    if (last !== undefined && last.inFlight === inFlight) last.frames.push(frame);
    else this.limbo.push({ inFlight, frames: [frame] });
  }

  /** A frame with no references left goes back to the pool, and its slot to its arena. */
  private free(frame: number): void {
    if (this.slots[frame] === UNPLACED) {
      // Freed before anything adopted it: it never got a slot.
      this.slots[frame] = -1;
      this.allocated--;
      this.freeFrames.push(frame);
      this.placed();
      return;
    }
    const slot = this.slots[frame] ?? 0;
    const chunk = this.chunks[slot >> this.chunkShift] as Chunk;
    const i = slot & this.frameMask;
    if (this.poison !== undefined) chunk.bytes.fill(this.poison, i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
    // The number keeps naming the slot until it is handed out again (a test reads the poison through it).
    this.allocated--;
    this.freeFrames.push(frame);
    this.freeSlot(chunk, i);
  }

  /** Slot `i` of `chunk` holds no frame any more: its arena may reuse it. */
  private freeSlot(chunk: Chunk, i: number): void {
    const arena = chunk.arena as Arena;
    chunk.free.push(i);
    chunk.used--;
    if (chunk.index < arena.hint) arena.hint = chunk.index;
    // The default arena too, once empty, lets its chunks go to the pool.
    if (--arena.used === 0) this.letGo(arena);
  }

  /**
   * The arena holds no frame: its chunks that no live thread holds go to
   * the pool, for any arena. Those still held stay, for this arena only.
   */
  private letGo(arena: Arena): void {
    let kept = 0;
    for (const c of arena.chunks) {
      if (c.holders > 0) {
        c.index = kept;
        arena.chunks[kept++] = c;
        continue;
      }
      arena.capacity -= c.frames;
      c.arena = undefined;
      c.used = 0;
      c.bump = 0;
      c.clean = false;
      while (c.free.size > 0) c.free.pop();
      let sized = this.pool.get(c.frames);
      if (sized === undefined) {
        sized = [];
        this.pool.set(c.frames, sized);
      }
      sized.push(c);
    }
    arena.chunks.length = kept;
    arena.hint = 0;
  }

  private check(frame: number): void {
    if (this.isDisposed) throw new Error(DISPOSED);
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.bump) {
      throw new RangeError(`MemoryFile: frame ${frame} was never allocated`);
    }
  }

  /**
   * Places the frame not placed yet in `arena`, copying its bytes from the
   * image; false, with nothing changed, when the host cannot allocate the
   * arena a chunk.
   */
  private place(frame: number, arena: Arena): boolean {
    const slot = this.takeSlot(arena, false, false);
    if (slot < 0) return false;
    const chunk = this.chunks[slot >> this.chunkShift] as Chunk;
    copyBytes(chunk.bytes, (slot & this.frameMask) * PAGE_SIZE, this.image as Uint8Array, this.imageAt?.[frame] ?? 0, PAGE_SIZE);
    this.slots[frame] = slot;
    this.placed();
    return true;
  }

  /** A frame not placed yet is reached before an object adopted it: it goes to the default arena. */
  private placeAnywhere(frame: number): number {
    if (!this.place(frame, this.defaultArena))
      throw new HostOutOfMemory(frame, `the host cannot allocate a chunk for frame ${frame} (${this.lastHostRefusal})`);
    return this.slots[frame] ?? -1;
  }

  /** One frame fewer waits in the image; with none left, the image is let go. */
  private placed(): void {
    if (--this.unplaced === 0) {
      this.image = undefined;
      this.imageAt = undefined;
    }
  }

  private chunkOf(frame: number): Chunk {
    let slot = this.slots[frame] ?? -1;
    if (slot === UNPLACED) slot = this.placeAnywhere(frame);
    const chunk = this.chunks[slot >> this.chunkShift];
    if (chunk === undefined || slot < 0 || !Number.isInteger(frame) || frame < 0 || frame >= this.bump) {
      if (this.isDisposed) throw new Error(DISPOSED);
      throw new RangeError(`MemoryFile: frame ${frame} was never allocated`);
    }
    return chunk;
  }
}

/** Threads the futex queue has slots for: the kernel thread (KERNEL_THREAD_SLOT, 0) and every worker. */
export const FUTEX_THREADS = MAX_WORKER_THREADS + 1;

/** What reading a frame of a disposed MemoryFile throws: its bytes may serve another kernel now. */
const DISPOSED = 'MemoryFile: its kernel was disposed; its frames are gone';

/** What a chunk's views become when its buffer leaves for the process-wide pool. */
const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_WORDS = new Int32Array(0);

/** The source of every frame clearing. */
const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/** The slot of a restored frame whose bytes are still in the image (see MemoryFile.restoreFrames). */
const UNPLACED = -2;

/** The source of clearing chunks (clearFrom). */
const ZERO_SOURCE = new Uint8Array(64 * PAGE_SIZE);
