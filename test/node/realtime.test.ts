import { describe, expect, it } from 'vitest';
// The package root as Node loads it: the tick clock is every Kernel's default.
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, IPC_STAT, Kernel } from '../../src/node/index.js';
import { realtimeSeconds, realtimeSource } from '../../src/node/realtime.js';
import { ok } from '../support/either.js';

const hostSeconds = (): number => Math.floor(Date.now() / 1000);

/** Polls until the tick thread has published a second, or `ms` pass. */
async function tickRunning(ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  realtimeSeconds();
  while (realtimeSource() !== 'tick' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return realtimeSource() === 'tick';
}

describe('the default realtime clock', () => {
  it("is the tick clock once the package's Node entry has loaded", () => {
    expect(new Kernel().clock).toBe(realtimeSeconds);
  });

  it('is kept by a tick thread under Node, and agrees with the host clock', async () => {
    expect(await tickRunning(5000)).toBe(true);
    // The tick trails the host clock by how late its thread wakes, so at a second's
    // start the two may differ by one; they never differ by more.
    for (let i = 0; i < 50; i++) {
      const before = hostSeconds();
      const tick = realtimeSeconds();
      const after = hostSeconds();
      expect(tick).toBeGreaterThanOrEqual(before - 1);
      expect(tick).toBeLessThanOrEqual(after);
      await new Promise((r) => setTimeout(r, 2));
    }
  });

  it('follows the seconds as they pass', async () => {
    expect(await tickRunning(5000)).toBe(true);
    const first = realtimeSeconds();
    // The word moves on within a second and a bit; a loaded machine may wake the thread late, so allow 5 s.
    const deadline = Date.now() + 5000;
    while (realtimeSeconds() === first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const next = realtimeSeconds();
    expect(next).toBeGreaterThan(first);
    expect(next).toBeLessThanOrEqual(hostSeconds());
  });

  it('stamps a new segment with the current second', async () => {
    expect(await tickRunning(5000)).toBe(true);
    const p = new Kernel().spawn();
    const before = hostSeconds();
    const id = ok(p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const after = hostSeconds();
    const ctime = ok(p.shmctl(id, IPC_STAT)).ds?.ctime ?? -1;
    expect(ctime).toBeGreaterThanOrEqual(before - 1);
    expect(ctime).toBeLessThanOrEqual(after);
  });
});

describe('the clock inside a hot loop', () => {
  it('moves on while shmat and shmdt run back to back (the read is never cached)', async () => {
    expect(await tickRunning(5000)).toBe(true);
    const p = new Kernel().spawn();
    const id = ok(p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const atime = (): number => ok(p.shmctl(id, IPC_STAT)).ds?.atime ?? -1;
    ok(p.shmat(id, 0, 0));
    const first = atime();
    const deadline = Date.now() + 4000;
    // Batches of attach+detach long enough for the engine to optimize the loop,
    // with no await, timer or Date.now() inside a batch.
    let last = first;
    while (last === first && Date.now() < deadline) {
      for (let i = 0; i < 20000; i++) {
        const a = p.shmat(id, 0, 0);
        if (a._tag === 'Right') p.shmdt(a.right);
      }
      last = atime();
    }
    expect(last).toBeGreaterThan(first);
    ok(p.shmctl(id, IPC_RMID));
  });
});
