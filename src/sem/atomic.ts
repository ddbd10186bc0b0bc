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
import { SEMAEM, SEMVMX, SEM_UNDO } from '../abi/sem.js';
import type { SemSet } from './set.js';
import type { SemWaiter } from './waiter.js';

/** perform_atomic_semop's answers: done, must sleep, or an error. */
export const SEMOP_OK = 0;
export const SEMOP_BLOCK = 1;
export const SEMOP_EAGAIN = -11;
export const SEMOP_ERANGE = -34;

/** One of SEMOP_OK, SEMOP_BLOCK, SEMOP_EAGAIN, SEMOP_ERANGE. */
export type AtomicResult = typeof SEMOP_OK | typeof SEMOP_BLOCK | typeof SEMOP_EAGAIN | typeof SEMOP_ERANGE;

/** perform_atomic_semop: the fast path, or the slow one for an array with duplicates. Precondition: set.mu is held. */
export function performAtomicSemop(set: SemSet, q: SemWaiter): AtomicResult {
  if (q.dupsop) return performAtomicSemopSlow(set, q);
  const sops = q.sops;
  const semval = set.semval;
  const adj = q.undo?.semadj;
  for (let i = 0; i < sops.length; i += 1) {
    const sop = sops[i]!;
    const cur = semval[sop.semNum]!;
    if (sop.semOp === 0 ? cur !== 0 : cur + sop.semOp < 0) return wouldBlock(q, i);
    if (cur + sop.semOp > SEMVMX) return SEMOP_ERANGE;
    if ((sop.semFlg & SEM_UNDO) !== 0) {
      const undo = adj![sop.semNum]! - sop.semOp;
      if (undo < -SEMAEM - 1 || undo > SEMAEM) return SEMOP_ERANGE;
    }
  }
  for (const sop of sops) {
    if ((sop.semFlg & SEM_UNDO) !== 0) adj![sop.semNum] = adj![sop.semNum]! - sop.semOp;
    semval[sop.semNum] = semval[sop.semNum]! + sop.semOp;
    set.sempid[sop.semNum] = q.pid;
  }
  return SEMOP_OK;
}

/** perform_atomic_semop_slow: each sop applies in turn; a block or ERANGE undoes the ones applied. */
function performAtomicSemopSlow(set: SemSet, q: SemWaiter): AtomicResult {
  const sops = q.sops;
  const semval = set.semval;
  const adj = q.undo?.semadj;
  let result: AtomicResult = SEMOP_OK;
  let i = 0;
  for (; i < sops.length; i += 1) {
    const sop = sops[i]!;
    const cur = semval[sop.semNum]!;
    const next = cur + sop.semOp;
    if ((sop.semOp === 0 && cur !== 0) || next < 0) {
      result = wouldBlock(q, i);
      break;
    }
    if (next > SEMVMX) {
      result = SEMOP_ERANGE;
      break;
    }
    if ((sop.semFlg & SEM_UNDO) !== 0) {
      const undo = adj![sop.semNum]! - sop.semOp;
      if (undo < -SEMAEM - 1 || undo > SEMAEM) {
        result = SEMOP_ERANGE;
        break;
      }
      adj![sop.semNum] = undo;
    }
    semval[sop.semNum] = next;
  }
  if (result === SEMOP_OK) {
    for (let j = sops.length - 1; j >= 0; j -= 1) set.sempid[sops[j]!.semNum] = q.pid;
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
function wouldBlock(q: SemWaiter, i: number): AtomicResult {
  q.blocking = i;
  return (q.sops[i]!.semFlg & IPC_NOWAIT) !== 0 ? SEMOP_EAGAIN : SEMOP_BLOCK;
}
