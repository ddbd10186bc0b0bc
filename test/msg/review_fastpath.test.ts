/**
 * Review of the uncontended msgsnd/msgrcv (and semop) paths: an injected
 * clock (KernelOptions.clock) is user code, and the fast paths read it after
 * they have decided the call. A clock that calls back into the kernel must
 * not make them act on what they decided before it ran, and must never make
 * the kernel throw.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { GETVAL, IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_STAT, Kernel, MSG_INFO, isPending } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { ok } from '../support/either.js';

/** A kernel whose clock runs `hook` once, the next time it is read after arm(). */
function hookedKernel(): { k: Kernel; arm(hook: () => void): void } {
  let hook: (() => void) | undefined;
  const k = new Kernel({
    memTotalBytes: 16 << 20,
    monotonicClock: () => 0,
    clock: () => {
      const h = hook;
      hook = undefined;
      h?.();
      return 1000;
    },
  });
  return { k, arm: (h) => (hook = h) };
}

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const s = (u: Uint8Array): string => new TextDecoder().decode(u);

function queue(p: Process): number {
  return ok(p.msgget(IPC_PRIVATE, IPC_CREAT | 0o666));
}

function settled<T>(r: T): Exclude<T, { state: unknown }> {
  if (isPending(r)) throw new Error('expected the call to complete at once');
  return r as Exclude<T, { state: unknown }>;
}

function qnum(p: Process, id: number): number {
  const r = ok(p.msgctl(id, IPC_STAT)) as { ds?: { qnum: number } };
  return r.ds?.qnum ?? -1;
}

describe('a re-entrant injected clock on the uncontended paths', () => {
  it('msgrcv: a receive made by the clock takes the message first, and the outer receive finds none (no throw)', () => {
    const { k, arm } = hookedKernel();
    const p = k.spawn();
    const id = queue(p);
    ok(settled(p.msgsnd(id, 1, b('only'), 0)));
    let inner: unknown;
    arm(() => {
      inner = settled(p.msgrcv(id, 64, 0, IPC_NOWAIT));
    });
    const outer = settled(p.msgrcv(id, 64, 0, IPC_NOWAIT));
    expect(E.isRight(inner as E.Either<unknown, unknown>)).toBe(true);
    // One message, one receiver of it: the other finds the queue empty, as any order of the two calls would.
    expect(outer).toEqual(E.left(expect.objectContaining({ errno: 'ENOMSG' })));
    expect(qnum(p, id)).toBe(0);
  });

  it('msgrcv: the clock removing the queue makes the receive fail, not dequeue from a removed queue', () => {
    const { k, arm } = hookedKernel();
    const p = k.spawn();
    const id = queue(p);
    ok(settled(p.msgsnd(id, 1, b('x'), 0)));
    arm(() => ok(p.msgctl(id, IPC_RMID)));
    const r = settled(p.msgrcv(id, 64, 0, IPC_NOWAIT));
    expect(E.isLeft(r)).toBe(true);
  });

  it('msgsnd: the clock filling the queue makes the send wait (EAGAIN), never overfill q_qbytes', () => {
    const { k, arm } = hookedKernel();
    const p = k.spawn();
    const id = queue(p);
    // 16384 bytes (msgmnb): the first send leaves room for exactly one more 8192-byte message.
    ok(settled(p.msgsnd(id, 1, new Uint8Array(8192), 0)));
    arm(() => ok(settled(p.msgsnd(id, 2, new Uint8Array(8192), IPC_NOWAIT))));
    const r = settled(p.msgsnd(id, 3, new Uint8Array(8192), IPC_NOWAIT));
    expect(r).toEqual(E.left(expect.objectContaining({ errno: 'EAGAIN' })));
    const ds = (ok(p.msgctl(id, IPC_STAT)) as { ds: { qnum: number; cbytes: number } }).ds;
    expect([ds.qnum, ds.cbytes]).toEqual([2, 16384]);
  });

  it('msgsnd: the clock removing the queue makes the send EIDRM or EINVAL, not lose the message into a removed queue', () => {
    const { k, arm } = hookedKernel();
    const p = k.spawn();
    const id = queue(p);
    arm(() => ok(p.msgctl(id, IPC_RMID)));
    const r = settled(p.msgsnd(id, 1, b('lost?'), IPC_NOWAIT));
    expect(E.isLeft(r)).toBe(true);
  });

  it('msgsnd: a receiver the clock puts to sleep gets the message handed to it', () => {
    const { k, arm } = hookedKernel();
    const p = k.spawn();
    const q = k.spawn();
    const id = queue(p);
    let waiting: unknown;
    arm(() => {
      waiting = q.msgrcv(id, 64, 0, 0);
    });
    ok(settled(p.msgsnd(id, 7, b('hello'), 0)));
    expect(isPending(waiting)).toBe(true);
    const pend = waiting as { state: string; result: E.Either<unknown, { mtype: number; text: Uint8Array }> };
    expect(pend.state).toBe('settled');
    const got = ok(pend.result);
    expect([got.mtype, s(got.text)]).toEqual([7, 'hello']);
    expect(qnum(p, id)).toBe(0);
  });

  it('semop: a semop made by the clock is not overwritten by the outer one (no lost update)', () => {
    const { k, arm } = hookedKernel();
    const p = k.spawn();
    const id = ok(p.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666));
    arm(() => ok(settled(p.semop(id, [{ semNum: 0, semOp: 5, semFlg: 0 }]))));
    ok(settled(p.semop(id, [{ semNum: 0, semOp: 1, semFlg: 0 }])));
    expect(ok(p.semctl(id, 0, GETVAL)).ret).toBe(6);
  });

  it('MSG_INFO counts what the queues hold after the clock re-entered', () => {
    const { k, arm } = hookedKernel();
    const p = k.spawn();
    const id = queue(p);
    ok(settled(p.msgsnd(id, 1, b('a'), 0)));
    arm(() => settled(p.msgrcv(id, 64, 0, IPC_NOWAIT)));
    settled(p.msgrcv(id, 64, 0, IPC_NOWAIT));
    const info = (ok(p.msgctl(0, MSG_INFO)) as { info: { msgmap: number; msgtql: number } }).info;
    expect([info.msgmap, info.msgtql, qnum(p, id)]).toEqual([0, 0, 0]);
  });
});

