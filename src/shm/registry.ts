/**
 * The shm registry of one IPC namespace (Linux shm_ids(ns) plus ns->shm_tot;
 * gVisor kernel/shm.Registry): the key and id tables, page accounting, and
 * the namespace-wide rules of shmget and of removal.
 *
 * Lock order: mm.mappingMu → Registry.mu → Shm.mu. Registry.mu guards the
 * tables and totalPages.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  IPCMNI,
  IPC_CREAT,
  IPC_EXCL,
  IPC_PRIVATE,
  MAX_LFS_FILESIZE,
  PAGE_SHIFT_N,
  PAGE_SIZE,
  PAGE_SIZE_N,
  SHMMIN,
  SHM_HUGETLB,
  SHM_HUGE_SHIFT,
  SHM_NORESERVE,
} from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { ShmInfoLimits, ShmInfoUsage } from '../abi/shm.js';
import type { MemoryFile } from '../mm/memory_file.js';
import type { Credentials } from '../auth/credentials.js';
import { hasCapability, inGroup } from '../auth/credentials.js';
import { IdTable, idSeq } from '../ipc/ids.js';
import type { IdAllocatorState } from '../ipc/ids.js';
import type { IpcLimits } from '../ipc/limits.js';
import { asNumberLimit } from '../ipc/limits.js';
import { ipcPermits, mayControl } from '../ipc/perm.js';
import type { LockedMemory } from '../auth/ucounts.js';
import { LockRank, Mutex } from '../sync/mutex.js';
import type { ShmInit, ShmOwner } from './shm.js';
import { Shm } from './shm.js';

/** Huge page sizes the modelled machine has (x86-64: 2 MiB and 1 GiB), by log2. */
const HUGE_PAGE_LOGS = new Set([21, 30]);
const DEFAULT_HUGE_PAGE_LOG = 21;
const SHM_HUGE_MASK = 0x3f;

/**
 * The largest page count kept in Registry.smallPages: IPCMNI (2^15) segments
 * of 2^37 pages sum to 2^52, below 2^53, so that sum is exact as a number.
 */
const SMALL_SEGMENT_PAGES = 2 ** 37;

/** shmctlDown's answer: one frozen Right serves every call. */
const CONTROL_DONE: E.Either<SysError, void> = Object.freeze(E.right(undefined));
/** (uid_t)-1, which IPC_SET refuses as an owner. */
const INVALID_ID = 0xffffffff;

/** The uid, gid and mode that IPC_SET copies in. */
export interface IpcSetArgs {
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

/**
 * A 64-bit syscall argument (a size_t or an address): a number when the
 * value is a non-negative safe integer, which covers every address a mapping
 * can have (TASK_SIZE is 2^47) and every size a program normally asks for;
 * otherwise the u64 as a bigint.
 */
export type U64Arg = number | bigint;

/** What every registry of a kernel shares. */
export interface ShmEnvironment {
  readonly memoryFile: MemoryFile;
  readonly lockedMemory: LockedMemory;
  /** CLOCK_REALTIME seconds. */
  now(): number;
  /** totalram + swap in pages: the overcommit heuristic refuses a single larger segment. */
  readonly commitLimitPages: bigint;
  /** vm.hugetlb_shm_group: members may create SHM_HUGETLB segments without CAP_IPC_LOCK. Linux's default is 0. */
  readonly hugetlbShmGroup: number;
}

/** The System V shm state of one IPC namespace. */
export class Registry implements ShmOwner {
  /** Guards ids and totalPages. */
  readonly mu = new Mutex('shm.Registry.mu', LockRank.shmRegistryMu);
  private readonly ids = new IdTable<Shm>();
  /**
   * ns->shm_tot, the sum of ceil(segsz / PAGE_SIZE) over existing segments,
   * in two parts so that the common case needs no bigint: segments of at
   * most SMALL_SEGMENT_PAGES pages add to smallPages (exact as a number, since
   * at most IPCMNI segments exist), larger ones to largePages.
   */
  private smallPages = 0;
  private largePages = 0n;
  /** env.commitLimitPages as a number (see asNumberLimit). */
  private readonly commitLimit: number;

