/**
 * A checkpoint while a worker thread is blocked in a call (semop, msgrcv,
 * waitpid) is refused with a Left whose errno is EBUSY, naming the process
 * and the call, and changes nothing: the call goes on and completes as it
 * would have, and once it has returned the checkpoint succeeds.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { GETNCNT, IPC_CREAT, IPC_PRIVATE, Kernel, SETVAL } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { checkInvariants, checkpoint } from '../../src/checkpoint/index.js';
import type { CheckpointError } from '../../src/checkpoint/index.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerThread } from '../../src/node/worker.js';
import { ok } from '../support/either.js';

const blocker = new URL('../node/programs/sem_blocker.ts', import.meta.url);
const forkAndWait = new URL('./programs/fork_and_wait.ts', import.meta.url);

function start(k: Kernel, p: Process, url: URL, args: readonly unknown[]): WorkerThread {
  return ok(spawnWorker(k, p, url, args));
}

/** Polls on the event loop (the kernel thread keeps serving) until `cond` holds, at most `ms`. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ncnt = (p: Process, id: number): number => ok(p.semctl(id, 0, GETNCNT)).ret;

function refused(k: Kernel): CheckpointError {
  const r = checkpoint(k);
  if (E.isRight(r)) throw new Error('the checkpoint was taken');
  return r.left;
}

describe('checkpoint with a worker blocked in a call', () => {
  it('is EBUSY while a worker sleeps in semop or msgrcv, changes nothing, and succeeds once the calls return', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const semid = ok(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666));
    const msqid = ok(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    const sem = start(k, k.spawn(), blocker, [semid, 'sem']);
    await until(() => ncnt(owner, semid) === 1);
    const e = refused(k);
    expect(e.errno).toBe('EBUSY');
    expect(e.where).toBe(`process ${sem.process.pid}`);
    expect(e.message).toContain('blocked in semop');
    // Nothing moved: the worker still sleeps, and is woken as before.
    expect(ncnt(owner, semid)).toBe(1);
    expect(checkInvariants(k)).toEqual(E.right(undefined));
    ok(owner.semctl(semid, 0, SETVAL, 1));
    expect(await sem.done).toEqual({ ok: true, result: E.right(0) });

    const msg = start(k, k.spawn(), blocker, [msqid, 'msg']);
    await until(() => {
      const r = checkpoint(k);
      return E.isLeft(r) && r.left.errno === 'EBUSY' && r.left.message.includes('blocked in msgrcv');
    });
    expect(E.isRight(owner.msgsnd(msqid, 4, new Uint8Array([9, 8]), 0) as E.Either<unknown, 0>)).toBe(true);
    const got = await msg.done;
    expect(got.ok).toBe(true);
    expect((got.result as E.Right<{ mtype: number }>).right.mtype).toBe(4);
    expect(E.isRight(checkpoint(k))).toBe(true);
  });

  it('is EBUSY while a worker waits for its child in waitpid, naming waitpid', async () => {
    const k = new Kernel();
    const owner = k.spawn();
    const semid = ok(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666));
    const parent = start(k, k.spawn(), forkAndWait, [semid, blocker.href]);
    await until(() => {
      const r = checkpoint(k);
      return E.isLeft(r) && r.left.message.includes('blocked in waitpid');
    });
    const e = refused(k);
    expect([e.errno, e.where]).toEqual(['EBUSY', `process ${parent.process.pid}`]);
    ok(owner.semctl(semid, 0, SETVAL, 1));
    const exit = await parent.done;
    expect(exit.ok).toBe(true);
    expect((exit.result as E.Right<{ ok: boolean; result: unknown }>).right).toMatchObject({ ok: true, result: E.right(0) });
    expect(E.isRight(checkpoint(k))).toBe(true);
  });
});
