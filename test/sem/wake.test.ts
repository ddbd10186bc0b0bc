/**
 * Blocking as data: which queue a sleeping semop joins, who a change
 * completes and in which order, GETNCNT/GETZCNT, and the ends of a wait
 * (EIDRM, EINTR, EAGAIN).
 */
import { describe, expect, it } from 'vitest';
import { IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_STAT } from '../../src/abi/constants.js';
import { GETNCNT, GETVAL, GETZCNT, SEMVMX, SETALL, SETVAL } from '../../src/abi/sem.js';
import { semctl, semget, semop } from '../../src/sem/syscalls.js';
import { errno, ok } from '../support/either.js';
import { Log, setup, sop, waiter } from './support.js';

function fresh(nsems: number) {
  const t = setup();
  const p = t.task();
  const id = ok(semget(p, IPC_PRIVATE, nsems, 0o600));
  return { t, p, id, log: new Log() };
}

describe('a semop that must sleep', () => {
  it('returns a queued waiter; a later +1 performs its -1 and completes it with 0 (gVisor SemOpBlock)', () => {
    const { p, id, log } = fresh(1);
    const w = waiter(semop(p, id, [sop(0, -1)], log.cb('a')));
    expect(w.queued).toBe(true);
    expect(log.entries).toEqual([]);
    expect(ok(semop(p, id, [sop(0, 1)]))).toBe(0);
    expect(log.entries).toEqual(['a:0']);
    expect(w.queued).toBe(false);
    expect(ok(semctl(p, id, 0, GETVAL)).ret).toBe(0);
  });

  it('performs queued decrements in FIFO order, as far as the value goes', () => {
    const { p, id, log } = fresh(1);
    for (const n of ['a', 'b', 'c']) semop(p, id, [sop(0, -1)], log.cb(n));
    ok(semop(p, id, [sop(0, 2)]));
    expect(log.entries).toEqual(['a:0', 'b:0']);
    ok(semop(p, id, [sop(0, 1)]));
    expect(log.entries).toEqual(['a:0', 'b:0', 'c:0']);
  });

  it('skips a waiter that still cannot go on and serves the ones behind it (not fair across demands)', () => {
    const { p, id, log } = fresh(1);
    semop(p, id, [sop(0, -3)], log.cb('big'));
    semop(p, id, [sop(0, -1)], log.cb('small'));
    ok(semop(p, id, [sop(0, 2)]));
    expect(log.entries).toEqual(['small:0']);
    ok(semop(p, id, [sop(0, 2)]));
    expect(log.entries).toEqual(['small:0', 'big:0']);
  });

  it('wakes every wait-for-zero when the value reaches 0, in FIFO order (gVisor SemopGetzcnt)', () => {
    const { p, id, log } = fresh(1);
    ok(semop(p, id, [sop(0, 1)]));
    for (const n of ['z1', 'z2', 'z3']) semop(p, id, [sop(0, 0)], log.cb(n));
    expect(ok(semctl(p, id, 0, GETZCNT)).ret).toBe(3);
    ok(semop(p, id, [sop(0, -1)]));
    expect(log.entries).toEqual(['z1:0', 'z2:0', 'z3:0']);
    expect(ok(semctl(p, id, 0, GETZCNT)).ret).toBe(0);
  });

  it("a completed decrement's own zero waiters complete before it does", () => {
    const { p, id, log } = fresh(2);
    ok(semop(p, id, [sop(1, 1)]));
    semop(p, id, [sop(1, 0)], log.cb('zero1'));
    semop(p, id, [sop(0, -1), sop(1, -1)], log.cb('complex'));
    ok(semop(p, id, [sop(0, 1)]));
    expect(log.entries).toEqual(['zero1:0', 'complex:0']);
  });

  it('after SETALL, scans the semaphores 0..n-1 in index order, each queue FIFO', () => {
    const { p, id, log } = fresh(3);
    semop(p, id, [sop(2, -1)], log.cb('s2'));
    semop(p, id, [sop(1, -1)], log.cb('s1'));
    semop(p, id, [sop(0, -1)], log.cb('s0a'));
    semop(p, id, [sop(0, -1)], log.cb('s0b'));
    ok(semctl(p, id, 0, SETVAL, { val: 1 }));
    expect(log.entries).toEqual(['s0a:0']);
    ok(semop(p, id, [sop(1, 5)]));
    expect(log.entries).toEqual(['s0a:0', 's1:0']);
    log.entries.length = 0;
    // s2 queued before s0b, but SETALL has no sops: semaphore 0's queue is looked at first.
    ok(semctl(p, id, 0, SETALL, { array: [2, 1, 1] }));
    expect(log.entries).toEqual(['s0b:0', 's2:0']);
  });

  it('a SETVAL that is too small wakes nobody; a large one completes the waiter (gVisor SemCtlVal)', () => {
    const { p, id, log } = fresh(1);
    semop(p, id, [sop(0, -10)], log.cb('w'));
    ok(semctl(p, id, 0, SETVAL, { val: 9 }));
    expect(log.entries).toEqual([]);
    ok(semctl(p, id, 0, SETVAL, { val: 20 }));
    expect(log.entries).toEqual(['w:0']);
    expect(ok(semctl(p, id, 0, GETVAL)).ret).toBe(10);
    semop(p, id, [sop(0, 0)], log.cb('z'));
    ok(semctl(p, id, 0, SETVAL, { val: 0 }));
    expect(log.entries).toEqual(['w:0', 'z:0']);
  });

  it('sets sem_otime when a SETVAL completes a waiter, and not otherwise', () => {
    const { t, p, id, log } = fresh(1);
    semop(p, id, [sop(0, -1)], log.cb('w'));
    t.now = 2000;
    ok(semctl(p, id, 0, SETVAL, { val: 0 }));
    expect(ok(semctl(p, id, 0, IPC_STAT)).ds!.otime).toBe(0);
    t.now = 3000;
    ok(semctl(p, id, 0, SETVAL, { val: 1 }));
    expect(ok(semctl(p, id, 0, IPC_STAT)).ds!.otime).toBe(3000);
  });

  it("records the waiter's pid as sempid when a waker performs its operation", () => {
    const t = setup();
    const waiterTask = t.task({ pid: 50 });
    const waker = t.task({ pid: 60 });
    const id = ok(semget(waiterTask, IPC_PRIVATE, 1, 0o600));
    semop(waiterTask, id, [sop(0, -1)]);
    ok(semop(waker, id, [sop(0, 1)]));
    expect(ok(semctl(waker, id, 0, 11)).ret).toBe(50);
  });
});

