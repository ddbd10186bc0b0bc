/**
 * Attaches segment args[0], then forks args[1] children that each run
 * args[3] (a program URL) with [the attach address, args[2]], and waits for
 * every one. Returns what it saw: the children's exits, the counter at the
 * start of the segment, and the errno of waiting for a child twice and for
 * a pid that is no child.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { ChildExit, Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): unknown {
  const [shmid, children, increments, childUrl] = args as [number, number, number, string];
  const at = task.shmat(shmid, 0, 0);
  if (E.isLeft(at)) throw new Error(at.left.message);
  const pids: number[] = [];
  for (let i = 0; i < children; i++) {
    const pid = task.fork(childUrl, [at.right, increments]);
    if (E.isLeft(pid)) throw new Error(pid.left.message);
    pids.push(pid.right);
  }
  const exits: ChildExit[] = [];
  for (const pid of pids) {
    const w = task.waitpid(pid);
    if (E.isLeft(w)) throw new Error(w.left.message);
    exits.push(w.right);
  }
  const again = task.waitpid(pids[0] as number);
  const stranger = task.waitpid(task.pid);
  const counter = task.atomicLoad32(at.right);
  return {
    exits,
    counter: E.isRight(counter) ? counter.right : 'fault',
    again: E.isLeft(again) ? again.left.errno : 'no error',
    stranger: E.isLeft(stranger) ? stranger.left.errno : 'no error',
    badProgram: (() => {
      const r = task.fork('file:///nonexistent/program.js');
      return E.isLeft(r) ? r.left.errno : task.waitpid(r.right);
    })(),
  };
}
