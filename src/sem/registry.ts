/**
 * The semaphore registry of one IPC namespace (Linux sem_ids(ns) plus
 * ns->used_sems; gVisor kernel/semaphore.Registry): ipc's generic Registry
 * over SemSet, with what is sem's own: newary's checks, the nsems check on
 * an existing key, used_sems, freeary at IPC_RMID, IPC_INFO and SEM_INFO.
 *
 * Lock order: Registry.mu → SemSet.mu. Registry.mu guards the tables and
 * used_sems.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { Seminfo } from '../abi/sem.js';
import { SEMAEM, SEMMAP, SEMMNU, SEMUME, SEMUSZ, SEMVMX, SEM_INFO } from '../abi/sem.js';
import type { Credentials } from '../auth/credentials.js';
import type { IpcPermState, IpcSetArgs } from '../ipc/perm.js';
import { newPerm, updatePerm, validOwner } from '../ipc/perm.js';
import type { IpcCaller } from '../ipc/registry.js';
import { CONTROL_DONE, Registry as IpcRegistry } from '../ipc/registry.js';
import { LockRank, Mutex } from '../sync/mutex.js';
import type { SemLimits } from './limits.js';
import type { SemOwner } from './set.js';
import { SemSet } from './set.js';
import type { WakeQueue } from './waiter.js';
import { wakeUp } from './waiter.js';
import { wakeAllRemoved } from './wake.js';

/**
 * sem_alloc's refusal (ENOMEM): the set would not fit in INT_MAX bytes. A
 * struct sem is one 64-byte cache line on x86-64, and the sem_array header
 * (kern_ipc_perm, itself cache-line aligned, the lists and counters, padded
 * to the line where sems[] starts) is four lines: 256 bytes. So the largest
 * set is 33554427 semaphores, as Linux 6.18 answers (33554428 is ENOMEM).
 */
export const SEM_ALLOC_MAX = Math.floor((0x7fffffff - 256) / 64);

/** The System V semaphore state of one IPC namespace. */
export class SemRegistry extends IpcRegistry<SemSet, IpcCaller, number> implements SemOwner {
  /** ns->used_sems: semaphores in all sets. */
  private usedSems = 0;
  /** Completions freeary queued under the locks, delivered once they are released. */
  private removedWaiters: WakeQueue = [];

  constructor(
    readonly limits: SemLimits,
    /** CLOCK_REALTIME seconds (sem_ctime, sem_otime). */
    private readonly clock: () => number,
  ) {
    super(new Mutex('sem.Registry.mu', LockRank.semRegistryMu), 'semaphore set');
  }

  now(): number {
    return this.clock();
  }

  /**
   * semget's namespace part (ksys_semget): nsems outside 0..semmsl is
   * EINVAL before any lookup, then ipcget with sem_more_checks and newary.
   * Returns the set's id.
   */
  semget(who: IpcCaller, key: number, nsems: number, flags: number): E.Either<SysError, number> {
    if (!Number.isInteger(nsems) || nsems < 0 || nsems > this.limits.semmsl) {
      return E.left(sysError('EINVAL', `nsems ${nsems} is outside 0..kernel.sem's semmsl (${this.limits.semmsl})`));
    }
    return this.ipcget(who, key, flags | 0, nsems);
  }

  /** sem_more_checks: more semaphores than the existing set has is EINVAL (0 always passes). Precondition: mu and set.mu are held. */
  protected moreChecksLocked(set: SemSet, nsems: number): E.Either<SysError, never> | undefined {
    return nsems > set.nsems ? E.left(sysError('EINVAL', `nsems ${nsems} is larger than the existing set's ${set.nsems}`)) : undefined;
  }

  /**
   * newary, in Linux's order: nsems 0 is EINVAL; used_sems + nsems past
   * semmns is ENOSPC; a set too large to allocate is ENOMEM; then ipc_addid
   * (ENOSPC at semmni). The sum is a C int, so with semmsl raised near
   * INT_MAX it wraps negative and passes the semmns check: such a set then
   * meets sem_alloc's ENOMEM instead. Precondition: mu is held.
   */
  protected newLocked(who: IpcCaller, key: number, flags: number, nsems: number): E.Either<SysError, number> {
    const now = this.clock();
    if (nsems === 0) return E.left(sysError('EINVAL', 'a new semaphore set needs at least one semaphore'));
    if (((this.usedSems + nsems) | 0) > this.limits.semmns) {
      return E.left(sysError('ENOSPC', `${nsems} more semaphores would pass kernel.sem's semmns (${this.limits.semmns}); ${this.usedSems} in use`));
    }
    if (nsems > SEM_ALLOC_MAX) return E.left(sysError('ENOMEM', `a set of ${nsems} semaphores cannot be allocated (sem_alloc)`));
    const set = new SemSet(this, newPerm(who.creds, key, flags), nsems, now);
    const id = this.addIdLocked(set);
    if (E.isRight(id)) this.usedSems += nsems;
    return id;
  }

