/**
 * Runs futex steps on its process's memory at absolute addresses and
 * returns what each returned, for the futex key tests
 * (futex_private.test.ts). A step is one of
 * - ['wait', addr, expected, timeoutMs]: 0, or the errno;
 * - ['wake', addr, count]: how many woke, or the errno;
 * - ['store', addr, value]: true, or the signal;
 * - ['load', addr]: the word, or the signal;
 * - ['key', addr]: the three words of the futex key this thread computes
 *   (digging past Task into its TLB), or null for EFAULT.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';
import type { FutexKey } from '../../../src/mm/futex.js';

type Step = [string, ...number[]];

export default function main(task: Task, args: readonly unknown[]): unknown[] {
  const [steps] = args as [Step[]];
  const out: unknown[] = [];
  for (const [op, x = 0, y = 0, z = 0] of steps) {
    switch (op) {
      case 'wait': {
        const r = task.futexWait(x, y, z);
        out.push(E.isRight(r) ? r.right : r.left.errno);
        break;
      }
      case 'wake': {
        const r = task.futexWake(x, y);
        out.push(E.isRight(r) ? r.right : r.left.errno);
        break;
      }
      case 'store': {
        const r = task.atomicStore32(x, y);
        out.push(E.isRight(r) ? true : r.left.signal);
        break;
      }
      case 'load': {
        const r = task.atomicLoad32(x);
        out.push(E.isRight(r) ? r.right : r.left.signal);
        break;
      }
      case 'key': {
        const tlb = (task as unknown as { tlb: { futexKey(addr: number): FutexKey | undefined } }).tlb;
        const k = tlb.futexKey(x);
        out.push(k === undefined ? null : [k.k0, k.k1, k.k2]);
        break;
      }
      default:
        throw new Error(`unknown step ${op}`);
    }
  }
  return out;
}
