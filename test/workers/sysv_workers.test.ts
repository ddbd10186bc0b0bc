/**
 * System V semaphores and message queues between real worker threads,
 * which block for real in their mailboxes (Atomics.wait) while the kernel
 * thread holds their replies. Beyond test/node/sem_msg_workers.test.ts: an
 * atomic two-semaphore array (one with SEM_UNDO) guarding two plain
 * counters; two producers and two consumers with sequence numbers; and a
 * thread killed while it sleeps waiting for zero, in a semtimedop (its
 * timer goes too), in a complex array after a SEM_UNDO operation, in msgsnd
 * on a full queue, or in a typed msgrcv beside another receiver. After each, the set or queue is consistent
 * (GETNCNT/GETZCNT, the queue's sleepers, qnum back), the next caller is
 * served, and checkInvariants holds. Sizes are small, for a 2-core box;
 * every wait is bounded.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import { GETALL, GETNCNT, GETZCNT, SEM_UNDO, SETALL, SETVAL } from '../../src/abi/sem.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerThread } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';
import { exitWithin, until } from '../support/threads.js';

const program = (name: string): URL => new URL(`./programs/${name}.ts`, import.meta.url);

function start(k: Kernel, p: Process, name: string, args: readonly unknown[]): WorkerThread {
  return right(spawnWorker(k, p, program(name), args));
}

const invariants = (k: Kernel) => expect(checkInvariants(k)).toEqual(E.right(undefined));
const sem = (p: Process, id: number, num: number, cmd: number): number => right(p.semctl(id, num, cmd)).ret;

/** The sleeping receivers and senders of queue `msqid` (the mechanism's own lists). */
function sleepers(k: Kernel, msqid: number): { receivers: number; senders: number } {
  const q = k.initialIpcNamespace.msg.findById(msqid);
  if (q === undefined) throw new Error(`no queue ${msqid}`);
  q.decRef();
  return { receivers: q.receivers.size, senders: q.senders.size };
}

const calls = (list: unknown[][]): unknown[] => [list];
const errnoOf = (r: unknown): string => {
  const e = r as E.Either<{ errno: string }, unknown>;
  return E.isLeft(e) ? e.left.errno : 'ok';
};

