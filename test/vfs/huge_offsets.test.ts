/**
 * File offsets and sizes exact up to MAX_LFS_FILESIZE (2^63 - 1), with the
 * file calls' checks in Linux's order (measured on the host's 6.18 kernel;
 * examples/tmpfs-huge-offsets.scn runs the same on both backends).
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PROT_READ } from '../../src/abi/constants.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, MAP_SHARED, O_APPEND, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY } from '../../src/abi/fs.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { errno, ok } from '../support/either.js';

const MAX = 2n ** 63n - 1n;
const P62 = 2n ** 62n;
const one = (s: string): Uint8Array => new TextEncoder().encode(s);

function setup(): { p: Process; fd: number } {
  const k = new Kernel({ memTotalBytes: 64 << 20 });
  const p = k.spawn();
  ok(p.mkdir('/t', 0o755));
  ok(p.mountTmpfs(ok(k.newTmpfs({ sizeBytes: 1 << 20 })), '/t'));
  return { p, fd: ok(p.open('/t/f', O_RDWR | O_CREAT, 0o644)) };
}

describe('sizes past 2^53', () => {
  it('a byte at 2^62 makes a sparse file of 2^62+1 bytes with one page, read back exactly', () => {
    const { p, fd } = setup();
    expect(ok(p.pwrite(fd, one('!'), P62))).toBe(1);
    const st = ok(p.fstat(fd));
    expect(st.size).toBe(P62 + 1n);
    expect(st.blocks).toBe(PAGE_SIZE / 512);
    expect([...ok(p.pread(fd, 4, P62 - 2n))]).toEqual([0, 0, 0x21]);
    // A number that is a safe integer reads the same hole.
    expect([...ok(p.pread(fd, 2, 2 ** 52))]).toEqual([0, 0]);
  });

  it('ftruncate reaches 2^63-1 exactly and shrinks back, freeing the page', () => {
    const { p, fd } = setup();
    ok(p.pwrite(fd, one('!'), P62));
    ok(p.ftruncate(fd, MAX));
    expect(ok(p.fstat(fd)).size).toBe(MAX);
    ok(p.ftruncate(fd, P62));
    expect(ok(p.fstat(fd))).toMatchObject({ size: P62, blocks: 0 });
    ok(p.ftruncate(fd, 4096n));
    expect(ok(p.fstat(fd)).size).toBe(4096);
  });

  it('a size that fits a safe integer is a number', () => {
    const { p, fd } = setup();
    ok(p.ftruncate(fd, 2n ** 53n - 1n));
    expect(ok(p.fstat(fd)).size).toBe(Number.MAX_SAFE_INTEGER);
    ok(p.ftruncate(fd, 2n ** 53n));
    expect(ok(p.fstat(fd)).size).toBe(2n ** 53n);
  });
});

describe("Linux's order and edges", () => {
  it('pread and pwrite: a negative offset is EINVAL before EBADF; offset + count past 2^63-1 is EINVAL', () => {
    const { p, fd } = setup();
    expect(errno(p.pwrite(-5, one('x'), -1))).toBe('EINVAL');
    expect(errno(p.pread(-5, 1, -1n))).toBe('EINVAL');
    expect(errno(p.pwrite(-5, one('x'), 0))).toBe('EBADF');
    expect(errno(p.pwrite(fd, one('x'), MAX))).toBe('EINVAL');
    expect(errno(p.pwrite(fd, one('xy'), MAX - 1n))).toBe('EINVAL');
    expect(ok(p.pwrite(fd, one('x'), MAX - 1n))).toBe(1);
    expect(ok(p.fstat(fd)).size).toBe(MAX);
    expect(errno(p.pread(fd, 8, MAX - 7n))).toBe('EINVAL');
    expect(str(ok(p.pread(fd, 7, MAX - 7n)))).toBe('\0\0\0\0\0\0x');
    // A u64 spelling of a negative offset wraps, as a register does.
    expect(errno(p.pread(fd, 1, 2n ** 64n - 1n))).toBe('EINVAL');
  });

  it('an O_APPEND write at the largest size is EFBIG, and one reaching past it is cut short', () => {
    const { p, fd } = setup();
    ok(p.ftruncate(fd, MAX));
    const g = ok(p.open('/t/f', O_WRONLY | O_APPEND));
    expect(errno(p.writeFd(g, one('z')))).toBe('EFBIG');
    ok(p.ftruncate(fd, MAX - 1n));
    expect(ok(p.writeFd(g, one('yz')))).toBe(1);
    expect(ok(p.fstat(fd)).size).toBe(MAX);
  });

  it('ftruncate: a negative length is EINVAL before EBADF; one past 2^63-1 wraps negative', () => {
    const { p, fd } = setup();
    expect(errno(p.ftruncate(-5, -1))).toBe('EINVAL');
    expect(errno(p.ftruncate(-5, 0))).toBe('EBADF');
    expect(errno(p.ftruncate(fd, 2n ** 63n))).toBe('EINVAL');
    const r = ok(p.open('/t/f', O_RDONLY));
    expect(errno(p.ftruncate(r, -1))).toBe('EINVAL');
    expect(errno(p.ftruncate(r, 1))).toBe('EINVAL');
  });

  it("fallocate: EBADF first, then vfs_fallocate's EINVAL, mode, EBADF, EFBIG", () => {
    const { p, fd } = setup();
    expect(errno(p.fallocate(-5, 0, -1, 1))).toBe('EBADF');
    expect(errno(p.fallocate(fd, 0, -1, 1))).toBe('EINVAL');
    expect(errno(p.fallocate(fd, 0, 0, 0))).toBe('EINVAL');
    // PUNCH_HOLE without KEEP_SIZE: EOPNOTSUPP before the write-access check.
    const r = ok(p.open('/t/f', O_RDONLY));
    expect(errno(p.fallocate(r, FALLOC_FL_PUNCH_HOLE, 0, 1))).toBe('EOPNOTSUPP');
    expect(errno(p.fallocate(r, 0, 0, 1))).toBe('EBADF');
    expect(errno(p.fallocate(fd, 0, MAX, 1))).toBe('EFBIG');
    expect(errno(p.fallocate(fd, 0, 1, MAX))).toBe('EFBIG');
    expect(errno(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, MAX - 4095n, 4096))).toBe('EFBIG');
    // ZERO_RANGE passes vfs_fallocate; shmem_fallocate refuses it after the EFBIG check.
    expect(errno(p.fallocate(fd, 0x10, MAX, 1))).toBe('EFBIG');
    expect(errno(p.fallocate(fd, 0x10, 0, 1))).toBe('EOPNOTSUPP');
    ok(p.fallocate(fd, FALLOC_FL_KEEP_SIZE, MAX - 1n, 1));
    expect(ok(p.fstat(fd))).toMatchObject({ size: 0, blocks: 8 });
    ok(p.fallocate(fd, 0, MAX - 1n, 1));
    expect(ok(p.fstat(fd)).size).toBe(MAX);
  });

  it('mmap: unaligned is EINVAL; a mapping reaching past 2^63-1 is EOVERFLOW, a negative offset too (it is a u64)', () => {
    const { p, fd } = setup();
    expect(errno(p.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED, 1))).toBe('EINVAL');
    expect(errno(p.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED, MAX + 1n - 4096n))).toBe('EOVERFLOW');
    expect(errno(p.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED, -4096))).toBe('EOVERFLOW');
    // file_mmap_ok: pgoff ≤ (MAX - len) >> 12, so the page holding byte 2^63-1 is never mappable.
    expect(errno(p.mmap(fd, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, MAX + 1n - 8192n))).toBe('EOVERFLOW');
    expect(errno(p.mmap(fd, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, MAX + 1n - 12288n))).not.toBe('EOVERFLOW');
    ok(p.mmap(fd, PAGE_SIZE, PROT_READ, MAP_SHARED, 8192n));
  });

  it('refuses a number that is not a safe integer, and a bigint no register holds', () => {
    const { p, fd } = setup();
    expect(errno(p.pwrite(fd, one('x'), 2 ** 60))).toBe('EINVAL');
    expect(errno(p.ftruncate(fd, 2n ** 64n))).toBe('EINVAL');
    expect(errno(p.fallocate(fd, 0, 0.5, 1))).toBe('EINVAL');
  });
});

function str(b: Uint8Array): string {
  return String.fromCharCode(...b);
}
