import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_INFO, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import {
  GETALL,
  GETNCNT,
  GETPID,
  GETVAL,
  GETZCNT,
  SEMAEM,
  SEMMNI,
  SEMMNS,
  SEMMSL,
  SEMOPM,
  SEMUSZ,
  SEMVMX,
  SEM_INFO,
  SEM_STAT,
  SEM_STAT_ANY,
  SEM_UNDO,
  SETALL,
  SETVAL,
} from '../../src/abi/sem.js';
import { semctl, semget, semop } from '../../src/sem/syscalls.js';
import { errno, ok } from '../support/either.js';
import { setup, sop } from './support.js';

describe('semctl: common checks', () => {
  it('a negative id is EINVAL for every command, IPC_INFO and SEM_INFO too', () => {
    const t = setup();
    for (const cmd of [IPC_INFO, SEM_INFO, IPC_STAT, GETVAL, SETVAL, GETALL, IPC_RMID, SEM_STAT_ANY]) {
      expect(errno(semctl(t.task(), -1, 0, cmd, { val: 1 }))).toBe('EINVAL');
    }
  });

  it('an unknown command, a negative one too, is EINVAL (LTP semctl03)', () => {
    const t = setup();
    const id = ok(semget(t.task(), IPC_PRIVATE, 1, 0o600));
    for (const cmd of [-1, 4, 5, 10, 21, 99, IPC_STAT | 0x100]) expect(errno(semctl(t.task(), id, 0, cmd))).toBe('EINVAL');
  });
});

describe('IPC_INFO and SEM_INFO', () => {
  it('IPC_INFO gives the limits with SEMUSZ and SEMAEM, and the highest index in use (gVisor IpcInfo)', () => {
    const t = setup();
    const nobody = t.task({ uid: 65534 });
    expect(ok(semctl(nobody, 0, 0, IPC_INFO))).toEqual({
      ret: 0,
      info: {
        semmap: SEMMNS,
        semmni: SEMMNI,
        semmns: SEMMNS,
        semmnu: SEMMNS,
        semmsl: SEMMSL,
        semopm: SEMOPM,
        semume: SEMOPM,
        semusz: SEMUSZ,
        semvmx: SEMVMX,
        semaem: SEMAEM,
      },
    });
    for (let i = 0; i < 5; i += 1) ok(semget(t.task(), IPC_PRIVATE, 3, 0o600));
    expect(ok(semctl(nobody, 12345, 0, IPC_INFO)).ret).toBe(4);
  });

  it('SEM_INFO counts sets in semusz and semaphores in semaem (LTP semctl01, gVisor SemInfo)', () => {
    const t = setup();
    for (let i = 0; i < 5; i += 1) ok(semget(t.task(), IPC_PRIVATE, 3, 0o600));
    const r = ok(semctl(t.task(), 0, 0, SEM_INFO));
    expect(r.info!.semusz).toBe(5);
    expect(r.info!.semaem).toBe(15);
    expect(r.ret).toBe(4);
  });
});

describe('IPC_STAT, SEM_STAT, SEM_STAT_ANY', () => {
  it('IPC_STAT needs read, even for the owner; a bad id is EINVAL (LTP semctl02, semctl03, gVisor SemCtlIpcStat)', () => {
    const t = setup();
    const owner = t.task({ uid: 1000 });
    const id = ok(semget(owner, IPC_PRIVATE, 1, 0o200));
    expect(errno(semctl(owner, id, 0, IPC_STAT))).toBe('EACCES');
    expect(errno(semctl(owner, id + 1, 0, IPC_STAT))).toBe('EINVAL');
  });

  it('SEM_STAT takes an index and returns the full id; SEM_STAT_ANY skips the permission check (LTP semctl09, gVisor IpcInfo)', () => {
    const t = setup();
    const owner = t.task({ uid: 1000 });
    const nobody = t.task({ uid: 65534 });
    for (let i = 0; i < 64; i += 1) ok(semctl(owner, ok(semget(owner, IPC_PRIVATE, 1, 0o600)), 0, IPC_RMID));
    const id = ok(semget(owner, IPC_PRIVATE, 2, 0o600));
    expect(id).toBe(32768);
    const stat = ok(semctl(owner, 0, 0, SEM_STAT));
    expect(stat.ret).toBe(id);
    expect(stat.ds).toEqual(ok(semctl(owner, id, 0, IPC_STAT)).ds);
    expect(errno(semctl(owner, 1, 0, SEM_STAT))).toBe('EINVAL');
    expect(errno(semctl(nobody, 0, 0, SEM_STAT))).toBe('EACCES');
    expect(ok(semctl(nobody, 0, 0, SEM_STAT_ANY)).ret).toBe(id);
    expect(errno(semctl(nobody, id, 0, IPC_STAT))).toBe('EACCES');
  });
});

