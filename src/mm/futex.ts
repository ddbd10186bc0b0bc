/**
 * FUTEX_WAIT and FUTEX_WAKE on a frame word.
 *
 * Linux keys a shared futex by (object, offset): shm pages never move while
 * the segment lives, so in this model the frame word behind a page is that
 * key, and every thread and process mapping the segment, at whatever
 * address, waits on and wakes the same word. The wait queue is the
 * JavaScript engine's own, which checks the value and sleeps atomically with
 * respect to Atomics.notify, exactly the guarantee futex(2) gives.
 *
 * A waiter is not tied to the frame's lifetime: if the segment dies while
 * someone waits, the waiter sleeps until its timeout or a wake of whatever
 * reuses the word (a spurious wakeup, which futex(2) allows).
 */
import * as E from 'fp-ts/lib/Either.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';

/**
 * FUTEX_WAIT: sleeps while words[index] === expected, for at most
 * `timeoutMs` (forever when undefined). Right(0) when woken (or woken
 * spuriously), EAGAIN when the value already differs, ETIMEDOUT on timeout.
 */
export function futexWaitOn(words: Int32Array, index: number, expected: number, timeoutMs: number | undefined): E.Either<SysError, 0> {
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) return E.left(sysError('EINVAL', `futex timeout ${timeoutMs} ms is not a non-negative time`));
  let outcome: 'ok' | 'not-equal' | 'timed-out';
  try {
    outcome = Atomics.wait(words, index, expected | 0, timeoutMs ?? Infinity);
  } catch {
    // A browser's main thread may not block, and non-shared memory cannot be waited on.
    return E.left(sysError('EOPNOTSUPP', 'this thread cannot block in FUTEX_WAIT (no shared memory, or a thread that may not wait)'));
  }
  if (outcome === 'not-equal') return E.left(sysError('EAGAIN', 'the futex word does not hold the expected value'));
  if (outcome === 'timed-out') return E.left(sysError('ETIMEDOUT', `no FUTEX_WAKE within ${timeoutMs ?? 0} ms`));
  return E.right(0);
}

/** FUTEX_WAKE: wakes up to `count` waiters on words[index]; returns how many woke. */
export function futexWakeOn(words: Int32Array, index: number, count: number): E.Either<SysError, number> {
  if (!Number.isInteger(count) || count < 0) return E.left(sysError('EINVAL', `futex wake count ${count} is not a non-negative integer`));
  try {
    return E.right(Atomics.notify(words, index, count));
  } catch {
    return E.left(sysError('EOPNOTSUPP', 'FUTEX_WAKE needs shared memory'));
  }
}
