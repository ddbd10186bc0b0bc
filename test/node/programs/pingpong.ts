/**
 * One side of a futex ping-pong on the word at offset 0 of segment args[0]:
 * side 0 sets 1 and waits for 0, side 1 waits for 1 and sets 0.
 * args: [shmid, side, rounds, timeoutMs]. Returns { rounds, timeouts, ms }.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): { rounds: number; timeouts: number; ms: number } {
  const [shmid, side, rounds, timeoutMs] = args as [number, number, number, number | null];
  const at = task.shmat(shmid, 0, 0);
  if (E.isLeft(at)) throw new Error(at.left.message);
  const w = at.right;
  const load = (): number => (task.atomicLoad32(w) as E.Right<number>).right;
  const timeout = timeoutMs ?? undefined;
  let timeouts = 0;
  const wait = (v: number): void => {
    const r = task.futexWait(w, v, timeout);
    if (E.isLeft(r) && r.left.errno === 'ETIMEDOUT') timeouts++;
  };
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    if (side === 0) {
      task.atomicStore32(w, 1);
      task.futexWake(w, 1);
      while (load() === 1) wait(1);
    } else {
      while (load() !== 1) wait(0);
      task.atomicStore32(w, 0);
      task.futexWake(w, 1);
    }
  }
  return { rounds, timeouts, ms: performance.now() - t0 };
}
