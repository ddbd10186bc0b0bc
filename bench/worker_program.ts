/**
 * The program the worker rows of `npm run bench` run in each worker thread
 * (see workers.ts). args: [test, shmid, side, ops]. Both sides meet at a
 * start barrier, time their own loop, and return the milliseconds it took.
 *
 *   futex-pingpong: side 0 sets the word to 1, wakes, waits for 0; side 1
 *                   waits for 1, sets 0, wakes (shmbench.c's loop).
 *   atomic-add:     both sides add 1 to one word, ops times.
 */
import * as E from 'fp-ts/lib/Either.js';
import { performance } from 'node:perf_hooks';
import type { Task } from '../src/kernel/task.js';

const WORD = 0;
const COUNTER = 64;
const BARRIER = 128;

function ok<T>(r: E.Either<unknown, T>): T {
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
  return r.right;
}

export default function main(task: Task, args: readonly unknown[]): number {
  const [test, shmid, side, ops] = args as [string, number, number, number];
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
