/**
 * Anonymous and private memory, copy-on-write across fork, and the range
 * calls (msync, mlock, munlock, madvise, mincore), lseek, umask and ftok.
 * Each errno and its order was measured on Linux 6.18 with small C programs.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import {
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_REMOVE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MFD_ALLOW_SEALING,
  F_ADD_SEALS,
  F_SEAL_WRITE,
  MLOCK_ONFAULT,
  MS_ASYNC,
  MS_INVALIDATE,
  MS_SYNC,
  O_CREAT,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
} from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok } from '../support/either.js';
import { bytes, smallKernel, withDevShm } from './helpers.js';

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON_PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS;

/** A memfd of `pages` pages whose byte at the start of each page is its page number + 1. */
function memfd(p: Process, pages: number): number {
  const fd = ok(p.memfdCreate('m', MFD_ALLOW_SEALING));
  ok(p.ftruncate(fd, pages * P));
  for (let i = 0; i < pages; i++) ok(p.pwrite(fd, bytes(i + 1), i * P));
  return fd;
}

const byteAt = (p: Process, addr: number): number => ok(p.read(addr, 1))[0] as number;

describe('mmap argument checks, in do_mmap order', () => {
  it('answers as Linux does', () => {
    const { p } = withDevShm();
    const fd = memfd(p, 2);
    const wo = ok(p.open('/dev/shm/x', O_CREAT | O_WRONLY, 0o666));
    const ro = ok(p.open('/dev/shm/x', O_RDONLY));
    const dir = ok(p.open('/dev/shm', O_RDONLY));
    expect(errno(p.mmap(fd, P, PROT_READ, MAP_SHARED_VALIDATE, 0))).toBe('ok');
    expect(errno(p.mmap(fd, P, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, 0))).toBe('EOPNOTSUPP');
    expect(errno(p.mmap(fd, P, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, 0))).toBe('ok');
    expect(errno(p.mmap(fd, P, PROT_READ, 0, 0))).toBe('EINVAL');
    expect(errno(p.mmap(99, P, PROT_READ, 0, 0))).toBe('EBADF');
    expect(errno(p.mmap(-1, P, PROT_READ, 0, 1))).toBe('EINVAL');
    expect(errno(p.mmap(99, 0, PROT_READ, MAP_SHARED, 0))).toBe('EBADF');
    expect(errno(p.mmap(fd, 0, PROT_READ, MAP_PRIVATE, 0))).toBe('EINVAL');
    expect(errno(p.mmap(wo, P, PROT_READ, MAP_PRIVATE, 0))).toBe('EACCES');
    expect(errno(p.mmap(ro, P, RW, MAP_PRIVATE, 0))).toBe('ok');
    expect(errno(p.mmap(ro, P, RW, MAP_SHARED, 0))).toBe('EACCES');
    expect(errno(p.mmap(wo, P, PROT_READ, MAP_SHARED, 0))).toBe('EACCES');
    expect(errno(p.mmap(dir, P, PROT_READ, MAP_PRIVATE, 0))).toBe('ENODEV');
    expect(errno(p.mmap(dir, P, PROT_READ, 0, 0))).toBe('EINVAL');
    expect(errno(p.mmap(-1, P, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, P))).toBe('ok');
    expect(errno(p.mmap(77, P, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, 0))).toBe('ok');
    expect(errno(p.mmap(-1, P, PROT_READ, MAP_ANONYMOUS, 0))).toBe('EINVAL');
    expect(errno(p.mmap(-1, P, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, 0))).toBe('EINVAL');
    expect(errno(p.mmap(-1, P, PROT_READ, ANON_PRIVATE | MAP_FIXED, 0, 1))).toBe('EINVAL');
    expect(errno(p.mmap(-1, P, PROT_READ, ANON_PRIVATE, 0, 1))).toBe('ok');
    expect(errno(p.mmap(fd, P, PROT_READ, MAP_PRIVATE, -P))).toBe('EOVERFLOW');
    expect(errno(p.mmap(fd, P, PROT_READ, MAP_SHARED, 0x7ffffffffffff000n))).toBe('EOVERFLOW');
    // Unknown prot and flag bits are ignored outside MAP_SHARED_VALIDATE.
    expect(errno(p.mmap(-1, P, 0x1000000, ANON_PRIVATE | 0x8000000, 0))).toBe('ok');
  });

  it('places MAP_FIXED and refuses MAP_FIXED_NOREPLACE over a mapping', () => {
    const p = smallKernel().spawn();
    const a = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    ok(p.write(a, bytes(9)));
    expect(errno(p.mmap(-1, P, RW, ANON_PRIVATE | MAP_FIXED_NOREPLACE, 0, a))).toBe('EEXIST');
    expect(ok(p.mmap(-1, P, RW, ANON_PRIVATE | MAP_FIXED, 0, a))).toBe(a);
    expect(byteAt(p, a)).toBe(0);
  });

  it('refuses a writable shared mapping of a write-sealed memfd, not a private one', () => {
    const p = smallKernel().spawn();
    const fd = memfd(p, 1);
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    expect(errno(p.mmap(fd, P, RW, MAP_SHARED))).toBe('EPERM');
    const a = ok(p.mmap(fd, P, RW, MAP_PRIVATE));
    ok(p.write(a, bytes(7)));
    expect(ok(p.pread(fd, 1, 0))[0]).toBe(1);
  });
});

