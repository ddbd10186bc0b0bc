/**
 * Task: a process as the thread running its program sees it, when that
 * thread is not the kernel thread (a worker). It implements the same
 * ProcessSyscalls as the in-process Process, so a program runs unchanged on
 * either. The kernel's calls go through the thread's Mailbox to the kernel
 * thread's table (syscall_server.ts) and come back as the same Either the
 * in-process call returns; a call the kernel completes later keeps this
 * thread blocked in the mailbox until it has. Memory accesses do not leave
 * the thread: they go straight to the frames through its software TLB
 * (mm/tlb_cache.ts), which a miss fills from the kernel.
 *
 * Owner: the program's thread. Nothing here is shared with other threads
 * except through the buffers in TaskInit.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import type { Fault } from '../mm/access.js';
import { FutexQueue } from '../mm/futex.js';
import { ATOMIC_ADD, ATOMIC_CMPXCHG, ATOMIC_LOAD, ATOMIC_STORE, TlbCache } from '../mm/tlb_cache.js';
import type { TlbCacheInit } from '../mm/tlb_cache.js';
import type { Sembuf } from '../abi/sem.js';
import type { MsgctlResult } from '../msg/ctl.js';
import type { MsgSetArgs } from '../msg/registry.js';
import type { MsgReceived } from '../msg/waiter.js';
import { LeasedQueues, MSG_LEASE_SENT } from '../msg/lease.js';
import type { MsgLeaseMessage } from '../msg/lease.js';
import { LEASE_DONE, LeasedSems } from '../sem/lease.js';
import type { SemLeaseMessage } from '../sem/lease.js';
import type { SemctlResult, Timespec } from '../sem/syscalls.js';
import type { IpcSetArgs, ShmctlResult } from '../shm/syscalls.js';
import { leaseClock } from './clock.js';
import { Mailbox } from './mailbox.js';
import {
  badArgument,
  badFutexAddress,
  badTimeout,
  isAccessLength,
  isWordValue,
  notInteger,
  segvAt,
  unmappedFutex,
  userAddress,
  userBytes,
  wrongType,
} from './syscall_args.js';
import type { Word } from './syscall_args.js';
import type { ChildExit, ProcessSyscalls, SemunArg, SyscallArgs, SyscallName, SyscallReply, SyscallRequest } from './syscalls.js';

export type { ChildExit, ProcessSyscalls, SemunArg } from './syscalls.js';
export type { Sembuf } from '../abi/sem.js';
export type { MsgReceived } from '../msg/waiter.js';
export type { SemLeaseMessage } from '../sem/lease.js';
export type { MsgLeaseMessage } from '../msg/lease.js';
export type { LeaseClockShare } from '../ipc/lessee.js';

/** The shared buffers and numbers a thread needs to run as its process. */
export interface TaskInit extends TlbCacheInit {
  readonly pid: number;
  /** The thread's syscall mailbox. */
  readonly mailbox: SharedArrayBuffer;
  /**
   * The MemoryFile's futex queue (FutexQueue.buffer), this thread's slot in
   * it, and the most times a futex wait, or a call's wait for its reply
   * (Mailbox.call), polls before it sleeps.
   */
  readonly futex: SharedArrayBuffer;
  readonly futexSlot: number;
  readonly futexSpin: number;
  /** The process's IPC epoch word (Process.ipcEpochWord), which tells the thread to drop its semaphore and message-queue leases. */
  readonly ipcEpoch: SharedArrayBuffer;
}

/** A lease as it comes down the thread's chunk port. */
export type LeaseMessage = { readonly semLease: SemLeaseMessage } | { readonly msgLease: MsgLeaseMessage };

/** What a Task needs from the platform that runs it. */
export interface TaskHost {
  /** Chunks the kernel has sent since the last call, as (index, buffer) pairs; blocks for none. */
  receiveChunks(): ReadonlyArray<readonly [number, SharedArrayBuffer]>;
  /** Leases the kernel has sent since the last call (sem/lease.ts, msg/lease.ts); blocks for none. */
  receiveLeases(): readonly LeaseMessage[];
  /** Ends the thread: the process has exited. */
  endThread(): never;
}

/** A process, from the thread running its program. */
export class Task implements ProcessSyscalls {
  readonly pid: number;
  private readonly mailbox: Mailbox;
  private readonly tlb: TlbCache;
  private readonly futexes: FutexQueue;
  private readonly futexSlot: number;
  private readonly futexSpin: number;
  /** Sets lent to this process (sem/lease.ts), whose uncontended semops stay in this thread. */
  private readonly sems: LeasedSems;
  /** Queues lent to this process (msg/lease.ts), whose uncontended msgsnd and msgrcv stay in this thread. */
  private readonly queues: LeasedQueues;
  /** The mailbox's count of lease messages when this thread last took them. */
  private leasesTaken = 0;