describe('semaphores between workers', () => {
  it('N workers × M atomic two-semaphore arrays (SEM_UNDO on one) around two plain counters give N·M each, and leave nothing behind', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600));
    right(owner.semctl(semid, 0, SETALL, [1, 1]));
    const shmid = right(owner.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const addr = right(owner.shmat(shmid, 0, 0));
    const [n, m] = [3, 100];
    const threads = Array.from({ length: n }, () => start(k, k.spawn(), 'pair_counter', [semid, shmid, 128, m]));
    const exits = await Promise.all(threads.map((t) => exitWithin(t)));
    expect(exits.map((e) => e.error)).toEqual(exits.map(() => undefined));
    const words = right(owner.read(addr + 128, 8));
    const view = new DataView(words.buffer, words.byteOffset, 8);
    expect([view.getInt32(0, true), view.getInt32(4, true)]).toEqual([n * m, n * m]);
    // Each worker's semadj summed to 0 (as many -1 as +1 with SEM_UNDO), so its exit changed nothing.
    expect(right(owner.semctl(semid, 0, GETALL)).values).toEqual([1, 1]);
    expect([0, 1].map((i) => sem(owner, semid, i, GETNCNT) + sem(owner, semid, i, GETZCNT))).toEqual([0, 0]);
    invariants(k);
  });

  it('a worker killed while waiting for zero leaves GETZCNT at 0; the next waiter is woken by SETVAL 0', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    right(owner.semctl(semid, 0, SETVAL, 1));
    const zero = [{ semNum: 0, semOp: 0, semFlg: 0 }];
    const victim = start(k, k.spawn(), 'sysv_calls', calls([['semop', semid, zero]]));
    await until(() => sem(owner, semid, 0, GETZCNT) === 1);
    expect(await victim.terminate()).toMatchObject({ ok: false });
    expect(victim.process.exited).toBe(true);
    expect(sem(owner, semid, 0, GETZCNT)).toBe(0);
    invariants(k);

    const next = start(k, k.spawn(), 'sysv_calls', calls([['semop', semid, zero]]));
    await until(() => sem(owner, semid, 0, GETZCNT) === 1);
    right(owner.semctl(semid, 0, SETVAL, 0));
    const out = await exitWithin(next);
    expect(out).toEqual({ ok: true, result: [E.right(0)] });
    expect(sem(owner, semid, 0, GETZCNT)).toBe(0);
    invariants(k);
  });

  it('a worker killed in a semtimedop leaves no timer and no sleeper; a timeout still ends the next one with EAGAIN', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const down = [{ semNum: 0, semOp: -1, semFlg: 0 }];
    const victim = start(k, k.spawn(), 'sysv_calls', calls([['semtimedop', semid, down, { sec: 600, nsec: 0 }]]));
    await until(() => sem(owner, semid, 0, GETNCNT) === 1);
    expect(k.timers.size).toBe(1);
    await victim.terminate();
    expect([sem(owner, semid, 0, GETNCNT), k.timers.size]).toEqual([0, 0]);
    invariants(k);
    const next = start(k, k.spawn(), 'sysv_calls', calls([['semtimedop', semid, down, { sec: 0, nsec: 30e6 }]]));
    const out = await exitWithin(next);
    expect(out.ok).toBe(true);
    expect((out.result as unknown[]).map(errnoOf)).toEqual(['EAGAIN']);
    expect([sem(owner, semid, 0, GETNCNT), k.timers.size]).toEqual([0, 0]);
    invariants(k);
  });

  it('a worker killed in a complex semop after a SEM_UNDO one: its adjustment is applied at death, no sleeper stays, the next array is served', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 3, IPC_CREAT | 0o600));
    right(owner.semctl(semid, 0, SETALL, [0, 0, 1]));
    const victim = start(
      k,
      k.spawn(),
      'sysv_calls',
      calls([
        ['semop', semid, [{ semNum: 0, semOp: 2, semFlg: SEM_UNDO }]],
        // Sleeps: semaphore 1 is 0 (and 2 is not 0), on the set's global queue.
        [
          'semop',
          semid,
          [
            { semNum: 1, semOp: -1, semFlg: SEM_UNDO },
            { semNum: 2, semOp: 0, semFlg: 0 },
          ],
        ],
      ]),
    );
    await until(() => sem(owner, semid, 1, GETNCNT) === 1);
    expect(right(owner.semctl(semid, 0, GETALL)).values).toEqual([2, 0, 1]);
    await victim.terminate();
    expect(victim.process.exited).toBe(true);
    // exit_sem added semadj[0] = -2.
    expect(right(owner.semctl(semid, 0, GETALL)).values).toEqual([0, 0, 1]);
    expect([0, 1, 2].map((i) => sem(owner, semid, i, GETNCNT) + sem(owner, semid, i, GETZCNT))).toEqual([0, 0, 0]);
    const set = k.initialIpcNamespace.sem.findById(semid)!;
    set.decRef();
    expect(set.undos).toHaveLength(0);
    invariants(k);

    // The same array from another worker is served once it can be.
    const next = start(
      k,
      k.spawn(),
      'sysv_calls',
      calls([
        [
          'semop',
          semid,
          [
            { semNum: 1, semOp: -1, semFlg: 0 },
            { semNum: 2, semOp: 0, semFlg: 0 },
          ],
        ],
      ]),
    );
    await until(() => sem(owner, semid, 1, GETNCNT) === 1);
    right(owner.semctl(semid, 0, SETALL, [0, 1, 0]));
    expect(await exitWithin(next)).toEqual({ ok: true, result: [E.right(0)] });
    expect(right(owner.semctl(semid, 0, GETALL)).values).toEqual([0, 0, 0]);
    invariants(k);
  });
});

