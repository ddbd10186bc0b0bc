/**
 * Runs a list of System V calls in order and returns each call's Either:
 * args[0] is the list, each call [name, ...arguments] of a Task method
 * (semop, semtimedop, semctl, msgsnd, msgrcv, msgctl). A message's text is
 * given as an array of bytes. Any call may block; the test decides whether
 * the thread is woken or killed there.
 */
import type { Task } from '../../../src/kernel/task.js';

type Call = [string, ...unknown[]];

export default function main(task: Task, args: readonly unknown[]): unknown[] {
  const [calls] = args as [Call[]];
  const out: unknown[] = [];
  for (const [name, ...a] of calls) {
    switch (name) {
      case 'semop':
        out.push(task.semop(a[0] as number, a[1] as never));
        break;
      case 'semtimedop':
        out.push(task.semtimedop(a[0] as number, a[1] as never, a[2] as never));
        break;
      case 'semctl':
        out.push(task.semctl(a[0] as number, a[1] as number, a[2] as number, a[3] as never));
        break;
      case 'msgsnd':
        out.push(task.msgsnd(a[0] as number, a[1] as number, Uint8Array.from(a[2] as number[]), a[3] as number));
        break;
      case 'msgrcv': {
        const r = task.msgrcv(a[0] as number, a[1] as number, a[2] as number, a[3] as number);
        // The text as plain bytes, so the result clones back unchanged.
        out.push(r._tag === 'Right' ? { _tag: 'Right', right: { mtype: r.right.mtype, text: Array.from(r.right.text) } } : r);
        break;
      }
      default:
        throw new Error(`sysv_calls: no call ${name}`);
    }
  }
  return out;
}
