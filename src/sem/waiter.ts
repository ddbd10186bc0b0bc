/**
 * A semop that has to sleep, as data (Linux struct sem_queue). The
 * mechanism cannot block: semop returns the waiter, queued on its set, and
 * the kernel layer parks the calling task on it. A later operation that
 * lets it proceed performs it on the waiter's behalf (update_queue,
 * wake_const_ops) and completes it; IPC_RMID completes it with EIDRM; the
 * kernel's signal or timer ends it with interrupt() (EINTR) or timeOut()
 * (EAGAIN), which only a waiter still queued obeys: an operation completed
 * first wins, as in __do_semtimedop.
 *
 * Completion runs the callback exactly once, after every lock is released,
 * in the order the waker queued the completions (Linux's wake_q).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import type { Sembuf } from '../abi/sem.js';
import type { SemSet } from './set.js';
import type { SemUndo } from './undo.js';

/** What a semop finally returns: 0, or the error it ended with. */
export type SemResult = E.Either<SysError, number>;

/** Called once when a queued semop ends. */
export type SemCompletion = (result: SemResult) => void;

/** One sleeping semop (struct sem_queue). */
export class SemWaiter {
  /** The list it is queued on (a semaphore's, or the set's global one); undefined once it left it. */
  list: SemWaiter[] | undefined = undefined;
  /** q->blocking: the index of the first sop that could not proceed at the last evaluation. */
  blocking = 0;
  /** The result, once completed. */
  result: SemResult | undefined = undefined;
  private pending: SemResult | undefined = undefined;
  private callback: SemCompletion | undefined;

  constructor(
    readonly set: SemSet,
    readonly sops: readonly Sembuf[],
    /** The caller's sem_undo for the set, when some sop has SEM_UNDO. */
    readonly undo: SemUndo | undefined,
    /** The caller's tgid, stored as sempid when the operation is performed. */
    readonly pid: number,
    /** Some sop has a non-zero sem_op. */
    readonly alter: boolean,
    /** Some sop follows an altering sop on the same semaphore (modulo 64): evaluated one by one. */
    readonly dupsop: boolean,
    complete: SemCompletion | undefined,
  ) {
    this.callback = complete;
  }

  /** Still queued: neither completed nor ended. */
  get queued(): boolean {
    return this.list !== undefined;
  }

  /**
   * Sets the completion callback of a waiter semop returned; a waiter that
   * already completed calls it at once.
   */
  onComplete(complete: SemCompletion): void {
    this.callback = complete;
    if (this.result !== undefined) complete(this.result);
  }

  /** A signal: a queued waiter leaves its queue and completes with EINTR. False when it already completed. */
  interrupt(): boolean {
    return this.set.cancel(this, 'EINTR');
  }

  /** semtimedop's timeout: a queued waiter leaves its queue and completes with EAGAIN. False when it already completed. */
  timeOut(): boolean {
    return this.set.cancel(this, 'EAGAIN');
  }

  /** wake_up_sem_queue_prepare: records the result; `fire` delivers it once locks are released. Precondition: unlinked. */
  prepare(result: SemResult): void {
    this.pending = result;
  }

  /** wake_up_q's part for this waiter: the callback, with the prepared result. */
  fire(): void {
    const result = this.pending;
    if (result === undefined || this.result !== undefined) throw new Error('sem waiter completed twice or never prepared');
    this.result = result;
    this.callback?.(result);
  }
}

/** A list of waiters to complete after unlocking, in order (Linux's wake_q). */
export type WakeQueue = SemWaiter[];

/** wake_up_q: completes every prepared waiter in the order they were queued. Precondition: no sem lock is held. */
export function wakeUp(wq: WakeQueue): void {
  for (const w of wq) w.fire();
}

/** The Right every successful semop returns. */
export const SEMOP_DONE: E.Either<SysError, number> = Object.freeze(E.right(0));
