/**
 * What every System V IPC object is to its registry (the kern_ipc_perm
 * embedded in shmid_kernel, sem_array and msg_queue): its perm, its lock,
 * and a reference count that decides when removal's second phase runs.
 *
 * References: one to itself from creation until removal's first phase
 * (Registry.markDestroyed), plus one per holder (a syscall using it, a
 * mapping of a segment). When the last goes the registry frees the id and
 * the mechanism frees the object (Registry.putRef).
 */
import type { Mutex } from '../sync/mutex.js';
import type { IpcPermState } from './perm.js';

/** An object a Registry holds; each mechanism (shm, later sem and msg) extends it. */
export abstract class IpcObject {
  /** Guards perm and the mechanism's mutable fields; ranks after the registry's lock. */
  readonly mu: Mutex;
  readonly perm: IpcPermState;
  /**
   * Removal's first phase ran: the key no longer finds the object and its
   * self-reference is gone; the id goes with the last reference.
   */
  pendingDestruction = false;
  /** The reference count; a mechanism's decRef may decide its common case on it inline. */
  protected refs = 1;

  constructor(mu: Mutex, perm: IpcPermState) {
    this.mu = mu;
    this.perm = perm;
  }

  /** The object's id. */
  get id(): number {
    return this.perm.id;
  }

  /** Current reference count (for tests and invariants). */
  get refCount(): number {
    return this.refs;
  }

  incRef(): void {
    if (this.refs <= 0) this.refcountBug('incRef after destruction');
    this.refs += 1;
  }

  /** Drops a reference; the mechanism's own, which ends in Registry.putRef when it is not the common case. Precondition: mu is not held. */
  abstract decRef(): void;

  /**
   * Takes one reference off the count; true when it was the last, and the
   * object must then be destroyed (only Registry.putRef and removal call it).
   */
  dropRef(): boolean {
    if (this.refs <= 0) this.refcountBug('decRef below zero');
    this.refs -= 1;
    return this.refs === 0;
  }

  /** Throws for a broken reference count, out of line so that incRef and decRef stay small enough to inline. */
  protected refcountBug(what: string): never {
    throw new Error(`IPC object ${this.perm.id}: ${what}`);
  }
}