describe('message queues between workers', () => {
  it('two producers and two consumers through a small queue: every [producer, seq] arrives once, each producer in order', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const msqid = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    // Four 8-byte messages fit: producers and consumers both sleep at times.
    right(owner.msgctl(msqid, IPC_SET, { uid: 0, gid: 0, mode: 0o666, qbytes: 32 }));
    const count = 120;
    const consumers = [0, 1].map(() => start(k, k.spawn(), 'seq_peer', ['consumer', msqid, count, 0]));
    const producers = [1, 2].map((id) => start(k, k.spawn(), 'seq_peer', ['producer', msqid, id, count]));
    const exits = await Promise.all([...consumers, ...producers].map((t) => exitWithin(t, 60_000)));
    expect(exits.map((e) => e.error)).toEqual(exits.map(() => undefined));
    const got = exits.slice(0, 2).map((e) => e.result as number[][]);
    const all = got.flat().map(([id, seq]) => `${id}:${seq}`);
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual([1, 2].flatMap((id) => Array.from({ length: count }, (_, seq) => `${id}:${seq}`)).sort());
    // Per type FIFO: what one consumer got of one producer came in send order.
    for (const mine of got) {
      for (const id of [1, 2]) {
        const seqs = mine.filter(([p]) => p === id).map(([, s]) => s as number);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
    }
    const ds = right(owner.msgctl(msqid, IPC_STAT)).ds!;
    expect([ds.qnum, ds.cbytes]).toEqual([0, 0]);
    expect(sleepers(k, msqid)).toEqual({ receivers: 0, senders: 0 });
    invariants(k);
  });

  it('a worker killed while its msgsnd waits for room: its message is never queued, the others are intact, the next sender is served', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const msqid = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    right(owner.msgctl(msqid, IPC_SET, { uid: 0, gid: 0, mode: 0o666, qbytes: 16 }));
    right(owner.msgsnd(msqid, 1, new Uint8Array(8).fill(1), IPC_NOWAIT) as E.Either<unknown, 0>);
    right(owner.msgsnd(msqid, 2, new Uint8Array(8).fill(2), IPC_NOWAIT) as E.Either<unknown, 0>);
    const victim = start(k, k.spawn(), 'sysv_calls', calls([['msgsnd', msqid, 3, Array(8).fill(3), 0]]));
    await until(() => sleepers(k, msqid).senders === 1);
    await victim.terminate();
    expect(victim.process.exited).toBe(true);
    expect(sleepers(k, msqid)).toEqual({ receivers: 0, senders: 0 });
    const ds = right(owner.msgctl(msqid, IPC_STAT)).ds!;
    expect([ds.qnum, ds.cbytes]).toEqual([2, 16]);
    invariants(k);

    // A later sender sleeps, then gets in when a receiver makes room; the dead one's message never shows.
    const next = start(k, k.spawn(), 'sysv_calls', calls([['msgsnd', msqid, 4, Array(8).fill(4), 0]]));
    await until(() => sleepers(k, msqid).senders === 1);
    const first = right(owner.msgrcv(msqid, 64, 0, IPC_NOWAIT) as E.Either<unknown, { mtype: number; text: Uint8Array }>);
    expect([first.mtype, first.text[0]]).toEqual([1, 1]);
    expect(await exitWithin(next)).toEqual({ ok: true, result: [E.right(0)] });
    const rest = [0, 1].map(() => right(owner.msgrcv(msqid, 64, 0, IPC_NOWAIT) as E.Either<unknown, { mtype: number; text: Uint8Array }>));
    expect(rest.map((m) => [m.mtype, m.text[0]])).toEqual([
      [2, 2],
      [4, 4],
    ]);
    expect(errnoOf(owner.msgrcv(msqid, 64, 0, IPC_NOWAIT))).toBe('ENOMSG');
    invariants(k);
  });

  it('a worker killed in a typed msgrcv beside another receiver: the message goes to the live one, nothing is lost or left', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const msqid = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    const victim = start(k, k.spawn(), 'sysv_calls', calls([['msgrcv', msqid, 64, 5, 0]]));
    await until(() => sleepers(k, msqid).receivers === 1);
    const live = start(k, k.spawn(), 'sysv_calls', calls([['msgrcv', msqid, 64, -5, 0]]));
    await until(() => sleepers(k, msqid).receivers === 2);
    await victim.terminate();
    expect(victim.process.exited).toBe(true);
    expect(sleepers(k, msqid)).toEqual({ receivers: 1, senders: 0 });
    invariants(k);
    right(owner.msgsnd(msqid, 5, new Uint8Array([5, 5, 5]), 0) as E.Either<unknown, 0>);
    expect(await exitWithin(live)).toEqual({ ok: true, result: [E.right({ mtype: 5, text: [5, 5, 5] })] });
    const ds = right(owner.msgctl(msqid, IPC_STAT)).ds!;
    expect([ds.qnum, ds.cbytes]).toEqual([0, 0]);
    expect(sleepers(k, msqid)).toEqual({ receivers: 0, senders: 0 });
    invariants(k);
  });
});
