/**
 * Task: a process as the thread running its program sees it, when that
 * thread is not the kernel thread (a worker). Syscalls go to the kernel
 * through the thread's Mailbox and come back as the same Either the
 * in-process Process returns. Memory accesses do not: they go straight to
 * the frames, through a software TLB filled from the kernel on a miss.
 *
 * Before every access the task marks itself in flight (InFlightAccesses)
 * and compares its address space's generation word with the generation its
 * TLB was filled at; a change drops every cached translation. So after
 * shmdt, munmap, mprotect or exit, by this thread or any other, the next
 * access refills from the kernel and faults as it would in-process, and a
 * frame freed mid-access keeps its bytes until the access ends.
 *
 * Owner: the program's thread. Nothing here is shared with other threads
 * except through the buffers in TaskInit.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE, TASK_SIZE, TASK_SIZE_N } from '../abi/constants.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import type { Fault } from '../mm/access.js';
import { FutexQueue } from '../mm/futex.js';
import type { FutexKey } from '../mm/futex.js';
import type { TlbFill } from '../mm/tlb.js';
import type { IpcSetArgs, ShmctlResult } from '../shm/syscalls.js';
import { Mailbox } from './mailbox.js';
import type { Word } from './process.js';
import { copyBytes } from '../mm/copy.js';

/** The shared buffers and numbers a thread needs to run as its process. */
export interface TaskInit {
  readonly pid: number;
  /** The thread's syscall mailbox. */
  readonly mailbox: SharedArrayBuffer;
  /** The address space's generation word (MemoryManager.tlbGeneration). */
  readonly generation: SharedArrayBuffer;
  /** The kernel's in-flight counters (InFlightAccesses.buffer) and this thread's slot in them. */
  readonly inFlight: SharedArrayBuffer;
  readonly slot: number;
  /** log2 of the frames per MemoryFile chunk. */
  readonly chunkShift: number;
  /** The MemoryFile's chunks when the thread started; later ones arrive through TaskHost. */
  readonly chunks: readonly SharedArrayBuffer[];
  /** The MemoryFile's futex queue (FutexQueue.buffer), this thread's slot in it, and how long a wait polls before it sleeps. */
  readonly futex: SharedArrayBuffer;
  readonly futexSlot: number;
  readonly futexSpin: number;
}

/** How a child started with Task.fork ended, as waitpid reports it. */
export interface ChildExit {
  readonly pid: number;
  /** True when its program returned (or called exit); false when it threw or was killed. */
  readonly ok: boolean;
  /** What its program returned, when it did (JSON-like values only). */
  readonly result?: unknown;
  /** Why it died, when it did. */
  readonly error?: string;
}

/** What a Task needs from the platform that runs it. */
export interface TaskHost {
  /** Chunks the kernel has sent since the last call, as (index, buffer) pairs; blocks for none. */
  receiveChunks(): ReadonlyArray<readonly [number, SharedArrayBuffer]>;
  /** Ends the thread: the process has exited. */
  endThread(): never;
}

/** One cached translation: virtual [start, end) is bytes from `base` on in chunk `chunk`. */
interface TlbEntry {
  readonly start: number;
  readonly end: number;
  readonly chunk: number;
  readonly base: number;
  readonly readable: boolean;
  readonly writable: boolean;
  /** From a fill that may not be cached: dropped when the access ends. */
  readonly once: boolean;
}

const TLB_ENTRIES = 64;

const segv = (addr: number): Fault => ({ signal: 'SIGSEGV', addr });
const isFault = (x: TlbEntry | Fault): x is Fault => (x as Fault).signal !== undefined;

/** An address as a number below TASK_SIZE, or undefined when no mapping can hold it. */
function toAddress(w: Word): number | undefined {
  if (typeof w === 'number') return Number.isSafeInteger(w) && w >= 0 && w < TASK_SIZE ? w : undefined;
  return w >= 0n && w < TASK_SIZE_N ? Number(w) : undefined;
}

const segvAt = (w: Word): Fault => segv(typeof w === 'number' && Number.isFinite(w) ? w : Number.MAX_SAFE_INTEGER);

