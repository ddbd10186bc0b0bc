/**
 * memfd_create with MFD_HUGETLB: a hugetlbfs file on a kernel whose huge
 * page pools are empty (vm.nr_hugepages 0), each answer measured on Linux
 * 6.18 with a C program: writes are EINVAL, the size moves in whole huge
 * pages only, fallocate is ENOSPC and mmap ENOMEM, reads see zeros, seals
 * work; a checkpoint keeps the huge page size.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import {
  FALLOC_FL_KEEP_SIZE,
  Kernel,
  FALLOC_FL_PUNCH_HOLE,
  F_ADD_SEALS,
  F_GET_SEALS,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  MFD_HUGETLB,
  MFD_HUGE_1GB,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  S_IFREG,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
} from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { edited, openImage, reseal } from '../checkpoint/reseal.js';
import { errno, ok } from '../support/either.js';
import { bytes, smallKernel } from './helpers.js';

const MiB2 = 2 * 1024 * 1024;

function hugeMemfd(flags = MFD_HUGETLB | MFD_ALLOW_SEALING): { kernel: Kernel; p: Process; fd: number } {
  const kernel = smallKernel();
  const p = kernel.spawn();
  return { kernel, p, fd: ok(p.memfdCreate('h', flags)) };
}

describe('a hugetlbfs memfd', () => {
  it('starts empty, mode 0777, with its huge page size as st_blksize', () => {
    const { p, fd } = hugeMemfd();
    expect(ok(p.fstat(fd))).toMatchObject({ mode: S_IFREG | 0o777, size: 0, blocks: 0, blksize: MiB2, nlink: 0 });
  });

  it('write and pwrite are EINVAL, before the range check; reads of a grown file are zeros', () => {
    const { p, fd } = hugeMemfd();
    expect(errno(p.writeFd(fd, bytes(0x61, 0x62)))).toBe('EINVAL');
    expect(errno(p.pwrite(fd, bytes(0x61), 0))).toBe('EINVAL');
    expect(errno(p.pwrite(fd, bytes(0x61), 2n ** 63n - 1n))).toBe('EINVAL');
    ok(p.ftruncate(fd, MiB2));
    expect(ok(p.readFd(fd, 2))).toEqual(bytes(0, 0));
    expect(ok(p.pread(fd, 4, MiB2 - 2))).toEqual(bytes(0, 0));
    expect(ok(p.fstat(fd))).toMatchObject({ size: MiB2, blocks: 0 });
  });

  it('ftruncate takes whole huge pages only (EINVAL before the seals), and lseek SEEK_END sees the size', () => {
    const { p, fd } = hugeMemfd();
    expect(errno(p.ftruncate(fd, PAGE_SIZE))).toBe('EINVAL');
    ok(p.ftruncate(fd, 2 * MiB2));
    expect(ok(p.lseek(fd, 0, SEEK_END))).toBe(2 * MiB2);
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
    expect(errno(p.ftruncate(fd, MiB2 + PAGE_SIZE))).toBe('EINVAL');
    expect(errno(p.ftruncate(fd, MiB2))).toBe('EPERM');
    expect(errno(p.ftruncate(fd, 3 * MiB2))).toBe('EPERM');
  });

  it('SEEK_DATA and SEEK_HOLE see the whole file as data (default_llseek)', () => {
    const { p, fd } = hugeMemfd();
    expect(errno(p.lseek(fd, 0, SEEK_DATA))).toBe('ENXIO');
    ok(p.ftruncate(fd, MiB2));
    expect(ok(p.lseek(fd, 100, SEEK_DATA))).toBe(100);
    expect(ok(p.lseek(fd, 100, SEEK_HOLE))).toBe(MiB2);
    expect(errno(p.lseek(fd, MiB2, SEEK_HOLE))).toBe('ENXIO');
  });

  it('mmap is ENOMEM, shared or private: no huge page can be reserved; an unaligned offset is EINVAL', () => {
    const { p, fd } = hugeMemfd();
    ok(p.ftruncate(fd, MiB2));
    const vmas = p.mm.vmaCount;
    for (const len of [MiB2, PAGE_SIZE]) {
      expect(errno(p.mmap(fd, len, PROT_READ | PROT_WRITE, MAP_SHARED))).toBe('ENOMEM');
      expect(errno(p.mmap(fd, len, PROT_READ, MAP_PRIVATE))).toBe('ENOMEM');
    }
    expect(errno(p.mmap(fd, MiB2, PROT_READ, MAP_SHARED, PAGE_SIZE))).toBe('EINVAL');
    // prepare_hugepage_range: a fixed address off a huge page boundary.
    expect(errno(p.mmap(fd, MiB2, PROT_READ, MAP_SHARED | MAP_FIXED, 0, MiB2 + PAGE_SIZE))).toBe('EINVAL');
    expect(p.mm.vmaCount).toBe(vmas);
  });

  it('fallocate is ENOSPC and leaves the size; a hole punch succeeds unless a write seal is set', () => {
    const { p, fd } = hugeMemfd();
    expect(errno(p.fallocate(fd, 0, 0, MiB2))).toBe('ENOSPC');
    expect(errno(p.fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1))).toBe('ENOSPC');
    expect(ok(p.fstat(fd)).size).toBe(0);
    // Unsealed, any punch succeeds: one covering a huge page, one inside it.
    ok(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, MiB2));
    ok(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1, PAGE_SIZE));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    // Linux 6.18 refuses any punch under the seal, one inside a huge page or past the end too.
    expect(errno(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, MiB2))).toBe('EPERM');
    expect(errno(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1, MiB2))).toBe('EPERM');
    expect(errno(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE))).toBe('EPERM');
    expect(errno(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4 * MiB2, PAGE_SIZE))).toBe('EPERM');
  });

  it('seals: F_GET_SEALS 0 with MFD_ALLOW_SEALING, F_SEAL_WRITE added', () => {
    const { p, fd } = hugeMemfd();
    expect(ok(p.fcntl(fd, F_GET_SEALS))).toBe(0);
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    expect(ok(p.fcntl(fd, F_GET_SEALS))).toBe(F_SEAL_WRITE);
  });
});

describe('a checkpoint of a hugetlbfs memfd', () => {
  function sample(): { p: Process; fd: number; image: Uint8Array } {
    const { kernel, p, fd } = hugeMemfd(MFD_HUGETLB | MFD_HUGE_1GB | MFD_ALLOW_SEALING);
    ok(p.ftruncate(fd, 2 ** 30));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    return { p, fd, image: ok(checkpoint(kernel)) };
  }

  it('keeps the huge page size, the size and the seals', () => {
    const s = sample();
    const kernel = ok(restore(s.image));
    const q = kernel.processes().find((x) => x.pid === s.p.pid) as Process;
    expect(ok(q.fstat(s.fd))).toMatchObject({ size: 2 ** 30, blksize: 2 ** 30 });
    expect(errno(q.writeFd(s.fd, bytes(1)))).toBe('EINVAL');
    expect(errno(q.ftruncate(s.fd, PAGE_SIZE))).toBe('EINVAL');
    expect(ok(q.fcntl(s.fd, F_GET_SEALS))).toBe(F_SEAL_GROW);
    expect(ok(checkpoint(kernel))).toEqual(s.image);
  });

  // biome-ignore lint/suspicious/noExplicitAny: the image's metadata is edited as plain JSON.
  type Meta = any;
  const s = sample();
  const opened = openImage(s.image);
  const meta: Meta = opened.meta;
  const T = meta.tmpfs.findIndex((sb: Meta) => sb.inodes.some((n: Meta) => n.hugePageSize !== undefined));
  const I = meta.tmpfs[T].inodes.findIndex((n: Meta) => n.hugePageSize !== undefined);
  const refusedAt = (edit: (m: Meta) => void): string => {
    const r = restore(reseal(opened, edited(meta, edit)));
    if (E.isRight(r)) throw new Error('the edited image was restored');
    return r.left.where;
  };

  it('restore names the field of a huge page size the kernel lacks, a size off its pages, or one on a directory', () => {
    expect(T).toBeGreaterThanOrEqual(0);
    // The default sizes are not written.
    expect(meta.kernel.hugePageSizes).toBeUndefined();
    const at = `metadata.tmpfs[${T}].inodes[${I}]`;
    expect(refusedAt((m) => (m.tmpfs[T].inodes[I].hugePageSize = 4 * MiB2))).toBe(`${at}.hugePageSize`);
    expect(refusedAt((m) => (m.tmpfs[T].inodes[I].size = MiB2))).toBe(`${at}.size`);
    expect(refusedAt((m) => (m.tmpfs[T].inodes[0].hugePageSize = MiB2))).toBe(`metadata.tmpfs[${T}].inodes[0].hugePageSize`);
    expect(refusedAt((m) => (m.kernel.hugePageSizes = [3 * MiB2]))).toBe('metadata.kernel.hugePageSizes[0]');
  });
});

describe('a checkpoint of a kernel with other huge page sizes', () => {
  it('keeps them: MFD_HUGE_1GB stays ENODEV after a restore', () => {
    const before = new Kernel({ memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16, hugePageSizes: [MiB2] });
    before.spawn();
    const kernel = ok(restore(ok(checkpoint(before))));
    const q = kernel.processes()[0] as Process;
    expect(errno(q.memfdCreate('x', MFD_HUGETLB | MFD_HUGE_1GB))).toBe('ENODEV');
    expect(kernel.hugePageSizes).toEqual([MiB2]);
  });
});
