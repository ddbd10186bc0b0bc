/** Attaches segment args[0] and FUTEX_WAITs on its word at args[1] for value args[2], at most args[3] ms; returns the Either. */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): unknown {
  const [shmid, offset, expected, timeoutMs] = args as [number, number, number, number];
  const at = task.shmat(shmid, 0, 0);
  if (E.isLeft(at)) throw new Error(at.left.message);
  return task.futexWait(at.right + offset, expected, timeoutMs);
}