  constructor(
    readonly limits: IpcLimits,
    private readonly env: ShmEnvironment,
  ) {
    this.commitLimit = asNumberLimit(env.commitLimitPages);
  }

  get registryMu(): Mutex {
    return this.mu;
  }

  rmidForced(): boolean {
    return this.limits.shmRmidForced;
  }

  /**
   * shmget's namespace part (ipc/util.c ipcget, ipc/shm.c newseg). Returns the
   * segment's id. Checks run in Linux's order: on an existing key EEXIST, then
   * the size against segsz (EINVAL), then permission (EACCES); a missing key
   * without IPC_CREAT is ENOENT before any size check; creation checks size,
   * shmall, hugetlb rights, the shmem size limit, overcommit, then shmmni.
   */
  shmget(creds: Credentials, pid: number, creator: object, key: number, size: U64Arg, flags: number): E.Either<SysError, number> {
    // lock/unlock rather than Mutex.with: this is the hottest control path.
    this.mu.lock();
    try {
      if (key !== IPC_PRIVATE) {
        const found = this.ids.findKey(key);
        if (found !== undefined) {
          found.mu.lock();
          try {
            return this.lookupChecks(found, creds, size, flags);
          } finally {
            found.mu.unlock();
          }
        }
        if ((flags & IPC_CREAT) === 0) return E.left(sysError('ENOENT', `no segment has key ${key} and IPC_CREAT is not set`));
      }
      return this.createLocked(creds, pid, creator, key, size, flags);
    } finally {
      this.mu.unlock();
    }
  }

  /**
   * The segment whose id is exactly `id`, with a reference the caller must
   * drop. Without the registry lock, as Linux's shm_obtain_object_check runs
   * under rcu_read_lock only (shmat, IPC_STAT, SHM_LOCK): every syscall runs
   * on the one kernel thread here, so nothing changes the table during it.
   */
  findById(id: number): Shm | undefined {
    const s = this.ids.findId(id);
    s?.incRef();
    return s;
  }

  /** The segment in slot `index & 0x7fff` whatever its sequence (SHM_STAT), with a reference. */
  findByIndex(index: number): Shm | undefined {
    return this.mu.with(() => {
      const s = this.ids.findIndex(index);
      s?.incRef();
      return s;
    });
  }

  /** IPC_INFO: the limits, and the highest index in use (0 when none). */
  ipcInfo(): { readonly info: ShmInfoLimits; readonly maxIndex: number } {
    return this.mu.with(() => ({
      info: {
        shmmax: this.limits.shmmax,
        shmmin: SHMMIN,
        shmmni: this.limits.shmmni,
        shmseg: this.limits.shmmni,
        shmall: this.limits.shmall,
      },
      maxIndex: Math.max(this.ids.maxIndex(), 0),
    }));
  }

  /** SHM_INFO: usage figures, and the highest index in use (0 when none). */
  shmInfo(): { readonly usage: ShmInfoUsage; readonly maxIndex: number } {
    return this.mu.with(() => {
      let rss = 0;
      for (const s of this.ids.objects()) rss += s.residentPages;
      return {
        usage: {
          usedIds: this.ids.inUse,
          shmTot: this.totalPages(),
          shmRss: rss,
          shmSwp: 0,
          swapAttempts: 0,
          swapSuccesses: 0,
        },
        maxIndex: Math.max(this.ids.maxIndex(), 0),
      };
    });
  }

  /** Every segment in index order, each with a reference the caller must drop. */
  segments(): Shm[] {
    return this.mu.with(() => {
      const all = this.ids.objects();
      for (const s of all) s.incRef();
      return all;
    });
  }

  /**
   * exit_shm: the process `creator` exits (or leaves the namespace). Its
   * segments become orphans; with shm_rmid_forced, the unattached ones are
   * destroyed.
   */
  creatorGone(creator: object): void {
    const doomed: Shm[] = [];
    this.mu.with(() => {
      for (const s of this.ids.objects()) {
        s.mu.with(() => {
          if (s.creator !== creator) return;
          s.creator = undefined;
          if (this.limits.shmRmidForced && s.mayDestroyLocked()) {
            s.incRef();
            doomed.push(s);
          }
        });
      }
    });
    for (const s of doomed) {
      s.markDestroyed();
      s.decRef();
    }
  }

