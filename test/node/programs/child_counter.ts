/**
 * A forked child: adds 1 to the word at args[0] args[1] times, through the
 * attachment it inherited (it never calls shmat). Returns its pid.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): number {
  const [addr, times] = args as [number, number];
  for (let i = 0; i < times; i++) {
    const r = task.atomicAdd32(addr, 1);
    if (E.isLeft(r)) throw new Error(`the inherited attachment faulted: ${r.left.signal}`);
  }
  return task.pid;
}
