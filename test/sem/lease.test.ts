/**
 * Semaphore leases (src/sem/lease.ts) in one thread: the kernel side
 * (Process.semLease, SemSet.lock's recall, IPC_SET, kernel.sem, RMID,
 * unshare, tracing) against the thread side (LeasedSems) driven here
 * directly, with a tick word this test moves, so every time is exact.
 * test/workers/sem_lease.test.ts runs the same between real threads.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import { GETNCNT, GETPID, GETVAL, SEMVMX, SEM_UNDO, SETVAL } from '../../src/abi/sem.js';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import { leaseClock } from '../../src/kernel/clock.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { isPending } from '../../src/kernel/pending.js';
import { LEASED_SEMVAL, LEASE_DECLINED, LEASE_DONE, LEASE_MAX_LESSEES, LEASE_MAX_SEMS } from '../../src/sem/lease.js';
import type { SemLeaseMessage } from '../../src/sem/lease.js';
import { errno, ok } from '../support/either.js';
import { START, TICK_BASE, atOnce, leaseWorld, semThread } from '../support/lease_world.js';
import type { LeaseWorld } from '../support/lease_world.js';

const thread = semThread;

const op = (semNum: number, semOp: number, semFlg = 0) => [{ semNum, semOp, semFlg }];
const get = (p: Process, id: number, n: number, cmd: number): number => ok(p.semctl(id, n, cmd)).ret;
const live = (k: Kernel, id: number): boolean => k.initialIpcNamespace.sem.peekById(id)?.lease?.live === true;

function setUp(nsems = 2): { w: LeaseWorld; owner: Process; id: number } {
  const w = leaseWorld();
  const owner = w.k.spawn();
  const id = ok(owner.semget(IPC_PRIVATE, nsems, IPC_CREAT | 0o600));
  return { w, owner, id };
}

describe('semaphore leases: the thread side performs, the kernel side sees', () => {
  it('a leased +1 and -1 change the value, sempid and sem_otime as semop does; the kernel reads them back at its next lock', () => {
    const { w, owner, id } = setUp();
    const worker = w.k.spawn();
    const t = thread(w, worker);
    expect(t.take(id)).toBe(true);
    expect(live(w.k, id)).toBe(true);
    w.at(START + 7);
    expect(t.sems.semop(id, op(1, 5), 0)).toBe(LEASE_DONE);
    expect(t.sems.semop(id, op(1, -2), 0)).toBe(LEASE_DONE);
    expect(t.sems.performed).toBe(2);
    // GETVAL takes the lock: the lease is recalled, and the values are the kernel's again.
    expect(get(owner, id, 1, GETVAL)).toBe(3);
    expect(live(w.k, id)).toBe(false);
    expect(get(owner, id, 1, GETPID)).toBe(worker.pid);
    expect(get(owner, id, 0, GETPID)).toBe(0);
    expect(ok(owner.semctl(id, 0, IPC_STAT)).ds?.otime).toBe(START + 7);
    // Recalled: the thread declines, and changes nothing.
    expect(t.sems.semop(id, op(1, 1), 0)).toBe(LEASE_DECLINED);
    expect(get(owner, id, 1, GETVAL)).toBe(3);
  });

  it('an in-process semop on a lent set (its own values read LEASED_SEMVAL) goes the general way and sees the leased operations', () => {
    const { w, owner, id } = setUp();
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    expect(t.sems.semop(id, op(0, 3), 0)).toBe(LEASE_DONE);
    expect(w.k.initialIpcNamespace.sem.peekById(id)?.semval).toEqual([LEASED_SEMVAL, LEASED_SEMVAL]);
    ok(atOnce(owner.semop(id, op(0, -1))));
    expect(live(w.k, id)).toBe(false);
    expect(w.k.initialIpcNamespace.sem.peekById(id)?.semval).toEqual([2, 0]);
    expect(get(owner, id, 0, GETPID)).toBe(owner.pid);
  });

  it('a granted lease starts from the kernel values and keeps the kernel sempid of semaphores nobody leased-changed', () => {
    const { w, owner, id } = setUp();
    ok(atOnce(owner.semop(id, op(0, 4))));
    const worker = w.k.spawn();
    const t = thread(w, worker);
    w.at(START + 3);
    expect(t.take(id)).toBe(true);
    expect(t.sems.semop(id, op(1, 1), 0)).toBe(LEASE_DONE);
    expect([get(owner, id, 0, GETVAL), get(owner, id, 0, GETPID)]).toEqual([4, owner.pid]);
    expect([get(owner, id, 1, GETVAL), get(owner, id, 1, GETPID)]).toEqual([1, worker.pid]);
    // sem_otime is the newest of the semaphores': the leased op's second.
    expect(ok(owner.semctl(id, 0, IPC_STAT)).ds?.otime).toBe(START + 3);
  });

  it('waiting for zero and the values at the edges (0, SEMVMX) are performed; anything else is declined unchanged', () => {
    const { w, owner, id } = setUp();
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    expect(t.sems.semop(id, op(0, 0), 0)).toBe(LEASE_DONE);
    expect(t.sems.semop(id, op(0, SEMVMX), 0)).toBe(LEASE_DONE);
    // Past SEMVMX is ERANGE: the kernel's to say.
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DECLINED);
    // Would block: with IPC_NOWAIT at once, and without after its poll (none here).
    expect(t.sems.semop(id, op(0, 0, IPC_NOWAIT), 0)).toBe(LEASE_DECLINED);
    expect(t.sems.semop(id, op(1, -1), 0)).toBe(LEASE_DECLINED);
    expect(t.sems.semop(id, op(1, -1, IPC_NOWAIT), 0)).toBe(LEASE_DECLINED);
    // SEM_UNDO, a semnum past the set, fields the kernel reads otherwise, two sops, an unknown id.
    expect(t.sems.semop(id, op(1, 1, SEM_UNDO), 0)).toBe(LEASE_DECLINED);
    expect(t.sems.semop(id, op(2, 1), 0)).toBe(LEASE_DECLINED);
    expect(t.sems.semop(id, op(0x10001, 1), 0)).toBe(LEASE_DECLINED);
    expect(t.sems.semop(id, op(1, 0x10001), 0)).toBe(LEASE_DECLINED);
    expect(t.sems.semop(id, op(1, 1.5), 0)).toBe(LEASE_DECLINED);
    expect(t.sems.semop(id, [...op(1, 1), ...op(1, 1)], 0)).toBe(LEASE_DECLINED);
    expect(t.sems.semop(id + 1, op(1, 1), 0)).toBe(LEASE_DECLINED);
    expect(t.sems.semop(String(id), op(1, 1), 0)).toBe(LEASE_DECLINED);
    expect(
      t.sems.semop(
        id,
        [
          {
            get semNum(): number {
              throw new Error('no');
            },
            semOp: 1,
            semFlg: 0,
          },
        ],
        0,
      ),
    ).toBe(LEASE_DECLINED);
    expect(t.sems.performed).toBe(2);
    expect([get(owner, id, 0, GETVAL), get(owner, id, 1, GETVAL)]).toEqual([SEMVMX, 0]);
  });

  it('an operation that cannot proceed polls its word and is performed when another thread posts during the poll', () => {
    const { w, id } = setUp();
    const a = thread(w, w.k.spawn());
    const b = thread(w, w.k.spawn());
    expect(a.take(id) && b.take(id)).toBe(true);
    // One thread here, so the post comes first and the poll's first load sees it (between threads: sem_lease.test.ts).
    expect(b.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DONE);
    expect(a.sems.semop(id, op(0, -1), 1000)).toBe(LEASE_DONE);
    // Nothing posted: the poll runs out and the call is the kernel's.
    expect(a.sems.semop(id, op(0, -1), 1000)).toBe(LEASE_DECLINED);
  });

  it('no lease while anyone waits on the set; the kernel queues a sleeper only after recalling, and the thread then declines', () => {
    const { w, owner, id } = setUp();
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    const sleeper = w.k.spawn().semop(id, op(0, -1));
    expect(isPending(sleeper)).toBe(true);
    expect(live(w.k, id)).toBe(false);
    expect(get(owner, id, 0, GETNCNT)).toBe(1);
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DECLINED);
    expect(t.take(id)).toBe(false);
    // The kernel's own +1 wakes the sleeper; then the set is quiet and may be lent again.
    ok(atOnce(owner.semop(id, op(0, 1))));
    expect(isPending(sleeper) && sleeper.state).toBe('settled');
    expect(t.take(id)).toBe(true);
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DONE);
    expect(get(owner, id, 0, GETVAL)).toBe(1);
  });

  it('only to a process that may read and alter the set, of at most LEASE_MAX_SEMS semaphores, to at most LEASE_MAX_LESSEES processes', () => {
    const w = leaseWorld();
    const owner = w.k.spawn({ uid: 1000, gid: 1000 });
    const id = ok(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o644));
    expect(thread(w, w.k.spawn({ uid: 2000, gid: 2000 })).take(id)).toBe(false);
    expect(thread(w, owner).take(id)).toBe(true);
    const big = ok(owner.semget(IPC_PRIVATE, LEASE_MAX_SEMS + 1, IPC_CREAT | 0o600));
    expect(thread(w, owner).take(big)).toBe(false);
    const fit = ok(owner.semget(IPC_PRIVATE, LEASE_MAX_SEMS, IPC_CREAT | 0o600));
    expect(thread(w, owner).take(fit)).toBe(true);
    const shared = ok(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666));
    const granted = Array.from({ length: LEASE_MAX_LESSEES + 2 }, () => thread(w, w.k.spawn({ uid: 3000, gid: 3000 })).take(shared));
    expect(granted.filter(Boolean).length).toBe(LEASE_MAX_LESSEES);
  });

  it('IPC_SET retires the buffer: lessees that lost alter permission hold only recalled words; the next grant is a new buffer', () => {
    const w = leaseWorld();
    const owner = w.k.spawn({ uid: 1000, gid: 1000 });
    const id = ok(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666));
    const stranger = w.k.spawn({ uid: 2000, gid: 2000 });
    const other = thread(w, stranger);
    const alsoStranger = thread(w, w.k.spawn({ uid: 2000, gid: 2000 }));
    expect(other.take(id) && alsoStranger.take(id)).toBe(true);
    const before = w.k.initialIpcNamespace.sem.peekById(id)?.lease;
    ok(owner.semctl(id, 0, IPC_SET, { uid: 1000, gid: 1000, mode: 0o600 }));
    expect(other.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DECLINED);
    expect(errno(atOnce(stranger.semop(id, op(0, 1))))).toBe('EACCES');
    expect(other.take(id)).toBe(false);
    // The owner's grant is a new buffer; the old one's words stay recalled.
    const mine = thread(w, owner);
    expect(mine.take(id)).toBe(true);
    expect(w.k.initialIpcNamespace.sem.peekById(id)?.lease).not.toBe(before);
    expect(mine.sems.semop(id, op(0, 2), 0)).toBe(LEASE_DONE);
    expect(alsoStranger.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DECLINED);
    expect(get(owner, id, 0, GETVAL)).toBe(2);
  });

  it('a buffer is shared only by processes with the same credentials (uid, gid, groups, capabilities)', () => {
    const w = leaseWorld();
    const owner = w.k.spawn({ uid: 1000, gid: 1000 });
    const id = ok(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666));
    expect(thread(w, w.k.spawn({ uid: 2000, gid: 2000 })).take(id)).toBe(true);
    expect(thread(w, w.k.spawn({ uid: 2000, gid: 2000 })).take(id)).toBe(true);
    expect(thread(w, owner).take(id)).toBe(false);
    expect(thread(w, w.k.spawn({ uid: 2000, gid: 2001 })).take(id)).toBe(false);
    expect(thread(w, w.k.spawn({ uid: 2000, gid: 2000, groups: [7] })).take(id)).toBe(false);
    expect(thread(w, w.k.spawn({ uid: 2000, gid: 2000, caps: ['CAP_IPC_OWNER'] })).take(id)).toBe(false);
    // The owner's semop goes to the kernel thread, which recalls the lease and sees the lessees' operations.
    ok(atOnce(owner.semop(id, op(0, 1))));
    expect(get(owner, id, 0, GETVAL)).toBe(1);
  });

  it('words a program scribbles on read back clamped to SEMVMX, with no sempid but a lessee’s', () => {
    const { w, owner, id } = setUp(1);
    expect(thread(w, w.k.spawn()).take(id)).toBe(true);
    const lease = w.k.initialIpcNamespace.sem.peekById(id)?.lease;
    // 0xffff as the value, lessee index 14 (no such lessee), any time.
    Atomics.store(lease!.words, 0, 0xffff | (14 << 16) | (5 << 20));
    expect(get(owner, id, 0, GETVAL)).toBe(SEMVMX);
    expect(get(owner, id, 0, GETPID)).toBe(0);
    expect(ok(owner.semctl(id, 0, IPC_STAT)).ds?.otime).toBe(0);
  });

  it('IPC_RMID recalls for good; a set made at the same id is a new lease', () => {
    const { w, owner, id } = setUp(1);
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    ok(owner.semctl(id, 0, IPC_RMID));
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DECLINED);
    ok(w.k.writeSysctl(w.k.initialIpcNamespace, 'sem_next_id', BigInt(id)));
    expect(ok(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600))).toBe(id);
    expect(t.take(id)).toBe(true);
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DONE);
    expect(get(owner, id, 0, GETVAL)).toBe(1);
  });

  it('kernel.sem recalls every lease, and a semopm of 0 lends none (a single operation is then E2BIG)', () => {
    const { w, owner, id } = setUp(1);
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    ok(w.k.writeSysctl(w.k.initialIpcNamespace, 'sem', [32000n, 1024000000n, 0n, 32000n]));
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DECLINED);
    expect(t.take(id)).toBe(false);
    expect(errno(atOnce(owner.semop(id, op(0, 1))))).toBe('E2BIG');
  });

  it('a process that changes IPC namespace drops its leases: the same id names another set there', () => {
    const { w, id } = setUp(1);
    const worker = w.k.spawn();
    const t = thread(w, worker);
    expect(t.take(id)).toBe(true);
    ok(worker.unshareIpc());
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DECLINED);
    expect(t.sems.size).toBe(0);
    // A grant made before the change (its message still on the way) is dropped too.
    const stale: SemLeaseMessage = {
      semid: id,
      buffer: new SharedArrayBuffer(4),
      nsems: 1,
      lessee: 1,
      base: START,
      epoch: 0,
      tick: w.tick.buffer as SharedArrayBuffer,
      tickBase: TICK_BASE,
    };
    t.sems.add([stale], leaseClock);
    expect(t.sems.size).toBe(0);
    expect(t.take(id)).toBe(false);
  });

  it('a process that exits drops its leases: its thread declines, and the kernel thread ends it at the next call', () => {
    const { w, id } = setUp(1);
    const worker = w.k.spawn();
    const t = thread(w, worker);
    expect(t.take(id)).toBe(true);
    ok(worker.exit());
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DECLINED);
    expect(t.sems.size).toBe(0);
  });

  it('a traced kernel recalls every lease and lends none while traced', () => {
    const { w, owner, id } = setUp(1);
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    const events: string[] = [];
    const stop = w.k.onTrace((e) => {
      if (e.kind === 'syscall') events.push(e.call);
    });
    expect(live(w.k, id)).toBe(false);
    expect(t.take(id)).toBe(false);
    stop();
    expect(t.take(id)).toBe(true);
    ok(owner.semctl(id, 0, SETVAL, 1));
    expect(events).toEqual([]);
  });

  it('a lease whose time field would overflow is declined by the thread and replaced at the next grant', () => {
    const { w, owner, id } = setUp(1);
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    const first = w.k.initialIpcNamespace.sem.peekById(id)?.lease;
    w.at(START + 2047);
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DONE);
    w.at(START + 2048);
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DECLINED);
    // A clock behind the lease's base is declined too.
    w.at(START - 1);
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DECLINED);
    w.at(START + 2048);
    expect(get(owner, id, 0, GETVAL)).toBe(1);
    expect(ok(owner.semctl(id, 0, IPC_STAT)).ds?.otime).toBe(START + 2047);
    expect(t.take(id)).toBe(true);
    expect(w.k.initialIpcNamespace.sem.peekById(id)?.lease).not.toBe(first);
    expect(t.sems.semop(id, op(0, 1), 0)).toBe(LEASE_DONE);
    expect(ok(owner.semctl(id, 0, IPC_STAT)).ds?.otime).toBe(START + 2048);
  });

  it('a checkpoint takes the leased values; the restored set has no lease', () => {
    const { w, owner, id } = setUp(1);
    const worker = w.k.spawn();
    const t = thread(w, worker);
    expect(t.take(id)).toBe(true);
    w.at(START + 9);
    expect(t.sems.semop(id, op(0, 6), 0)).toBe(LEASE_DONE);
    const image = checkpoint(w.k);
    expect(E.isRight(image)).toBe(true);
    const back = restore(E.isRight(image) ? image.right : new Uint8Array());
    expect(E.isRight(back)).toBe(true);
    if (E.isLeft(back)) return;
    const k2 = back.right;
    const set = k2.initialIpcNamespace.sem.peekById(id);
    expect([set?.semval[0], set?.sempid[0], set?.semOtime[0], set?.lease]).toEqual([6, worker.pid, START + 9, undefined]);
    expect(get(owner, id, 0, GETVAL)).toBe(6);
  });
});
