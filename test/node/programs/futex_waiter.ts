/**
 * Waits on the word at offset 0 of segment args[0] until it reaches
 * args[1]: each round reads the word and FUTEX_WAITs for that value.
 * Returns how the waits ended: { woken, again } (no timeouts are used, so
 * every wait ends one of those two ways).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): { woken: number; again: number } {
  const [shmid, last] = args as [number, number];
  const at = task.shmat(shmid, 0, 0);
  if (E.isLeft(at)) throw new Error(at.left.message);
  let woken = 0;
  let again = 0;
  for (;;) {
    const v = task.atomicLoad32(at.right);
    if (E.isLeft(v)) throw new Error('load faulted');
    if (v.right >= last) return { woken, again };
    const r = task.futexWait(at.right, v.right);
    if (E.isRight(r)) woken++;
    else if (r.left.errno === 'EAGAIN') again++;
    else throw new Error(`unexpected ${r.left.errno}`);
  }
}