describe('GETVAL, GETPID, GETNCNT, GETZCNT, GETALL', () => {
  it('check permission before semnum (EACCES beats EINVAL)', () => {
    const t = setup();
    const owner = t.task({ uid: 1000 });
    const other = t.task({ uid: 2000 });
    const id = ok(semget(owner, IPC_PRIVATE, 2, 0o600));
    for (const cmd of [GETVAL, GETPID, GETNCNT, GETZCNT]) {
      expect(errno(semctl(other, id, 99, cmd))).toBe('EACCES');
      expect(errno(semctl(owner, id, 99, cmd))).toBe('EINVAL');
      expect(errno(semctl(owner, id, -1, cmd))).toBe('EINVAL');
      expect(errno(semctl(owner, id, 2, cmd))).toBe('EINVAL');
    }
  });

  it('GETALL ignores semnum and reads every value; a new set is all zeros (gVisor SemCtlValAll)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 3, 0o600));
    expect(ok(semctl(p, id, 99, GETALL)).values).toEqual([0, 0, 0]);
    expect(errno(semctl(t.task({ uid: 5 }), id, 0, GETALL))).toBe('EACCES');
  });

  it('a fresh set: GETVAL 0, GETPID 0, counts 0; after SETVAL 1: GETVAL 1 and GETPID the caller (LTP semctl07, gVisor SemCtlGetPid)', () => {
    const t = setup();
    const p = t.task({ pid: 321 });
    const id = ok(semget(p, IPC_PRIVATE, 1, 0o600));
    expect([GETVAL, GETPID, GETNCNT, GETZCNT].map((c) => ok(semctl(p, id, 0, c)).ret)).toEqual([0, 0, 0, 0]);
    ok(semctl(p, id, 0, SETVAL, { val: 1 }));
    expect(ok(semctl(p, id, 0, GETVAL)).ret).toBe(1);
    expect(ok(semctl(p, id, 0, GETPID)).ret).toBe(321);
  });
});

describe('SETVAL', () => {
  it('checks the value before the id: ERANGE for -1 and past SEMVMX (LTP semctl05)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 1, 0o600));
    expect(errno(semctl(p, id, 0, SETVAL, { val: -1 }))).toBe('ERANGE');
    expect(errno(semctl(p, id, 0, SETVAL, { val: SEMVMX + 1 }))).toBe('ERANGE');
    expect(errno(semctl(p, 99999, 0, SETVAL, { val: 40000 }))).toBe('ERANGE');
    expect(errno(semctl(p, 99999, 0, SETVAL, { val: 1 }))).toBe('EINVAL');
    expect(errno(semctl(p, id, 0, SETVAL, { val: SEMVMX }))).toBe('ok');
  });

  it('checks semnum before permission (EINVAL beats EACCES, the reverse of GETVAL)', () => {
    const t = setup();
    const owner = t.task({ uid: 1000 });
    const other = t.task({ uid: 2000 });
    const id = ok(semget(owner, IPC_PRIVATE, 1, 0o644));
    expect(errno(semctl(other, id, 99, SETVAL, { val: 1 }))).toBe('EINVAL');
    expect(errno(semctl(other, id, 0, SETVAL, { val: 1 }))).toBe('EACCES');
    expect(errno(semctl(other, id, 99, GETVAL))).toBe('EINVAL');
  });

  it('sets ctime, not otime', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 1, 0o600));
    t.now = 1500;
    ok(semctl(p, id, 0, SETVAL, { val: 3 }));
    const ds = ok(semctl(p, id, 0, IPC_STAT)).ds!;
    expect([ds.otime, ds.ctime]).toEqual([0, 1500]);
  });
});