/** A process, from the thread running its program. */
export class Task {
  readonly pid: number;
  private readonly mailbox: Mailbox;
  private readonly generationWord: Int32Array;
  private readonly counters: Int32Array;
  private readonly slot: number;
  private readonly futexes: FutexQueue;
  private readonly futexSlot: number;
  private readonly futexSpin: number;
  private count: number;
  private readonly chunkShift: number;
  private readonly bytes: Uint8Array[] = [];
  private readonly words: Int32Array[] = [];
  /** The generation the cached entries belong to. */
  private generation: number;
  private readonly tlb: Array<TlbEntry | undefined> = new Array<TlbEntry | undefined>(TLB_ENTRIES).fill(undefined);
  private nextVictim = 0;
  private hit: TlbEntry | undefined = undefined;
  private hasOnce = false;

  constructor(
    init: TaskInit,
    private readonly host: TaskHost,
  ) {
    this.pid = init.pid;
    this.mailbox = new Mailbox(init.mailbox);
    this.generationWord = new Int32Array(init.generation);
    this.counters = new Int32Array(init.inFlight);
    this.slot = init.slot;
    this.futexes = FutexQueue.open(init.futex);
    this.futexSlot = init.futexSlot;
    this.futexSpin = init.futexSpin;
    this.count = Atomics.load(this.counters, this.slot);
    this.chunkShift = init.chunkShift;
    init.chunks.forEach((c, i) => this.addChunk(i, c));
    this.generation = Atomics.load(this.generationWord, 0);
  }

  // Syscalls, through the kernel.

  shmget(key: number, size: Word, flags: number): E.Either<SysError, number> {
    return this.syscall('shmget', [key, size, flags]) as E.Either<SysError, number>;
  }

  shmat(shmid: number, addr: Word, flags: number): E.Either<SysError, number> {
    return this.syscall('shmat', [shmid, addr, flags]) as E.Either<SysError, number>;
  }

  shmdt(addr: Word): E.Either<SysError, number> {
    return this.syscall('shmdt', [addr]) as E.Either<SysError, number>;
  }

  shmctl(shmid: number, cmd: number, set?: IpcSetArgs): E.Either<SysError, ShmctlResult> {
    return this.syscall('shmctl', set === undefined ? [shmid, cmd] : [shmid, cmd, set]) as E.Either<SysError, ShmctlResult>;
  }

  munmap(addr: Word, len: Word): E.Either<SysError, number> {
    return this.syscall('munmap', [addr, len]) as E.Either<SysError, number>;
  }

  mprotect(addr: Word, len: Word, prot: number): E.Either<SysError, number> {
    return this.syscall('mprotect', [addr, len, prot]) as E.Either<SysError, number>;
  }

  /**
   * fork(2) with a program, as glibc's clone(fn, ...) without CLONE_VM runs
   * fn in the child: a child process with a copy of this one (credentials,
   * namespaces, descriptors, and its mappings, so attached segments sit at
   * the same addresses in the child) runs `moduleUrl`'s default export with
   * `args` in a new thread. Returns the child's pid. A thread cannot copy
   * its own running JavaScript, so the child starts at the program's entry
   * rather than returning from fork.
   */
  fork(moduleUrl: string | { readonly href: string }, args: readonly unknown[] = []): E.Either<SysError, number> {
    return this.syscall('fork', [typeof moduleUrl === 'string' ? moduleUrl : moduleUrl.href, args]) as E.Either<SysError, number>;
  }

  /**
   * waitpid(2) for a child started with fork: blocks until its program has
   * ended and the child has exited, then tells how. ECHILD for a pid that is
   * not an unwaited child of this process.
   */
  waitpid(pid: number): E.Either<SysError, ChildExit> {
    return this.syscall('waitpid', [pid]) as E.Either<SysError, ChildExit>;
  }

  /** exit(2): the process exits (every thread of it ends) and this call does not return. */
  exit(): never {
    this.syscall('exit', []);
    return this.host.endThread();
  }

  // Memory, straight to the frames.

  /** Loads `len` bytes at `addr`; a fault returns only the fault. */
  read(addr: Word, len: number): E.Either<Fault, Uint8Array> {
    if (len === 0) return E.right(new Uint8Array(0));
    const a = toAddress(addr);
    if (a === undefined || !Number.isSafeInteger(len) || len < 0) return E.left(segvAt(addr));
    const out = new Uint8Array(len);
    const fault = this.copy(a, out, false);
    return fault === undefined ? E.right(out) : E.left(fault);
  }

