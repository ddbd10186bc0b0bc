/**
 * RLIMIT_FSIZE (Process.setFsizeLimit) for a process that ignores SIGXFSZ,
 * as Linux 6.18 answered the same calls on a memfd with the soft limit at
 * 10000 bytes: generic_write_check_limits for write and pwrite (EFBIG at or
 * past the limit, a short write across it, a zero-byte write is 0 first),
 * inode_newsize_ok for ftruncate and fallocate (EFBIG only when the file
 * would grow past the limit, KEEP_SIZE too), and before F_SEAL_GROW's EPERM.
 */
import { describe, expect, it } from 'vitest';
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  F_ADD_SEALS,
  F_SEAL_GROW,
  MFD_ALLOW_SEALING,
  O_APPEND,
  O_CREAT,
  O_RDWR,
  RLIM_INFINITY,
} from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import { edited, openImage, reseal } from '../checkpoint/reseal.js';
import { errno, ok } from '../support/either.js';
import { smallKernel } from './helpers.js';

const size = (p: Process, fd: number): number | bigint => ok(p.fstat(fd)).size;
const zeros = (n: number): Uint8Array => new Uint8Array(n);

function limited(limit = 10000n): { p: Process; fd: number } {
  const p = smallKernel().spawn();
  ok(p.setFsizeLimit(limit));
  return { p, fd: ok(p.memfdCreate('f', MFD_ALLOW_SEALING)) };
}

describe('RLIMIT_FSIZE and write', () => {
  it('cuts a write crossing the limit short, refuses one at or past it, and lets zero bytes through', () => {
    const { p, fd } = limited();
    expect(ok(p.pwrite(fd, zeros(100), 0))).toBe(100);
    expect(ok(p.pwrite(fd, zeros(5000), 9000))).toBe(1000);
    expect(size(p, fd)).toBe(10000);
    expect(errno(p.pwrite(fd, zeros(1), 10000))).toBe('EFBIG');
    expect(ok(p.pwrite(fd, zeros(0), 10000))).toBe(0);
    expect(ok(p.pwrite(fd, zeros(0), 20000))).toBe(0);
    expect(ok(p.pwrite(fd, zeros(1), 9999))).toBe(1);
  });

  it('O_APPEND writes from the end: short, then EFBIG', () => {
    const p = smallKernel().spawn();
    ok(p.setFsizeLimit(10000n));
    const fd = ok(p.open('/f', O_RDWR | O_CREAT | O_APPEND, 0o644));
    ok(p.ftruncate(fd, 9990));
    expect(ok(p.writeFd(fd, zeros(100)))).toBe(10);
    expect(errno(p.writeFd(fd, zeros(100)))).toBe('EFBIG');
  });

  it('a file already past the limit: a write inside it past the limit is EFBIG; a negative offset is EINVAL first', () => {
    const { p, fd } = limited();
    ok(p.setFsizeLimit(-1n));
    ok(p.ftruncate(fd, 50000));
    ok(p.setFsizeLimit(10000n));
    expect(errno(p.pwrite(fd, zeros(1), 20000))).toBe('EFBIG');
    expect(errno(p.pwrite(fd, zeros(1), -1))).toBe('EINVAL');
  });

  it('limit 0 refuses every byte', () => {
    const { p, fd } = limited(0n);
    expect(errno(p.pwrite(fd, zeros(1), 0))).toBe('EFBIG');
    expect(errno(p.ftruncate(fd, 1))).toBe('EFBIG');
    ok(p.ftruncate(fd, 0));
  });
});

