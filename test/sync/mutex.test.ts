import { describe, expect, it } from 'vitest';
import { LockOrderViolation, LockRank, Mutex, heldLockCount } from '../../src/sync/mutex.js';

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

  it('rejects two locks of the same rank held together', () => {
    const a = new Mutex('shm.Shm.mu#1', LockRank.shmSegmentMu);
    const b = new Mutex('shm.Shm.mu#2', LockRank.shmSegmentMu);
    expect(() => a.with(() => b.lock())).toThrow(LockOrderViolation);
  });
});
