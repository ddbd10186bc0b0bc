/**
 * A worker program's plain (non-atomic) read-modify-write of the 32-bit
 * little-endian word at `addr`, for the programs that count under a
 * semaphore: only the semaphore keeps two workers from interleaving it.
 * Not a program itself (no default export).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export function bump(task: Task, addr: number): void {
  const v = task.read(addr, 4);
  if (E.isLeft(v)) throw new Error(`read: ${v.left.signal}`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, new DataView(v.right.buffer, v.right.byteOffset, 4).getInt32(0, true) + 1, true);
  const w = task.write(addr, out);
  if (E.isLeft(w)) throw new Error(`write: ${w.left.signal}`);
}
