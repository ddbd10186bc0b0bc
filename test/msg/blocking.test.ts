import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import { MSG_EXCEPT, MSG_NOERROR } from '../../src/abi/msg.js';
import { msgrcv } from '../../src/msg/receive.js';
import type { MsgWaiter } from '../../src/msg/waiter.js';
import { isMsgWaiter } from '../../src/msg/waiter.js';
import { errno, ok } from '../support/either.js';
import type { Env } from './helpers.js';
import { ctl, get, got, makeEnv, outcome, rcv, root, snd, text, user } from './helpers.js';

function setup(qbytes?: number) {
  const env = makeEnv();
  const owner = root();
  const id = ok(get(env, owner, IPC_PRIVATE, 0o666));
  if (qbytes !== undefined) ok(ctl(env, owner, id, IPC_SET, { uid: 0, gid: 0, mode: 0o666, qbytes }));
  return { env, owner, id };
}

function stat(env: Env, id: number) {
  return ok(ctl(env, root(), id, IPC_STAT)).ds!;
}

describe('a receiver that finds nothing', () => {
  it('blocks, and a later send hands the message straight to it: the queue never holds it (gVisor MsgRcvBlocking)', () => {
    const { env, owner, id } = setup();
    const receiver = user(0, { pid: 40, tid: 41 });
    const r = rcv(env, receiver, id, 100, 0);
    expect(outcome(r)).toBe('blocked');
    expect(r.waiter!.kind).toBe('receive');
    env.tick(10);
    const sender = user(0, { pid: 50, tid: 52 });
    expect(outcome(snd(env, sender, id, 3, 'hello'))).toBe('ok');
    expect(text(got(r))).toBe('hello');
    expect(r.waiter!.done).toBe(true);
    const ds = stat(env, id);
    // pipelined_send records the receiving thread, not its thread group, and sets rtime; the sender sets stime and lspid.
    expect([ds.qnum, ds.cbytes, ds.lrpid, ds.rtime, ds.lspid, ds.stime]).toEqual([0, 0, 41, 1010, 50, 1010]);
    expect(env.reg.totals()).toEqual({ hdrs: 0, bytes: 0 });
    void owner;
  });

  it('waiting for type 2 lets type-1 messages queue and takes the type-2 one (gVisor MsgRcvTypeBlocking)', () => {
    const { env, owner, id } = setup();
    const r = rcv(env, owner, id, 100, 2);
    for (let i = 0; i < 4; i += 1) ok(snd(env, owner, id, 1, `one${i}`).now!);
    expect(outcome(r)).toBe('blocked');
    ok(snd(env, owner, id, 2, 'two').now!);
    expect(text(got(r))).toBe('two');
    expect(stat(env, id).qnum).toBe(4);
  });

  it('is offered each new message in the order receivers slept, by its own search (testmsg)', () => {
    const { env, owner, id } = setup();
    const r1 = rcv(env, owner, id, 100, 1, 0, 'r1');
    const r2 = rcv(env, owner, id, 100, 0, 0, 'r2');
    const r3 = rcv(env, owner, id, 100, -5, 0, 'r3');
    const r4 = rcv(env, owner, id, 100, 1, MSG_EXCEPT, 'r4');
    ok(snd(env, owner, id, 2, 'a').now!);
    ok(snd(env, owner, id, 1, 'b').now!);
    ok(snd(env, owner, id, 4, 'c').now!);
    ok(snd(env, owner, id, 9, 'd').now!);
    expect(env.log).toEqual(['r2:ok:2:a', 'r1:ok:1:b', 'r3:ok:4:c', 'r4:ok:9:d']);
    expect([r1, r2, r3, r4].map(outcome)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('whose buffer is too small is woken with E2BIG, and the message goes on to the next receiver', () => {
    const { env, owner, id } = setup();
    const small = rcv(env, owner, id, 2, 0, 0, 'small');
    const big = rcv(env, owner, id, 100, 0, 0, 'big');
    ok(snd(env, owner, id, 1, '0123456789').now!);
    expect(env.log).toEqual(['small:E2BIG', 'big:ok:1:0123456789']);
    expect([outcome(small), outcome(big)]).toEqual(['E2BIG', 'ok']);
    expect(stat(env, id).qnum).toBe(0);
  });

  it('with MSG_NOERROR takes any message and gets it truncated to its buffer', () => {
    const { env, owner, id } = setup();
    const r = rcv(env, owner, id, 3, 0, MSG_NOERROR);
    ok(snd(env, owner, id, 1, 'abcdef').now!);
    expect(text(got(r))).toBe('abc');
    expect(stat(env, id).cbytes).toBe(0);
  });

  it('is queued again when none of the sends match, and the message is queued', () => {
    const { env, owner, id } = setup();
    const r = rcv(env, owner, id, 100, 7);
    ok(snd(env, owner, id, 1, 'x').now!);
    expect(outcome(r)).toBe('blocked');
    expect(env.reg.totals()).toEqual({ hdrs: 1, bytes: 1 });
  });
});

describe('a sender that finds the queue full', () => {
  it('blocks, and a receive that frees room lets it send (gVisor MsgSndBlocking)', () => {
    const { env, owner, id } = setup();
    const big = new Uint8Array(8192);
    ok(snd(env, owner, id, 1, big).now!);
    ok(snd(env, owner, id, 2, big).now!);
    const s = snd(env, user(0, { pid: 77 }), id, 3, big);
    expect(outcome(s)).toBe('blocked');
    expect(s.waiter!.kind).toBe('send');
    env.tick(4);
    got(rcv(env, owner, id, 8192, 0, IPC_NOWAIT));
    expect(outcome(s)).toBe('ok');
    const ds = stat(env, id);
    expect([ds.qnum, ds.cbytes, ds.lspid, ds.stime]).toEqual([2, 16384, 77, 1004]);
  });

  it('is woken with every other sender that fits now, in list order; each re-checks when it runs, and one that no longer fits sleeps again at the tail (ss_wakeup)', () => {
    const { env, owner, id } = setup(10);
    ok(snd(env, owner, id, 1, 'aaaaa').now!);
    ok(snd(env, owner, id, 1, 'bbbbb').now!);
    const s1 = snd(env, owner, id, 1, '8'.repeat(8), 0, 's1');
    const s2 = snd(env, owner, id, 1, '4444', 0, 's2');
    const s3 = snd(env, owner, id, 1, '22', 0, 's3');
    // 5 bytes free: s1 (8) does not fit and goes to the tail; s2 (4) and s3 (2) fit and are woken.
    // s2 runs first and takes 4 of the 5 bytes, so s3's re-check fails and it sleeps again.
    got(rcv(env, owner, id, 10, 0, IPC_NOWAIT));
    expect(env.log).toEqual(['s2:ok']);
    expect([outcome(s1), outcome(s2), outcome(s3)]).toEqual(['blocked', 'ok', 'blocked']);
    expect(stat(env, id).cbytes).toBe(9);
    // Now q_senders is s1, s3. 5 bytes free again: s1 still does not fit, s3 does.
    got(rcv(env, owner, id, 10, 0, IPC_NOWAIT));
    expect(env.log).toEqual(['s2:ok', 's3:ok']);
    expect(outcome(s1)).toBe('blocked');
    expect(stat(env, id).cbytes).toBe(6);
  });

  it('is woken by IPC_SET raising q_qbytes', () => {
    const { env, owner, id } = setup(4);
    ok(snd(env, owner, id, 1, 'full').now!);
    const s = snd(env, owner, id, 1, 'more');
    expect(outcome(s)).toBe('blocked');
    ok(ctl(env, owner, id, IPC_SET, { uid: 0, gid: 0, mode: 0o666, qbytes: 8 }));
    expect(outcome(s)).toBe('ok');
  });

  it('hands its message to a waiting receiver when it finally sends', () => {
    const { env, owner, id } = setup(4);
    ok(snd(env, owner, id, 1, 'full').now!);
    const s = snd(env, owner, id, 2, 'two!', 0, 's');
    const r = rcv(env, owner, id, 10, 2, 0, 'r');
    expect([outcome(s), outcome(r)]).toEqual(['blocked', 'blocked']);
    got(rcv(env, owner, id, 10, 1, IPC_NOWAIT));
    expect(env.log).toEqual(['s:ok', 'r:ok:2:two!']);
    expect(stat(env, id).qnum).toBe(0);
  });

  it('ten senders on a one-message queue and ten typed receivers all complete (gVisor MsgOpGeneral)', () => {
    const { env, owner, id } = setup(150);
    const senders = Array.from({ length: 10 }, (_, i) => snd(env, owner, id, i + 1, 'x'.repeat(100), 0, `s${i + 1}`));
    expect(senders.map(outcome).filter((o) => o === 'blocked')).toHaveLength(9);
    const receivers = Array.from({ length: 10 }, (_, i) => rcv(env, owner, id, 100, 10 - i, 0, `r${10 - i}`));
    expect([...senders, ...receivers].map(outcome).every((o) => o === 'ok')).toBe(true);
    expect(stat(env, id).qnum).toBe(0);
  });
});

describe('IPC_RMID with waiters', () => {
  it('finishes every receiver, then every sender, with EIDRM, in the order they slept (LTP msgsnd06, msgrcv06; gVisor MsgSndRmWhileBlocking, MsgRcvRmWhileBlocking)', () => {
    const { env, owner, id } = setup(2);
    ok(snd(env, owner, id, 1, 'ab').now!);
    const calls = [
      snd(env, owner, id, 1, 'c', 0, 's1'),
      rcv(env, owner, id, 10, 5, 0, 'r1'),
      snd(env, owner, id, 1, 'd', 0, 's2'),
      rcv(env, owner, id, 10, 6, 0, 'r2'),
    ];
    expect(calls.map(outcome)).toEqual(['blocked', 'blocked', 'blocked', 'blocked']);
    ok(ctl(env, owner, id, IPC_RMID));
    expect(env.log).toEqual(['r1:EIDRM', 'r2:EIDRM', 's1:EIDRM', 's2:EIDRM']);
    expect(env.reg.totals()).toEqual({ hdrs: 0, bytes: 0 });
  });

  it('the namespace’s end does the same', () => {
    const { env, owner, id } = setup();
    const r = rcv(env, owner, id, 10, 0);
    env.reg.release();
    expect(outcome(r)).toBe('EIDRM');
    expect(errno(snd(env, owner, id, 1, 'x').now!)).toBe('EINVAL');
  });
});

describe('IPC_SET with sleeping receivers', () => {
  it('makes each re-run its loop: one that lost read permission gets EACCES, one that still may sleeps again', () => {
    const { env, owner, id } = setup();
    const stranger = rcv(env, user(500), id, 10, 0, 0, 'stranger');
    const own = rcv(env, owner, id, 10, 0, 0, 'owner');
    ok(ctl(env, owner, id, IPC_SET, { uid: 0, gid: 0, mode: 0o600, qbytes: 16384 }));
    expect(env.log).toEqual(['stranger:EACCES']);
    expect([outcome(stranger), outcome(own)]).toEqual(['EACCES', 'blocked']);
    ok(snd(env, owner, id, 1, 'hi').now!);
    expect(text(got(own))).toBe('hi');
  });
});

describe('interrupt (a signal)', () => {
  it('finishes a blocked receiver with EINTR and takes it off the list, so a later send is queued (gVisor InterruptRecv, LTP msgrcv05)', () => {
    const { env, owner, id } = setup();
    const r = rcv(env, owner, id, 10, 0);
    expect(r.waiter!.interrupt()).toBe(true);
    expect(outcome(r)).toBe('EINTR');
    expect(r.waiter!.interrupt()).toBe(false);
    ok(snd(env, owner, id, 1, 'x').now!);
    expect(stat(env, id).qnum).toBe(1);
  });

  it('finishes a blocked sender with EINTR, and it sends nothing (gVisor InterruptSend, LTP msgsnd05)', () => {
    const { env, owner, id } = setup(1);
    ok(snd(env, owner, id, 1, 'x').now!);
    const s = snd(env, owner, id, 1, 'y');
    expect(s.waiter!.interrupt()).toBe(true);
    expect(outcome(s)).toBe('EINTR');
    got(rcv(env, owner, id, 10, 0, IPC_NOWAIT));
    expect(stat(env, id).qnum).toBe(0);
  });

  it('does not take back a message already handed over: a signal that comes after the hand-off leaves the receiver its message', () => {
    const { env, owner, id } = setup();
    const log: string[] = [];
    let fits: MsgWaiter | undefined;
    let signalled: boolean | undefined;
    // The small receiver slept first; its E2BIG runs first, and its callback signals the receiver that got the message.
    msgrcv(env.reg, owner, id, 1, 0, 0, (res) => {
      log.push(`small:${errno(res)}`);
      signalled = fits!.interrupt();
    });
    const answer = msgrcv(env.reg, owner, id, 100, 0, 0, (res) => log.push(E.isRight(res) ? `fits:${text(res.right)}` : `fits:${res.left.errno}`));
    fits = E.isRight(answer) && isMsgWaiter(answer.right) ? answer.right : undefined;
    ok(snd(env, owner, id, 1, 'message').now!);
    expect(signalled).toBe(true);
    expect(log).toEqual(['small:E2BIG', 'fits:message']);
  });
});

describe('completion callbacks', () => {
  it('may make another call at once: a receiver that receives again in its callback sleeps again and gets the next send', () => {
    const env = makeEnv();
    const owner = root();
    const id = ok(get(env, owner, IPC_PRIVATE, 0o600));
    const got: string[] = [];
    const again = (): void => {
      const r = msgrcv(env.reg, owner, id, 10, 0, 0, (res) => {
        if (res._tag === 'Right') got.push(text(res.right));
        if (got.length < 3) again();
      });
      expect(errno(r)).toBe('ok');
    };
    again();
    for (const s of ['a', 'b', 'c', 'd']) ok(snd(env, owner, id, 1, s).now!);
    expect(got).toEqual(['a', 'b', 'c']);
    expect(stat(env, id).qnum).toBe(1);
  });
});
