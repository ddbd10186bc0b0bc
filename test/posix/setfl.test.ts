/**
 * F_SETFL on tmpfs, as setfl (fs/fcntl.c) answered on Linux 6.18 x86-64:
 * O_APPEND, O_NONBLOCK, O_DIRECT and O_NOATIME come from the argument, the
 * rest of f_flags stays; O_NOATIME newly set needs the owner or CAP_FOWNER;
 * O_DIRECT needs FMODE_CAN_ODIRECT, which a tmpfs regular file opened by
 * path has and a directory or a memfd lacks (open of a directory with
 * O_DIRECT is EINVAL too); O_ASYNC changes nothing. examples/fcntl-setfl.scn
 * runs the same steps on both backends.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { F_GETFL, F_SETFL, O_APPEND, O_ASYNC, O_CREAT, O_DIRECT, O_DIRECTORY, O_NOATIME, O_NONBLOCK, O_RDONLY, O_RDWR, SEEK_CUR } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { errno, ok } from '../support/either.js';
import { bytes, smallKernel } from './helpers.js';

const getfl = (p: Process, fd: number): number => ok(p.fcntl(fd, F_GETFL));

describe('F_SETFL', () => {
  it('sets the four flags from the argument and keeps the rest; O_APPEND moves writes to the end', () => {
    const p = smallKernel().spawn();
    const fd = ok(p.open('/f', O_RDWR | O_CREAT | O_NONBLOCK));
    ok(p.writeFd(fd, bytes(1, 2, 3)));
    expect(getfl(p, fd)).toBe(0o104002);
    expect(ok(p.fcntl(fd, F_SETFL, O_APPEND | O_ASYNC | O_CREAT))).toBe(0);
    expect(getfl(p, fd)).toBe(0o102002);
    ok(p.lseek(fd, 0, 0));
    ok(p.writeFd(fd, bytes(4)));
    expect(ok(p.lseek(fd, 0, SEEK_CUR))).toBe(4);
    ok(p.fcntl(fd, F_SETFL, 0));
    ok(p.lseek(fd, 0, 0));
    ok(p.writeFd(fd, bytes(9)));
    expect([...ok(p.pread(fd, 8, 0))]).toEqual([9, 2, 3, 4]);
    ok(p.fcntl(fd, F_SETFL, -1));
    expect(getfl(p, fd)).toBe(0o1146002);
  });

  it('refuses O_DIRECT without FMODE_CAN_ODIRECT and O_NOATIME for another owner', () => {
    const k = smallKernel();
    const root = k.spawn();
    ok(root.mkdir('/d'));
    expect(errno(root.open('/d', O_RDONLY | O_DIRECTORY | O_DIRECT))).toBe('EINVAL');
    const d = ok(root.open('/d', O_RDONLY | O_DIRECTORY));
    expect(errno(root.fcntl(d, F_SETFL, O_DIRECT))).toBe('EINVAL');
    const m = ok(root.memfdCreate('m', 0));
    expect(errno(root.fcntl(m, F_SETFL, -1))).toBe('EINVAL');
    expect(getfl(root, m)).toBe(0o100002);
    ok(root.open('/f', O_RDWR | O_CREAT, 0o644));
    const user = k.spawn({ uid: 1000, gid: 1000, caps: [] });
    const uf = ok(user.open('/f', O_RDONLY));
    expect(errno(user.fcntl(uf, F_SETFL, O_NOATIME))).toBe('EPERM');
    expect(ok(user.fcntl(uf, F_SETFL, O_DIRECT | O_NONBLOCK))).toBe(0);
    expect(getfl(user, uf)).toBe(0o144000);
    expect(errno(user.fcntl(-1, F_SETFL, 0))).toBe('EBADF');
  });

  it('acts on the description, which fork shares and a checkpoint keeps', () => {
    const kernel = smallKernel();
    const p = kernel.spawn();
    const fd = ok(p.open('/f', O_RDWR | O_CREAT));
    const child = ok(p.fork());
    ok(child.fcntl(fd, F_SETFL, O_APPEND | O_DIRECT));
    expect(getfl(p, fd)).toBe(0o142002);
    const restored = ok(restore(ok(checkpoint(kernel))));
    expect(checkInvariants(restored)).toEqual(E.right(undefined));
    const q = restored.processes().find((x) => x.pid === p.pid) as Process;
    expect(getfl(q, fd)).toBe(0o142002);
    ok(q.fcntl(fd, F_SETFL, O_DIRECT));
    expect(getfl(q, fd)).toBe(0o140002);
    const m = ok(q.memfdCreate('m', 0));
    expect(errno(q.fcntl(m, F_SETFL, O_DIRECT))).toBe('EINVAL');
  });
});
