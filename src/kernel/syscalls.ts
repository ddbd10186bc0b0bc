/**
 * The syscall surface of a process, declared once for every thread its
 * program may run on. `Process` (the program runs on the kernel thread) and
 * `Task` (it runs in a worker) both implement ProcessSyscalls, so a program
 * written against the interface runs either way and gets the same Eithers.
 *
 * The calls split by where they are served. KernelSyscalls change kernel
 * state, so the kernel thread serves them: in-process as a direct method
 * call, from a worker through its mailbox and the server's table
 * (syscall_server.ts), which is keyed by these very names. MemoryAccess is
 * served in the calling thread itself: loads, stores and atomics go to the
 * frames (through a software TLB in a worker), and futex waiters meet in
 * the MemoryFile's shared queue.
 *
 * A call that can block returns a Pending (pending.ts) in its signature
 * here; Process hands the Pending back, and Task blocks in its mailbox until
 * the kernel thread's Pending settles, then returns it settled. Over the
 * mailbox the reply is always the settled Either (SyscallReply).
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import type { Fault } from '../mm/access.js';
import type { TlbFill } from '../mm/tlb.js';
import type { IpcSetArgs, ShmctlResult } from '../shm/syscalls.js';
import type { Pending } from './pending.js';
import type { Word } from './syscall_args.js';

/** The calls the kernel thread serves. */
export interface KernelSyscalls {
  /** shmget(2): returns the segment id. */
  shmget(key: number, size: Word, flags: number): E.Either<SysError, number>;
  /** shmat(2): returns the attach address. */
  shmat(shmid: number, addr: Word, flags: number): E.Either<SysError, number>;
  /** shmdt(2). */
  shmdt(addr: Word): E.Either<SysError, number>;
  /** shmctl(2). `set` is IPC_SET's uid, gid and mode. */
  shmctl(shmid: number, cmd: number, set?: IpcSetArgs): E.Either<SysError, ShmctlResult>;
  /** munmap(2). */
  munmap(addr: Word, len: Word): E.Either<SysError, number>;
  /** mprotect(2). */
  mprotect(addr: Word, len: Word, prot: number): E.Either<SysError, number>;
  /** exit(2): the process exits. From a worker the call does not return. */
  exit(): E.Either<SysError, void>;
}

/** The calls served in the calling thread. */
export interface MemoryAccess {
  /** Loads `len` bytes at `addr`. */
  read(addr: Word, len: number): E.Either<Fault, Uint8Array>;
  /** Loads `dst.length` bytes at `addr` into `dst`. */
  readInto(addr: Word, dst: Uint8Array): E.Either<Fault, void>;
  /** Stores `bytes` at `addr`. */
  write(addr: Word, bytes: Uint8Array): E.Either<Fault, void>;
  /** Atomically loads the signed 32-bit word at `addr` (4-byte aligned, else SIGBUS). */
  atomicLoad32(addr: Word): E.Either<Fault, number>;
  /** Atomically stores `value` at `addr`; returns the word stored. */
  atomicStore32(addr: Word, value: number): E.Either<Fault, number>;
  /** Atomically adds `delta` to the word at `addr`; returns the old value. */
  atomicAdd32(addr: Word, delta: number): E.Either<Fault, number>;
  /** Atomically replaces the word at `addr` with `replacement` if it equals `expected`; returns the old value. */
  atomicCompareExchange32(addr: Word, expected: number, replacement: number): E.Either<Fault, number>;
  /** futex(FUTEX_WAIT): sleeps while the word at `addr` holds `expected`, at most `timeoutMs` (forever when absent). */
  futexWait(addr: Word, expected: number, timeoutMs?: number): E.Either<SysError, 0>;
  /** futex(FUTEX_WAKE): wakes up to `count` waiters on `addr`; returns how many woke. */
  futexWake(addr: Word, count: number): E.Either<SysError, number>;
}

/** What a process's program can call, on whichever thread it runs. */
export interface ProcessSyscalls extends KernelSyscalls, MemoryAccess {}

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

/** The calls only a worker thread sends: threads of its own, and its TLB's misses. */
export interface ThreadCalls {
  /** fork with a program: the child's pid (Task.fork). */
  fork(moduleUrl: string, args: readonly unknown[]): E.Either<SysError, number>;
  /** Waits for a forked child's program to end; served later, when it has. */
  waitpid(pid: number): Pending<E.Either<SysError, ChildExit>>;
  /** The software TLB's miss path (MemoryManager.translateForTlb). */
  tlbFill(addr: number, len: number, write: boolean): E.Either<Fault | SysError, TlbFill>;
}

/** Every call that crosses a mailbox, by name. */
export type MailboxCalls = KernelSyscalls & ThreadCalls;

/** The name of a call a thread sends; the server's table has one entry per name. */
export type SyscallName = keyof MailboxCalls;

export type SyscallArgs<N extends SyscallName> = Parameters<MailboxCalls[N]>;

/** What a call returns to its caller: its Either, or a Pending of it. */
export type SyscallOutcome<N extends SyscallName> = ReturnType<MailboxCalls[N]>;

/** What the mailbox carries back: the call's Either, settled. */
export type SyscallReply<N extends SyscallName> = SyscallOutcome<N> extends Pending<infer T> ? T : SyscallOutcome<N>;

/** One call as a thread sends it. */
export interface SyscallRequest<N extends SyscallName = SyscallName> {
  readonly call: N;
  readonly args: SyscallArgs<N>;
}
