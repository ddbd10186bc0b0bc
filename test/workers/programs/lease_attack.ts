/**
 * Worker programs that attack semaphore leases (src/sem/lease.ts), for
 * test/workers/sem_lease_attack.test.ts. A hostile program reaches what its
 * thread holds (the Task's private lease table and mailbox) as any code in
 * the thread can. args[0] names the mode:
 *   lease SEMID: semop +1 then -1 on semaphore 0 (the first goes to the
 *     kernel thread, which lends the set; the second should stay in the thread);
 *   revive SEMID GATE NUM VALUE: lease, then sleep in semop -1 on semaphore
 *     NUM of set GATE, then write VALUE (recalled bit clear, no lessee) into
 *     every word of the buffer it holds for SEMID;
 *   victim SEMID GATE NUM: lease, sleep on the gate as revive does, then
 *     semop -1 with IPC_NOWAIT on semaphore 0 of SEMID;
 *   spoof SEMID WHO DELTA: lease, then write its word 0 back with the same
 *     value, lessee index WHO and time field DELTA;
 *   post SEMID TIMES: semop +1 on semaphore 0 until TIMES succeed or one fails;
 *   null-request SEMID: a request of null through its own mailbox, then
 *     semctl GETVAL, to show the kernel thread still serves.
 * Returns { results, inThread }: what each interesting call returned (an
 * errno, 'ok', or a reply), and Task.semopsInThread at the end; with
 * inThreadBefore, that count before the last semop.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../../src/kernel/task.js';

const IPC_NOWAIT = 0o4000;
const GETVAL = 12;

interface Held {
  readonly words: Int32Array;
}

/** The words the thread holds for `semid` (Task's private LeasedSems), as a hostile program reaches them. */
function heldWords(task: Task, semid: number): Int32Array | undefined {
  const sems = (task as unknown as { sems: { byId: Map<number, Held> } }).sems;
  return sems.byId.get(semid)?.words;
}

const show = (r: E.Either<{ errno: string }, unknown>): string => (E.isLeft(r) ? r.left.errno : 'ok');

function must(r: E.Either<{ message: string }, unknown>, what: string): void {
  if (E.isLeft(r)) throw new Error(`${what}: ${r.left.message}`);
}

function lease(task: Task, semid: number): void {
  must(task.semop(semid, [{ semNum: 0, semOp: 1, semFlg: 0 }]), 'semop +1');
  must(task.semop(semid, [{ semNum: 0, semOp: -1, semFlg: 0 }]), 'semop -1');
}

export default function main(task: Task, args: readonly unknown[]): unknown {
  const mode = args[0] as string;
  const semid = args[1] as number;
  const results: unknown[] = [];
  let inThreadBefore = -1;
  if (mode === 'lease') {
    lease(task, semid);
  } else if (mode === 'revive' || mode === 'victim') {
    const [, , gate, num] = args as [string, number, number, number];
    lease(task, semid);
    results.push(heldWords(task, semid) === undefined ? 'no lease' : 'leased');
    must(task.semop(gate, [{ semNum: num, semOp: -1, semFlg: 0 }]), 'gate');
    if (mode === 'revive') {
      const words = heldWords(task, semid);
      if (words === undefined) throw new Error('no buffer to revive');
      for (let i = 0; i < words.length; i++) Atomics.store(words, i, (args[4] as number) & 0xffff);
      results.push('revived');
    } else {
      inThreadBefore = task.semopsInThread;
      results.push(show(task.semop(semid, [{ semNum: 0, semOp: -1, semFlg: IPC_NOWAIT }])));
    }
  } else if (mode === 'spoof') {
    const [, , who, delta] = args as [string, number, number, number];
    lease(task, semid);
    const words = heldWords(task, semid);
    if (words === undefined) throw new Error('no lease to spoof');
    const w = Atomics.load(words, 0);
    results.push(Atomics.compareExchange(words, 0, w, (w & 0xffff) | (who << 16) | (delta << 20)) === w ? 'spoofed' : 'raced');
  } else if (mode === 'post') {
    const times = args[2] as number;
    let done = 0;
    let error = 'none';
    while (done < times) {
      const r = task.semop(semid, [{ semNum: 0, semOp: 1, semFlg: 0 }]);
      if (E.isLeft(r)) {
        error = r.left.errno;
        break;
      }
      done += 1;
    }
    results.push(done, error);
  } else if (mode === 'null-request') {
    const mailbox = (task as unknown as { mailbox: { call(request: unknown): unknown } }).mailbox;
    results.push(mailbox.call(null));
    results.push(task.semctl(semid, 0, GETVAL));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  return { results, inThread: task.semopsInThread, inThreadBefore };
}
