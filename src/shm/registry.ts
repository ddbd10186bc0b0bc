/**
 * The shm registry of one IPC namespace (Linux shm_ids(ns) plus ns->shm_tot;
 * gVisor kernel/shm.Registry): ipc's generic Registry over Shm, with what is
 * shm's own: newseg's size and page rules, the size check on an existing
 * key, shm_tot, the SHM_DEST mark, shm_destroy's freeing, IPC_INFO and
 * SHM_INFO, and the removals kernel.shm_rmid_forced adds.
 *
 * Lock order: mm.mappingMu → Registry.mu → Shm.mu. Registry.mu guards the
 * tables and shm_tot.
 */
import * as E from 'fp-ts/lib/Either.js';
import { MAX_LFS_FILESIZE, PAGE_SHIFT_N, PAGE_SIZE, PAGE_SIZE_N, SHMMIN, SHM_DEST, SHM_HUGETLB, SHM_HUGE_SHIFT, SHM_NORESERVE } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { ShmInfoLimits, ShmInfoUsage } from '../abi/shm.js';
import type { MemoryFile } from '../mm/memory_file.js';
import { hasCapability, inGroup } from '../auth/credentials.js';
import type { IpcLimits } from '../ipc/limits.js';
import { asNumberLimit } from '../ipc/limits.js';
import type { IpcSetArgs } from '../ipc/perm.js';
import { newPerm, updatePerm, validOwner } from '../ipc/perm.js';
import type { IpcCaller } from '../ipc/registry.js';
import { CONTROL_DONE, Registry as IpcRegistry } from '../ipc/registry.js';
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

/** The caller of shmget: its credentials, and what newseg records of the creating process. */
export interface ShmCreator extends IpcCaller {
  /** The caller's thread-group id (shm_cprid). */
  readonly pid: number;
  /** Identifies the caller as the segment's creator (Linux shm_creator) until it exits. */
  readonly creatorToken: object;
}

/** The ceiling of size / PAGE_SIZE for a u64 size, as newseg computes it in size_t; -1 when that wraps (within a page of 2^64). */
function pagesOfU64(size: bigint): number {
  const pages = BigInt.asUintN(64, size + PAGE_SIZE_N - 1n) >> PAGE_SHIFT_N;
  // Below 2^52 when it did not wrap, so exact as a number.
  return pages << PAGE_SHIFT_N < size ? -1 : Number(pages);
}

