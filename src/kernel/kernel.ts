/**
 * The Kernel: physical memory, the IPC namespaces, the mount namespaces with
 * their root filesystem, and the processes of one simulated machine.
 * Simulators inject the clock and the pid allocator so that a run is
 * reproducible.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../abi/constants.js';
import { DEFAULT_HUGE_PAGE_SIZES, isHugePageSize } from '../abi/memfd.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { CredentialsInit } from '../auth/credentials.js';
import { makeCredentials } from '../auth/credentials.js';
import { LockedMemory } from '../auth/ucounts.js';
import { MemoryFile } from '../mm/memory_file.js';
import type { ChunkMemoryUsage } from '../mm/memory_file.js';
import { DEFAULT_MAX_MAP_COUNT } from '../mm/memory_manager.js';
import type { VmSysctls } from '../mm/memory_manager.js';
import type { ShmEnvironment } from '../shm/registry.js';
import type { FaultChargeSource, MemoryCharge } from '../memcg/charge.js';
import { UnlimitedCharge } from '../memcg/charge.js';
import { Directory } from '../tmpfs/directory.js';
import type { TmpfsOptions } from '../tmpfs/superblock.js';
import { Tmpfs } from '../tmpfs/superblock.js';
import { FdTable } from '../vfs/files.js';
import { IpcNamespace } from './ipc_namespace.js';
import { Process } from './process.js';
import { defaultClock, hostSeconds } from './clock.js';
import { readIpcSysctl, writeIpcSysctl } from './sysctl.js';
import type { IpcSysctl, SysctlValue } from './sysctl.js';
import { hostMonotonic } from '../sync/monotonic.js';
import { TimerList } from './timers.js';
import type { Timer } from './timers.js';
import { Tracer } from './trace.js';
import type { TraceListener } from './trace.js';
import { decodeSpawnOptions } from './spawn_options.js';
import { PID_MAX_LIMIT, checkKernelOptions, checkedClock, checkedMonotonicClock, isPid } from './kernel_options.js';
import { describeValue, invalid, isOptions } from './syscall_args.js';
import { Mount, MountNamespace } from '../vfs/mounts.js';
import type { Location, MountFlags } from '../vfs/mounts.js';

/** How to build a Kernel. Every field is optional. */
export interface KernelOptions {
  /**
   * CLOCK_REALTIME in whole seconds. Default: the host clock's (clock.ts);
   * on Node, as a timer tick keeps it (node/realtime.ts). An injected clock
   * is read once by the constructor, which refuses a reading that is no
   * safe integer (a RangeError, or a TypeError for no number, naming
   * options.clock); a later such reading counts as the last good one, so
   * every time stamped stays one a checkpoint image holds. The host's
   * second (clock.ts hostSeconds) and the default are taken as they are.
   */
  readonly clock?: () => number;
  /**
   * CLOCK_MONOTONIC in milliseconds (any origin; it must never go back):
   * what timed waits (semtimedop) run on. Default: the host's
   * performance.now(), with a host timer (unref'd where it can be) that ends
   * the waits when they are due. With an injected clock no host timer runs:
   * call runTimers() after moving the clock, or advanceTime(ms). An injected
   * clock is read once by the constructor, which refuses a reading that is
   * no finite number, naming options.monotonicClock; a later reading that
   * is no finite number, or is below the last one, counts as the last one.
   */
  readonly monotonicClock?: () => number;
  /**
   * Hands out pids. Default: 1000, 1001, ... An injected allocator's pid
   * must be one Linux could hand out (an integer in 1..4194304) that no
   * live process holds: otherwise no process is made, and trySpawn and
   * fork are EAGAIN (as fork(2) is when alloc_pid finds no pid) and spawn
   * throws a RangeError, each naming options.allocatePid. A throw from it
   * reaches the caller, with the kernel as it was.
   */
  readonly allocatePid?: () => number;
  /**
   * The machine's RAM in bytes (MemTotal): the most frames the MemoryFile
   * hands out, and the bound of Linux's overcommit heuristic for a single
   * segment without SHM_NORESERVE. Default 8 GiB.
   */
  readonly memTotalBytes?: number;
  /** Bytes per SharedArrayBuffer chunk of the MemoryFile. */
  readonly chunkBytes?: number;
  /**
   * The CPU has protection keys, so Linux makes PROT_EXEC-only mappings
   * unreadable (true, the default: current x86-64 server CPUs), or reads of
   * them succeed as on older CPUs (false).
   */
  readonly executeOnly?: boolean;
  /** vm.hugetlb_shm_group: members may create SHM_HUGETLB segments. Default 0, as Linux. */
  readonly hugetlbShmGroup?: number;
  /**
   * The huge page sizes this machine's kernel has (a hugetlbfs hstate each),
   * the default first: memfd_create(MFD_HUGETLB) takes one by its log2 and
   * is ENODEV for any other. Default [2 MiB, 1 GiB]: x86-64 always has 2
   * MiB, and 1 GiB when the CPU has pdpe1gb. Sizes that are not powers of
   * two above the page size are left out. The pools are empty
   * (vm.nr_hugepages 0).
   */
  readonly hugePageSizes?: readonly number[];
  /** Fill freed frames with this byte (MemoryFileOptions.poisonFreed), for tests that hunt stale accesses. */
  readonly poisonFreed?: number;
  /** vm.max_map_count: the most VMAs a process may hold (see VmSysctls). Default 65530, as Linux. */
  readonly maxMapCount?: number;
}

