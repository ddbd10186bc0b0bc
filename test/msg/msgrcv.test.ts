import { describe, expect, it } from 'vitest';
import { IPC_NOWAIT, IPC_PRIVATE, IPC_STAT } from '../../src/abi/constants.js';
import { MSG_COPY, MSG_EXCEPT, MSG_INFO, MSG_NOERROR } from '../../src/abi/msg.js';
import { msgrcvCheck } from '../../src/msg/receive.js';
import { errno, ok } from '../support/either.js';
import { ctl, get, got, makeEnv, nobody, rcv, root, snd, text, user } from './helpers.js';

function queueWith(types: number[]) {
  const env = makeEnv();
  const owner = root();
  const id = ok(get(env, owner, IPC_PRIVATE, 0o600));
  types.forEach((t, i) => ok(snd(env, owner, id, t, `m${i}`).now!));
  return { env, owner, id };
}

/** Receives with IPC_NOWAIT and returns "type:text", or the errno. */
function take(q: ReturnType<typeof queueWith>, msgtyp: number | bigint, flags = 0, bufsz = 100): string {
  const c = rcv(q.env, q.owner, q.id, bufsz, msgtyp, flags | IPC_NOWAIT);
  const r = c.now!;
  return r._tag === 'Left' ? r.left.errno : `${String(r.right.mtype)}:${text(r.right)}`;
}

describe('msgrcv: the checks before the lookup', () => {
  it('refuses a negative id or a negative size (EINVAL) (LTP msgrcv02, gVisor MsgOpInvalidArgs)', () => {
    const q = queueWith([1]);
    expect(errno(rcv(q.env, q.owner, -1, 10, 0).now!)).toBe('EINVAL');
    expect(errno(rcv(q.env, q.owner, q.id, -1, 0).now!)).toBe('EINVAL');
    expect(errno(rcv(q.env, q.owner, q.id, 2n ** 64n - 1n, 0).now!)).toBe('EINVAL');
  });

  it('refuses MSG_COPY without IPC_NOWAIT or with MSG_EXCEPT (EINVAL), even for an id that names no queue (LTP msgrcv03, gVisor MsgCopyInvalidArgs)', () => {
    const q = queueWith([1]);
    expect(errno(rcv(q.env, q.owner, 999, 10, 0, MSG_COPY).now!)).toBe('EINVAL');
    expect(errno(rcv(q.env, q.owner, 999, 10, 0, MSG_COPY | IPC_NOWAIT | MSG_EXCEPT).now!)).toBe('EINVAL');
    expect(errno(rcv(q.env, q.owner, 999, 10, 0, MSG_COPY | IPC_NOWAIT).now!)).toBe('EINVAL');
  });

  it('tells the kernel how much of the buffer MSG_COPY reads: min(bufsz, msgmax)', () => {
    const q = queueWith([]);
    expect(ok(msgrcvCheck(q.env.limits, 0, 100, 0))).toBe(0);
    expect(ok(msgrcvCheck(q.env.limits, 0, 100, MSG_COPY | IPC_NOWAIT))).toBe(100);
    expect(ok(msgrcvCheck(q.env.limits, 0, 1n << 40n, MSG_COPY | IPC_NOWAIT))).toBe(8192);
  });

  it('accepts any size above kernel.msgmax (gVisor MsgOpReceiveMax)', () => {
    const q = queueWith([1]);
    expect(take(q, 0, 0, 8193)).toBe('1:m0');
  });
});

