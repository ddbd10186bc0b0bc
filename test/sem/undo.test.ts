/** SEM_UNDO: semadj bookkeeping, its resets, exit_sem, fork and CLONE_SYSVSEM. */
import { describe, expect, it } from 'vitest';
import { IPC_PRIVATE, IPC_RMID, IPC_STAT } from '../../src/abi/constants.js';
import { GETPID, GETVAL, SEMVMX, SEM_UNDO, SETALL, SETVAL } from '../../src/abi/sem.js';
import { exitSem } from '../../src/sem/exit.js';
import { semctl, semget, semop } from '../../src/sem/syscalls.js';
import { copySemundo } from '../../src/sem/undo.js';
import { errno, ok } from '../support/either.js';
import { Log, setup, sop } from './support.js';

function fresh(nsems: number) {
  const t = setup();
  const admin = t.task({ pid: 1 });
  const id = ok(semget(admin, IPC_PRIVATE, nsems, 0o666));
  const val = (i = 0) => ok(semctl(admin, id, i, GETVAL)).ret;
  return { t, admin, id, val };
}

describe('SEM_UNDO at exit', () => {
  it("undoes a process's SEM_UNDO operations and sets sempid to it", () => {
    const { t, admin, id, val } = fresh(2);
    const p = t.task({ pid: 42 });
    ok(semop(p, id, [sop(0, 3, SEM_UNDO), sop(1, 2)]));
    ok(semop(admin, id, [sop(0, 1)]));
    exitSem(p.sysvsem, 42);
    expect([val(0), val(1)]).toEqual([1, 2]);
    expect(ok(semctl(admin, id, 0, GETPID)).ret).toBe(42);
    expect(ok(semctl(admin, id, 1, GETPID)).ret).toBe(42);
  });

  it('clamps at 0 and does not block: +5 undone after someone drained 3 leaves 0, not -3', () => {
    const { t, admin, id, val } = fresh(1);
    const p = t.task({ pid: 42 });
    ok(semop(p, id, [sop(0, 5, SEM_UNDO)]));
    ok(semop(admin, id, [sop(0, -3)]));
    exitSem(p.sysvsem, 42);
    expect(val()).toBe(0);
  });

  it('clamps at SEMVMX', () => {
    const { t, admin, id, val } = fresh(1);
    const p = t.task({ pid: 42 });
    ok(semctl(admin, id, 0, SETVAL, { val: 5 }));
    ok(semop(p, id, [sop(0, -5, SEM_UNDO)]));
    ok(semctl(admin, id, 0, SETALL, { array: [SEMVMX] }));
    // SETALL zeroed the adjustment: nothing to undo.
    exitSem(p.sysvsem, 42);
    expect(val()).toBe(SEMVMX);
    const q = t.task({ pid: 43 });
    ok(semop(q, id, [sop(0, -2, SEM_UNDO)]));
    ok(semop(admin, id, [sop(0, 2)]));
    exitSem(q.sysvsem, 43);
    expect(val()).toBe(SEMVMX);
  });

  it('wakes the waiters the undo lets through', () => {
    const { t, admin, id } = fresh(1);
    const p = t.task({ pid: 42 });
    const log = new Log();
    ok(semop(p, id, [sop(0, 1, SEM_UNDO)]));
    semop(admin, id, [sop(0, 0)], log.cb('zero'));
    exitSem(p.sysvsem, 42);
    expect(log.entries).toEqual(['zero:0']);
  });

  it('sets sem_otime (of semaphore 0) even when every adjustment is 0', () => {
    const { t, admin, id } = fresh(2);
    const p = t.task({ pid: 42 });
    ok(semop(p, id, [sop(1, 1, SEM_UNDO)]));
    ok(semop(p, id, [sop(1, -1, SEM_UNDO)]));
    t.now = 5000;
    exitSem(p.sysvsem, 42);
    expect(ok(semctl(admin, id, 0, IPC_STAT)).ds!.otime).toBe(5000);
  });

  it('a failed SEM_UNDO semop still leaves an undo entry, which exit_sem visits (sets otime)', () => {
    const { t, admin, id } = fresh(1);
    const p = t.task({ pid: 42 });
    expect(errno(semop(p, id, [sop(5, 1, SEM_UNDO)]))).toBe('EFBIG');
    expect(p.sysvsem.undoList?.entries).toHaveLength(1);
    t.now = 7000;
    exitSem(p.sysvsem, 42);
    expect(ok(semctl(admin, id, 0, IPC_STAT)).ds!.otime).toBe(7000);
  });

  it("SETVAL clears that semaphore's adjustment in every process: the value stays", () => {
    const { t, admin, id, val } = fresh(2);
    const p = t.task({ pid: 42 });
    ok(semctl(admin, id, 0, SETVAL, { val: 1 }));
    ok(semop(p, id, [sop(0, -1, SEM_UNDO), sop(1, 1, SEM_UNDO)]));
    ok(semctl(admin, id, 0, SETVAL, { val: 5 }));
    exitSem(p.sysvsem, 42);
    expect([val(0), val(1)]).toEqual([5, 0]);
  });

  it('IPC_RMID invalidates the entries: exit skips them, and a set reusing the id is untouched', () => {
    const { t, admin, id } = fresh(1);
    const p = t.task({ pid: 42 });
    ok(semop(p, id, [sop(0, 1, SEM_UNDO)]));
    ok(semctl(admin, id, 0, IPC_RMID));
    expect(p.sysvsem.undoList?.entries).toHaveLength(0);
    t.limits.semNextId = id;
    const again = ok(semget(admin, IPC_PRIVATE, 1, 0o666));
    expect(again).toBe(id);
    exitSem(p.sysvsem, 42);
    expect(ok(semctl(admin, again, 0, GETVAL)).ret).toBe(0);
  });

  it('the adjustments of several sets are applied, most recently used set first', () => {
    const { t, admin } = fresh(1);
    const a = ok(semget(admin, IPC_PRIVATE, 1, 0o666));
    const b = ok(semget(admin, IPC_PRIVATE, 1, 0o666));
    const p = t.task({ pid: 42 });
    ok(semop(p, a, [sop(0, 1, SEM_UNDO)]));
    ok(semop(p, b, [sop(0, 1, SEM_UNDO)]));
    const log = new Log();
    semop(admin, a, [sop(0, 0)], log.cb('a'));
    semop(admin, b, [sop(0, 0)], log.cb('b'));
    exitSem(p.sysvsem, 42);
    expect(log.entries).toEqual(['b:0', 'a:0']);
  });
});