describe('a throwing injected clock on msgsnd and msgrcv', () => {
  it('leaves no reference behind on the queue (the general path took one before reading the clock)', async () => {
    const { checkInvariants } = await import('../../src/checkpoint/invariants.js');
    let boom = false;
    const k = new Kernel({
      memTotalBytes: 16 << 20,
      monotonicClock: () => 0,
      clock: () => {
        if (boom) throw new Error('injected');
        return 1000;
      },
    });
    const p = k.spawn();
    const id = queue(p);
    ok(settled(p.msgsnd(id, 1, b('m'), 0)));
    boom = true;
    // A bigint mtype and msgtyp decline the uncontended paths: these go the general way.
    expect(() => p.msgsnd(id, 1n, b('n'), 0)).toThrow('injected');
    expect(() => p.msgrcv(id, 64, 1n, 0)).toThrow('injected');
    boom = false;
    expect(checkInvariants(k)).toEqual(E.right(undefined));
    const q = k.initialIpcNamespace.msg.peekById(id);
    expect(q?.refCount).toBe(1);
  });
});

describe('typed receives near the head of a long queue', () => {
  it('cost what the search costs: 100,000 queued, 50,000 receives of the second message each', async () => {
    const { makeEnv, root, rcv, snd, got, ctl } = await import('./helpers.js');
    const { IPC_SET: SET } = await import('../../src/index.js');
    const env = makeEnv();
    const who = root();
    const id = ok(env.reg.msgget(who, IPC_PRIVATE, IPC_CREAT | 0o600));
    // Room for 100,000 empty messages (q_qbytes also bounds the count); root has CAP_SYS_RESOURCE.
    expect(E.isRight(ctl(env, who, id, SET, { uid: 0, gid: 0, mode: 0o600, qbytes: 100_000 }))).toBe(true);
    const empty = new Uint8Array(0);
    // One type-1 message at the head, then type 2 only.
    for (let i = 0; i < 100_000; i++) snd(env, who, id, i === 0 ? 1 : 2, empty);
    const t0 = performance.now();
    // Type 2 is always the second message: the linked list unlinked it at once; the ring must not move the whole tail.
    for (let i = 0; i < 50_000; i++) expect(got(rcv(env, who, id, 0, 2, IPC_NOWAIT)).mtype).toBe(2);
    const ms = performance.now() - t0;
    expect(env.reg.peekById(id)?.qnum).toBe(50_000);
    // Linear work is a few tens of milliseconds; moving the tail each time is about 2.5e9 slot moves.
    expect(ms).toBeLessThan(3000);
  });
});

