/**
 * Two counters guarded together: `times` times, one semop takes a unit of
 * both semaphores 0 and 1 of set args[0] at once (with SEM_UNDO on the
 * first), the program bumps two plain (non-atomic) words at offsets
 * args[2] and args[2] + 4 of segment args[1] by read-modify-write, and one
 * semop gives both units back. Returns `times`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { SEM_UNDO } from '../../../src/abi/sem.js';
import type { Task } from '../../../src/kernel/task.js';
import { bump } from './bump.js';

export default function main(task: Task, args: readonly unknown[]): number {
  const [semid, shmid, offset, times] = args as [number, number, number, number];
  const at = task.shmat(shmid, 0, 0);
  if (E.isLeft(at)) throw new Error(`shmat: ${at.left.message}`);
  for (let i = 0; i < times; i++) {
    const down = task.semop(semid, [
      { semNum: 0, semOp: -1, semFlg: SEM_UNDO },
      { semNum: 1, semOp: -1, semFlg: 0 },
    ]);
    if (E.isLeft(down)) throw new Error(`semop down: ${down.left.message}`);
    bump(task, at.right + offset);
    bump(task, at.right + offset + 4);
    const up = task.semop(semid, [
      { semNum: 1, semOp: 1, semFlg: 0 },
      { semNum: 0, semOp: 1, semFlg: SEM_UNDO },
    ]);
    if (E.isLeft(up)) throw new Error(`semop up: ${up.left.message}`);
  }
  return times;
}
