/**
 * Attacks on message-queue leases (src/msg/lease.ts) from real worker
 * threads: hostile programs that write the buffer they were lent (garbage
 * in the header and the records, a lock word kept, records past q_qbytes
 * and msgmax, a time field), races between leased calls and the kernel
 * thread (typed receives, sleepers), and the changes (IPC_SET's q_qbytes,
 * kernel.msgmax, an id reused through kernel.msg_next_id) after which Linux
 * answers msgsnd with an errno. Linux is the reference for each
 * expectation. Each test that depends on a lease checks that the thread
 * did make calls itself (Task.msgCallsInThread), or it would prove nothing
 * about leases. Sizes are small, for a 2-core box; every wait is bounded.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import { MSG_INFO } from '../../src/abi/msg.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { hostSeconds } from '../../src/kernel/clock.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { STEAL_MS } from '../../src/msg/lease.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerThread } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';
import { resultWithin, until } from '../support/threads.js';

interface Outcome {
  readonly results: unknown[];
  readonly inThread: number;
  readonly inThreadBefore: number;
  readonly leased: boolean;
}

const outcome = (t: WorkerThread, ms?: number): Promise<Outcome> => resultWithin<Outcome>(t, ms ?? 20000);

const program = new URL('./programs/msg_attack.ts', import.meta.url);

function start(k: Kernel, p: Process, args: readonly unknown[]): WorkerThread {
  return right(spawnWorker(k, p, program, args));
}

const invariants = (k: Kernel) => expect(checkInvariants(k)).toEqual(E.right(undefined));
const stat = (p: Process, id: number) => right(p.msgctl(id, IPC_STAT)).ds!;
const msgInfo = (p: Process) => right(p.msgctl(0, MSG_INFO)).info!;

/** Whether a msgrcv sleeps on queue `id` (read without the queue's lock, which would recall a lease). */
const receiverSleeps = (k: Kernel, id: number): boolean => k.initialIpcNamespace.msg.peekById(id)?.receivers.first !== undefined;

/** Sends an 8-byte message of type 1 from a process on the kernel thread (never sleeps). */
function post(p: Process, id: number): void {
  const r = p.msgsnd(id, 1, new Uint8Array(8), IPC_NOWAIT);
  if (isPending(r) || E.isLeft(r)) throw new Error('post failed');
}

/** Receives every message of queue `id` with IPC_NOWAIT from a process on the kernel thread: their types and sizes. */
function drain(p: Process, id: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < 100; i++) {
    const r = p.msgrcv(id, 1 << 16, 0, IPC_NOWAIT);
    if (isPending(r)) throw new Error('a msgrcv with IPC_NOWAIT slept');
    if (E.isLeft(r)) {
      expect(r.left.errno).toBe('ENOMSG');
      return out;
    }
    out.push([Number(r.right.mtype), r.right.text.length]);
  }
  throw new Error('the queue did not empty');
}

