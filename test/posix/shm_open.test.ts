/**
 * shm_open and shm_unlink as glibc does them, over the /dev/shm tmpfs of
 * the caller's mount namespace: the name rules (checked against glibc 2.36
 * on Linux 6.18 while writing this, and glibc's newer ENAMETOOLONG), the
 * flags glibc adds, the errnos it rewrites, and the object being a plain
 * shared file (the open POSIX test suite's shm_open and shm_unlink cases).
 */
import { describe, expect, it } from 'vitest';
import { FD_CLOEXEC, F_GETFD, MAP_SHARED, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, PAGE_SIZE, PROT_READ, PROT_WRITE, S_IFREG } from '../../src/index.js';
import { errno, ok } from '../support/either.js';
import { bytes, smallKernel, withDevShm } from './helpers.js';

describe('names', () => {
  it('leading slashes are dropped: "/a", "//a" and "a" are one object at /dev/shm/a', () => {
    const { p } = withDevShm();
    const fd = ok(p.shmOpen('/a', O_RDWR | O_CREAT, 0o644));
    ok(p.pwrite(fd, bytes(7), 0));
    for (const name of ['//a', 'a']) expect([...ok(p.pread(ok(p.shmOpen(name, O_RDWR, 0)), 1, 0))]).toEqual([7]);
    expect(ok(p.stat('/dev/shm/a')).ino).toBe(ok(p.fstat(fd)).ino);
  });

  it.each(['', '/', '//', 'a/b', '/a/b'])('%j is EINVAL in shm_open and ENOENT in shm_unlink', (name) => {
    const { p } = withDevShm();
    expect(errno(p.shmOpen(name, O_RDWR | O_CREAT, 0o600))).toBe('EINVAL');
    expect(errno(p.shmUnlink(name))).toBe('ENOENT');
  });

  it('names up to NAME_MAX bytes work; longer is ENAMETOOLONG in shm_open, ENOENT in shm_unlink', () => {
    const { p } = withDevShm();
    expect(errno(p.shmOpen(`/${'b'.repeat(255)}`, O_RDWR | O_CREAT, 0o600))).toBe('ok');
    // 256..259 bytes pass glibc and fail in the kernel's lookup; 260 and up fail in glibc.
    for (const n of [256, 259, 260, 300]) expect(errno(p.shmOpen(`/${'b'.repeat(n)}`, O_RDWR | O_CREAT, 0o600))).toBe('ENAMETOOLONG');
    expect(errno(p.shmUnlink('d'.repeat(300)))).toBe('ENOENT');
    ok(p.shmUnlink('b'.repeat(255)));
  });

  it('a long name with a slash is EINVAL: the slash is looked at first', () => {
    const { p } = withDevShm();
    expect(errno(p.shmOpen(`${'c'.repeat(20)}/${'c'.repeat(279)}`, O_RDWR | O_CREAT, 0o600))).toBe('EINVAL');
  });

  it('"." and ".." pass glibc and name the directory: EINVAL (from EISDIR) to write or create, a descriptor to read', () => {
    const { p } = withDevShm();
    expect(errno(p.shmOpen('.', O_RDWR | O_CREAT, 0o600))).toBe('EINVAL');
    expect(errno(p.shmOpen('..', O_RDWR | O_CREAT, 0o600))).toBe('EINVAL');
    expect(errno(p.shmOpen('..', O_RDWR, 0))).toBe('EINVAL');
    expect(errno(p.shmOpen('.', O_RDONLY, 0))).toBe('ok');
    expect(errno(p.shmUnlink('.'))).toBe('EISDIR');
    expect(errno(p.shmUnlink('..'))).toBe('EISDIR');
  });

  it('a directory under /dev/shm: EINVAL to create over it, EISDIR to unlink it', () => {
    const { p } = withDevShm();
    ok(p.mkdir('/dev/shm/dir', 0o777));
    expect(errno(p.shmOpen('dir', O_RDWR | O_CREAT, 0))).toBe('EINVAL');
    expect(errno(p.shmUnlink('dir'))).toBe('EISDIR');
  });
});

