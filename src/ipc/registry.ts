/**
 * The objects of one System V IPC mechanism in one namespace (Linux
 * struct ipc_ids and the functions of ipc/util.c over it; gVisor
 * kernel/ipc.Registry): the key and id tables, the get path (ipcget), the
 * IPC_RMID/IPC_SET prelude (ipcctl_obtain_check), lookups by id and by
 * index, and removal in two phases.
 *
 * A mechanism extends Registry with its object type T, its caller W (what
 * creation records besides the credentials) and its get argument A (shm's
 * size, sem's nsems), and fills in the hooks: its own checks on an existing
 * key, creation, its object limit and next_id, IPC_SET, removal's mark, and
 * freeing. Each registry class is the only one its hooks are called on, so
 * the calls stay monomorphic.
 *
 * Lock order: Registry.mu, then an object's mu. mu guards the tables and
 * whatever the mechanism counts per namespace.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPCMNI, IPC_CREAT, IPC_EXCL, IPC_PRIVATE } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { Credentials } from '../auth/credentials.js';
import type { Mutex } from '../sync/mutex.js';
import type { IdAllocatorState } from './ids.js';
import { IdTable, idSeq } from './ids.js';
import type { IpcObject } from './object.js';
import type { IpcSetArgs } from './perm.js';
import { ipcPermits, mayControl } from './perm.js';

/** The caller of a get: its credentials, plus whatever its mechanism records at creation. */
export interface IpcCaller {
  readonly creds: Credentials;
}

/** ctlDown's answer (and setLocked's on success): one frozen Right serves every call. */
export const CONTROL_DONE: E.Either<SysError, void> = Object.freeze(E.right(undefined));

/** The generic half of one mechanism's registry. */
export abstract class Registry<T extends IpcObject, W extends IpcCaller, A, S extends IpcSetArgs = IpcSetArgs> {
  /** Guards the tables, and the mechanism's per-namespace counts. */
  readonly mu: Mutex;
  protected readonly ids = new IdTable<T>();

  constructor(
    mu: Mutex,
    /** What the mechanism calls an object, for error messages ("segment"). */
    private readonly noun: string,
  ) {
    this.mu = mu;
  }

  // The get path.

  /**
   * ipcget: IPC_PRIVATE always creates. A key that finds an object gives
   * EEXIST under IPC_CREAT|IPC_EXCL, then the mechanism's own checks
   * (moreChecksLocked: shm's size), then EACCES (ipcperms with the whole of
   * `flags`), else the object's id. A key that finds nothing is ENOENT
   * without IPC_CREAT, and creates otherwise. All of it under mu.
   */
  protected ipcget(who: W, key: number, flags: number, arg: A): E.Either<SysError, number> {
    // lock/unlock rather than Mutex.with: shmget's hot path (see docs/architecture.md, "Hot paths").
    this.mu.lock();
    try {
      if (key !== IPC_PRIVATE) {
        const found = this.ids.findKey(key);
        if (found !== undefined) {
          found.mu.lock();
          try {
            return this.checkExistingLocked(found, who.creds, flags, arg);
          } finally {
            found.mu.unlock();
          }
        }
        if ((flags & IPC_CREAT) === 0) return E.left(sysError('ENOENT', `no ${this.noun} has key ${key} and IPC_CREAT is not set`));
      }
      return this.newLocked(who, key, flags, arg);
    } finally {
      this.mu.unlock();
    }
  }

  /** ipcget_public on a key that exists. Precondition: mu and obj.mu are held. */
  private checkExistingLocked(obj: T, creds: Credentials, flags: number, arg: A): E.Either<SysError, number> {
    if ((flags & IPC_CREAT) !== 0 && (flags & IPC_EXCL) !== 0) {
      return E.left(sysError('EEXIST', `key ${obj.perm.key} exists and IPC_CREAT|IPC_EXCL was given`));
    }
    const refused = this.moreChecksLocked(obj, arg);
    if (refused !== undefined) return refused;
    if (!ipcPermits(creds, obj.perm, flags)) {
      return E.left(sysError('EACCES', `mode 0${(obj.perm.mode & 0o777).toString(8)} does not grant the requested 0${(flags & 0o777).toString(8)}`));
    }
    return E.right(obj.perm.id);
  }

