/**
 * Semaphores through Process, end to end: a semop that would sleep returns
 * a Pending that another process's call settles; semtimedop times out on
 * the kernel's monotonic clock (a fake one here, moved by advanceTime or
 * runTimers); interrupt() is EINTR, IPC_RMID and the namespace's end EIDRM;
 * exit ends the process's waits and applies SEM_UNDO; fork inherits no undo
 * list; unshareIpc applies it on the old namespace.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  GETALL,
  GETNCNT,
  GETPID,
  GETVAL,
  GETZCNT,
  IPC_CREAT,
  IPC_INFO,
  IPC_NOWAIT,
  IPC_PRIVATE,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  Kernel,
  SEM_INFO,
  SEM_STAT,
  SEM_STAT_ANY,
  SEM_UNDO,
  SETALL,
  SETVAL,
  isPending,
} from '../../src/index.js';
import type { Pending, Process, Sembuf, SysError, SysResult } from '../../src/index.js';
import { errno, ok } from '../support/either.js';

const down = (n = 0, flg = 0): Sembuf => ({ semNum: n, semOp: -1, semFlg: flg });
const up = (n = 0, flg = 0): Sembuf => ({ semNum: n, semOp: 1, semFlg: flg });

/** The Pending of a call that must wait. */
function waits<T>(r: SysResult<T>): Pending<E.Either<SysError, T>> {
  if (!isPending(r)) throw new Error(`expected the call to wait, got ${JSON.stringify(r)}`);
  expect(r.state).toBe('pending');
  expect(r.result).toBeUndefined();
  return r;
}

/** The Either of a call that must not wait. */
function now<T>(r: SysResult<T>): E.Either<SysError, T> {
  if (isPending(r)) throw new Error('expected the call to complete at once');
  return r;
}

function fakeKernel(): Kernel {
  return new Kernel({ memTotalBytes: 16 << 20, clock: () => 1000, monotonicClock: () => 0 });
}

function set(p: Process, nsems = 1): number {
  return ok(p.semget(IPC_PRIVATE, nsems, IPC_CREAT | 0o666));
}

const value = (p: Process, id: number, n = 0): number => ok(p.semctl(id, n, GETVAL)).ret;
const ncnt = (p: Process, id: number, n = 0): number => ok(p.semctl(id, n, GETNCNT)).ret;

