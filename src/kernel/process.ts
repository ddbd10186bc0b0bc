/**
 * A simulated process: credentials, an address space and an IPC namespace,
 * with the syscall surface of System V shared memory. Every call returns an
 * Either; memory accesses return a Fault on their Left side instead of
 * raising a signal, and the process survives it.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, RLIM_INFINITY, TASK_SIZE } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { Credentials } from '../ipc/credentials.js';
import { hasCapability } from '../ipc/credentials.js';
import type { ShmSysctl } from '../ipc/limits.js';
import type { Fault } from '../mm/access.js';
import { MemoryManager } from '../mm/memory_manager.js';
import type { MappingContext } from '../mm/memmap.js';
import type { IpcSetArgs, ShmCaller, ShmctlResult } from '../shm/syscalls.js';
import * as shm from '../shm/syscalls.js';
import type { Registry } from '../shm/registry.js';
import type { IpcNamespace } from './ipc_namespace.js';
import type { Kernel } from './kernel.js';

/** An address or length as a program passes it: a number, or a bigint for full 64-bit values. */
export type Word = number | bigint;

/** PROT_SEM is accepted by mprotect on x86-64 and has no effect. */
const PROT_SEM = 0x8;

function toU64(w: Word): bigint {
  return BigInt.asUintN(64, typeof w === 'bigint' ? w : BigInt(Math.trunc(w)));
}

/** A process of a Kernel. */
export class Process implements ShmCaller {
  readonly mm: MemoryManager;
  readonly mappingContext: MappingContext;
  /** Identifies this process as a segment creator (Linux shm_creator). */
  readonly creatorToken: object = {};
  private exitedFlag = false;

  constructor(
    private readonly kernel: Kernel,
    readonly pid: number,
    private credentials: Credentials,
    private namespace: IpcNamespace,
    mm?: MemoryManager,
  ) {
    this.mappingContext = { pid, now: () => kernel.now() };
    this.mm = mm ?? new MemoryManager({ memoryFile: kernel.memoryFile });
  }

  get creds(): Credentials {
    return this.credentials;
  }

  get ipcNamespace(): IpcNamespace {
    return this.namespace;
  }

  get registry(): Registry {
    return this.namespace.shm;
  }

  get lockedMemory(): Kernel['lockedMemory'] {
    return this.kernel.lockedMemory;
  }

  /** True once exit() ran. */
  get exited(): boolean {
    return this.exitedFlag;
  }

  /** shmget(2): returns the segment id. */
  shmget(key: number, size: Word, flags: number): E.Either<SysError, number> {
    return this.live(() => shm.shmget(this, key, toU64(size), flags));
  }

  /** shmat(2): returns the attach address. */
  shmat(shmid: number, addr: Word, flags: number): E.Either<SysError, number> {
    return this.live(() => shm.shmat(this, shmid, toU64(addr), flags));
  }

  /** shmdt(2). */
  shmdt(addr: Word): E.Either<SysError, number> {
    return this.live(() => shm.shmdt(this, toU64(addr)));
  }

  /** shmctl(2). `set` is IPC_SET's uid, gid and mode. */
  shmctl(shmid: number, cmd: number, set?: IpcSetArgs): E.Either<SysError, ShmctlResult> {
    return this.live(() => shm.shmctl(this, shmid, cmd, set));
  }

  /** munmap(2) (mm/mmap.c do_vmi_munmap's argument checks, then the address space). */
  munmap(addr: Word, len: Word): E.Either<SysError, number> {
    return this.live(() => {
      const start = toU64(addr);
      const length = toU64(len);
      const task = BigInt(TASK_SIZE);
      if (start % BigInt(PAGE_SIZE) !== 0n || start > task || length > task - start || length === 0n) {
        return E.left(sysError('EINVAL', 'munmap needs a page-aligned start and a non-empty range inside the address space'));
      }
      return E.map(() => 0)(this.mm.munmap(this.mappingContext, Number(start), Number(length)));
    });
  }