  /**
   * shm_destroy_orphaned, run when kernel.shm_rmid_forced is written:
   * unattached segments whose creator has exited are destroyed.
   */
  destroyOrphans(): void {
    const doomed: Shm[] = [];
    this.mu.with(() => {
      for (const s of this.ids.objects()) {
        s.mu.with(() => {
          if (s.creator === undefined && s.mayDestroyLocked()) {
            s.incRef();
            doomed.push(s);
          }
        });
      }
    });
    for (const s of doomed) {
      s.markDestroyed();
      s.decRef();
    }
  }

  /** shm_exit_ns: the namespace dies; every segment is removed as IPC_RMID would. */
  release(): void {
    for (const s of this.segments()) {
      s.markDestroyed();
      s.decRef();
    }
  }

  /** Precondition: mu is held. */
  dissociateKeyLocked(s: Shm): void {
    this.ids.dissociateKey(s.perm.key, s);
    s.perm.key = IPC_PRIVATE;
  }

  /** shm_destroy's bookkeeping, at the last reference. Takes mu. */
  remove(s: Shm): void {
    // lock/unlock rather than Mutex.with: IPC_RMID of an unattached segment ends here.
    this.mu.lock();
    try {
      this.removeLocked(s);
    } finally {
      this.mu.unlock();
    }
  }

  /** remove's bookkeeping. Precondition: mu is held. */
  removeLocked(s: Shm): void {
    this.ids.remove(s.perm.id, s.perm.key, s);
    this.uncountPages(s.pages);
    const locker = s.lockedBy;
    if (locker !== undefined) {
      this.env.lockedMemory.uncharge(locker, s.segsz);
      s.lockedBy = undefined;
    }
  }

  /**
   * shmctl's IPC_RMID (`set` undefined) and IPC_SET (ipc/shm.c shmctl_down),
   * in one hold of the registry lock as Linux holds the ids rwsem
   * throughout: the lookup (EINVAL), the owner-or-CAP_SYS_ADMIN check
   * (EPERM), then the command. IPC_RMID destroys the segment at once when
   * nothing holds it (shm_destroy, under the same lock) and otherwise only
   * marks it; IPC_SET refuses an invalid uid or gid (EINVAL) and updates
   * the owner, the mode bits and ctime.
   */
  shmctlDown(creds: Credentials, id: number, set: IpcSetArgs | undefined): E.Either<SysError, void> {
    this.mu.lock();
    try {
      const s = this.ids.findId(id);
      if (s === undefined) return E.left(sysError('EINVAL', `no segment has id ${id}`));
      s.mu.lock();
      const allowed = mayControl(creds, s.perm);
      s.mu.unlock();
      if (!allowed) return E.left(sysError('EPERM', 'only the owner, the creator or CAP_SYS_ADMIN may do this'));
      if (set === undefined) {
        s.removeIdLocked();
        return CONTROL_DONE;
      }
      const uid = set.uid >>> 0;
      const gid = set.gid >>> 0;
      if (uid === INVALID_ID || gid === INVALID_ID) return E.left(sysError('EINVAL', 'uid and gid must be valid ids (not -1)'));
      const now = this.env.now();
      s.mu.lock();
      s.perm.uid = uid;
      s.perm.gid = gid;
      s.perm.mode = (s.perm.mode & ~0o777) | (set.mode & 0o777);
      s.ctime = now;
      s.mu.unlock();
      return CONTROL_DONE;
    } finally {
      this.mu.unlock();
    }
  }

  /** Checkpoint: every segment in index order, without taking references (a checkpoint changes nothing). */
  segmentsForCheckpoint(): Shm[] {
    return this.mu.with(() => this.ids.objects());
  }

  /** Checkpoint: the cyclic id allocator's position. */
  idAllocatorState(): IdAllocatorState {
    return this.mu.with(() => this.ids.allocatorState());
  }