describe('a received message belongs to the caller', () => {
  it('changing the result (type, text) changes nothing the kernel reads, on the uncontended path and after a hand-off', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20, clock: () => 1000, monotonicClock: () => 0 });
    const p = k.spawn();
    const q2 = k.spawn();
    const id = queue(p);
    ok(settled(p.msgsnd(id, 5, b('abc'), 0)));
    ok(settled(p.msgsnd(id, 6, b('def'), 0)));
    const r = ok(settled(p.msgrcv(id, 64, 0, IPC_NOWAIT))) as { mtype: number; text: Uint8Array };
    (r as { mtype: number }).mtype = 6;
    r.text.fill(0x7a);
    const next = ok(settled(p.msgrcv(id, 64, 6, IPC_NOWAIT)));
    expect([next.mtype, s(next.text)]).toEqual([6, 'def']);
    // A hand-off to a sleeping receiver, then a message queued behind it.
    const waiting = q2.msgrcv(id, 64, 0, 0) as { result: E.Either<unknown, { mtype: number; text: Uint8Array }> };
    ok(settled(p.msgsnd(id, 7, b('ghi'), 0)));
    const handed = ok(waiting.result);
    (handed as { mtype: number }).mtype = 1;
    handed.text.fill(0);
    ok(settled(p.msgsnd(id, 8, b('jkl'), 0)));
    const info = (ok(p.msgctl(0, MSG_INFO)) as { info: { msgmap: number; msgtql: number } }).info;
    expect([info.msgmap, info.msgtql]).toEqual([1, 3]);
    const last = ok(settled(p.msgrcv(id, 64, -8, IPC_NOWAIT)));
    expect([last.mtype, s(last.text)]).toEqual([8, 'jkl']);
  });

  it('MSG_INFO sums the queues of each namespace alone, and counts nothing of a removed queue', () => {
    const k = new Kernel({ memTotalBytes: 16 << 20, clock: () => 1000, monotonicClock: () => 0 });
    const p = k.spawn();
    const c = ok(p.fork());
    ok(c.unshareIpc());
    const a = queue(p);
    const gone = queue(p);
    const other = queue(c);
    ok(settled(p.msgsnd(a, 1, b('12345'), 0)));
    ok(settled(p.msgsnd(gone, 1, b('xy'), 0)));
    ok(settled(c.msgsnd(other, 1, new Uint8Array(100), 0)));
    ok(p.msgctl(gone, IPC_RMID));
    const mine = (ok(p.msgctl(0, MSG_INFO)) as { info: { msgmap: number; msgtql: number } }).info;
    const theirs = (ok(c.msgctl(0, MSG_INFO)) as { info: { msgmap: number; msgtql: number } }).info;
    expect([mine.msgmap, mine.msgtql, theirs.msgmap, theirs.msgtql]).toEqual([1, 5, 1, 100]);
  });
});

describe('MSG_INFO across a checkpoint', () => {
  it('is the same after restore, with messages dequeued from the middle of a wrapped ring before it', async () => {
    const { checkpoint, restore } = await import('../../src/checkpoint/index.js');
    const k = new Kernel({ memTotalBytes: 16 << 20, clock: () => 1000, monotonicClock: () => 0 });
    const p = k.spawn();
    const id = queue(p);
    for (let i = 0; i < 40; i++) ok(settled(p.msgsnd(id, (i % 3) + 1, new Uint8Array(i), 0)));
    for (let i = 0; i < 20; i++) ok(settled(p.msgrcv(id, 64, i % 2 === 0 ? 0 : 3, IPC_NOWAIT)));
    for (let i = 0; i < 10; i++) ok(settled(p.msgsnd(id, 2, new Uint8Array(7), 0)));
    const info = (kk: Kernel) => ok(kk.processes()[0]!.msgctl(0, MSG_INFO)) as { info: { msgmap: number; msgtql: number } };
    const before = info(k).info;
    const image = ok(checkpoint(k));
    const k2 = ok(restore(image, { clock: () => 1000, monotonicClock: () => 0 }));
    expect(info(k2).info).toEqual(before);
    expect(before.msgmap).toBe(30);
    // The restored queue serves the same messages in the same order.
    const types = (kk: Kernel): string[] => {
      const out: string[] = [];
      for (;;) {
        const r = settled(kk.processes()[0]!.msgrcv(id, 64, -3, IPC_NOWAIT));
        if (E.isLeft(r)) return out;
        out.push(`${r.right.mtype}:${r.right.text.length}`);
      }
    };
    expect(types(k2)).toEqual(types(k));
  });
});