describe('complex operations and the global queues', () => {
  it('a complex op merges the per-semaphore queues (last semaphore first) and keeps FIFO from then on', () => {
    const { p, id, log } = fresh(2);
    semop(p, id, [sop(0, -1)], log.cb('a0'));
    semop(p, id, [sop(1, -1)], log.cb('b1'));
    semop(p, id, [sop(0, -1)], log.cb('c0'));
    semop(p, id, [sop(0, -1), sop(1, -1)], log.cb('complex'));
    semop(p, id, [sop(1, -1)], log.cb('d1'));
    // The global list now holds b1, a0, c0, complex, d1: semaphore 1's queue was spliced in front of 0's.
    ok(semctl(p, id, 0, SETALL, { array: [2, 2] }));
    expect(log.entries).toEqual(['b1:0', 'a0:0', 'c0:0', 'd1:0']);
    ok(semop(p, id, [sop(0, 1), sop(1, 1)]));
    expect(log.entries).toEqual(['b1:0', 'a0:0', 'c0:0', 'd1:0', 'complex:0']);
  });

  it('GETNCNT and GETZCNT count a complex waiter only on the semaphore of its first blocking sop', () => {
    const { p, id } = fresh(3);
    ok(semop(p, id, [sop(2, 1)]));
    semop(p, id, [sop(0, 1), sop(1, -1), sop(2, -2)]);
    semop(p, id, [sop(2, 0), sop(1, 0)]);
    semop(p, id, [sop(1, -1)]);
    expect([0, 1, 2].map((i) => ok(semctl(p, id, i, GETNCNT)).ret)).toEqual([0, 2, 0]);
    expect([0, 1, 2].map((i) => ok(semctl(p, id, i, GETZCNT)).ret)).toEqual([0, 0, 1]);
  });

  it('a re-evaluated waiter that now fails on an IPC_NOWAIT sop completes with EAGAIN', () => {
    const { p, id, log } = fresh(2);
    semop(p, id, [sop(0, -1), sop(1, 0, IPC_NOWAIT)], log.cb('w'));
    ok(semop(p, id, [sop(1, 1)]));
    ok(semop(p, id, [sop(0, 1)]));
    expect(log.entries).toEqual(['w:EAGAIN']);
    expect(ok(semctl(p, id, 0, GETVAL)).ret).toBe(1);
  });

  it('a re-evaluated waiter that would now pass SEMVMX completes with ERANGE', () => {
    const { p, id, log } = fresh(2);
    semop(p, id, [sop(0, -1), sop(1, 1)], log.cb('w'));
    ok(semctl(p, id, 1, SETVAL, { val: SEMVMX }));
    ok(semop(p, id, [sop(0, 1)]));
    expect(log.entries).toEqual(['w:ERANGE']);
  });
});