  /**
   * Checkpoint restore: a segment rebuilt at exactly `init.perm.id` (its key
   * associated unless IPC_PRIVATE) and counted in shm_tot. The caller
   * restores its counts and pages.
   */
  restoreSegment(init: ShmInit): Shm {
    return this.mu.with(() => {
      const s = new Shm(this, this.env.memoryFile, init);
      this.ids.restoreEntry(s, init.perm.id, init.perm.key);
      this.countPages(s.pages);
      return s;
    });
  }

  /** Checkpoint restore: the id allocator's position. */
  restoreIdAllocator(state: IdAllocatorState): void {
    this.mu.with(() => this.ids.restoreAllocator(state));
  }

  /** ns->shm_tot as SHM_INFO reports it. Precondition: mu is held. */
  private totalPages(): bigint {
    return BigInt(this.smallPages) + this.largePages;
  }

  /** Adds a segment's pages to shm_tot. Precondition: mu is held. */
  private countPages(pages: number): void {
    if (pages <= SMALL_SEGMENT_PAGES) this.smallPages += pages;
    else this.largePages += BigInt(pages);
  }

  /** Takes a segment's pages out of shm_tot (they were added by countPages). Precondition: mu is held. */
  private uncountPages(pages: number): void {
    if (pages <= SMALL_SEGMENT_PAGES) this.smallPages -= pages;
    else this.largePages -= BigInt(pages);
  }

  /** Precondition: mu and s.mu are held. */
  private lookupChecks(s: Shm, creds: Credentials, size: U64Arg, flags: number): E.Either<SysError, number> {
    if ((flags & IPC_CREAT) !== 0 && (flags & IPC_EXCL) !== 0) {
      return E.left(sysError('EEXIST', `key ${s.perm.key} exists and IPC_CREAT|IPC_EXCL was given`));
    }
    if (s.smallerThan(size)) {
      return E.left(sysError('EINVAL', `size ${size} is larger than the existing segment's ${s.segsz} bytes`));
    }
    if (!ipcPermits(creds, s.perm, flags)) {
      return E.left(sysError('EACCES', `mode 0${(s.perm.mode & 0o777).toString(8)} does not grant the requested 0${(flags & 0o777).toString(8)}`));
    }
    return E.right(s.perm.id);
  }

  /**
   * newseg. A size below 2^53 that is not SHM_HUGETLB takes the number path;
   * the rest (sizes whose page count wraps, the huge page rules) take the
   * bigint path. Both check in the same order. Precondition: mu is held.
   */
  private createLocked(creds: Credentials, pid: number, creator: object, key: number, size: U64Arg, flags: number): E.Either<SysError, number> {
    if (typeof size === 'bigint' || (flags & SHM_HUGETLB) !== 0) {
      return this.createWideLocked(creds, pid, creator, key, BigInt(size), flags);
    }
    const limits = this.limits;
    if (size < 1 || size > limits.shmmaxAsNumber) {
      return E.left(sysError('EINVAL', `size ${size} is outside ${SHMMIN}..kernel.shmmax (${limits.shmmax})`));
    }
    // Below 2^53 the page count cannot wrap, and the size is far below the shmem file size limit.
    const pages = Math.ceil(size / PAGE_SIZE);
    if (this.largePages === 0n ? this.smallPages + pages > limits.shmallAsNumber : this.totalPages() + BigInt(pages) > limits.shmall) {
      return E.left(sysError('ENOSPC', `${pages} more pages would pass kernel.shmall (${limits.shmall}); ${this.totalPages()} in use`));
    }
    if ((flags & SHM_NORESERVE) === 0 && pages > this.commitLimit) {
      return E.left(sysError('ENOMEM', `${pages} pages exceed the overcommit heuristic's ${this.env.commitLimitPages}`));
    }
    return this.enterLocked(creds, pid, creator, key, size, pages * PAGE_SIZE, 0, flags);
  }

