/**
 * Every seal rule, as a Linux 6.18 kernel answered the same calls (checked
 * natively while writing this): who may add seals and in which order the
 * refusals come, what each seal refuses in write, pwrite, ftruncate,
 * fallocate, mmap and mprotect, and what it leaves alone.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  F_ADD_SEALS,
  F_GETFD,
  F_GET_SEALS,
  F_SEAL_EXEC,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  F_SETFD,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  MFD_NOEXEC_SEAL,
  O_CREAT,
  O_RDONLY,
  O_RDWR,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok } from '../support/either.js';
import { bytes, smallKernel, withDevShm } from './helpers.js';

/** A process and a sealable memfd of `size` bytes. */
function sealable(size = 0): { p: Process; fd: number } {
  const p = smallKernel().spawn();
  const fd = ok(p.memfdCreate('s', MFD_ALLOW_SEALING));
  if (size > 0) ok(p.ftruncate(fd, size));
  return { p, fd };
}

const seals = (p: Process, fd: number): number => ok(p.fcntl(fd, F_GET_SEALS));

describe('adding seals', () => {
  it('seals only accumulate; adding one already set, or none, changes nothing', () => {
    const { p, fd } = sealable();
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    ok(p.fcntl(fd, F_ADD_SEALS, 0));
    expect(seals(p, fd)).toBe(F_SEAL_GROW | F_SEAL_SHRINK);
  });

  it('an unknown seal bit is EINVAL, also as a negative int (an unsigned int to the kernel)', () => {
    const { p, fd } = sealable();
    expect(errno(p.fcntl(fd, F_ADD_SEALS, 0x40))).toBe('EINVAL');
    expect(errno(p.fcntl(fd, F_ADD_SEALS, -1))).toBe('EINVAL');
    expect(seals(p, fd)).toBe(0);
  });

  it('F_SEAL_SEAL stops further seals with EPERM, even adding none; a bad bit is still EINVAL first', () => {
    const { p, fd } = sealable();
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    expect(errno(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW))).toBe('EPERM');
    expect(errno(p.fcntl(fd, F_ADD_SEALS, 0))).toBe('EPERM');
    expect(errno(p.fcntl(fd, F_ADD_SEALS, 0x40))).toBe('EINVAL');
    expect(seals(p, fd)).toBe(F_SEAL_SEAL);
  });

  it('a memfd made without MFD_ALLOW_SEALING starts with F_SEAL_SEAL: EPERM', () => {
    const p = smallKernel().spawn();
    const fd = ok(p.memfdCreate('x', 0));
    expect(seals(p, fd)).toBe(F_SEAL_SEAL);
    expect(errno(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW))).toBe('EPERM');
  });

  it('MFD_NOEXEC_SEAL leaves the file open to sealing, with F_SEAL_EXEC', () => {
    const p = smallKernel().spawn();
    const fd = ok(p.memfdCreate('x', MFD_NOEXEC_SEAL));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    expect(seals(p, fd)).toBe(F_SEAL_EXEC | F_SEAL_GROW);
  });

  it('a tmpfs file (a /dev/shm object) has F_SEAL_SEAL: F_GET_SEALS says so, F_ADD_SEALS is EPERM', () => {
    const { p } = withDevShm();
    const fd = ok(p.open('/dev/shm/f', O_CREAT | O_RDWR, 0o600));
    expect(seals(p, fd)).toBe(F_SEAL_SEAL);
    expect(errno(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW))).toBe('EPERM');
  });

  it('a descriptor not open for writing is EPERM before anything else, even a bad seal bit', () => {
    const { p } = withDevShm();
    ok(p.open('/dev/shm/f', O_CREAT | O_RDWR, 0o600));
    const ro = ok(p.open('/dev/shm/f', O_RDONLY));
    expect(errno(p.fcntl(ro, F_ADD_SEALS, F_SEAL_GROW))).toBe('EPERM');
    expect(errno(p.fcntl(ro, F_ADD_SEALS, 0x40))).toBe('EPERM');
    expect(seals(p, ro)).toBe(F_SEAL_SEAL);
  });

  it('a directory has no seals: F_GET_SEALS is EINVAL, F_ADD_SEALS EPERM through a read-only descriptor', () => {
    const { p } = withDevShm();
    const dir = ok(p.open('/dev/shm', O_RDONLY));
    expect(errno(p.fcntl(dir, F_GET_SEALS))).toBe('EINVAL');
    expect(errno(p.fcntl(dir, F_ADD_SEALS, F_SEAL_GROW))).toBe('EPERM');
  });

  it('a descriptor that names nothing is EBADF, whatever the command; an unknown command is EINVAL', () => {
    const { p, fd } = sealable();
    expect(errno(p.fcntl(999, F_GET_SEALS))).toBe('EBADF');
    expect(errno(p.fcntl(999, 9999))).toBe('EBADF');
    expect(errno(p.fcntl(fd, 9999))).toBe('EINVAL');
  });

  it('F_SETFD keeps only FD_CLOEXEC', () => {
    const { p, fd } = sealable();
    ok(p.fcntl(fd, F_SETFD, 5));
    expect(ok(p.fcntl(fd, F_GETFD))).toBe(1);
    ok(p.fcntl(fd, F_SETFD, 0));
    expect(ok(p.fcntl(fd, F_GETFD))).toBe(0);
  });

  it('seals belong to the file: a second descriptor and a forked child see them', () => {
    const { p, fd } = sealable();
    const child = ok(p.fork());
    ok(child.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    expect(seals(p, fd)).toBe(F_SEAL_SHRINK);
  });
});

