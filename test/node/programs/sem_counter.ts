/**
 * A critical section guarded by a System V semaphore: `times` times, semop
 * -1 on semaphore 0 of set args[0], a plain (non-atomic) read-modify-write
 * of the word at args[2] of segment args[1], semop +1. Returns `times`.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): number {
  const [semid, shmid, offset, times] = args as [number, number, number, number];
  const at = task.shmat(shmid, 0, 0);
  if (E.isLeft(at)) throw new Error(`shmat: ${at.left.message}`);
  const addr = at.right + offset;
  for (let i = 0; i < times; i++) {
    const down = task.semop(semid, [{ semNum: 0, semOp: -1, semFlg: 0 }]);
    if (E.isLeft(down)) throw new Error(`semop -1: ${down.left.message}`);
    // Not atomic on purpose: only the semaphore keeps two workers from interleaving here.
    const v = task.read(addr, 4);
    if (E.isLeft(v)) throw new Error(`read: ${v.left.signal}`);
    const n = new DataView(v.right.buffer, v.right.byteOffset, 4).getInt32(0, true) + 1;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setInt32(0, n, true);
    const w = task.write(addr, out);
    if (E.isLeft(w)) throw new Error(`write: ${w.left.signal}`);
    const up = task.semop(semid, [{ semNum: 0, semOp: 1, semFlg: 0 }]);
    if (E.isLeft(up)) throw new Error(`semop +1: ${up.left.message}`);
  }
  return times;
}
