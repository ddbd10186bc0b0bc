/**
 * A simulated process: credentials, an address space, an IPC namespace, a
 * mount namespace, a descriptor table and a memory cgroup, with the syscall
 * surface of System V shared memory and of files on tmpfs. Every call
 * returns an Either; memory accesses return a Fault on their Left side
 * instead of raising a signal, and the process survives it. The one signal
 * that ends it is the memory cgroup OOM killer's SIGKILL (see killedBy).
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE, PAGE_SIZE_N, PROT_EXEC, PROT_READ, PROT_WRITE, RLIM_INFINITY, TASK_SIZE, TASK_SIZE_N } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { Credentials, RLimit } from '../auth/credentials.js';
import { hasCapability } from '../auth/credentials.js';
import type { Sembuf } from '../abi/sem.js';
import { IPC_SET } from '../abi/constants.js';
import { SETALL, SETVAL } from '../abi/sem.js';
import type { MsgctlResult } from '../msg/ctl.js';
import { msgctl as msgctlOn } from '../msg/ctl.js';
import { msgrcv as msgrcvOn } from '../msg/receive.js';
import type { MsgRegistry, MsgSetArgs } from '../msg/registry.js';
import { SENT, msgsnd as msgsndOn } from '../msg/send.js';
import { msgrcvUncontended, msgsndUncontended } from '../msg/uncontended.js';
import type { MsgLeaseGrant } from '../msg/lease.js';
import { grantMsgLease } from '../msg/lease.js';
import type { MsgCaller, MsgReceived, MsgWaiter } from '../msg/waiter.js';
import { isMsgWaiter } from '../msg/waiter.js';
import { exitSem } from '../sem/exit.js';
import type { LeaseGrant } from '../sem/lease.js';
import { grantLease } from '../sem/lease.js';
import type { SemCaller, SemctlArg, SemctlResult, Timespec } from '../sem/syscalls.js';
import * as sem from '../sem/syscalls.js';
import { copySemundo, newSysvSem } from '../sem/undo.js';
import { SEMOP_DONE } from '../sem/waiter.js';
import type { SemWaiter } from '../sem/waiter.js';
import type { SysvSem } from '../sem/undo.js';
import { Tmpfs } from '../tmpfs/superblock.js';
import type { Fault } from '../mm/access.js';
import type { TlbFill } from '../mm/tlb.js';
import type { Vma } from '../mm/vma.js';
import { MemoryManager } from '../mm/memory_manager.js';
import { AnonymousMemory } from '../mm/anon.js';
import { RegularFile } from '../tmpfs/regular.js';
import type { MappingContext } from '../mm/memmap.js';
import type { IpcSetArgs, ShmctlResult } from '../shm/syscalls.js';
import * as shm from '../shm/syscalls.js';
import type { Registry } from '../shm/registry.js';
import type { MemoryCharge } from '../memcg/charge.js';
import { isChargeRefused } from '../tmpfs/claim.js';
import type { FileOffset } from '../tmpfs/offset.js';
import { MAX_LFS_FILESIZE, offsetOf } from '../tmpfs/offset.js';
import type { TmpfsRemount } from '../tmpfs/superblock.js';
import * as files from '../vfs/files.js';
import { fcntl as fcntlOn } from '../posix/fcntl.js';
import type { MemfdCaller } from '../posix/memfd.js';
import { memfdCreate as memfdCreateOn } from '../posix/memfd.js';
import { shmOpen as shmOpenOn, shmUnlink as shmUnlinkOn } from '../posix/shm_open.js';
import type { MmapCaller } from '../posix/mmap.js';
import { mmap as mmapOn } from '../posix/mmap.js';
import type { LockCaller } from '../posix/mman.js';
import { madvise as madviseOn, mincore as mincoreOn, mlock as mlockOn, msync as msyncOn, munlock as munlockOn } from '../posix/mman.js';
import { futexWait, futexWake } from './futex.js';
import { deferredCall, isPending } from './pending.js';
import type { Pending, SysResult } from './pending.js';
import type { IpcSysctl, SysctlValue } from './sysctl.js';
import {
  badArgument,
  badFutexAddress,
  badPointer,
  badTimeout,
  copyElements,
  copyFields,
  copyFlags,
  copySops,
  copyTimespec,
  invalid,
  isAccessLength,
  isArrayValue,
  isInt,
  isOptions,
  isWordValue,
  notUserBytes,
  notCount,
  notInteger,
  notIntegerFields,
  notLoff,
  notLong,
  notPath,
  segvAt,
  toLong,
  toMmapOffset,
  toSize,
  toU64,
  toU64Arg,
  userAddress,
  userBytes,
  userBytesCopy,
  wrongType,
} from './syscall_args.js';
import type { Word } from './syscall_args.js';
import type { ProcessSyscalls, SemunArg } from './syscalls.js';
import type { FdTable, FileStat, Statfs } from '../vfs/files.js';
import type { IpcNamespace } from './ipc_namespace.js';
import type { Kernel } from './kernel.js';
import type { Location, Mount, MountFlags, MountNamespace } from '../vfs/mounts.js';

export type { Word } from './syscall_args.js';

/** PROT_SEM is accepted by mprotect on x86-64 and has no effect. */
const PROT_SEM = 0x8;
/** mprotect's range extenders: to the start of a growing-down mapping, or (never on x86-64) to the end of a growing-up one. */
const PROT_GROWSDOWN = 0x01000000;
const PROT_GROWSUP = 0x02000000;

/** A process's filesystem state: where it resolves paths, its descriptors, and who pays for its pages. */
export interface ProcessFs {
  readonly mountNamespace: MountNamespace;
  readonly files: FdTable;
  readonly memoryCharge: MemoryCharge;
}

/**
 * The stack of a new process, where x86-64 Linux puts it without address
 * randomization: 132 KiB ending at TASK_SIZE. A real process always has one,
 * so a fixed shmat whose range runs across it fails with EINVAL as on Linux.
 */
const STACK_BYTES = 0x21000;

/** A fresh address space holding only the process's stack. */
function newAddressSpace(kernel: Kernel, ctx: MappingContext): MemoryManager {
  const mm = new MemoryManager({ memoryFile: kernel.memoryFile, executeOnly: kernel.executeOnly, vm: kernel.vm });
  const stack = new AnonymousMemory(kernel.memoryFile, STACK_BYTES, '[stack]');
  const mapped = mm.mmap(ctx, {
    length: STACK_BYTES,
    offset: 0,
    addr: TASK_SIZE - STACK_BYTES,
    fixed: true,
    perms: PROT_READ | PROT_WRITE,
    maxPerms: PROT_READ | PROT_WRITE | PROT_EXEC,
    mappable: stack,
    identity: stack,
    writable: true,
  });
  if (E.isLeft(mapped)) throw new Error(`mapping the stack of a new process: ${mapped.left.message}`);
  return mm;
}

/** A call of this process that waits (a semop, msgsnd or msgrcv asleep), as a signal reaches it and a checkpoint reads it. */
interface Waiting {
  /** Ends the wait with EINTR, unless it already ended; false then. */
  interrupt(): boolean;
  /** What the call is, and what re-creating it needs. */
  readonly call: WaitingCall;
  /** Kernel-wide order in which calls began to wait (timers of equal deadline fire in it). */
  readonly seq: number;
}

/**
 * A sleeping call of a process as a checkpoint reads it: the mechanism's
 * waiter and the arguments that made it. `deadline` is semtimedop's, on the
 * kernel's monotonic clock (Infinity without a timeout); `reg` is the
 * registry the call went to (the process may have left that namespace
 * since).
 * @internal
 */
export type WaitingCall =
  | { readonly call: 'semop' | 'semtimedop'; readonly waiter: SemWaiter; readonly deadline: number }
  | {
      readonly call: 'msgsnd';
      readonly waiter: MsgWaiter;
      readonly reg: MsgRegistry;
      readonly msqid: number;
      readonly mtype: number | bigint;
      readonly text: Uint8Array;
      readonly msgflg: number;
    }
  | {
      readonly call: 'msgrcv';
      readonly waiter: MsgWaiter;
      readonly reg: MsgRegistry;
      readonly msqid: number;
      readonly msgsz: number | bigint;
      readonly msgtyp: number | bigint;
      readonly msgflg: number;
    };

/** The arguments of a msgsnd or msgrcv to make again (WaitingCall without its waiter). @internal */
export type MsgWaitArgs = Omit<Extract<WaitingCall, { call: 'msgsnd' }>, 'waiter'> | Omit<Extract<WaitingCall, { call: 'msgrcv' }>, 'waiter'>;

/** semtimedop's options without a timeout: one object for every call. */
const NO_SEMOP_OPTIONS: sem.SemopOptions = Object.freeze({});

/** Numbers the waits of every kernel in the order they begin. */
let nextWaitSeq = 0;

