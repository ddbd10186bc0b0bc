/**
 * The README's worker example: a single-producer, single-consumer ring of
 * 64-byte slots in a shared segment. Word 0 counts messages written (head),
 * word 1 messages read (tail); each side sleeps on the other's word with
 * FUTEX_WAIT when the ring is full or empty. args: [role, shmid, messages].
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

const SLOTS = 16;
const SLOT = 64;
const RING = 64; // slots start here, after the two counters

function ok<T>(r: E.Either<unknown, T>): T {
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
  return r.right;
}

export default function main(task: Task, [role, shmid, messages]: readonly unknown[]): string[] {
  const base = ok(task.shmat(shmid as number, 0, 0));
  const head = base;
  const tail = base + 4;
  const received: string[] = [];
  for (let i = 0; i < (messages as number); i++) {
    if (role === 'producer') {
      // Full: sleep until the consumer moves tail.
      for (let t = ok(task.atomicLoad32(tail)); i - t === SLOTS; t = ok(task.atomicLoad32(tail))) task.futexWait(tail, t, 1000);
      const text = new TextEncoder().encode(`message ${i}`);
      const slot = base + RING + (i % SLOTS) * SLOT;
      ok(task.write(slot, new Uint8Array(new Int32Array([text.length]).buffer)));
      ok(task.write(slot + 4, text));
      ok(task.atomicStore32(head, i + 1));
      task.futexWake(head, 1);
    } else {
      // Empty: sleep until the producer moves head.
      for (let h = ok(task.atomicLoad32(head)); h === i; h = ok(task.atomicLoad32(head))) task.futexWait(head, h, 1000);
      const slot = base + RING + (i % SLOTS) * SLOT;
      const len = ok(task.atomicLoad32(slot));
      received.push(new TextDecoder().decode(ok(task.read(slot + 4, len))));
      ok(task.atomicStore32(tail, i + 1));
      task.futexWake(tail, 1);
    }
  }
  return received;
}
