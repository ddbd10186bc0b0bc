/** A namespace's message queues with a settable clock, callers, and calls that record how blocked ones finish. */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../../src/abi/errno.js';
import type { Capability } from '../../src/auth/credentials.js';
import { makeCredentials } from '../../src/auth/credentials.js';
import { msgctl } from '../../src/msg/ctl.js';
import { MsgLimits } from '../../src/msg/limits.js';
import { msgrcv } from '../../src/msg/receive.js';
import type { MsgSetArgs } from '../../src/msg/registry.js';
import { MsgRegistry } from '../../src/msg/registry.js';
import { msgsnd } from '../../src/msg/send.js';
import type { MsgCaller, MsgReceived, MsgWaiter } from '../../src/msg/waiter.js';
import { isMsgWaiter } from '../../src/msg/waiter.js';

export interface Env {
  readonly reg: MsgRegistry;
  readonly limits: MsgLimits;
  /** Completions in the order their callbacks ran, as "tag:errno" or "tag:ok". */
  readonly log: string[];
  tick(seconds: number): void;
  clock(): number;
}

export function makeEnv(start = 1000): Env {
  let now = start;
  const limits = new MsgLimits();
  const reg = new MsgRegistry(limits, () => now);
  return {
    reg,
    limits,
    log: [],
    tick: (s) => {
      now += s;
    },
    clock: () => now,
  };
}

let nextPid = 100;

/** A caller: root by default (every capability), else the given uid with `caps`. */
export function user(uid = 0, opts: { gid?: number; caps?: Capability[]; pid?: number; tid?: number } = {}): MsgCaller {
  const pid = opts.pid ?? nextPid++;
  return {
    creds: makeCredentials({ uid, gid: opts.gid ?? uid, ...(opts.caps !== undefined ? { caps: opts.caps } : {}) }),
    pid,
    tid: opts.tid ?? pid,
  };
}

export const root = (): MsgCaller => user(0);
export const nobody = (): MsgCaller => user(65534);

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function text(r: MsgReceived): string {
  return new TextDecoder().decode(r.text);
}

/** A call's outcome: finished now (`now`), or blocked with a waiter whose later result lands in `later`. */
export interface Call<R> {
  now: E.Either<SysError, R> | undefined;
  waiter: MsgWaiter | undefined;
  later: E.Either<SysError, R> | undefined;
}

/** The errno name or 'ok' of a call that finished now, 'blocked' of one that waits, or of what a blocked one got later. */
export function outcome(c: Call<unknown>): string {
  const r = c.now ?? c.later;
  if (r === undefined) return 'blocked';
  return E.isLeft(r) ? r.left.errno : 'ok';
}

export function snd(env: Env, who: MsgCaller, id: number, mtype: number | bigint, body: string | Uint8Array, flags = 0, tag = 'snd'): Call<0> {
  const call: Call<0> = { now: undefined, waiter: undefined, later: undefined };
  const r = msgsnd(env.reg, who, id, mtype, typeof body === 'string' ? bytes(body) : body, flags, (res) => {
    call.later = res;
    env.log.push(`${tag}:${E.isLeft(res) ? res.left.errno : 'ok'}`);
  });
  if (E.isRight(r) && isMsgWaiter(r.right)) call.waiter = r.right;
  else call.now = r as E.Either<SysError, 0>;
  return call;
}

export function rcv(env: Env, who: MsgCaller, id: number, bufsz: number | bigint, msgtyp: number | bigint, flags = 0, tag = 'rcv'): Call<MsgReceived> {
  const call: Call<MsgReceived> = { now: undefined, waiter: undefined, later: undefined };
  const r = msgrcv(env.reg, who, id, bufsz, msgtyp, flags, (res) => {
    call.later = res;
    env.log.push(`${tag}:${E.isLeft(res) ? res.left.errno : `ok:${String(res.right.mtype)}:${text(res.right)}`}`);
  });
  if (E.isRight(r) && isMsgWaiter(r.right)) call.waiter = r.right;
  else call.now = r as E.Either<SysError, MsgReceived>;
  return call;
}

/** The message a call got (now or later); throws when it got none. */
export function got(c: Call<MsgReceived>): MsgReceived {
  const r = c.now ?? c.later;
  if (r === undefined || E.isLeft(r)) throw new Error(`expected a message, got ${JSON.stringify(r)}`);
  return r.right;
}

export function ctl(env: Env, who: MsgCaller, id: number, cmd: number, set?: MsgSetArgs) {
  return msgctl(env.reg, who.creds, id, cmd, set);
}

export function get(env: Env, who: MsgCaller, key: number, flags: number) {
  return env.reg.msgget(who, key, flags);
}
