/**
 * Worker programs that attack message-queue leases (src/msg/lease.ts), for
 * test/workers/msg_lease_attack.test.ts. A hostile program reaches what its
 * thread holds (the Task's private table of leased queues) as any code in
 * the thread can. Messages carry [tag, seq] as two little-endian int32s.
 * args[0] names the mode:
 *   keep-lock ID...: for each queue, lease it (a send then a receive), send
 *     two messages [9, 0] and [9, 1] of type 1, then set the lock word to
 *     its own lessee index and return still holding it;
 *   keep-again ID GATE: lease, send [9, 0], keep the lock word, sleep on
 *     queue GATE (msgrcv type 1), then send [9, 1] and, when that lent the
 *     queue to the thread again in a new buffer, keep its lock word too;
 *   garbage ID PATTERN: lease, send [7, 0] (type 1) and [7, 1] (type 2),
 *     take the lock word, write PATTERN's garbage into the header or the
 *     records, let the lock go, then try a msgrcv and a msgsnd with
 *     IPC_NOWAIT (the worker side must not throw either); stime-past
 *     writes its garbage after those two calls, which write the time;
 *   overfill ID COUNT SIZE: lease, then append COUNT records of SIZE bytes
 *     (type 1) straight into the ring under the lock word, ignoring q_qbytes
 *     and msgmax, and fix the counters to match;
 *   send-types ID TIMES: sends TIMES messages [type, seq] of type 1 + seq % 3;
 *   recv-type ID TYPE TIMES: receives TIMES messages of type TYPE (msgtyp
 *     TYPE), returning their seqs;
 *   gate-send ID GATE SIZE MAX: lease, sleep on queue GATE (msgrcv type 1),
 *     then send messages of SIZE bytes with IPC_NOWAIT until one fails or
 *     MAX succeed: results are the count sent and the errno;
 *   noerror ID: lease; send 16 bytes, receive 8 with MSG_NOERROR, send 16
 *     more, receive 8 without it (E2BIG).
 * Returns { results, inThread, inThreadBefore, leased }: what each
 * interesting call returned, Task.msgCallsInThread at the end and before the
 * last interesting calls, and whether the queue was lent to the thread.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';
import { MSG_LEASE_HEADER } from '../../../src/msg/lease.js';

const IPC_NOWAIT = 0o4000;
const MSG_NOERROR = 0o10000;
const { LOCK, QNUM, CBYTES, HEAD, TAIL, USED, LSPID, STIME } = MSG_LEASE_HEADER;

interface Held {
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  readonly recs: Int32Array;
  readonly ring: number;
  readonly me: number;
}

/** What the thread holds for `msqid` (Task's private LeasedQueues), as a hostile program reaches it. */
function held(task: Task, msqid: number): Held | undefined {
  const queues = (task as unknown as { queues: { byId: Map<number, Held> } }).queues;
  return queues.byId.get(msqid);
}

function message(tag: number, seq: number, size = 8): Uint8Array {
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  if (size >= 8) {
    v.setInt32(0, tag, true);
    v.setInt32(4, seq, true);
  }
  return out;
}

function seqOf(text: Uint8Array): number {
  return new DataView(text.buffer, text.byteOffset, text.byteLength).getInt32(4, true);
}

const show = (r: E.Either<{ errno: string }, unknown>): string => (E.isLeft(r) ? r.left.errno : 'ok');

function must<T>(r: E.Either<{ message: string }, T>, what: string): T {
  if (E.isLeft(r)) throw new Error(`${what}: ${r.left.message}`);
  return r.right;
}

/** A send (to the kernel thread, which lends the queue) and a receive (in the thread once lent). */
function lease(task: Task, msqid: number): boolean {
  must(task.msgsnd(msqid, 1, message(0, 0), 0), 'lease msgsnd');
  must(task.msgrcv(msqid, 8, 0, 0), 'lease msgrcv');
  return held(task, msqid) !== undefined;
}

/** Takes the lock word as a worker does. */
function takeLock(h: Held): void {
  for (let i = 0; i < 1_000_000; i++) if (Atomics.compareExchange(h.words, LOCK, 0, h.me) === 0) return;
  throw new Error('could not take the lock word');
}

/** Writes garbage into a buffer holding two records of 8 bytes from its head. */
function garble(h: Held, pattern: string): void {
  const w = h.words;
  const first = w[HEAD]! >> 2;
  const second = first + 4;
  switch (pattern) {
    case 'used-huge':
      w[USED] = 0x7fffffff;
      break;
    case 'used-negative':
      w[USED] = -16;
      break;
    case 'head-unaligned':
      w[HEAD] = 3;
      break;
    case 'head-outside':
      w[HEAD] = h.ring + 8;
      break;
    case 'tail-outside':
      w[TAIL] = -8;
      break;
    case 'size-huge':
      h.recs[first + 1] = 0x7fffffff;
      break;
    case 'size-negative':
      h.recs[second + 1] = -1;
      break;
    case 'mtype-negative':
      h.recs[first] = -5;
      break;
    case 'pad-everything':
      // A pad record at the head that claims the rest of the ring: no message at all.
      h.recs[first] = 0;
      w[USED] = h.ring - (first << 2);
      break;
    case 'pad-loop':
      // The second record becomes a pad claiming the whole ring, so the walk goes back to the ring's start.
      h.recs[second] = 0;
      w[USED] = h.ring;
      break;
    case 'qnum-lies':
      w[QNUM] = 1000;
      w[CBYTES] = -7;
      break;
    case 'stime-past':
      w[LSPID] = h.me;
      w[STIME] = -0x80000000;
      break;
    default:
      throw new Error(`unknown pattern ${pattern}`);
  }
}

