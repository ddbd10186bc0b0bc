/**
 * Semaphores and message queues from worker threads, blocking for real: the
 * worker's thread waits in its mailbox while the kernel thread holds the
 * reply to a Pending, and goes on when another thread's call, a timer,
 * IPC_RMID or its own death ends the wait. Sizes are small, for a 2-core box.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { GETNCNT, GETVAL, IPC_CREAT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT, Kernel, SETVAL } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerThread } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';

const program = (name: string): URL => new URL(`./programs/${name}.ts`, import.meta.url);

function start(k: Kernel, p: Process, name: string, args: readonly unknown[]): WorkerThread {
  return right(spawnWorker(k, p, program(name), args));
}

/** Polls (on the event loop, so the kernel thread keeps serving) until `cond` holds, at most `ms`. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The receivers asleep on queue `msqid` of the initial namespace (the mechanism's own list). */
function sleepers(k: Kernel, msqid: number): number {
  const q = k.initialIpcNamespace.msg.findById(msqid);
  if (q === undefined) return -1;
  q.decRef();
  return q.receivers.size;
}

const ncnt = (p: Process, id: number): number => right(p.semctl(id, 0, GETNCNT)).ret;

describe('semaphores from workers', () => {
  it('N workers × M iterations of semop -1 / +1 around a plain counter in shared memory give exactly N·M', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    right(owner.semctl(semid, 0, SETVAL, 1));
    const shmid = right(owner.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const addr = right(owner.shmat(shmid, 0, 0));
    const [n, m] = [3, 150];
    const exits = await Promise.all(Array.from({ length: n }, () => start(k, k.spawn(), 'sem_counter', [semid, shmid, 64, m]).done));
    expect(exits.map((e) => e.error)).toEqual(exits.map(() => undefined));
    expect(right(owner.atomicLoad32(addr + 64))).toBe(n * m);
    expect([right(owner.semctl(semid, 0, GETVAL)).ret, ncnt(owner, semid)]).toEqual([1, 0]);
  });

  it('a worker blocked in semop is woken by an in-process semop; IPC_RMID ends another with EIDRM', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const t = start(k, k.spawn(), 'sem_blocker', [semid, 'sem']);
    await until(() => ncnt(owner, semid) === 1);
    right(owner.semctl(semid, 0, SETVAL, 1));
    expect(await t.done).toEqual({ ok: true, result: E.right(0) });

    const u = start(k, k.spawn(), 'sem_blocker', [semid, 'sem']);
    await until(() => ncnt(owner, semid) === 1);
    right(owner.semctl(semid, 0, IPC_RMID));
    const out = await u.done;
    expect((out.result as E.Left<{ errno: string }>).left.errno).toBe('EIDRM');
  });

  it('semtimedop in a worker times out on the host monotonic clock with EAGAIN', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const out = await start(k, k.spawn(), 'sem_blocker', [semid, 'timed', 40]).done;
    expect((out.result as E.Left<{ errno: string }>).left.errno).toBe('EAGAIN');
    expect([ncnt(owner, semid), k.timers.size]).toEqual([0, 0]);
  });

  it('a worker terminated while blocked leaves the set consistent: GETNCNT back to 0, no waiter left', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const victim = start(k, k.spawn(), 'sem_blocker', [semid, 'sem']);
    const other = start(k, k.spawn(), 'sem_blocker', [semid, 'sem']);
    await until(() => ncnt(owner, semid) === 2);
    expect(await victim.terminate()).toMatchObject({ ok: false });
    expect(victim.process.exited).toBe(true);
    expect(ncnt(owner, semid)).toBe(1);
    // The one left gets the unit: nothing was handed to the dead waiter.
    right(owner.semctl(semid, 0, SETVAL, 1));
    expect(await other.done).toEqual({ ok: true, result: E.right(0) });
    expect([ncnt(owner, semid), right(owner.semctl(semid, 0, GETVAL)).ret]).toEqual([0, 0]);
  });
});

describe('message queues from workers', () => {
  it('a producer and a consumer through msgsnd/msgrcv lose and duplicate nothing, with a queue that fills', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const msqid = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    // Room for a few messages only, so the producer blocks too.
    right(owner.msgctl(msqid, IPC_SET, { uid: 0, gid: 0, mode: 0o666, qbytes: 16 }));
    const count = 300;
    const consumer = start(k, k.spawn(), 'msg_peer', ['consumer', msqid, count]);
    const producer = start(k, k.spawn(), 'msg_peer', ['producer', msqid, count]);
    const [got, sent] = await Promise.all([consumer.done, producer.done]);
    expect([got.error, sent.error]).toEqual([undefined, undefined]);
    const texts = got.result as string[];
    expect(texts).toEqual(Array.from({ length: count }, (_, i) => String(i)));
    expect(right(owner.msgctl(msqid, IPC_STAT)).ds?.qnum).toBe(0);
  });

  it('a receiver terminated while blocked leaves the queue consistent: a later message stays queued', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const msqid = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    const victim = start(k, k.spawn(), 'sem_blocker', [msqid, 'msg']);
    await until(() => sleepers(k, msqid) === 1);
    await victim.terminate();
    expect(victim.process.exited).toBe(true);
    expect(sleepers(k, msqid)).toBe(0);
    const sent = owner.msgsnd(msqid, 1, new Uint8Array([1, 2, 3]), 0);
    expect(sent).toEqual(E.right(0));
    expect(right(owner.msgctl(msqid, IPC_STAT)).ds?.qnum).toBe(1);
  });
});
