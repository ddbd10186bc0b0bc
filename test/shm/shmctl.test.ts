import { describe, expect, it } from 'vitest';
import {
  IPC_CREAT,
  IPC_INFO,
  IPC_PRIVATE,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  Kernel,
  PAGE_SIZE,
  SHM_DEST,
  SHM_INFO,
  SHM_LOCK,
  SHM_LOCKED,
  SHM_NORESERVE,
  SHM_STAT,
  SHM_STAT_ANY,
  SHM_UNLOCK,
} from '../../src/index.js';
import { errno, ok } from '../support/either.js';

function setup() {
  let now = 1000;
  const k = new Kernel({ clock: () => now });
  return { k, root: k.spawn(), nobody: k.spawn({ uid: 65534, gid: 65534 }), tick: (s: number) => (now += s) };
}

describe('shmctl: common checks', () => {
  it('a negative id or command is EINVAL for every command, IPC_INFO too', () => {
    const { root } = setup();
    for (const cmd of [IPC_INFO, SHM_INFO, IPC_STAT, IPC_RMID]) expect(errno(root.shmctl(-1, cmd))).toBe('EINVAL');
    expect(errno(root.shmctl(0, -1))).toBe('EINVAL');
  });

  it('unknown commands are EINVAL, and IPC_64 is not parsed', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 1, 0o600));
    for (const cmd of [4, 5, 6, 7, 8, 9, 10, 16, 99, IPC_STAT | 0x100]) expect(errno(root.shmctl(id, cmd))).toBe('EINVAL');
  });
});

describe('IPC_STAT, SHM_STAT, SHM_STAT_ANY', () => {
  it('IPC_STAT needs read, even for the owner', () => {
    const { k, nobody } = setup();
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const id = ok(owner.shmget(IPC_PRIVATE, 1, 0o200));
    expect(errno(owner.shmctl(id, IPC_STAT))).toBe('EACCES');
    expect(errno(nobody.shmctl(id, IPC_STAT))).toBe('EACCES');
  });

  it('SHM_STAT takes an index (low 15 bits) and returns the full id', () => {
    const { root } = setup();
    for (let i = 0; i < 64; i += 1) ok(root.shmctl(ok(root.shmget(IPC_PRIVATE, 1, 0o600)), IPC_RMID));
    const id = ok(root.shmget(IPC_PRIVATE, 1, 0o600));
    expect(id).toBe(32768);
    expect(ok(root.shmctl(0, SHM_STAT)).ret).toBe(32768);
    expect(ok(root.shmctl(32768 * 5, SHM_STAT)).ret).toBe(32768);
    expect(errno(root.shmctl(1, SHM_STAT))).toBe('EINVAL');
    expect(ok(root.shmctl(0, SHM_STAT)).ds!.perm.seq).toBe(1);
  });

  it('SHM_STAT checks read; SHM_STAT_ANY does not', () => {
    const { root, nobody } = setup();
    ok(root.shmget(IPC_PRIVATE, 1, 0o600));
    expect(errno(nobody.shmctl(0, SHM_STAT))).toBe('EACCES');
    expect(ok(nobody.shmctl(0, SHM_STAT_ANY)).ret).toBe(0);
  });
});

