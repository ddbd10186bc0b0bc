/**
 * The thread's side of a software TLB (tlb.ts is the kernel's side): the
 * translations a thread outside the kernel thread caches, and the accesses
 * it makes through them, straight to the MemoryFile's frames.
 *
 * Before every access the thread marks itself in flight (the kernel reads
 * the marks through InFlightAccesses) and compares its address space's
 * generation word with the generation its entries were filled at; a change
 * drops every entry. So after shmdt, munmap, mprotect or exit, by this
 * thread or any other, the next access refills from the kernel and faults
 * as it would in-process, and a frame freed mid-access keeps its bytes until
 * the access ends (the MemoryFile's ReclaimGate).
 *
 * Addresses here are already decoded (numbers below TASK_SIZE); the caller
 * owns argument decoding.
 *
 * Owner: one thread. Nothing here is shared with other threads except
 * through the buffers in TlbCacheInit.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../abi/constants.js';
import type { Fault } from './access.js';
import { copyBytes } from './copy.js';
import { addressKey, frameKey } from './futex.js';
import type { FutexKey } from './futex.js';
import { IN_FLIGHT_STRIDE } from './inflight.js';
import { ZERO_FRAME } from './memmap.js';
import { FUTEX_BY_ADDRESS, FUTEX_REFUSED } from './tlb.js';
import type { FutexKeying, TlbCopy, TlbFill } from './tlb.js';

/** The shared buffers and numbers a thread's TLB works over. */
export interface TlbCacheInit {
  /** The address space's generation word (MemoryManager.tlbGeneration). */
  readonly generation: SharedArrayBuffer;
  /** The kernel's in-flight counters (InFlightAccesses.buffer) and this thread's slot in them (its counter is word slot * IN_FLIGHT_STRIDE). */
  readonly inFlight: SharedArrayBuffer;
  readonly slot: number;
  /** MemoryFile.chunkShift: a fill's run names slot chunk id << chunkShift | index. */
  readonly chunkShift: number;
  /** Chunks the thread starts with, by id (spawnWorker gives none); the others arrive through TlbSource as fills name them. */
  readonly chunks: readonly SharedArrayBuffer[];
  /** The address space's MemoryManager.spaceId: a futex in private memory is keyed by it and the address (futex.ts's addressKey). */
  readonly space: number;
}

/** Where a TLB miss goes: the kernel. */
export interface TlbSource {
  /** Translations of the pages from `addr` on (the kernel's fillTlb), or the fault at `addr`. */
  fill(addr: number, len: number, write: boolean): E.Either<Fault, TlbFill>;
  /** Chunks the kernel has sent since the last call, as (id, buffer) pairs; blocks for none. */
  receiveChunks(): ReadonlyArray<readonly [number, SharedArrayBuffer]>;
}

/**
 * One cached translation: virtual [start, end) is bytes from `base` on in
 * chunk `chunk`, reached through `bytes` and `words` from `at` on. Those
 * are the chunk's views, except for a page shown by its bytes (TlbCopy):
 * then they are views of the copy, and chunk and base still name the
 * frame (a negative chunk for the zero page).
 */
interface TlbEntry {
  readonly start: number;
  readonly end: number;
  readonly chunk: number;
  readonly base: number;
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  readonly at: number;
  readonly readable: boolean;
  readonly writable: boolean;
  /** From a fill that may not be cached: dropped when the access ends. */
  readonly once: boolean;
  /** How a futex on these pages is keyed (TlbFill.futex); undefined: by the frame word. */
  readonly futex: FutexKeying | undefined;
}

const TLB_ENTRIES = 64;

/** The operations TlbCache.atomic runs: load, store a, add a, and compare with a and exchange for b. */
export type AtomicOp = typeof ATOMIC_LOAD | typeof ATOMIC_STORE | typeof ATOMIC_ADD | typeof ATOMIC_CMPXCHG;
export const ATOMIC_LOAD = 0;
export const ATOMIC_STORE = 1;
export const ATOMIC_ADD = 2;
export const ATOMIC_CMPXCHG = 3;

const segv = (addr: number): Fault => ({ signal: 'SIGSEGV', addr });
const isFault = (x: TlbEntry | Fault): x is Fault => (x as Fault).signal !== undefined;

/** A thread's cached translations of one address space, and its accesses through them. */
export class TlbCache {
  private readonly generationWord: Int32Array;
  private readonly counters: Int32Array;
  private readonly slot: number;
  private count: number;
  private readonly chunkShift: number;
  private readonly space: number;
  private readonly bytes: Uint8Array[] = [];
  private readonly words: Int32Array[] = [];
  /** The generation the cached entries belong to. */
  private generation: number;
  private readonly tlb: Array<TlbEntry | undefined> = new Array<TlbEntry | undefined>(TLB_ENTRIES).fill(undefined);
  private nextVictim = 0;
  private hit: TlbEntry | undefined = undefined;
  private hasOnce = false;