describe('F_SEAL_WRITE and writable shared mappings', () => {
  it('is EBUSY while a shared mapping of a writable descriptor exists, even a PROT_READ one (it may become writable)', () => {
    const { p, fd } = sealable(2 * PAGE_SIZE);
    const addr = ok(p.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED));
    expect(errno(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE))).toBe('EBUSY');
    ok(p.munmap(addr, PAGE_SIZE));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
  });

  it('adds nothing when refused: F_SEAL_WRITE | F_SEAL_GROW leaves the seals at 0', () => {
    const { p, fd } = sealable(PAGE_SIZE);
    ok(p.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    expect(errno(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW))).toBe('EBUSY');
    expect(seals(p, fd)).toBe(0);
  });

  it('counts the pieces of a split mapping: EBUSY until the last piece goes', () => {
    const { p, fd } = sealable(3 * PAGE_SIZE);
    const addr = ok(p.mmap(fd, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    ok(p.munmap(addr + PAGE_SIZE, PAGE_SIZE));
    expect(errno(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE))).toBe('EBUSY');
    ok(p.munmap(addr, PAGE_SIZE));
    expect(errno(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE))).toBe('EBUSY');
    ok(p.munmap(addr + 2 * PAGE_SIZE, PAGE_SIZE));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
  });

  it("counts a forked child's copy of the mapping, until the child exits", () => {
    const { p, fd } = sealable(PAGE_SIZE);
    const addr = ok(p.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    const child = ok(p.fork());
    ok(p.munmap(addr, PAGE_SIZE));
    expect(errno(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE))).toBe('EBUSY');
    ok(child.exit());
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
  });

  it('F_SEAL_EXEC on an executable memfd brings the write seals, and so is EBUSY too (Linux 6.18)', () => {
    const { p, fd } = sealable(PAGE_SIZE);
    const addr = ok(p.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    expect(errno(p.fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC))).toBe('EBUSY');
    expect(seals(p, fd)).toBe(0);
    ok(p.munmap(addr, PAGE_SIZE));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC));
    expect(seals(p, fd)).toBe(F_SEAL_EXEC | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
  });

  it('F_SEAL_EXEC on a non-executable memfd is only itself', () => {
    const p = smallKernel().spawn();
    const fd = ok(p.memfdCreate('x', MFD_NOEXEC_SEAL));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC));
    expect(seals(p, fd)).toBe(F_SEAL_EXEC);
  });
});