/** A process of a Kernel. */
export class Process implements ProcessSyscalls {
  /** @internal */
  readonly mm: MemoryManager;
  /** @internal */
  readonly mappingContext: MappingContext;
  /**
   * Identifies this process as a segment creator (Linux shm_creator).
   * @internal
   */
  readonly creatorToken: object = {};
  /**
   * The descriptor table.
   * @internal
   */
  readonly files: FdTable;
  private exitedFlag = false;
  private readonly mountNs: MountNamespace;
  private cgroup: MemoryCharge;
  private killSignal: 'SIGKILL' | undefined = undefined;
  /** Set by the kernel when this process's cgroup refused a page during a fault. */
  private faultChargeRefused = false;
  /**
   * task_struct.sysvsem: the SEM_UNDO list, made at the first SEM_UNDO semop.
   * @internal
   */
  readonly sysvsem: SysvSem = newSysvSem();
  /** The callers semCaller() and msgCaller() gave last. */
  private lastSemCaller: SemCaller | undefined = undefined;
  /** copyOneSop's copy: one sop, overwritten by each semop. */
  private readonly sopScratch: readonly Sembuf[] = [{ semNum: 0, semOp: 0, semFlg: 0 }];
  private lastMsgCaller: MsgCaller | undefined = undefined;
  /** The word this process's worker threads check before they use a semaphore or message-queue lease (see ipcEpochWord); made on first use. */
  private epochWord: Int32Array | undefined = undefined;
  /** The file mode creation mask (umask(2)); 0 for a spawned process, inherited at fork. */
  private fileModeMask = 0;
  /** RLIMIT_FSIZE (bytes); unlimited for a spawned process, inherited at fork. */
  private fsize: RLimit = { soft: RLIM_INFINITY, hard: RLIM_INFINITY };
  /** The calls of this process that wait, as Linux's threads asleep in them; each leaves when it ends. */
  private readonly waiting = new Set<Waiting>();
  /** Calls a thread of this process is blocked in: the serving loop holds the thread's reply until each settles. */
  private readonly threadCalls = new Map<Pending<unknown>, string>();

  /**
   * A process entering `fs.mountNamespace`; Kernel.spawn and fork build them.
   * @internal
   * @internal
   */
  constructor(
    private readonly kernel: Kernel,
    readonly pid: number,
    private credentials: Credentials,
    private namespace: IpcNamespace,
    mm: MemoryManager | undefined,
    fs: ProcessFs,
  ) {
    // The kernel's clock function itself, not a closure around kernel.now():
    // shmat and shmdt read it on every call.
    this.mappingContext = { pid, now: kernel.clock };
    this.mm = mm ?? newAddressSpace(kernel, this.mappingContext);
    // A locked stack grows only within RLIMIT_MEMLOCK, as acct_stack_growth asks mlock_future_ok.
    this.mm.stackLockLimit = () => {
      const l = this.lockLimits();
      return l.capIpcLock ? Infinity : l.memlockPages;
    };
    this.mountNs = fs.mountNamespace;
    this.files = fs.files;
    this.cgroup = fs.memoryCharge;
    this.mountNs.join();
  }

  get creds(): Credentials {
    return this.credentials;
  }

  get ipcNamespace(): IpcNamespace {
    return this.namespace;
  }

  /** @internal */
  get registry(): Registry {
    return this.namespace.shm;
  }

  /** @internal */
  get lockedMemory(): Kernel['lockedMemory'] {
    return this.kernel.lockedMemory;
  }

  /** True once exit() ran, or the process was killed. */
  get exited(): boolean {
    return this.exitedFlag;
  }

  /** 'SIGKILL' when the memory cgroup OOM killer ended the process (shell status 137). */
  get killedBy(): 'SIGKILL' | undefined {
    return this.killSignal;
  }

  get mountNamespace(): MountNamespace {
    return this.mountNs;
  }

  /**
   * The memory cgroup the process's new pages are charged to.
   * @internal
   */
  get memoryCharge(): MemoryCharge {
    return this.cgroup;
  }

  /**
   * Moves the process to another memory cgroup; pages already charged stay where they are, as in Linux.
   * @internal
   */
  setMemoryCharge(charge: MemoryCharge): void {
    this.cgroup = charge;
  }

  /**
   * Internal: the kernel saw this process's cgroup refuse a page during a fault.
   * @internal
   */
  noteRefusedFaultCharge(): void {
    this.faultChargeRefused = true;
  }

  /** shmget(2): returns the segment id. */
  shmget(key: number, size: Word, flags: number): E.Either<SysError, number> {
    const sz = toU64Arg(size);
    if (sz === undefined) return this.gone() ?? badArgument('size', size);
    return this.gone() ?? notInteger('key', key) ?? notInteger('flags', flags) ?? shm.shmget(this, key, sz, flags);
  }

  /** shmat(2): returns the attach address. */
  shmat(shmid: number, addr: Word, flags: number): E.Either<SysError, number> {
    const a = toU64Arg(addr);
    if (a === undefined) return this.gone() ?? badArgument('addr', addr);
    return this.gone() ?? notInteger('shmid', shmid) ?? notInteger('flags', flags) ?? shm.shmat(this, shmid, a, flags);
  }

  /** shmdt(2). */
  shmdt(addr: Word): E.Either<SysError, number> {
    const a = toU64Arg(addr);
    return this.gone() ?? (a === undefined ? badArgument('addr', addr) : shm.shmdt(this, a));
  }

  /** shmctl(2). `set` is IPC_SET's uid, gid and mode. */
  shmctl(shmid: number, cmd: number, set?: IpcSetArgs): E.Either<SysError, ShmctlResult> {
    // Plain tests first: IPC_STAT is a hot path, and the common call passes them all.
    if (this.exitedFlag || !Number.isInteger(shmid) || !Number.isInteger(cmd) || set !== undefined) {
      const bad = this.gone() ?? notInteger('shmid', shmid) ?? notInteger('cmd', cmd);
      if (bad !== undefined) return bad;
      if (set !== undefined) {
        // Copied once, as Linux copies the shmid_ds in: the mechanism uses the values checked here.
        const copied = copySetArgs(set);
        return E.isLeft(copied) ? copied : shm.shmctl(this, shmid, cmd, copied.right);
      }
    }
    return shm.shmctl(this, shmid, cmd, set);
  }

  /** munmap(2) (mm/mmap.c do_vmi_munmap's argument checks, then the address space). */
  munmap(addr: Word, len: Word): E.Either<SysError, number> {
    return this.live(() => {
      const start = toU64(addr);
      const length = toU64(len);
      if (start === undefined) return badArgument('addr', addr);
      if (length === undefined) return badArgument('len', len);
      const task = TASK_SIZE_N;
      if (start % PAGE_SIZE_N !== 0n || start > task || length > task - start || length === 0n) {
        return E.left(sysError('EINVAL', 'munmap needs a page-aligned start and a non-empty range inside the address space'));
      }
      return E.map(() => 0)(this.mm.munmap(this.mappingContext, Number(start), Number(length)));
    });
  }