/** Options for a new process. */
export interface SpawnOptions extends CredentialsInit {
  /** The IPC namespace to start in; default: the kernel's initial one. */
  readonly ipcNamespace?: IpcNamespace;
  /** The mount namespace to start in; default: the kernel's initial one. */
  readonly mountNamespace?: MountNamespace;
  /** The memory cgroup the process's new pages are charged to; default: the root cgroup. */
  readonly memoryCharge?: MemoryCharge;
}

const DEFAULT_MEM_TOTAL = 8 * 2 ** 30;

/**
 * Symbol.dispose, which Node has defined since 18.18 and 20.4 (as
 * Symbol.for('nodejs.dispose')); where it is missing, the same registered
 * symbol, as Node's own polyfill uses.
 */
const disposeSymbol: typeof Symbol.dispose = (Symbol as { dispose?: typeof Symbol.dispose }).dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);

/**
 * The kernel's faultCharges: pages first touched through a mapping are
 * billed to the process being served, else to the root cgroup. A class
 * rather than an object of two closures, which every new Kernel made.
 */
class CurrentTask implements FaultChargeSource {
  running: Process | undefined = undefined;

  constructor(private readonly root: MemoryCharge) {}

  current(): MemoryCharge {
    return this.running?.memoryCharge ?? this.root;
  }

  refused(): void {
    this.running?.noteRefusedFaultCharge();
  }
}

/** What a call on a disposed kernel returns. */
function disposedKernel(): E.Either<SysError, never> {
  return E.left(sysError('ESRCH', 'the kernel was disposed'));
}

/**
 * The process of a start that spawn cannot refuse with an Either: the only
 * Left left by then is an injected allocator's EAGAIN (admit), thrown as a
 * RangeError naming options.allocatePid, since there is no Process to return.
 */
function spawned(r: E.Either<SysError, Process>): Process {
  if (E.isLeft(r)) throw new RangeError(`Kernel.spawn: ${r.left.message}`);
  return r.right;
}

/** The sizes an option names that can be huge page sizes (powers of two above the page size, below 2^53), once each. */
function hugePageSizesOf(sizes: readonly number[] | undefined): readonly number[] {
  if (sizes === undefined) return DEFAULT_HUGE_PAGE_SIZES;
  return Object.freeze([...new Set(sizes.filter(isHugePageSize))]);
}