describe('what F_SEAL_WRITE refuses', () => {
  function writeSealed(): { p: Process; fd: number } {
    const { p, fd } = sealable(2 * PAGE_SIZE);
    ok(p.pwrite(fd, bytes(1, 2, 3), 0));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    return { p, fd };
  }

  it('write and pwrite are EPERM; a zero-byte write still returns 0', () => {
    const { p, fd } = writeSealed();
    expect(errno(p.writeFd(fd, bytes(1)))).toBe('EPERM');
    expect(errno(p.pwrite(fd, bytes(1), 0))).toBe('EPERM');
    expect(ok(p.writeFd(fd, new Uint8Array(0)))).toBe(0);
    expect([...ok(p.pread(fd, 3, 0))]).toEqual([1, 2, 3]);
  });

  it('a writable shared mapping is EPERM; a read-only one works and mprotect to PROT_WRITE is EACCES', () => {
    const { p, fd } = writeSealed();
    expect(errno(p.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED))).toBe('EPERM');
    const addr = ok(p.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED));
    expect([...ok(p.read(addr, 3))]).toEqual([1, 2, 3]);
    expect(errno(p.mprotect(addr, PAGE_SIZE, PROT_READ | PROT_WRITE))).toBe('EACCES');
    expect(p.write(addr, bytes(9))).toMatchObject({ _tag: 'Left' });
  });

  it('punching a hole is EPERM; allocating within the file, growing and shrinking are allowed', () => {
    const { p, fd } = writeSealed();
    expect(errno(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE))).toBe('EPERM');
    ok(p.fallocate(fd, 0, 0, PAGE_SIZE));
    ok(p.fallocate(fd, 0, 0, 3 * PAGE_SIZE));
    ok(p.ftruncate(fd, 4 * PAGE_SIZE));
    ok(p.ftruncate(fd, PAGE_SIZE));
  });
});

describe('what F_SEAL_FUTURE_WRITE refuses and keeps', () => {
  it('existing writable mappings stay writable; a read-only one made before keeps VM_MAYWRITE', () => {
    const { p, fd } = sealable(PAGE_SIZE);
    const rw = ok(p.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    const ro = ok(p.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    ok(p.write(rw, bytes(5)));
    expect([...ok(p.pread(fd, 1, 0))]).toEqual([5]);
    ok(p.mprotect(ro, PAGE_SIZE, PROT_READ | PROT_WRITE));
  });

  it('new writes, writable mappings and hole punching are EPERM; a new read-only mapping cannot become writable', () => {
    const { p, fd } = sealable(PAGE_SIZE);
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    expect(errno(p.writeFd(fd, bytes(1)))).toBe('EPERM');
    expect(errno(p.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED))).toBe('EPERM');
    const ro = ok(p.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED));
    expect(errno(p.mprotect(ro, PAGE_SIZE, PROT_READ | PROT_WRITE))).toBe('EACCES');
    expect(errno(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE))).toBe('EPERM');
    ok(p.ftruncate(fd, 2 * PAGE_SIZE));
  });

  it('F_SEAL_WRITE after it is EBUSY while an old writable mapping lives', () => {
    const { p, fd } = sealable(PAGE_SIZE);
    ok(p.mmap(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    // The read-only mapping made now does not count.
    ok(p.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED));
    expect(errno(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE))).toBe('EBUSY');
  });
});