  constructor(
    init: TlbCacheInit,
    private readonly source: TlbSource,
  ) {
    this.generationWord = new Int32Array(init.generation);
    this.counters = new Int32Array(init.inFlight);
    this.slot = init.slot * IN_FLIGHT_STRIDE;
    this.count = Atomics.load(this.counters, this.slot);
    this.chunkShift = init.chunkShift;
    this.space = init.space;
    init.chunks.forEach((c, i) => this.addChunk(i, c));
    this.generation = Atomics.load(this.generationWord, 0);
  }

  /** Copies between `buf` and [addr, addr+buf.length): into memory when `write`. A fault leaves the pages before it copied. */
  copy(addr: number, buf: Uint8Array, write: boolean): Fault | undefined {
    this.enter();
    try {
      return this.walk(addr, buf.length, write, (bytes, at, n, done) => {
        if (write) copyBytes(bytes, at, buf, done, n);
        else copyBytes(buf, done, bytes, at, n);
      });
    } finally {
      this.leave();
    }
  }

  /** Runs `fn` on views of [addr, addr+len), one per run of consecutive frames; they are valid, and their frames kept, until `fn` returns. */
  withViews<T>(addr: number, len: number, write: boolean, fn: (views: readonly Uint8Array[]) => T): E.Either<Fault, T> {
    this.enter();
    try {
      const views: Uint8Array[] = [];
      const fault = this.walk(addr, len, write, (bytes, at, n) => {
        views.push(bytes.subarray(at, at + n));
      });
      return fault === undefined ? E.right(fn(views)) : E.left(fault);
    } finally {
      this.leave();
    }
  }

  /**
   * Runs one atomic operation on the 32-bit word at `addr` (SIGBUS when
   * unaligned) and returns the word it read (for store, the value stored).
   * One method with the operation as a number rather than a callback: a
   * closure per call, called through a site that sees four different ones,
   * cost more than the access itself in a worker's loop of atomic adds.
   */
  atomic(addr: number, op: AtomicOp, a: number, b: number): E.Either<Fault, number> {
    if (addr % 4 !== 0) return E.left({ signal: 'SIGBUS', addr });
    this.enter();
    try {
      const e = this.entry(addr, 4, op !== ATOMIC_LOAD);
      if (isFault(e)) return E.left(e);
      const words = e.words;
      const i = (e.at + (addr - e.start)) >> 2;
      switch (op) {
        case ATOMIC_LOAD:
          return E.right(Atomics.load(words, i));
        case ATOMIC_STORE:
          Atomics.store(words, i, a);
          return E.right(a | 0);
        case ATOMIC_ADD:
          return E.right(Atomics.add(words, i, a));
        default:
          return E.right(Atomics.compareExchange(words, i, a, b));
      }
    } finally {
      this.leave();
    }
  }

  /**
   * The futex key of the aligned word at `addr` (futex.ts), or undefined
   * for EFAULT. As get_futex_key, it faults the page in for writing first
   * (on private memory, that breaks copy-on-write, and the key is then the
   * address), and only where the mapping may not be written, for reading:
   * then a page of the process's private memory, the zero page included,
   * is refused, and a shared object's page (or a file page a private
   * mapping reads through to) is keyed by its frame word.
   */
  futexKey(addr: number): FutexKey | undefined {
    this.enter();
    try {
      let e = this.entry(addr, 4, true);
      if (isFault(e) && e.signal === 'SIGSEGV') e = this.entry(addr, 4, false);
      if (isFault(e) || e.chunk < 0 || e.futex === FUTEX_REFUSED) return undefined;
      const off = addr - e.start;
      const wordAt = (e.at + off) >> 2;
      return e.futex === FUTEX_BY_ADDRESS ? addressKey(e.words, wordAt, this.space, addr) : frameKey(e.words, wordAt, e.chunk, (e.base + off) >> 2);
    } finally {
      this.leave();
    }
  }

  /**
   * Visits [addr, addr+len) run by run, stopping at the first fault.
   * Precondition: in flight (enter).
   */
  private walk(addr: number, len: number, write: boolean, visit: (bytes: Uint8Array, at: number, n: number, done: number) => void): Fault | undefined {
    const end = addr + len;
    let cur = addr;
    while (cur < end) {
      const e = this.entry(cur, end - cur, write);
      if (isFault(e)) return e;
      const n = Math.min(end, e.end) - cur;
      visit(e.bytes, e.at + (cur - e.start), n, cur - addr);
      cur += n;
    }
    return undefined;
  }

