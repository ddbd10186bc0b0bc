/**
 * One end of a message queue: as 'producer', msgsnd `count` messages
 * "i" of type 1 + i % 3 to queue args[1]; as 'consumer', msgrcv `count`
 * messages of any type and return their texts in arrival order. Every call
 * may block (a full or an empty queue).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): string[] {
  const [role, msqid, count] = args as ['producer' | 'consumer', number, number];
  const got: string[] = [];
  for (let i = 0; i < count; i++) {
    if (role === 'producer') {
      const r = task.msgsnd(msqid, 1 + (i % 3), new TextEncoder().encode(String(i)), 0);
      if (E.isLeft(r)) throw new Error(`msgsnd: ${r.left.message}`);
    } else {
      const r = task.msgrcv(msqid, 64, 0, 0);
      if (E.isLeft(r)) throw new Error(`msgrcv: ${r.left.message}`);
      got.push(new TextDecoder().decode(r.right.text));
    }
  }
  return got;
}
