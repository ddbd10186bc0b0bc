/**
 * memfd_create: the flags and name rules of Linux 6.18 (each checked on a
 * real 6.18 kernel while writing this), the file it makes (mode, links,
 * owner, seals, FD_CLOEXEC, its name in a mapping), and where its pages
 * are charged.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  FD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_GET_SEALS,
  F_SEAL_EXEC,
  F_SEAL_SEAL,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_EXEC,
  MFD_HUGETLB,
  MFD_HUGE_1GB,
  MFD_HUGE_2MB,
  Kernel,
  MFD_NOEXEC_SEAL,
  MemoryCgroup,
  O_LARGEFILE,
  O_RDWR,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  S_IFREG,
} from '../../src/index.js';
import { errno, ok } from '../support/either.js';
import { bytes, smallKernel } from './helpers.js';

describe('memfd_create flags', () => {
  it.each([
    ['0x100', 0x100],
    ['-500', -500],
    ['~MFD_CLOEXEC', ~MFD_CLOEXEC],
    ['~MFD_ALLOW_SEALING', ~MFD_ALLOW_SEALING],
    ['~0', ~0],
    ['0x80000000', 0x80000000],
    ['a huge page size without MFD_HUGETLB', 16 << 26],
    ['MFD_EXEC | MFD_NOEXEC_SEAL', MFD_EXEC | MFD_NOEXEC_SEAL],
  ])('%s is EINVAL', (_, flags) => {
    expect(errno(smallKernel().spawn().memfdCreate('x', flags))).toBe('EINVAL');
  });

  it('MFD_HUGETLB takes the default size or a size the kernel has; another is ENODEV, after the name check', () => {
    const p = smallKernel().spawn();
    expect(ok(p.fstat(ok(p.memfdCreate('x', MFD_HUGETLB)))).blksize).toBe(2 * 1024 * 1024);
    expect(ok(p.fstat(ok(p.memfdCreate('x', MFD_HUGETLB | MFD_HUGE_2MB)))).blksize).toBe(2 * 1024 * 1024);
    expect(ok(p.fstat(ok(p.memfdCreate('x', MFD_HUGETLB | MFD_HUGE_1GB)))).blksize).toBe(2 ** 30);
    expect(errno(p.memfdCreate('x', MFD_HUGETLB | (12 << 26)))).toBe('ENODEV');
    expect(errno(p.memfdCreate('n'.repeat(250), MFD_HUGETLB | (12 << 26)))).toBe('EINVAL');
    expect(p.files.size).toBe(3);
  });

  it('the huge page sizes are the kernel options: without 1 GiB pages, MFD_HUGE_1GB is ENODEV', () => {
    const p = new Kernel({ memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, hugePageSizes: [2 ** 30, 2 ** 21] }).spawn();
    // The first size is the default.
    expect(ok(p.fstat(ok(p.memfdCreate('x', MFD_HUGETLB)))).blksize).toBe(2 ** 30);
    const q = new Kernel({ memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, hugePageSizes: [2 ** 21] }).spawn();
    expect(errno(q.memfdCreate('x', MFD_HUGETLB | MFD_HUGE_1GB))).toBe('ENODEV');
    expect(ok(q.fstat(ok(q.memfdCreate('x', MFD_HUGETLB | MFD_HUGE_2MB)))).blksize).toBe(2 ** 21);
  });

  it.each([
    ['0', 0, F_SEAL_SEAL, 0o777, 0],
    ['MFD_CLOEXEC', MFD_CLOEXEC, F_SEAL_SEAL, 0o777, FD_CLOEXEC],
    ['MFD_ALLOW_SEALING', MFD_ALLOW_SEALING, 0, 0o777, 0],
    ['MFD_EXEC', MFD_EXEC, F_SEAL_SEAL, 0o777, 0],
    ['MFD_NOEXEC_SEAL', MFD_NOEXEC_SEAL, F_SEAL_EXEC, 0o666, 0],
    ['MFD_NOEXEC_SEAL | MFD_ALLOW_SEALING | MFD_CLOEXEC', MFD_NOEXEC_SEAL | MFD_ALLOW_SEALING | MFD_CLOEXEC, F_SEAL_EXEC, 0o666, FD_CLOEXEC],
  ])('%s: seals %i, mode %o, descriptor flags %i', (_, flags, seals, mode, fdFlags) => {
    const p = smallKernel().spawn({ uid: 1000, gid: 1001 });
    const fd = ok(p.memfdCreate('x', flags));
    expect(ok(p.fcntl(fd, F_GET_SEALS))).toBe(seals);
    expect(ok(p.fcntl(fd, F_GETFD))).toBe(fdFlags);
    expect(ok(p.fcntl(fd, F_GETFL))).toBe(O_RDWR | O_LARGEFILE);
    const st = ok(p.fstat(fd));
    expect(st).toMatchObject({ mode: S_IFREG | mode, nlink: 0, size: 0, uid: 1000, gid: 1001 });
  });
});

describe('memfd_create names', () => {
  it('takes 249 bytes and refuses 250 (NAME_MAX less "memfd:"), counting UTF-8 bytes', () => {
    const p = smallKernel().spawn();
    expect(errno(p.memfdCreate('a'.repeat(249), 0))).toBe('ok');
    expect(errno(p.memfdCreate('a'.repeat(250), 0))).toBe('EINVAL');
    // 125 two-byte characters are 250 bytes.
    expect(errno(p.memfdCreate('é'.repeat(125), 0))).toBe('EINVAL');
    expect(errno(p.memfdCreate('é'.repeat(124), 0))).toBe('ok');
  });

  it('an empty name is fine, and a name ends at its first NUL as a C string does', () => {
    const p = smallKernel().spawn();
    expect(errno(p.memfdCreate('', 0))).toBe('ok');
    expect(errno(p.memfdCreate(`short\0${'a'.repeat(300)}`, 0))).toBe('ok');
  });

  it('a name that is not a string is EFAULT, as a bad user pointer', () => {
    const p = smallKernel().spawn();
    expect(errno(p.memfdCreate(null as unknown as string, 0))).toBe('EFAULT');
  });

  it('the mapping shows "/memfd:<name> (deleted)"', () => {
    const p = smallKernel().spawn();
    const fd = ok(p.memfdCreate('buffer', 0));
    ok(p.ftruncate(fd, PAGE_SIZE));
    const addr = ok(p.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED));
    const vma = p.mm.vmas().find((v) => v.start === addr);
    expect(vma?.identity.mappedName()).toBe('/memfd:buffer (deleted)');
  });
});

describe('a memfd is a tmpfs file', () => {
  it('reads back what was written, through the descriptor and through a mapping', () => {
    const p = smallKernel().spawn();
    const fd = ok(p.memfdCreate('x', 0));
    expect(ok(p.pwrite(fd, bytes(1, 2, 3), 10))).toBe(3);
    expect(ok(p.fstat(fd)).size).toBe(13);
    expect([...ok(p.pread(fd, 3, 10))]).toEqual([1, 2, 3]);
    ok(p.ftruncate(fd, PAGE_SIZE));
    const addr = ok(p.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    expect([...ok(p.read(addr + 10, 3))]).toEqual([1, 2, 3]);
    ok(p.write(addr, bytes(9)));
    expect([...ok(p.pread(fd, 1, 0))]).toEqual([9]);
  });

  it('a forked child shares the file through the inherited descriptor, and FD_CLOEXEC is inherited', () => {
    const p = smallKernel().spawn();
    const fd = ok(p.memfdCreate('x', MFD_CLOEXEC));
    const child = ok(p.fork());
    ok(child.pwrite(fd, bytes(7), 0));
    expect([...ok(p.pread(fd, 1, 0))]).toEqual([7]);
    expect(ok(child.fcntl(fd, F_GETFD))).toBe(FD_CLOEXEC);
  });

  it('its pages are charged to the memory cgroup of the writer, and go back at the last close', () => {
    const kernel = smallKernel();
    const cg = new MemoryCgroup('/m', 4n * BigInt(PAGE_SIZE));
    const p = kernel.spawn({ memoryCharge: cg });
    const fd = ok(p.memfdCreate('x', 0));
    expect(ok(p.pwrite(fd, new Uint8Array(3 * PAGE_SIZE), 0))).toBe(3 * PAGE_SIZE);
    expect(cg.usagePages).toBe(3);
    ok(p.close(fd));
    expect(cg.usagePages).toBe(0);
  });

  it('a write past the cgroup limit OOM-kills the writer as for any tmpfs file', () => {
    const kernel = smallKernel();
    const cg = new MemoryCgroup('/m', 2n * BigInt(PAGE_SIZE));
    const p = kernel.spawn({ memoryCharge: cg });
    const fd = ok(p.memfdCreate('x', 0));
    const r = p.pwrite(fd, new Uint8Array(3 * PAGE_SIZE), 0);
    expect(E.isLeft(r) ? r.left.errno : r.right).toBe('ENOMEM');
    expect(p.killedBy).toBe('SIGKILL');
  });

  it('each memfd is its own file, and the internal mount goes with the last one and comes back', () => {
    const p = smallKernel().spawn();
    const a = ok(p.memfdCreate('a', 0));
    const b = ok(p.memfdCreate('a', 0));
    expect(ok(p.fstat(a)).ino).not.toBe(ok(p.fstat(b)).ino);
    expect(ok(p.fstat(a)).dev).toBe(ok(p.fstat(b)).dev);
    ok(p.close(a));
    ok(p.close(b));
    const c = ok(p.memfdCreate('c', 0));
    ok(p.pwrite(c, bytes(1), 0));
    expect([...ok(p.pread(c, 1, 0))]).toEqual([1]);
  });

  it('EMFILE when the descriptor table is full', () => {
    const p = smallKernel().spawn();
    for (let i = 0; i < p.files.limit; i += 1) ok(p.memfdCreate('a', 0));
    expect(errno(p.memfdCreate('b', 0))).toBe('EMFILE');
  });
});
