/**
 * Moves the word at offset 0 of segment args[0] from 1 up to args[1], one
 * step at a time, and after each step wakes args[2][step % length] waiters
 * (0 included). At the end it wakes everyone left. Before the first step
 * it wakes one waiter at a time until one was asleep (at most 10 s), so at
 * least one wait ends woken however the threads are scheduled. Returns the
 * sum of what FUTEX_WAKE returned.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): number {
  const [shmid, last, counts] = args as [number, number, number[]];
  const at = task.shmat(shmid, 0, 0);
  if (E.isLeft(at)) throw new Error(at.left.message);
  let woken = 0;
  const wake = (n: number): void => {
    const r = task.futexWake(at.right, n);
    if (E.isLeft(r)) throw new Error(r.left.message);
    woken += r.right;
  };
  const deadline = performance.now() + 10_000;
  while (woken === 0) {
    if (performance.now() > deadline) throw new Error('no waiter fell asleep within 10 s');
    wake(1);
  }
  for (let v = 1; v <= last; v++) {
    task.atomicStore32(at.right, v);
    wake(counts[v % counts.length] as number);
  }
  wake(0x7fffffff);
  return woken;
}