  /** ipc_ops.more_checks: the mechanism's refusal of an existing object, or undefined. Precondition: mu and obj.mu are held. */
  protected abstract moreChecksLocked(obj: T, arg: A): E.Either<SysError, never> | undefined;

  /** ipc_ops.getnew: the mechanism's checks, then its object, entered with addIdLocked. Precondition: mu is held. */
  protected abstract newLocked(who: W, key: number, flags: number, arg: A): E.Either<SysError, number>;

  /** The mechanism's object limit (shmmni); ipc_addid caps it at IPCMNI. */
  protected abstract objectLimit(): number;

  /** The namespace's *_next_id (-1 when unset), reset to -1: ipc_idr_alloc consumes it whether or not an index is free. */
  protected abstract takeNextId(): number;

  /**
   * ipc_addid: ENOSPC at the object limit, else an id for `obj` (its key
   * entered unless private), written into its perm. Precondition: mu is held.
   */
  protected addIdLocked(obj: T): E.Either<SysError, number> {
    const limit = Math.min(this.objectLimit(), IPCMNI);
    if (this.ids.inUse >= limit) return E.left(sysError('ENOSPC', `${this.ids.inUse} ${this.noun}s exist and the limit is ${limit}`));
    const id = this.ids.add(obj, obj.perm.key, this.takeNextId());
    if (id === undefined) return E.left(sysError('ENOSPC', 'no free id index'));
    obj.perm.id = id;
    obj.perm.seq = idSeq(id);
    return E.right(id);
  }

  // Lookups.

  /**
   * The object whose id is exactly `id`, with a reference the caller must
   * drop. Without mu, as Linux's ipc_obtain_object_check runs under
   * rcu_read_lock only: every syscall runs on the one kernel thread, so
   * nothing changes the table during it. Lock-free on purpose (see
   * docs/architecture.md, "Hot paths").
   */
  findById(id: number): T | undefined {
    const obj = this.ids.findId(id);
    obj?.incRef();
    return obj;
  }

  /**
   * findById without the reference, for a hot path that neither sleeps nor
   * calls out before it is done with the object, so nothing can remove it
   * meanwhile. Use findById anywhere else.
   */
  peekById(id: number): T | undefined {
    return this.ids.findId(id);
  }

  /**
   * The object in slot `index & 0x7fff` whatever its sequence, with a
   * reference (ipc_obtain_object_idr, for *_STAT and *_STAT_ANY).
   */
  findByIndex(index: number): T | undefined {
    return this.mu.with(() => {
      const obj = this.ids.findIndex(index);
      obj?.incRef();
      return obj;
    });
  }

  /** Every object in index order, each with a reference the caller must drop. */
  objects(): T[] {
    return this.mu.with(() => {
      const all = this.ids.objects();
      for (const obj of all) obj.incRef();
      return all;
    });
  }

  /** ipc_get_maxidx as *_INFO and IPC_INFO return it: the highest index in use, 0 when none. Precondition: mu is held. */
  protected maxIndexLocked(): number {
    return Math.max(this.ids.maxIndex(), 0);
  }

  // IPC_RMID and IPC_SET.

  /**
   * IPC_RMID (`set` undefined) and IPC_SET, in one hold of mu as Linux holds
   * the ids rwsem throughout: the lookup (EINVAL), the owner, creator or
   * CAP_SYS_ADMIN rule (EPERM), then the command: IPC_RMID is
   * removeLocked, IPC_SET the mechanism's setLocked.
   */
  ctlDown(creds: Credentials, id: number, set: S | undefined): E.Either<SysError, void> {
    this.mu.lock();
    try {
      const obj = this.ids.findId(id);
      if (obj === undefined) return E.left(sysError('EINVAL', `no ${this.noun} has id ${id}`));
      obj.mu.lock();
      const allowed = mayControl(creds, obj.perm);
      obj.mu.unlock();
      if (!allowed) return E.left(sysError('EPERM', 'only the owner, the creator or CAP_SYS_ADMIN may do this'));
      if (set === undefined) {
        this.removeLocked(obj);
        return CONTROL_DONE;
      }
      return this.setLocked(obj, set, creds);
    } finally {
      this.mu.unlock();
    }
  }