export default function main(task: Task, args: readonly unknown[]): unknown {
  const mode = args[0] as string;
  const results: unknown[] = [];
  let inThreadBefore = -1;
  let leased = false;
  if (mode === 'keep-lock') {
    const ids = args.slice(1) as number[];
    leased = true;
    for (const id of ids) {
      leased = lease(task, id) && leased;
      must(task.msgsnd(id, 1, message(9, 0), 0), 'msgsnd');
      must(task.msgsnd(id, 1, message(9, 1), 0), 'msgsnd');
    }
    for (const id of ids) {
      const h = held(task, id);
      if (h === undefined) throw new Error('no lease to keep');
      takeLock(h);
      results.push('kept');
    }
  } else if (mode === 'keep-again') {
    const [, id, gate] = args as [string, number, number];
    leased = lease(task, id);
    must(task.msgsnd(id, 1, message(9, 0), 0), 'msgsnd');
    const first = held(task, id);
    if (first === undefined) throw new Error('no lease to keep');
    takeLock(first);
    results.push('kept');
    must(task.msgrcv(gate, 8, 1, 0), 'gate');
    // The kernel thread took the lock word while this slept: a send goes to it, and may lend the queue again.
    must(task.msgsnd(id, 1, message(9, 1), 0), 'msgsnd');
    const again = held(task, id);
    if (again === undefined || again.words.buffer === first.words.buffer) {
      results.push('not lent');
    } else {
      takeLock(again);
      results.push('kept again');
    }
  } else if (mode === 'garbage') {
    const [, id, pattern] = args as [string, number, string];
    leased = lease(task, id);
    must(task.msgsnd(id, 1, message(7, 0), 0), 'msgsnd');
    must(task.msgsnd(id, 2, message(7, 1), 0), 'msgsnd');
    const h = held(task, id);
    if (h === undefined) throw new Error('no lease to write garbage into');
    inThreadBefore = task.msgCallsInThread;
    // A time field is written by every leased call: that garbage goes in after the calls.
    const late = pattern === 'stime-past';
    const write = (): void => {
      takeLock(h);
      garble(h, pattern);
      Atomics.compareExchange(h.words, LOCK, h.me, 0);
    };
    if (!late) write();
    const r = task.msgrcv(id, 8, 0, IPC_NOWAIT);
    results.push(E.isLeft(r) ? r.left.errno : [Number(r.right.mtype), seqOf(r.right.text)]);
    results.push(show(task.msgsnd(id, 3, message(7, 2), IPC_NOWAIT)));
    if (late) write();
  } else if (mode === 'overfill') {
    const [, id, count, size] = args as [string, number, number, number];
    leased = lease(task, id);
    const h = held(task, id);
    if (h === undefined) throw new Error('no lease to overfill');
    takeLock(h);
    const w = h.words;
    let tail = w[TAIL]!;
    const len = 8 + ((size + 7) & ~7);
    let wrote = 0;
    for (let i = 0; i < count && tail + len <= h.ring && w[USED]! + len <= h.ring; i++) {
      h.recs[tail >> 2] = 1;
      h.recs[(tail >> 2) + 1] = size;
      h.bytes.set(message(8, i, size), tail + 8);
      tail += len;
      w[USED] = w[USED]! + len;
      w[QNUM] = w[QNUM]! + 1;
      w[CBYTES] = w[CBYTES]! + size;
      wrote += 1;
    }
    w[TAIL] = tail === h.ring ? 0 : tail;
    Atomics.compareExchange(w, LOCK, h.me, 0);
    results.push(wrote);
  } else if (mode === 'send-types') {
    const [, id, times] = args as [string, number, number];
    for (let seq = 0; seq < times; seq++) must(task.msgsnd(id, 1 + (seq % 3), message(1 + (seq % 3), seq), 0), 'msgsnd');
    results.push(times);
  } else if (mode === 'recv-type') {
    const [, id, type, times] = args as [string, number, number, number];
    for (let i = 0; i < times; i++) {
      const r = must(task.msgrcv(id, 8, type, 0), 'msgrcv');
      if (Number(r.mtype) !== type) throw new Error(`asked for type ${type}, got ${String(r.mtype)}`);
      results.push(seqOf(r.text));
    }
  } else if (mode === 'gate-send') {
    const [, id, gate, size, max] = args as [string, number, number, number, number];
    leased = lease(task, id);
    must(task.msgrcv(gate, 8, 1, 0), 'gate');
    inThreadBefore = task.msgCallsInThread;
    let sent = 0;
    let error = 'none';
    while (sent < max) {
      const r = task.msgsnd(id, 1, message(5, sent, size), IPC_NOWAIT);
      if (E.isLeft(r)) {
        error = r.left.errno;
        break;
      }
      sent += 1;
    }
    results.push(sent, error);
  } else if (mode === 'noerror') {
    const id = args[1] as number;
    leased = lease(task, id);
    inThreadBefore = task.msgCallsInThread;
    must(task.msgsnd(id, 4, message(4, 1, 16), 0), 'msgsnd');
    const cut = task.msgrcv(id, 8, 0, MSG_NOERROR);
    results.push(E.isLeft(cut) ? cut.left.errno : [Number(cut.right.mtype), cut.right.text.length, seqOf(cut.right.text)]);
    results.push(task.msgCallsInThread - inThreadBefore);
    must(task.msgsnd(id, 4, message(4, 2, 16), 0), 'msgsnd');
    results.push(show(task.msgrcv(id, 8, 0, 0)));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  return { results, inThread: task.msgCallsInThread, inThreadBefore, leased };
}
