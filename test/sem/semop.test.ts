import { describe, expect, it } from 'vitest';
import { IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_STAT } from '../../src/abi/constants.js';
import { GETALL, GETPID, GETVAL, SEMVMX, SEM_UNDO, SETVAL } from '../../src/abi/sem.js';
import { semctl, semget, semop, semtimedop } from '../../src/sem/syscalls.js';
import { errno, ok } from '../support/either.js';
import { setup, sop, waiter } from './support.js';

function values(t: ReturnType<typeof setup>, id: number): readonly number[] {
  return ok(semctl(t.task(), id, 0, GETALL)).values!;
}

describe('semop argument checks, in order', () => {
  it('more operations than semopm is E2BIG, before the id and before nsops 0 (LTP semop02)', () => {
    const t = setup();
    const ops = Array.from({ length: 501 }, () => sop(0, 1));
    expect(errno(semop(t.task(), -1, ops))).toBe('E2BIG');
    expect(errno(semop(t.task(), 12345, ops))).toBe('E2BIG');
  });

  it('no operation is EINVAL, even with a bad id (gVisor SemOpSingleNoBlock)', () => {
    const t = setup();
    expect(errno(semop(t.task(), 0, []))).toBe('EINVAL');
    expect(errno(semop(t.task(), -1, []))).toBe('EINVAL');
  });

  it('a negative id is EINVAL, then an invalid timeout is EINVAL (gVisor SemTimedOpSingleNoBlock)', () => {
    const t = setup();
    const id = ok(semget(t.task(), IPC_PRIVATE, 1, 0o600));
    expect(errno(semtimedop(t.task(), -1, [sop(0, 1)], { timeout: { sec: 0, nsec: 1e9 } }))).toBe('EINVAL');
    expect(errno(semtimedop(t.task(), id, [sop(0, 1)], { timeout: { sec: 0, nsec: 1e9 } }))).toBe('EINVAL');
    expect(errno(semtimedop(t.task(), id, [sop(0, 1)], { timeout: { sec: -1, nsec: 0 } }))).toBe('EINVAL');
    expect(errno(semtimedop(t.task(), id, [sop(0, 1)], { timeout: { sec: 0, nsec: -1 } }))).toBe('EINVAL');
    expect(errno(semtimedop(t.task(), id, [sop(0, 1)], { timeout: { sec: 0, nsec: 50_000_000 } }))).toBe('ok');
  });

  it('an id that names no set is EINVAL (an id + 1, a removed id: LTP semctl01 func_rmid)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 1, 0o600));
    expect(errno(semop(p, id + 1, [sop(0, 1)]))).toBe('EINVAL');
    ok(semctl(p, id, 0, IPC_RMID));
    expect(errno(semop(p, id, [sop(0, 1)]))).toBe('EINVAL');
  });

  it('a sem_num past the set is EFBIG, (unsigned short)-1 too, with or without SEM_UNDO (LTP semop02)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 10, 0o600));
    expect(errno(semop(p, id, [sop(10, 1)]))).toBe('EFBIG');
    expect(errno(semop(p, id, [sop(-1, 1)]))).toBe('EFBIG');
    expect(errno(semop(p, id, [sop(11, 1, SEM_UNDO)]))).toBe('EFBIG');
    expect(errno(semop(p, id, [sop(0, 1), sop(65535, 0)]))).toBe('EFBIG');
  });

  it('EFBIG comes before EACCES', () => {
    const t = setup();
    const owner = t.task({ uid: 1000 });
    const id = ok(semget(owner, IPC_PRIVATE, 1, 0));
    expect(errno(semop(t.task({ uid: 2000 }), id, [sop(5, 1)]))).toBe('EFBIG');
  });

  it('an altering array needs write, a wait-for-zero-only array read (gVisor SemIpcSet, LTP semop02 EACCES)', () => {
    const t = setup();
    const owner = t.task({ uid: 1000 });
    const readOnly = ok(semget(owner, IPC_PRIVATE, 1, 0o400));
    expect(errno(semop(owner, readOnly, [sop(0, 1)]))).toBe('EACCES');
    expect(errno(semop(owner, readOnly, [sop(0, 0)]))).toBe('ok');
    const writeOnly = ok(semget(owner, IPC_PRIVATE, 1, 0o200));
    expect(errno(semop(owner, writeOnly, [sop(0, 0)]))).toBe('EACCES');
    expect(errno(semop(owner, writeOnly, [sop(0, 1)]))).toBe('ok');
    const none = ok(semget(owner, IPC_PRIVATE, 1, 0));
    expect(errno(semop(t.task({ uid: 1000, caps: ['CAP_IPC_OWNER'] }), none, [sop(0, 1)]))).toBe('ok');
  });

  it('SEM_UNDO on a missing id is EINVAL, from find_alloc_undo', () => {
    const t = setup();
    expect(errno(semop(t.task(), 5, [sop(0, 1, SEM_UNDO)]))).toBe('EINVAL');
  });
});