  constructor(
    init: TaskInit,
    private readonly host: TaskHost,
  ) {
    this.pid = init.pid;
    this.mailbox = new Mailbox(init.mailbox);
    this.futexes = FutexQueue.open(init.futex);
    this.futexSlot = init.futexSlot;
    this.futexSpin = init.futexSpin;
    this.sems = new LeasedSems(init.ipcEpoch);
    this.queues = new LeasedQueues(init.ipcEpoch, this.mailbox);
    this.tlb = new TlbCache(init, {
      fill: (addr, len, write) => {
        const reply = this.call('tlbFill', [addr, len, write]);
        // ESRCH: the process is gone, and this thread with it.
        return E.isLeft(reply) && !isFault(reply.left) ? this.host.endThread() : (reply as E.Either<Fault, never>);
      },
      receiveChunks: () => host.receiveChunks(),
    });
  }

  // Calls the kernel serves, through the mailbox.

  shmget(key: number, size: Word, flags: number): E.Either<SysError, number> {
    return this.call('shmget', [key, size, flags]);
  }

  shmat(shmid: number, addr: Word, flags: number): E.Either<SysError, number> {
    return this.call('shmat', [shmid, addr, flags]);
  }

  shmdt(addr: Word): E.Either<SysError, number> {
    return this.call('shmdt', [addr]);
  }

  shmctl(shmid: number, cmd: number, set?: IpcSetArgs): E.Either<SysError, ShmctlResult> {
    return this.call('shmctl', set === undefined ? [shmid, cmd] : [shmid, cmd, set]);
  }

  munmap(addr: Word, len: Word): E.Either<SysError, number> {
    return this.call('munmap', [addr, len]);
  }

  mprotect(addr: Word, len: Word, prot: number): E.Either<SysError, number> {
    return this.call('mprotect', [addr, len, prot]);
  }

  // System V semaphores and message queues. A call that would sleep blocks
  // this thread in its mailbox until the kernel thread's Pending settles
  // (woken, timed out, interrupted, or its set or queue removed).

  semget(key: number, nsems: number, semflg: number): E.Either<SysError, number> {
    return this.call('semget', [key, nsems, semflg]);
  }

  /**
   * semop(2): blocks while the operations cannot be performed. One
   * operation on a set lent to this process (sem/lease.ts) is performed in
   * this thread when it can be, after polling a while when it cannot yet;
   * everything else is the kernel thread's.
   */
  semop(semid: number, sops: readonly Sembuf[]): E.Either<SysError, number> {
    if (this.sems.semop(semid, sops, this.futexSpin) === LEASE_DONE) return DONE;
    return this.leased(this.call('semop', [semid, sops]));
  }

  /** semtimedop(2): blocks at most `timeout` (on the kernel's monotonic clock), then EAGAIN. Without a timeout, as semop. */
  semtimedop(semid: number, sops: readonly Sembuf[], timeout?: Timespec): E.Either<SysError, number> {
    if (timeout === undefined && this.sems.semop(semid, sops, this.futexSpin) === LEASE_DONE) return DONE;
    return this.leased(this.call('semtimedop', timeout === undefined ? [semid, sops] : [semid, sops, timeout]));
  }

  /**
   * How many of this thread's semops it performed itself, on a set lent
   * to its process, rather than through the kernel thread.
   * @internal
   */
  get semopsInThread(): number {
    return this.sems.performed;
  }

  /**
   * How many of this thread's msgsnd and msgrcv calls it performed itself,
   * on a queue lent to its process.
   * @internal
   */
  get msgCallsInThread(): number {
    return this.queues.performed;
  }

  /** Takes the leases the kernel thread sent with a reply (they go down the chunk port, ahead of it). */
  private leased<T>(reply: T): T {
    const sent = this.mailbox.leasesSent();
    if (sent !== this.leasesTaken) {
      this.leasesTaken = sent;
      const sems: SemLeaseMessage[] = [];
      const queues: MsgLeaseMessage[] = [];
      for (const m of this.host.receiveLeases()) {
        if ('semLease' in m) sems.push(m.semLease);
        else queues.push(m.msgLease);
      }
      if (sems.length !== 0) this.sems.add(sems, leaseClock);
      if (queues.length !== 0) this.queues.add(queues, leaseClock);
    }
    return reply;
  }