describe('SETALL', () => {
  it('checks permission before the copy-in and before the values', () => {
    const t = setup();
    const owner = t.task({ uid: 1000 });
    const other = t.task({ uid: 2000 });
    const id = ok(semget(owner, IPC_PRIVATE, 2, 0o644));
    expect(errno(semctl(other, id, 0, SETALL))).toBe('EACCES');
    expect(errno(semctl(other, id, 0, SETALL, { array: [1, 40000] }))).toBe('EACCES');
    expect(errno(semctl(owner, id, 0, SETALL))).toBe('EFAULT');
    expect(errno(semctl(owner, id, 0, SETALL, { array: [1] }))).toBe('EFAULT');
  });

  it('refuses any value past SEMVMX and changes nothing (LTP semctl05)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 3, 0o600));
    expect(errno(semctl(p, id, 0, SETALL, { array: [1, 2, SEMVMX + 1] }))).toBe('ERANGE');
    expect(errno(semctl(p, id, 0, SETALL, { array: [1, 2, -1] }))).toBe('ERANGE');
    expect(ok(semctl(p, id, 0, GETALL)).values).toEqual([0, 0, 0]);
  });

  it('sets every value and every sempid, and ctime (gVisor SemCtlValAll, LTP semctl01)', () => {
    const t = setup();
    const p = t.task({ pid: 77 });
    const id = ok(semget(p, IPC_PRIVATE, 3, 0o600));
    t.now = 4000;
    ok(semctl(p, id, 0, SETALL, { array: [0, 10, 20] }));
    expect(ok(semctl(p, id, 0, GETALL)).values).toEqual([0, 10, 20]);
    expect([0, 1, 2].map((i) => ok(semctl(p, id, i, GETPID)).ret)).toEqual([77, 77, 77]);
    expect(ok(semctl(p, id, 0, IPC_STAT)).ds!.ctime).toBe(4000);
  });
});

describe('IPC_SET and IPC_RMID', () => {
  it('IPC_SET copies the buffer before the lookup (EFAULT for a bad id too)', () => {
    const t = setup();
    expect(errno(semctl(t.task(), 99999, 0, IPC_SET))).toBe('EFAULT');
  });

  it('IPC_SET: EINVAL for no such id, EPERM for a non-owner, then EINVAL for uid -1 (LTP semctl04)', () => {
    const t = setup();
    const owner = t.task({ uid: 1000 });
    const id = ok(semget(owner, IPC_PRIVATE, 1, 0o600));
    const buf = { uid: 1000, gid: 1000, mode: 0o666 };
    expect(errno(semctl(owner, id + 1, 0, IPC_SET, { buf }))).toBe('EINVAL');
    expect(errno(semctl(t.task({ uid: 2000 }), id, 0, IPC_SET, { buf: { uid: -1, gid: 0, mode: 0 } }))).toBe('EPERM');
    expect(errno(semctl(t.task({ uid: 2000, caps: ['CAP_IPC_OWNER'] }), id, 0, IPC_SET, { buf }))).toBe('EPERM');
    expect(errno(semctl(owner, id, 0, IPC_SET, { buf: { uid: -1, gid: 0, mode: 0 } }))).toBe('EINVAL');
  });

  it('IPC_SET changes uid, gid and the nine mode bits, and ctime (LTP semctl01, gVisor SemCtlIpcStat)', () => {
    const t = setup();
    const owner = t.task({ uid: 1000 });
    const id = ok(semget(owner, 5, 1, IPC_CREAT | 0o600));
    t.now = 1200;
    ok(semctl(owner, id, 0, IPC_SET, { buf: { uid: 1000, gid: 7, mode: 0o7666 } }));
    const ds = ok(semctl(owner, id, 0, IPC_STAT)).ds!;
    expect([ds.perm.uid, ds.perm.gid, ds.perm.mode, ds.perm.cuid, ds.ctime]).toEqual([1000, 7, 0o666, 1000, 1200]);
  });

  it('IPC_RMID: EPERM for a non-owner, then the id is gone: every call is EINVAL (LTP semctl04, gVisor RemoveDeletedSemaphore)', () => {
    const t = setup();
    const owner = t.task({ uid: 1000 });
    const id = ok(semget(owner, 5, 1, IPC_CREAT | 0o666));
    expect(errno(semctl(t.task({ uid: 2000 }), id, 0, IPC_RMID))).toBe('EPERM');
    ok(semctl(t.task({ uid: 0 }), id, 0, IPC_RMID));
    expect(errno(semctl(owner, id, 0, IPC_RMID))).toBe('EINVAL');
    expect(errno(semctl(owner, id, 0, GETVAL))).toBe('EINVAL');
    expect(errno(semctl(owner, id, 0, SETVAL, { val: 1 }))).toBe('EINVAL');
    expect(errno(semop(owner, id, [sop(0, 1)]))).toBe('EINVAL');
    expect(errno(semop(owner, id, [sop(0, 1, SEM_UNDO)]))).toBe('EINVAL');
    expect(errno(semget(owner, 5, 1, 0))).toBe('ENOENT');
    expect(errno(semctl(owner, (1 << 31) >>> 1, 0, IPC_RMID))).toBe('EINVAL');
  });
});