describe('RLIMIT_FSIZE and ftruncate, fallocate', () => {
  it('ftruncate may reach the limit, not pass it; shrinking is always allowed', () => {
    const { p, fd } = limited();
    ok(p.ftruncate(fd, 10000));
    expect(errno(p.ftruncate(fd, 10001))).toBe('EFBIG');
    ok(p.ftruncate(fd, 5));
    expect(size(p, fd)).toBe(5);
  });

  it('fallocate past the limit is EFBIG even with KEEP_SIZE; punching a hole and a bad mode are not', () => {
    const { p, fd } = limited();
    ok(p.ftruncate(fd, 5));
    expect(errno(p.fallocate(fd, 0, 0, 10001))).toBe('EFBIG');
    expect(errno(p.fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 10001))).toBe('EFBIG');
    ok(p.fallocate(fd, 0, 0, 10000));
    ok(p.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 5000, 10000));
    expect(errno(p.fallocate(fd, 0x08, 0, 20000))).toBe('EOPNOTSUPP');
  });

  it('growing a file already past the limit is EFBIG; what stays inside it is allowed', () => {
    const { p, fd } = limited();
    ok(p.setFsizeLimit(-1n));
    ok(p.ftruncate(fd, 50000));
    ok(p.setFsizeLimit(10000n));
    ok(p.ftruncate(fd, 40000));
    expect(errno(p.ftruncate(fd, 45000))).toBe('EFBIG');
    ok(p.fallocate(fd, 0, 30000, 100));
  });

  it('EFBIG comes before F_SEAL_GROW, which then cuts writes at its own rule', () => {
    const { p, fd } = limited();
    ok(p.setFsizeLimit(-1n));
    ok(p.ftruncate(fd, 40000));
    ok(p.setFsizeLimit(10000n));
    ok(p.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    expect(errno(p.ftruncate(fd, 50000))).toBe('EFBIG');
    expect(errno(p.pwrite(fd, zeros(2000), 44000))).toBe('EFBIG');
    expect(ok(p.pwrite(fd, zeros(10000), 5000))).toBe(5000);
    expect(errno(p.fallocate(fd, 0, 44000, 2000))).toBe('EFBIG');
    ok(p.fallocate(fd, FALLOC_FL_KEEP_SIZE, 9000, 2000));
  });
});

describe('setFsizeLimit', () => {
  it('raising the soft limit above the hard one needs CAP_SYS_RESOURCE, and raises the hard one', () => {
    const k = smallKernel();
    const root = k.spawn();
    ok(root.setFsizeLimit(4096n));
    expect(root.fsizeRlimit).toEqual({ soft: 4096n, hard: RLIM_INFINITY });
    const user = k.spawn({ uid: 1000, gid: 1000, caps: [] });
    ok(user.setFsizeLimit(4096n));
    ok(user.setFsizeLimit(-1n));
    expect(user.fsizeRlimit.soft).toBe(RLIM_INFINITY);
  });

  it('refuses what is no rlim_t with EINVAL', () => {
    const p = smallKernel().spawn();
    expect(errno(p.setFsizeLimit(-2n))).toBe('EINVAL');
    expect(errno(p.setFsizeLimit(2n ** 64n))).toBe('EINVAL');
    expect(errno(p.setFsizeLimit(5 as unknown as bigint))).toBe('EINVAL');
  });

  it('a forked child inherits it', () => {
    const { p } = limited(4096n);
    const c = ok(p.fork());
    expect(c.fsizeRlimit.soft).toBe(4096n);
    const fd = ok(c.memfdCreate('c', 0));
    expect(ok(c.pwrite(fd, zeros(5000), 0))).toBe(4096);
  });

  it('a checkpoint keeps it, and restore refuses a soft limit above the hard one', () => {
    const kernel = smallKernel();
    const p = kernel.spawn();
    ok(p.setFsizeLimit(4096n));
    const image = ok(checkpoint(kernel));
    const q = ok(restore(image))
      .processes()
      .find((x) => x.pid === p.pid) as Process;
    expect(q.fsizeRlimit).toEqual({ soft: 4096n, hard: RLIM_INFINITY });
    const fd = ok(q.memfdCreate('r', 0));
    expect(ok(q.pwrite(fd, zeros(5000), 0))).toBe(4096);
    const opened = openImage(image);
    const bad = edited(opened.meta, (m: { processes: { pid: number; fsize?: unknown }[] }) => {
      const at = m.processes.findIndex((x) => x.pid === p.pid);
      (m.processes[at] as { fsize?: unknown }).fsize = { soft: '10', hard: '5' };
    });
    const r = restore(reseal(opened, bad));
    const at = (opened.meta as { processes: { pid: number }[] }).processes.findIndex((x) => x.pid === p.pid);
    expect(r._tag === 'Left' && r.left.where).toBe(`metadata.processes[${at}].fsize.soft`);
  });
});