  /** mprotect(2) (mm/mprotect.c do_mprotect_pkey's argument checks, then the address space). */
  mprotect(addr: Word, len: Word, prot: number): E.Either<SysError, number> {
    return this.live(() => {
      const start = toU64(addr);
      const length = toU64(len);
      if (start % BigInt(PAGE_SIZE) !== 0n) return E.left(sysError('EINVAL', 'mprotect needs a page-aligned start'));
      if (length === 0n) return E.right(0);
      const end = start + ((length + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE)) * BigInt(PAGE_SIZE);
      if (end > 0xffffffffffffffffn || end <= start) return E.left(sysError('ENOMEM', 'the range wraps'));
      if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) !== 0) return E.left(sysError('EINVAL', `bad protection 0x${prot.toString(16)}`));
      if (start >= BigInt(TASK_SIZE)) return E.left(sysError('ENOMEM', 'no mapping at that address'));
      const clippedEnd = end > BigInt(TASK_SIZE) ? BigInt(TASK_SIZE) + BigInt(PAGE_SIZE) : end;
      return E.map(() => 0)(this.mm.mprotect(this.mappingContext, Number(start), Number(clippedEnd - start), prot & ~PROT_SEM));
    });
  }

  /** Loads `len` bytes at `addr`. */
  read(addr: Word, len: number): E.Either<Fault, Uint8Array> {
    const a = this.address(addr);
    return a === undefined ? E.left({ signal: 'SIGSEGV', addr: Number.MAX_SAFE_INTEGER }) : this.mm.read(a, len);
  }

  /** Stores `bytes` at `addr`. */
  write(addr: Word, bytes: Uint8Array): E.Either<Fault, void> {
    const a = this.address(addr);
    return a === undefined ? E.left({ signal: 'SIGSEGV', addr: Number.MAX_SAFE_INTEGER }) : this.mm.write(a, bytes);
  }

  /** Stores `len` copies of `byte` from `addr`. */
  fill(addr: Word, len: number, byte: number): E.Either<Fault, void> {
    const a = this.address(addr);
    return a === undefined ? E.left({ signal: 'SIGSEGV', addr: Number.MAX_SAFE_INTEGER }) : this.mm.fill(a, len, byte);
  }

  /**
   * fork(2): a child with a copy of the credentials, the rlimits, the
   * namespace and every attachment (each inherited piece raises nattch and
   * records this process as lpid, since fork runs in the parent).
   */
  fork(): E.Either<SysError, Process> {
    return this.live(() =>
      E.right(
        this.kernel.admit(this.namespace, (pid) => {
          const childMm = this.mm.fork(this.mappingContext);
          return new Process(this.kernel, pid, this.credentials, this.namespace, childMm);
        }),
      ),
    );
  }

  /**
   * exit(2): the address space goes first (every attachment detached, as
   * exit_mm does), then exit_shm orphans the segments this process created,
   * then the process leaves its namespace.
   */
  exit(): E.Either<SysError, void> {
    return this.live(() => {
      this.exitedFlag = true;
      this.mm.release(this.mappingContext);
      this.namespace.shm.creatorGone(this.creatorToken);
      this.namespace.leave();
      this.kernel.forget(this);
      return E.right(undefined);
    });
  }

  /**
   * unshare(CLONE_NEWIPC): needs CAP_SYS_ADMIN. Linux runs exit_shm on the
   * old namespace first; attachments stay mapped.
   */
  unshareIpc(): E.Either<SysError, void> {
    return this.live(() => {
      if (!hasCapability(this.credentials, 'CAP_SYS_ADMIN')) return E.left(sysError('EPERM', 'unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN'));
      this.namespace.shm.creatorGone(this.creatorToken);
      const fresh = this.kernel.newIpcNamespace();
      fresh.join();
      const old = this.namespace;
      this.namespace = fresh;
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
      const value = soft < 0n ? RLIM_INFINITY : soft;
      const hard = this.credentials.memlock.hard;
      if (value > hard && !hasCapability(this.credentials, 'CAP_SYS_RESOURCE')) {
        return E.left(sysError('EPERM', 'raising RLIMIT_MEMLOCK above the hard limit needs CAP_SYS_RESOURCE'));
      }
      this.credentials = { ...this.credentials, memlock: { soft: value, hard: value > hard ? value : hard } };
      return E.right(undefined);
    });
  }

  /** Writes /proc/sys/kernel/NAME of this process's IPC namespace; the files are root's, mode 0644. */
  writeSysctl(name: ShmSysctl, value: bigint): E.Either<SysError, void> {
    return this.live(() => {
      if (this.credentials.uid !== 0) return E.left(sysError('EACCES', `/proc/sys/kernel/${name} is writable by root only`));
      return this.kernel.writeSysctl(this.namespace, name, value);
    });
  }

  private live<T>(fn: () => E.Either<SysError, T>): E.Either<SysError, T> {
    if (this.exitedFlag) return E.left(sysError('ESRCH', `process ${this.pid} has exited`));
    return fn();
  }

  /** A user address as a number, or undefined when it cannot be mapped at all. */
  private address(addr: Word): number | undefined {
    const a = toU64(addr);
    return a < BigInt(TASK_SIZE) ? Number(a) : undefined;
  }
}
