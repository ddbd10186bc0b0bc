import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IpcLimits } from '../../src/ipc/limits.js';
import { LockedMemory } from '../../src/auth/ucounts.js';

describe('IpcLimits sysctls', () => {
  it('starts at Linux defaults', () => {
    const l = new IpcLimits();
    expect(l.read('shmmax')).toBe(18446744073692774399n);
    expect(l.read('shmall')).toBe(18446744073692774399n);
    expect(l.read('shmmni')).toBe(4096n);
    expect(l.read('shm_rmid_forced')).toBe(0n);
    expect(l.read('shm_next_id')).toBe(-1n);
  });

  it('enforces each handler range and leaves the value alone on EINVAL', () => {
    const l = new IpcLimits();
    const errno = (r: E.Either<{ errno: string }, void>) => (E.isLeft(r) ? r.left.errno : 'ok');
    expect(errno(l.write('shmmni', 32768n))).toBe('ok');
    expect(errno(l.write('shmmni', 32769n))).toBe('EINVAL');
    expect(errno(l.write('shmmni', -1n))).toBe('EINVAL');
    expect(l.shmmni).toBe(32768);
    expect(errno(l.write('shm_rmid_forced', 2n))).toBe('EINVAL');
    expect(errno(l.write('shm_next_id', -1n))).toBe('EINVAL');
    expect(errno(l.write('shm_next_id', 2147483647n))).toBe('ok');
    expect(errno(l.write('shm_next_id', 2147483648n))).toBe('EINVAL');
    expect(errno(l.write('shmmax', 0n))).toBe('ok');
    expect(errno(l.write('shmall', -5n))).toBe('EINVAL');
    expect(errno(l.write('shmall', 18446744073709551616n))).toBe('EINVAL');
  });
});

describe('LockedMemory', () => {
  it('charges pages against the soft limit unless CAP_IPC_LOCK', () => {
    const m = new LockedMemory();
    const limit = 8n << 20n;
    expect(m.charge(1000, 4n << 20n, limit, false)).toBe(true);
    expect(m.charge(1000, (4n << 20n) + 1n, limit, false)).toBe(false);
    expect(m.pages(1000)).toBe(1024n);
    expect(m.charge(1000, 16n << 20n, limit, true)).toBe(true);
    m.uncharge(1000, 16n << 20n);
    m.uncharge(1000, 4n << 20n);
    expect(m.pages(1000)).toBe(0n);
    expect(() => m.uncharge(1000, 1n)).toThrow(/underflow/);
  });
});

describe('IpcLimits number mirrors', () => {
  it('follow shmmax and shmall however they are set: sysctl, assignment, or a restore’s Object.assign', () => {
    const l = new IpcLimits();
    expect([l.shmmaxAsNumber, l.shmallAsNumber]).toEqual([Infinity, Infinity]);
    expect(E.isRight(l.write('shmmax', 8192n))).toBe(true);
    l.shmall = 3n;
    expect([l.shmmaxAsNumber, l.shmallAsNumber]).toEqual([8192, 3]);
    Object.assign(l, { shmmax: 2n ** 53n - 1n, shmall: 2n ** 53n });
    expect([l.shmmax, l.shmmaxAsNumber, l.shmall, l.shmallAsNumber]).toEqual([2n ** 53n - 1n, 2 ** 53 - 1, 2n ** 53n, Infinity]);
    expect(l.read('shmmax')).toBe(2n ** 53n - 1n);
  });
});