describe('msgrcv: selection by msgtyp', () => {
  it('msgtyp 0 takes the first message, whatever its type (LTP msgrcv07)', () => {
    expect(take(queueWith([3, 1, 2]), 0)).toBe('3:m0');
  });

  it('msgtyp > 0 takes the first message of that type; none is ENOMSG (gVisor MsgOpNoMsgType, LTP msgrcv02)', () => {
    const q = queueWith([1, 2, 1, 2]);
    expect(take(q, 2)).toBe('2:m1');
    expect(take(q, 2)).toBe('2:m3');
    expect(take(q, 2)).toBe('ENOMSG');
    expect(take(q, 3)).toBe('ENOMSG');
  });

  it('msgtyp > 0 with MSG_EXCEPT takes the first message of any other type (gVisor MsgExcept, LTP msgrcv07)', () => {
    const q = queueWith([1, 1, 2, 1]);
    expect(take(q, 1, MSG_EXCEPT)).toBe('2:m2');
    expect(take(q, 1, MSG_EXCEPT)).toBe('ENOMSG');
  });

  it('msgtyp < 0 takes the lowest type at or below |msgtyp|, the earliest among equals (gVisor MsgRcvTypeNegative)', () => {
    const q = queueWith([5, 3, 4, 3, 9]);
    expect(take(q, -4)).toBe('3:m1');
    expect(take(q, -4)).toBe('3:m3');
    expect(take(q, -4)).toBe('4:m2');
    expect(take(q, -4)).toBe('ENOMSG');
    expect(take(q, -100)).toBe('5:m0');
  });

  it('msgtyp < 0 ignores MSG_EXCEPT (LTP msgrcv02: -1 with IPC_NOWAIT|MSG_EXCEPT is ENOMSG with only type 2 queued)', () => {
    const q = queueWith([2]);
    expect(take(q, -1, MSG_EXCEPT)).toBe('ENOMSG');
    expect(take(q, -3)).toBe('2:m0');
  });

  it('msgtyp 0 ignores MSG_EXCEPT', () => {
    expect(take(queueWith([7]), 0, MSG_EXCEPT)).toBe('7:m0');
  });

  it('msgtyp LONG_MIN counts as LONG_MAX, so it takes the lowest type queued', () => {
    const q = queueWith([8, 6]);
    expect(take(q, -(2n ** 63n))).toBe('6:m1');
  });

  it('types 1..9 come back in reverse when asked for each (gVisor MsgRcvType)', () => {
    const q = queueWith([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let t = 9; t >= 1; t -= 1) expect(take(q, t)).toBe(`${t}:m${t - 1}`);
  });

  it('an empty queue with IPC_NOWAIT is ENOMSG (gVisor MsgOpNoMsg)', () => {
    expect(take(queueWith([]), 0)).toBe('ENOMSG');
  });
});

describe('msgrcv: size, truncation and the dequeue', () => {
  it('a message larger than the buffer is E2BIG and stays queued (gVisor MsgOpTooBig, LTP msgrcv02)', () => {
    const q = makeEnv();
    const owner = root();
    const id = ok(get(q, owner, IPC_PRIVATE, 0o600));
    ok(snd(q, owner, id, 1, 'x'.repeat(50)).now!);
    expect(errno(rcv(q, owner, id, 49, 0, IPC_NOWAIT).now!)).toBe('E2BIG');
    expect(ok(ctl(q, owner, id, IPC_STAT)).ds!.qnum).toBe(1);
    expect(got(rcv(q, owner, id, 50, 0, IPC_NOWAIT)).text.length).toBe(50);
  });

  it('MSG_NOERROR truncates, and the whole message leaves the queue (gVisor MsgOpTruncate, LTP msgrcv07)', () => {
    const env = makeEnv();
    const owner = root();
    const id = ok(get(env, owner, IPC_PRIVATE, 0o600));
    ok(snd(env, owner, id, 1, 'abcdefghij').now!);
    const m = got(rcv(env, owner, id, 4, 0, MSG_NOERROR | IPC_NOWAIT));
    expect(text(m)).toBe('abcd');
    const ds = ok(ctl(env, owner, id, IPC_STAT)).ds!;
    expect([ds.qnum, ds.cbytes]).toEqual([0, 0]);
    expect(ok(ctl(env, owner, 0, MSG_INFO)).info).toMatchObject({ msgmap: 0, msgtql: 0 });
  });

  it('a zero-length message round-trips (gVisor MsgOpEmpty)', () => {
    const q = queueWith([]);
    ok(snd(q.env, q.owner, q.id, 1, '').now!);
    expect(got(rcv(q.env, q.owner, q.id, 0, 0, IPC_NOWAIT)).text.length).toBe(0);
  });

  it('sets rtime and lrpid (the tgid) and leaves stime and lspid (gVisor MsgCtlIpcStat)', () => {
    const q = queueWith([1]);
    q.env.tick(7);
    const receiver = user(0, { pid: 500, tid: 501 });
    got(rcv(q.env, receiver, q.id, 10, 0, IPC_NOWAIT));
    const ds = ok(ctl(q.env, q.owner, q.id, IPC_STAT)).ds!;
    expect([ds.rtime, ds.lrpid, ds.stime]).toEqual([1007, 500, 1000]);
  });

  it('refuses a caller without read permission (EACCES), even with MSG_COPY (gVisor MsgOpPermissions)', () => {
    const q = queueWith([1]);
    expect(errno(rcv(q.env, nobody(), q.id, 10, 0, IPC_NOWAIT).now!)).toBe('EACCES');
    expect(errno(rcv(q.env, nobody(), q.id, 10, 0, IPC_NOWAIT | MSG_COPY).now!)).toBe('EACCES');
  });
});

describe('msgrcv: MSG_COPY', () => {
  it('copies the message at each 0-based position and leaves the queue as it was (gVisor MsgCopy, LTP msgrcv07)', () => {
    const q = queueWith([4, 2, 9, 1, 5]);
    q.env.tick(3);
    for (let i = 0; i < 5; i += 1) expect(take(q, i, MSG_COPY)).toBe(`${[4, 2, 9, 1, 5][i]}:m${i}`);
    const ds = ok(ctl(q.env, q.owner, q.id, IPC_STAT)).ds!;
    expect([ds.qnum, ds.rtime, ds.lrpid]).toEqual([5, 0, 0]);
    for (let i = 0; i < 5; i += 1) expect(take(q, 0)).toBe(`${[4, 2, 9, 1, 5][i]}:m${i}`);
  });

  it('an index past the end, or negative, is ENOMSG (gVisor MsgCopyInvalidIndex, LTP msgrcv03)', () => {
    const q = queueWith([1, 1]);
    expect(take(q, 2, MSG_COPY)).toBe('ENOMSG');
    expect(take(q, -3, MSG_COPY)).toBe('ENOMSG');
    expect(take(queueWith([]), 5, MSG_COPY)).toBe('ENOMSG');
  });

  it('a buffer too small is E2BIG without MSG_NOERROR and EINVAL with it (gVisor MsgCopyTooBig)', () => {
    const q = queueWith([]);
    ok(snd(q.env, q.owner, q.id, 1, 'x'.repeat(50)).now!);
    expect(take(q, 0, MSG_COPY, 49)).toBe('E2BIG');
    expect(take(q, 0, MSG_COPY | MSG_NOERROR, 49)).toBe('EINVAL');
    expect(take(q, 0, MSG_COPY, 50)).toBe(`1:${'x'.repeat(50)}`);
  });

  it('is EINVAL when kernel.msgmax was lowered below the message, however large the buffer', () => {
    const q = queueWith([]);
    ok(snd(q.env, q.owner, q.id, 1, 'x'.repeat(50)).now!);
    q.env.limits.msgmax = 10;
    expect(take(q, 0, MSG_COPY, 1000)).toBe('EINVAL');
    expect(take(q, 0, 0, 1000)).toBe(`1:${'x'.repeat(50)}`);
  });

  it('hands out a copy the caller may change', () => {
    const q = queueWith([1]);
    const m = got(rcv(q.env, q.owner, q.id, 10, 0, IPC_NOWAIT | MSG_COPY));
    m.text[0] = 0;
    expect(take(q, 0)).toBe('1:m0');
  });
});
