/**
 * The Kernel: physical memory, the IPC namespaces and the processes of one
 * simulated machine. Simulators inject the clock and the pid allocator so
 * that a run is reproducible.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { CredentialsInit } from '../ipc/credentials.js';
import { makeCredentials } from '../ipc/credentials.js';
import type { ShmSysctl } from '../ipc/limits.js';
import { LockedMemory } from '../ipc/ucounts.js';
import { MemoryFile } from '../mm/memory_file.js';
import type { ShmEnvironment } from '../shm/registry.js';
import { IpcNamespace } from './ipc_namespace.js';
import { Process } from './process.js';

/** How to build a Kernel. Every field is optional. */
export interface KernelOptions {
  /** CLOCK_REALTIME in whole seconds. Default: the host clock. */
  readonly clock?: () => number;
  /** Hands out pids. Default: 1000, 1001, ... */
  readonly allocatePid?: () => number;
  /**
   * The machine's RAM in bytes (MemTotal): the most frames the MemoryFile
   * hands out, and the bound of Linux's overcommit heuristic for a single
   * segment without SHM_NORESERVE. Default 8 GiB.
   */
  readonly memTotalBytes?: number;
  /** Bytes per SharedArrayBuffer chunk of the MemoryFile. */
  readonly chunkBytes?: number;
}

/** Options for a new process. */
export interface SpawnOptions extends CredentialsInit {
  /** The IPC namespace to start in; default: the kernel's initial one. */
  readonly ipcNamespace?: IpcNamespace;
}

const DEFAULT_MEM_TOTAL = 8 * 2 ** 30;

/** One simulated machine. */
export class Kernel {
  readonly memoryFile: MemoryFile;
  /** The initial IPC namespace; it lives as long as the kernel. */
  readonly initialIpcNamespace: IpcNamespace;
  private readonly env: ShmEnvironment;
  private readonly clock: () => number;
  private readonly allocatePid: () => number;
  private readonly live = new Set<Process>();
  private nextNsId = 1;

  constructor(options: KernelOptions = {}) {
    let pid = 1000;
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.allocatePid = options.allocatePid ?? (() => pid++);
    const memTotal = options.memTotalBytes ?? DEFAULT_MEM_TOTAL;
    const frames = Math.floor(memTotal / PAGE_SIZE);
    this.memoryFile = new MemoryFile({
      maxFrames: frames,
      ...(options.chunkBytes !== undefined ? { chunkBytes: options.chunkBytes } : {}),
    });
    this.env = {
      memoryFile: this.memoryFile,
      lockedMemory: new LockedMemory(),
      now: this.clock,
      commitLimitPages: BigInt(frames),
    };
    this.initialIpcNamespace = new IpcNamespace(0, this.env, true);
  }

  /** CLOCK_REALTIME seconds, from the injected clock. */
  now(): number {
    return this.clock();
  }

  /** Locked-memory accounting shared by every namespace (per uid). */
  get lockedMemory(): LockedMemory {
    return this.env.lockedMemory;
  }

  /** A fresh, empty IPC namespace with default limits. It lives while processes are in it. */
  newIpcNamespace(): IpcNamespace {
    const ns = new IpcNamespace(this.nextNsId, this.env, false);
    this.nextNsId += 1;
    return ns;
  }

  /** Starts a process with the given credentials (root with every capability by default). */
  spawn(options: SpawnOptions = {}): Process {
    const ns = options.ipcNamespace ?? this.initialIpcNamespace;
    return this.admit(ns, (pid) => new Process(this, pid, makeCredentials(options), ns));
  }

  /** Processes that have not exited. */
  processes(): Process[] {
    return [...this.live];
  }

  /**
   * Writes a shm sysctl of `ns` as the machine's administrator would. Setting
   * kernel.shm_rmid_forced destroys unattached orphans at once, as Linux does.
   */
  writeSysctl(ns: IpcNamespace, name: ShmSysctl, value: bigint): E.Either<SysError, void> {
    if (ns.isDead) return E.left(sysError('EINVAL', `IPC namespace ${ns.nsId} is gone`));
    const written = ns.shm.mu.with(() => ns.limits.write(name, value));
    if (E.isRight(written) && name === 'shm_rmid_forced' && value === 1n) ns.shm.destroyOrphans();
    return written;
  }

  /** Internal: registers a process built by `make` with a fresh pid. */
  admit(ns: IpcNamespace, make: (pid: number) => Process): Process {
    ns.join();
    const p = make(this.allocatePid());
    this.live.add(p);
    return p;
  }

  /** Internal: called by Process.exit. */
  forget(p: Process): void {
    this.live.delete(p);
  }

  /** Internal: the MemoryFile and accounting shared by namespaces. */
  get environment(): ShmEnvironment {
    return this.env;
  }
}