/** One simulated machine. */
export class Kernel {
  readonly memoryFile: MemoryFile;
  /** The vm sysctls every address space of this kernel obeys; writable (vm.max_map_count). */
  readonly vm: VmSysctls;
  /** PROT_EXEC-only pages are unreadable (see KernelOptions.executeOnly). */
  readonly executeOnly: boolean;
  /** The huge page sizes, default first (see KernelOptions.hugePageSizes). */
  readonly hugePageSizes: readonly number[];
  /** The initial IPC namespace; it lives as long as the kernel. */
  readonly initialIpcNamespace: IpcNamespace;
  /** The root memory cgroup: host processes are charged here, and it never refuses. */
  readonly rootMemoryCgroup = new UnlimitedCharge();
  /** The host's "/": a tmpfs without size or inode limits, mode 0755. */
  readonly rootfs: Tmpfs;
  /** The host's mount namespace; it lives as long as the kernel. */
  readonly initialMountNamespace: MountNamespace;
  /**
   * Bills pages first touched through a mapping to the task touching them.
   * @internal
   */
  readonly faultCharges: FaultChargeSource;
  private readonly env: ShmEnvironment;
  /** The process whose memory access is being served (Linux `current`), which faultCharges bills. */
  private readonly task: CurrentTask;
  /** CLOCK_REALTIME in whole seconds: the injected clock, or the default (clock.ts). Called bare, without `this`. */
  readonly clock: () => number;
  private readonly allocatePid: () => number;
  /** The monotonic clock as injected (or the host's), before advanceTime's offset. */
  private readonly monotonicBase: () => number;
  /** What advanceTime has added to the monotonic clock, in milliseconds. */
  private monotonicOffset = 0;
  /**
   * Deadlines of timed waits, on the monotonic clock.
   * @internal
   */
  readonly timers: TimerList;
  private readonly live = new Set<Process>();
  private nextNsId = 1;
  /**
   * IPC namespaces made by newIpcNamespace that may still hold state, in
   * creation order, so a checkpoint finds those only a simulator holds open.
   * A dead namespace leaves once its last segment is gone.
   */
  private readonly madeIpcNamespaces = new Set<IpcNamespace>();
  /** Mount namespaces made by newMountNamespace, in creation order; one leaves once its last member has. */
  private readonly madeMountNamespaces = new Set<MountNamespace>();
  /** The default pid allocator's next pid; undefined when the simulator injected its own. */
  private nextPid: number | undefined = undefined;
  /** The live processes' pids when the simulator injected the allocator (whose pids admit checks); undefined with the default one. */
  private readonly injectedPids: Set<number> | undefined;
  /** Set by dispose. */
  private isDisposed = false;
  /** What dispose runs first: the node layer ends the kernel's worker threads (see onDispose). */
  private disposers: Array<() => void> | undefined = undefined;
  /**
   * The trace while somebody listens (onTrace); undefined otherwise, which
   * is all a kernel nobody traces ever tests.
   * @internal
   */
  tracer: Tracer | undefined = undefined;