  /** newseg for any u64 size and for SHM_HUGETLB, in 64-bit arithmetic. Precondition: mu is held. */
  private createWideLocked(creds: Credentials, pid: number, creator: object, key: number, size: bigint, flags: number): E.Either<SysError, number> {
    const limits = this.limits;
    if (size < SHMMIN || size > limits.shmmax) {
      return E.left(sysError('EINVAL', `size ${size} is outside ${SHMMIN}..kernel.shmmax (${limits.shmmax})`));
    }
    // newseg computes the page count in size_t: within a page of 2^64 it wraps.
    const pagesN = BigInt.asUintN(64, size + PAGE_SIZE_N - 1n) >> PAGE_SHIFT_N;
    if (pagesN << PAGE_SHIFT_N < size) return E.left(sysError('ENOSPC', `the page count of ${size} bytes overflows`));
    if (this.totalPages() + pagesN > limits.shmall) {
      return E.left(sysError('ENOSPC', `${pagesN} more pages would pass kernel.shmall (${limits.shmall}); ${this.totalPages()} in use`));
    }
    let mapBytes: bigint;
    let hugePageBytes = 0;
    if ((flags & SHM_HUGETLB) !== 0) {
      const log = (flags >>> SHM_HUGE_SHIFT) & SHM_HUGE_MASK;
      const hugeLog = log === 0 ? DEFAULT_HUGE_PAGE_LOG : log;
      if (!HUGE_PAGE_LOGS.has(hugeLog)) return E.left(sysError('EINVAL', `no huge page size 2^${log}`));
      // can_do_hugetlb_shm: CAP_IPC_LOCK, or membership of vm.hugetlb_shm_group (gid 0 by default).
      if (!hasCapability(creds, 'CAP_IPC_LOCK') && !inGroup(creds, this.env.hugetlbShmGroup)) {
        return E.left(sysError('EPERM', `SHM_HUGETLB needs CAP_IPC_LOCK or group ${this.env.hugetlbShmGroup} (vm.hugetlb_shm_group)`));
      }
      const huge = 1n << BigInt(hugeLog);
      hugePageBytes = Number(huge);
      mapBytes = ((size + huge - 1n) / huge) * huge;
      // No huge pages are reserved in the model: strict accounting refuses
      // unless SHM_NORESERVE skips the reservation (hugetlb_reserve_pages).
      if ((flags & SHM_NORESERVE) === 0) return E.left(sysError('ENOMEM', 'no huge pages are available'));
    } else {
      if (size > MAX_LFS_FILESIZE) return E.left(sysError('EINVAL', `size ${size} is past the shmem file size limit`));
      if ((flags & SHM_NORESERVE) === 0 && pagesN > this.env.commitLimitPages) {
        return E.left(sysError('ENOMEM', `${pagesN} pages exceed the overcommit heuristic's ${this.env.commitLimitPages}`));
      }
      mapBytes = pagesN << PAGE_SHIFT_N;
    }
    // pagesN < 2^52 here (size < 2^64 did not wrap), so it is exact as a number.
    return this.enterLocked(creds, pid, creator, key, size, Number(mapBytes), hugePageBytes, flags);
  }

  /**
   * newseg's last part, once the size rules passed: the shmmni limit, the
   * segment, its id, and shm_tot. Precondition: mu is held.
   */
  private enterLocked(
    creds: Credentials,
    pid: number,
    creator: object,
    key: number,
    segsz: U64Arg,
    mapBytes: number,
    hugePageBytes: number,
    flags: number,
  ): E.Either<SysError, number> {
    const limits = this.limits;
    if (this.ids.inUse >= Math.min(limits.shmmni, IPCMNI)) {
      return E.left(sysError('ENOSPC', `${this.ids.inUse} segments exist and kernel.shmmni is ${limits.shmmni}`));
    }
    const perm = { key, id: -1, seq: 0, uid: creds.uid, gid: creds.gid, cuid: creds.uid, cgid: creds.gid, mode: flags & 0o777 };
    const s = new Shm(this, this.env.memoryFile, {
      perm,
      segsz,
      mapBytes,
      hugePageBytes,
      cpid: pid,
      creator,
      ctime: this.env.now(),
    });
    // ipc_idr_alloc consumes shm_next_id whether or not an index is then found.
    const nextId = limits.shmNextId;
    limits.shmNextId = -1;
    const id = this.ids.add(s, key, nextId);
    if (id === undefined) return E.left(sysError('ENOSPC', 'no free id index'));
    perm.id = id;
    perm.seq = idSeq(id);
    this.countPages(s.pages);
    return E.right(id);
  }
}
