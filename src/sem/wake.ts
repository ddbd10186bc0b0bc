/**
 * Who a change wakes, and in what order (ipc/sem.c do_smart_update,
 * do_smart_wakeup_zero, wake_const_ops, update_queue, check_restart,
 * count_semcnt). The waker performs each sleeping operation that can now
 * proceed, in queue order, and queues its completion; the callbacks run
 * after the set is unlocked, in that order (wakeUp).
 *
 * do_smart_update(sops, otime), run after a successful altering semop
 * (sops = its array, otime set), and after SETVAL, SETALL (no sops, otime
 * clear) and exit_sem (no sops, otime set):
 *   1. do_smart_wakeup_zero: for each sop in array order (each semaphore
 *      0..nsems-1 without sops) whose semaphore is now 0, that semaphore's
 *      wait-for-zero queue, FIFO, completing every entry that now succeeds;
 *      then, if any of those semaphores was 0, the global wait-for-zero
 *      queue, FIFO.
 *   2. If the global altering queue is not empty: update_queue over it,
 *      FIFO. Otherwise update_queue over the altering queue of each
 *      semaphore with sem_op > 0, in sop order (every semaphore 0..nsems-1
 *      without sops); a semaphore's scan stops once its value is 0.
 *      update_queue, for each entry: perform it; if it must still sleep,
 *      go on; if it failed (EAGAIN from an IPC_NOWAIT sop, ERANGE), unlink
 *      it and complete it with that error; if it succeeded, unlink it, run
 *      step 1 for its own sops (their zero waiters complete before it
 *      does), complete it, and restart from the head when the global
 *      altering queue is not empty or it was complex (check_restart).
 *   3. When anything completed, or otime was asked for, sem_otime of the
 *      first sop's semaphore (semaphore 0 without sops) becomes now.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { Sembuf } from '../abi/sem.js';
import { SEMOP_BLOCK, SEMOP_EAGAIN, SEMOP_OK, performAtomicSemop } from './atomic.js';
import type { AtomicResult } from './atomic.js';
import type { SemSet } from './set.js';
import type { SemWaiter, WakeQueue } from './waiter.js';
import { SEMOP_DONE } from './waiter.js';

/** A re-evaluated waiter's error as its semop returns it. */
function failure(r: AtomicResult): E.Either<SysError, never> {
  return r === SEMOP_EAGAIN
    ? E.left(sysError('EAGAIN', 'a queued semop was re-evaluated and blocked on a sop with IPC_NOWAIT'))
    : E.left(sysError('ERANGE', 'a queued semop was re-evaluated and would pass SEMVMX or the semadj range'));
}

/** wake_up_sem_queue_prepare: completion after unlocking, in this order. */
function prepare(w: SemWaiter, result: E.Either<SysError, number>, wq: WakeQueue): void {
  w.prepare(result);
  wq.push(w);
}

/** wake_const_ops: the wait-for-zero queue of semaphore `semnum` (-1: the global one). True when one completed. Precondition: mu is held. */
export function wakeConstOps(set: SemSet, semnum: number, wq: WakeQueue): boolean {
  const list = semnum < 0 ? set.globalConst : set.pendingConst[semnum];
  if (list === undefined) return false;
  let completed = false;
  for (let i = 0; i < list.length; ) {
    const q = list[i]!;
    const r = performAtomicSemop(set, q);
    if (r === SEMOP_BLOCK) {
      i += 1;
      continue;
    }
    set.unlink(q);
    prepare(q, r === SEMOP_OK ? SEMOP_DONE : failure(r), wq);
    if (r === SEMOP_OK) completed = true;
  }
  return completed;
}

/** do_smart_wakeup_zero: zero waiters of the semaphores `sops` touched (all without sops) that are now 0. Precondition: mu is held. */
export function doSmartWakeupZero(set: SemSet, sops: readonly Sembuf[] | undefined, wq: WakeQueue): boolean {
  let completed = false;
  let gotZero = false;
  if (sops !== undefined) {
    for (const sop of sops) {
      if (set.semval[sop.semNum] === 0) {
        gotZero = true;
        if (wakeConstOps(set, sop.semNum, wq)) completed = true;
      }
    }
  } else {
    for (let i = 0; i < set.nsems; i += 1) {
      if (set.semval[i] === 0) {
        gotZero = true;
        if (wakeConstOps(set, i, wq)) completed = true;
      }
    }
  }
  if (gotZero && wakeConstOps(set, -1, wq)) completed = true;
  return completed;
}

/** check_restart: after a sleeping operation completed, must update_queue scan again from the head? */
function checkRestart(set: SemSet, q: SemWaiter): boolean {
  return set.globalAlter.length !== 0 || q.sops.length > 1;
}