  /** Throws a TypeError or RangeError naming the option when `options` cannot be used (kernel_options.ts). */
  constructor(input?: KernelOptions) {
    // Each option read once: the constructor reads only this checked copy.
    const options = checkKernelOptions(input);
    // Only a simulator's own clock is checked. The host's and the installed default (node/realtime.ts's tick) need no
    // check and stay themselves: the realtime clock is on every stamping path, and the node layer offers worker
    // threads leases only while the kernel's clock is one of these two functions (worker.ts offerLease).
    const clock = options.clock;
    this.clock = clock === undefined || clock === hostSeconds || clock === defaultClock() ? (clock ?? defaultClock()) : checkedClock(clock);
    this.monotonicBase = options.monotonicClock === undefined ? hostMonotonic() : checkedMonotonicClock(options.monotonicClock);
    this.timers = new TimerList(() => this.monotonicNow(), options.monotonicClock === undefined);
    this.nextPid = options.allocatePid === undefined ? 1000 : undefined;
    this.injectedPids = options.allocatePid === undefined ? undefined : new Set();
    this.allocatePid =
      options.allocatePid ??
      (() => {
        const pid = this.nextPid as number;
        this.nextPid = pid + 1;
        return pid;
      });
    const memTotal = options.memTotalBytes ?? DEFAULT_MEM_TOTAL;
    const frames = Math.floor(memTotal / PAGE_SIZE);
    this.memoryFile = new MemoryFile({
      maxFrames: frames,
      ...(options.chunkBytes !== undefined ? { chunkBytes: options.chunkBytes } : {}),
      ...(options.poisonFreed !== undefined ? { poisonFreed: options.poisonFreed } : {}),
    });
    this.vm = { maxMapCount: options.maxMapCount ?? DEFAULT_MAX_MAP_COUNT };
    this.env = {
      memoryFile: this.memoryFile,
      lockedMemory: new LockedMemory(),
      now: this.clock,
      commitLimitPages: BigInt(frames),
      hugetlbShmGroup: options.hugetlbShmGroup ?? 0,
    };
    this.executeOnly = options.executeOnly ?? true;
    this.hugePageSizes = hugePageSizesOf(options.hugePageSizes);
    this.initialIpcNamespace = new IpcNamespace(0, this.env, true);
    this.task = new CurrentTask(this.rootMemoryCgroup);
    this.faultCharges = this.task;
    // Private pages (mm/anon.ts) are charged like tmpfs pages: to the faulting task's memory cgroup.
    this.memoryFile.pageCharges = this.faultCharges;
    const rootfs = Tmpfs.create(this.memoryFile, { mode: 0o755 }, this.faultCharges);
    if (E.isLeft(rootfs)) throw new Error(`the root tmpfs: ${rootfs.left.message}`);
    this.rootfs = rootfs.right;
    this.initialMountNamespace = new MountNamespace(new Mount(this.rootfs, this.rootfs.root, {}), true);
  }

  /**
   * A new tmpfs instance whose mapping faults are charged to the faulting
   * process. Without size= and nr_inodes= it gets Linux's defaults: half of
   * RAM, and half as many inodes as RAM has pages (shmem_default_max_*).
   */
  newTmpfs(options: TmpfsOptions = {}): E.Either<SysError, Tmpfs> {
    if (this.isDisposed) return disposedKernel();
    if (!isOptions(options)) return invalid('options', options, 'an object of tmpfs options');
    const halfRamPages = Math.floor(this.memoryFile.totalFrames / 2);
    return Tmpfs.create(this.memoryFile, { sizeBytes: halfRamPages * PAGE_SIZE, nrInodes: halfRamPages, ...options }, this.faultCharges);
  }

  /**
   * A fresh mount namespace (a container's) whose "/" is a mount of the
   * directory `root`, resolved in any namespace. The caller holds one
   * reference and drops it with leave(); each process in the namespace holds
   * another. When the last goes, its mounts are detached.
   * @internal
   */
  newMountNamespace(root: Location, flags: MountFlags = {}): E.Either<SysError, MountNamespace> {
    if (this.isDisposed) return disposedKernel();
    const dir = root.inode;
    if (!(dir instanceof Directory)) return E.left(sysError('ENOTDIR', `${root.path} is not a directory`));
    const ns = new MountNamespace(new Mount(dir.sb, dir, flags), false);
    ns.join();
    this.pruneNamespaces();
    this.madeMountNamespaces.add(ns);
    return E.right(ns);
  }

  /**
   * Runs `fn` as `p`'s memory access: pages it first touches through
   * mappings are charged to `p`'s cgroup.
   * @internal
   */
  runAs<T>(p: Process, fn: () => T): T {
    const task = this.task;
    const outer = task.running;
    task.running = p;
    try {
      return fn();
    } finally {
      task.running = outer;
    }
  }

