import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_RMID, IPC_STAT, Kernel, SHM_HUGETLB, SHM_NORESERVE } from '../../src/index.js';
import { errno, ok } from '../support/either.js';

function setup() {
  const k = new Kernel({ clock: () => 1_700_000_000 });
  const root = k.spawn();
  const nobody = k.spawn({ uid: 65534, gid: 65534 });
  return { k, root, nobody };
}

describe('shmget: key lookup path (EEXIST, then size, then permission)', () => {
  it('numbers ids 0, 1, 2 in a fresh namespace', () => {
    const { root } = setup();
    expect([1, 2, 3].map((n) => ok(root.shmget(IPC_PRIVATE, n, 0)))).toEqual([0, 1, 2]);
  });

  it('IPC_CREAT|IPC_EXCL on an existing key is EEXIST before size and permission checks', () => {
    const { root, nobody } = setup();
    ok(root.shmget(42, 100, IPC_CREAT | 0o600));
    expect(errno(root.shmget(42, 0, IPC_CREAT | IPC_EXCL))).toBe('EEXIST');
    expect(errno(root.shmget(42, 1n << 62n, IPC_CREAT | IPC_EXCL))).toBe('EEXIST');
    expect(errno(nobody.shmget(42, 100, IPC_CREAT | IPC_EXCL | 0o600))).toBe('EEXIST');
  });

  it('IPC_EXCL alone is ignored', () => {
    const { root } = setup();
    const id = ok(root.shmget(42, 100, IPC_CREAT | 0o600));
    expect(ok(root.shmget(42, 100, IPC_EXCL))).toBe(id);
  });

  it('compares the size to segsz byte for byte, before permission', () => {
    const { root, nobody } = setup();
    const id = ok(root.shmget(42, 100, IPC_CREAT | 0o600));
    expect(errno(root.shmget(42, 101, 0))).toBe('EINVAL');
    expect(ok(root.shmget(42, 0, 0))).toBe(id);
    expect(ok(root.shmget(42, 100, 0))).toBe(id);
    expect(errno(nobody.shmget(42, 101, 0o600))).toBe('EINVAL');
    expect(errno(nobody.shmget(42, 100, 0o600))).toBe('EACCES');
  });

  it('does not consult shmmax on lookup', () => {
    const { root } = setup();
    const id = ok(root.shmget(42, 16384, IPC_CREAT | 0o600));
    ok(root.writeSysctl('shmmax', 8192n));
    expect(ok(root.shmget(42, 16384, 0))).toBe(id);
  });

  it('checks only the requested bits: none requested means anyone gets the id', () => {
    const { root, nobody } = setup();
    const id = ok(root.shmget(42, 100, IPC_CREAT | 0o600));
    expect(ok(nobody.shmget(42, 0, 0))).toBe(id);
    expect(errno(nobody.shmget(42, 0, IPC_CREAT | 0o666))).toBe('EACCES');
    const open = ok(root.shmget(43, 100, IPC_CREAT | 0o666));
    expect(ok(nobody.shmget(43, 0, 0o666))).toBe(open);
    expect(errno(nobody.shmget(43, 0, 0o100))).toBe('EACCES');
  });

  it('a missing key without IPC_CREAT is ENOENT before any size check', () => {
    const { root } = setup();
    expect(errno(root.shmget(7, 0, 0))).toBe('ENOENT');
    expect(errno(root.shmget(7, 100, IPC_EXCL))).toBe('ENOENT');
    expect(errno(root.shmget(-1, 100, 0))).toBe('ENOENT');
  });

  it('accepts negative keys', () => {
    const { root } = setup();
    const id = ok(root.shmget(-1, 100, IPC_CREAT | 0o600));
    expect(ok(root.shmget(-1, 0, 0))).toBe(id);
  });
});