  /** mprotect(2) (mm/mprotect.c do_mprotect_pkey's argument checks, then the address space). */
  mprotect(addr: Word, len: Word, givenProt: number): E.Either<SysError, number> {
    return this.live(() => {
      let start = toU64(addr);
      const length = toU64(len);
      if (start === undefined) return badArgument('addr', addr);
      if (length === undefined) return badArgument('len', len);
      const badProt = notInteger('prot', givenProt);
      if (badProt !== undefined) return badProt;
      const grows = givenProt & (PROT_GROWSDOWN | PROT_GROWSUP);
      const prot = givenProt & ~grows;
      if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return E.left(sysError('EINVAL', 'mprotect with both PROT_GROWSDOWN and PROT_GROWSUP'));
      if (start % PAGE_SIZE_N !== 0n) return E.left(sysError('EINVAL', 'mprotect needs a page-aligned start'));
      if (length === 0n) return E.right(0);
      const end = start + ((length + PAGE_SIZE_N - 1n) / PAGE_SIZE_N) * PAGE_SIZE_N;
      if (end > 0xffffffffffffffffn || end <= start) return E.left(sysError('ENOMEM', 'the range wraps'));
      if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) !== 0) return E.left(sysError('EINVAL', `bad protection 0x${prot.toString(16)}`));
      if (start >= TASK_SIZE_N) return E.left(sysError('ENOMEM', 'no mapping at that address'));
      if (grows !== 0) {
        const from = this.growsFrom(Number(start), end > TASK_SIZE_N ? TASK_SIZE : Number(end), grows);
        if (E.isLeft(from)) return from;
        start = BigInt(from.right);
      }
      const clippedEnd = end > TASK_SIZE_N ? TASK_SIZE_N + PAGE_SIZE_N : end;
      const refuse = (prot & PROT_WRITE) === 0 ? undefined : (v: Vma, from: number, to: number) => this.commitRefused(v, from, to);
      return E.map(() => 0)(this.mm.mprotect(this.mappingContext, Number(start), Number(clippedEnd - start), prot & ~PROT_SEM, refuse));
    });
  }

  /**
   * do_mprotect_pkey with PROT_GROWSDOWN or PROT_GROWSUP: the first mapping
   * ending above `start` must begin below `end` (ENOMEM); with
   * PROT_GROWSDOWN the range then starts where that mapping does, which
   * must grow down (EINVAL otherwise; its grown pieces count as one
   * mapping); nothing grows up on x86-64, so PROT_GROWSUP is EINVAL over a
   * mapping that covers `start`.
   */
  private growsFrom(start: number, end: number, grows: number): E.Either<SysError, number> {
    const vmas = this.mm.vmas();
    const i = vmas.findIndex((v) => v.end > start);
    const vma = vmas[i];
    if (vma === undefined) return E.left(sysError('ENOMEM', 'mprotect: no mapping at or above the address'));
    if (grows === PROT_GROWSUP) {
      if (vma.start > start) return E.left(sysError('ENOMEM', 'mprotect: the address is not mapped'));
      return E.left(sysError('EINVAL', 'mprotect: PROT_GROWSUP, and no mapping grows up'));
    }
    if (vma.start >= end) return E.left(sysError('ENOMEM', 'mprotect: nothing mapped in the range'));
    if (!vma.growsDown) return E.left(sysError('EINVAL', 'mprotect: PROT_GROWSDOWN on a mapping that does not grow down'));
    let from = vma.start;
    for (let j = i - 1; j >= 0; j--) {
      const v = vmas[j] as (typeof vmas)[number];
      if (v.end !== from || v.mappable !== vma.mappable || !v.growsDown) break;
      from = v.start;
    }
    return E.right(from);
  }

  /**
   * mprotect_fixup's overcommit check of the piece [from, to) of `v`, which
   * is becoming writable: a private piece that was not (no VM_WRITE,
   * VM_SHARED, VM_NORESERVE, VM_HUGETLB) is charged its pages, and more than
   * RAM plus swap is ENOMEM. A piece once made writable keeps its charge
   * (VM_ACCOUNT) in Linux; here one that is no longer writable is asked
   * again, which only differs for a piece grown past the bound by merging.
   */
  private commitRefused(v: Vma, from: number, to: number): SysError | undefined {
    const m = v.mappable;
    // A private mapping of a hugetlbfs file has hugetlb's own accounting (VM_HUGETLB).
    const charged =
      (v.perms & PROT_WRITE) === 0 &&
      m instanceof AnonymousMemory &&
      !m.noReserve &&
      !(m.backing?.mappable instanceof RegularFile && m.backing.mappable.hugePageSize !== 0);
    if (!charged || BigInt((to - from) / PAGE_SIZE) <= this.kernel.commitLimitPages) return undefined;
    return sysError('ENOMEM', `mprotect: making the mapping at ${from} writable passes the overcommit heuristic's ${this.kernel.commitLimitPages} pages`);
  }

  /** Loads `len` bytes at `addr`. */
  read(addr: Word, len: number): E.Either<Fault, Uint8Array> {
    // A zero-length access touches nothing, whatever the address.
    if (len === 0) return E.right(new Uint8Array(0));
    const a = userAddress(addr);
    return a === undefined || !isAccessLength(len) || len > TASK_SIZE - a ? segvAt(addr) : this.touch(() => this.mm.read(a, len));
  }

  /** Loads `dst.length` bytes at `addr` into a caller's buffer, with no allocation (bulk reads). */
  readInto(addr: Word, dst: Uint8Array): E.Either<Fault, void> {
    const into = userBytes(dst);
    if (into === undefined) throw wrongType('Process.readInto', 'dst', dst, 'a Uint8Array');
    if (into.length === 0) return E.right(undefined);
    const a = userAddress(addr);
    return a === undefined ? segvAt(addr) : this.touch(() => this.mm.readInto(a, into));
  }

  /** Stores `bytes` at `addr`. */
  write(addr: Word, bytes: Uint8Array): E.Either<Fault, void> {
    const from = userBytes(bytes);
    if (from === undefined) throw wrongType('Process.write', 'bytes', bytes, 'a Uint8Array');
    if (from.length === 0) return E.right(undefined);
    const a = userAddress(addr);
    return a === undefined ? segvAt(addr) : this.touch(() => this.mm.write(a, from));
  }

  /** Stores `len` copies of `byte` from `addr`. */
  fill(addr: Word, len: number, byte: number): E.Either<Fault, void> {
    if (!isWordValue(byte)) throw wrongType('Process.fill', 'byte', byte, 'an integer');
    if (len === 0) return E.right(undefined);
    const a = userAddress(addr);
    // memset stores (unsigned char)byte.
    return a === undefined || !isAccessLength(len) ? segvAt(addr) : this.touch(() => this.mm.fill(a, len, byte & 0xff));
  }

  /** Atomically loads the signed 32-bit word at `addr` (4-byte aligned, else SIGBUS). */
  atomicLoad32(addr: Word): E.Either<Fault, number> {
    const a = userAddress(addr);
    return a === undefined ? segvAt(addr) : this.touch(() => this.mm.atomicLoad32(a));
  }

  /** Atomically stores `value` at `addr`; returns the word stored. */
  atomicStore32(addr: Word, value: number): E.Either<Fault, number> {
    if (!isWordValue(value)) throw wrongType('Process.atomicStore32', 'value', value, 'a 32-bit integer');
    const a = userAddress(addr);
    return a === undefined ? segvAt(addr) : this.touch(() => this.mm.atomicStore32(a, value));
  }

  /** Atomically adds `delta` to the word at `addr`; returns the old value. */
  atomicAdd32(addr: Word, delta: number): E.Either<Fault, number> {
    if (!isWordValue(delta)) throw wrongType('Process.atomicAdd32', 'delta', delta, 'a 32-bit integer');
    const a = userAddress(addr);
    return a === undefined ? segvAt(addr) : this.touch(() => this.mm.atomicAdd32(a, delta));
  }

  /** Atomically replaces the word at `addr` with `replacement` if it equals `expected`; returns the old value. */
  atomicCompareExchange32(addr: Word, expected: number, replacement: number): E.Either<Fault, number> {
    if (!isWordValue(expected)) throw wrongType('Process.atomicCompareExchange32', 'expected', expected, 'a 32-bit integer');
    if (!isWordValue(replacement)) throw wrongType('Process.atomicCompareExchange32', 'replacement', replacement, 'a 32-bit integer');
    const a = userAddress(addr);
    return a === undefined ? segvAt(addr) : this.touch(() => this.mm.atomicCompareExchange32(a, expected, replacement));
  }

  /**
   * futex(FUTEX_WAIT): sleeps while the word at `addr` holds `expected`, at
   * most `timeoutMs` (forever when absent). This blocks the calling thread:
   * on the kernel thread, only wait for something a worker will do.
   */
  futexWait(addr: Word, expected: number, timeoutMs?: number): E.Either<SysError, 0> {
    return this.live(() => {
      const bad = badFutexValue('expected', expected) ?? badTimeout(timeoutMs);
      if (bad !== undefined) return bad;
      const a = userAddress(addr);
      return a === undefined || a % 4 !== 0 ? badFutexAddress(a) : futexWait(this.mm, a, expected, timeoutMs);
    });
  }

  /** futex(FUTEX_WAKE): wakes up to `count` waiters on `addr`, in any process or thread; returns how many woke. */
  futexWake(addr: Word, count: number): E.Either<SysError, number> {
    return this.live(() => {
      const bad = notInteger('count', count);
      if (bad !== undefined) return bad;
      const a = userAddress(addr);
      return a === undefined || a % 4 !== 0 ? badFutexAddress(a) : futexWake(this.mm, a, count);
    });
  }

  /**
   * fork(2): a child with a copy of the credentials, the rlimits, the
   * namespaces, the memory cgroup, every attachment (each inherited piece
   * raises nattch and records this process as lpid, since fork runs in the
   * parent) and every descriptor (sharing the open file descriptions). The
   * child has no SEM_UNDO list: the parent's adjustments stay the parent's.
   * EAGAIN, as alloc_pid's, when an injected pid allocator hands out no
   * usable pid (KernelOptions.allocatePid).
   */
  fork(): E.Either<SysError, Process> {
    return this.live(() =>
      this.kernel.admit(this.namespace, (pid) => {
        const childMm = this.mm.fork(this.mappingContext);
        const fs = { mountNamespace: this.mountNs, files: this.files.fork(), memoryCharge: this.cgroup };
        const child = new Process(this.kernel, pid, this.credentials, this.namespace, childMm, fs);
        child.fileModeMask = this.fileModeMask;
        child.fsize = this.fsize;
        // fork is clone without CLONE_SYSVSEM: the child starts with no undo list and inherits no adjustment.
        copySemundo(this.sysvsem, child.sysvsem, false);
        return child;
      }),
    );
  }

  /**
   * exit(2), in do_exit's order: every call the process waits in ends first
   * (with EINTR, as the fatal signal wakes a sleeping task), then the
   * address space goes (every attachment and mapping dropped, as exit_mm
   * does), then exit_sem applies the SEM_UNDO adjustments, then exit_shm
   * orphans the segments this process created, then the descriptors are
   * closed (exit_files), then the process leaves its namespaces.
   */
  exit(): E.Either<SysError, void> {
    return this.live(() => {
      // exit_sem's sem_otime is read first, and only when there is an undo list: a throw from an injected clock changes nothing.
      const otime = this.sysvsem.undoList === undefined ? 0 : this.kernel.clock();
      // release reads the injected clock before it changes anything: a throw leaves the process alive and whole.
      this.mm.release(this.mappingContext);
      this.exitedFlag = true;
      // Its worker threads drop their leases: their next semop, msgsnd or msgrcv comes to the kernel thread, which ends them.
      if (this.epochWord !== undefined) Atomics.add(this.epochWord, 0, 1);
      this.interruptAll();
      exitSem(this.sysvsem, this.pid, otime);
      this.namespace.shm.creatorGone(this.creatorToken);
      this.files.closeAll();
      this.namespace.leave();
      this.mountNs.leave();
      this.kernel.forget(this);
      return E.right(undefined);
    });
  }

  /** open(2); `mode`, less the umask, applies to a file O_CREAT makes. Returns the descriptor. */
  open(path: string, flags: number, mode = 0o666): E.Either<SysError, number> {
    return this.live(() => notPath('path', path) ?? notInteger('flags', flags) ?? notMode(mode) ?? files.open(this, path, flags, mode & ~this.fileModeMask));
  }

  /** close(2). */
  close(fd: number): E.Either<SysError, void> {
    return this.live(() => notInteger('fd', fd) ?? this.files.close(fd));
  }

  /** read(2) of up to `count` bytes at the file position. */
  readFd(fd: number, count: number): E.Either<SysError, Uint8Array> {
    return this.gone() ?? notInteger('fd', fd) ?? notCount('count', count) ?? files.read(this, fd, count);
  }

  /** pread(2); `offset` is a loff_t, a bigint past 2^53 - 1. */
  pread(fd: number, count: number, offset: number | bigint): E.Either<SysError, Uint8Array> {
    return this.gone() ?? notInteger('fd', fd) ?? notCount('count', count) ?? notLoff('offset', offset) ?? files.read(this, fd, count, toLong(offset));
  }

  /**
   * write(2): the count written, which is short when the tmpfs fills
   * part-way; ENOSPC when nothing could be written. When the memory cgroup
   * refuses a page, the process is OOM-killed (killedBy = 'SIGKILL') and the
   * call fails with ENOMEM; what was written before stays.
   */
  writeFd(fd: number, bytes: Uint8Array): E.Either<SysError, number> {
    const from = userBytes(bytes);
    return this.gone() ?? notInteger('fd', fd) ?? notUserBytes('bytes', bytes, from) ?? this.charged(files.write(this, fd, from as Uint8Array));
  }

  /** pwrite(2), with writeFd's outcomes; `offset` as pread's. */
  pwrite(fd: number, bytes: Uint8Array, offset: number | bigint): E.Either<SysError, number> {
    const from = userBytes(bytes);
    return (
      this.gone() ??
      notInteger('fd', fd) ??
      notUserBytes('bytes', bytes, from) ??
      notLoff('offset', offset) ??
      this.charged(files.write(this, fd, from as Uint8Array, toLong(offset)))
    );
  }

  /** ftruncate(2); `length` is a loff_t, a bigint past 2^53 - 1. */
  ftruncate(fd: number, length: number | bigint): E.Either<SysError, void> {
    return this.live(() => notInteger('fd', fd) ?? notLoff('length', length) ?? files.ftruncate(this, fd, toLong(length)));
  }

  /** fallocate(2); a refused charge OOM-kills the process as in writeFd. `offset` and `length` are loff_t, bigints past 2^53 - 1. */
  fallocate(fd: number, mode: number, offset: number | bigint, length: number | bigint): E.Either<SysError, void> {
    return this.live(
      () =>
        notInteger('fd', fd) ??
        notInteger('mode', mode) ??
        notLoff('offset', offset) ??
        notLoff('length', length) ??
        this.charged(files.fallocate(this, fd, mode, toLong(offset), toLong(length))),
    );
  }

  /** fstat(2). */
  fstat(fd: number): E.Either<SysError, FileStat> {
    return this.live(() => notInteger('fd', fd) ?? files.fstat(this, fd));
  }

  /** stat(2). */
  stat(path: string): E.Either<SysError, FileStat> {
    return this.live(() => notPath('path', path) ?? E.map((loc: Location) => files.statInode(loc.inode))(this.mountNs.resolve(this.credentials, path)));
  }

  /** statfs(2) of the filesystem holding `path`, as seen through its mount. */
  statfs(path: string): E.Either<SysError, Statfs> {
    return this.live(() => notPath('path', path) ?? E.map(files.statfsAt)(this.mountNs.resolve(this.credentials, path)));
  }

  /** mkdir(2). */
  mkdir(path: string, mode = 0o777): E.Either<SysError, void> {
    return this.live(() => notPath('path', path) ?? notMode(mode) ?? this.mountNs.mkdir(this.credentials, path, mode & ~this.fileModeMask));
  }

  /** rmdir(2). */
  rmdir(path: string): E.Either<SysError, void> {
    return this.live(() => notPath('path', path) ?? this.mountNs.rmdir(this.credentials, path));
  }

  /** unlink(2). An open or mapped file keeps its pages until its last close or munmap. */
  unlink(path: string): E.Either<SysError, void> {
    return this.live(() => notPath('path', path) ?? this.mountNs.unlink(this.credentials, path));
  }

  /**
   * mmap(2); returns the address. A file mapping (MAP_SHARED,
   * MAP_SHARED_VALIDATE or MAP_PRIVATE of `fd`) or, with MAP_ANONYMOUS,
   * anonymous memory (`fd` is ignored; pass -1): MAP_SHARED|MAP_ANONYMOUS is
   * shared with forked children, MAP_PRIVATE pages are copied on write, and
   * fork shares them copy-on-write. `offset` is an unsigned long (a negative
   * one wraps), a bigint past 2^53 - 1. `addr` is the hint, or with
   * MAP_FIXED / MAP_FIXED_NOREPLACE the address. Checks in do_mmap's order
   * (docs/posix-shm.md).
   */
  mmap(fd: number, length: number, prot: number, flags: number, offset: number | bigint = 0, addr: Word = 0): E.Either<SysError, number> {
    return this.live(() => {
      const bad = notInteger('fd', fd) ?? notCount('length', length) ?? notInteger('prot', prot) ?? notInteger('flags', flags) ?? notLoff('offset', offset);
      if (bad !== undefined) return bad;
      const hint = toU64(addr);
      if (hint === undefined) return badArgument('addr', addr);
      const off = toMmapOffset(offset);
      return this.faulting(() => mmapOn(this.mmapCaller(), { addr: hint, length, prot, flags, fd, offset: BigInt(off) }));
    });
  }

  /** msync(2): MS_ASYNC, MS_SYNC (not both) and MS_INVALIDATE over a mapped range; tmpfs has nothing to write back. */
  msync(addr: Word, length: Word, flags: number): E.Either<SysError, void> {
    return this.live(() => this.rangeCall(addr, length, flags, 'flags', (s, l, f) => msyncOn(this, s, l, f)));
  }

  /** mlock(2): locks the pages of [addr, addr+length) (RLIMIT_MEMLOCK, CAP_IPC_LOCK) and faults them in. */
  mlock(addr: Word, length: Word): E.Either<SysError, void> {
    return this.live(() => this.rangeCall(addr, length, 0, 'flags', (s, l) => this.faulting(() => mlockOn(this.lockCaller(), s, l, 0))));
  }

  /** mlock2(2): mlock with flags (MLOCK_ONFAULT locks without faulting in). */
  mlock2(addr: Word, length: Word, flags: number): E.Either<SysError, void> {
    return this.live(() => this.rangeCall(addr, length, flags, 'flags', (s, l, f) => this.faulting(() => mlockOn(this.lockCaller(), s, l, f))));
  }

  /** munlock(2). */
  munlock(addr: Word, length: Word): E.Either<SysError, void> {
    return this.live(() => this.rangeCall(addr, length, 0, 'flags', (s, l) => munlockOn(this, s, l)));
  }

  /** madvise(2): MADV_DONTNEED, MADV_FREE, MADV_REMOVE, the fork flags, MADV_POPULATE_READ/WRITE, the guard pages (MADV_GUARD_INSTALL/REMOVE) and the hints that change nothing the model shows (docs/posix-shm.md). */
  madvise(addr: Word, length: Word, advice: number): E.Either<SysError, void> {
    return this.live(() => this.rangeCall(addr, length, advice, 'advice', (s, l, a) => madviseOn(this, s, l, a)));
  }

  /** mincore(2): one byte per page of [addr, addr+length), 1 for a page in memory. */
  mincore(addr: Word, length: Word): E.Either<SysError, Uint8Array> {
    return this.live(() => this.rangeCall(addr, length, 0, 'flags', (s, l) => mincoreOn(this, s, l)));
  }

  /** The argument decoding the range calls share: two u64 words and an int. */
  private rangeCall<T>(
    addr: Word,
    length: Word,
    arg: number,
    argName: string,
    call: (start: bigint, len: bigint, arg: number) => E.Either<SysError, T>,
  ): E.Either<SysError, T> {
    const start = toU64(addr);
    if (start === undefined) return badArgument('addr', addr);
    const len = toU64(length);
    if (len === undefined) return badArgument('length', length);
    return notInteger(argName, arg) ?? call(start, len, arg | 0);
  }

  /**
   * lseek(2): the new file position (a bigint past 2^53 - 1); `offset` is a
   * loff_t. SEEK_DATA and SEEK_HOLE find the pages a tmpfs file holds.
   */
  lseek(fd: number, offset: number | bigint, whence: number): E.Either<SysError, number | bigint> {
    return this.live(() => notInteger('fd', fd) ?? notLoff('offset', offset) ?? notInteger('whence', whence) ?? files.lseek(this, fd, toLong(offset), whence));
  }

  /**
   * umask(2): sets the file mode creation mask to `mask & 0777` and returns
   * the old one. open, mkdir and shm_open clear its bits from the mode of
   * what they create; memfd_create does not. A spawned process starts with
   * 0 (so modes are taken as given, as before), a forked child inherits it.
   */
  umask(mask: number): E.Either<SysError, number> {
    return this.live(() => {
      const bad = notInteger('mask', mask);
      if (bad !== undefined) return bad;
      const old = this.fileModeMask;
      this.fileModeMask = mask & 0o777;
      return E.right(old);
    });
  }

  /** The file mode creation mask (umask). */
  get umaskValue(): number {
    return this.fileModeMask;
  }

  /**
   * ftok(3) as glibc computes it: stat(2) of `path`, then
   * (projId & 0xff) << 24 | (st_dev & 0xff) << 16 | (st_ino & 0xffff), as a
   * signed key_t. stat's errors (ENOENT, EACCES, ENOTDIR) come through.
   */
  ftok(path: string, projId: number): E.Either<SysError, number> {
    return this.live(() => {
      const bad = notPath('path', path) ?? notInteger('projId', projId);
      if (bad !== undefined) return bad;
      return E.map((loc: Location) => {
        const st = files.statInode(loc.inode);
        return ((projId & 0xff) << 24) | ((st.dev & 0xff) << 16) | (st.ino & 0xffff) | 0;
      })(this.mountNs.resolve(this.credentials, path));
    });
  }

  /** What mmap needs: memfd_create's caller (the internal tmpfs of shared anonymous memory) and the mlock rules. */
  private mmapCaller(): MmapCaller {
    return {
      ...this.memfdCaller(),
      ...this.lockLimits(),
      capSysRawio: hasCapability(this.credentials, 'CAP_SYS_RAWIO'),
      commitLimitPages: this.kernel.commitLimitPages,
    };
  }

  /** What mlock needs: the address space, RLIMIT_MEMLOCK in pages and CAP_IPC_LOCK. */
  private lockCaller(): LockCaller {
    return { mm: this.mm, mappingContext: this.mappingContext, ...this.lockLimits() };
  }

  private lockLimits(): { memlockPages: number; memlockZero: boolean; capIpcLock: boolean } {
    const soft = this.credentials.memlock.soft;
    return {
      memlockPages: soft === RLIM_INFINITY ? Infinity : Number(soft / PAGE_SIZE_N),
      memlockZero: soft === 0n,
      capIpcLock: hasCapability(this.credentials, 'CAP_IPC_LOCK'),
    };
  }

  /**
   * memfd_create(2): a new anonymous tmpfs file, open O_RDWR; returns the
   * descriptor. `flags` are MFD_*; the file can be sealed with
   * MFD_ALLOW_SEALING (see fcntl). MFD_HUGETLB makes a hugetlbfs file of
   * one of the kernel's huge page sizes (KernelOptions.hugePageSizes), with
   * no huge pages to give it (docs/posix-shm.md).
   */
  memfdCreate(name: string, flags: number): E.Either<SysError, number> {
    return this.live(() => notPath('name', name) ?? notInteger('flags', flags) ?? memfdCreateOn(this.memfdCaller(), name, flags));
  }

  /**
   * fcntl(2): F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_ADD_SEALS and
   * F_GET_SEALS; EINVAL for any other command. `arg` is the command's argument (0 when
   * it takes none).
   */
  fcntl(fd: number, cmd: number, arg = 0): E.Either<SysError, number> {
    return this.live(() => notInteger('fd', fd) ?? notInteger('cmd', cmd) ?? notInteger('arg', arg) ?? fcntlOn(this, fd, cmd, arg));
  }

  /**
   * shm_open(3) as glibc does it: open(2) of /dev/shm/NAME in this process's
   * mount namespace with O_NOFOLLOW and O_CLOEXEC added; `mode` (already
   * masked by the umask) applies to an object O_CREAT makes.
   */
  shmOpen(name: string, oflag: number, mode: number): E.Either<SysError, number> {
    return this.live(() => notPath('name', name) ?? notInteger('oflag', oflag) ?? notMode(mode) ?? shmOpenOn(this, name, oflag, mode & ~this.fileModeMask));
  }

  /** shm_unlink(3) as glibc does it: unlink(2) of /dev/shm/NAME; a bad name is ENOENT, EPERM becomes EACCES. */
  shmUnlink(name: string): E.Either<SysError, void> {
    return this.live(() => notPath('name', name) ?? shmUnlinkOn(this, name));
  }

  /** What memfd_create needs: this process's file context and its kernel's internal tmpfs. */
  private memfdCaller(): MemfdCaller {
    const kernel = this.kernel;
    return {
      creds: this.credentials,
      mountNamespace: this.mountNs,
      files: this.files,
      memoryCharge: this.memoryCharge,
      mm: this.mm,
      mappingContext: this.mappingContext,
      newInternalTmpfs: () => kernel.newTmpfs({ sizeBytes: 0, nrInodes: 0 }),
      internalMountKey: kernel,
      // vm.memfd_noexec is not modelled: 0, memfd_create's flags decide.
      memfdNoexecScope: 0,
      hugePageSizes: kernel.hugePageSizes,
    };
  }

  /** mount -t tmpfs: mounts `sb` on the directory `target` of this process's namespace. */
  mountTmpfs(sb: Tmpfs, target: string, flags: MountFlags = {}): E.Either<SysError, Mount> {
    return this.live(() => {
      const bad =
        (sb instanceof Tmpfs && sb.memoryFile === this.kernel.memoryFile ? undefined : invalid('sb', sb, "a tmpfs of this process's kernel")) ??
        notPath('target', target);
      if (bad !== undefined) return bad;
      // The flags copied once: the mount keeps the booleans checked here.
      const copied = copyFlags('flags', flags, MOUNT_FLAGS);
      return E.isLeft(copied) ? copied : this.mountNs.mountTmpfs(this.credentials, sb, target, copied.right);
    });
  }

  /** mount --bind SOURCE TARGET, both in this process's namespace, with the new view's flags. */
  bindMount(source: string, target: string, flags: MountFlags = {}): E.Either<SysError, Mount> {
    return this.live(() => {
      const bad = notPath('source', source) ?? notPath('target', target);
      if (bad !== undefined) return bad;
      const copied = copyFlags('flags', flags, MOUNT_FLAGS);
      if (E.isLeft(copied)) return copied;
      const loc = this.mountNs.resolve(this.credentials, source);
      return E.isLeft(loc) ? loc : this.mountNs.bind(this.credentials, loc.right, target, copied.right);
    });
  }

  /** umount2(2); MNT_DETACH for a lazy unmount. */
  umount(target: string, flags = 0): E.Either<SysError, void> {
    return this.live(() => notPath('target', target) ?? notInteger('flags', flags) ?? this.mountNs.umount(this.credentials, target, flags));
  }

  /** mount -o remount,size=,nr_inodes= on the tmpfs mounted at `target`. Needs CAP_SYS_ADMIN. */
  remount(target: string, change: TmpfsRemount): E.Either<SysError, void> {
    return this.live(() => {
      const bad = notPath('target', target) ?? (isOptions(change) && change !== undefined ? undefined : invalid('change', change, 'an object'));
      if (bad !== undefined) return bad;
      if (!hasCapability(this.credentials, 'CAP_SYS_ADMIN')) return E.left(sysError('EPERM', 'mount needs CAP_SYS_ADMIN'));
      const loc = this.mountNs.resolve(this.credentials, target);
      if (E.isLeft(loc)) return loc;
      if (loc.right.inode !== loc.right.mount.root) return E.left(sysError('EINVAL', `${target} is not a mount point`));
      return loc.right.mount.sb.remount(change);
    });
  }

  /**
   * unshare(CLONE_NEWIPC): needs CAP_SYS_ADMIN. As ksys_unshare does,
   * CLONE_NEWIPC implies CLONE_SYSVSEM: exit_sem applies and drops the
   * process's SEM_UNDO list (its sets are out of reach from the new
   * namespace), then exit_shm runs on the old namespace; attachments stay
   * mapped. A call of this process still waiting on the old namespace's
   * sets or queues (another of its threads, in Linux terms) keeps waiting
   * there.
   */
  unshareIpc(): E.Either<SysError, void> {
    return this.live(() => {
      if (!hasCapability(this.credentials, 'CAP_SYS_ADMIN')) return E.left(sysError('EPERM', 'unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN'));
      exitSem(this.sysvsem, this.pid, this.sysvsem.undoList === undefined ? 0 : this.kernel.clock());
      this.namespace.shm.creatorGone(this.creatorToken);
      const fresh = this.kernel.newIpcNamespace();
      fresh.join();
      const old = this.namespace;
      this.namespace = fresh;
      // The process's worker threads hold leases of the old namespace's sets and queues, by id: they drop them.
      if (this.epochWord !== undefined) Atomics.add(this.epochWord, 0, 1);
      old.leave();
      return E.right(undefined);
    });
  }

  /**
   * setrlimit(RLIMIT_MEMLOCK) for the soft limit. Raising it above the hard
   * limit needs CAP_SYS_RESOURCE, and then raises the hard limit with it.
   */
  setMemlockLimit(soft: bigint): E.Either<SysError, void> {
    return this.live(() => {
      // -1 is RLIM_INFINITY as C spells it; a bigint past u64 or any other negative is no rlim_t.
      if (typeof soft !== 'bigint' || soft < -1n || soft > RLIM_INFINITY) return invalid('soft', soft, 'a bigint in -1..2^64-1');
      const value = soft < 0n ? RLIM_INFINITY : soft;
      const hard = this.credentials.memlock.hard;
      if (value > hard && !hasCapability(this.credentials, 'CAP_SYS_RESOURCE')) {
        return E.left(sysError('EPERM', 'raising RLIMIT_MEMLOCK above the hard limit needs CAP_SYS_RESOURCE'));
      }
      this.credentials = { ...this.credentials, memlock: { soft: value, hard: value > hard ? value : hard } };
      return E.right(undefined);
    });
  }

  /**
   * setrlimit(RLIMIT_FSIZE) for the soft limit, in bytes (-1n: unlimited),
   * with setMemlockLimit's rule for the hard limit. The process ignores
   * SIGXFSZ, as LTP's tests set it up: a write at or past the limit is EFBIG,
   * one crossing it is short, and ftruncate or fallocate growing the file
   * past it is EFBIG. Fork inherits the limit; checkpoints keep it.
   */
  setFsizeLimit(soft: bigint): E.Either<SysError, void> {
    return this.live(() => {
      if (typeof soft !== 'bigint' || soft < -1n || soft > RLIM_INFINITY) return invalid('soft', soft, 'a bigint in -1..2^64-1');
      const value = soft < 0n ? RLIM_INFINITY : soft;
      const hard = this.fsize.hard;
      if (value > hard && !hasCapability(this.credentials, 'CAP_SYS_RESOURCE')) {
        return E.left(sysError('EPERM', 'raising RLIMIT_FSIZE above the hard limit needs CAP_SYS_RESOURCE'));
      }
      this.fsize = { soft: value, hard: value > hard ? value : hard };
      return E.right(undefined);
    });
  }

  /** RLIMIT_FSIZE's soft and hard limits (RLIM_INFINITY for none). */
  get fsizeRlimit(): RLimit {
    return this.fsize;
  }

  /**
   * Checkpoint restore: RLIMIT_FSIZE as the image has it (validated there).
   * @internal
   */
  restoreFsizeRlimit(limit: RLimit): void {
    if (limit.soft > limit.hard) throw new Error(`restoreFsizeRlimit: soft ${limit.soft} above hard ${limit.hard}`);
    this.fsize = limit;
  }

  /**
   * The file calls' view of RLIMIT_FSIZE (FileCaller.fsizeLimit): the soft
   * limit in bytes, or undefined when it cannot bite (RLIM_INFINITY, or past
   * the largest file size, where s_maxbytes stops a write first).
   */
  get fsizeLimit(): FileOffset | undefined {
    const soft = this.fsize.soft;
    return soft >= BigInt(MAX_LFS_FILESIZE) ? undefined : offsetOf(soft);
  }

  /**
   * Writes /proc/sys/kernel/NAME of this process's IPC namespace (any IPC
   * sysctl, as Kernel.writeSysctl takes them); the files are root's, mode 0644.
   */
  writeSysctl(name: IpcSysctl, value: SysctlValue): E.Either<SysError, void> {
    return this.live(() => {
      if (this.credentials.uid !== 0) return E.left(sysError('EACCES', `/proc/sys/kernel/${String(name)} is writable by root only`));
      return this.kernel.writeSysctl(this.namespace, name, value);
    });
  }

  /** Reads /proc/sys/kernel/NAME of this process's IPC namespace: a bigint, or kernel.sem's four. */
  readSysctl(name: 'sem'): E.Either<SysError, readonly bigint[]>;
  readSysctl(name: Exclude<IpcSysctl, 'sem'>): E.Either<SysError, bigint>;
  readSysctl(name: IpcSysctl): E.Either<SysError, SysctlValue>;
  readSysctl(name: IpcSysctl): E.Either<SysError, SysctlValue> {
    return this.live(() => this.kernel.readSysctl(this.namespace, name));
  }

  // System V semaphores and message queues. The arguments are values, not
  // user memory: a sops array, a timeout object, semun's value, a message's
  // text (copied at the call, as copy_from_user would). A call that would
  // sleep in Linux returns a Pending (SysResult) that settles with the same
  // Either when the call ends: woken by another call, timed out
  // (semtimedop's EAGAIN, on the kernel's monotonic clock), interrupted
  // (interrupt(), exit: EINTR), or its set or queue removed (EIDRM). The
  // JavaScript thread never blocks.

  /** semget(2): returns the set's id. */
  semget(key: number, nsems: number, semflg: number): E.Either<SysError, number> {
    return (
      this.gone() ??
      notInteger('key', key) ??
      notInteger('nsems', nsems) ??
      notInteger('semflg', semflg) ??
      this.namespace.sem.semget(this, key | 0, nsems | 0, semflg | 0)
    );
  }

  /** semop(2): 0 once every operation is performed, atomically; a Pending while they cannot be. */
  semop(semid: number, sops: readonly Sembuf[]): SysResult<number> {
    // The usual call, one sop performed at once that wakes nobody, skips the general path's setup (sem.semopUncontended).
    // The fields are read here, as copyOneSop reads them, into locals: a shared reader storing them into an
    // object of the process's ran about 10 % slower once a program had used many kinds of IPC object.
    if (!this.exitedFlag) {
      let one: Partial<Record<keyof Sembuf, unknown>> | undefined;
      let semNum: unknown;
      let semOp: unknown;
      let semFlg: unknown;
      try {
        if (Array.isArray(sops) && sops.length === 1) {
          const s = sops[0] as unknown;
          if (typeof s === 'object' && s !== null) {
            one = s;
            ({ semNum, semOp, semFlg } = one);
          }
        }
      } catch {
        // A getter or Proxy trap threw: semtimedop's copy (copySops) makes that EFAULT.
        one = undefined;
      }
      if (one !== undefined) {
        if (sem.semopUncontended(this.semCaller(), semid, semNum, semOp, semFlg)) return SEMOP_DONE;
        // Declined: the general path goes on with the fields read here, as Linux copies the sops once.
        return this.semtimedopCopied(semid, sops, this.oneSop(semNum, semOp, semFlg), undefined);
      }
    }
    return this.semtimedop(semid, sops);
  }

  /**
   * semtimedop(2): semop waiting at most `timeout` (relative, { sec, nsec },
   * on the kernel's monotonic clock; absent waits for ever). A wait that
   * outlives it settles with EAGAIN; a zero timeout that would wait is
   * EAGAIN at once.
   */
  semtimedop(semid: number, sops: readonly Sembuf[], timeoutArg?: Timespec): SysResult<number> {
    const bad = this.gone();
    if (bad !== undefined) return bad;
    // Copied once: the deadline below is computed from the values the mechanism checked.
    const copiedTimeout = copyTimespec(timeoutArg);
    if (E.isLeft(copiedTimeout)) return copiedTimeout;
    return this.semtimedopCopied(semid, sops, this.copyOneSop(sops), copiedTimeout.right);
  }

  /**
   * semtimedop once the timeout is copied: `one` is copyOneSop's copy of
   * `sops`, or undefined for copySops to copy or refuse.
   */
  private semtimedopCopied(semid: number, sops: readonly Sembuf[], one: readonly Sembuf[] | undefined, timeout: Timespec | undefined): SysResult<number> {
    let copy = one;
    if (copy === undefined) {
      const copied = copySops(sops, this.namespace.semLimits.semopm);
      if (E.isLeft(copied)) return copied;
      copy = copied.right;
    }
    const badId = notInteger('semid', semid);
    if (badId !== undefined) return badId;
    // The monotonic clock is read before anything changes: a throw from an injected one leaves every set as it was.
    const start = timeout === undefined ? 0 : this.kernel.monotonicNow();
    const r = sem.semtimedop(this.semCaller(), semid | 0, copy, timeout === undefined ? NO_SEMOP_OPTIONS : { timeout });
    if (E.isLeft(r) || typeof r.right === 'number') return r as E.Either<SysError, number>;
    const waiter = r.right;
    const deadline = timeout === undefined ? Infinity : start + timeout.sec * 1000 + timeout.nsec / 1e6;
    const pending = this.parkSem(waiter, timeout === undefined ? 'semop' : 'semtimedop', deadline, deadline > start);
    // A zero timeout: Linux sleeps until a timer that has already expired.
    if (deadline <= start) waiter.timeOut();
    return pending.state === 'settled' ? (pending.result as E.Either<SysError, number>) : pending;
  }

  /**
   * copySops for the usual call, one sop of three C ints (the semop
   * bench row's hot path): copied into this process's scratch array
   * instead of a new one. sem.semtimedop never keeps the array it is
   * given (a sleeping semop's waiter takes its own copy) and reads it only
   * before it delivers any wake-up, so the next call may overwrite it.
   * Undefined for anything else, which copySops copies or refuses.
   */
  private copyOneSop(sops: readonly Sembuf[]): readonly Sembuf[] | undefined {
    if (this.namespace.semLimits.semopm >>> 0 < 1) return undefined;
    let semNum: unknown;
    let semOp: unknown;
    let semFlg: unknown;
    try {
      if (!Array.isArray(sops) || sops.length !== 1) return undefined;
      const s = sops[0] as unknown;
      if (typeof s !== 'object' || s === null) return undefined;
      ({ semNum, semOp, semFlg } = s as Partial<Record<keyof Sembuf, unknown>>);
    } catch {
      // A getter or Proxy trap threw: copySops reads the array again and makes that EFAULT.
      return undefined;
    }
    return this.oneSop(semNum, semOp, semFlg);
  }

  /** The one sop whose fields were read as given, in the scratch array (see copyOneSop); undefined for copySops to refuse. */
  private oneSop(semNum: unknown, semOp: unknown, semFlg: unknown): readonly Sembuf[] | undefined {
    if (this.namespace.semLimits.semopm >>> 0 < 1 || !isInt(semNum) || !isInt(semOp) || !isInt(semFlg)) return undefined;
    const scratch = this.sopScratch;
    const one = scratch[0] as { semNum: number; semOp: number; semFlg: number };
    one.semNum = semNum;
    one.semOp = semOp;
    one.semFlg = semFlg;
    return scratch;
  }

  /** A semop that sleeps: a Pending its completion settles, an entry a signal reaches, and its timer when `arm` and the deadline is finite. */
  private parkSem(waiter: SemWaiter, call: 'semop' | 'semtimedop', deadline: number, arm: boolean): Pending<E.Either<SysError, number>> {
    const { pending, settle } = deferredCall<E.Either<SysError, number>>();
    const entry: Waiting = { interrupt: () => waiter.interrupt(), call: { call, waiter, deadline }, seq: nextWaitSeq++ };
    this.waiting.add(entry);
    const timer = arm && deadline !== Infinity ? this.kernel.armTimer(deadline, () => void waiter.timeOut()) : undefined;
    waiter.onComplete((result) => {
      this.waiting.delete(entry);
      timer?.cancel();
      settle(result);
    });
    return pending;
  }

  /**
   * semctl(2), every command. `arg` is union semun as a value: SETVAL's
   * int, SETALL's array (one value per semaphore; a shorter one is EFAULT),
   * IPC_SET's uid, gid and mode (none is EFAULT); the other commands ignore
   * it. IPC_STAT, SEM_STAT and SEM_STAT_ANY return the semid_ds in `ds`,
   * IPC_INFO and SEM_INFO the seminfo in `info`, GETALL the values in
   * `values`, the GET commands their value in `ret`.
   */
  semctl(semid: number, semnum: number, cmd: number, arg?: SemunArg): E.Either<SysError, SemctlResult> {
    const bad = this.gone() ?? notInteger('semid', semid) ?? notInteger('semnum', semnum) ?? notInteger('cmd', cmd);
    if (bad !== undefined) return bad;
    // SETALL copies one value per semaphore of the set, as semctl_main's copy_from_user does, and none for no set.
    const nsems = cmd === SETALL ? (this.namespace.sem.peekById(semid | 0)?.nsems ?? 0) : 0;
    const decoded = semunArg(cmd, arg, nsems);
    if (E.isLeft(decoded)) return decoded;
    return sem.semctl(this.semCaller(), semid | 0, semnum | 0, cmd | 0, decoded.right);
  }

  /** msgget(2): returns the queue's id. */
  msgget(key: number, msgflg: number): E.Either<SysError, number> {
    return this.gone() ?? notInteger('key', key) ?? notInteger('msgflg', msgflg) ?? this.namespace.msg.msgget(this, key | 0, msgflg | 0);
  }

  /**
   * msgsnd(2): sends `text` (copied at the call) as a message of type
   * `mtype` (a C long: a number, or a bigint for values past 2^53). 0 when
   * it is queued or handed to a waiting receiver; a Pending while the queue
   * has no room (without IPC_NOWAIT).
   */
  msgsnd(msqid: number, mtype: number | bigint, text: Uint8Array, msgflg: number): SysResult<0> {
    // load_msg's copy, made once: the bytes the caller's array holds (userBytesCopy: a detached one holds none,
    // a subclass's own length cannot lie); undefined for no Uint8Array (a Proxy of one too), which the checks refuse.
    const copy = userBytesCopy(text);
    // The usual send, queued at once with nobody to wake, skips the general path's setup (msg/uncontended.ts).
    if (!this.exitedFlag && copy !== undefined && msgsndUncontended(this.namespace.msg, this.msgCaller(), msqid, mtype, copy, msgflg)) return SENT;
    return this.msgsndChecked(msqid, mtype, text, copy, msgflg);
  }

  /** msgsnd's general path: the arguments' checks, in Linux's order, then the call with `copy` (userBytesCopy of `text`). */
  private msgsndChecked(msqid: number, mtype: number | bigint, text: Uint8Array, copy: Uint8Array | undefined, msgflg: number): SysResult<0> {
    const bad = this.gone() ?? notInteger('msqid', msqid) ?? notLong('mtype', mtype) ?? notUserBytes('text', text, copy) ?? notInteger('msgflg', msgflg);
    if (bad !== undefined) return bad;
    return this.sendAs(this.namespace.msg, msqid | 0, toLong(mtype), copy as Uint8Array, msgflg | 0);
  }

  /** msgsnd with decoded arguments (the text already copied); what a checkpoint needs is recorded only when it sleeps. */
  private sendAs(reg: MsgRegistry, msqid: number, mtype: number | bigint, text: Uint8Array, msgflg: number): SysResult<0> {
    // No completion callback yet (a closure per call): parkMsg gives the waiter one if the call sleeps.
    const r = msgsndOn(reg, this.msgCaller(), msqid, mtype, text, msgflg);
    if (E.isLeft(r) || !isMsgWaiter(r.right)) return r as E.Either<SysError, 0>;
    return this.parkMsg<0>({ call: 'msgsnd', waiter: r.right, reg, msqid, mtype, text, msgflg });
  }

  /**
   * msgrcv(2) into a buffer of `msgsz` bytes: the message's type and text
   * (cut to msgsz under MSG_NOERROR); a Pending while no message matches
   * (without IPC_NOWAIT). `msgtyp` selects as in Linux (0 the first, > 0
   * that type or, with MSG_EXCEPT, any other, < 0 the lowest type up to
   * |msgtyp|; with MSG_COPY, the position).
   */
  msgrcv(msqid: number, msgsz: Word, msgtyp: number | bigint, msgflg: number): SysResult<MsgReceived> {
    // The usual receive, of a message already there with no sender to wake, skips the general path's setup (msg/uncontended.ts).
    const fast = this.exitedFlag ? undefined : msgrcvUncontended(this.namespace.msg, this.msgCaller(), msqid, msgsz, msgtyp, msgflg);
    return fast ?? this.msgrcvChecked(msqid, msgsz, msgtyp, msgflg);
  }

  /** msgrcv's general path: the arguments' checks, in Linux's order, then the call. */
  private msgrcvChecked(msqid: number, msgsz: Word, msgtyp: number | bigint, msgflg: number): SysResult<MsgReceived> {
    const bad = this.gone() ?? notInteger('msqid', msqid) ?? notLong('msgtyp', msgtyp) ?? notInteger('msgflg', msgflg);
    if (bad !== undefined) return bad;
    const size = toSize(msgsz);
    if (size === undefined) return badArgument('msgsz', msgsz);
    return this.receiveAs(this.namespace.msg, msqid | 0, size, toLong(msgtyp), msgflg | 0);
  }

  /** msgrcv with decoded arguments; what a checkpoint needs is recorded only when it sleeps. */
  private receiveAs(reg: MsgRegistry, msqid: number, msgsz: number | bigint, msgtyp: number | bigint, msgflg: number): SysResult<MsgReceived> {
    const r = msgrcvOn(reg, this.msgCaller(), msqid, msgsz, msgtyp, msgflg);
    if (E.isLeft(r) || !isMsgWaiter(r.right)) return r as E.Either<SysError, MsgReceived>;
    return this.parkMsg<MsgReceived>({ call: 'msgrcv', waiter: r.right, reg, msqid, msgsz, msgtyp, msgflg });
  }

  /**
   * msgctl(2). `set` is IPC_SET's uid, gid, mode and qbytes (none is
   * EFAULT); IPC_STAT, MSG_STAT and MSG_STAT_ANY return the msqid_ds in
   * `ds`, IPC_INFO and MSG_INFO the msginfo in `info`.
   */
  msgctl(msqid: number, cmd: number, set?: MsgSetArgs): E.Either<SysError, MsgctlResult> {
    const bad = this.gone() ?? notInteger('msqid', msqid) ?? notInteger('cmd', cmd);
    if (bad !== undefined) return bad;
    if (cmd === IPC_SET) {
      // ksys_msgctl copies the buffer in before anything else.
      if (typeof set !== 'object' || set === null || isArrayValue(set)) return badPointer('set', set, 'an object of uid, gid, mode and qbytes');
      // Each field read once (copyFields): the mechanism gets the values checked here.
      const copied = copyFields('set', set, ['uid', 'gid', 'mode', 'qbytes']);
      if (E.isLeft(copied)) return copied;
      const badField = notIntegerFields('set', copied.right, ['uid', 'gid', 'mode']) ?? notLong('set.qbytes', copied.right.qbytes);
      if (badField !== undefined) return badField;
      // copyFields' object is already the kernel's own copy, of exactly these fields.
      return msgctlOn(this.namespace.msg, this.credentials, msqid | 0, cmd, copied.right as unknown as MsgSetArgs);
    }
    return msgctlOn(this.namespace.msg, this.credentials, msqid | 0, cmd | 0);
  }

  /**
   * A signal whose handler returns, without SA_RESTART: every call of this
   * process that waits (semop, semtimedop, msgsnd, msgrcv) ends with EINTR,
   * unless it had already been handed its result (a message, EIDRM), which
   * it then returns. Returns how many waiting calls ended.
   */
  interrupt(): E.Either<SysError, number> {
    return this.live(() => E.right(this.interruptAll()));
  }

  /** Ends every waiting call of this process (interrupt, exit); returns how many ended. */
  private interruptAll(): number {
    let n = 0;
    for (const w of [...this.waiting]) if (w.interrupt()) n += 1;
    return n;
  }

  // Checkpoint and restore of sleeping calls (src/checkpoint/parts/waiting.ts).

  /**
   * The calls of this process that sleep, each with the kernel-wide order
   * in which it began to wait.
   * @internal
   */
  waitingCalls(): readonly (WaitingCall & { readonly seq: number })[] {
    return [...this.waiting].map((w) => ({ ...w.call, seq: w.seq }));
  }

  /**
   * The serving loop holds a thread's reply to `call` until `pending`
   * settles: a thread of this process is blocked in it (syscall_server.ts).
   * @internal
   */
  holdForThread(call: string, pending: Pending<unknown>): void {
    this.threadCalls.set(pending, call);
    void pending.done.then(() => this.threadCalls.delete(pending));
  }

  /**
   * The calls threads of this process are blocked in now, by name.
   * @internal
   */
  threadBlockedCalls(): readonly string[] {
    const out: string[] = [];
    for (const [p, call] of this.threadCalls) if (p.state === 'pending') out.push(call);
    return out;
  }

  /**
   * Restore: parks `waiter`, a semop the restore queued on its set, as this
   * process's sleeping call; a finite `deadline` (monotonic clock) arms its
   * timeout, even one already past (it fires at the next timer run).
   * @internal
   */
  adoptSemWait(waiter: SemWaiter, call: 'semop' | 'semtimedop', deadline: number): Pending<E.Either<SysError, number>> {
    return this.parkSem(waiter, call, deadline, true);
  }

  /**
   * Restore: makes a msgsnd or msgrcv again, as this process, on a queue
   * the restore has made sure it sleeps on (the call joins the tail of the
   * queue's senders or receivers). A Left or a completed call is the
   * restore's bug, returned for it to report.
   * @internal
   */
  resumeMsgWait(a: MsgWaitArgs): E.Either<SysError, Pending<E.Either<SysError, 0>> | Pending<E.Either<SysError, MsgReceived>>> {
    const r = a.call === 'msgsnd' ? this.sendAs(a.reg, a.msqid, a.mtype, a.text, a.msgflg) : this.receiveAs(a.reg, a.msqid, a.msgsz, a.msgtyp, a.msgflg);
    if (isPending(r)) return E.right(r as Pending<E.Either<SysError, 0>> | Pending<E.Either<SysError, MsgReceived>>);
    return E.isLeft(r) ? r : E.left(sysError('EINVAL', `the restored ${a.call} completed instead of sleeping`));
  }

  /**
   * A shared word that changes whenever this process changes IPC
   * namespace or exits: its worker threads read it before they use a
   * semaphore or message-queue lease, which names its set or queue by id
   * (sem/lease.ts, msg/lease.ts).
   * @internal
   */
  ipcEpochWord(): Int32Array {
    if (this.epochWord === undefined) this.epochWord = new Int32Array(new SharedArrayBuffer(4));
    return this.epochWord;
  }

  /**
   * Lends set `semid` of this process's namespace to this process's worker
   * threads (sem/lease.ts) as of CLOCK_REALTIME second `now`, when it may
   * be lent: undefined otherwise, and always while the kernel is traced
   * (a leased semop is made in the thread, where no trace sees it).
   * @internal
   */
  semLease(semid: number, now: number): LeaseGrant | undefined {
    if (!this.mayLend(semid)) return undefined;
    const reg = this.namespace.sem;
    const set = reg.peekById(semid);
    return set === undefined ? undefined : grantLease(set, this.credentials, this.pid, reg.limits.semopm, now);
  }

  /**
   * Lends queue `msqid` of this process's namespace to this process's
   * worker threads (msg/lease.ts) as of CLOCK_REALTIME second `now`, when it
   * may be lent; undefined otherwise, and always while the kernel is traced.
   * @internal
   */
  msgLease(msqid: number, now: number): MsgLeaseGrant | undefined {
    if (!this.mayLend(msqid)) return undefined;
    const reg = this.namespace.msg;
    const q = reg.peekById(msqid);
    return q === undefined ? undefined : grantMsgLease(q, this.credentials, this.pid, reg.limits.msgmax, now);
  }

  /** Whether object `id` may be lent to this process's threads at all: the process lives, no trace runs, and `id` is an id. */
  private mayLend(id: number): boolean {
    return !this.exitedFlag && this.kernel.tracer === undefined && Number.isInteger(id) && id >= 0 && id <= 0x7fffffff;
  }

  /** The caller the sem mechanism sees: this process's credentials, tgid, undo slot and namespace. */
  private semCaller(): SemCaller {
    // One object while the credentials and the namespace stay the same (semop's hot path allocated one per call).
    const c = this.lastSemCaller;
    if (c !== undefined && c.creds === this.credentials && c.registry === this.namespace.sem) return c;
    const fresh: SemCaller = { creds: this.credentials, pid: this.pid, sysvsem: this.sysvsem, registry: this.namespace.sem };
    this.lastSemCaller = fresh;
    return fresh;
  }

  /** The caller the msg mechanism sees; a Process is one thread, so its tid is its pid. */
  private msgCaller(): MsgCaller {
    const c = this.lastMsgCaller;
    if (c !== undefined && c.creds === this.credentials) return c;
    const fresh: MsgCaller = { creds: this.credentials, pid: this.pid, tid: this.pid };
    this.lastMsgCaller = fresh;
    return fresh;
  }

  /** A msgsnd or msgrcv that sleeps: a Pending its completion settles, and an entry a signal reaches. */
  private parkMsg<T>(call: Extract<WaitingCall, { call: 'msgsnd' | 'msgrcv' }>): Pending<E.Either<SysError, T>> {
    const { pending, settle } = deferredCall<E.Either<SysError, T>>();
    const waiter = call.waiter;
    const entry: Waiting = { interrupt: () => waiter.interrupt(), call, seq: nextWaitSeq++ };
    this.waiting.add(entry);
    // The mechanism completes a waiter only after the call that returned it, so the callback is in place in time.
    waiter.onComplete((result) => {
      this.waiting.delete(entry);
      settle(result as E.Either<SysError, T>);
    });
    return pending;
  }

  /**
   * A worker thread's TLB miss: translates as this process, so a page it
   * faults in is charged to its memory cgroup, and a refused charge OOM-kills
   * the process, as the same access made in-process does.
   * @internal
   */
  translateForThread(addr: number, len: number, write: boolean): E.Either<Fault, TlbFill> {
    return this.touch(() => this.mm.translateForTlb(addr, len, write));
  }

  /** Runs a memory access as this process; a refused fault charge then OOM-kills it. */
  private touch<T>(access: () => E.Either<Fault, T>): E.Either<Fault, T> {
    const result = this.kernel.runAs(this, access);
    if (this.faultChargeRefused) {
      this.faultChargeRefused = false;
      this.oomKill();
    }
    return result;
  }

  /**
   * Runs a call that faults pages in (MAP_POPULATE, MAP_LOCKED, mlock) as
   * this process: the pages are charged to its memory cgroup, and a refusal
   * OOM-kills it, as a fault's does.
   */
  private faulting<T>(call: () => T): T {
    const result = this.kernel.runAs(this, call);
    if (this.faultChargeRefused) {
      this.faultChargeRefused = false;
      this.oomKill();
    }
    return result;
  }

  /** A refused charge in a syscall: the memory cgroup OOM killer picks the writer (§6 of the host-channel notes). */
  private charged<T>(result: E.Either<SysError, T>): E.Either<SysError, T> {
    if (E.isLeft(result) && isChargeRefused(result.left)) this.oomKill();
    return result;
  }

  /** Ends the process with SIGKILL, as mem_cgroup_out_of_memory does to its victim. */
  private oomKill(): void {
    if (this.exitedFlag) return;
    this.killSignal = 'SIGKILL';
    this.exit();
  }

  /** ESRCH for a process that has exited, else undefined: the closure-free form of live(). */
  private gone(): E.Either<SysError, never> | undefined {
    return this.exitedFlag ? E.left(sysError('ESRCH', `process ${this.pid} has exited`)) : undefined;
  }

  private live<T>(fn: () => E.Either<SysError, T>): E.Either<SysError, T> {
    return this.gone() ?? fn();
  }
}