  semctl(semid: number, semnum: number, cmd: number, arg?: SemunArg): E.Either<SysError, SemctlResult> {
    return this.call('semctl', arg === undefined ? [semid, semnum, cmd] : [semid, semnum, cmd, arg]);
  }

  msgget(key: number, msgflg: number): E.Either<SysError, number> {
    return this.call('msgget', [key, msgflg]);
  }

  /**
   * msgsnd(2): blocks while the queue has no room (without IPC_NOWAIT). On
   * a queue lent to this process (msg/lease.ts) a send that fits is queued
   * in this thread, after polling a while when the queue is full.
   */
  msgsnd(msqid: number, mtype: number | bigint, text: Uint8Array, msgflg: number): E.Either<SysError, 0> {
    if (this.queues.size !== 0) {
      const bytes = userBytes(text);
      if (bytes !== undefined && this.queues.msgsnd(msqid, mtype, bytes, msgflg, this.futexSpin) === MSG_LEASE_SENT) return SENT;
    }
    return this.leased(this.call('msgsnd', [msqid, mtype, text, msgflg]));
  }

  /**
   * msgrcv(2): blocks while no message matches (without IPC_NOWAIT). On a
   * queue lent to this process the first message is received in this
   * thread, after polling a while when the queue is empty.
   */
  msgrcv(msqid: number, msgsz: Word, msgtyp: number | bigint, msgflg: number): E.Either<SysError, MsgReceived> {
    if (this.queues.size !== 0) {
      const got = this.queues.msgrcv(msqid, msgsz, msgtyp, msgflg, this.futexSpin);
      if (got !== undefined) return E.right(got);
    }
    return this.leased(this.call('msgrcv', [msqid, msgsz, msgtyp, msgflg]));
  }

  msgctl(msqid: number, cmd: number, set?: MsgSetArgs): E.Either<SysError, MsgctlResult> {
    return this.call('msgctl', set === undefined ? [msqid, cmd] : [msqid, cmd, set]);
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
    return this.call('fork', [typeof moduleUrl === 'string' ? moduleUrl : moduleUrl.href, args]);
  }

  /**
   * waitpid(2) for a child started with fork: blocks until its program has
   * ended and the child has exited, then tells how. ECHILD for a pid that is
   * not an unwaited child of this process.
   */
  waitpid(pid: number): E.Either<SysError, ChildExit> {
    return this.call('waitpid', [pid]);
  }

  /** exit(2): the process exits (every thread of it ends) and this call does not return. */
  exit(): never {
    this.call('exit', []);
    return this.host.endThread();
  }

  // Memory, straight to the frames.

  /** Loads `len` bytes at `addr`; a fault returns only the fault. */
  read(addr: Word, len: number): E.Either<Fault, Uint8Array> {
    if (len === 0) return E.right(new Uint8Array(0));
    const a = userAddress(addr);
    if (a === undefined || !isAccessLength(len)) return segvAt(addr);
    const out = new Uint8Array(len);
    const fault = this.tlb.copy(a, out, false);
    return fault === undefined ? E.right(out) : E.left(fault);
  }

  /** Loads `dst.length` bytes at `addr` into `dst`. */
  readInto(addr: Word, dst: Uint8Array): E.Either<Fault, void> {
    const into = userBytes(dst);
    if (into === undefined) throw wrongType('Task.readInto', 'dst', dst, 'a Uint8Array');
    if (into.length === 0) return E.right(undefined);
    const a = userAddress(addr);
    if (a === undefined) return segvAt(addr);
    const fault = this.tlb.copy(a, into, false);
    return fault === undefined ? E.right(undefined) : E.left(fault);
  }

  /** Stores `bytes` at `addr`; on a fault, the bytes before the faulting page stay written. */
  write(addr: Word, bytes: Uint8Array): E.Either<Fault, void> {
    const from = userBytes(bytes);
    if (from === undefined) throw wrongType('Task.write', 'bytes', bytes, 'a Uint8Array');
    if (from.length === 0) return E.right(undefined);
    const a = userAddress(addr);
    if (a === undefined) return segvAt(addr);
    const fault = this.tlb.copy(a, from, true);
    return fault === undefined ? E.right(undefined) : E.left(fault);
  }