describe('semop through Process', () => {
  it('a semop that would sleep returns a Pending that another process settles, with done resolving to the same Either', async () => {
    const k = fakeKernel();
    const a = k.spawn();
    const b = k.spawn();
    const id = set(a);
    const pending = waits(a.semop(id, [down()]));
    expect(ncnt(b, id)).toBe(1);
    expect(now(b.semop(id, [up()]))).toEqual(E.right(0));
    expect(pending.state).toBe('settled');
    expect(pending.result).toEqual(E.right(0));
    await expect(pending.done).resolves.toEqual(E.right(0));
    expect([value(a, id), ncnt(a, id), ok(a.semctl(id, 0, GETPID)).ret]).toEqual([0, 0, a.pid]);
  });

  it('a sleeping semop keeps the sops it was called with: later calls of the process and changes to the caller array do not reach it', () => {
    const k = fakeKernel();
    const a = k.spawn();
    const b = k.spawn();
    const id = set(a, 3);
    const sops = [down(0)];
    const pending = waits(a.semop(id, sops));
    // Another one-sop call of the same process, completed at once, and the caller's own array changed.
    expect(now(a.semop(id, [up(1)]))).toEqual(E.right(0));
    sops[0] = down(2);
    expect(now(b.semop(id, [up(0)]))).toEqual(E.right(0));
    expect(pending.result).toEqual(E.right(0));
    expect([value(a, id, 0), value(a, id, 1), value(a, id, 2)]).toEqual([0, 1, 0]);
    expect(ok(a.semctl(id, 0, GETPID)).ret).toBe(a.pid);
  });

  it('completes at once when it can, and IPC_NOWAIT is EAGAIN at once', () => {
    const k = fakeKernel();
    const p = k.spawn();
    const id = set(p);
    expect(now(p.semop(id, [up(), up()]))).toEqual(E.right(0));
    expect(now(p.semop(id, [down(), down()]))).toEqual(E.right(0));
    expect(errno(now(p.semop(id, [down(0, IPC_NOWAIT)])))).toBe('EAGAIN');
  });

  it('semtimedop times out with EAGAIN when the fake monotonic clock passes its deadline, and not before', () => {
    const k = fakeKernel();
    const p = k.spawn();
    const id = set(p);
    const pending = waits(p.semtimedop(id, [down()], { sec: 0, nsec: 50_000_000 }));
    expect(ok(k.advanceTime(49))).toBe(0);
    expect(pending.state).toBe('pending');
    expect(ok(k.advanceTime(1))).toBe(1);
    expect(errno(pending.result as E.Either<SysError, number>)).toBe('EAGAIN');
    expect(ncnt(p, id)).toBe(0);
    expect(k.timers.size).toBe(0);
  });

  it('an injected clock moved by the simulator ends waits at runTimers, in deadline order', () => {
    let t = 1_000;
    const k = new Kernel({ memTotalBytes: 16 << 20, monotonicClock: () => t });
    const p = k.spawn();
    const id = set(p);
    const order: string[] = [];
    const late = waits(p.semtimedop(id, [down()], { sec: 2, nsec: 0 }));
    const early = waits(p.semtimedop(id, [down()], { sec: 1, nsec: 0 }));
    void late.done.then(() => order.push('late'));
    void early.done.then(() => order.push('early'));
    t += 1_500;
    expect(k.runTimers()).toBe(1);
    expect([early.state, late.state]).toEqual(['settled', 'pending']);
    t += 1_000;
    expect(k.runTimers()).toBe(1);
    expect(errno(late.result as E.Either<SysError, number>)).toBe('EAGAIN');
    return Promise.resolve().then(() => expect(order).toEqual(['early', 'late']));
  });

  it('a completion before the deadline wins, and disarms the timer', () => {
    const k = fakeKernel();
    const p = k.spawn();
    const id = set(p);
    const pending = waits(p.semtimedop(id, [down()], { sec: 1, nsec: 0 }));
    expect(k.timers.size).toBe(1);
    ok(p.semctl(id, 0, SETVAL, 1));
    expect(pending.result).toEqual(E.right(0));
    expect(k.timers.size).toBe(0);
    expect(ok(k.advanceTime(5_000))).toBe(0);
  });

  it('a zero timeout that would wait is EAGAIN at once; an invalid one is EINVAL, a non-object EFAULT', () => {
    const k = fakeKernel();
    const p = k.spawn();
    const id = set(p);
    expect(errno(now(p.semtimedop(id, [down()], { sec: 0, nsec: 0 })))).toBe('EAGAIN');
    expect(errno(now(p.semtimedop(id, [down()], { sec: -1, nsec: 0 })))).toBe('EINVAL');
    expect(errno(now(p.semtimedop(id, [down()], { sec: 0, nsec: 1e9 })))).toBe('EINVAL');
    expect(errno(now(p.semtimedop(id, [down()], 5 as never)))).toBe('EFAULT');
    expect(errno(now(p.semtimedop(id, [down()], { sec: 0.5, nsec: 0 })))).toBe('EINVAL');
    expect(ncnt(p, id)).toBe(0);
  });

  it('interrupt() ends every waiting call of the process with EINTR, and only its own', () => {
    const k = fakeKernel();
    const a = k.spawn();
    const b = k.spawn();
    const id = set(a, 2);
    const a1 = waits(a.semop(id, [down(0)]));
    const a2 = waits(a.semtimedop(id, [down(1)], { sec: 10, nsec: 0 }));
    const b1 = waits(b.semop(id, [down(0)]));
    expect(ok(a.interrupt())).toBe(2);
    expect([errno(a1.result!), errno(a2.result!)]).toEqual(['EINTR', 'EINTR']);
    expect(b1.state).toBe('pending');
    expect(k.timers.size).toBe(0);
    expect(ok(a.interrupt())).toBe(0);
    expect(ncnt(a, id, 0)).toBe(1);
  });

  it('IPC_RMID settles every waiter with EIDRM', () => {
    const k = fakeKernel();
    const a = k.spawn();
    const b = k.spawn();
    const id = set(a);
    const w1 = waits(a.semop(id, [down()]));
    const w2 = waits(b.semop(id, [{ semNum: 0, semOp: 0, semFlg: 0 }, down()]));
    ok(b.semctl(id, 0, IPC_RMID));
    expect([errno(w1.result!), errno(w2.result!)]).toEqual(['EIDRM', 'EIDRM']);
    expect(ok(a.interrupt())).toBe(0);
  });

  it('the namespace teardown settles a waiter left there with EIDRM', () => {
    const k = fakeKernel();
    const ns = k.newIpcNamespace();
    const p = ok(k.trySpawn({ ipcNamespace: ns }));
    const other = ok(k.trySpawn({ ipcNamespace: ns }));
    const id = set(p);
    const w = waits(p.semop(id, [down()]));
    // p moves to a fresh namespace (its wait stays on the old one); the old one's last member leaves.
    ok(p.unshareIpc());
    ok(other.exit());
    expect(ns.isDead).toBe(true);
    expect(errno(w.result!)).toBe('EIDRM');
  });

  it('exit ends the process own waits (EINTR), then applies SEM_UNDO and wakes the others', () => {
    const k = fakeKernel();
    const holder = k.spawn();
    const waiter = k.spawn();
    const other = k.spawn();
    const id = set(holder, 2);
    ok(holder.semctl(id, 0, SETVAL, 1));
    expect(now(holder.semop(id, [down(0, SEM_UNDO)]))).toEqual(E.right(0));
    const mine = waits(holder.semop(id, [down(1)]));
    const theirs = waits(waiter.semop(id, [down(0)]));
    ok(holder.exit());
    expect(errno(mine.result!)).toBe('EINTR');
    // The undo gave the semaphore back, and the sleeper took it.
    expect(theirs.result).toEqual(E.right(0));
    expect([value(other, id, 0), ncnt(other, id, 1)]).toEqual([0, 0]);
    expect(errno(holder.semop(id, [up()]) as E.Either<SysError, number>)).toBe('ESRCH');
  });

  it('fork: the child inherits no undo list, so its exit gives nothing back', () => {
    const k = fakeKernel();
    const parent = k.spawn();
    const id = set(parent);
    ok(parent.semctl(id, 0, SETVAL, 5));
    expect(now(parent.semop(id, [down(0, SEM_UNDO)]))).toEqual(E.right(0));
    const child = ok(parent.fork());
    ok(child.exit());
    expect(value(parent, id)).toBe(4);
    ok(parent.exit());
    expect(value(k.spawn(), id)).toBe(5);
  });

  it('exit reads the realtime clock before anything changes: a throw leaves the process, its waits and its undo list as they were', () => {
    let fail = false;
    const k = new Kernel({
      memTotalBytes: 16 << 20,
      monotonicClock: () => 0,
      clock: () => {
        if (fail) throw new Error('clock');
        return 1;
      },
    });
    const p = k.spawn();
    const id = set(p, 2);
    ok(p.semctl(id, 0, SETVAL, 1));
    expect(now(p.semop(id, [down(0, SEM_UNDO)]))).toEqual(E.right(0));
    const w = waits(p.semop(id, [down(1)]));
    fail = true;
    expect(() => p.exit()).toThrow('clock');
    fail = false;
    expect([p.exited, w.state, value(p, id, 0)]).toEqual([false, 'pending', 0]);
    ok(p.exit());
    expect([errno(w.result!), value(k.spawn(), id, 0)]).toEqual(['EINTR', 1]);
  });

  it('unshareIpc applies the undo list on the old namespace (CLONE_NEWIPC implies CLONE_SYSVSEM)', () => {
    const k = fakeKernel();
    const p = k.spawn();
    const observer = k.spawn();
    const id = set(p);
    ok(p.semctl(id, 0, SETVAL, 3));
    expect(now(p.semop(id, [down(0, SEM_UNDO), down(0, SEM_UNDO)]))).toEqual(E.right(0));
    expect(value(observer, id)).toBe(1);
    ok(p.unshareIpc());
    expect(value(observer, id)).toBe(3);
    expect(errno(p.semctl(id, 0, GETVAL))).toBe('EINVAL');
  });

  it('semctl: every command, with semun as a value', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20, clock: () => 77 });
    const p = k.spawn();
    const id = ok(p.semget(0x1234, 3, IPC_CREAT | 0o640));
    expect(ok(p.semctl(id, 0, SETALL, [1, 2, 3]))).toEqual({ ret: 0 });
    expect(ok(p.semctl(id, 0, GETALL)).values).toEqual([1, 2, 3]);
    expect(ok(p.semctl(id, 2, GETVAL)).ret).toBe(3);
    expect(ok(p.semctl(id, 1, GETPID)).ret).toBe(p.pid);
    expect(ok(p.semctl(id, 1, GETZCNT)).ret).toBe(0);
    const ds = ok(p.semctl(id, 0, IPC_STAT)).ds!;
    expect([ds.nsems, ds.ctime, ds.perm.key, ds.perm.mode & 0o777]).toEqual([3, 77, 0x1234, 0o640]);
    expect(ok(p.semctl(id, 0, IPC_SET, { uid: 5, gid: 6, mode: 0o600 }))).toEqual({ ret: 0 });
    expect(ok(p.semctl(id, 0, IPC_STAT)).ds!.perm.uid).toBe(5);
    expect(ok(p.semctl(0, 0, SEM_STAT)).ret).toBe(id);
    expect(ok(p.semctl(0, 0, SEM_STAT_ANY)).ret).toBe(id);
    expect(ok(p.semctl(0, 0, IPC_INFO)).info?.semmsl).toBe(32000);
    expect(ok(p.semctl(0, 0, SEM_INFO)).info?.semaem).toBe(3);
    // semun's refusals: SETVAL needs an int, SETALL ints (too few is EFAULT), IPC_SET an object.
    expect(errno(p.semctl(id, 0, SETVAL, 'x' as never))).toBe('EINVAL');
    expect(errno(p.semctl(id, 0, SETVAL))).toBe('EINVAL');
    expect(errno(p.semctl(id, 0, SETVAL, 40000))).toBe('ERANGE');
    expect(errno(p.semctl(id, 0, SETALL, [1, 2]))).toBe('EFAULT');
    expect(errno(p.semctl(id, 0, SETALL, [1, 1.5, 2]))).toBe('EINVAL');
    expect(errno(p.semctl(id, 0, SETALL))).toBe('EFAULT');
    expect(errno(p.semctl(id, 0, IPC_SET))).toBe('EFAULT');
    expect(errno(p.semctl(id, 0, IPC_SET, { uid: 'a', gid: 0, mode: 0 } as never))).toBe('EINVAL');
    expect(errno(p.semctl(id, 0, 999))).toBe('EINVAL');
    expect(ok(p.semctl(id, 0, IPC_RMID))).toEqual({ ret: 0 });
    expect(errno(p.semctl(id, 0, GETVAL))).toBe('EINVAL');
  });

  it('refuses arguments no C caller could pass: EFAULT for sops that is no array of objects, EINVAL for fields', () => {
    const k = fakeKernel();
    const p = k.spawn();
    const id = set(p);
    expect(errno(now(p.semop(id, 'x' as never)))).toBe('EFAULT');
    expect(errno(now(p.semop(id, [null] as never)))).toBe('EFAULT');
    expect(errno(now(p.semop(id, [{ semNum: 0, semOp: 1.5, semFlg: 0 }])))).toBe('EINVAL');
    expect(errno(now(p.semop(id, [])))).toBe('EINVAL');
    expect(errno(now(p.semop(1.5, [up()])))).toBe('EINVAL');
    expect(errno(p.semget(IPC_PRIVATE, Number.NaN, IPC_CREAT))).toBe('EINVAL');
    expect(value(p, id)).toBe(0);
  });

  it('an injected monotonic clock that throws leaves every set as it was', () => {
    let fail = false;
    const k = new Kernel({
      memTotalBytes: 16 << 20,
      monotonicClock: () => {
        if (fail) throw new Error('clock');
        return 0;
      },
    });
    const p = k.spawn();
    const id = set(p);
    fail = true;
    expect(() => p.semtimedop(id, [down()], { sec: 1, nsec: 0 })).toThrow('clock');
    expect([ncnt(p, id), k.timers.size]).toEqual([0, 0]);
  });
});