describe('opening', () => {
  it('sets FD_CLOEXEC and returns the lowest free descriptor', () => {
    const { p } = withDevShm();
    const a = ok(p.shmOpen('a', O_RDWR | O_CREAT, 0o600));
    const b = ok(p.shmOpen('b', O_RDWR | O_CREAT, 0o600));
    ok(p.close(a));
    expect(ok(p.shmOpen('c', O_RDWR | O_CREAT, 0o600))).toBe(a);
    expect(ok(p.fcntl(b, F_GETFD))).toBe(FD_CLOEXEC);
  });

  it('O_CREAT makes an empty object owned by the caller with the given mode', () => {
    const { kernel } = withDevShm();
    const p = kernel.spawn({ uid: 1000, gid: 1001 });
    const fd = ok(p.shmOpen('o', O_RDWR | O_CREAT, 0o640));
    expect(ok(p.fstat(fd))).toMatchObject({ mode: S_IFREG | 0o640, uid: 1000, gid: 1001, size: 0, nlink: 1 });
  });

  it('missing without O_CREAT is ENOENT; O_CREAT | O_EXCL on an existing one is EEXIST', () => {
    const { p } = withDevShm();
    expect(errno(p.shmOpen('m', O_RDWR, 0))).toBe('ENOENT');
    ok(p.shmOpen('m', O_RDWR | O_CREAT | O_EXCL, 0o600));
    expect(errno(p.shmOpen('m', O_RDWR | O_CREAT | O_EXCL, 0o600))).toBe('EEXIST');
  });

  it('O_RDONLY cannot ftruncate (EINVAL) nor map writably (EACCES), even with mode 0666', () => {
    const { p } = withDevShm();
    ok(p.shmOpen('r', O_RDWR | O_CREAT, 0o666));
    const ro = ok(p.shmOpen('r', O_RDONLY, 0));
    expect(errno(p.ftruncate(ro, 10))).toBe('EINVAL');
    expect(errno(p.mmap(ro, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED))).toBe('EACCES');
  });

  it('the creator may read and write and map a mode-0 object through the descriptor it created', () => {
    const { kernel } = withDevShm();
    const p = kernel.spawn({ uid: 1000, gid: 1000 });
    const fd = ok(p.shmOpen('z', O_RDWR | O_CREAT, 0));
    ok(p.ftruncate(fd, PAGE_SIZE));
    const addr = ok(p.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    ok(p.write(addr, bytes(4)));
    expect([...ok(p.pread(fd, 1, 0))]).toEqual([4]);
    expect(errno(p.shmOpen('z', O_RDONLY, 0))).toBe('EACCES');
  });

  it('O_TRUNC empties the object and keeps its mode and owner; without write permission it is EACCES', () => {
    const { kernel, p } = withDevShm();
    const fd = ok(p.shmOpen('t', O_RDWR | O_CREAT, 0o644));
    ok(p.pwrite(fd, bytes(1, 2, 3), 0));
    const other = kernel.spawn({ uid: 1000, gid: 1000 });
    expect(errno(other.shmOpen('t', O_RDONLY | O_TRUNC, 0))).toBe('EACCES');
    ok(p.shmOpen('t', O_RDWR | O_TRUNC, 0));
    expect(ok(p.fstat(fd))).toMatchObject({ size: 0, mode: S_IFREG | 0o644, uid: 0 });
  });

  it('without /dev/shm, shm_open is ENOENT (glibc no longer looks for another tmpfs)', () => {
    const p = smallKernel().spawn();
    expect(errno(p.shmOpen('x', O_RDWR | O_CREAT, 0o600))).toBe('ENOENT');
    expect(errno(p.shmUnlink('x'))).toBe('ENOENT');
  });

  it("the /dev/shm size limit is the objects' limit: a write past it is ENOSPC", () => {
    const { p } = withDevShm();
    const fd = ok(p.shmOpen('big', O_RDWR | O_CREAT, 0o600));
    expect(ok(p.pwrite(fd, new Uint8Array(70 * PAGE_SIZE), 0))).toBe(64 * PAGE_SIZE);
    expect(errno(p.pwrite(fd, bytes(1), 70 * PAGE_SIZE))).toBe('ENOSPC');
  });
});

describe('sharing and unlinking', () => {
  it("two processes map the same object and see each other's stores", () => {
    const { kernel, p } = withDevShm();
    const q = kernel.spawn();
    const fa = ok(p.shmOpen('/shared', O_RDWR | O_CREAT, 0o600));
    ok(p.ftruncate(fa, PAGE_SIZE));
    const fb = ok(q.shmOpen('/shared', O_RDWR, 0));
    const a = ok(p.mmap(fa, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    const b = ok(q.mmap(fb, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    ok(p.write(a + 100, bytes(1, 2)));
    expect([...ok(q.read(b + 100, 2))]).toEqual([1, 2]);
    ok(q.write(b, bytes(9)));
    expect([...ok(p.read(a, 1))]).toEqual([9]);
  });

  it('another mount namespace with its own /dev/shm has other objects', () => {
    const { kernel, p } = withDevShm();
    ok(p.shmOpen('only-here', O_RDWR | O_CREAT, 0o600));
    ok(p.mkdir('/other', 0o755));
    ok(p.mkdir('/other/dev', 0o755));
    ok(p.mkdir('/other/dev/shm', 0o755));
    const ns = ok(kernel.newMountNamespace(ok(p.mountNamespace.resolve(p.creds, '/other'))));
    const q = kernel.spawn({ mountNamespace: ns });
    ok(q.mountTmpfs(ok(kernel.newTmpfs({})), '/dev/shm'));
    expect(errno(q.shmOpen('only-here', O_RDWR, 0))).toBe('ENOENT');
  });

  it('shm_unlink removes the name at once; the contents live while a descriptor or a mapping holds them', () => {
    const { p } = withDevShm();
    const fd = ok(p.shmOpen('u', O_RDWR | O_CREAT, 0o600));
    ok(p.ftruncate(fd, PAGE_SIZE));
    const addr = ok(p.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    ok(p.write(addr, bytes(3)));
    ok(p.shmUnlink('u'));
    expect(errno(p.shmOpen('u', O_RDWR, 0))).toBe('ENOENT');
    expect(errno(p.shmUnlink('u'))).toBe('ENOENT');
    ok(p.close(fd));
    expect([...ok(p.read(addr, 1))]).toEqual([3]);
    // O_CREAT after the unlink makes a new, empty object.
    const again = ok(p.shmOpen('u', O_RDWR | O_CREAT, 0o600));
    expect(ok(p.fstat(again)).size).toBe(0);
  });

  it('another user cannot unlink the object in the sticky /dev/shm: EPERM becomes EACCES, and the object stays', () => {
    const { kernel, p } = withDevShm();
    ok(p.shmOpen('mine', O_RDWR | O_CREAT, 0o666));
    const other = kernel.spawn({ uid: 1000, gid: 1000 });
    expect(errno(other.unlink('/dev/shm/mine'))).toBe('EPERM');
    expect(errno(other.shmUnlink('mine'))).toBe('EACCES');
    expect(errno(p.shmOpen('mine', O_RDWR, 0))).toBe('ok');
  });
});