describe('private and anonymous memory', () => {
  it('private file pages read the file until written; writes stay private', () => {
    const p = smallKernel().spawn();
    const fd = memfd(p, 2);
    const a = ok(p.mmap(fd, 2 * P, RW, MAP_PRIVATE));
    expect(byteAt(p, a)).toBe(1);
    ok(p.write(a, bytes(50)));
    expect(byteAt(p, a)).toBe(50);
    expect(ok(p.pread(fd, 1, 0))[0]).toBe(1);
    ok(p.pwrite(fd, bytes(60), 0));
    ok(p.pwrite(fd, bytes(61), P));
    expect(byteAt(p, a)).toBe(50);
    expect(byteAt(p, a + P)).toBe(61);
    // Past the end of the file: SIGBUS, as for a shared mapping.
    ok(p.ftruncate(fd, P));
    expect(E.isLeft(p.read(a + P, 1)) && (p.read(a + P, 1) as E.Left<{ signal: string }>).left.signal).toBe('SIGBUS');
  });

  it('fork shares private pages copy-on-write and shared anonymous pages for real', () => {
    const k = smallKernel();
    const p = k.spawn();
    const priv = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    const shared = ok(p.mmap(-1, 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS));
    ok(p.write(priv, bytes(1, 2)));
    ok(p.write(shared, bytes(3, 4)));
    const before = k.memoryFile.allocatedFrames;
    const c = ok(p.fork());
    expect(k.memoryFile.allocatedFrames).toBe(before);
    ok(c.write(priv, bytes(9)));
    ok(c.write(shared, bytes(8)));
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
    expect(byteAt(p, priv)).toBe(1);
    expect(byteAt(c, priv)).toBe(9);
    expect(byteAt(p, shared)).toBe(8);
    // The parent's write after the child copied finds its frame its own: no new frame.
    ok(p.write(priv, bytes(5)));
    expect(k.memoryFile.allocatedFrames).toBe(before + 1);
    expect(byteAt(c, priv)).toBe(9);
    ok(c.exit());
    ok(p.exit());
    expect(k.memoryFile.allocatedFrames).toBe(0);
  });

  it('a checkpoint keeps copy-on-write sharing until a write', () => {
    const k = smallKernel();
    const p = k.spawn();
    const fd = memfd(p, 2);
    const a = ok(p.mmap(fd, 2 * P, RW, MAP_PRIVATE));
    const b = ok(p.mmap(-1, P, RW, ANON_PRIVATE));
    ok(p.write(a + P, bytes(70)));
    ok(p.write(b, bytes(71)));
    const c = ok(p.fork());
    ok(p.close(fd));
    const frames = k.memoryFile.allocatedFrames;
    const k2 = ok(restore(ok(checkpoint(k))));
    ok(checkInvariants(k2));
    expect(k2.memoryFile.allocatedFrames).toBe(frames);
    const p2 = k2.processes().find((x) => x.pid === p.pid) as Process;
    const c2 = k2.processes().find((x) => x.pid === c.pid) as Process;
    expect([byteAt(p2, a), byteAt(c2, a + P), byteAt(c2, b)]).toEqual([1, 70, 71]);
    ok(c2.write(b, bytes(72)));
    expect([byteAt(p2, b), byteAt(c2, b)]).toEqual([71, 72]);
    expect(k2.memoryFile.allocatedFrames).toBe(frames + 1);
    ok(checkInvariants(k2));
  });
});