describe('IPC_SET', () => {
  it('needs ownership or CAP_SYS_ADMIN, whatever the mode', () => {
    const { k, root, nobody } = setup();
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const id = ok(owner.shmget(IPC_PRIVATE, 1, 0));
    expect(errno(nobody.shmctl(id, IPC_SET, { uid: 1, gid: 1, mode: 0o600 }))).toBe('EPERM');
    const ipcOwner = k.spawn({ uid: 7, caps: ['CAP_IPC_OWNER'] });
    expect(errno(ipcOwner.shmctl(id, IPC_SET, { uid: 1, gid: 1, mode: 0 }))).toBe('EPERM');
    ok(owner.shmctl(id, IPC_SET, { uid: 1234, gid: 55, mode: 0o640 }));
    // The creator keeps owner rights after giving the segment away.
    ok(owner.shmctl(id, IPC_SET, { uid: 1234, gid: 55, mode: 0o600 }));
    ok(root.shmctl(id, IPC_SET, { uid: 1000, gid: 1000, mode: 0o600 }));
  });

  it('rejects uid or gid -1 with EINVAL after the ownership check', () => {
    const { root, nobody } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 1, 0o600));
    expect(errno(root.shmctl(id, IPC_SET, { uid: -1, gid: 0, mode: 0o600 }))).toBe('EINVAL');
    expect(errno(root.shmctl(id, IPC_SET, { uid: 0, gid: 4294967295, mode: 0o600 }))).toBe('EINVAL');
    expect(errno(nobody.shmctl(id, IPC_SET, { uid: -1, gid: 0, mode: 0o600 }))).toBe('EPERM');
    ok(root.shmctl(id, IPC_SET, { uid: 4000000000, gid: 0, mode: 0o600 }));
    expect(ok(root.shmctl(id, IPC_STAT)).ds!.perm.uid).toBe(4000000000);
  });

  it('replaces the low nine bits only, keeps SHM_DEST and SHM_LOCKED, and sets ctime', () => {
    const { root, tick } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 1, 0o666));
    const a = ok(root.shmat(id, 0, 0));
    ok(root.shmctl(id, SHM_LOCK));
    ok(root.shmctl(id, IPC_RMID));
    expect(ok(root.shmctl(id, IPC_STAT)).ds!.perm.mode).toBe(0o3666);
    tick(5);
    ok(root.shmctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o177777 }));
    const ds = ok(root.shmctl(id, IPC_STAT)).ds!;
    expect(ds.perm.mode).toBe(0o3777);
    expect(ds.ctime).toBe(1005);
    expect(a).toBeGreaterThan(0);
  });
});

describe('IPC_RMID and the removal life cycle', () => {
  it('destroys an unattached segment at once', () => {
    const { root } = setup();
    const id = ok(root.shmget(9, 1, IPC_CREAT | 0o600));
    ok(root.shmctl(id, IPC_RMID));
    expect(errno(root.shmctl(id, IPC_STAT))).toBe('EINVAL');
    expect(errno(root.shmctl(id, IPC_RMID))).toBe('EINVAL');
  });

  it('marks an attached segment: SHM_DEST, key 0, ctime unchanged, id still usable', () => {
    const { root, tick } = setup();
    const id = ok(root.shmget(9, 1, IPC_CREAT | 0o600));
    const a = ok(root.shmat(id, 0, 0));
    tick(10);
    ok(root.shmctl(id, IPC_RMID));
    ok(root.shmctl(id, IPC_RMID));
    const ds = ok(root.shmctl(id, IPC_STAT)).ds!;
    expect(ds.perm.key).toBe(0);
    expect(ds.perm.mode & SHM_DEST).toBe(SHM_DEST);
    expect(ds.ctime).toBe(1000);
    const b = ok(root.shmat(id, 0, 0));
    expect(ok(root.shmctl(id, IPC_STAT)).ds!.nattch).toBe(2);
    expect(ok(root.shmctl(0, SHM_INFO)).shmInfo!.usedIds).toBe(1);
    ok(root.shmdt(a));
    ok(root.shmdt(b));
    expect(errno(root.shmctl(id, IPC_STAT))).toBe('EINVAL');
    expect(ok(root.shmctl(0, SHM_INFO)).shmInfo!.usedIds).toBe(0);
  });

  it('requires ownership or CAP_SYS_ADMIN', () => {
    const { root, nobody } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 1, 0o666));
    expect(errno(nobody.shmctl(id, IPC_RMID))).toBe('EPERM');
  });
});