/**
 * semctl's semun as the mechanism takes it: SETVAL's int (EINVAL when it is
 * none), SETALL's first `nsems` values (what lies past them is never read,
 * as Linux copies nsems values), IPC_SET's buffer (EINVAL naming a field
 * that is no int; no object is the mechanism's EFAULT). SETALL's array is
 * only read here: a shorter array or none at all (EFAULT), an element that
 * cannot be read (EFAULT) or is no int (EINVAL) is the mechanism's to
 * report where Linux's copy_from_user of the array would fail, after the
 * permission check, so a caller without write access gets EACCES whatever
 * it passed.
 */
function semunArg(cmd: number, arg: unknown, nsems: number): E.Either<SysError, SemctlArg> {
  switch (cmd) {
    case SETVAL:
      return notInteger('arg', arg) ?? E.right({ val: arg as number });
    case SETALL: {
      if (!isArrayValue(arg)) return E.right({});
      // The values copied, each read once (copyFields): the mechanism stores what was checked here.
      const n = copyFields('arg', arg, ['length']);
      if (E.isLeft(n)) return E.right({ copyError: n.left });
      const given = n.right.length as number;
      const length = Number.isSafeInteger(given) && given > 0 ? Math.min(given, nsems) : 0;
      const values = copyElements('arg', arg, length);
      if (E.isLeft(values)) return E.right({ copyError: values.left });
      for (let i = 0; i < length; i += 1) {
        const bad = notInteger(`arg[${i}]`, values.right[i]);
        if (bad !== undefined && E.isLeft(bad)) return E.right({ copyError: bad.left });
      }
      return E.right({ array: values.right as number[] });
    }
    case IPC_SET: {
      if (typeof arg !== 'object' || arg === null || isArrayValue(arg)) return E.right({});
      const copied = copyFields('arg', arg, ['uid', 'gid', 'mode']);
      if (E.isLeft(copied)) return copied;
      return notIntegerFields('arg', copied.right, ['uid', 'gid', 'mode']) ?? E.right({ buf: copied.right as unknown as IpcSetArgs });
    }
    default:
      return E.right({});
  }
}

