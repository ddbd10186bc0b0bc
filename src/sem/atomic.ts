/**
 * perform_atomic_semop and perform_atomic_semop_slow (ipc/sem.c): try a
 * whole operation array on a set. Either every sop applies (values, the
 * SEM_UNDO adjustments, sempid of each sop's semaphore) or none does.
 *
 * The first sop, in array order, that cannot go on decides: a wait-for-zero
 * on a non-zero value or a decrement below zero blocks (EAGAIN when that
 * sop has IPC_NOWAIT), and a value past SEMVMX or an adjustment outside
 * [-SEMAEM - 1, SEMAEM] is ERANGE. Without duplicates every sop is judged
 * on the values before the call; with them (dupsop) the sops apply one by
 * one, each seeing the ones before, and roll back.
 */
import { IPC_NOWAIT } from '../abi/constants.js';
import type { Sembuf } from '../abi/sem.js';
import { SEMAEM, SEMVMX, SEM_UNDO } from '../abi/sem.js';
import type { SemSet } from './set.js';
import type { SemUndo } from './undo.js';
import type { SemWaiter } from './waiter.js';

/** perform_atomic_semop's answers: done, must sleep, or an error. */
export const SEMOP_OK = 0;
export const SEMOP_BLOCK = 1;
export const SEMOP_EAGAIN = -11;
export const SEMOP_ERANGE = -34;

/** One of SEMOP_OK, SEMOP_BLOCK, SEMOP_EAGAIN, SEMOP_ERANGE. */
export type AtomicResult = typeof SEMOP_OK | typeof SEMOP_BLOCK | typeof SEMOP_EAGAIN | typeof SEMOP_ERANGE;

/**
 * The sop that decided the last SEMOP_BLOCK or SEMOP_EAGAIN of atomicSemop
 * (q->blocking). Read it right after the call; the kernel runs on one thread.
 */
export let blockedSop = 0;

/** perform_atomic_semop: the fast path, or the slow one for an array with duplicates. Precondition: set.mu is held. */
export function performAtomicSemop(set: SemSet, q: SemWaiter): AtomicResult {
  const r = atomicSemop(set, q.sops, q.undo, q.pid, q.dupsop);
  if (r === SEMOP_BLOCK || r === SEMOP_EAGAIN) q.blocking = blockedSop;
  return r;
}

/**
 * perform_atomic_semop on an operation array that has no waiter yet (a
 * semop's first try): the same answers, with the deciding sop of a block
 * in blockedSop. Precondition: set.mu is held.
 */
export function atomicSemop(set: SemSet, sops: readonly Sembuf[], undo: SemUndo | undefined, pid: number, dupsop: boolean): AtomicResult {
  if (dupsop) return performAtomicSemopSlow(set, sops, undo, pid);
  const semval = set.semval;
  const adj = undo?.semadj;
  for (let i = 0; i < sops.length; i += 1) {
    const sop = sops[i]!;
    const cur = semval[sop.semNum]!;
    if (sop.semOp === 0 ? cur !== 0 : cur + sop.semOp < 0) return wouldBlock(sops, i);
    if (cur + sop.semOp > SEMVMX) return SEMOP_ERANGE;
    if ((sop.semFlg & SEM_UNDO) !== 0) {
      const next = adj![sop.semNum]! - sop.semOp;
      if (next < -SEMAEM - 1 || next > SEMAEM) return SEMOP_ERANGE;
    }
  }
  for (let i = 0; i < sops.length; i += 1) {
    const sop = sops[i]!;
    if ((sop.semFlg & SEM_UNDO) !== 0) adj![sop.semNum] = adj![sop.semNum]! - sop.semOp;
    semval[sop.semNum] = semval[sop.semNum]! + sop.semOp;
    set.sempid[sop.semNum] = pid;
  }
  return SEMOP_OK;
}

/** perform_atomic_semop_slow: each sop applies in turn; a block or ERANGE undoes the ones applied. */
function performAtomicSemopSlow(set: SemSet, sops: readonly Sembuf[], undo: SemUndo | undefined, pid: number): AtomicResult {
  const semval = set.semval;
  const adj = undo?.semadj;
  let result: AtomicResult = SEMOP_OK;
  let i = 0;
  for (; i < sops.length; i += 1) {
    const sop = sops[i]!;
    const cur = semval[sop.semNum]!;
    const next = cur + sop.semOp;
    if ((sop.semOp === 0 && cur !== 0) || next < 0) {
      result = wouldBlock(sops, i);
      break;
    }
    if (next > SEMVMX) {
      result = SEMOP_ERANGE;
      break;
    }
    if ((sop.semFlg & SEM_UNDO) !== 0) {
      const adjusted = adj![sop.semNum]! - sop.semOp;
      if (adjusted < -SEMAEM - 1 || adjusted > SEMAEM) {
        result = SEMOP_ERANGE;
        break;
      }
      adj![sop.semNum] = adjusted;
    }
    semval[sop.semNum] = next;
  }
  if (result === SEMOP_OK) {
    for (let j = sops.length - 1; j >= 0; j -= 1) set.sempid[sops[j]!.semNum] = pid;
    return SEMOP_OK;
  }
  for (let j = i - 1; j >= 0; j -= 1) {
    const sop = sops[j]!;
    semval[sop.semNum] = semval[sop.semNum]! - sop.semOp;
    if ((sop.semFlg & SEM_UNDO) !== 0) adj![sop.semNum] = adj![sop.semNum]! + sop.semOp;
  }
  return result;
}

/** The would_block label: sop i blocks; EAGAIN when it has IPC_NOWAIT. */
function wouldBlock(sops: readonly Sembuf[], i: number): AtomicResult {
  blockedSop = i;
  return (sops[i]!.semFlg & IPC_NOWAIT) !== 0 ? SEMOP_EAGAIN : SEMOP_BLOCK;
}