describe('msync, mlock, madvise, mincore', () => {
  it('msync answers as Linux does', () => {
    const p = smallKernel().spawn();
    const a = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    expect(errno(p.msync(a, P, MS_ASYNC | MS_SYNC))).toBe('EINVAL');
    expect(errno(p.msync(a + 1, P, MS_SYNC))).toBe('EINVAL');
    expect(errno(p.msync(a, P, 8))).toBe('EINVAL');
    expect(errno(p.msync(a, 0, MS_SYNC))).toBe('ok');
    expect(errno(p.msync(a, P, 0))).toBe('ok');
    expect(errno(p.msync(a, 1 << 20, MS_SYNC))).toBe('ENOMEM');
    expect(errno(p.msync(0x10000, P, MS_SYNC))).toBe('ENOMEM');
    expect(errno(p.msync(a, P, MS_INVALIDATE))).toBe('ok');
    expect(errno(p.msync(a, -1, MS_SYNC))).toBe('ok');
    ok(p.mlock(a, P));
    expect(errno(p.msync(a, P, MS_INVALIDATE | MS_SYNC))).toBe('EBUSY');
  });

  it('madvise answers as Linux does and MADV_DONTNEED drops private pages', () => {
    const p = smallKernel().spawn();
    const fd = memfd(p, 2);
    const a = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    expect(errno(p.madvise(a, P, 999))).toBe('EINVAL');
    expect(errno(p.madvise(a + 1, P, MADV_DONTNEED))).toBe('EINVAL');
    expect(errno(p.madvise(a, 0, 999))).toBe('EINVAL');
    expect(errno(p.madvise(a, 0, MADV_DONTNEED))).toBe('ok');
    expect(errno(p.madvise(0x10000, P, MADV_DONTNEED))).toBe('ENOMEM');
    expect(errno(p.madvise(a, P, MADV_REMOVE))).toBe('EINVAL');
    expect(errno(p.madvise(a, P, MADV_FREE))).toBe('ok');
    expect(errno(p.madvise(a, P, MADV_HUGEPAGE))).toBe('ok');
    const ro = ok(p.mmap(fd, P, PROT_READ, MAP_SHARED));
    const fdRo = ok(p.open('/', O_RDONLY));
    expect(errno(p.mmap(fdRo, P, PROT_READ, MAP_SHARED))).toBe('ENODEV');
    const sh = ok(p.mmap(fd, 2 * P, RW, MAP_SHARED));
    expect(errno(p.madvise(sh, P, MADV_FREE))).toBe('EINVAL');
    ok(p.write(sh, bytes(33)));
    expect(errno(p.madvise(sh, P, MADV_REMOVE))).toBe('ok');
    expect(byteAt(p, ro)).toBe(0);
    const priv = ok(p.mmap(fd, 2 * P, RW, MAP_PRIVATE));
    expect(errno(p.madvise(priv, P, MADV_REMOVE))).toBe('EACCES');
    ok(p.pwrite(fd, bytes(40), 0));
    ok(p.write(priv, bytes(41)));
    expect(byteAt(p, priv)).toBe(41);
    ok(p.madvise(priv, P, MADV_DONTNEED));
    expect(byteAt(p, priv)).toBe(40);
    ok(p.mlock(priv, P));
    expect(errno(p.madvise(priv, P, MADV_DONTNEED))).toBe('EINVAL');
    // MADV_DONTNEED_LOCKED drops a locked private copy too; the page reads the file's bytes again.
    ok(p.write(priv, bytes(42)));
    expect(errno(p.madvise(priv, P, MADV_DONTNEED_LOCKED))).toBe('ok');
    expect(byteAt(p, priv)).toBe(40);
    ok(p.munlock(priv, P));
    expect(errno(p.madvise(priv, P, MADV_DONTNEED))).toBe('ok');
  });

  it('mlock checks RLIMIT_MEMLOCK and CAP_IPC_LOCK and faults pages in', () => {
    const k = smallKernel();
    const p = k.spawn({ uid: 1000, gid: 1000 });
    const a = ok(p.mmap(-1, 4 * P, RW, ANON_PRIVATE));
    expect(errno(p.mlock(0x10000, P))).toBe('ENOMEM');
    expect(errno(p.mlock2(a, P, 4))).toBe('EINVAL');
    expect(errno(p.mlock(a + 1, P))).toBe('ok');
    expect(Array.from(ok(p.mincore(a, 4 * P)))).toEqual([1, 1, 0, 0]);
    ok(p.mlock2(a + 2 * P, P, MLOCK_ONFAULT));
    expect(Array.from(ok(p.mincore(a, 4 * P)))).toEqual([1, 1, 0, 0]);
    ok(p.setMemlockLimit(BigInt(4 * P)));
    expect(errno(p.mlock(a, 4 * P))).toBe('ok');
    ok(p.setMemlockLimit(BigInt(2 * P)));
    expect(errno(p.mlock(a, 4 * P))).toBe('ENOMEM');
    ok(p.setMemlockLimit(0n));
    expect(errno(p.mlock(a, P))).toBe('EPERM');
    const root = k.spawn();
    ok(root.setMemlockLimit(0n));
    const b = ok(root.mmap(-1, P, RW, ANON_PRIVATE));
    expect(errno(root.mlock(b, P))).toBe('ok');
  });

  it('mprotect faults in a locked private piece that becomes writable, unless it was locked MLOCK_ONFAULT', () => {
    // Measured on Linux 6.18: mprotect_fixup calls populate_vma_page_range for a VM_LOCKED,
    // not VM_SHARED piece gaining VM_WRITE, so a private file page is copied at the mprotect and
    // misses the file's later writes; VM_LOCKONFAULT skips it, and a plain mlock clears that flag.
    const k = smallKernel();
    const p = k.spawn();
    const fd = memfd(p, 2);
    const locked = ok(p.mmap(fd, 2 * P, PROT_READ, MAP_PRIVATE));
    ok(p.mlock(locked, 2 * P));
    ok(p.mprotect(locked, 2 * P, RW));
    const onFault = ok(p.mmap(fd, 2 * P, PROT_READ, MAP_PRIVATE));
    ok(p.mlock2(onFault, 2 * P, MLOCK_ONFAULT));
    ok(p.mprotect(onFault, 2 * P, RW));
    const relocked = ok(p.mmap(fd, 2 * P, PROT_READ, MAP_PRIVATE));
    ok(p.mlock2(relocked, 2 * P, MLOCK_ONFAULT));
    ok(p.mlock(relocked, 2 * P));
    ok(p.mprotect(relocked, 2 * P, RW));
    const shared = ok(p.mmap(fd, 2 * P, PROT_READ, MAP_SHARED));
    ok(p.mlock(shared, 2 * P));
    ok(p.mprotect(shared, 2 * P, RW));
    ok(p.pwrite(fd, bytes(50), 0));
    expect([byteAt(p, locked), byteAt(p, onFault), byteAt(p, relocked), byteAt(p, shared)]).toEqual([1, 50, 1, 50]);
    // A PROT_NONE piece mlock could not fault in (ENOMEM) stays locked, and is faulted in when it becomes writable.
    const none = ok(p.mmap(-1, 2 * P, PROT_NONE, ANON_PRIVATE));
    expect(errno(p.mlock(none, 2 * P))).toBe('ENOMEM');
    ok(p.mprotect(none, P, RW));
    expect(Array.from(ok(p.mincore(none, 2 * P)))).toEqual([1, 0]);
    // A checkpoint keeps VM_LOCKONFAULT: after restore, the piece is still not populated by mprotect.
    const later = ok(p.mmap(-1, P, PROT_READ, ANON_PRIVATE));
    ok(p.mlock2(later, P, MLOCK_ONFAULT));
    const k2 = ok(restore(ok(checkpoint(k))));
    ok(checkInvariants(k2));
    const p2 = k2.processes().find((x) => x.pid === p.pid) as Process;
    ok(p2.mprotect(later, P, RW));
    expect(Array.from(ok(p2.mincore(later, P)))).toEqual([0]);
    ok(p2.mprotect(none + P, P, RW));
    expect(Array.from(ok(p2.mincore(none, 2 * P)))).toEqual([1, 1]);
  });

  it('mincore answers as Linux does', () => {
    const p = smallKernel().spawn();
    const a = ok(p.mmap(-1, 2 * P, RW, ANON_PRIVATE));
    expect(errno(p.mincore(a + 1, P))).toBe('EINVAL');
    expect(ok(p.mincore(a, 0)).length).toBe(0);
    expect(errno(p.mincore(0x10000, P))).toBe('ENOMEM');
    expect(errno(p.mincore(a, 1 << 20))).toBe('ENOMEM');
    ok(p.write(a + P, bytes(1)));
    expect(Array.from(ok(p.mincore(a, 2 * P - 1)))).toEqual([0, 1]);
  });
});

