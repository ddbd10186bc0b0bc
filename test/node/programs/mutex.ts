/**
 * The classic three-state futex mutex (0 free, 1 locked, 2 locked with
 * waiters) guarding a plain, non-atomic counter in a shared segment.
 * args: [shmid, rounds, timeoutMs]. Returns how many waits timed out.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

function must<T>(r: E.Either<unknown, T>, what: string): T {
  if (E.isLeft(r)) throw new Error(`${what}: ${JSON.stringify(r.left)}`);
  return r.right;
}

export default function main(task: Task, args: readonly unknown[]): number {
  const [shmid, rounds, timeoutMs] = args as [number, number, number];
  const base = must(task.shmat(shmid, 0, 0), 'shmat');
  const lockWord = base;
  const counter = base + 64;
  let timeouts = 0;
  const exchange = (v: number): number => {
    for (;;) {
      const old = must(task.atomicLoad32(lockWord), 'load');
      if (must(task.atomicCompareExchange32(lockWord, old, v), 'cas') === old) return old;
    }
  };
  const lock = (): void => {
    let c = must(task.atomicCompareExchange32(lockWord, 0, 1), 'cas');
    if (c === 0) return;
    if (c !== 2) c = exchange(2);
    while (c !== 0) {
      const w = task.futexWait(lockWord, 2, timeoutMs);
      if (E.isLeft(w) && w.left.errno === 'ETIMEDOUT') timeouts++;
      c = exchange(2);
    }
  };
  const unlock = (): void => {
    if (must(task.atomicAdd32(lockWord, -1), 'add') !== 1) {
      must(task.atomicStore32(lockWord, 0), 'store');
      must(task.futexWake(lockWord, 1), 'wake');
    }
  };
  for (let i = 0; i < rounds; i++) {
    lock();
    // A plain read-modify-write through a typed-array view: only the lock makes it safe.
    must(
      task.withViews(counter, 4, true, ([view]) => {
        const word = new Int32Array(view!.buffer, view!.byteOffset, 1);
        word[0] = (word[0] ?? 0) + 1;
      }),
      'view',
    );
    unlock();
  }
  return timeouts;
}