  /** IPC_SET once ownership is checked: the mechanism's checks, updatePerm, its own fields. Precondition: mu is held, obj.mu is not. */
  protected abstract setLocked(obj: T, set: S, creds: Credentials): E.Either<SysError, void>;

  // Removal: the key goes now, the id with the last reference.

  /**
   * Removal's first phase, for IPC_RMID, a forced removal or the
   * namespace's end: the key stops finding `obj`, the mechanism marks it
   * (shm's SHM_DEST), and its self-reference goes; when that was the last,
   * the second phase runs too. Repeating it is harmless. Takes mu;
   * precondition: obj.mu is not held.
   */
  markDestroyed(obj: T): void {
    this.mu.lock();
    try {
      this.removeLocked(obj);
    } finally {
      this.mu.unlock();
    }
  }

  /** markDestroyed with mu held: IPC_RMID destroys an unheld object at once, under mu, as shm_destroy runs. */
  protected removeLocked(obj: T): void {
    let first: boolean;
    obj.mu.lock();
    try {
      // ipc_set_key_private.
      this.ids.dissociateKey(obj.perm.key, obj);
      obj.perm.key = IPC_PRIVATE;
      first = !obj.pendingDestruction;
      if (first) {
        obj.pendingDestruction = true;
        this.markedLocked(obj);
      }
    } finally {
      obj.mu.unlock();
    }
    if (first && obj.dropRef()) this.destroyLocked(obj);
  }

  /** The mechanism's mark at removal's first phase (shm sets SHM_DEST). Precondition: mu and obj.mu are held. */
  protected abstract markedLocked(obj: T): void;

  /** Drops a reference to `obj`; the last runs removal's second phase (takes mu). Precondition: obj.mu is not held. */
  putRef(obj: T): void {
    if (!obj.dropRef()) return;
    // lock/unlock rather than Mutex.with: IPC_RMID of an unheld object ends here (see docs/architecture.md, "Hot paths").
    this.mu.lock();
    try {
      this.destroyLocked(obj);
    } finally {
      this.mu.unlock();
    }
  }

  /** Removal's second phase: ipc_rmid, then the mechanism frees the object. Precondition: mu is held. */
  private destroyLocked(obj: T): void {
    this.ids.remove(obj.perm.id, obj.perm.key, obj);
    this.freeLocked(obj);
  }

  /** The mechanism's part of the second phase (shm_destroy: shm_tot, the SHM_LOCK charge, the frames). Precondition: mu is held. */
  protected abstract freeLocked(obj: T): void;

  /** free_ipcs: the namespace dies, and every object is removed as IPC_RMID would. */
  release(): void {
    for (const obj of this.objects()) {
      this.markDestroyed(obj);
      obj.decRef();
    }
  }

  // Checkpoint.

  /** Every object in index order, without references (a checkpoint changes nothing). */
  objectsForCheckpoint(): T[] {
    return this.mu.with(() => this.ids.objects());
  }

  /** Where the cyclic id allocator stands. */
  idAllocatorState(): IdAllocatorState {
    return this.mu.with(() => this.ids.allocatorState());
  }

  /** Puts the id allocator where idAllocatorState found it. */
  restoreIdAllocator(state: IdAllocatorState): void {
    this.mu.with(() => this.ids.restoreAllocator(state));
  }

  /** Enters a rebuilt object at exactly its perm's id and key (unless IPC_PRIVATE). Precondition: mu is held; the slot and key are free. */
  protected restoreLocked(obj: T): void {
    this.ids.restoreEntry(obj, obj.perm.id, obj.perm.key);
  }
}
