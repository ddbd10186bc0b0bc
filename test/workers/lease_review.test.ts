/**
 * Review of the message-queue leases (src/msg/lease.ts): what happens when
 * a worker is descheduled inside its leased call, holding the lock word,
 * for longer than STEAL_MS while the kernel thread takes the queue's lock.
 *
 * A real thread can be preempted, or stopped by a garbage collection, at
 * any instruction of its critical section; on a loaded two-core machine a
 * quarter of a second is rare but possible. The kernel then takes the
 * lock word and the ring as they are; the worker, which copies before it
 * commits, finds its commit refused and changes nothing. Here the
 * pause is made deterministic: the text handed to the thread side is a
 * proxy whose first byte read (during the copy into the ring, with the
 * lock word held) runs the kernel thread's IPC_STAT, which waits STEAL_MS
 * and takes the queue back.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_STAT } from '../../src/abi/constants.js';
import { MSG_LEASE_DECLINED, MSG_LEASE_SENT, STEAL_MS } from '../../src/msg/lease.js';
import type { LeaseGate } from '../../src/msg/lease.js';
import { errno, ok } from '../support/either.js';
import { START, atOnce, leaseWorld, queueThread } from '../support/lease_world.js';

describe('message-queue leases: a worker paused inside its leased call', () => {
  // Linux: a msgsnd that returned 0 has queued its message. A worker paused
  // past STEAL_MS while it holds the lock word (here: a Proxy text whose
  // first byte read runs the kernel thread's IPC_STAT, so the pause is
  // certain) loses the word to the kernel, which takes the ring as it is.
  // The worker copies its record into free ring space before it marks the
  // word committing and changes the header; its commit then fails, and the
  // call declines having changed nothing, so the Task sends it through the
  // kernel thread instead. Before the two-phase lock word the worker
  // answered "sent" and the message was gone.
  it('a send whose lock word the kernel took mid-copy changes nothing and is declined, never reported sent and lost', () => {
    const w = leaseWorld();
    const owner = w.k.spawn();
    const id = ok(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const { queues, take } = queueThread(w, w.k.spawn());
    expect(take(id)).toBe(true);
    w.at(START + 1);

    let stolenAfter = -1;
    let qnumSeen = -1;
    const text = new Proxy(Uint8Array.from([1, 2, 3]), {
      get(target, key) {
        if (key === '0' && stolenAfter < 0) {
          // The worker, holding the lock word, stops here; the kernel thread runs.
          const t0 = Date.now();
          qnumSeen = ok(owner.msgctl(id, IPC_STAT)).ds!.qnum;
          stolenAfter = Date.now() - t0;
        }
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const sent = queues.msgsnd(id, 5, text, 0, 0);
    // The pause did happen inside the call, and the kernel had to take the word.
    expect(stolenAfter).toBeGreaterThanOrEqual(STEAL_MS - 50);
    expect(qnumSeen).toBe(0);
    expect(sent).toBe(MSG_LEASE_DECLINED);
    // Declined: nothing was queued, and the caller's msgsnd goes to the kernel thread.
    expect(errno(atOnce(owner.msgrcv(id, 16, 0, IPC_NOWAIT)))).toBe('ENOMSG');
    ok(atOnce(owner.msgsnd(id, 5, Uint8Array.from([1, 2, 3]), 0)));
    const got = atOnce(owner.msgrcv(id, 16, 0, IPC_NOWAIT));
    expect(E.isRight(got) ? Array.from(got.right.text) : []).toEqual([1, 2, 3]);
  });
});

describe('message-queue leases: kernel.msgmax lowered between a send’s msgmax test and its lock', () => {
  // LeasedQueues.msgsnd tests the text against the header's MSGMAX before it
  // takes the lock word. If, in between, the kernel thread lowers
  // kernel.msgmax (which recalls) and lends the same buffer again (a grant
  // refills MSGMAX and fixes the records it will take back at the new
  // msgmax), the send is queued past the grant's limit, answered as sent,
  // and the next recall finds a record longer than it allows: it drops that
  // record and every one after it and retires the buffer (as it did before
  // the second test). Linux keeps a
  // message queued under the msgmax its msgsnd checked. The gate below runs
  // the kernel thread's part at the instant the thread enters the call (in
  // a real program, the kernel thread running on the other CPU then).
  // The send now tests the size against MSGMAX again once it holds the lock
  // word (the kernel writes MSGMAX only while the word is recalled).
  it('a send answered as sent, and the sends after it, survive the recall', () => {
    const w = leaseWorld();
    const k = w.k;
    const owner = k.spawn();
    const id = ok(owner.msgget(IPC_PRIVATE, IPC_CREAT | 0o600));
    const p = k.spawn();
    let lowered = false;
    const gate: LeaseGate = {
      enterLease: () => {
        if (!lowered) {
          lowered = true;
          ok(k.writeSysctl(k.initialIpcNamespace, 'msgmax', 100n));
          // Another thread of a lessee made a kernel call: the queue is lent again, in the same buffer.
          expect(p.msgLease(id, w.now)).toBeDefined();
        }
        return true;
      },
      leaveLease: () => undefined,
    };
    const { queues, take } = queueThread(w, p, gate);
    expect(take(id)).toBe(true);
    const answers = [queues.msgsnd(id, 1, new Uint8Array(200), 0, 0), queues.msgsnd(id, 2, Uint8Array.from([7]), 0, 0)];
    expect(lowered).toBe(true);
    // The one-byte send fits any msgmax: the thread performs it.
    expect(answers[1]).toBe(MSG_LEASE_SENT);
    // IPC_STAT takes the lock: the recall. Every send answered as done is queued (a declined one is the kernel's to decide).
    expect(ok(owner.msgctl(id, IPC_STAT)).ds!.qnum).toBe(answers.filter((a) => a === MSG_LEASE_SENT).length);
  });
});