  /**
   * Runs `fn` on typed-array views of [addr, addr+len): one Uint8Array per
   * run of consecutive frames (usually one for a segment touched in order).
   * The views alias the shared pages; they are valid only until `fn`
   * returns, and the frames cannot be reused before then.
   */
  withViews<T>(addr: Word, len: number, write: boolean, fn: (views: readonly Uint8Array[]) => T): E.Either<Fault, T> {
    const a = userAddress(addr);
    return a === undefined || !isAccessLength(len) ? segvAt(addr) : this.tlb.withViews(a, len, write, fn);
  }

  /** Atomically loads the signed 32-bit word at `addr` (4-byte aligned, else SIGBUS). */
  atomicLoad32(addr: Word): E.Either<Fault, number> {
    const a = userAddress(addr);
    return a === undefined ? segvAt(addr) : this.tlb.atomic(a, ATOMIC_LOAD, 0, 0);
  }

  /** Atomically stores `value` at `addr`; returns the word stored. */
  atomicStore32(addr: Word, value: number): E.Either<Fault, number> {
    if (!isWordValue(value)) throw wrongType('Task.atomicStore32', 'value', value, 'a 32-bit integer');
    const a = userAddress(addr);
    return a === undefined ? segvAt(addr) : this.tlb.atomic(a, ATOMIC_STORE, value, 0);
  }

  /** Atomically adds `delta` to the word at `addr`; returns the old value. */
  atomicAdd32(addr: Word, delta: number): E.Either<Fault, number> {
    if (!isWordValue(delta)) throw wrongType('Task.atomicAdd32', 'delta', delta, 'a 32-bit integer');
    const a = userAddress(addr);
    return a === undefined ? segvAt(addr) : this.tlb.atomic(a, ATOMIC_ADD, delta, 0);
  }

  /** Atomically replaces the word at `addr` with `replacement` if it equals `expected`; returns the old value. */
  atomicCompareExchange32(addr: Word, expected: number, replacement: number): E.Either<Fault, number> {
    if (!isWordValue(expected)) throw wrongType('Task.atomicCompareExchange32', 'expected', expected, 'a 32-bit integer');
    if (!isWordValue(replacement)) throw wrongType('Task.atomicCompareExchange32', 'replacement', replacement, 'a 32-bit integer');
    const a = userAddress(addr);
    return a === undefined ? segvAt(addr) : this.tlb.atomic(a, ATOMIC_CMPXCHG, expected, replacement);
  }

  /**
   * futex(FUTEX_WAIT): sleeps while the word at `addr` holds `expected`, at
   * most `timeoutMs` (forever when absent): Right(0) when woken, EAGAIN when
   * the value differs, ETIMEDOUT on timeout. Waiters on a shared object
   * meet by object and offset, whatever address each process attached at;
   * on private memory, by this process's address space and the address
   * (see TlbCache.futexKey).
   */
  futexWait(addr: Word, expected: number, timeoutMs?: number): E.Either<SysError, 0> {
    const bad = (isWordValue(expected) ? undefined : badArgument('expected', expected)) ?? badTimeout(timeoutMs);
    if (bad !== undefined) return bad;
    const a = userAddress(addr);
    if (a === undefined || a % 4 !== 0) return badFutexAddress(a);
    const k = this.tlb.futexKey(a);
    return k === undefined ? unmappedFutex(a) : this.futexes.wait(this.futexSlot, k, expected, timeoutMs, this.futexSpin);
  }

  /** futex(FUTEX_WAKE): wakes up to `count` waiters on `addr`; returns how many woke. */
  futexWake(addr: Word, count: number): E.Either<SysError, number> {
    const bad = notInteger('count', count);
    if (bad !== undefined) return bad;
    const a = userAddress(addr);
    if (a === undefined || a % 4 !== 0) return badFutexAddress(a);
    const k = this.tlb.futexKey(a);
    return k === undefined ? unmappedFutex(a) : this.futexes.wake(k, count);
  }

  /** Sends one call to the kernel thread and blocks for its reply. */
  private call<N extends SyscallName>(call: N, args: SyscallArgs<N>): SyscallReply<N> {
    const request: SyscallRequest<N> = { call, args };
    const reply = this.mailbox.call(request, this.futexSpin);
    // A closed mailbox means the process is gone: this thread ends with it.
    return reply === undefined ? this.host.endThread() : (reply as SyscallReply<N>);
  }
}

/** A semop performed in the thread: 0, as the kernel answers one. */
const DONE: E.Either<SysError, number> = E.right(0);
/** A msgsnd performed in the thread. */
const SENT: E.Either<SysError, 0> = E.right(0);

const isFault = (x: Fault | SysError): x is Fault => (x as Fault).signal !== undefined;
