import { describe, expect, it } from 'vitest';
import { defaultClock, hostSeconds, setDefaultClock } from '../../src/kernel/clock.js';
import { IPC_CREAT, IPC_PRIVATE, IPC_STAT, Kernel } from '../../src/index.js';
import { ok } from '../support/either.js';

describe("the core's default clock", () => {
  it('is the host clock in whole seconds when no platform edge installed another', () => {
    const k = new Kernel();
    expect(k.clock).toBe(hostSeconds);
    const before = Math.floor(Date.now() / 1000);
    const now = k.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('is what setDefaultClock installed for kernels built afterwards; an injected clock still wins', () => {
    const old = new Kernel();
    const fixed = (): number => 1234;
    setDefaultClock(fixed);
    try {
      const p = new Kernel().spawn();
      const id = ok(p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
      expect(ok(p.shmctl(id, IPC_STAT)).ds?.ctime).toBe(1234);
      expect(old.clock).toBe(hostSeconds);
      expect(new Kernel({ clock: () => 7 }).now()).toBe(7);
    } finally {
      setDefaultClock(hostSeconds);
    }
    expect(defaultClock()).toBe(hostSeconds);
  });
});