describe('IPC_INFO and SHM_INFO', () => {
  it('report the limits and the highest index in use', () => {
    const { root, nobody } = setup();
    expect(ok(root.shmctl(0, IPC_INFO))).toEqual({
      ret: 0,
      info: { shmmax: 18446744073692774399n, shmmin: 1n, shmmni: 4096, shmseg: 4096, shmall: 18446744073692774399n },
    });
    ok(root.writeSysctl('shmmni', 100n));
    const ids = [5000, 1, 4097].map((n) => ok(root.shmget(IPC_PRIVATE, n, 0o600)));
    expect(ok(nobody.shmctl(12345, IPC_INFO)).ret).toBe(2);
    expect(ok(nobody.shmctl(0, IPC_INFO)).info!.shmseg).toBe(100);
    const a = ok(root.shmat(ids[2]!, 0, 0));
    ok(root.fill(a, 4097, 1));
    expect(ok(root.shmctl(0, SHM_INFO))).toEqual({
      ret: 2,
      shmInfo: { usedIds: 3, shmTot: 5n, shmRss: 2, shmSwp: 0, swapAttempts: 0, swapSuccesses: 0 },
    });
    ok(root.shmctl(ids[1]!, IPC_RMID));
    ok(root.shmctl(ids[0]!, IPC_RMID));
    expect(ok(root.shmctl(0, SHM_INFO)).ret).toBe(2);
  });

  it('count shm_tot exactly for sizes given as numbers and as bigints, small and huge', () => {
    const { root } = setup();
    const shmTot = (): bigint => ok(root.shmctl(0, SHM_INFO)).shmInfo!.shmTot;
    // Page counts: 1, 2^50 (a bigint size), 2^40 + 1 (a number size), 2^41 (a size of 2^53 passed as a number, beyond the safe range).
    const sizes: Array<number | bigint> = [1, 1n << 62n, 2 ** 52 + 1, 2 ** 53];
    const ids = sizes.map((size) => ok(root.shmget(IPC_PRIVATE, size, SHM_NORESERVE | 0o600)));
    const total = 1n + (1n << 50n) + ((1n << 40n) + 1n) + (1n << 41n);
    expect(shmTot()).toBe(total);
    expect(ok(root.shmctl(ids[2]!, IPC_STAT)).ds!.segsz).toBe(2n ** 52n + 1n);
    // shmall admits exactly the pages left: one more page is ENOSPC, in either representation of the size.
    ok(root.writeSysctl('shmall', total + 2n));
    expect(errno(root.shmget(IPC_PRIVATE, 3 * PAGE_SIZE, 0))).toBe('ENOSPC');
    expect(errno(root.shmget(IPC_PRIVATE, 3n * BigInt(PAGE_SIZE), 0))).toBe('ENOSPC');
    const last = ok(root.shmget(IPC_PRIVATE, 2 * PAGE_SIZE, 0));
    expect(shmTot()).toBe(total + 2n);
    for (const id of [...ids, last]) ok(root.shmctl(id, IPC_RMID));
    expect(shmTot()).toBe(0n);
  });
});

