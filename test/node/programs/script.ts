/**
 * Runs a list of steps on a segment and returns what each step returned,
 * so tests can check in-worker results against in-process ones.
 * args: [shmid, steps], where a step is [op, ...operands] and addresses are
 * offsets from the attach address.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

type Step = [string, ...number[]];

export default function main(task: Task, args: readonly unknown[]): unknown[] {
  const [shmid, steps] = args as [number, Step[]];
  const at = task.shmat(shmid, 0, 0);
  if (E.isLeft(at)) throw new Error(at.left.message);
  const base = at.right;
  const out: unknown[] = [];
  for (const [op, x = 0, y = 0, z = 0] of steps) {
    switch (op) {
      case 'write':
        out.push(task.write(base + x, new Uint8Array(y).fill(z)));
        break;
      case 'read':
        out.push(task.read(base + x, y));
        break;
      case 'add':
        out.push(task.atomicAdd32(base + x, y));
        break;
      case 'load':
        out.push(task.atomicLoad32(base + x));
        break;
      case 'shmdt':
        out.push(task.shmdt(base));
        break;
      case 'mprotect':
        out.push(task.mprotect(base + x, y, z));
        break;
      case 'munmap':
        out.push(task.munmap(base + x, y));
        break;
      case 'wait':
        out.push(task.futexWait(base + x, y, z));
        break;
      case 'wake':
        out.push(task.futexWake(base + x, y));
        break;
      case 'stat':
        out.push(E.map((r: { ds?: { nattch: number } }) => r.ds?.nattch)(task.shmctl(shmid, 2)));
        break;
      case 'bogus':
        out.push(task.shmget(-1, -1, 0.5));
        break;
      case 'throw':
        throw new Error('the program crashed');
      case 'exit':
        task.exit();
    }
  }
  return out;
}
