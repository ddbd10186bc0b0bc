import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_STAT } from '../../src/abi/constants.js';
import { IPC_INFO } from '../../src/abi/constants.js';
import { SEMMSL, SEM_INFO } from '../../src/abi/sem.js';
import { SEM_ALLOC_MAX } from '../../src/sem/registry.js';
import { semctl, semget } from '../../src/sem/syscalls.js';
import { errno, ok } from '../support/either.js';
import { setup } from './support.js';

describe('semget', () => {
  it('creates a set whose IPC_STAT shows nsems, the creator and mode, otime 0 and ctime now (LTP semget01, gVisor SemCtlIpcStat)', () => {
    const t = setup();
    const root = t.task({ uid: 0 });
    const id = ok(semget(root, 42, 10, IPC_CREAT | IPC_EXCL | 0o600));
    const ds = ok(semctl(root, id, 0, IPC_STAT)).ds!;
    expect(ds).toEqual({ perm: { key: 42, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600, seq: 0 }, otime: 0, ctime: 1000, nsems: 10 });
  });

  it('finds an existing key with the same or a smaller nsems, or 0; a larger one is EINVAL (gVisor SemGet)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, 1, 10, IPC_CREAT | 0o600));
    expect(ok(semget(p, 1, 10, 0))).toBe(id);
    expect(ok(semget(p, 1, 9, 0))).toBe(id);
    expect(ok(semget(p, 1, 0, 0))).toBe(id);
    expect(errno(semget(p, 1, 11, 0))).toBe('EINVAL');
  });

  it('checks nsems against 0..semmsl before the key, so it beats EEXIST and ENOENT', () => {
    const t = setup();
    const p = t.task();
    ok(semget(p, 1, 1, IPC_CREAT | 0o600));
    expect(errno(semget(p, 1, SEMMSL + 1, IPC_CREAT | IPC_EXCL))).toBe('EINVAL');
    expect(errno(semget(p, 2, -1, 0))).toBe('EINVAL');
    expect(errno(semget(p, 2, SEMMSL + 1, 0))).toBe('EINVAL');
  });

  it('gives EEXIST before the nsems check and EACCES on an existing key, in that order (LTP semget02)', () => {
    const t = setup();
    const root = t.task();
    const nobody = t.task({ uid: 65534 });
    ok(semget(root, 7, 10, IPC_CREAT | 0));
    expect(errno(semget(nobody, 7, 10, IPC_CREAT | IPC_EXCL | 0o600))).toBe('EEXIST');
    expect(errno(semget(nobody, 7, 11, 0o600))).toBe('EINVAL');
    expect(errno(semget(nobody, 7, 10, 0o600))).toBe('EACCES');
    expect(errno(semget(nobody, 7, 10, 0))).toBe('ok');
  });

  it('is ENOENT for a missing key without IPC_CREAT', () => {
    const t = setup();
    expect(errno(semget(t.task(), 99, 1, 0o600))).toBe('ENOENT');
    expect(errno(semget(t.task(), 99, 1, IPC_EXCL))).toBe('ENOENT');
  });

  it('refuses to create a set of 0 semaphores, private or keyed', () => {
    const t = setup();
    expect(errno(semget(t.task(), IPC_PRIVATE, 0, 0o600))).toBe('EINVAL');
    expect(errno(semget(t.task(), 2, 0, IPC_CREAT))).toBe('EINVAL');
  });

  it('makes distinct private sets whatever IPC_CREAT|IPC_EXCL says', () => {
    const t = setup();
    const p = t.task();
    const a = ok(semget(p, IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL));
    const b = ok(semget(p, IPC_PRIVATE, 1, 0));
    expect(a).not.toBe(b);
  });

  it('is ENOSPC past semmns (counting every set) and past semmni (LTP semget05, gVisor SemGetSystemLimits)', () => {
    const t = setup();
    const p = t.task();
    ok(t.limits.writeSem([10n, 15n, 500n, 3n]));
    ok(semget(p, IPC_PRIVATE, 10, 0));
    expect(errno(semget(p, IPC_PRIVATE, 6, 0))).toBe('ENOSPC');
    ok(semget(p, IPC_PRIVATE, 5, 0));
    expect(ok(semctl(p, 0, 0, SEM_INFO)).info!.semaem).toBe(15);
    ok(t.limits.writeSem([10n, 100n, 500n, 2n]));
    expect(errno(semget(p, IPC_PRIVATE, 1, 0))).toBe('ENOSPC');
  });

  it('adds used_sems and nsems as a C int: a sum past INT_MAX wraps, passes semmns and meets sem_alloc (ENOMEM)', () => {
    const t = setup();
    const p = t.task();
    ok(t.limits.writeSem([2147483647n, 32000n, 32n, 128n]));
    ok(semget(p, IPC_PRIVATE, 9, 0));
    // 9 + 40000 > 32000: ENOSPC; 9 + INT_MAX wraps negative, so semmns lets it through.
    expect(errno(semget(p, IPC_PRIVATE, 40000, 0))).toBe('ENOSPC');
    expect(errno(semget(p, IPC_PRIVATE, 2147483647, 0))).toBe('ENOMEM');
    expect(errno(semget(p, IPC_PRIVATE, 2147483639, 0))).toBe('ENOMEM');
    // 9 + 2147483638 is exactly INT_MAX: no wrap, and it is far above semmns.
    expect(errno(semget(p, IPC_PRIVATE, 2147483638, 0))).toBe('ENOSPC');
    expect(ok(semctl(p, 0, 0, SEM_INFO)).info!.semaem).toBe(9);
  });

  it("refuses a set past sem_alloc's INT_MAX bytes with ENOMEM: 64-byte semaphores after a 256-byte header", () => {
    const t = setup();
    const p = t.task();
    ok(t.limits.writeSem([2147483647n, 2147483647n, 32n, 128n]));
    expect(SEM_ALLOC_MAX).toBe(33554427);
    expect(errno(semget(p, IPC_PRIVATE, 33554428, 0))).toBe('ENOMEM');
    expect(errno(semget(p, IPC_PRIVATE, 40000000, 0))).toBe('ENOMEM');
    expect(ok(semctl(p, 0, 0, SEM_INFO)).info!.semaem).toBe(0);
  });

  it('gives back used_sems at IPC_RMID', () => {
    const t = setup();
    const p = t.task();
    ok(t.limits.writeSem([10n, 10n, 500n, 32000n]));
    const id = ok(semget(p, IPC_PRIVATE, 10, 0));
    expect(errno(semget(p, IPC_PRIVATE, 1, 0))).toBe('ENOSPC');
    ok(semctl(p, id, 0, 0));
    ok(semget(p, IPC_PRIVATE, 10, 0));
  });

  it('uses kernel.sem_next_id once, and the first set of a namespace has id 0', () => {
    const t = setup();
    const p = t.task();
    expect(ok(semget(p, IPC_PRIVATE, 1, 0))).toBe(0);
    ok(t.limits.writeSemNextId(12345n));
    expect(ok(semget(p, IPC_PRIVATE, 1, 0))).toBe(12345);
    expect(t.limits.semNextId).toBe(-1);
  });

  it('takes the creation time from the clock and the mode from the low nine bits', () => {
    const t = setup();
    const p = t.task({ uid: 1000, gid: 50 });
    t.now = 5000;
    const id = ok(semget(p, 3, 2, IPC_CREAT | 0o7640));
    const ds = ok(semctl(p, id, 0, IPC_STAT)).ds!;
    expect(ds.ctime).toBe(5000);
    expect(ds.perm.mode).toBe(0o640);
    expect([ds.perm.uid, ds.perm.gid, ds.perm.cuid, ds.perm.cgid]).toEqual([1000, 50, 1000, 50]);
    expect(ok(semctl(p, 0, 0, IPC_INFO)).ret).toBe(0);
  });
});