/** The mount flags a MountFlags object may hold. */
const MOUNT_FLAGS: readonly string[] = ['readonly', 'nosuid', 'nodev', 'noexec'];

/** IPC_SET's buffer, copied (copyFields): EFAULT when it is no object (a bad pointer) or cannot be read, EINVAL naming a field that is no integer. */
function copySetArgs(set: unknown): E.Either<SysError, IpcSetArgs> {
  if (typeof set !== 'object' || set === null) return badPointer('set', set, 'an object of uid, gid and mode');
  const copied = copyFields('set', set, ['uid', 'gid', 'mode']);
  if (E.isLeft(copied)) return copied;
  const { uid, gid, mode } = copied.right;
  return notInteger('uid', uid) ?? notInteger('gid', gid) ?? notInteger('mode', mode) ?? E.right(copied.right as unknown as IpcSetArgs);
}

/** EINVAL unless `mode` is a file mode (mode_t, an integer). */
function notMode(mode: unknown): E.Either<SysError, never> | undefined {
  return notInteger('mode', mode);
}

/** FUTEX_WAIT's expected value: an int (EINVAL otherwise, as the futex call has an errno to say it). */
function badFutexValue(name: string, value: unknown): E.Either<SysError, never> | undefined {
  return isWordValue(value) ? undefined : badArgument(name, value);
}