describe('lseek, umask, ftok', () => {
  it('lseek follows shmem_file_llseek', () => {
    const { p } = withDevShm();
    const fd = ok(p.memfdCreate('s', 0));
    ok(p.ftruncate(fd, 2 * P));
    const dir = ok(p.open('/dev/shm', O_RDONLY));
    expect(errno(p.lseek(fd, 0, SEEK_DATA))).toBe('ENXIO');
    expect(ok(p.lseek(fd, 0, SEEK_HOLE))).toBe(0);
    expect(errno(p.lseek(fd, 2 * P, SEEK_DATA))).toBe('ENXIO');
    expect(errno(p.lseek(fd, 9000, SEEK_HOLE))).toBe('ENXIO');
    expect(errno(p.lseek(fd, -1, SEEK_SET))).toBe('EINVAL');
    expect(errno(p.lseek(fd, 0, 5))).toBe('EINVAL');
    expect(ok(p.lseek(fd, 0x7fffffffffffffffn, SEEK_SET))).toBe(0x7fffffffffffffffn);
    expect(errno(p.lseek(fd, 1, SEEK_CUR))).toBe('EINVAL');
    expect(ok(p.lseek(fd, 1, SEEK_END))).toBe(2 * P + 1);
    expect(ok(p.lseek(dir, 5, SEEK_SET))).toBe(5);
    expect(errno(p.lseek(dir, 0, SEEK_DATA))).toBe('EINVAL');
    expect(errno(p.lseek(99, 0, SEEK_SET))).toBe('EBADF');
    ok(p.pwrite(fd, bytes(1), P));
    expect(ok(p.lseek(fd, 0, SEEK_DATA))).toBe(P);
    expect(ok(p.lseek(fd, P, SEEK_HOLE))).toBe(2 * P);
    expect(ok(p.lseek(fd, P + 1, SEEK_DATA))).toBe(P + 1);
    expect(ok(p.lseek(fd, 0, SEEK_CUR))).toBe(P + 1);
  });

  it('umask masks open, mkdir and shm_open modes, not memfd_create; fork inherits it', () => {
    const { p } = withDevShm();
    expect(ok(p.umask(0o77))).toBe(0);
    const m = ok(p.memfdCreate('y', 0));
    expect(ok(p.fstat(m)).mode & 0o777).toBe(0o777);
    const s = ok(p.shmOpen('/t', O_CREAT | O_RDWR, 0o666));
    expect(ok(p.fstat(s)).mode & 0o777).toBe(0o600);
    ok(p.mkdir('/d', 0o777));
    expect(ok(p.stat('/d')).mode & 0o777).toBe(0o700);
    const c = ok(p.fork());
    expect(ok(c.umask(0o1022))).toBe(0o77);
    expect(ok(c.umask(0))).toBe(0o22);
  });

  it('ftok computes glibc key from st_ino, st_dev and proj_id', () => {
    const { p } = withDevShm();
    ok(p.open('/dev/shm/k', O_CREAT | O_RDWR, 0o644));
    const st = ok(p.stat('/dev/shm/k'));
    const key = ok(p.ftok('/dev/shm/k', 0x1ab));
    expect(key >>> 0).toBe(((0xab << 24) | ((st.dev & 0xff) << 16) | (st.ino & 0xffff)) >>> 0);
    expect(errno(p.ftok('/dev/shm/none', 1))).toBe('ENOENT');
  });
});
