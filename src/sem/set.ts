/**
 * One System V semaphore set (Linux struct sem_array with its struct sem
 * array): perm, the values and sempids, each semaphore's sem_otime, the
 * pending queues, complex_count, and the undo entries that refer to the
 * set (list_id).
 *
 * Queues, as Linux keeps them:
 *   - pendingAlter[i] / pendingConst[i]: sleeping single-sop operations on
 *     semaphore i that alter it / wait for it to be zero;
 *   - globalAlter / globalConst: sleeping operations of more than one sop
 *     (complex), and, while complexCount > 0, single altering sops too.
 * A list is made on first use; each is FIFO.
 *
 * Lifetime is IpcObject's: a reference to itself until IPC_RMID (or the
 * namespace's end), plus one per syscall using it. freeary runs at the
 * RMID (registry.ts); the id goes with the last reference.
 *
 * Locks: the set's embedded lock (lock() and unlock(); mu is the set
 * itself) guards everything here; it ranks after the registry's lock.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { ErrnoName } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { SemidDs } from '../abi/sem.js';
import type { IpcObject } from '../ipc/object.js';
import { refcountBug } from '../ipc/object.js';
import type { IpcPermState } from '../ipc/perm.js';
import type { EmbeddedLock, Lock } from '../sync/mutex.js';
import { LockRank, lockEmbedded, nameRank, unlockEmbedded } from '../sync/mutex.js';
import type { SemLease } from './lease.js';
import type { SemUndo } from './undo.js';
import type { SemWaiter } from './waiter.js';

const SET_LOCK_NAME = 'sem.SemSet.mu';
nameRank(LockRank.semSetMu, SET_LOCK_NAME);

/** What a set needs from its registry; the registry implements it. */
export interface SemOwner {
  /** Drops a reference; the last removes the id and subtracts the set from used_sems. */
  putRef(set: SemSet): void;
  /** CLOCK_REALTIME seconds. */
  now(): number;
}

/**
 * A System V semaphore set.
 *
 * One object holds the set's perm (it is its own IpcPermState, as
 * sem_array embeds kern_ipc_perm) and its lock word (an embedded lock, not
 * a Mutex), and the fields a lookup, the permission check and GETVAL read
 * come first, so they share the object's first cache lines: a namespace
 * may hold 32,000 sets (the scale-semsets bench row), too many for the
 * caches, and each further object a call touches was one more miss.
 */
export class SemSet implements IpcObject, IpcPermState, Lock, EmbeddedLock {
  /** Whether the set's lock is held (the embedded lock's word; lockEmbedded and unlockEmbedded keep it). */
  locked = false;
  private refs = 1;
  pendingDestruction = false;
  readonly nsems: number;
  /**
   * semval of each semaphore, 0..SEMVMX; LEASED_SEMVAL while the set is
   * lent to worker threads (lease.ts), until lock() recalls the values.
   * These three are plain arrays of numbers, exactly as long as the set
   * (see sized()), not typed arrays: a typed array costs about 200 bytes
   * of heap even for one element.
   */
  readonly semval: number[];
  // kern_ipc_perm, in the order ipcPermits reads it first.
  uid: number;
  readonly cuid: number;
  mode: number;
  /** Complex (nsops > 1) operations queued. */
  complexCount = 0;
  globalAlter: SemWaiter[] = [];
  key: number;
  id: number;
  seq: number;
  gid: number;
  readonly cgid: number;
  /** sempid of each semaphore: the tgid of the last process to change it (0 for none). */
  readonly sempid: number[];
  /** Each semaphore's sem_otime; the set's is their maximum (get_semotime). */
  readonly semOtime: number[];
  /** sem_ctime: creation, IPC_SET, SETVAL, SETALL. */
  ctime: number;
  readonly pendingAlter: (SemWaiter[] | undefined)[];
  readonly pendingConst: (SemWaiter[] | undefined)[];
  readonly globalConst: SemWaiter[] = [];
  /** list_id: every process's undo entry for this set, newest first. */
  readonly undos: SemUndo[] = [];
  readonly owner: SemOwner;
  /**
   * The set's lease to worker threads (lease.ts), kept while the set's
   * permissions stay as they were so that a new grant reuses its buffer;
   * its values are the workers' only while it is live.
   */
  lease: SemLease | undefined = undefined;

  /** `perm`'s fields are copied in; the set keeps no reference to it. */
  constructor(owner: SemOwner, perm: IpcPermState, nsems: number, ctime: number) {
    this.nsems = nsems;
    // A literal for the usual set of one semaphore: each literal is its own
    // allocation site, so each array keeps its own elements kind.
    this.semval = nsems === 1 ? [0] : sized(nsems, 0);
    this.uid = perm.uid;
    this.cuid = perm.cuid;
    this.mode = perm.mode;
    this.key = perm.key;
    this.id = perm.id;
    this.seq = perm.seq;
    this.gid = perm.gid;
    this.cgid = perm.cgid;
    this.sempid = nsems === 1 ? [0] : sized(nsems, 0);
    this.semOtime = nsems === 1 ? [0] : sized(nsems, 0);
    this.ctime = ctime;
    this.pendingAlter = nsems === 1 ? [undefined] : sized<SemWaiter[] | undefined>(nsems, undefined);
    this.pendingConst = nsems === 1 ? [undefined] : sized<SemWaiter[] | undefined>(nsems, undefined);
    this.owner = owner;
  }

  /** The set's kern_ipc_perm: the set itself. */
  get perm(): IpcPermState {
    return this;
  }

  /** The set's lock: the set itself. */
  get mu(): Lock {
    return this;
  }