/** update_queue: the altering queue of semaphore `semnum` (-1: the global one). True when one completed. Precondition: mu is held. */
export function updateQueue(set: SemSet, semnum: number, wq: WakeQueue): boolean {
  const list = semnum < 0 ? set.globalAlter : set.pendingAlter[semnum];
  if (list === undefined) return false;
  let completed = false;
  for (let i = 0; i < list.length; ) {
    // A single semaphore at 0 can satisfy none of its (decrementing) waiters.
    if (semnum >= 0 && set.semval[semnum] === 0) break;
    const q = list[i]!;
    const r = performAtomicSemop(set, q);
    if (r === SEMOP_BLOCK) {
      i += 1;
      continue;
    }
    set.unlink(q);
    let restart = false;
    if (r === SEMOP_OK) {
      completed = true;
      doSmartWakeupZero(set, q.sops, wq);
      restart = checkRestart(set, q);
    }
    prepare(q, r === SEMOP_OK ? SEMOP_DONE : failure(r), wq);
    if (restart) i = 0;
  }
  return completed;
}

/** set_semotime: sem_otime of the first sop's semaphore, or of semaphore 0. Precondition: mu is held. */
export function setSemotime(set: SemSet, sops: readonly Sembuf[] | undefined, now: number): void {
  set.semOtime[sops === undefined ? 0 : sops[0]!.semNum] = now;
}

/** do_smart_update (see the file comment). `now` was read before the change. Precondition: mu is held. */
export function doSmartUpdate(set: SemSet, sops: readonly Sembuf[] | undefined, otime: boolean, wq: WakeQueue, now: number): void {
  if (sops !== undefined && nobodyToWake(set, sops)) {
    // Every queue the scans below would walk is empty: only sem_otime can change.
    if (otime) setSemotime(set, sops, now);
    return;
  }
  let touched = doSmartWakeupZero(set, sops, wq) || otime;
  if (set.globalAlter.length !== 0) {
    if (updateQueue(set, -1, wq)) touched = true;
  } else if (sops === undefined) {
    for (let i = 0; i < set.nsems; i += 1) if (updateQueue(set, i, wq)) touched = true;
  } else {
    for (const sop of sops) if (sop.semOp > 0 && updateQueue(set, sop.semNum, wq)) touched = true;
  }
  if (touched) setSemotime(set, sops, now);
}

/** Whether the global queues and the queues of every semaphore `sops` name are empty. Precondition: mu is held. */
function nobodyToWake(set: SemSet, sops: readonly Sembuf[]): boolean {
  if (set.globalAlter.length !== 0 || set.globalConst.length !== 0) return false;
  for (let i = 0; i < sops.length; i += 1) if (!ownQueuesEmpty(set, sops[i]!.semNum)) return false;
  return true;
}

/** nobodyToWake for one semaphore `num` (semopUncontended's test). Precondition: none (read on the kernel thread). */
export function nobodyWaitsOn(set: SemSet, num: number): boolean {
  return set.globalAlter.length === 0 && set.globalConst.length === 0 && ownQueuesEmpty(set, num);
}

/** Whether semaphore `num`'s own queues (pendingAlter, pendingConst) are empty. */
function ownQueuesEmpty(set: SemSet, num: number): boolean {
  const a = set.pendingAlter[num];
  const c = set.pendingConst[num];
  return (a === undefined || a.length === 0) && (c === undefined || c.length === 0);
}

/**
 * count_semcnt, for GETNCNT (countZero false) and GETZCNT: every waiter on
 * the semaphore's own queue, plus each global waiter whose blocking sop
 * (the first that could not proceed) is on this semaphore and decrements
 * (GETNCNT) or waits for zero (GETZCNT). Precondition: mu is held.
 */
export function countSemcnt(set: SemSet, semnum: number, countZero: boolean): number {
  const own = countZero ? set.pendingConst[semnum] : set.pendingAlter[semnum];
  let n = own?.length ?? 0;
  const check = (q: SemWaiter): void => {
    const sop = q.sops[q.blocking]!;
    if (sop.semNum !== semnum) return;
    if (countZero ? sop.semOp === 0 : sop.semOp < 0) n += 1;
  };
  for (const q of set.globalAlter) check(q);
  if (countZero) for (const q of set.globalConst) check(q);
  return n;
}

/**
 * freeary's wake-ups: every waiter completes with EIDRM, the global
 * wait-for-zero queue first, then the global altering queue, then for each
 * semaphore 0..nsems-1 its wait-for-zero queue and its altering queue;
 * every sempid is cleared. Precondition: mu is held.
 */
export function wakeAllRemoved(set: SemSet, wq: WakeQueue): void {
  const removed = E.left(sysError('EIDRM', 'the semaphore set was removed while the semop waited'));
  const drain = (list: SemWaiter[] | undefined): void => {
    if (list === undefined) return;
    while (list.length > 0) {
      const q = list[0]!;
      set.unlink(q);
      prepare(q, removed, wq);
    }
  };
  drain(set.globalConst);
  drain(set.globalAlter);
  for (let i = 0; i < set.nsems; i += 1) {
    drain(set.pendingConst[i]);
    drain(set.pendingAlter[i]);
    set.sempid[i] = 0;
  }
}
