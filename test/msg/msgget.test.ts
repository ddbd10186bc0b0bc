import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_RMID, IPC_STAT } from '../../src/abi/constants.js';
import { errno, ok } from '../support/either.js';
import { ctl, get, makeEnv, nobody, root, user } from './helpers.js';

describe('msgget', () => {
  it('creates a queue whose first id is 0, and finds it again by key (LTP msgget01, gVisor MsgGet)', () => {
    const env = makeEnv();
    const r = root();
    const id = ok(get(env, r, 1234, IPC_CREAT | 0o600));
    expect(id).toBe(0);
    expect(ok(get(env, r, 1234, 0))).toBe(id);
  });

  it('gives two private queues different ids (gVisor MsgGetIpcPrivate)', () => {
    const env = makeEnv();
    const a = ok(get(env, root(), IPC_PRIVATE, 0o600));
    const b = ok(get(env, root(), IPC_PRIVATE, 0o600));
    expect(a).not.toBe(b);
  });

  it('refuses an existing key with IPC_CREAT|IPC_EXCL (EEXIST) before it checks permission', () => {
    const env = makeEnv();
    ok(get(env, root(), 7, IPC_CREAT | 0));
    expect(errno(get(env, nobody(), 7, IPC_CREAT | IPC_EXCL | 0o600))).toBe('EEXIST');
  });

  it('finds no key without IPC_CREAT (ENOENT), with flags 0 or IPC_EXCL alone (LTP msgget02, gVisor MsgGetFail)', () => {
    const env = makeEnv();
    expect(errno(get(env, root(), 99, 0))).toBe('ENOENT');
    expect(errno(get(env, root(), 99, IPC_EXCL))).toBe('ENOENT');
  });

  it('refuses nobody asking for 0400, 0200 or 0600 on a root queue of mode 0 (EACCES), and grants a request of no bits', () => {
    const env = makeEnv();
    const id = ok(get(env, root(), 5, IPC_CREAT));
    for (const mode of [0o400, 0o200, 0o600]) expect(errno(get(env, nobody(), 5, mode))).toBe('EACCES');
    expect(ok(get(env, nobody(), 5, 0))).toBe(id);
  });

  it('refuses a creation past kernel.msgmni (ENOSPC) and leaves msg_next_id set (LTP msgget03)', () => {
    const env = makeEnv();
    env.limits.msgmni = 3;
    for (let i = 0; i < 3; i += 1) ok(get(env, root(), IPC_PRIVATE, 0o600));
    env.limits.msgNextId = 500;
    expect(errno(get(env, root(), IPC_PRIVATE, 0o600))).toBe('ENOSPC');
    expect(env.limits.msgNextId).toBe(500);
  });

  it('uses kernel.msg_next_id for the next id and resets it to -1 (LTP msgget04), or another free id when that one is taken (msgget05)', () => {
    const env = makeEnv();
    env.limits.msgNextId = 4321;
    expect(ok(get(env, root(), IPC_PRIVATE, 0o600))).toBe(4321);
    expect(env.limits.read('msg_next_id')).toBe(-1n);
    env.limits.msgNextId = 4321;
    const other = ok(get(env, root(), IPC_PRIVATE, 0o600));
    expect(other).not.toBe(4321);
    expect(env.limits.msgNextId).toBe(-1);
  });

  it('starts a queue with the creator as owner, mode from the flags, ctime now, zero times and pids and q_qbytes from kernel.msgmnb (LTP msgctl01)', () => {
    const env = makeEnv(5000);
    const u = user(1000, { gid: 50 });
    env.limits.msgmnb = 777;
    const id = ok(get(env, u, 42, IPC_CREAT | 0o1640));
    env.limits.msgmnb = 1;
    const ds = ok(ctl(env, u, id, IPC_STAT)).ds!;
    expect(ds.perm).toEqual({ key: 42, uid: 1000, gid: 50, cuid: 1000, cgid: 50, mode: 0o640, seq: 0 });
    expect([ds.stime, ds.rtime, ds.ctime, ds.cbytes, ds.qnum, ds.qbytes, ds.lspid, ds.lrpid]).toEqual([0, 0, 5000, 0, 0, 777n, 0, 0]);
  });

  it('no longer finds a removed queue by key, and a new one under the key gets a new id', () => {
    const env = makeEnv();
    const id = ok(get(env, root(), 11, IPC_CREAT | 0o600));
    ok(ctl(env, root(), id, IPC_RMID));
    expect(errno(get(env, root(), 11, 0))).toBe('ENOENT');
    expect(ok(get(env, root(), 11, IPC_CREAT | 0o600))).not.toBe(id);
  });
});