  /** CLOCK_REALTIME seconds, from the injected clock. */
  now(): number {
    return this.clock();
  }

  /** CLOCK_MONOTONIC in milliseconds: the injected clock (or the host's) plus what advanceTime added. */
  monotonicNow(): number {
    return this.monotonicBase() + this.monotonicOffset;
  }

  /**
   * Ends every timed wait whose deadline has passed on the monotonic clock
   * (read once, first), in deadline order: each semtimedop settles with
   * EAGAIN unless it completed first. Returns how many timers fired.
   */
  runTimers(): number {
    return this.timers.run();
  }

  /**
   * Moves the monotonic clock `ms` milliseconds ahead (on top of the
   * injected clock, which a test usually keeps still) and runs the timers
   * that became due. Returns how many fired; EINVAL for `ms` that is not a
   * finite non-negative number.
   */
  advanceTime(ms: number): E.Either<SysError, number> {
    if (this.isDisposed) return disposedKernel();
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return invalid('ms', ms, 'a finite non-negative number of milliseconds');
    this.monotonicOffset += ms;
    return E.right(this.timers.run());
  }

  /**
   * Arms `fire` for `deadline` on the monotonic clock.
   * @internal
   */
  armTimer(deadline: number, fire: () => void): Timer {
    return this.timers.add(deadline, fire);
  }

  /**
   * Locked-memory accounting shared by every namespace (per uid).
   * @internal
   */
  get lockedMemory(): LockedMemory {
    return this.env.lockedMemory;
  }

  /**
   * RAM plus swap in pages, the bound of the overcommit heuristic (shmget,
   * mmap, mprotect).
   * @internal
   */
  get commitLimitPages(): bigint {
    return this.env.commitLimitPages;
  }

  /** A fresh, empty IPC namespace with default limits. It lives while processes are in it. */
  newIpcNamespace(): IpcNamespace {
    const ns = new IpcNamespace(this.nextNsId, this.env, false);
    this.nextNsId += 1;
    this.pruneNamespaces();
    this.madeIpcNamespaces.add(ns);
    return ns;
  }

  /**
   * Starts a process with the given credentials (root with every capability
   * by default). When the options name a namespace the process cannot enter
   * (see trySpawn), the process exits at once, as a runtime's child does when
   * its setns fails: every call on it is then ESRCH. Use trySpawn for the errno.
   *
   * Options that are no credentials at all (a uid of -1 or 1.5, an unknown
   * capability, a memory charge of another kind: trySpawn's EINVALs) throw a
   * TypeError naming the option, since there is no Process to return;
   * trySpawn is the checked path that returns them as a Left. So does an
   * injected pid allocator that hands out no usable pid: a RangeError
   * naming options.allocatePid (KernelOptions.allocatePid).
   */
  spawn(options: SpawnOptions = {}): Process {
    if (this.isDisposed) return this.stillborn();
    const creds = decodeSpawnOptions(this, options);
    if (E.isLeft(creds)) throw new TypeError(`Kernel.spawn: ${creds.left.message}`);
    const p = this.trySpawn(options);
    if (E.isRight(p)) return p.right;
    const stillborn = spawned(this.trySpawn({ ...options, ipcNamespace: undefined, mountNamespace: undefined }));
    stillborn.exit();
    return stillborn;
  }