describe('perform_atomic_semop', () => {
  it('one call with 4 SEM_UNDO sops sets 0,1,4,9 (LTP semop01)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 4, 0o600));
    expect(
      ok(
        semop(
          p,
          id,
          [0, 1, 2, 3].map((i) => sop(i, i * i, SEM_UNDO)),
        ),
      ),
    ).toBe(0);
    expect(values(t, id)).toEqual([0, 1, 4, 9]);
  });

  it('+1, -1 and wait-for-zero succeed without blocking (gVisor SemOpSingleNoBlock)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 1, 0o600));
    expect(ok(semop(p, id, [sop(0, 1)]))).toBe(0);
    expect(ok(semop(p, id, [sop(0, -1)]))).toBe(0);
    expect(ok(semop(p, id, [sop(0, 0)]))).toBe(0);
  });

  it('applies several sops on the same semaphores in order (gVisor SemOpMultiNoBlock)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 4, 0o600));
    expect(errno(semop(p, id, [sop(0, 2), sop(1, 2), sop(0, 3), sop(2, 5), sop(2, 0, IPC_NOWAIT)]))).toBe('EAGAIN');
    // The last sop waits for zero on a semaphore an earlier sop made 5: the whole array blocks.
    expect(values(t, id)).toEqual([0, 0, 0, 0]);
    ok(semtimedop(p, id, [sop(2, 0), sop(0, 2), sop(1, 2), sop(0, 3), sop(2, 5)]));
    expect(values(t, id)).toEqual([5, 2, 5, 0]);
    ok(semop(p, id, [sop(2, -5), sop(0, -2), sop(1, -2), sop(0, -3)]));
    expect(values(t, id)).toEqual([0, 0, 0, 0]);
  });

  it('[+1 then wait-for-zero] on one semaphore blocks as a whole; [wait-for-zero then +1] succeeds', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 1, 0o600));
    expect(errno(semop(p, id, [sop(0, 1), sop(0, 0, IPC_NOWAIT)]))).toBe('EAGAIN');
    expect(values(t, id)).toEqual([0]);
    expect(ok(semop(p, id, [sop(0, 0), sop(0, 1)]))).toBe(0);
    expect(values(t, id)).toEqual([1]);
  });

  it('with duplicates, the sops apply one after the other: [+2, -1, -1] on 0 succeeds', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 1, 0o600));
    expect(ok(semop(p, id, [sop(0, 2), sop(0, -1), sop(0, -1)]))).toBe(0);
    expect(values(t, id)).toEqual([0]);
  });

  it('past SEMVMX is ERANGE and changes nothing (LTP semop02)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 2, 0o600));
    ok(semctl(p, id, 0, SETVAL, { val: 1 }));
    expect(errno(semop(p, id, [sop(1, 5), sop(0, SEMVMX)]))).toBe('ERANGE');
    expect(values(t, id)).toEqual([1, 0]);
  });

  it('the first sop that cannot go on decides: a block before an overflow blocks, an overflow first is ERANGE', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 2, 0o600));
    ok(semctl(p, id, 1, SETVAL, { val: SEMVMX }));
    expect(errno(semop(p, id, [sop(0, -1, IPC_NOWAIT), sop(1, 1)]))).toBe('EAGAIN');
    expect(errno(semop(p, id, [sop(1, 1), sop(0, -1, IPC_NOWAIT)]))).toBe('ERANGE');
  });

  it('IPC_NOWAIT counts only on the sop that blocks', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 2, 0o600));
    // sop 0 has IPC_NOWAIT but proceeds; sop 1 blocks without it: the call sleeps.
    const w = waiter(semop(p, id, [sop(0, 1, IPC_NOWAIT), sop(1, -1)]));
    expect(w.queued).toBe(true);
    expect(errno(semop(p, id, [sop(0, 1), sop(1, -1, IPC_NOWAIT)]))).toBe('EAGAIN');
  });

  it('IPC_NOWAIT: -1 on 0 and wait-for-zero on 1 are EAGAIN (LTP semop02, gVisor SemOpNoBlock)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 1, 0o600));
    expect(errno(semop(p, id, [sop(0, -1, IPC_NOWAIT)]))).toBe('EAGAIN');
    ok(semop(p, id, [sop(0, 1)]));
    expect(errno(semop(p, id, [sop(0, 0, IPC_NOWAIT)]))).toBe('EAGAIN');
  });

  it('semadj outside [-32768, 32767] is ERANGE', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 1, 0o600));
    ok(semop(p, id, [sop(0, SEMVMX, SEM_UNDO)]));
    ok(semop(p, id, [sop(0, -SEMVMX)]));
    ok(semop(p, id, [sop(0, 1, SEM_UNDO)]));
    // semadj is now -32768: one more SEM_UNDO increment would leave the short's range.
    expect(errno(semop(p, id, [sop(0, 1, SEM_UNDO)]))).toBe('ERANGE');
    expect(values(t, id)).toEqual([1]);
    expect(ok(semop(p, id, [sop(0, 1)]))).toBe(0);
  });

  it('sets sempid of every sop, wait-for-zero ones too, and only theirs', () => {
    const t = setup();
    const a = t.task({ pid: 10 });
    const id = ok(semget(a, IPC_PRIVATE, 3, 0o600));
    ok(semop(t.task({ pid: 20 }), id, [sop(0, 1), sop(2, 0)]));
    expect([0, 1, 2].map((i) => ok(semctl(a, id, i, GETPID)).ret)).toEqual([20, 0, 20]);
  });

  it('sets sem_otime on success, for a wait-for-zero too, and not on failure (gVisor SemCtlIpcStat)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 2, 0o600));
    t.now = 2000;
    expect(errno(semop(p, id, [sop(1, -1, IPC_NOWAIT)]))).toBe('EAGAIN');
    expect(ok(semctl(p, id, 0, IPC_STAT)).ds!.otime).toBe(0);
    ok(semop(p, id, [sop(1, 0)]));
    expect(ok(semctl(p, id, 0, IPC_STAT)).ds!.otime).toBe(2000);
    t.now = 3000;
    ok(semop(p, id, [sop(1, 1)]));
    const ds = ok(semctl(p, id, 0, IPC_STAT)).ds!;
    expect(ds.otime).toBe(3000);
    expect(ds.ctime).toBe(1000);
    expect(ok(semctl(p, id, 1, GETVAL)).ret).toBe(1);
  });

  it('a newcomer that can proceed does not wait behind an older blocked op (gVisor SemOpBestFitExecution)', () => {
    const t = setup();
    const p = t.task();
    const id = ok(semget(p, IPC_PRIVATE, 1, 0o600));
    const w = waiter(semop(p, id, [sop(0, -2)]));
    for (let i = 0; i < 10; i += 1) {
      ok(semop(p, id, [sop(0, 1)]));
      ok(semop(p, id, [sop(0, -1)]));
    }
    expect(w.queued).toBe(true);
  });
});