describe('SHM_LOCK and SHM_UNLOCK', () => {
  it('set and clear SHM_LOCKED without touching ctime; relocking is fine', () => {
    const { root, tick } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 1, 0));
    tick(3);
    ok(root.shmctl(id, SHM_LOCK));
    ok(root.shmctl(id, SHM_LOCK));
    let ds = ok(root.shmctl(id, IPC_STAT)).ds!;
    expect(ds.perm.mode).toBe(SHM_LOCKED);
    expect(ds.ctime).toBe(1000);
    ok(root.shmctl(id, SHM_UNLOCK));
    ok(root.shmctl(id, SHM_UNLOCK));
    ds = ok(root.shmctl(id, IPC_STAT)).ds!;
    expect(ds.perm.mode).toBe(0);
  });

  it('without CAP_IPC_LOCK: ownership, then RLIMIT_MEMLOCK > 0, then room under it', () => {
    const { k, root } = setup();
    const user = k.spawn({ uid: 1000, gid: 1000 });
    const admin = k.spawn({ uid: 2000, caps: ['CAP_SYS_ADMIN'] });
    const mine = ok(user.shmget(IPC_PRIVATE, 16 << 20, 0));
    const small = ok(user.shmget(IPC_PRIVATE, 4 << 20, 0));
    const roots = ok(root.shmget(IPC_PRIVATE, 1, 0o666));
    expect(errno(user.shmctl(roots, SHM_LOCK))).toBe('EPERM');
    expect(errno(admin.shmctl(roots, SHM_LOCK))).toBe('EPERM');
    expect(errno(user.shmctl(roots, SHM_UNLOCK))).toBe('EPERM');
    expect(errno(user.shmctl(mine, SHM_LOCK))).toBe('ENOMEM');
    ok(user.shmctl(small, SHM_LOCK));
    expect(k.lockedMemory.pages(1000)).toBe(1024n);
    ok(user.setMemlockLimit(0n));
    expect(errno(user.shmctl(small, SHM_LOCK))).toBe('EPERM');
    ok(user.shmctl(small, SHM_UNLOCK));
    expect(k.lockedMemory.pages(1000)).toBe(0n);
    ok(root.shmctl(mine, SHM_LOCK));
    ok(root.shmctl(mine, IPC_RMID));
    expect(k.lockedMemory.pages(0)).toBe(0n);
    expect(PAGE_SIZE).toBe(4096);
  });
});

describe('shmctl: IPC_STAT snapshots', () => {
  it('hands out one frozen snapshot while nothing changes, and a new one as soon as any field does', () => {
    const { root, tick } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 5000, IPC_CREAT | 0o640));
    const first = ok(root.shmctl(id, IPC_STAT)).ds;
    expect(ok(root.shmctl(id, IPC_STAT)).ds).toBe(first);
    expect(Object.isFrozen(first) && first !== undefined && Object.isFrozen(first.perm)).toBe(true);
    // Every kind of change shows: attach (nattch, atime), IPC_SET (mode, ctime), RMID (SHM_DEST), detach (dtime).
    tick(5);
    const at = ok(root.shmat(id, 0, 0));
    const attached = ok(root.shmctl(id, IPC_STAT)).ds;
    expect([attached?.nattch, attached?.atime]).toEqual([1, 1005]);
    tick(5);
    ok(root.shmctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o600 }));
    const set = ok(root.shmctl(id, IPC_STAT)).ds;
    expect([(set?.perm.mode ?? 0) & 0o777, set?.ctime]).toEqual([0o600, 1010]);
    ok(root.shmctl(id, IPC_RMID));
    expect((ok(root.shmctl(id, IPC_STAT)).ds?.perm.mode ?? 0) & SHM_DEST).toBe(SHM_DEST);
    tick(5);
    const at2 = ok(root.shmat(id, 0, 0));
    ok(root.shmdt(at2));
    expect(ok(root.shmctl(id, IPC_STAT)).ds?.dtime).toBe(1015);
    ok(root.shmdt(at));
    expect(errno(root.shmctl(id, IPC_STAT))).toBe('EINVAL');
    // The snapshots handed out earlier still show what they showed.
    expect([first?.nattch, first?.atime, (first?.perm.mode ?? 0) & 0o777]).toEqual([0, 0, 0o640]);
  });

  it('SHM_STAT returns the id with the same snapshot IPC_STAT shows', () => {
    const { root } = setup();
    const id = ok(root.shmget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const byId = ok(root.shmctl(id, IPC_STAT));
    const byIndex = ok(root.shmctl(id & 0x7fff, SHM_STAT));
    expect(byIndex.ret).toBe(id);
    expect(byIndex.ds).toEqual(byId.ds);
    expect(byId.ret).toBe(0);
  });
});
