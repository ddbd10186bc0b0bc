/**
 * Message-queue leases (src/msg/lease.ts) in one thread: the kernel side
 * (Process.msgLease, MsgQueue's lock recalling, IPC_SET, RMID, MSG_INFO,
 * kernel.msgmax, checkpoints) against the thread side (LeasedQueues)
 * driven here directly, with a tick word this test moves, so every time is
 * exact. test/workers/msg_lease.test.ts runs the same between real threads.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import { MSG_EXCEPT, MSG_INFO, MSG_NOERROR } from '../../src/abi/msg.js';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { MSG_LEASE_BUDGET, MSG_LEASE_DECLINED, MSG_LEASE_MAX_QBYTES, MSG_LEASE_SENT, STEAL_MS } from '../../src/msg/lease.js';
import type { MsgReceived } from '../../src/msg/waiter.js';
import { errno, ok } from '../support/either.js';
import { START, atOnce, leaseWorld, queueThread } from '../support/lease_world.js';
import type { LeaseWorld } from '../support/lease_world.js';

const thread = queueThread;

const bytes = (...v: number[]) => Uint8Array.from(v);
const stat = (p: Process, id: number) => ok(p.msgctl(id, IPC_STAT)).ds!;
const live = (k: Kernel, id: number): boolean => k.initialIpcNamespace.msg.peekById(id)?.lease?.live === true;

function setUp(mode = 0o600): { w: LeaseWorld; owner: Process; id: number } {
  const w = leaseWorld();
  const owner = w.k.spawn();
  const id = ok(owner.msgget(IPC_PRIVATE, IPC_CREAT | mode));
  return { w, owner, id };
}

describe('message-queue leases: the thread side sends and receives, the kernel side sees', () => {
  it('a leased send and receive keep FIFO order, counts, pids and times as msgsnd and msgrcv do', () => {
    const { w, owner, id } = setUp();
    const sender = w.k.spawn();
    const receiver = w.k.spawn();
    const s = thread(w, sender);
    const r = thread(w, receiver);
    expect(s.take(id) && r.take(id)).toBe(true);
    w.at(START + 4);
    expect(s.queues.msgsnd(id, 7, bytes(1, 2, 3), 0, 0)).toBe(MSG_LEASE_SENT);
    expect(s.queues.msgsnd(id, 8, bytes(4), 0, 0)).toBe(MSG_LEASE_SENT);
    expect(s.queues.msgsnd(id, 9, bytes(), 0, 0)).toBe(MSG_LEASE_SENT);
    w.at(START + 6);
    expect(r.queues.msgrcv(id, 100, 0, 0, 0)).toEqual({ mtype: 7, text: bytes(1, 2, 3) });
    // IPC_STAT takes the lock: the lease is recalled and the queue is the kernel's again.
    const ds = stat(owner, id);
    expect(live(w.k, id)).toBe(false);
    expect([ds.qnum, ds.cbytes, ds.lspid, ds.lrpid, ds.stime, ds.rtime]).toEqual([2, 1, sender.pid, receiver.pid, START + 4, START + 6]);
    // The kernel's own receive sees what is left, in order.
    expect(ok(atOnce(owner.msgrcv(id, 100, 0, 0)))).toEqual({ mtype: 8, text: bytes(4) });
    expect(ok(atOnce(owner.msgrcv(id, 100, 0, 0)))).toEqual({ mtype: 9, text: bytes() });
    expect(r.queues.performed + s.queues.performed).toBe(4);
  });

  it('a grant starts from the kernel’s messages, and MSG_INFO counts what workers queued', () => {
    const { w, owner, id } = setUp();
    ok(atOnce(owner.msgsnd(id, 3, bytes(9, 9), 0)));
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    expect(t.queues.msgsnd(id, 4, bytes(1, 2, 3, 4, 5), 0, 0)).toBe(MSG_LEASE_SENT);
    const info = ok(owner.msgctl(0, MSG_INFO)).info!;
    expect([info.msgmap, info.msgtql]).toEqual([2, 7]);
    expect(t.queues.msgrcv(id, 100, 0, 0, 0)).toBeUndefined();
    expect(t.take(id)).toBe(true);
    expect(t.queues.msgrcv(id, 100, 0, 0, 0)).toEqual({ mtype: 3, text: bytes(9, 9) });
    expect(t.queues.msgrcv(id, 100, 4, 0, 0)).toEqual({ mtype: 4, text: bytes(1, 2, 3, 4, 5) });
    const after = ok(owner.msgctl(0, MSG_INFO)).info!;
    expect([after.msgmap, after.msgtql]).toEqual([0, 0]);
  });

  it('what the thread leaves to the kernel: other types first, MSG_EXCEPT, msgtyp < 0, too small a buffer, bigints, full and empty', () => {
    const { w, owner, id } = setUp();
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    expect(t.queues.msgsnd(id, 5, bytes(1, 2, 3, 4), 0, 0)).toBe(MSG_LEASE_SENT);
    expect(t.queues.msgrcv(id, 100, 6, 0, 0)).toBeUndefined();
    expect(t.queues.msgrcv(id, 100, 5, MSG_EXCEPT, 0)).toBeUndefined();
    expect(t.queues.msgrcv(id, 100, -5, 0, 0)).toBeUndefined();
    expect(t.queues.msgrcv(id, 3, 0, 0, 0)).toBeUndefined();
    expect(t.queues.msgrcv(id, 100n, 0, 0, 0)).toBeUndefined();
    expect(t.queues.msgsnd(id, 5n, bytes(1), 0, 0)).toBe(MSG_LEASE_DECLINED);
    expect(t.queues.msgsnd(id, 0, bytes(1), 0, 0)).toBe(MSG_LEASE_DECLINED);
    expect(t.queues.msgsnd(id, 2 ** 31, bytes(1), 0, 0)).toBe(MSG_LEASE_DECLINED);
    expect(t.queues.msgsnd(id, 1, bytes(1), 0o10000, 0)).toBe(MSG_LEASE_DECLINED);
    // MSG_NOERROR cuts the copy; the whole message leaves the queue.
    expect(t.queues.msgrcv(id, 3, 5, MSG_NOERROR, 0)).toEqual({ mtype: 5, text: bytes(1, 2, 3) });
    expect(t.queues.msgrcv(id, 3, 0, IPC_NOWAIT, 0)).toBeUndefined();
    expect(t.queues.msgrcv(id, 3, 0, 0, 1000)).toBeUndefined();
    // The kernel answers what the thread declined, in Linux's order.
    expect(errno(atOnce(owner.msgrcv(id, 3, 0, IPC_NOWAIT)))).toBe('ENOMSG');
    expect(stat(owner, id).cbytes).toBe(0);
  });

  it('a full queue declines a send (the kernel says EAGAIN with IPC_NOWAIT); msgmax past is the kernel’s EINVAL', () => {
    const { w, owner, id } = setUp();
    ok(owner.msgctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: 10n }));
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    expect(t.queues.msgsnd(id, 1, new Uint8Array(10), 0, 0)).toBe(MSG_LEASE_SENT);
    expect(t.queues.msgsnd(id, 1, bytes(1), IPC_NOWAIT, 0)).toBe(MSG_LEASE_DECLINED);
    expect(t.queues.msgsnd(id, 1, bytes(1), 0, 500)).toBe(MSG_LEASE_DECLINED);
    expect(errno(atOnce(owner.msgsnd(id, 1, bytes(1), IPC_NOWAIT)))).toBe('EAGAIN');
    expect(t.take(id)).toBe(true);
    expect(t.queues.msgsnd(id, 1, new Uint8Array(8193), 0, 0)).toBe(MSG_LEASE_DECLINED);
    expect(errno(atOnce(owner.msgsnd(id, 1, new Uint8Array(8193), 0)))).toBe('EINVAL');
  });

  it('the ring wraps: records that would run past its end start again at its head, across many sends and receives', () => {
    const { w, owner, id } = setUp();
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 400; round += 1) {
      const size = (round * 37) % 3000;
      const text = Uint8Array.from({ length: size }, (_, i) => (i + round) & 0xff);
      expect(t.queues.msgsnd(id, 1 + (round % 9), text, 0, 0)).toBe(MSG_LEASE_SENT);
      next += 1;
      // Keep up to four queued.
      if (next - expected > 3) {
        const got = t.queues.msgrcv(id, 4000, 0, 0, 0) as MsgReceived;
        const want = (expected * 37) % 3000;
        expect([got.mtype, got.text.length, got.text[0] ?? -1]).toEqual([1 + (expected % 9), want, want === 0 ? -1 : expected & 0xff]);
        expected += 1;
      }
    }
    // The kernel takes the rest back in order.
    while (expected < next) {
      const got = ok(atOnce(owner.msgrcv(id, 4000, 0, IPC_NOWAIT)));
      expect([got.mtype, got.text.length]).toEqual([1 + (expected % 9), (expected * 37) % 3000]);
      expected += 1;
    }
    expect(stat(owner, id).qnum).toBe(0);
  });

  it('no lease while a receiver or a sender sleeps; the sleeper is queued only after the recall', () => {
    const { w, owner, id } = setUp();
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    const sleeper = w.k.spawn().msgrcv(id, 100, 0, 0);
    expect(isPending(sleeper)).toBe(true);
    expect(live(w.k, id)).toBe(false);
    expect(t.queues.msgsnd(id, 1, bytes(1), 0, 0)).toBe(MSG_LEASE_DECLINED);
    expect(t.take(id)).toBe(false);
    ok(atOnce(owner.msgsnd(id, 2, bytes(2), 0)));
    expect(isPending(sleeper) && sleeper.state).toBe('settled');
    expect(t.take(id)).toBe(true);
  });

  it('IPC_SET retires the buffer; RMID recalls it for good; only the same credentials share one', () => {
    const w = leaseWorld();
    const owner = w.k.spawn({ uid: 1000, gid: 1000 });
    const id = ok(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
    const a = thread(w, w.k.spawn({ uid: 2000, gid: 2000 }));
    expect(a.take(id)).toBe(true);
    expect(thread(w, owner).take(id)).toBe(false);
    ok(owner.msgctl(id, IPC_SET, { uid: 1000, gid: 1000, mode: 0o600, qbytes: 16384n }));
    expect(a.queues.msgsnd(id, 1, bytes(1), 0, 0)).toBe(MSG_LEASE_DECLINED);
    expect(a.take(id)).toBe(false);
    const mine = thread(w, owner);
    expect(mine.take(id)).toBe(true);
    expect(mine.queues.msgsnd(id, 1, bytes(1), 0, 0)).toBe(MSG_LEASE_SENT);
    ok(owner.msgctl(id, IPC_RMID));
    expect(mine.queues.msgsnd(id, 1, bytes(1), 0, 0)).toBe(MSG_LEASE_DECLINED);
    expect(mine.take(id)).toBe(false);
  });

  it('no queue of more than MSG_LEASE_MAX_QBYTES, or holding a type only a bigint holds, is lent', () => {
    const { w, owner, id } = setUp();
    ok(owner.msgctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: BigInt(MSG_LEASE_MAX_QBYTES + 1) }));
    expect(thread(w, w.k.spawn()).take(id)).toBe(false);
    const other = ok(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    ok(atOnce(owner.msgsnd(other, 2n ** 40n, bytes(1), 0)));
    expect(thread(w, w.k.spawn()).take(other)).toBe(false);
  });

  it('the namespace keeps at most MSG_LEASE_BUDGET bytes of lease buffers; a removed queue gives its buffer back', () => {
    const w = leaseWorld();
    const owner = w.k.spawn();
    const t = thread(w, owner);
    const ids: number[] = [];
    let granted = 0;
    for (let i = 0; i < 160; i += 1) {
      const id = ok(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
      ok(owner.msgctl(id, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: BigInt(MSG_LEASE_MAX_QBYTES) }));
      ids.push(id);
      if (t.take(id)) granted += 1;
    }
    const each = w.k.initialIpcNamespace.msg.peekById(ids[0]!)?.lease?.buffer.byteLength ?? 0;
    expect(granted).toBe(Math.floor(MSG_LEASE_BUDGET / each));
    expect(t.take(ids[159]!)).toBe(false);
    ok(owner.msgctl(ids[0]!, IPC_RMID));
    expect(t.take(ids[159]!)).toBe(true);
  });

  it('a ring a program wrote garbage into is taken back up to its last good record and retired', () => {
    const { w, owner, id } = setUp();
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    expect(t.queues.msgsnd(id, 1, bytes(1, 2), 0, 0)).toBe(MSG_LEASE_SENT);
    expect(t.queues.msgsnd(id, 2, bytes(3), 0, 0)).toBe(MSG_LEASE_SENT);
    const lease = w.k.initialIpcNamespace.msg.peekById(id)?.lease;
    // The second record's size claims more than the ring holds.
    new Int32Array(lease!.buffer, 64)[5] = 0x7fffffff;
    const ds = stat(owner, id);
    expect([ds.qnum, ds.cbytes]).toEqual([1, 2]);
    expect(lease!.retired).toBe(true);
    expect(t.take(id)).toBe(true);
    expect(w.k.initialIpcNamespace.msg.peekById(id)?.lease).not.toBe(lease);
  });

  it('a lock word a worker keeps is waited for, then taken; the buffer is retired', () => {
    const { w, owner, id } = setUp();
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    const lease = w.k.initialIpcNamespace.msg.peekById(id)?.lease;
    Atomics.store(lease!.words, 0, 3);
    const start = Date.now();
    expect(stat(owner, id).qnum).toBe(0);
    expect(Date.now() - start).toBeGreaterThanOrEqual(STEAL_MS - 50);
    expect(lease!.retired).toBe(true);
    // Its credentials are lent nothing again in the namespace.
    expect(t.take(id)).toBe(false);
  });

  it('a closed gate (the thread is being ended) declines; a process that exits or unshares drops its leases', () => {
    const { w, id } = setUp();
    const p = w.k.spawn();
    const closed = thread(w, p, { enterLease: () => false, leaveLease: () => undefined });
    expect(closed.take(id)).toBe(true);
    expect(closed.queues.msgsnd(id, 1, bytes(1), 0, 0)).toBe(MSG_LEASE_DECLINED);
    const t = thread(w, p);
    expect(t.take(id)).toBe(true);
    ok(p.unshareIpc());
    expect(t.queues.msgsnd(id, 1, bytes(1), 0, 0)).toBe(MSG_LEASE_DECLINED);
    expect(t.queues.size).toBe(0);
    const q = w.k.spawn();
    const u = thread(w, q);
    expect(u.take(id)).toBe(true);
    ok(q.exit());
    expect(u.queues.msgrcv(id, 10, 0, 0, 0)).toBeUndefined();
    expect(u.queues.size).toBe(0);
  });

  it('a traced kernel recalls every queue lease and lends none while traced', () => {
    const { w, id } = setUp();
    const t = thread(w, w.k.spawn());
    expect(t.take(id)).toBe(true);
    const stop = w.k.onTrace(() => undefined);
    expect(live(w.k, id)).toBe(false);
    expect(t.take(id)).toBe(false);
    stop();
    expect(t.take(id)).toBe(true);
  });

  it('a checkpoint takes the leased messages; the restored queue has them and no lease', () => {
    const { w, owner, id } = setUp();
    const worker = w.k.spawn();
    const t = thread(w, worker);
    expect(t.take(id)).toBe(true);
    w.at(START + 9);
    expect(t.queues.msgsnd(id, 6, bytes(6, 6, 6), 0, 0)).toBe(MSG_LEASE_SENT);
    const image = checkpoint(w.k);
    expect(E.isRight(image)).toBe(true);
    const back = restore(E.isRight(image) ? image.right : new Uint8Array());
    expect(E.isRight(back)).toBe(true);
    if (E.isLeft(back)) return;
    const q = back.right.initialIpcNamespace.msg.peekById(id);
    expect([q?.qnum, q?.cbytes, q?.lspid, q?.stime, q?.lease]).toEqual([1, 3, worker.pid, START + 9, undefined]);
    expect(ok(atOnce(owner.msgrcv(id, 10, 0, 0)))).toEqual({ mtype: 6, text: bytes(6, 6, 6) });
  });
});