  /** Loads `dst.length` bytes at `addr` into `dst`. */
  readInto(addr: Word, dst: Uint8Array): E.Either<Fault, void> {
    if (dst.length === 0) return E.right(undefined);
    const a = toAddress(addr);
    if (a === undefined) return E.left(segvAt(addr));
    const fault = this.copy(a, dst, false);
    return fault === undefined ? E.right(undefined) : E.left(fault);
  }

  /** Stores `bytes` at `addr`; on a fault, the bytes before the faulting page stay written. */
  write(addr: Word, bytes: Uint8Array): E.Either<Fault, void> {
    if (bytes.length === 0) return E.right(undefined);
    const a = toAddress(addr);
    if (a === undefined) return E.left(segvAt(addr));
    const fault = this.copy(a, bytes, true);
    return fault === undefined ? E.right(undefined) : E.left(fault);
  }

  /**
   * Runs `fn` on typed-array views of [addr, addr+len): one Uint8Array per
   * run of consecutive frames (usually one for a segment touched in order).
   * The views alias the shared pages; they are valid only until `fn`
   * returns, and the frames cannot be reused before then.
   */
  withViews<T>(addr: Word, len: number, write: boolean, fn: (views: readonly Uint8Array[]) => T): E.Either<Fault, T> {
    const a = toAddress(addr);
    if (a === undefined || !Number.isSafeInteger(len) || len < 0) return E.left(segvAt(addr));
    this.enter();
    try {
      const views: Uint8Array[] = [];
      const fault = this.walk(a, len, write, (chunk, at, n) => {
        views.push((this.bytes[chunk] as Uint8Array).subarray(at, at + n));
      });
      return fault === undefined ? E.right(fn(views)) : E.left(fault);
    } finally {
      this.leave();
    }
  }

  /** Atomically loads the signed 32-bit word at `addr` (4-byte aligned, else SIGBUS). */
  atomicLoad32(addr: Word): E.Either<Fault, number> {
    return this.atomic(addr, false, (w, i) => Atomics.load(w, i));
  }

  /** Atomically stores `value` at `addr`; returns the word stored. */
  atomicStore32(addr: Word, value: number): E.Either<Fault, number> {
    return this.atomic(addr, true, (w, i) => {
      Atomics.store(w, i, value);
      return value | 0;
    });
  }

  /** Atomically adds `delta` to the word at `addr`; returns the old value. */
  atomicAdd32(addr: Word, delta: number): E.Either<Fault, number> {
    return this.atomic(addr, true, (w, i) => Atomics.add(w, i, delta));
  }

  /** Atomically replaces the word at `addr` with `replacement` if it equals `expected`; returns the old value. */
  atomicCompareExchange32(addr: Word, expected: number, replacement: number): E.Either<Fault, number> {
    return this.atomic(addr, true, (w, i) => Atomics.compareExchange(w, i, expected, replacement));
  }

  /**
   * futex(FUTEX_WAIT): sleeps while the word at `addr` holds `expected`, at
   * most `timeoutMs` (forever when absent): Right(0) when woken, EAGAIN when
   * the value differs, ETIMEDOUT on timeout. Waiters meet by segment and
   * offset, whatever address each process attached at.
   */
  futexWait(addr: Word, expected: number, timeoutMs?: number): E.Either<SysError, 0> {
    const k = this.futexWord(addr);
    return E.isLeft(k) ? k : this.futexes.wait(this.futexSlot, k.right, expected, timeoutMs, this.futexSpin);
  }

  /** futex(FUTEX_WAKE): wakes up to `count` waiters on `addr`; returns how many woke. */
  futexWake(addr: Word, count: number): E.Either<SysError, number> {
    const k = this.futexWord(addr);
    return E.isLeft(k) ? k : this.futexes.wake(k.right, count);
  }

  private syscall(call: string, args: readonly unknown[]): unknown {
    const reply = this.mailbox.call({ call, args });
    // A closed mailbox means the process is gone: this thread ends with it.
    return reply === undefined ? this.host.endThread() : reply;
  }

