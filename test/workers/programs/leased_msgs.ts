/**
 * msgsnd and msgrcv that a lease lets a worker make in its own thread
 * (src/msg/lease.ts), for test/workers/msg_lease.test.ts. args[0] names
 * the mode:
 *   produce MSQID ID TIMES: sends TIMES messages of type 1 + ID % 3, each
 *     8 bytes: the producer's id and its sequence number;
 *   consume MSQID TIMES: receives TIMES messages (any type) and returns
 *     them as [id, seq] pairs in the order received;
 *   pingpong Q0 Q1 SIDE TIMES: side 0 sends on Q0 and receives from Q1,
 *     side 1 the reverse, TIMES round trips, checking each message's
 *     number;
 *   until-error MSQID LIMIT: sends and receives one message at a time
 *     until a call fails (at most LIMIT round trips).
 * Returns { done, error, inThread, got }: round trips or messages done, the
 * errno of the call that failed (or 'none'), Task.msgCallsInThread, and
 * for consume the pairs.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

interface Outcome {
  readonly done: number;
  readonly error: string;
  readonly inThread: number;
  readonly got: Array<[number, number]>;
}

function message(id: number, seq: number): Uint8Array {
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setInt32(0, id, true);
  v.setInt32(4, seq, true);
  return out;
}

function pair(text: Uint8Array): [number, number] {
  const v = new DataView(text.buffer, text.byteOffset, text.byteLength);
  return [v.getInt32(0, true), v.getInt32(4, true)];
}

export default function main(task: Task, args: readonly unknown[]): Outcome {
  const mode = args[0] as string;
  let done = 0;
  let error = 'none';
  const got: Array<[number, number]> = [];
  if (mode === 'produce') {
    const [, msqid, id, times] = args as [string, number, number, number];
    for (let seq = 0; seq < times; seq++) {
      const r = task.msgsnd(msqid, 1 + (id % 3), message(id, seq), 0);
      if (E.isLeft(r)) throw new Error(`msgsnd: ${r.left.message}`);
      done += 1;
    }
  } else if (mode === 'consume') {
    const [, msqid, times] = args as [string, number, number];
    for (let i = 0; i < times; i++) {
      const r = task.msgrcv(msqid, 8, 0, 0);
      if (E.isLeft(r)) throw new Error(`msgrcv: ${r.left.message}`);
      got.push(pair(r.right.text));
      done += 1;
    }
  } else if (mode === 'pingpong') {
    const [, q0, q1, side, times] = args as [string, number, number, number, number];
    const [inbox, outbox] = side === 0 ? [q1, q0] : [q0, q1];
    for (let i = 0; i < times; i++) {
      if (side === 0) {
        if (E.isLeft(task.msgsnd(outbox, 1, message(side, i), 0))) throw new Error('send');
      }
      const r = task.msgrcv(inbox, 8, 1, 0);
      if (E.isLeft(r)) throw new Error(`msgrcv: ${r.left.message}`);
      const [from, seq] = pair(r.right.text);
      if (from !== 1 - side || seq !== i) throw new Error(`round ${i} got [${from}, ${seq}]`);
      if (side === 1) {
        if (E.isLeft(task.msgsnd(outbox, 1, message(side, i), 0))) throw new Error('send');
      }
      done += 1;
    }
  } else if (mode === 'until-error') {
    const [, msqid, limit] = args as [string, number, number];
    while (done < limit) {
      const s = task.msgsnd(msqid, 1, message(0, done), 0);
      if (E.isLeft(s)) {
        error = s.left.errno;
        break;
      }
      const r = task.msgrcv(msqid, 8, 0, 0);
      if (E.isLeft(r)) {
        error = r.left.errno;
        break;
      }
      done += 1;
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  return { done, error, inThread: task.msgCallsInThread, got };
}
