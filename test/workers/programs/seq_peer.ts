/**
 * One end of a queue shared by several producers and consumers. As
 * 'producer' (args: role, msqid, id, count): msgsnd `count` messages of
 * type `id`, each carrying [id, seq] as two 32-bit words, seq 0..count-1.
 * As 'consumer' (args: role, msqid, count, msgtyp): msgrcv `count`
 * messages selected by msgtyp and return their [id, seq] pairs in arrival
 * order. Every call may block.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

export default function main(task: Task, args: readonly unknown[]): number[][] {
  const [role, msqid, a, b] = args as ['producer' | 'consumer', number, number, number];
  const got: number[][] = [];
  if (role === 'producer') {
    const [id, count] = [a, b];
    for (let seq = 0; seq < count; seq++) {
      const text = new Uint8Array(8);
      const view = new DataView(text.buffer);
      view.setUint32(0, id);
      view.setUint32(4, seq);
      const r = task.msgsnd(msqid, id, text, 0);
      if (E.isLeft(r)) throw new Error(`msgsnd: ${r.left.message}`);
    }
    return got;
  }
  const [count, msgtyp] = [a, b];
  for (let i = 0; i < count; i++) {
    const r = task.msgrcv(msqid, 8, msgtyp, 0);
    if (E.isLeft(r)) throw new Error(`msgrcv: ${r.left.message}`);
    const view = new DataView(r.right.text.buffer, r.right.text.byteOffset, 8);
    if (Number(r.right.mtype) !== view.getUint32(0)) throw new Error(`a message of producer ${view.getUint32(0)} came as type ${r.right.mtype}`);
    got.push([view.getUint32(0), view.getUint32(4)]);
  }
  return got;
}