  /**
   * Starts a process as spawn does, or says why it cannot: EINVAL for an IPC
   * or mount namespace whose last process has left (it is torn down, as
   * setns(2) could never reach it) or that belongs to another kernel; and
   * EINVAL naming the option for credentials no process can have (a uid or
   * gid outside 0..2^32-2, an unknown capability, a memlock limit that is no
   * rlim_t pair) or a memory charge that is neither the root cgroup nor a
   * MemoryCgroup. EAGAIN naming options.allocatePid when an injected pid
   * allocator hands out no pid a new process can have (KernelOptions.allocatePid).
   */
  trySpawn(options: SpawnOptions = {}): E.Either<SysError, Process> {
    if (this.isDisposed) return disposedKernel();
    const creds = decodeSpawnOptions(this, options);
    if (E.isLeft(creds)) return creds;
    const ns = options.ipcNamespace ?? this.initialIpcNamespace;
    if (ns.isDead) return E.left(sysError('EINVAL', `IPC namespace ${ns.nsId} is gone: its last process left`));
    if (ns !== this.initialIpcNamespace && !this.madeIpcNamespaces.has(ns))
      return E.left(sysError('EINVAL', `IPC namespace ${ns.nsId} belongs to another kernel`));
    const mountNamespace = options.mountNamespace ?? this.initialMountNamespace;
    if (mountNamespace.isDead) return E.left(sysError('EINVAL', 'the mount namespace is gone: its last process left'));
    if (mountNamespace !== this.initialMountNamespace && !this.madeMountNamespaces.has(mountNamespace)) {
      return E.left(sysError('EINVAL', 'the mount namespace belongs to another kernel'));
    }
    const fs = { mountNamespace, files: new FdTable(), memoryCharge: options.memoryCharge ?? this.rootMemoryCgroup };
    return this.admit(ns, (pid) => new Process(this, pid, makeCredentials(creds.right), ns, undefined, fs));
  }

  /** Processes that have not exited. */
  processes(): Process[] {
    return [...this.live];
  }

  /**
   * Writes an IPC sysctl of `ns` as the machine's administrator would: the
   * shm ones, kernel.sem (an array of one to four bigints: semmsl, semmns,
   * semopm, semmni), kernel.sem_next_id, kernel.msgmax, msgmnb, msgmni,
   * auto_msgmni and msg_next_id. Values are bigints; an unknown name or a
   * value of another type is EINVAL. Setting kernel.shm_rmid_forced destroys
   * unattached orphans at once, as Linux does.
   */
  writeSysctl(ns: IpcNamespace, name: IpcSysctl, value: SysctlValue): E.Either<SysError, void> {
    if (this.isDisposed) return disposedKernel();
    const bad = this.notMyNamespace(ns);
    if (bad !== undefined) return bad;
    const written = writeIpcSysctl(ns, name, value);
    if (E.isRight(written) && name === 'shm_rmid_forced' && value === 1n) ns.shm.destroyOrphans();
    return written;
  }

  /** Reads an IPC sysctl of `ns`: a bigint, or kernel.sem's four; EINVAL for an unknown name. */
  readSysctl(ns: IpcNamespace, name: 'sem'): E.Either<SysError, readonly bigint[]>;
  readSysctl(ns: IpcNamespace, name: Exclude<IpcSysctl, 'sem'>): E.Either<SysError, bigint>;
  readSysctl(ns: IpcNamespace, name: IpcSysctl): E.Either<SysError, SysctlValue>;
  readSysctl(ns: IpcNamespace, name: IpcSysctl): E.Either<SysError, SysctlValue> {
    if (this.isDisposed) return disposedKernel();
    return this.notMyNamespace(ns) ?? readIpcSysctl(ns, name);
  }

  /** EINVAL unless `ns` is a live IPC namespace of this kernel. */
  private notMyNamespace(ns: IpcNamespace): E.Either<SysError, never> | undefined {
    if (!(ns instanceof IpcNamespace) || (ns !== this.initialIpcNamespace && !this.madeIpcNamespaces.has(ns))) {
      return invalid('ns', ns, 'an IPC namespace of this kernel');
    }
    return ns.isDead ? E.left(sysError('EINVAL', `IPC namespace ${ns.nsId} is gone`)) : undefined;
  }

