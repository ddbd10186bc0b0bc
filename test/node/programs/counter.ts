/** Adds 1 to the word at args[1] `args[2]` times, after attaching segment args[0]. */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): number {
  const [shmid, offset, times] = args as [number, number, number];
  const at = task.shmat(shmid, 0, 0);
  if (E.isLeft(at)) throw new Error(`shmat: ${at.left.message}`);
  const addr = at.right + offset;
  for (let i = 0; i < times; i++) {
    const r = task.atomicAdd32(addr, 1);
    if (E.isLeft(r)) throw new Error(`atomicAdd32 faulted: ${r.left.signal}`);
  }
  return at.right;
}