describe('F_SEAL_GROW and F_SEAL_SHRINK', () => {
  function grow(): { p: Process; fd: number } {
    const { p, fd } = sealable(10);
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    return { p, fd };
  }

  it('a write inside the file works; one crossing the end inside the last page, at it or past it is EPERM', () => {
    const { p, fd } = grow();
    expect(ok(p.pwrite(fd, bytes(1, 2, 3), 0))).toBe(3);
    expect(errno(p.pwrite(fd, bytes(1, 2, 3, 4, 5, 6), 8))).toBe('EPERM');
    expect(errno(p.pwrite(fd, bytes(1), 10))).toBe('EPERM');
    expect(errno(p.pwrite(fd, bytes(1), 20))).toBe('EPERM');
    expect(ok(p.pwrite(fd, new Uint8Array(0), 20))).toBe(0);
    expect(ok(p.fstat(fd)).size).toBe(10);
  });

  // The numbers are Linux 6.18's answers to the same calls on a memfd.
  it.each([
    { size: 10000, at: 5000, len: 10000, written: 3192 },
    { size: 10000, at: 8000, len: 100000, written: 192 },
    { size: 10000, at: 100, len: 100000, written: 8092 },
    { size: 10000, at: 9000, len: 1000, written: 1000 },
    { size: 8192, at: 0, len: 10000, written: 8192 },
    { size: 8192, at: 4096, len: 10000, written: 4096 },
    { size: 300000, at: 1000, len: 400000, written: 298008 },
    { size: 12288, at: 12285, len: 5, written: 3 },
  ])('a write crossing the end stops at the last page boundary at or below it: $len at $at of $size writes $written', ({ size, at, len, written }) => {
    const { p, fd } = sealable(size);
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    const data = new Uint8Array(len).fill(0x5a);
    expect(ok(p.pwrite(fd, data, at))).toBe(written);
    expect(ok(p.fstat(fd)).size).toBe(size);
    const back = ok(p.pread(fd, written + 1, at));
    expect(back.length).toBe(at + written < size ? written + 1 : written);
    expect(back.subarray(0, written).every((b) => b === 0x5a)).toBe(true);
    if (back.length > written) expect(back[written]).toBe(0);
  });

  it('write(2) moves the file position by the short count', () => {
    const { p, fd } = sealable(10000);
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    expect(ok(p.lseek(fd, 5000, 0))).toBe(5000);
    expect(ok(p.writeFd(fd, new Uint8Array(10000)))).toBe(3192);
    expect(ok(p.lseek(fd, 0, 1))).toBe(8192);
    expect(errno(p.writeFd(fd, new Uint8Array(2000)))).toBe('EPERM');
  });

  it('ftruncate to the same size or smaller works; larger is EPERM', () => {
    const { p, fd } = grow();
    ok(p.ftruncate(fd, 10));
    expect(errno(p.ftruncate(fd, 11))).toBe('EPERM');
    ok(p.ftruncate(fd, 5));
  });

  it('fallocate past the end is EPERM even with FALLOC_FL_KEEP_SIZE; inside it works; a bad mode is EOPNOTSUPP first', () => {
    const { p, fd } = grow();
    expect(errno(p.fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE))).toBe('EPERM');
    expect(errno(p.fallocate(fd, 0, 0, PAGE_SIZE))).toBe('EPERM');
    ok(p.fallocate(fd, 0, 0, 5));
    expect(errno(p.fallocate(fd, 0x10, 0, PAGE_SIZE))).toBe('EOPNOTSUPP');
  });

  it('F_SEAL_SHRINK refuses shrinking only; punching a hole is allowed', () => {
    const { p, fd } = sealable(10);
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    expect(errno(p.ftruncate(fd, 5))).toBe('EPERM');
    ok(p.ftruncate(fd, 20));
    ok(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE));
  });

  it('a length no loff_t holds, or a negative one, is EINVAL before the seal is looked at', () => {
    const { p, fd } = grow();
    expect(errno(p.ftruncate(fd, 2n ** 63n))).toBe('EINVAL');
    expect(errno(p.ftruncate(fd, -1))).toBe('EINVAL');
    const r = p.ftruncate(fd, 2n ** 62n);
    expect(E.isLeft(r) && r.left.errno).toBe('EPERM');
  });
});