  private futexWord(addr: Word): E.Either<SysError, FutexKey> {
    const a = toAddress(addr);
    if (a !== undefined && a % 4 !== 0) return E.left(sysError('EINVAL', `futex address 0x${a.toString(16)} is not 4-byte aligned`));
    if (a === undefined) return E.left(sysError('EFAULT', 'futex address outside the address space'));
    this.enter();
    try {
      const e = this.entry(a, 4, false);
      if (isFault(e)) return E.left(sysError('EFAULT', `futex address 0x${a.toString(16)} is not mapped readable`));
      return E.right({ words: this.words[e.chunk] as Int32Array, chunk: e.chunk, index: (e.base + (a - e.start)) >> 2 });
    } finally {
      this.leave();
    }
  }

  private atomic(addr: Word, write: boolean, op: (words: Int32Array, index: number) => number): E.Either<Fault, number> {
    const a = toAddress(addr);
    if (a === undefined) return E.left(segvAt(addr));
    if (a % 4 !== 0) return E.left({ signal: 'SIGBUS', addr: a });
    this.enter();
    try {
      const e = this.entry(a, 4, write);
      if (isFault(e)) return E.left(e);
      return E.right(op(this.words[e.chunk] as Int32Array, (e.base + (a - e.start)) >> 2));
    } finally {
      this.leave();
    }
  }

  /** Copies between `buf` and [addr, addr+buf.length): into memory when `write`. */
  private copy(addr: number, buf: Uint8Array, write: boolean): Fault | undefined {
    this.enter();
    try {
      return this.walk(addr, buf.length, write, (chunk, at, n, done) => {
        const bytes = this.bytes[chunk] as Uint8Array;
        if (write) copyBytes(bytes, at, buf, done, n);
        else copyBytes(buf, done, bytes, at, n);
      });
    } finally {
      this.leave();
    }
  }

  /**
   * Visits [addr, addr+len) run by run, stopping at the first fault.
   * Precondition: the task is in flight (enter).
   */
  private walk(addr: number, len: number, write: boolean, visit: (chunk: number, at: number, n: number, done: number) => void): Fault | undefined {
    const end = addr + len;
    let cur = addr;
    while (cur < end) {
      const e = this.entry(cur, end - cur, write);
      if (isFault(e)) return e;
      const n = Math.min(end, e.end) - cur;
      visit(e.chunk, e.base + (cur - e.start), n, cur - addr);
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
    const reply = this.syscall('tlbFill', [addr, len, write]) as E.Either<Fault, TlbFill>;
    if (E.isLeft(reply)) return reply.left;
    const f = reply.right;
    if (f.generation !== this.generation) this.flush(f.generation);
    let first: TlbEntry | undefined;
    for (const run of f.runs) {
      const chunk = run.frame >> this.chunkShift;
      this.ensureChunk(chunk);
      const e: TlbEntry = {
        start: run.start,
        end: run.start + run.pages * PAGE_SIZE,
        chunk,
        base: (run.frame & ((1 << this.chunkShift) - 1)) * PAGE_SIZE,
        readable: f.readable,
        writable: f.writable,
        once: !f.cacheable,
      };
      this.insert(e);
      first ??= e;
    }
    if (!f.cacheable) this.hasOnce = true;
    if (first === undefined || addr < first.start || addr >= first.end) throw new Error(`tlbFill(${addr}) did not translate ${addr}`);
    this.hit = first;
    return first;
  }

  private insert(e: TlbEntry): void {
    this.tlb[this.nextVictim] = e;
    this.nextVictim = (this.nextVictim + 1) % TLB_ENTRIES;
  }

  /** Marks the task in flight and drops the TLB if the address space changed since it was filled. */
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
      const arrived = this.host.receiveChunks();
      if (arrived.length === 0) throw new Error(`the kernel sent no chunk ${index}`);
      for (const [i, c] of arrived) this.addChunk(i, c);
    }
  }

  private addChunk(index: number, buffer: SharedArrayBuffer): void {
    this.bytes[index] = new Uint8Array(buffer);
    this.words[index] = new Int32Array(buffer);
  }
}