/** The System V shm state of one IPC namespace. */
export class Registry extends IpcRegistry<Shm, ShmCreator, U64Arg> implements ShmOwner {
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
    super(new Mutex('shm.Registry.mu', LockRank.shmRegistryMu), 'segment');
    this.commitLimit = asNumberLimit(env.commitLimitPages);
  }

  rmidForced(): boolean {
    return this.limits.shmRmidForced;
  }

  /**
   * shmget's namespace part: ipcget (ipc/registry.ts) with shm's size check
   * on an existing key and newseg. Returns the segment's id.
   */
  shmget(who: ShmCreator, key: number, size: U64Arg, flags: number): E.Either<SysError, number> {
    return this.ipcget(who, key, flags, size);
  }

  /** shm_more_checks: a size larger than the existing segment's is EINVAL. Precondition: mu and s.mu are held. */
  protected moreChecksLocked(s: Shm, size: U64Arg): E.Either<SysError, never> | undefined {
    return s.smallerThan(size) ? E.left(sysError('EINVAL', `size ${size} is larger than the existing segment's ${s.segsz} bytes`)) : undefined;
  }

  /**
   * newseg, in Linux's order: the size against SHMMIN..shmmax (EINVAL); the
   * page count's wrap, then shm_tot against shmall (ENOSPC); for SHM_HUGETLB
   * the huge page size (EINVAL), the right to huge pages (EPERM) and their
   * reservation (ENOMEM), otherwise the shmem file size limit (EINVAL) and
   * overcommit (ENOMEM); then ipc_addid (ENOSPC at shmmni). A number size is
   * below 2^53, so its arithmetic stays in numbers; a bigint is any u64, and
   * only the steps a number cannot hold take the bigint. Precondition: mu is
   * held.
   */
  protected newLocked(who: ShmCreator, key: number, flags: number, size: U64Arg): E.Either<SysError, number> {
    const limits = this.limits;
    if (typeof size === 'number' ? size < 1 || size > limits.shmmaxAsNumber : size < SHMMIN || size > limits.shmmax) {
      return E.left(sysError('EINVAL', `size ${size} is outside ${SHMMIN}..kernel.shmmax (${limits.shmmax})`));
    }
    // At most 2^52 - 1 pages once it did not wrap, so the count is a number either way.
    const pages = typeof size === 'number' ? Math.ceil(size / PAGE_SIZE) : pagesOfU64(size);
    if (pages < 0) return E.left(sysError('ENOSPC', `the page count of ${size} bytes overflows`));
    // Without large segments shm_tot is below 2^52, so the sum with pages is exact as a number.
    if (this.largePages === 0n ? this.smallPages + pages > limits.shmallAsNumber : this.totalPages() + BigInt(pages) > limits.shmall) {
      return E.left(sysError('ENOSPC', `${pages} more pages would pass kernel.shmall (${limits.shmall}); ${this.totalPages()} in use`));
    }
    let mapBytes: number;
    let hugePageBytes = 0;
    if ((flags & SHM_HUGETLB) !== 0) {
      const log = (flags >>> SHM_HUGE_SHIFT) & SHM_HUGE_MASK;
      const hugeLog = log === 0 ? DEFAULT_HUGE_PAGE_LOG : log;
      if (!HUGE_PAGE_LOGS.has(hugeLog)) return E.left(sysError('EINVAL', `no huge page size 2^${log}`));
      // can_do_hugetlb_shm: CAP_IPC_LOCK, or membership of vm.hugetlb_shm_group (gid 0 by default).
      if (!hasCapability(who.creds, 'CAP_IPC_LOCK') && !inGroup(who.creds, this.env.hugetlbShmGroup)) {
        return E.left(sysError('EPERM', `SHM_HUGETLB needs CAP_IPC_LOCK or group ${this.env.hugetlbShmGroup} (vm.hugetlb_shm_group)`));
      }
      const huge = 1n << BigInt(hugeLog);
      hugePageBytes = Number(huge);
      mapBytes = Number(((BigInt(size) + huge - 1n) / huge) * huge);
      // No huge pages are reserved in the model: strict accounting refuses
      // unless SHM_NORESERVE skips the reservation (hugetlb_reserve_pages).
      if ((flags & SHM_NORESERVE) === 0) return E.left(sysError('ENOMEM', 'no huge pages are available'));
    } else {
      // A number size is far below the shmem file size limit.
      if (typeof size === 'bigint' && size > MAX_LFS_FILESIZE) return E.left(sysError('EINVAL', `size ${size} is past the shmem file size limit`));
      // commitLimit is exact below 2^53 and Infinity above, and pages is below 2^52.
      if ((flags & SHM_NORESERVE) === 0 && pages > this.commitLimit) {
        return E.left(sysError('ENOMEM', `${pages} pages exceed the overcommit heuristic's ${this.env.commitLimitPages}`));
      }
      // A power-of-two multiple of an integer below 2^53 is exact.
      mapBytes = pages * PAGE_SIZE;
    }
    const s = new Shm(this, this.env.memoryFile, {
      perm: newPerm(who.creds, key, flags),
      segsz: size,
      mapBytes,
      hugePageBytes,
      cpid: who.pid,
      creator: who.creatorToken,
      ctime: this.env.now(),
    });
    const id = this.addIdLocked(s);
    if (E.isRight(id)) this.countPages(s.pages);
    return id;
  }

  protected objectLimit(): number {
    return this.limits.shmmni;
  }

  protected takeNextId(): number {
    const next = this.limits.shmNextId;
    this.limits.shmNextId = -1;
    return next;
  }

  /** shmctl_down's IPC_SET: ipc_update_perm (EINVAL for an invalid uid or gid), then ctime. Precondition: mu is held. */
  protected setLocked(s: Shm, set: IpcSetArgs): E.Either<SysError, void> {
    if (!validOwner(set)) return E.left(sysError('EINVAL', 'uid and gid must be valid ids (not -1)'));
    const now = this.env.now();
    s.mu.lock();
    updatePerm(s.perm, set);
    s.ctime = now;
    s.mu.unlock();
    return CONTROL_DONE;
  }

  /** do_shm_rmid's mark: SHM_DEST shows in the mode. Precondition: mu and s.mu are held. */
  protected markedLocked(s: Shm): void {
    s.perm.mode |= SHM_DEST;
  }

  /** shm_destroy: shm_tot, the SHM_LOCK charge, and the frames. Precondition: mu is held. */
  protected freeLocked(s: Shm): void {
    this.uncountPages(s.pages);
    const locker = s.lockedBy;
    if (locker !== undefined) {
      this.env.lockedMemory.uncharge(locker, s.segsz);
      s.lockedBy = undefined;
    }
    s.releaseFrames();
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
      maxIndex: this.maxIndexLocked(),
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
        maxIndex: this.maxIndexLocked(),
      };
    });
  }

  /** Every segment in index order, each with a reference the caller must drop (/proc/sysvipc/shm). */
  segments(): Shm[] {
    return this.objects();
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
    this.destroyAll(doomed);
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
    this.destroyAll(doomed);
  }

  /** Checkpoint: every segment in index order, without taking references. */
  segmentsForCheckpoint(): Shm[] {
    return this.objectsForCheckpoint();
  }

  /**
   * Checkpoint restore: a segment rebuilt at exactly `init.perm.id` (its key
   * associated unless IPC_PRIVATE) and counted in shm_tot. The caller
   * restores its counts and pages.
   */
  restoreSegment(init: ShmInit): Shm {
    return this.mu.with(() => {
      const s = new Shm(this, this.env.memoryFile, init);
      this.restoreLocked(s);
      this.countPages(s.pages);
      return s;
    });
  }

  /** Removes each segment, dropping the reference its collector took. Precondition: mu is not held. */
  private destroyAll(doomed: readonly Shm[]): void {
    for (const s of doomed) {
      this.markDestroyed(s);
      s.decRef();
    }
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
}