describe('shmget: creation path', () => {
  it('IPC_PRIVATE always creates and ignores IPC_CREAT/IPC_EXCL', () => {
    const { root } = setup();
    const a = ok(root.shmget(IPC_PRIVATE, 1, 0));
    const b = ok(root.shmget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL));
    expect(a).not.toBe(b);
  });

  it('rejects sizes outside SHMMIN..shmmax with EINVAL, before the shmmni check', () => {
    const { root } = setup();
    expect(errno(root.shmget(IPC_PRIVATE, 0, 0))).toBe('EINVAL');
    expect(errno(root.shmget(IPC_PRIVATE, 0xffffffffffffffffn, 0))).toBe('EINVAL');
    ok(root.writeSysctl('shmmax', 8192n));
    expect(errno(root.shmget(IPC_PRIVATE, 8193, 0))).toBe('EINVAL');
    ok(root.shmget(IPC_PRIVATE, 8192, 0));
    ok(root.writeSysctl('shmmni', 0n));
    expect(errno(root.shmget(IPC_PRIVATE, 0, 0))).toBe('EINVAL');
    expect(errno(root.shmget(IPC_PRIVATE, 1, 0))).toBe('ENOSPC');
    ok(root.writeSysctl('shmmax', 0n));
    expect(errno(root.shmget(IPC_PRIVATE, 1, 0))).toBe('EINVAL');
  });

  it('counts shmall in pages, exact fit allowed', () => {
    const { root } = setup();
    ok(root.writeSysctl('shmall', 3n));
    ok(root.shmget(IPC_PRIVATE, 4097, 0));
    expect(errno(root.shmget(IPC_PRIVATE, 4097, 0))).toBe('ENOSPC');
    ok(root.shmget(IPC_PRIVATE, 4096, 0));
    ok(root.writeSysctl('shmall', 0n));
    expect(errno(root.shmget(IPC_PRIVATE, 1, 0))).toBe('ENOSPC');
  });

  it('SHM_HUGETLB needs CAP_IPC_LOCK; root finds no huge pages', () => {
    const { root, nobody } = setup();
    expect(errno(nobody.shmget(IPC_PRIVATE, 4096, IPC_CREAT | SHM_HUGETLB))).toBe('EPERM');
    expect(errno(root.shmget(IPC_PRIVATE, 4096, IPC_CREAT | SHM_HUGETLB))).toBe('ENOMEM');
    expect(errno(root.shmget(IPC_PRIVATE, 4096, SHM_HUGETLB | (5 << 26)))).toBe('EINVAL');
  });

  it('applies the shmem size limit and the overcommit heuristic', () => {
    const { root } = setup();
    expect(errno(root.shmget(IPC_PRIVATE, 1n << 63n, SHM_NORESERVE))).toBe('EINVAL');
    ok(root.shmget(IPC_PRIVATE, 1n << 62n, SHM_NORESERVE));
    expect(errno(root.shmget(IPC_PRIVATE, 1n << 40n, 0))).toBe('ENOMEM');
    ok(root.shmget(IPC_PRIVATE, 1n << 40n, SHM_NORESERVE));
  });

  it('enforces shmmni, including when in_use is already above a lowered limit', () => {
    const { root } = setup();
    ok(root.writeSysctl('shmmni', 3n));
    for (let i = 0; i < 3; i += 1) ok(root.shmget(IPC_PRIVATE, 1, 0));
    expect(errno(root.shmget(IPC_PRIVATE, 1, 0))).toBe('ENOSPC');
    ok(root.writeSysctl('shmmni', 1n));
    expect(errno(root.shmget(IPC_PRIVATE, 1, 0))).toBe('ENOSPC');
  });

  it('stores only shmflg & 0777 as the mode, exact segsz, and the creator fields', () => {
    const { k } = setup();
    // 07000 carries SHM_HUGETLB (needs CAP_IPC_LOCK) and 0170000 SHM_NORESERVE,
    // which skips the huge page reservation, so creation succeeds.
    const p = k.spawn({ uid: 1000, gid: 100, caps: ['CAP_IPC_LOCK'] });
    const id = ok(p.shmget(99, 4097, 0o777 | IPC_CREAT | IPC_EXCL | 0o7000 | 0o170000));
    const ds = ok(p.shmctl(id, IPC_STAT)).ds!;
    expect(ds.perm).toEqual({ key: 99, uid: 1000, gid: 100, cuid: 1000, cgid: 100, mode: 0o777, seq: 0 });
    expect(ds.segsz).toBe(4097n);
    expect([ds.atime, ds.dtime, ds.lpid, ds.nattch, ds.cpid, ds.ctime]).toEqual([0, 0, 0, 0, p.pid, 1_700_000_000]);
  });

  it('consumes shm_next_id only on success', () => {
    const { root } = setup();
    ok(root.writeSysctl('shm_next_id', 1000n));
    expect(errno(root.shmget(IPC_PRIVATE, 0, 0))).toBe('EINVAL');
    expect(ok(root.shmget(IPC_PRIVATE, 1, 0))).toBe(1000);
    expect(root.ipcNamespace.limits.read('shm_next_id')).toBe(-1n);
    expect(ok(root.shmget(IPC_PRIVATE, 1, 0))).toBe(0);
  });

  it('a removed key no longer resolves, and IPC_CREAT makes a new zero-filled segment', () => {
    const { root } = setup();
    const id = ok(root.shmget(5, 16, IPC_CREAT | 0o600));
    const addr = ok(root.shmat(id, 0, 0));
    ok(root.write(addr, new TextEncoder().encode('hello')));
    ok(root.shmctl(id, IPC_RMID));
    expect(errno(root.shmget(5, 16, 0))).toBe('ENOENT');
    const fresh = ok(root.shmget(5, 16, IPC_CREAT | 0o600));
    expect(fresh).not.toBe(id);
    const addr2 = ok(root.shmat(fresh, 0, 0));
    expect([...ok(root.read(addr2, 5))]).toEqual([0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(ok(root.read(addr, 5)))).toBe('hello');
  });
});