  /** The entry translating `addr` for this kind of access, filling on a miss. Precondition: in flight. */
  private entry(addr: number, len: number, write: boolean): TlbEntry | Fault {
    let e = this.hit;
    if (e === undefined || addr < e.start || addr >= e.end) {
      e = undefined;
      for (const c of this.tlb) {
        if (c !== undefined && addr >= c.start && addr < c.end) {
          e = c;
          break;
        }
      }
      if (e === undefined) return this.fill(addr, len, write);
      this.hit = e;
    }
    if (write ? !e.writable : !e.readable) return segv(addr);
    return e;
  }

  private fill(addr: number, len: number, write: boolean): TlbEntry | Fault {
    const reply = this.source.fill(addr, len, write);
    if (E.isLeft(reply)) return reply.left;
    const f = reply.right;
    if (f.generation !== this.generation) this.flush(f.generation);
    if (f.copy !== undefined) return this.fillCopy(addr, f.copy, f.readable, f.futex);
    let first: TlbEntry | undefined;
    for (const run of f.runs) {
      const chunk = run.frame >> this.chunkShift;
      this.ensureChunk(chunk);
      const base = (run.frame & ((1 << this.chunkShift) - 1)) * PAGE_SIZE;
      const e: TlbEntry = {
        start: run.start,
        end: run.start + run.pages * PAGE_SIZE,
        chunk,
        base,
        bytes: this.bytes[chunk] as Uint8Array,
        words: this.words[chunk] as Int32Array,
        at: base,
        readable: f.readable,
        writable: f.writable,
        once: !f.cacheable,
        futex: f.futex,
      };
      this.insert(e);
      first ??= e;
    }
    if (!f.cacheable) this.hasOnce = true;
    if (first === undefined || addr < first.start || addr >= first.end) throw new Error(`tlbFill(${addr}) did not translate ${addr}`);
    this.hit = first;
    return first;
  }

  /**
   * A page shown by its bytes (TlbCopy): an entry for this access only,
   * over a buffer of its own, so that views an access already took of another
   * copied page keep their bytes.
   */
  private fillCopy(addr: number, copy: TlbCopy, readable: boolean, futex: FutexKeying | undefined): TlbEntry | Fault {
    // The zero page's bytes do not travel: a new buffer already holds them.
    const zero = copy.slot === ZERO_FRAME;
    if (!(copy.bytes instanceof Uint8Array) || copy.bytes.length !== (zero ? 0 : PAGE_SIZE) || addr < copy.start || addr >= copy.start + PAGE_SIZE) {
      throw new Error(`tlbFill(${addr}) did not show ${addr}`);
    }
    const buffer = typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(PAGE_SIZE) : new ArrayBuffer(PAGE_SIZE);
    const bytes = new Uint8Array(buffer);
    if (!zero) bytes.set(copy.bytes);
    const e: TlbEntry = {
      start: copy.start,
      end: copy.start + PAGE_SIZE,
      chunk: copy.slot >> this.chunkShift,
      base: (copy.slot & ((1 << this.chunkShift) - 1)) * PAGE_SIZE,
      bytes,
      words: new Int32Array(buffer),
      at: 0,
      readable,
      writable: false,
      once: true,
      futex,
    };
    this.insert(e);
    this.hasOnce = true;
    this.hit = e;
    return e;
  }

  private insert(e: TlbEntry): void {
    this.tlb[this.nextVictim] = e;
    this.nextVictim = (this.nextVictim + 1) % TLB_ENTRIES;
  }

  /** Marks the thread in flight and drops the entries if the address space changed since they were filled. */
  private enter(): void {
    this.count = (this.count + 1) | 0;
    Atomics.store(this.counters, this.slot, this.count);
    const g = Atomics.load(this.generationWord, 0);
    if (g !== this.generation) this.flush(g);
  }

  private leave(): void {
    if (this.hasOnce) this.dropOnce();
    this.count = (this.count + 1) | 0;
    Atomics.store(this.counters, this.slot, this.count);
  }

  private flush(generation: number): void {
    this.tlb.fill(undefined);
    this.hit = undefined;
    this.hasOnce = false;
    this.generation = generation;
  }

  private dropOnce(): void {
    for (let i = 0; i < TLB_ENTRIES; i++) if (this.tlb[i]?.once === true) this.tlb[i] = undefined;
    if (this.hit?.once === true) this.hit = undefined;
    this.hasOnce = false;
  }

  private ensureChunk(index: number): void {
    while (this.bytes[index] === undefined) {
      const arrived = this.source.receiveChunks();
      if (arrived.length === 0) throw new Error(`the kernel sent no chunk ${index}`);
      for (const [i, c] of arrived) this.addChunk(i, c);
    }
  }

  private addChunk(index: number, buffer: SharedArrayBuffer): void {
    this.bytes[index] = new Uint8Array(buffer);
    this.words[index] = new Int32Array(buffer);
  }
}