describe('the monotonic clock and its timers', () => {
  it('advanceTime refuses what is no duration', () => {
    const k = fakeKernel();
    for (const bad of [-1, Number.NaN, Infinity, '5', 1n]) expect(errno(k.advanceTime(bad as never))).toBe('EINVAL');
    expect(k.monotonicNow()).toBe(0);
    ok(k.advanceTime(2.5));
    expect(k.monotonicNow()).toBe(2.5);
  });

  it('with the host clock, a host timer ends the wait by itself', async () => {
    const k = new Kernel({ memTotalBytes: 16 << 20 });
    const p = k.spawn();
    const id = set(p);
    const started = performance.now();
    const pending = waits(p.semtimedop(id, [down()], { sec: 0, nsec: 30_000_000 }));
    expect(errno(await pending.done)).toBe('EAGAIN');
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(k.timers.size).toBe(0);
  });
});

describe('sysctls of sem and msg', () => {
  it('writes and reads kernel.sem, sem_next_id, msgmax, msgmnb, msgmni, msg_next_id per namespace', () => {
    const k = fakeKernel();
    const ns = k.newIpcNamespace();
    const root = ok(k.trySpawn({ ipcNamespace: ns }));
    ok(k.writeSysctl(ns, 'sem', [250n, 32000n, 32n, 128n]));
    expect(ok(k.readSysctl(ns, 'sem'))).toEqual([250n, 32000n, 32n, 128n]);
    expect(ok(k.readSysctl(k.initialIpcNamespace, 'sem'))).toEqual([32000n, 1024000000n, 500n, 32000n]);
    ok(root.writeSysctl('sem', 10n));
    expect(ok(root.readSysctl('sem'))).toEqual([10n, 32000n, 32n, 128n]);
    ok(root.writeSysctl('sem_next_id', 7n));
    expect(ok(root.semget(IPC_PRIVATE, 1, IPC_CREAT))).toBe(7);
    expect(ok(root.readSysctl('sem_next_id'))).toBe(-1n);
    for (const [name, v] of [
      ['msgmax', 100n],
      ['msgmnb', 200n],
      ['msgmni', 3n],
    ] as const) {
      ok(root.writeSysctl(name, v));
      expect(ok(root.readSysctl(name))).toBe(v);
    }
    ok(root.writeSysctl('msg_next_id', 9n));
    expect(ok(root.msgget(IPC_PRIVATE, IPC_CREAT))).toBe(9);
    expect(ok(root.readSysctl('shmmni'))).toBe(4096n);
  });

  it('refuses unknown names and values of the wrong type with EINVAL; a user is EACCES', () => {
    const k = fakeKernel();
    const ns = k.initialIpcNamespace;
    expect(errno(k.writeSysctl(ns, 'sem', 5 as never))).toBe('EINVAL');
    expect(errno(k.writeSysctl(ns, 'sem', [1n, 2] as never))).toBe('EINVAL');
    expect(errno(k.writeSysctl(ns, 'sem', []))).toBe('EINVAL');
    expect(errno(k.writeSysctl(ns, 'sem', [1n, 2n, 3n, 99999n]))).toBe('ERANGE');
    expect(errno(k.writeSysctl(ns, 'msgmax', 1 as never))).toBe('EINVAL');
    expect(errno(k.writeSysctl(ns, 'msgmni', -1n))).toBe('EINVAL');
    expect(errno(k.writeSysctl(ns, 'sem_next_id', [1n] as never))).toBe('EINVAL');
    expect(errno(k.writeSysctl(ns, 'nope' as never, 1n))).toBe('EINVAL');
    expect(errno(k.readSysctl(ns, 'nope' as never))).toBe('EINVAL');
    expect(errno(k.spawn({ uid: 1000 }).writeSysctl('msgmax', 1n))).toBe('EACCES');
    expect(ok(k.spawn({ uid: 1000 }).readSysctl('msgmax'))).toBe(8192n);
  });
});
