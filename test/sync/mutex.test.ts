import { describe, expect, it } from 'vitest';
import type { EmbeddedLock } from '../../src/sync/mutex.js';
import { LockOrderViolation, LockRank, Mutex, checkEmbeddedOrder, heldLockCount, lockEmbedded, nameRank, unlockEmbedded } from '../../src/sync/mutex.js';

/** An embedded lock as a semaphore set keeps one: a flag in the object, rank and name beside it (the name registered, as set.ts does). */
function embedded(name: string, rank: number): EmbeddedLock {
  nameRank(rank, name);
  return { locked: false, name, rank };
}

describe('Mutex lock order', () => {
  it('allows mm.mappingMu → shm.Registry.mu → shm.Shm.mu', () => {
    const mm = new Mutex('mm.mappingMu', LockRank.mmMappingMu);
    const reg = new Mutex('shm.Registry.mu', LockRank.shmRegistryMu);
    const seg = new Mutex('shm.Shm.mu', LockRank.shmSegmentMu);
    mm.with(() => reg.with(() => seg.with(() => expect(heldLockCount()).toBe(3))));
    expect(heldLockCount()).toBe(0);
  });

  it('throws LockOrderViolation when the order is inverted on purpose', () => {
    const reg = new Mutex('shm.Registry.mu', LockRank.shmRegistryMu);
    const seg = new Mutex('shm.Shm.mu', LockRank.shmSegmentMu);
    expect(() => seg.with(() => reg.lock())).toThrow(LockOrderViolation);
    expect(() => seg.with(() => reg.lock())).toThrow(/taking shm.Registry.mu \(rank 20\) while holding shm.Shm.mu \(rank 30\)/);
    // The failed attempt released everything on the way out.
    expect(heldLockCount()).toBe(0);
    expect(reg.isLocked()).toBe(false);
  });

  it('refuses to take mm.mappingMu under the registry lock', () => {
    const mm = new Mutex('mm.mappingMu', LockRank.mmMappingMu);
    const reg = new Mutex('shm.Registry.mu', LockRank.shmRegistryMu);
    expect(() => reg.with(() => mm.with(() => 0))).toThrow(LockOrderViolation);
  });

  it('reports a relock as a deadlock and an unheld unlock as a bug', () => {
    const m = new Mutex('m', 1);
    m.lock();
    expect(() => m.lock()).toThrow(/would deadlock/);
    m.unlock();
    expect(() => m.unlock()).toThrow(/not held/);
  });

  it('releases a lock held below the innermost one and keeps the order of the rest', () => {
    const a = new Mutex('a', 1);
    const b = new Mutex('b', 2);
    const c = new Mutex('c', 3);
    a.lock();
    b.lock();
    a.unlock();
    expect(heldLockCount()).toBe(1);
    expect(a.isLocked()).toBe(false);
    // b is now the innermost lock: rank 1 is refused, rank 3 allowed.
    expect(() => a.lock()).toThrow(/taking a \(rank 1\) while holding b \(rank 2\)/);
    c.lock();
    c.unlock();
    b.unlock();
    expect(heldLockCount()).toBe(0);
  });

  it('rejects two locks of the same rank held together', () => {
    const a = new Mutex('shm.Shm.mu#1', LockRank.shmSegmentMu);
    const b = new Mutex('shm.Shm.mu#2', LockRank.shmSegmentMu);
    expect(() => a.with(() => b.lock())).toThrow(LockOrderViolation);
  });

  it('checks an embedded lock against the same order as Mutexes', () => {
    const reg = new Mutex('sem.Registry.mu', LockRank.semRegistryMu);
    const set = embedded('sem.SemSet.mu', LockRank.semSetMu);
    reg.lock();
    lockEmbedded(set);
    expect(set.locked).toBe(true);
    expect(heldLockCount()).toBe(2);
    expect(() => lockEmbedded(set)).toThrow(/sem.SemSet.mu is already held: this would deadlock/);
    const otherNs = new Mutex('sem.Registry.mu', LockRank.semRegistryMu);
    expect(() => otherNs.lock()).toThrow(/taking sem.Registry.mu \(rank 40\) while holding sem.SemSet.mu \(rank 41\)/);
    // Released out of order: the registry lock first, then the set's.
    reg.unlock();
    expect(heldLockCount()).toBe(1);
    unlockEmbedded(set);
    expect(set.locked).toBe(false);
    expect(heldLockCount()).toBe(0);
    expect(() => unlockEmbedded(set)).toThrow(/sem.SemSet.mu unlocked but not held/);
    // Two objects of one rank are never held together.
    const other = embedded('sem.SemSet.mu', LockRank.semSetMu);
    lockEmbedded(set);
    expect(() => lockEmbedded(other)).toThrow(LockOrderViolation);
    unlockEmbedded(set);
    expect(heldLockCount()).toBe(0);
  });

  it('checks the order alone for a section that takes nothing (checkOrder, checkEmbeddedOrder), holding nothing after', () => {
    const reg = new Mutex('msg.MsgRegistry.mu', LockRank.msgRegistryMu);
    const queue = new Mutex('msg.MsgQueue.mu', LockRank.msgQueueMu);
    const set = embedded('sem.SemSet.mu', LockRank.semSetMu);
    // Free, or under an outer lock: allowed, and nothing is taken.
    queue.checkOrder();
    checkEmbeddedOrder(set);
    expect(heldLockCount()).toBe(0);
    expect(queue.isLocked()).toBe(false);
    expect(set.locked).toBe(false);
    reg.with(() => queue.checkOrder());
    expect(heldLockCount()).toBe(0);
    // Held, or under an inner lock: the same LockOrderViolation lock() throws.
    queue.lock();
    expect(() => queue.checkOrder()).toThrow(/msg.MsgQueue.mu is already held: this would deadlock/);
    expect(() => checkEmbeddedOrder(set)).toThrow(/taking sem.SemSet.mu \(rank 41\) while holding msg.MsgQueue.mu \(rank 51\)/);
    queue.unlock();
    lockEmbedded(set);
    expect(() => checkEmbeddedOrder(set)).toThrow(/sem.SemSet.mu is already held/);
    expect(() => new Mutex('sem.Registry.mu', LockRank.semRegistryMu).checkOrder()).toThrow(LockOrderViolation);
    unlockEmbedded(set);
    expect(heldLockCount()).toBe(0);
  });
});
