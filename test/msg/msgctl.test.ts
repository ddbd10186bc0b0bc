import { describe, expect, it } from 'vitest';
import { IPC_INFO, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import { MSG_INFO, MSG_STAT, MSG_STAT_ANY } from '../../src/abi/msg.js';
import { errno, ok } from '../support/either.js';
import { ctl, get, makeEnv, nobody, outcome, root, snd, user } from './helpers.js';

const set = (over: Partial<{ uid: number; gid: number; mode: number; qbytes: number | bigint }> = {}) => ({
  uid: 0,
  gid: 0,
  mode: 0o600,
  qbytes: 16384,
  ...over,
});

describe('msgctl: common checks', () => {
  it('a negative id or command is EINVAL for every command, IPC_INFO too (LTP msgctl04)', () => {
    const env = makeEnv();
    for (const cmd of [IPC_INFO, MSG_INFO, IPC_STAT, IPC_RMID, IPC_SET]) expect(errno(ctl(env, root(), -1, cmd))).toBe('EINVAL');
    expect(errno(ctl(env, root(), 0, -1))).toBe('EINVAL');
  });

  it('unknown commands are EINVAL, IPC_64 spellings included', () => {
    const env = makeEnv();
    const id = ok(get(env, root(), IPC_PRIVATE, 0o600));
    for (const cmd of [4, 5, 10, 14, 15, 99, IPC_STAT | 0x100]) expect(errno(ctl(env, root(), id, cmd))).toBe('EINVAL');
  });
});

describe('IPC_STAT, MSG_STAT, MSG_STAT_ANY', () => {
  it('IPC_STAT needs read, even for the owner of a mode-0 queue (LTP msgctl04, gVisor MsgCtlIpcStatWriteOnly)', () => {
    const env = makeEnv();
    const owner = user(1000);
    const id = ok(get(env, owner, IPC_PRIVATE, 0o200));
    expect(errno(ctl(env, owner, id, IPC_STAT))).toBe('EACCES');
    expect(errno(ctl(env, owner, id + 1, IPC_STAT))).toBe('EINVAL');
  });

  it('MSG_STAT takes an index and returns the full id; a stale sequence still finds it; an empty slot is EINVAL (LTP msgctl06, msgctl12)', () => {
    const env = makeEnv();
    for (let i = 0; i < 64; i += 1) ok(ctl(env, root(), ok(get(env, root(), IPC_PRIVATE, 0o600)), IPC_RMID));
    const id = ok(get(env, root(), IPC_PRIVATE, 0o600));
    expect(id).toBe(32768);
    expect(ok(ctl(env, root(), 0, MSG_STAT)).ret).toBe(32768);
    expect(ok(ctl(env, root(), 32768 * 3, MSG_STAT)).ret).toBe(32768);
    expect(errno(ctl(env, root(), 1, MSG_STAT))).toBe('EINVAL');
    expect(ok(ctl(env, root(), 0, MSG_STAT)).ds!.perm.seq).toBe(1);
    expect(ok(ctl(env, root(), id, IPC_STAT)).ret).toBe(0);
  });

  it('MSG_STAT checks read; MSG_STAT_ANY does not', () => {
    const env = makeEnv();
    ok(get(env, root(), IPC_PRIVATE, 0o600));
    expect(errno(ctl(env, nobody(), 0, MSG_STAT))).toBe('EACCES');
    expect(ok(ctl(env, nobody(), 0, MSG_STAT_ANY)).ret).toBe(0);
  });

  it('MSG_INFO’s returned index resolves with MSG_STAT_ANY, and the valid indexes number msgpool (LTP msgctl06)', () => {
    const env = makeEnv();
    const ids = [0, 1, 2, 3].map(() => ok(get(env, root(), IPC_PRIVATE, 0o600)));
    ok(ctl(env, root(), ids[1]!, IPC_RMID));
    const info = ok(ctl(env, nobody(), 0, MSG_INFO));
    expect(info.ret).toBe(3);
    let valid = 0;
    for (let i = 0; i <= info.ret; i += 1) if (outcomeOf(ctl(env, nobody(), i, MSG_STAT_ANY)) === 'ok') valid += 1;
    expect(valid).toBe(info.info!.msgpool);
  });
});

function outcomeOf(r: ReturnType<typeof ctl>): string {
  return errno(r);
}

describe('IPC_INFO and MSG_INFO', () => {
  it('IPC_INFO reports the sysctls and the fixed MSGPOOL, MSGMAP, MSGTQL, MSGSSZ, MSGSEG (gVisor MsgCtlIpcInfo, LTP msgctl12)', () => {
    const env = makeEnv();
    const r = ok(ctl(env, root(), 0, IPC_INFO));
    expect(r.ret).toBe(0);
    expect(r.info).toEqual({ msgpool: 512000, msgmap: 16384, msgmax: 8192, msgmnb: 16384, msgmni: 32000, msgssz: 16, msgtql: 16384, msgseg: 0xffff });
    env.limits.msgmax = 100;
    expect(ok(ctl(env, root(), 0, IPC_INFO)).info!.msgmax).toBe(100);
  });

  it('MSG_INFO counts queues, messages and bytes (gVisor MsgCtlMsgInfo), and returns the highest index in use', () => {
    const env = makeEnv();
    const before = ok(ctl(env, root(), 0, MSG_INFO)).info!;
    const id = ok(get(env, root(), IPC_PRIVATE, 0o600));
    ok(get(env, root(), IPC_PRIVATE, 0o600));
    ok(snd(env, root(), id, 1, 'x'.repeat(50)).now!);
    const after = ok(ctl(env, root(), 0, MSG_INFO));
    expect(after.ret).toBe(1);
    expect([after.info!.msgpool - before.msgpool, after.info!.msgmap - before.msgmap, after.info!.msgtql - before.msgtql]).toEqual([2, 1, 50]);
    ok(ctl(env, root(), id, IPC_RMID));
    expect(ok(ctl(env, root(), 0, MSG_INFO)).info).toMatchObject({ msgpool: 1, msgmap: 0, msgtql: 0 });
  });
});

describe('IPC_SET', () => {
  it('needs ownership or CAP_SYS_ADMIN (EPERM), not CAP_IPC_OWNER; a bad id is EINVAL first (LTP msgctl04)', () => {
    const env = makeEnv();
    const owner = user(1000);
    const id = ok(get(env, owner, IPC_PRIVATE, 0o600));
    expect(errno(ctl(env, nobody(), id + 1, IPC_SET, set()))).toBe('EINVAL');
    expect(errno(ctl(env, nobody(), id, IPC_SET, set()))).toBe('EPERM');
    expect(errno(ctl(env, user(7, { caps: ['CAP_IPC_OWNER'] }), id, IPC_SET, set()))).toBe('EPERM');
    expect(errno(ctl(env, user(7, { caps: ['CAP_SYS_ADMIN'] }), id, IPC_SET, set({ uid: 1000 })))).toBe('ok');
  });

  it('changes the owner and the nine mode bits, and sets ctime (gVisor MsgCtlIpcSet)', () => {
    const env = makeEnv();
    const owner = user(1000);
    const id = ok(get(env, owner, IPC_PRIVATE, 0o600));
    env.tick(9);
    ok(ctl(env, owner, id, IPC_SET, set({ uid: 1234, gid: 55, mode: 0o7777, qbytes: 100 })));
    const ds = ok(ctl(env, root(), id, IPC_STAT)).ds!;
    expect([ds.perm.uid, ds.perm.gid, ds.perm.cuid, ds.perm.mode, ds.ctime, ds.qbytes]).toEqual([1234, 55, 1000, 0o777, 1009, 100n]);
  });

  it('lowers qbytes freely and reads it back (LTP msgctl02); raising it above msgmnb needs CAP_SYS_RESOURCE (gVisor MsgCtlIpcSetMaxBytes)', () => {
    const env = makeEnv();
    const owner = user(1000);
    const id = ok(get(env, owner, IPC_PRIVATE, 0o600));
    ok(ctl(env, owner, id, IPC_SET, set({ uid: 1000, gid: 1000, qbytes: 16383 })));
    expect(ok(ctl(env, owner, id, IPC_STAT)).ds!.qbytes).toBe(16383n);
    ok(ctl(env, owner, id, IPC_SET, set({ uid: 1000, gid: 1000, qbytes: 16384 })));
    expect(errno(ctl(env, owner, id, IPC_SET, set({ uid: 1000, gid: 1000, qbytes: 16385 })))).toBe('EPERM');
    ok(ctl(env, root(), id, IPC_SET, set({ uid: 1000, gid: 1000, qbytes: 1 << 20 })));
    expect(ok(ctl(env, owner, id, IPC_STAT)).ds!.qbytes).toBe(1048576n);
  });

  it('checks qbytes before the uid and gid: a too-large qbytes with uid -1 is EPERM, a fine one EINVAL', () => {
    const env = makeEnv();
    const owner = user(1000);
    const id = ok(get(env, owner, IPC_PRIVATE, 0o600));
    expect(errno(ctl(env, owner, id, IPC_SET, set({ uid: -1, qbytes: 1 << 20 })))).toBe('EPERM');
    expect(errno(ctl(env, owner, id, IPC_SET, set({ uid: -1, qbytes: 10 })))).toBe('EINVAL');
    expect(ok(ctl(env, owner, id, IPC_STAT)).ds!.qbytes).toBe(16384n);
  });

  it('takes msg_qbytes as an int: above INT_MAX is EPERM for a user, 2^32 is 0, and root’s negative int reads back sign-extended', () => {
    const env = makeEnv();
    const owner = user(1000);
    const id = ok(get(env, owner, IPC_PRIVATE, 0o600));
    expect(errno(ctl(env, owner, id, IPC_SET, set({ uid: 1000, gid: 1000, qbytes: 2 ** 31 })))).toBe('EPERM');
    ok(ctl(env, owner, id, IPC_SET, set({ uid: 1000, gid: 1000, qbytes: 2n ** 32n })));
    expect(ok(ctl(env, owner, id, IPC_STAT)).ds!.qbytes).toBe(0n);
    expect(errno(snd(env, owner, id, 1, '', IPC_NOWAIT).now!)).toBe('EAGAIN');
    ok(ctl(env, root(), id, IPC_SET, set({ uid: 1000, gid: 1000, qbytes: 2 ** 32 - 1 })));
    expect(ok(ctl(env, owner, id, IPC_STAT)).ds!.qbytes).toBe(2n ** 64n - 1n);
    expect(outcome(snd(env, owner, id, 1, 'x'.repeat(8192)))).toBe('ok');
  });
});

describe('IPC_RMID', () => {
  it('needs ownership or CAP_SYS_ADMIN (EPERM: LTP msgctl04), then the id is gone (EINVAL: LTP msgctl03)', () => {
    const env = makeEnv();
    const id = ok(get(env, root(), IPC_PRIVATE, 0o600));
    expect(errno(ctl(env, nobody(), id, IPC_RMID))).toBe('EPERM');
    ok(ctl(env, root(), id, IPC_RMID));
    expect(errno(ctl(env, root(), id, IPC_STAT))).toBe('EINVAL');
    expect(errno(ctl(env, root(), id, IPC_RMID))).toBe('EINVAL');
  });

  it('frees the queued messages out of the namespace totals', () => {
    const env = makeEnv();
    const id = ok(get(env, root(), IPC_PRIVATE, 0o600));
    ok(snd(env, root(), id, 1, 'abc').now!);
    ok(snd(env, root(), id, 2, 'de').now!);
    ok(ctl(env, root(), id, IPC_RMID));
    expect(env.reg.totals()).toEqual({ hdrs: 0, bytes: 0 });
  });
});
