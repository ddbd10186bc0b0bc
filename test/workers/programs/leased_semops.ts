/**
 * Semops a lease lets a worker perform in its own thread
 * (src/sem/lease.ts), for test/workers/sem_lease.test.ts. args[0] names
 * the mode:
 *   counter SEMID SHMID OFFSET TIMES: TIMES times, semop -1 on semaphore
 *     0, a plain read-modify-write of the word at OFFSET, semop +1;
 *   token SEMID SIDE TIMES: TIMES times, take semaphore SIDE (-1) and give
 *     semaphore 1 - SIDE (+1);
 *   post SEMID NUM TIMES: semop +1 on semaphore NUM until TIMES have
 *     succeeded or one fails;
 *   until-error SEMID LIMIT: semop +1 on semaphore 0 until one fails (at
 *     most LIMIT times); every 64 calls a semtimedop on semaphore 1 sleeps
 *     until it times out, so the lease is recalled (a sleeper is queued)
 *     and granted again while the loop runs.
 * Returns { done, error, inThread }: how many semops succeeded, the errno
 * of the one that failed (or 'none'), and how many of this thread's
 * semops it performed itself (Task.semopsInThread).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';
import { bump } from './bump.js';

interface Outcome {
  readonly done: number;
  readonly error: string;
  readonly inThread: number;
}

function must(r: E.Either<{ message: string }, unknown>, what: string): void {
  if (E.isLeft(r)) throw new Error(`${what}: ${r.left.message}`);
}

export default function main(task: Task, args: readonly unknown[]): Outcome {
  const mode = args[0] as string;
  const semid = args[1] as number;
  let done = 0;
  let error = 'none';
  if (mode === 'counter') {
    const [, , shmid, offset, times] = args as [string, number, number, number, number];
    const at = task.shmat(shmid, 0, 0);
    if (E.isLeft(at)) throw new Error(`shmat: ${at.left.message}`);
    for (let i = 0; i < times; i++) {
      must(task.semop(semid, [{ semNum: 0, semOp: -1, semFlg: 0 }]), 'semop -1');
      // Not atomic on purpose: only the semaphore keeps two workers from interleaving here.
      bump(task, at.right + offset);
      must(task.semop(semid, [{ semNum: 0, semOp: 1, semFlg: 0 }]), 'semop +1');
      done += 1;
    }
  } else if (mode === 'token') {
    const [, , side, times] = args as [string, number, number, number];
    for (let i = 0; i < times; i++) {
      must(task.semop(semid, [{ semNum: side, semOp: -1, semFlg: 0 }]), 'take');
      must(task.semop(semid, [{ semNum: 1 - side, semOp: 1, semFlg: 0 }]), 'give');
      done += 1;
    }
  } else if (mode === 'post') {
    const [, , num, times] = args as [string, number, number, number];
    while (done < times) {
      const r = task.semop(semid, [{ semNum: num, semOp: 1, semFlg: 0 }]);
      if (E.isLeft(r)) {
        error = r.left.errno;
        break;
      }
      done += 1;
    }
  } else if (mode === 'until-error') {
    const limit = args[2] as number;
    while (done < limit) {
      const r = task.semop(semid, [{ semNum: 0, semOp: 1, semFlg: 0 }]);
      if (E.isLeft(r)) {
        error = r.left.errno;
        break;
      }
      done += 1;
      if (done % 64 === 0) task.semtimedop(semid, [{ semNum: 1, semOp: -1, semFlg: 0 }], { sec: 0, nsec: 1_000_000 });
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  return { done, error, inThread: task.semopsInThread };
}