  /**
   * Internal: registers a process built by `make` with a fresh pid; EAGAIN,
   * having changed nothing, when an injected allocator's pid is no pid or is
   * a live process's.
   * @internal
   */
  admit(ns: IpcNamespace, make: (pid: number) => Process): E.Either<SysError, Process> {
    // The injected allocator runs before anything changes, so a throw from it leaves the kernel as it was.
    const pid = this.allocatePid();
    const pids = this.injectedPids;
    if (pids !== undefined) {
      if (!isPid(pid)) return E.left(sysError('EAGAIN', `options.allocatePid returned ${describeValue(pid)}, not a pid in 1..${PID_MAX_LIMIT}`));
      if (pids.has(pid)) return E.left(sysError('EAGAIN', `options.allocatePid returned ${pid}, which process ${pid} holds`));
    }
    ns.join();
    const p = make(pid);
    this.live.add(p);
    pids?.add(pid);
    if (this.tracer !== undefined) this.tracer.adopt(p);
    return E.right(p);
  }

  /**
   * Checkpoint: the next pid of the default allocator (undefined when one
   * was injected) and the next IPC namespace number.
   */
  get counters(): { readonly nextPid: number | undefined; readonly nextNsId: number } {
    return { nextPid: this.nextPid, nextNsId: this.nextNsId };
  }

  /**
   * Checkpoint restore: the counters checkpointed (the pid only matters to the default allocator).
   * @internal
   */
  restoreCounters(nextPid: number | undefined, nextNsId: number): void {
    if (this.nextPid !== undefined && nextPid !== undefined) this.nextPid = nextPid;
    this.nextNsId = nextNsId;
  }

  /** Checkpoint: every IPC namespace that may hold state, the initial one first. */
  ipcNamespaces(): IpcNamespace[] {
    this.pruneNamespaces();
    return [this.initialIpcNamespace, ...this.madeIpcNamespaces];
  }

  /** Checkpoint: every mount namespace with members, the initial one first. */
  mountNamespaces(): MountNamespace[] {
    this.pruneNamespaces();
    return [this.initialMountNamespace, ...this.madeMountNamespaces];
  }

  /**
   * Checkpoint restore: registers rebuilt namespaces (not the initial ones).
   * @internal
   */
  adoptRestoredNamespaces(ipc: readonly IpcNamespace[], mount: readonly MountNamespace[]): void {
    for (const ns of ipc) if (ns !== this.initialIpcNamespace) this.madeIpcNamespaces.add(ns);
    for (const ns of mount) if (ns !== this.initialMountNamespace) this.madeMountNamespaces.add(ns);
  }

  /**
   * Checkpoint restore: registers a rebuilt process, which already holds its namespace memberships.
   * @internal
   */
  adoptRestored(p: Process): void {
    this.live.add(p);
    this.injectedPids?.add(p.pid);
    if (this.tracer !== undefined) this.tracer.adopt(p);
  }

  /**
   * Calls `listener` with every trace event of this kernel from now on
   * (src/kernel/trace.ts): each syscall of each process with its arguments
   * and result, memory accesses that fault, page frames handed out and
   * freed, blocked calls waking, and container lifecycle steps. Listeners
   * run between syscalls, never inside one. Returns the function that
   * unsubscribes; once the last listener has gone, the kernel runs exactly
   * as an untraced one.
   */
  onTrace(listener: TraceListener): () => void {
    // Checked here: anything else would throw later, from inside the first traced call.
    if (typeof listener !== 'function')
      throw new TypeError(`Kernel.onTrace: the listener must be a function, not ${listener === null ? 'null' : typeof listener}`);
    let tracer = this.tracer;
    if (tracer === undefined) {
      const t = new Tracer();
      tracer = t;
      this.tracer = t;
      for (const p of this.live) t.adopt(p);
      t.adoptMemoryFile(this.memoryFile);
      // A semop, msgsnd or msgrcv on an object lent to worker threads is made in the thread, where no trace sees it:
      // take every lease back (Process.semLease and msgLease grant none while traced).
      for (const ns of this.ipcNamespaces()) {
        ns.sem.recallLeases();
        ns.msg.recallLeases();
      }
    }
    const t = tracer;
    const remove = t.subscribe(listener);
    return () => {
      if (!remove() || t.listening || this.tracer !== t) return;
      this.tracer = undefined;
      t.detachAll();
    };
  }

