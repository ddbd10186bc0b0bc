/**
 * Stores 1, 2, 3, ... at args[0] until a store faults (the kernel thread
 * unmapped it); returns how many stores landed, so the last value stored is
 * the count.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): number {
  const [addr] = args as [number];
  let n = 0;
  while (E.isRight(task.atomicStore32(addr, (n + 1) | 0))) n++;
  return n;
}
