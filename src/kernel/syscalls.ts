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
 * here, or a SysResult (its Either, or a Pending of it); Process hands the
 * Pending back, and Task blocks in its mailbox until the kernel thread's
 * Pending settles, then returns the Either. Over the mailbox the reply is
 * always the settled Either (SyscallReply).
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import type { Fault } from '../mm/access.js';
import type { TlbFill } from '../mm/tlb.js';
import type { Sembuf } from '../abi/sem.js';
import type { MsgctlResult } from '../msg/ctl.js';
import type { MsgSetArgs } from '../msg/registry.js';
import type { MsgReceived } from '../msg/waiter.js';
import type { SemctlResult, Timespec } from '../sem/syscalls.js';
import type { IpcSetArgs, ShmctlResult } from '../shm/syscalls.js';
import type { Pending, SysResult } from './pending.js';
import type { Word } from './syscall_args.js';

/**
 * semctl's fourth argument (union semun) as a value: SETVAL's int, SETALL's
 * values (one per semaphore), IPC_SET's uid, gid and mode. The other
 * commands ignore it; what they copy out is in their result.
 */
export type SemunArg = number | readonly number[] | IpcSetArgs;

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
  /** semget(2): returns the set's id. */
  semget(key: number, nsems: number, semflg: number): E.Either<SysError, number>;
  /** semop(2): 0 once the operations are performed, all at once; blocks while they cannot be. */
  semop(semid: number, sops: readonly Sembuf[]): SysResult<number>;
  /** semtimedop(2): semop waiting at most `timeout` (relative, on the monotonic clock); EAGAIN when it passes. */
  semtimedop(semid: number, sops: readonly Sembuf[], timeout?: Timespec): SysResult<number>;
  /** semctl(2): every command; `arg` is semun's value, array or IPC_SET buffer. */
  semctl(semid: number, semnum: number, cmd: number, arg?: SemunArg): E.Either<SysError, SemctlResult>;
  /** msgget(2): returns the queue's id. */
  msgget(key: number, msgflg: number): E.Either<SysError, number>;
  /** msgsnd(2) of a message of type `mtype` holding `text` (copied); blocks while the queue is full. */
  msgsnd(msqid: number, mtype: number | bigint, text: Uint8Array, msgflg: number): SysResult<0>;
  /** msgrcv(2) into a buffer of `msgsz` bytes; blocks while no message matches. */
  msgrcv(msqid: number, msgsz: Word, msgtyp: number | bigint, msgflg: number): SysResult<MsgReceived>;
  /** msgctl(2). `set` is IPC_SET's uid, gid, mode and qbytes. */
  msgctl(msqid: number, cmd: number, set?: MsgSetArgs): E.Either<SysError, MsgctlResult>;
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
export type SyscallReply<N extends SyscallName> = Settled<SyscallOutcome<N>>;

/** An outcome with its Pending settled; distributes over a SysResult's union. */
type Settled<O> = O extends Pending<infer T> ? T : O;

/** One call as a thread sends it. */
export interface SyscallRequest<N extends SyscallName = SyscallName> {
  readonly call: N;
  readonly args: SyscallArgs<N>;
}
