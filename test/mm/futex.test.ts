/**
 * The futex wait queue on one thread: the outcomes a single thread can see.
 * Waits that other threads end are in test/node/worker.test.ts.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { FutexQueue, addressKey, frameKey } from '../../src/mm/futex.js';
import type { FutexKey } from '../../src/mm/futex.js';

const errno = (r: E.Either<{ errno: string }, unknown>): string | unknown => (E.isLeft(r) ? r.left.errno : r.right);

function word(value: number): FutexKey {
  const words = new Int32Array(new SharedArrayBuffer(64));
  words[3] = value;
  return frameKey(words, 3, 0, 3);
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

  it('halves its poll after each wait that slept, but not below a sixteenth of the cap, so polling can pay again', () => {
    const q = FutexQueue.create(2);
    const key = word(7);
    const budget = (): number => (q as unknown as { spinBudget: number }).spinBudget;
    // Each wait polls, finds no wake, sleeps 1 ms and times out: a wasted poll.
    expect(errno(q.wait(0, key, 7, 1, 20_000))).toBe('ETIMEDOUT');
    expect(budget()).toBe(10_000);
    for (let i = 0; i < 12; i++) q.wait(0, key, 7, 1, 20_000);
    expect(budget()).toBe(1250);
    // A small cap keeps the 64-poll minimum; a zero timeout does not poll at all.
    const small = FutexQueue.create(2);
    for (let i = 0; i < 4; i++) small.wait(0, key, 7, 1, 256);
    expect((small as unknown as { spinBudget: number }).spinBudget).toBe(64);
    expect(errno(q.wait(0, key, 7, 0, 20_000))).toBe('ETIMEDOUT');
    expect(budget()).toBe(1250);
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
    const local = frameKey(new Int32Array(4), 0, 0, 0);
    expect(errno(q.wait(0, local, 0, 0))).toBe('EOPNOTSUPP');
  });

  it('makes frame keys (chunk, index, 0) and address keys (-1 - space, address high, address low)', () => {
    const words = new Int32Array(new SharedArrayBuffer(16));
    const byAddress = addressKey(words, 2, 5, 0x7f12_3456_7008);
    expect([byAddress.wordAt, byAddress.k0, byAddress.k1, byAddress.k2]).toEqual([2, -6, 0x7f12, 0x3456_7008]);
    expect(addressKey(words, 0, 0x8000_0004, 4).k0).toBe(-5);
    expect(addressKey(words, 0, 1, 0xffff_fffc).k2).toBe(-4);
    const byFrame = frameKey(words, 1, 3, 1027);
    expect([byFrame.wordAt, byFrame.k0, byFrame.k1, byFrame.k2]).toEqual([1, 3, 1027, 0]);
  });

  it('wakes only the waiters whose three key words all match', () => {
    const words = new Int32Array(new SharedArrayBuffer(16));
    const addr = 0x7f12_3456_7008;
    const key = addressKey(words, 2, 5, addr);
    const others = [
      addressKey(words, 2, 6, addr),
      addressKey(words, 2, 5, addr + 4),
      addressKey(words, 2, 5, addr + 0x1_0000_0000),
      frameKey(words, 2, 0x7f12, 0x3456_7008),
      frameKey(words, 2, 0, 0),
    ];
    const q = FutexQueue.create(3);
    // One thread cannot wait while it wakes: slot 2's wait is written into the queue as a waiter publishes it (see futex.ts's layout).
    const raw = new Int32Array(q.buffer);
    const slot = 2 + 2 * 5;
    raw.set([4 | 1, key.k0, key.k1, key.k2, 0], slot);
    raw[1] = 3;
    for (const k of others) expect(q.wake(k, 1)).toEqual(E.right(0));
    expect(q.wake(key, 1)).toEqual(E.right(1));
    // Claimed: the state is now woken (kind 2) with the same sequence number.
    expect(raw[slot]).toBe(4 | 2);
    expect(q.wake(key, 1)).toEqual(E.right(0));
  });

  it('is opened by another thread from its buffer', () => {
    const q = FutexQueue.create(3);
    expect(FutexQueue.open(q.buffer).threads).toBe(3);
  });
});
