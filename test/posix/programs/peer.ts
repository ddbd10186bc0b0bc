/**
 * A worker's side of the shared-object test: reads `len` bytes at args[0]
 * (its process's mapping of the object), then stores args[2] at args[1],
 * and returns what it read.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): number[] {
  const [readAt, writeAt, value] = args as [number, number, number[]];
  const seen = task.read(readAt, value.length);
  if (E.isLeft(seen)) throw new Error(`read faulted: ${seen.left.signal}`);
  const stored = task.write(writeAt, Uint8Array.from(value));
  if (E.isLeft(stored)) throw new Error(`write faulted: ${stored.left.signal}`);
  return [...seen.right];
}
