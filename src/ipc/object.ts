/**
 * What every System V IPC object is to its registry (the kern_ipc_perm
 * embedded in shmid_kernel, sem_array and msg_queue): its perm, its lock,
 * and a reference count that decides when removal's second phase runs.
 *
 * References: one to itself from creation until removal's first phase
 * (Registry.markDestroyed), plus one per holder (a syscall using it, a
 * mapping of a segment). When the last goes the registry frees the id and
 * the mechanism frees the object (Registry.putRef).
 *
 * perm and mu may be the object itself: a semaphore set keeps the
 * kern_ipc_perm fields and its lock word inline (sem/set.ts says why).
 *
 * An interface that each mechanism's object class implements, not a base
 * class: construction of a derived class whose constructor's `name` was
 * redefined (as tsx's keepNames does for every class) never leaves V8's
 * dependency-change bailouts, which made shmget eight times slower.
 */
import type { Lock } from '../sync/mutex.js';
import type { IpcPermState } from './perm.js';

/** An object a Registry holds. */
export interface IpcObject {
  /**
   * Guards perm and the mechanism's mutable fields; ranks after the
   * registry's lock. A Mutex, or the object itself when it embeds its lock
   * word (a semaphore set).
   */
  readonly mu: Lock;
  readonly perm: IpcPermState;
  /**
   * Removal's first phase ran: the key no longer finds the object and its
   * self-reference is gone; the id goes with the last reference.
   */
  pendingDestruction: boolean;
  /** Takes a reference; throws (an invariant broke) when the object was already freed. */
  incRef(): void;
  /**
   * Drops a reference; the mechanism's common case decides inline, and the
   * rest ends in Registry.putRef. Precondition: mu is not held.
   */
  decRef(): void;
  /**
   * Takes one reference off the count; true when it was the last, and the
   * object must then be destroyed. Only Registry.putRef and removal call it.
   * Throws when the count was already zero.
   */
  dropRef(): boolean;
}

/** Throws for a broken reference count: an invariant broke. Out of line (docs/architecture.md, Hot paths). */
export function refcountBug(obj: IpcObject, what: string): never {
  throw new Error(`IPC object ${obj.perm.id}: ${what}`);
}
