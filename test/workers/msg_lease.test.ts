/**
 * Message-queue leases between real worker threads (src/msg/lease.ts): a
 * worker's uncontended msgsnd and msgrcv stay in its thread, and the
 * kernel thread still sees every message exactly once, in order, with
 * Linux's errors the moment a permission or the queue changes.
 * test/msg/lease.test.ts checks the same rules in one thread with an exact
 * clock. Each test checks that the threads did make calls themselves
 * (Task.msgCallsInThread), or it would prove nothing about leases. Sizes
 * are small, for a 2-core box; every wait is bounded.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import { MSG_INFO } from '../../src/abi/msg.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { hostSeconds } from '../../src/kernel/clock.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerThread } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';
import { resultWithin, until } from '../support/threads.js';

interface Outcome {
  readonly done: number;
  readonly error: string;
  readonly inThread: number;
  readonly got: Array<[number, number]>;
}

const outcome = (t: WorkerThread, ms?: number): Promise<Outcome> => resultWithin<Outcome>(t, ms ?? 30000);

const program = new URL('./programs/leased_msgs.ts', import.meta.url);

function start(k: Kernel, p: Process, args: readonly unknown[]): WorkerThread {
  return right(spawnWorker(k, p, program, args));
}

const invariants = (k: Kernel) => expect(checkInvariants(k)).toEqual(E.right(undefined));
const stat = (p: Process, id: number) => right(p.msgctl(id, IPC_STAT)).ds!;

describe('message-queue leases between workers', () => {
  it('two producers and two consumers: every [producer, seq] arrives once, each producer in order, with calls made in the threads', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const msqid = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    // A small queue, so that producers fill it and wait.
    right(owner.msgctl(msqid, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: 64n }));
    const times = 1500;
    const producers = [0, 1].map((id) => start(k, k.spawn(), ['produce', msqid, id, times]));
    const consumers = [0, 1].map(() => start(k, k.spawn(), ['consume', msqid, times]));
    const outs = await Promise.all([...producers, ...consumers].map((t) => outcome(t)));
    const received = [...outs[2]!.got, ...outs[3]!.got];
    expect(received.length).toBe(2 * times);
    for (const id of [0, 1]) {
      const seqs = received.filter(([from]) => from === id).map(([, seq]) => seq);
      expect(new Set(seqs).size).toBe(times);
      // Each consumer sees one producer's messages in the order they were sent.
      for (const c of [outs[2]!, outs[3]!]) {
        const mine = c.got.filter(([from]) => from === id).map(([, seq]) => seq);
        expect(mine).toEqual([...mine].sort((a, b) => a - b));
      }
    }
    expect(outs.reduce((s, o) => s + o.inThread, 0)).toBeGreaterThan(0);
    const ds = stat(owner, msqid);
    expect([ds.qnum, ds.cbytes]).toEqual([0, 0]);
    const info = right(owner.msgctl(0, MSG_INFO)).info!;
    expect([info.msgmap, info.msgtql]).toEqual([0, 0]);
    invariants(k);
  });

  it('two workers passing a numbered message back and forth leave lspid, lrpid and the times as the last calls made them', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const q0 = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const q1 = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const before = hostSeconds();
    const [a, b] = [k.spawn(), k.spawn()];
    const times = 3000;
    const outs = await Promise.all([outcome(start(k, a, ['pingpong', q0, q1, 0, times])), outcome(start(k, b, ['pingpong', q0, q1, 1, times]))]);
    const after = hostSeconds();
    expect(outs.map((o) => o.done)).toEqual([times, times]);
    expect(outs[0]!.inThread + outs[1]!.inThread).toBeGreaterThan(0);
    const [d0, d1] = [stat(owner, q0), stat(owner, q1)];
    // a sends on q0 and b receives there; b sends on q1 and a receives there. A hand-off to a sleeping receiver records its
    // thread's id as lrpid, which for a worker's process is its pid too.
    expect([d0.qnum, d0.lspid, d0.lrpid, d1.qnum, d1.lspid, d1.lrpid]).toEqual([0, a.pid, b.pid, 0, b.pid, a.pid]);
    for (const t of [d0.stime, d0.rtime, d1.stime, d1.rtime]) {
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
    }
    invariants(k);
  });

  it('IPC_SET taking write permission away stops a looping worker with EACCES at once', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const msqid = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    const t = start(k, k.spawn({ uid: 2000, gid: 2000 }), ['until-error', msqid, 1_000_000]);
    await until(() => stat(owner, msqid).lspid !== 0);
    await new Promise((r) => setTimeout(r, 20));
    right(owner.msgctl(msqid, IPC_SET, { uid: 1000, gid: 1000, mode: 0o644, qbytes: 16384n }));
    const out = await outcome(t);
    expect(out.error).toBe('EACCES');
    expect(out.inThread).toBeGreaterThan(0);
    const ds = stat(owner, msqid);
    // Its last send went through before the change, or it failed: at most that one message stays.
    expect(ds.qnum).toBeLessThanOrEqual(1);
    invariants(k);
  });

  it('IPC_RMID under a looping worker: its next call is EIDRM or EINVAL, and the namespace totals are back to zero', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const msqid = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const t = start(k, k.spawn(), ['until-error', msqid, 1_000_000]);
    await until(() => stat(owner, msqid).lspid !== 0);
    await new Promise((r) => setTimeout(r, 20));
    right(owner.msgctl(msqid, IPC_RMID));
    const out = await outcome(t);
    expect(['EIDRM', 'EINVAL']).toContain(out.error);
    expect(out.inThread).toBeGreaterThan(0);
    const info = right(owner.msgctl(0, MSG_INFO)).info!;
    expect([info.msgmap, info.msgtql]).toEqual([0, 0]);
    invariants(k);
  });

  it('a worker terminated while it loops in leased calls leaves the queue whole: the kernel thread takes it back at once', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const msqid = right(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const t = start(k, k.spawn(), ['until-error', msqid, 10_000_000]);
    await until(() => stat(owner, msqid).lspid !== 0);
    await new Promise((r) => setTimeout(r, 20));
    const exit = await t.terminate();
    expect(exit.ok).toBe(false);
    const started = Date.now();
    const ds = stat(owner, msqid);
    // Recalled without waiting out a lock word: the thread never died holding one.
    expect(Date.now() - started).toBeLessThan(500);
    expect(ds.qnum).toBeLessThanOrEqual(1);
    expect(ds.cbytes).toBe(ds.qnum * 8);
    invariants(k);
  });
});