describe('message-queue leases under attack', () => {
  it('typed receivers in three threads and a leased sender: each gets exactly its type, each in send order, sleepers woken', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    // Room for 12 messages: the sender fills it and sleeps, receivers of a type not at the head sleep.
    right(owner.msgctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: 96n }));
    const times = 450;
    const receivers = [1, 2, 3].map((type) => start(k, k.spawn(), ['recv-type', id, type, times / 3]));
    const sender = start(k, k.spawn(), ['send-types', id, times]);
    const outs = await Promise.all([...receivers, sender].map((t) => outcome(t)));
    for (const [i, type] of [1, 2, 3].entries()) {
      // Linux: msgrcv with msgtyp > 0 takes the first message of that type, so each receiver sees its type in order.
      const want = Array.from({ length: times / 3 }, (_, n) => 3 * n + type - 1);
      expect(outs[i]!.results).toEqual(want);
    }
    expect(outs.reduce((s, o) => s + o.inThread, 0)).toBeGreaterThan(0);
    const ds = stat(owner, id);
    expect([ds.qnum, ds.cbytes]).toEqual([0, 0]);
    const info = msgInfo(owner);
    expect([info.msgmap, info.msgtql]).toEqual([0, 0]);
    invariants(k);
  });

  it('MSG_NOERROR cuts a leased receive; without it a too-small buffer is E2BIG and the message stays', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const out = await outcome(start(k, k.spawn(), ['noerror', id]));
    expect(out.leased).toBe(true);
    // [mtype, bytes copied, seq], then the leased send and receive both made in the thread, then E2BIG.
    expect(out.results).toEqual([[4, 8, 1], 2, 'E2BIG']);
    const ds = stat(owner, id);
    // The cut message left with its full 16 bytes; the refused one is still there.
    expect([ds.qnum, ds.cbytes]).toEqual([1, 16]);
    invariants(k);
  });

  it('IPC_SET lowering q_qbytes under a lessee: its IPC_NOWAIT sends stop with EAGAIN at the new limit', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const gate = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const t = start(k, k.spawn(), ['gate-send', id, gate, 8, 100]);
    await until(() => receiverSleeps(k, gate));
    right(owner.msgctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: 24n }));
    post(owner, gate);
    const out = await outcome(t);
    expect(out.leased).toBe(true);
    expect(out.results).toEqual([3, 'EAGAIN']);
    // After the first send (the kernel thread's, which lent the queue anew) the others were the thread's.
    expect(out.inThread - out.inThreadBefore).toBeGreaterThan(0);
    expect(stat(owner, id).cbytes).toBe(24);
    invariants(k);
  });

  it('kernel.msgmax lowered under a lessee: its next send past the new msgmax is EINVAL', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const gate = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const t = start(k, k.spawn(), ['gate-send', id, gate, 200, 100]);
    await until(() => receiverSleeps(k, gate));
    right(k.writeSysctl(k.initialIpcNamespace, 'msgmax', 100n));
    post(owner, gate);
    const out = await outcome(t);
    expect(out.leased).toBe(true);
    expect(out.results).toEqual([0, 'EINVAL']);
    expect(stat(owner, id).qnum).toBe(0);
  });

  it('a queue removed and another made at its id (kernel.msg_next_id) without access for the lessee: its next send is EACCES', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    const gate = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    const t = start(k, k.spawn({ uid: 2000, gid: 2000 }), ['gate-send', id, gate, 8, 100]);
    await until(() => receiverSleeps(k, gate));
    right(owner.msgctl(id, IPC_RMID));
    right(k.writeSysctl(k.initialIpcNamespace, 'msg_next_id', BigInt(id)));
    expect(right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600))).toBe(id);
    post(owner, gate);
    const out = await outcome(t);
    expect(out.leased).toBe(true);
    expect(out.results).toEqual([0, 'EACCES']);
    expect(stat(owner, id).qnum).toBe(0);
    invariants(k);
  });

  // The patterns write the header's offsets, counts and time, and the records' types and sizes. Whatever the program
  // wrote, the kernel thread takes the buffer back without a throw, a loop or a wait, and the queue it rebuilds is a
  // queue (its counts match its messages and the namespace totals); the program's calls after the garbage answer as
  // msgrcv and msgsnd do.
  const patterns = [
    'used-huge',
    'used-negative',
    'head-unaligned',
    'head-outside',
    'tail-outside',
    'size-huge',
    'size-negative',
    'mtype-negative',
    'pad-everything',
    'pad-loop',
    'qnum-lies',
  ];
  it.each(patterns)('garbage a lessee writes into the buffer (%s) never throws, loops or hangs on either side', async (pattern) => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const out = await outcome(start(k, k.spawn(), ['garbage', id, pattern]));
    expect(out.leased).toBe(true);
    expect(out.inThreadBefore).toBeGreaterThan(0);
    const [received, sent] = out.results as [unknown, string];
    // A receive takes the first message (type 1, seq 0) or finds none; a send of one 8-byte message fits.
    if (typeof received === 'string') expect(received).toBe('ENOMSG');
    else expect(received).toEqual([1, 0]);
    expect(sent).toBe('ok');
    const started = Date.now();
    const ds = stat(owner, id);
    expect(Date.now() - started).toBeLessThan(STEAL_MS / 2);
    // Every message any call queued is 8 bytes long.
    expect(ds.cbytes).toBe(8 * ds.qnum);
    expect(ds.qnum).toBeLessThanOrEqual(4);
    const info = msgInfo(owner);
    expect([info.msgmap, info.msgtql]).toEqual([ds.qnum, ds.cbytes]);
    invariants(k);
    // The queue works on: what it holds comes out, and a new message goes in and out.
    expect(drain(owner, id).length).toBe(ds.qnum);
    post(owner, id);
    expect(drain(owner, id)).toEqual([[1, 8]]);
    invariants(k);
  });

  it('a record claiming more than the ring: the kernel keeps nothing of it and answers the program as Linux would', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const out = await outcome(start(k, k.spawn(), ['garbage', id, 'size-huge']));
    // The first record is the bad one: the recall keeps what comes before it (nothing), and the send after it is queued.
    expect(out.results).toEqual(['ENOMSG', 'ok']);
    expect(drain(owner, id)).toEqual([[3, 8]]);
    invariants(k);
  });

  it('a lock word a lessee keeps is waited for at most STEAL_MS once; the messages are whole and the buffer retired', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const out = await outcome(start(k, k.spawn(), ['keep-lock', id]));
    expect([out.leased, out.results]).toEqual([true, ['kept']]);
    expect(out.inThread).toBeGreaterThan(0);
    const lease = k.initialIpcNamespace.msg.peekById(id)?.lease;
    expect(lease?.live).toBe(true);
    let started = Date.now();
    const ds = stat(owner, id);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(STEAL_MS - 100);
    expect(waited).toBeLessThan(2 * STEAL_MS);
    expect([ds.qnum, ds.cbytes]).toEqual([2, 16]);
    expect(lease?.retired).toBe(true);
    // Taken back for good: the next look does not wait.
    started = Date.now();
    expect(msgInfo(owner).msgmap).toBe(2);
    expect(Date.now() - started).toBeLessThan(STEAL_MS / 2);
    expect(drain(owner, id)).toEqual([
      [1, 8],
      [1, 8],
    ]);
    invariants(k);
  });

  // A program that keeps the lock words of the queues it was lent is waited for once (STEAL_MS): then its credentials
  // are lent nothing again in the namespace, and the lock words they still keep are taken at once. So another user's
  // MSG_INFO (which needs no permission) waits at most STEAL_MS, not STEAL_MS per queue; in Linux no msgctl waits on
  // another program at all.
  it('a program keeping the lock words of three queues cannot freeze the kernel thread for a second per queue at MSG_INFO', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const ids = [0, 1, 2].map(() => right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666)));
    const out = await outcome(start(k, k.spawn({ uid: 2000, gid: 2000 }), ['keep-lock', ...ids]));
    expect([out.leased, out.results]).toEqual([true, ['kept', 'kept', 'kept']]);
    // Another user's MSG_INFO.
    const started = Date.now();
    expect(msgInfo(k.spawn({ uid: 3000, gid: 3000 })).msgmap).toBe(6);
    expect(Date.now() - started).toBeLessThan(1.5 * STEAL_MS);
  });

  // And it does not repeat: after the kernel thread took a kept lock word, the program's next send is not lent the queue
  // again, so the next recall waits for nothing.
  it('a program whose lock word the kernel thread had to take cannot make the next recall wait again', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    const gate = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    const t = start(k, k.spawn({ uid: 2000, gid: 2000 }), ['keep-again', id, gate]);
    await until(() => receiverSleeps(k, gate));
    let started = Date.now();
    expect(stat(owner, id).qnum).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(STEAL_MS - 100);
    post(owner, gate);
    const out = await outcome(t);
    expect(out.results[0]).toBe('kept');
    started = Date.now();
    expect(stat(owner, id).qnum).toBe(2);
    expect(Date.now() - started).toBeLessThan(STEAL_MS / 2);
  });

  // The recall reads STIME and RTIME back within [the lease's base, now]: in Linux msg_stime is the second of some msgsnd
  // on the queue, never before the queue's sends.
  it('a lessee writing the buffer’s STIME cannot make msg_stime earlier than the queue’s sends', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const before = hostSeconds();
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const out = await outcome(start(k, k.spawn(), ['garbage', id, 'stime-past']));
    expect(out.inThread).toBeGreaterThan(out.inThreadBefore);
    const ds = stat(owner, id);
    expect(ds.lspid).not.toBe(0);
    expect(ds.stime).toBeGreaterThanOrEqual(before);
  });

  // The recall keeps no record a msgsnd could not have queued: one longer than the msgmax of the grant, or one taking
  // q_cbytes or q_qnum past the q_qbytes of the grant (both kept on the kernel side, not read back from the buffer).
  it('a lessee appending records past q_qbytes and msgmax: the kernel keeps none of them', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const id = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    right(owner.msgctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: 64n }));
    right(k.writeSysctl(k.initialIpcNamespace, 'msgmax', 1024n));
    const out = await outcome(start(k, k.spawn(), ['overfill', id, 2, 2000]));
    expect([out.leased, out.results]).toEqual([true, [2]]);
    const ds = stat(owner, id);
    expect(ds.cbytes).toBeLessThanOrEqual(64);
    expect(drain(owner, id).every(([, size]) => size <= 1024)).toBe(true);
  });
});