  /** The lock's name, for LockOrderViolation messages. */
  get name(): string {
    return SET_LOCK_NAME;
  }

  /** The lock's rank: after the registry's. */
  get rank(): number {
    return LockRank.semSetMu;
  }

  /** Takes mu; a live lease is recalled first thing, so whatever holds mu sees the workers' operations. */
  lock(): void {
    lockEmbedded(this);
    if (this.lease !== undefined) this.recallLease();
  }

  /** Takes the values back from a live lease without taking mu (a checkpoint, a sysctl write, the start of a trace). */
  recallLease(): void {
    if (this.lease?.live === true) this.lease.recall(this);
  }

  unlock(): void {
    unlockEmbedded(this);
  }

  isLocked(): boolean {
    return this.locked;
  }

  with<T>(fn: () => T): T {
    this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }

  incRef(): void {
    if (this.refs <= 0) refcountBug(this, 'incRef after destruction');
    this.refs += 1;
  }

  decRef(): void {
    if (this.refs > 1) this.refs -= 1;
    else this.owner.putRef(this);
  }

  dropRef(): boolean {
    if (this.refs <= 0) refcountBug(this, 'decRef below zero');
    this.refs -= 1;
    return this.refs === 0;
  }

  /** Semaphore i's altering queue, made if absent. */
  alterQueue(i: number): SemWaiter[] {
    let q = this.pendingAlter[i];
    if (q === undefined) {
      q = [];
      this.pendingAlter[i] = q;
    }
    return q;
  }

  /** Semaphore i's wait-for-zero queue, made if absent. */
  constQueue(i: number): SemWaiter[] {
    let q = this.pendingConst[i];
    if (q === undefined) {
      q = [];
      this.pendingConst[i] = q;
    }
    return q;
  }

  /** list_add_tail of a waiter onto `list`. Precondition: mu is held. */
  enqueue(w: SemWaiter, list: SemWaiter[]): void {
    list.push(w);
    w.list = list;
  }

  /** unlink_queue: takes a queued waiter off its list; a complex one leaves complex_count. Precondition: mu is held. */
  unlink(w: SemWaiter): void {
    const list = w.list;
    if (list === undefined) throw new Error('sem waiter unlinked twice');
    const i = list.indexOf(w);
    if (i < 0) throw new Error('sem waiter missing from its list');
    list.splice(i, 1);
    w.list = undefined;
    if (w.sops.length > 1) this.complexCount -= 1;
  }

  /**
   * merge_queues, before a complex operation sleeps with none queued: each
   * semaphore's altering queue, from semaphore 0 up, is spliced onto the
   * head of the global one (list_splice_init), so the global list holds the
   * last semaphore's waiters first; each keeps its own FIFO order.
   * Precondition: mu is held.
   */
  mergeQueues(): void {
    const merged: SemWaiter[] = [];
    for (let i = this.nsems - 1; i >= 0; i -= 1) {
      const q = this.pendingAlter[i];
      if (q === undefined) continue;
      for (const w of q) merged.push(w);
      this.pendingAlter[i] = undefined;
    }
    for (const w of this.globalAlter) merged.push(w);
    for (const w of merged) w.list = merged;
    this.globalAlter = merged;
  }

  /**
   * unmerge_queues, as sem_unlock runs it after every hold of the whole
   * set: with no complex operation left, the global altering list goes back
   * to the semaphores' lists, in order, each entry to the list of its
   * sops[0].sem_num. Precondition: mu is held.
   */
  unmergeQueues(): void {
    if (this.complexCount !== 0 || this.globalAlter.length === 0) return;
    const moving = this.globalAlter;
    this.globalAlter = [];
    for (const w of moving) this.enqueue(w, this.alterQueue(w.sops[0]!.semNum));
  }

  /** Releases mu the way sem_unlock does: queues unmerged first. */
  unlockSet(): void {
    this.unmergeQueues();
    this.unlock();
  }

  /**
   * The end of a wait by signal or timeout (the sleeper's unlink_queue in
   * __do_semtimedop): a waiter still queued leaves its list and completes
   * with `errno`; one already completed keeps its result. Nobody else is
   * woken. Takes mu; runs the callback after releasing it.
   */
  cancel(w: SemWaiter, errno: ErrnoName): boolean {
    this.lock();
    try {
      if (!w.queued) return false;
      this.unlink(w);
    } finally {
      this.unlockSet();
    }
    w.prepare(E.left(sysError(errno, errno === 'EINTR' ? 'a signal interrupted the wait in semop' : 'semtimedop timed out')));
    w.fire();
    return true;
  }

  /** get_semotime: the latest sem_otime of any semaphore. Precondition: mu is held. */
  otimeLocked(): number {
    let res = this.semOtime[0] ?? 0;
    for (let i = 1; i < this.nsems; i += 1) {
      const t = this.semOtime[i]!;
      if (t > res) res = t;
    }
    return res;
  }

  /** The semid_ds snapshot. Precondition: mu is held. */
  statLocked(): SemidDs {
    return {
      perm: { key: this.key, uid: this.uid, gid: this.gid, cuid: this.cuid, cgid: this.cgid, mode: this.mode, seq: this.seq },
      otime: this.otimeLocked(),
      ctime: this.ctime,
      nsems: this.nsems,
    };
  }
}

/**
 * `n` copies of `v` in a packed array whose backing store holds exactly
 * `n`: an array grown by push from empty reserves room for 17 (about 150
 * bytes for a set of one semaphore), and new Array(n) would be holey, whose
 * reads test for holes. slice() copies into a store of the exact length.
 */
function sized<T>(n: number, v: T): T[] {
  const a: T[] = [];
  for (let i = 0; i < n; i += 1) a.push(v);
  return a.slice();
}
