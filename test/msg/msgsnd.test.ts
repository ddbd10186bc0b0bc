import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_STAT } from '../../src/abi/constants.js';
import { MSG_INFO } from '../../src/abi/msg.js';
import { msgsndCheck } from '../../src/msg/send.js';
import { errno, ok } from '../support/either.js';
import { ctl, get, got, makeEnv, nobody, outcome, rcv, root, snd, text, user } from './helpers.js';

function queue(mode = 0o600) {
  const env = makeEnv();
  const owner = root();
  const id = ok(get(env, owner, IPC_PRIVATE, mode));
  return { env, owner, id };
}

describe('msgsnd: the checks before the lookup', () => {
  it('refuses msgsz above kernel.msgmax, a negative msgsz or a negative id (EINVAL) before mtype', () => {
    const { env, owner, id } = queue();
    expect(errno(snd(env, owner, id, 1, new Uint8Array(8193)).now!)).toBe('EINVAL');
    expect(errno(msgsndCheck(env.limits, id, 0, -1) ?? E.right(0))).toBe('EINVAL');
    expect(errno(msgsndCheck(env.limits, id, 1, 2n ** 64n - 1n) ?? E.right(0))).toBe('EINVAL');
    expect(errno(snd(env, owner, -1, 1, 'x').now!)).toBe('EINVAL');
    expect(msgsndCheck(env.limits, 0, 1, 8192)).toBeUndefined();
  });

  it('refuses mtype 0 and -1 even for an id that names no queue (LTP msgsnd02): mtype comes before the lookup', () => {
    const { env, owner } = queue();
    expect(errno(snd(env, owner, 12345, 0, 'x').now!)).toBe('EINVAL');
    expect(errno(snd(env, owner, 12345, -1, 'x').now!)).toBe('EINVAL');
    expect(errno(snd(env, owner, 12345, -(2n ** 63n), 'x').now!)).toBe('EINVAL');
    expect(errno(snd(env, owner, 12345, 1, 'x').now!)).toBe('EINVAL');
  });

  it('follows kernel.msgmax as it is now', () => {
    const { env, owner, id } = queue();
    env.limits.msgmax = 4;
    expect(errno(snd(env, owner, id, 1, 'hello').now!)).toBe('EINVAL');
    expect(outcome(snd(env, owner, id, 1, 'four'))).toBe('ok');
  });
});

describe('msgsnd: the loop', () => {
  it('refuses a caller without write permission (EACCES), before it looks at room (LTP msgsnd02, gVisor MsgOpPermissions)', () => {
    const { env, owner, id } = queue(0o644);
    expect(errno(snd(env, nobody(), id, 1, 'x').now!)).toBe('EACCES');
    ok(ctl(env, owner, id, IPC_STAT));
    const reader = user(77, { caps: ['CAP_IPC_OWNER'] });
    expect(outcome(snd(env, reader, id, 1, 'x'))).toBe('ok');
  });

  it('refuses a full queue with IPC_NOWAIT (EAGAIN): two MSGMAX messages fill the default queue (gVisor MsgOpLimits, LTP msgsnd05)', () => {
    const { env, owner, id } = queue();
    const big = new Uint8Array(8192);
    expect(outcome(snd(env, owner, id, 1, big))).toBe('ok');
    expect(outcome(snd(env, owner, id, 1, big))).toBe('ok');
    expect(errno(snd(env, owner, id, 1, big, IPC_NOWAIT).now!)).toBe('EAGAIN');
    expect(ok(ctl(env, owner, id, IPC_STAT)).ds!.qnum).toBe(2);
  });

  it('bounds the message count by q_qbytes too, so empty messages cannot flood the queue', () => {
    const { env, owner, id } = queue();
    ok(ctl(env, owner, id, 1, { uid: 0, gid: 0, mode: 0o600, qbytes: 3 }));
    for (let i = 0; i < 3; i += 1) expect(outcome(snd(env, owner, id, 1, ''))).toBe('ok');
    expect(errno(snd(env, owner, id, 1, '', IPC_NOWAIT).now!)).toBe('EAGAIN');
  });

  it('with q_qbytes 0 every send waits or fails', () => {
    const { env, owner, id } = queue();
    ok(ctl(env, owner, id, 1, { uid: 0, gid: 0, mode: 0o600, qbytes: 0 }));
    expect(errno(snd(env, owner, id, 1, '', IPC_NOWAIT).now!)).toBe('EAGAIN');
  });

  it('queues the message: qnum, cbytes, lspid (the tgid) and stime change; rtime and lrpid do not (LTP msgsnd01)', () => {
    const { env, owner, id } = queue();
    env.tick(5);
    const sender = user(0, { pid: 300, tid: 301 });
    expect(ok(snd(env, sender, id, 3, 'hello').now!)).toBe(0);
    const ds = ok(ctl(env, owner, id, IPC_STAT)).ds!;
    expect([ds.qnum, ds.cbytes, ds.lspid, ds.stime, ds.rtime, ds.lrpid]).toEqual([1, 5, 300, 1005, 0, 0]);
    expect(ok(ctl(env, owner, 0, MSG_INFO)).info).toMatchObject({ msgpool: 1, msgmap: 1, msgtql: 5 });
  });

  it('keeps the mtype exactly, as a number when safe and a bigint otherwise', () => {
    const { env, owner, id } = queue();
    ok(snd(env, owner, id, 2n ** 62n, 'big').now!);
    ok(snd(env, owner, id, 5n, 'five').now!);
    expect(got(rcv(env, owner, id, 10, 5, IPC_NOWAIT)).mtype).toBe(5);
    const m = got(rcv(env, owner, id, 10, 0, IPC_NOWAIT));
    expect([m.mtype, text(m)]).toEqual([2n ** 62n, 'big']);
  });

  it('says EINVAL for an id whose queue was removed', () => {
    const { env, owner, id } = queue();
    ok(ctl(env, owner, id, IPC_RMID));
    expect(errno(snd(env, owner, id, 1, 'x').now!)).toBe('EINVAL');
  });
});