  /**
   * Internal: called by Process.exit.
   * @internal
   */
  forget(p: Process): void {
    this.live.delete(p);
    this.injectedPids?.delete(p.pid);
  }

  /**
   * Ends the kernel and gives its memory back: its worker threads are told
   * to end first (node layer), then every live process exits as with
   * exit(2), then the MemoryFile gives up its chunks to the process-wide
   * pool the next kernel draws from (a chunk a thread still holds joins it
   * when that thread has ended; see MemoryFile.dispose). Afterwards every
   * call on one of its processes is ESRCH (the process has exited), and the
   * kernel's own calls that return an Either (trySpawn, newTmpfs,
   * newMountNamespace, advanceTime, writeSysctl, readSysctl) are ESRCH
   * "the kernel was disposed"; spawn returns a process that has already
   * exited. Never throws; a second call does nothing. `using kernel = new
   * Kernel()` calls it at the end of the block.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const disposers = this.disposers ?? [];
    this.disposers = undefined;
    for (const end of disposers) {
      try {
        end();
      } catch {
        // A thread that cannot be told to end still holds its chunks: they stay out of the pool (see MemoryFile.dispose).
      }
    }
    for (const p of [...this.live]) {
      try {
        p.exit();
      } catch {
        // An injected clock that throws leaves the process as it was; its memory goes with the MemoryFile's below.
      }
    }
    this.memoryFile.dispose();
  }

  /** `using kernel = new Kernel()`: dispose at the end of the block. */
  [disposeSymbol](): void {
    this.dispose();
  }

  /** Whether dispose ran. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * The chunk memory this kernel holds (sabBytes: its SharedArrayBuffers,
   * in use by its objects or kept for its own reuse) and, apart, what waits
   * in the process-wide pool of released chunks for the next kernel
   * (pooledBytes, shared by every kernel of the process). A kernel whose
   * processes touched one page holds one 64 KiB chunk.
   */
  memoryUsage(): ChunkMemoryUsage {
    return this.memoryFile.memoryUsage();
  }

  /**
   * Registers `end` to run first when the kernel is disposed (the node
   * layer ends the kernel's worker threads with it); on a disposed kernel
   * it runs at once.
   * @internal
   */
  onDispose(end: () => void): void {
    if (this.isDisposed) {
      end();
      return;
    }
    (this.disposers ??= []).push(end);
  }

  /** A process that has already exited, for spawn on a disposed kernel: every call on it is ESRCH. */
  private stillborn(): Process {
    const creds = decodeSpawnOptions(this, {}) as E.Right<Parameters<typeof makeCredentials>[0]>;
    const fs = { mountNamespace: this.initialMountNamespace, files: new FdTable(), memoryCharge: this.rootMemoryCgroup };
    const p = spawned(
      this.admit(this.initialIpcNamespace, (pid) => new Process(this, pid, makeCredentials(creds.right), this.initialIpcNamespace, undefined, fs)),
    );
    p.exit();
    return p;
  }

  /** Forgets namespaces that can hold nothing any more. */
  private pruneNamespaces(): void {
    for (const ns of this.madeIpcNamespaces) {
      if (ns.isDead && ns.shm.segmentsForCheckpoint().length === 0) this.madeIpcNamespaces.delete(ns);
    }
    for (const ns of this.madeMountNamespaces) if (ns.memberCount === 0) this.madeMountNamespaces.delete(ns);
  }

  /**
   * Internal: the MemoryFile and accounting shared by namespaces.
   * @internal
   */
  get environment(): ShmEnvironment {
    return this.env;
  }
}
