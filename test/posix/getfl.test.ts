/**
 * F_GETFL for every way a descriptor is made, as Linux 6.18 on x86-64
 * answered the same opens (a C program on the machine's kernel, tmpfs
 * files): open keeps the access mode and the status flags, drops O_CREAT,
 * O_EXCL, O_NOCTTY, O_TRUNC and O_CLOEXEC, and adds O_LARGEFILE; shm_open
 * adds O_NOFOLLOW (glibc opens with O_NOFOLLOW | O_CLOEXEC); memfd_create's
 * description is O_RDWR | O_LARGEFILE whatever the flags.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  F_GETFL,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_NOEXEC_SEAL,
  O_APPEND,
  O_ASYNC,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECT,
  O_DIRECTORY,
  O_DSYNC,
  O_EXCL,
  O_NOATIME,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_SYNC,
  O_TRUNC,
  O_WRONLY,
} from '../../src/index.js';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import type { Process } from '../../src/index.js';
import { edited, openImage, reseal } from '../checkpoint/reseal.js';
import { errno, ok } from '../support/either.js';
import { smallKernel, withDevShm } from './helpers.js';

const getfl = (p: Process, fd: number): number => ok(p.fcntl(fd, F_GETFL));

describe('F_GETFL after open', () => {
  it.each([
    ['O_RDONLY', O_RDONLY, 0o100000],
    ['O_WRONLY', O_WRONLY, 0o100001],
    ['O_RDWR', O_RDWR, 0o100002],
    ['O_RDWR|O_APPEND', O_RDWR | O_APPEND, 0o102002],
    ['O_RDWR|O_NONBLOCK', O_RDWR | O_NONBLOCK, 0o104002],
    ['O_RDWR|O_NOFOLLOW', O_RDWR | O_NOFOLLOW, 0o500002],
    ['O_RDWR|O_CLOEXEC', O_RDWR | O_CLOEXEC, 0o100002],
    ['O_RDWR|O_TRUNC', O_RDWR | O_TRUNC, 0o100002],
    ['O_RDWR|O_CREAT', O_RDWR | O_CREAT, 0o100002],
    ['O_RDWR|O_SYNC', O_RDWR | O_SYNC, 0o4110002],
    ['O_RDWR|O_DSYNC', O_RDWR | O_DSYNC, 0o110002],
    ['O_RDWR|O_NOATIME', O_RDWR | O_NOATIME, 0o1100002],
    ['O_RDWR|O_NOCTTY', O_RDWR | O_NOCTTY, 0o100002],
    ['O_RDWR|O_DIRECT', O_RDWR | O_DIRECT, 0o140002],
    ['O_RDWR|O_ASYNC', O_RDWR | O_ASYNC, 0o120002],
    ['access mode 3', 3, 0o100003],
    ['an unused bit (0o4)', O_RDWR | 0o4, 0o100002],
    ['an unused bit (0x40000000)', O_RDWR | 0x40000000, 0o100002],
  ])('%s on a file: 0%o', (_, flags, want) => {
    const p = smallKernel().spawn();
    ok(p.open('/f', O_RDWR | O_CREAT, 0o644));
    expect(getfl(p, ok(p.open('/f', flags)))).toBe(want);
  });

  it('O_CREAT|O_EXCL|O_TRUNC making the file leaves only the access mode', () => {
    const p = smallKernel().spawn();
    expect(getfl(p, ok(p.open('/g', O_RDWR | O_CREAT | O_EXCL | O_TRUNC, 0o644)))).toBe(0o100002);
  });

  it.each([
    ['O_RDONLY|O_DIRECTORY', O_RDONLY | O_DIRECTORY, 0o300000],
    ['O_RDONLY', O_RDONLY, 0o100000],
    ['O_RDONLY|O_NOFOLLOW', O_RDONLY | O_NOFOLLOW, 0o500000],
  ])('%s on a directory: 0%o', (_, flags, want) => {
    const p = smallKernel().spawn();
    ok(p.mkdir('/d', 0o755));
    expect(getfl(p, ok(p.open('/d', flags)))).toBe(want);
  });

  it('O_NOATIME is EPERM on a file the caller does not own, without CAP_FOWNER', () => {
    const k = smallKernel();
    const root = k.spawn();
    ok(root.open('/f', O_RDWR | O_CREAT, 0o644));
    const user = k.spawn({ uid: 1000, gid: 1000, caps: [] });
    expect(errno(user.open('/f', O_RDONLY | O_NOATIME))).toBe('EPERM');
    expect(getfl(user, ok(user.open('/f', O_RDONLY)))).toBe(0o100000);
    expect(getfl(root, ok(root.open('/f', O_RDONLY | O_NOATIME)))).toBe(0o1100000);
  });
});

describe('F_GETFL after shm_open and memfd_create', () => {
  it.each([
    ['O_RDWR|O_CREAT', O_RDWR | O_CREAT, 0o500002],
    ['O_RDONLY', O_RDONLY, 0o500000],
    ['O_RDWR|O_TRUNC', O_RDWR | O_TRUNC, 0o500002],
    ['O_RDWR|O_NONBLOCK', O_RDWR | O_NONBLOCK, 0o504002],
    ['O_RDWR|O_APPEND', O_RDWR | O_APPEND, 0o502002],
  ])('shm_open %s: 0%o', (_, flags, want) => {
    const { p } = withDevShm();
    ok(p.shmOpen('/x', O_RDWR | O_CREAT, 0o600));
    expect(getfl(p, ok(p.shmOpen('/x', flags, 0)))).toBe(want);
  });

  it('shm_open of "." read-only opens /dev/shm itself: 0500000', () => {
    const { p } = withDevShm();
    expect(getfl(p, ok(p.shmOpen('/.', O_RDONLY, 0)))).toBe(0o500000);
  });

  it.each([0, MFD_CLOEXEC | MFD_ALLOW_SEALING, MFD_NOEXEC_SEAL])('memfd_create flags %i: 0100002', (flags) => {
    const p = smallKernel().spawn();
    expect(getfl(p, ok(p.memfdCreate('m', flags)))).toBe(0o100002);
  });
});

describe('F_GETFL across a checkpoint', () => {
  it('keeps O_NOFOLLOW, O_NONBLOCK and O_APPEND of each description', () => {
    const { kernel, p } = withDevShm();
    const a = ok(p.shmOpen('/x', O_RDWR | O_CREAT | O_NONBLOCK, 0o600));
    const b = ok(p.open('/dev/shm/x', O_WRONLY | O_APPEND | O_SYNC));
    const m = ok(p.memfdCreate('m', 0));
    const image = ok(checkpoint(kernel));
    const k2 = ok(restore(image));
    const q = k2.processes().find((x) => x.pid === p.pid) as Process;
    expect([getfl(q, a), getfl(q, b), getfl(q, m)]).toEqual([0o504002, 0o4112001, 0o100002]);
  });

  it('restore refuses status flags no open keeps, and ones readable, writable and append already say', () => {
    const { kernel, p } = withDevShm();
    ok(p.shmOpen('/x', O_RDWR | O_CREAT, 0o600));
    const opened = openImage(ok(checkpoint(kernel)));
    type Meta = { openFiles: { path: string; statusFlags?: number }[] };
    const at = (opened.meta as Meta).openFiles.findIndex((f) => f.path === '/dev/shm/x');
    expect((opened.meta as Meta).openFiles[at]!.statusFlags).toBe(O_NOFOLLOW);
    for (const bad of [O_NOFOLLOW | O_CREAT, O_NOFOLLOW | O_APPEND, O_RDWR, 0o40000000]) {
      const image = reseal(
        opened,
        edited(opened.meta, (m: Meta) => (m.openFiles[at]!.statusFlags = bad)),
      );
      const r = restore(image);
      expect(E.isLeft(r) && r.left.where).toBe(`metadata.openFiles[${at}].statusFlags`);
    }
  });
});
