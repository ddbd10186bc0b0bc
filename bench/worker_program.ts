/**
 * The program the worker rows of `npm run bench` run in each worker thread
 * (see workers.ts). args: [test, shmid, side, ops, semid, msqid0, msqid1].
 * Both sides meet at a start barrier, time their own loop, and return the
 * milliseconds it took.
 *
 *   futex-pingpong: side 0 sets the word to 1, wakes, waits for 0; side 1
 *                   waits for 1, sets 0, wakes (shmbench.c's loop).
 *   atomic-add:     both sides add 1 to one word, ops times.
 *   sem-pingpong:   side 0 waits on semaphore 0 (-1) and posts semaphore 1
 *                   (+1); side 1 waits on 1 and posts 0. Semaphore 0 starts
 *                   at 1, so side 0 holds the token first.
 *   msg-pingpong:   side 0 sends an 8-byte message of type 1 on queue 0 and
 *                   receives from queue 1; side 1 receives from queue 0 and
 *                   sends it back on queue 1.
 */
import * as E from 'fp-ts/lib/Either.js';
import { performance } from 'node:perf_hooks';
import type { Sembuf, Task } from '../src/kernel/task.js';

const WORD = 0;
const COUNTER = 64;
const BARRIER = 128;

function ok<T>(r: E.Either<unknown, T>): T {
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
  return r.right;
}

export default function main(task: Task, args: readonly unknown[]): number {
  const [test, shmid, side, ops, semid, q0, q1] = args as [string, number, number, number, number, number, number];
  const base = ok(task.shmat(shmid, 0, 0));
  const w = base + WORD;
  // Start together: the barrier counts arrivals, and the last one wakes the other.
  if (ok(task.atomicAdd32(base + BARRIER, 1)) === 0) {
    while (ok(task.atomicLoad32(base + BARRIER)) < 2) task.futexWait(base + BARRIER, 1, 10_000);
  } else {
    task.futexWake(base + BARRIER, 1);
  }
  const t0 = performance.now();
  if (test === 'atomic-add') {
    for (let i = 0; i < ops; i++) task.atomicAdd32(base + COUNTER, 1);
  } else if (test === 'sem-pingpong') {
    const wait: readonly Sembuf[] = [{ semNum: side, semOp: -1, semFlg: 0 }];
    const post: readonly Sembuf[] = [{ semNum: 1 - side, semOp: 1, semFlg: 0 }];
    for (let i = 0; i < ops; i++) {
      ok(task.semop(semid, wait));
      ok(task.semop(semid, post));
    }
  } else if (test === 'msg-pingpong') {
    const text = new Uint8Array(8).fill(0x2a);
    const [inbox, outbox] = side === 0 ? [q1, q0] : [q0, q1];
    for (let i = 0; i < ops; i++) {
      if (side === 0) {
        ok(task.msgsnd(outbox, 1, text, 0));
        ok(task.msgrcv(inbox, 8, 1, 0));
      } else {
        ok(task.msgrcv(inbox, 8, 1, 0));
        ok(task.msgsnd(outbox, 1, text, 0));
      }
    }
  } else if (side === 0) {
    for (let i = 0; i < ops; i++) {
      task.atomicStore32(w, 1);
      task.futexWake(w, 1);
      while (ok(task.atomicLoad32(w)) === 1) task.futexWait(w, 1);
    }
  } else {
    for (let i = 0; i < ops; i++) {
      while (ok(task.atomicLoad32(w)) !== 1) task.futexWait(w, 0);
      task.atomicStore32(w, 0);
      task.futexWake(w, 1);
    }
  }
  return performance.now() - t0;
}