describe('undo lists across clone', () => {
  it("fork: the child starts with no undo list and its exit undoes nothing of the parent's", () => {
    const { t, id, val } = fresh(1);
    const parent = t.task({ pid: 42 });
    ok(semop(parent, id, [sop(0, 2, SEM_UNDO)]));
    const child = t.task({ pid: 43 });
    copySemundo(parent.sysvsem, child.sysvsem, false);
    expect(child.sysvsem.undoList).toBeUndefined();
    exitSem(child.sysvsem, 43);
    expect(val()).toBe(2);
    exitSem(parent.sysvsem, 42);
    expect(val()).toBe(0);
  });

  it('CLONE_SYSVSEM: threads share the list, and only the last to exit applies it (LTP semop05)', () => {
    const { t, id, val } = fresh(1);
    const main = t.task({ pid: 42 });
    const thread = t.task({ pid: 42 });
    copySemundo(main.sysvsem, thread.sysvsem, true);
    expect(thread.sysvsem.undoList).toBe(main.sysvsem.undoList);
    ok(semop(thread, id, [sop(0, 1, SEM_UNDO)]));
    exitSem(thread.sysvsem, 42);
    expect(val()).toBe(1);
    exitSem(main.sysvsem, 42);
    expect(val()).toBe(0);
  });

  it('unshare(CLONE_NEWIPC) is exit_sem in the old namespace: applied at once, and the task starts afresh', () => {
    const { t, id, val } = fresh(1);
    const p = t.task({ pid: 42 });
    ok(semop(p, id, [sop(0, 4, SEM_UNDO)]));
    exitSem(p.sysvsem, 42);
    expect(val()).toBe(0);
    expect(p.sysvsem.undoList).toBeUndefined();
  });
});