describe('the end of a wait', () => {
  it('IPC_RMID completes every waiter with EIDRM: global zero, global alter, then per semaphore zero and alter (LTP semop03, gVisor SemOpRemoveWithWaiter)', () => {
    const { p, id, log } = fresh(2);
    ok(semop(p, id, [sop(1, 1)]));
    semop(p, id, [sop(0, -1)], log.cb('alter0'));
    semop(p, id, [sop(1, 0)], log.cb('zero1'));
    semop(p, id, [sop(0, 0), sop(1, 0)], log.cb('complexZero'));
    semop(p, id, [sop(0, -1), sop(1, -1)], log.cb('complexAlter'));
    ok(semctl(p, id, 0, IPC_RMID));
    expect(log.entries).toEqual(['complexZero:EIDRM', 'alter0:EIDRM', 'complexAlter:EIDRM', 'zero1:EIDRM']);
    expect(errno(semctl(p, id, 0, GETZCNT))).toBe('EINVAL');
  });

  it('interrupt() ends a queued wait with EINTR and GETNCNT drops back (LTP semop03, gVisor SemopGetncntOnSignal)', () => {
    const { p, id, log } = fresh(1);
    const w = waiter(semop(p, id, [sop(0, -1)], log.cb('w')));
    expect(ok(semctl(p, id, 0, GETNCNT)).ret).toBe(1);
    expect(w.interrupt()).toBe(true);
    expect(log.entries).toEqual(['w:EINTR']);
    expect(ok(semctl(p, id, 0, GETNCNT)).ret).toBe(0);
    ok(semop(p, id, [sop(0, 1)]));
    expect(ok(semctl(p, id, 0, GETVAL)).ret).toBe(1);
  });

  it('timeOut() ends a queued wait with EAGAIN (LTP semop02 semtimedop, gVisor SemTimedOpBlock)', () => {
    const { p, id, log } = fresh(1);
    const w = waiter(semop(p, id, [sop(0, 0 - 1)], log.cb('w')));
    expect(w.timeOut()).toBe(true);
    expect(log.entries).toEqual(['w:EAGAIN']);
    expect(w.result?._tag).toBe('Left');
  });

  it('a completed operation beats a later signal or timeout', () => {
    const { p, id, log } = fresh(1);
    const w = waiter(semop(p, id, [sop(0, -1)], log.cb('w')));
    ok(semop(p, id, [sop(0, 1)]));
    expect(w.interrupt()).toBe(false);
    expect(w.timeOut()).toBe(false);
    expect(log.entries).toEqual(['w:0']);
  });

  it('a complex waiter interrupted leaves complex mode: later single waiters queue per semaphore again', () => {
    const { p, id, log } = fresh(2);
    const c = waiter(semop(p, id, [sop(0, -1), sop(1, -1)], log.cb('c')));
    semop(p, id, [sop(1, -1)], log.cb('s1'));
    expect(c.interrupt()).toBe(true);
    semop(p, id, [sop(0, -1)], log.cb('s0'));
    ok(semctl(p, id, 0, SETALL, { array: [1, 1] }));
    expect(log.entries).toEqual(['c:EINTR', 's0:0', 's1:0']);
  });

  it('onComplete set after the call receives the result', () => {
    const { p, id } = fresh(1);
    const w = waiter(semop(p, id, [sop(0, -1)]));
    const seen: string[] = [];
    w.onComplete((r) => seen.push(r._tag));
    ok(semop(p, id, [sop(0, 1)]));
    expect(seen).toEqual(['Right']);
  });

  it('a callback may call semop again: it runs after the locks are released', () => {
    const { p, id, log } = fresh(1);
    semop(p, id, [sop(0, -1)], () => {
      log.entries.push('first');
      semop(p, id, [sop(0, 1)]);
    });
    semop(p, id, [sop(0, -1)], log.cb('second'));
    ok(semop(p, id, [sop(0, 1)]));
    expect(log.entries).toEqual(['first', 'second:0']);
  });

  it('ten zero-waiters counted, released by SETVAL 0, then GETZCNT 0 (gVisor SemopGetzcnt; LTP semctl01 GETZCNT)', () => {
    const { p, id, log } = fresh(1);
    ok(semctl(p, id, 0, SETVAL, { val: 1 }));
    for (let i = 0; i < 10; i += 1) semop(p, id, [sop(0, 0)], log.cb(`z${i}`));
    expect(ok(semctl(p, id, 0, GETZCNT)).ret).toBe(10);
    ok(semctl(p, id, 0, SETVAL, { val: 0 }));
    expect(log.entries).toHaveLength(10);
    expect(ok(semctl(p, id, 0, GETZCNT)).ret).toBe(0);
  });

  it('ten -1 waiters counted, released by SETVAL 10 (gVisor SemopGetncnt; LTP semctl01 GETNCNT)', () => {
    const { p, id, log } = fresh(1);
    for (let i = 0; i < 10; i += 1) semop(p, id, [sop(0, -1)], log.cb(`n${i}`));
    expect(ok(semctl(p, id, 0, GETNCNT)).ret).toBe(10);
    ok(semctl(p, id, 0, SETVAL, { val: 10 }));
    expect(log.entries).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}:0`));
    expect(ok(semctl(p, id, 0, GETNCNT)).ret).toBe(0);
  });

  it("the namespace's end wakes waiters with EIDRM", () => {
    const { t, p, id, log } = fresh(1);
    semop(p, id, [sop(0, -1)], log.cb('w'));
    t.reg.release();
    expect(log.entries).toEqual(['w:EIDRM']);
    expect(errno(semctl(p, id, 0, GETVAL))).toBe('EINVAL');
  });
});
