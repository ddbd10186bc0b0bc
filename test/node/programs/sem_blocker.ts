/**
 * Blocks: semop -1 on semaphore 0 of set args[0] (when args[1] is 'sem'),
 * or msgrcv on queue args[0] (when 'msg'), or semtimedop with a timeout of
 * args[2] ms ('timed'). Returns the call's Either once it ends.
 */
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): unknown {
  const [id, kind, ms] = args as [number, 'sem' | 'msg' | 'timed', number];
  if (kind === 'msg') return task.msgrcv(id, 64, 0, 0);
  if (kind === 'timed') return task.semtimedop(id, [{ semNum: 0, semOp: -1, semFlg: 0 }], { sec: 0, nsec: ms * 1e6 });
  return task.semop(id, [{ semNum: 0, semOp: -1, semFlg: 0 }]);
}
