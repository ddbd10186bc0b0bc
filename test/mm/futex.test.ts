/**
 * The futex wait queue on one thread: the outcomes a single thread can see.
 * Waits that other threads end are in test/node/worker.test.ts.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { FutexQueue } from '../../src/mm/futex.js';

const errno = (r: E.Either<{ errno: string }, unknown>): string | unknown => (E.isLeft(r) ? r.left.errno : r.right);

function word(value: number): { words: Int32Array; chunk: number; index: number } {
  const words = new Int32Array(new SharedArrayBuffer(64));
  words[3] = value;
  return { words, chunk: 0, index: 3 };
}

describe('FutexQueue', () => {
  it('FUTEX_WAIT is EAGAIN when the word differs and ETIMEDOUT when nothing wakes it', () => {
    const q = FutexQueue.create(4);
    const key = word(7);
    expect(errno(q.wait(0, key, 6, 0))).toBe('EAGAIN');
    expect(errno(q.wait(0, key, 7, 0))).toBe('ETIMEDOUT');
    expect(errno(q.wait(0, key, 7, 2))).toBe('ETIMEDOUT');
    // A wait that timed out is not queued: a wake finds nobody.
    expect(q.wake(key, 1)).toEqual(E.right(0));
  });

  it('checks its arguments', () => {
    const q = FutexQueue.create(2);
    const key = word(0);
    expect(errno(q.wait(0, key, 0, -1))).toBe('EINVAL');
    expect(errno(q.wait(0, key, 0, Number.NaN))).toBe('EINVAL');
    expect(errno(q.wake(key, -1))).toBe('EINVAL');
    expect(errno(q.wake(key, 1.5))).toBe('EINVAL');
    expect(q.wake(key, 0)).toEqual(E.right(0));
  });

  it('needs shared memory to wait', () => {
    const q = FutexQueue.create(2);
    const local = { words: new Int32Array(4), chunk: 0, index: 0 };
    expect(errno(q.wait(0, local, 0, 0))).toBe('EOPNOTSUPP');
  });

  it('is opened by another thread from its buffer', () => {
    const q = FutexQueue.create(3);
    expect(FutexQueue.open(q.buffer).threads).toBe(3);
  });
});