  protected objectLimit(): number {
    return this.limits.semmni;
  }

  protected takeNextId(): number {
    const next = this.limits.semNextId;
    this.limits.semNextId = -1;
    return next;
  }

  /** semctl_down's IPC_SET: ipc_update_perm (EINVAL for an invalid uid or gid), then sem_ctime. Precondition: mu is held. */
  protected setLocked(set: SemSet, args: IpcSetArgs, _creds: Credentials): E.Either<SysError, void> {
    const now = this.clock();
    set.lock();
    try {
      if (!validOwner(args)) return E.left(sysError('EINVAL', 'uid and gid must be valid ids (not -1)'));
      updatePerm(set, args);
      // Workers hold the old lease's buffer under the old permissions: the next grant makes a new one.
      if (set.lease !== undefined) set.lease.retired = true;
      set.ctime = now;
      return CONTROL_DONE;
    } finally {
      set.unlockSet();
    }
  }

  /**
   * freeary at IPC_RMID (or the namespace's end): every undo entry for the
   * set is invalidated and leaves its process's list, every waiter is
   * completed with EIDRM (order in wake.ts), every sempid is cleared. The
   * completions are delivered by the caller once the locks are released.
   * Precondition: mu and set.mu are held.
   */
  protected markedLocked(set: SemSet): void {
    for (const un of set.undos) {
      un.semid = -1;
      un.ulp.remove(un);
    }
    set.undos.length = 0;
    wakeAllRemoved(set, this.removedWaiters);
    set.unmergeQueues();
  }

  /** The rest of freeary: used_sems. Precondition: mu is held. */
  protected freeLocked(set: SemSet): void {
    this.usedSems -= set.nsems;
  }

  /** Delivers the EIDRM completions of removals. Precondition: no sem lock is held. */
  wakeRemoved(): void {
    const wq = this.removedWaiters;
    if (wq.length === 0) return;
    this.removedWaiters = [];
    wakeUp(wq);
  }

  /** IPC_RMID or IPC_SET (semctl_down), then the removal's wake-ups. */
  semctlDown(creds: Credentials, semid: number, set: IpcSetArgs | undefined): E.Either<SysError, void> {
    const done = this.ctlDown(creds, semid, set);
    this.wakeRemoved();
    return done;
  }

  /** free_ipcs at the namespace's end: every set removed as IPC_RMID removes it, waiters woken with EIDRM. */
  override release(): void {
    super.release();
    this.wakeRemoved();
  }

  /** semctl_info: IPC_INFO's limits or SEM_INFO's usage, and the highest index in use (0 when none). */
  info(cmd: number): { readonly info: Seminfo; readonly maxIndex: number } {
    return this.mu.with(() => {
      const l = this.limits;
      const usage = cmd === SEM_INFO;
      return {
        info: {
          semmap: SEMMAP,
          semmni: l.semmni,
          semmns: l.semmns,
          semmnu: SEMMNU,
          semmsl: l.semmsl,
          semopm: l.semopm,
          semume: SEMUME,
          semusz: usage ? this.ids.inUse : SEMUSZ,
          semvmx: SEMVMX,
          semaem: usage ? this.usedSems : SEMAEM,
        },
        maxIndex: this.maxIndexLocked(),
      };
    });
  }

  /** ns->used_sems. */
  usedSemaphores(): number {
    return this.mu.with(() => this.usedSems);
  }

  /** Takes back every set's lease (lease.ts): the limits changed, or the kernel is being traced. */
  recallLeases(): void {
    for (const set of this.setsForCheckpoint()) set.recallLease();
  }

  /** Every set in index order, each with a reference the caller must drop (/proc/sysvipc/sem). */
  sets(): SemSet[] {
    return this.objects();
  }

  /**
   * Checkpoint: every set in index order, without references.
   * @internal
   */
  setsForCheckpoint(): SemSet[] {
    return this.objectsForCheckpoint();
  }

  /**
   * Checkpoint restore: a set rebuilt at exactly `perm.id` (its key
   * associated unless IPC_PRIVATE), counted in used_sems. The caller
   * restores its values, pids and times.
   * @internal
   */
  restoreSet(perm: IpcPermState, nsems: number, ctime: number): SemSet {
    return this.mu.with(() => {
      const set = new SemSet(this, perm, nsems, ctime);
      this.restoreLocked(set);
      this.usedSems += nsems;
      return set;
    });
  }
}
