/**
 * Forks a child that runs args[1] (a program URL) with [args[0], 'sem'],
 * then waits for it: the parent's thread sits in waitpid while the child
 * sleeps in semop. Returns the child's exit as waitpid reports it.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): unknown {
  const [semid, childUrl] = args as [number, string];
  const pid = task.fork(childUrl, [semid, 'sem']);
  if (E.isLeft(pid)) throw new Error(pid.left.message);
  return task.waitpid(pid.right);
}
