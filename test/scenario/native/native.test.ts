/**
 * The native oracle against the real kernel: hand-written protocol programs
 * whose raw results linux-shm.md documents. Skipped, with the reason printed,
 * where the oracle cannot run (not Linux, no gcc, no right to unshare).
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  IPC_CREAT,
  IPC_EXCL,
  IPC_INFO,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  PROT_READ,
  PROT_WRITE,
  SHM_DEST,
  SHM_INFO,
  SHM_LOCK,
  SHM_LOCKED,
  SHM_RDONLY,
  SHM_STAT,
  SHM_STAT_ANY,
  SHM_UNLOCK,
} from '../../../src/abi/constants.js';
import { nativeAvailable, runOracle } from '../../../src/scenario/native/native.js';
import type { RawDs, RawResult } from '../../../src/scenario/result/raw.js';

const availability = nativeAvailable();
const unavailable = E.isLeft(availability) ? availability.left : undefined;
if (unavailable !== undefined) console.warn(`native oracle tests skipped: ${unavailable}`);

/** Runs statements numbered as scenario lines 1, 2, …, so result i answers statement i. */
function run(...statements: string[]): RawResult[] {
  const r = runOracle(statements.map((s, i) => `${i + 1} ${s}\n`).join(''));
  if (E.isLeft(r)) throw new Error(`oracle: ${JSON.stringify(r.left)}`);
  expect(r.right).toHaveLength(statements.length);
  return r.right;
}

/** 'ok', the errno name, or the signal name. */
function outcome(r: RawResult | undefined): string {
  if (r === undefined) throw new Error('no result');
  if (r.ok) return 'ok';
  return 'errno' in r ? r.errno : 'signal' in r ? r.signal : 'blocks';
}

function ret(r: RawResult | undefined): bigint {
  if (r === undefined || !r.ok || r.ret === undefined) throw new Error(`no ret in ${String(r && outcome(r))}`);
  return r.ret;
}

function pid(r: RawResult | undefined): number {
  if (r === undefined || !r.ok || r.pid === undefined) throw new Error('no pid');
  return r.pid;
}

function ds(r: RawResult | undefined): RawDs {
  if (r === undefined || !r.ok || r.ds === undefined) throw new Error(`no ds in ${String(r && outcome(r))}`);
  return r.ds;
}

function data(r: RawResult | undefined): string {
  if (r === undefined || !r.ok || r.data === undefined) throw new Error(`no data in ${String(r && outcome(r))}`);
  return Buffer.from(r.data).toString('latin1');
}

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

/** Root with every capability in the default namespace. */
const ROOT = (p: number): string => `proc ${p} 0 0 0 -1 0`;
/** An unprivileged user (no capabilities) in the default namespace. */
const USER = (p: number, uid: number, caps = 0): string => `proc ${p} ${uid} ${uid} 0 ${caps} 0`;

const CREATE = IPC_CREAT | IPC_EXCL;
const PAGE = 4096;

describe.skipIf(unavailable !== undefined)(`native oracle${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, () => {
  it('starts every run in a fresh namespace: ids 0, 1, 2 and IPC_INFO reports index 2', () => {
    for (let i = 0; i < 2; i++) {
      const r = run(ROOT(0), `shmget 0 0 1 ${0o600} -`, `shmget 0 0 1 ${0o600} -`, `shmget 0 0 1 ${0o600} -`, `shmctl 0 0 ${IPC_INFO} 1 -`);
      expect(pid(r[0])).toBeGreaterThan(0);
      expect([ret(r[1]), ret(r[2]), ret(r[3])]).toEqual([0n, 1n, 2n]);
      expect(ret(r[4])).toBe(2n);
      expect(r[4]?.ok === true && r[4].info).toMatchObject({ shmmin: 1n, shmmni: 4096n });
    }
  });

  it('checks an existing key for EEXIST, then the size (EINVAL), then permission (EACCES)', () => {
    const r = run(
      ROOT(0),
      `shmget 0 7 100 ${IPC_CREAT | 0o600} #0`,
      USER(1, 1000),
      `shmget 1 7 200 ${CREATE | 0o666} -`,
      `shmget 1 7 200 ${0o666} -`,
      `shmget 1 7 101 0 -`,
      `shmget 1 7 100 ${0o666} -`,
      `shmget 1 7 100 ${0o100} -`,
      `shmget 1 7 0 0 #1`,
      `shmget 1 8 0 0 -`,
      `shmget 1 8 0 ${IPC_EXCL} -`,
      `shmget 1 8 0 ${IPC_CREAT} -`,
    );
    expect(r.map(outcome).slice(3)).toEqual(['EEXIST', 'EINVAL', 'EINVAL', 'EACCES', 'EACCES', 'ok', 'ENOENT', 'ENOENT', 'EINVAL']);
    expect(ret(r[8])).toBe(ret(r[1]));
  });

  it('IPC_RMID of an attached segment sets SHM_DEST and key 0, hides the key, and destroys it at the last detach', () => {
    const r = run(
      ROOT(0),
      `shmget 0 5 100 ${IPC_CREAT | 0o600} #0`,
      'shmat 0 #0 0 0 @0',
      `shmctl 0 #0 ${IPC_RMID} 1 -`,
      `shmctl 0 #0 ${IPC_STAT} 1 -`,
      'shmget 0 5 0 0 -',
      `shmctl 0 #0 ${IPC_RMID} 1 -`,
      'shmat 0 #0 0 0 @1',
      `shmctl 0 #0 ${IPC_STAT} 1 -`,
      'shmdt 0 @0+0',
      'shmdt 0 @1+0',
      `shmctl 0 #0 ${IPC_STAT} 1 -`,
    );
    expect(ds(r[4])).toMatchObject({ key: 0, mode: SHM_DEST | 0o600, nattch: 1, segsz: 100n });
    expect(outcome(r[5])).toBe('ENOENT');
    expect(outcome(r[6])).toBe('ok');
    expect(ds(r[8]).nattch).toBe(2);
    expect(r.slice(9).map(outcome)).toEqual(['ok', 'ok', 'EINVAL']);
  });

  it('counts mapping pieces in nattch after mprotect and munmap split an attachment', () => {
    const stat = `shmctl 0 #0 ${IPC_STAT} 1 -`;
    const r = run(
      ROOT(0),
      `shmget 0 0 ${3 * PAGE} ${0o600} #0`,
      'shmat 0 #0 0 0 @0',
      stat,
      `mprotect 0 @0+${PAGE} ${PAGE} ${PROT_READ}`,
      stat,
      `mprotect 0 @0+${PAGE} ${PAGE} ${PROT_READ | PROT_WRITE}`,
      stat,
      `munmap 0 @0+${PAGE} ${PAGE}`,
      stat,
      `munmap 0 @0+0 ${PAGE}`,
      stat,
      'shmdt 0 @0+0',
      stat,
    );
    const nattch = [3, 5, 7, 9, 11, 13].map((i) => ds(r[i]).nattch);
    expect(nattch).toEqual([1, 3, 3, 2, 1, 0]);
  });

  it('shmdt detaches only at an attach origin, even after the first page is unmapped', () => {
    const r = run(
      ROOT(0),
      `shmget 0 0 ${3 * PAGE} ${0o600} #0`,
      'shmat 0 #0 0 0 @0',
      `shmdt 0 @0+${PAGE}`,
      'shmdt 0 @0+1',
      `munmap 0 @0+0 ${PAGE}`,
      `shmdt 0 @0+${PAGE}`,
      'shmdt 0 @0+0',
      `shmctl 0 #0 ${IPC_STAT} 1 -`,
      'shmdt 0 @0+0',
      `write 0 @0+${2 * PAGE} 01`,
    );
    expect(r.slice(3).map(outcome)).toEqual(['EINVAL', 'EINVAL', 'ok', 'EINVAL', 'ok', 'ok', 'EINVAL', 'SIGSEGV']);
    expect(ds(r[8]).nattch).toBe(0);
  });

  it('faults a write through a SHM_RDONLY attachment with SIGSEGV, and the process carries on', () => {
    const r = run(
      ROOT(0),
      `shmget 0 0 100 ${0o600} #0`,
      'shmat 0 #0 0 0 @0',
      `write 0 @0+0 ${hex('hi')}`,
      `shmat 0 #0 0 ${SHM_RDONLY} @1`,
      'write 0 @1+0 00',
      'read 0 @1+0 2',
      `shmget 0 0 1 ${0o600} -`,
    );
    expect(r.map(outcome).slice(4)).toEqual(['ok', 'SIGSEGV', 'ok', 'ok']);
    expect(data(r[6])).toBe('hi');
  });

  it('keeps the pages before a faulting page written, and a faulting read returns nothing', () => {
    const r = run(
      ROOT(0),
      `shmget 0 0 100 ${0o600} #0`,
      'shmat 0 #0 0 0 @0',
      `fill 0 @0+${PAGE - 2} 5 120`,
      `read 0 @0+${PAGE - 3} 3`,
      `read 0 @0+${PAGE - 3} 4`,
      `read 0 @0-1 1`,
    );
    expect(r.map(outcome).slice(3)).toEqual(['SIGSEGV', 'ok', 'SIGSEGV', 'SIGSEGV']);
    expect(data(r[4])).toBe('\0xx');
  });

  it('shares bytes between two processes through one key', () => {
    const r = run(
      ROOT(0),
      ROOT(1),
      `shmget 0 77 ${PAGE} ${IPC_CREAT | 0o600} #0`,
      'shmat 0 #0 0 0 @0',
      `write 0 @0+10 ${hex('hello')}`,
      'shmget 1 77 0 0 #1',
      'shmat 1 #1 0 0 @1',
      'read 1 @1+10 5',
      `write 1 @1+12 ${hex('LL')}`,
      'read 0 @0+10 5',
    );
    expect(data(r[7])).toBe('hello');
    expect(data(r[9])).toBe('heLLo');
  });

  it('fork inherits attachments (nattch +1, lpid the parent) and exit detaches them', () => {
    const stat = (p: number): string => `shmctl ${p} #0 ${IPC_STAT} 1 -`;
    const r = run(
      ROOT(0),
      `shmget 0 0 ${PAGE} ${0o600} #0`,
      'shmat 0 #0 0 0 @0',
      `write 0 @0+0 ${hex('ab')}`,
      'fork 0 1',
      stat(0),
      'read 1 @0+0 2',
      'exit 1',
      stat(0),
    );
    const parent = pid(r[0]);
    const child = pid(r[4]);
    expect(child).not.toBe(parent);
    expect(ds(r[5])).toMatchObject({ nattch: 2, lpid: parent, cpid: parent, dtime: 0 });
    expect(data(r[6])).toBe('ab');
    expect(ds(r[8])).toMatchObject({ nattch: 1, lpid: child });
    expect(ds(r[8]).dtime).toBeGreaterThan(0);
  });

  it('destroys a removed segment when its last attacher exits', () => {
    const r = run(
      ROOT(0),
      ROOT(1),
      `shmget 0 0 ${PAGE} ${0o600} #0`,
      'shmat 0 #0 0 0 @0',
      `shmctl 0 #0 ${IPC_RMID} 1 -`,
      `shmctl 1 #0 ${IPC_STAT} 1 -`,
      'exit 0',
      `shmctl 1 #0 ${IPC_STAT} 1 -`,
      `shmctl 1 0 ${SHM_INFO} 1 -`,
    );
    expect(ds(r[5]).mode).toBe(SHM_DEST | 0o600);
    expect(outcome(r[7])).toBe('EINVAL');
    expect(r[8]?.ok === true && r[8].shmInfo).toMatchObject({ used_ids: 0n, shm_tot: 0n });
  });

  it('enforces a lowered shmmni with ENOSPC and rejects an out-of-range value', () => {
    const r = run(
      'sysctl 0 shmmni 3',
      'sysctl 0 shmmni 32769',
      ROOT(0),
      `shmget 0 0 1 ${0o600} -`,
      `shmget 0 0 1 ${0o600} -`,
      `shmget 0 0 1 ${0o600} -`,
      `shmget 0 0 1 ${0o600} -`,
      `shmctl 0 0 ${IPC_INFO} 1 -`,
    );
    expect(r.map(outcome)).toEqual(['ok', 'EINVAL', 'ok', 'ok', 'ok', 'ok', 'ENOSPC', 'ok']);
    expect(r[7]?.ok === true && r[7].info?.shmmni).toBe(3n);
  });

  it('gives the next creation the id written to shm_next_id, once', () => {
    const r = run(
      ROOT(0),
      `shmget 0 0 1 ${0o600} -`,
      'sysctl 0 shm_next_id 1000',
      `shmget 0 0 1 ${0o600} -`,
      `shmget 0 0 1 ${0o600} -`,
      'sysctl 0 shm_next_id -1',
    );
    expect([ret(r[1]), ret(r[3]), ret(r[4])]).toEqual([0n, 1000n, 1n]);
    expect(outcome(r[5])).toBe('EINVAL');
  });

  it('refuses an unprivileged stranger with EACCES for access and EPERM for ownership', () => {
    const r = run(
      ROOT(0),
      `shmget 0 0 ${PAGE} ${0o600} #0`,
      USER(1, 65534),
      'shmat 1 #0 0 0 @0',
      `shmat 1 #0 0 ${SHM_RDONLY} @0`,
      `shmctl 1 #0 ${IPC_STAT} 1 -`,
      `shmctl 1 #0 ${SHM_STAT} 1 -`,
      `shmctl 1 #0 ${IPC_RMID} 1 -`,
      `shmctl 1 #0 ${IPC_SET} 1 - 65534 65534 ${0o666}`,
      `shmctl 1 #0 ${SHM_LOCK} 1 -`,
      `shmctl 1 #0 ${SHM_UNLOCK} 1 -`,
      `shmctl 1 #0 ${SHM_STAT_ANY} 1 #1`,
      `shmctl 1 0 ${IPC_INFO} 1 -`,
    );
    expect(r.slice(3).map(outcome)).toEqual(['EACCES', 'EACCES', 'EACCES', 'EACCES', 'EPERM', 'EPERM', 'EPERM', 'EPERM', 'ok', 'ok']);
    expect(ds(r[11])).toMatchObject({ uid: 0, cuid: 0, mode: 0o600 });
  });

  it('lets CAP_IPC_OWNER bypass permission bits but not ownership', () => {
    const r = run(
      ROOT(0),
      `shmget 0 0 ${PAGE} 0 #0`,
      USER(1, 1000, 1),
      'shmat 1 #0 0 0 @0',
      `write 1 @0+0 ${hex('x')}`,
      `shmctl 1 #0 ${IPC_STAT} 1 -`,
      `shmctl 1 #0 ${IPC_RMID} 1 -`,
      'proc 2 0 0 0 0 0',
      `shmctl 2 #0 ${IPC_STAT} 1 -`,
    );
    // Root without CAP_IPC_OWNER is just the owner, and the owner bits of mode 0 grant nothing.
    expect(r.slice(3).map(outcome)).toEqual(['ok', 'ok', 'ok', 'EPERM', 'ok', 'EACCES']);
    expect(ds(r[5]).nattch).toBe(1);
  });

  it('isolates keys, ids and limits between IPC namespaces', () => {
    const r = run(
      ROOT(0),
      'proc 1 0 0 0 -1 1',
      `shmget 0 42 ${PAGE} ${IPC_CREAT | 0o600} #0`,
      `shmget 0 0 ${PAGE} ${0o600} -`,
      'shmget 1 42 0 0 -',
      `shmget 1 42 ${PAGE} ${IPC_CREAT | 0o600} #1`,
      'sysctl 1 shmmni 1',
      `shmget 1 0 1 ${0o600} -`,
      `shmget 0 0 1 ${0o600} -`,
      'proc 2 0 0 0 -1 1',
      `shmget 2 42 0 0 -`,
      `shmctl 2 1 ${IPC_STAT} 1 -`,
    );
    expect(ret(r[2])).toBe(0n);
    expect(outcome(r[4])).toBe('ENOENT');
    expect(ret(r[5])).toBe(0n);
    expect(r.slice(6, 9).map(outcome)).toEqual(['ok', 'ENOSPC', 'ok']);
    expect(ret(r[10])).toBe(0n);
    expect(outcome(r[11])).toBe('EINVAL');
  });

  it('refuses SHM_LOCK of 16 MiB under the 8 MiB memlock limit without CAP_IPC_LOCK', () => {
    const big = 16 << 20;
    const r = run(
      USER(0, 1000),
      `shmget 0 0 ${big} ${0o600} #0`,
      `shmctl 0 #0 ${SHM_LOCK} 1 -`,
      `shmget 0 0 ${PAGE} ${0o600} #1`,
      `shmctl 0 #1 ${SHM_LOCK} 1 -`,
      `shmctl 0 #1 ${IPC_STAT} 1 -`,
      USER(1, 1001, 2),
      `shmget 1 0 ${big} ${0o600} #2`,
      `shmctl 1 #2 ${SHM_LOCK} 1 -`,
      `shmctl 1 #2 ${SHM_UNLOCK} 1 -`,
    );
    expect(r.map(outcome).slice(1)).toEqual(['ok', 'ENOMEM', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(ds(r[5]).mode).toBe(SHM_LOCKED | 0o600);
  });

  it('lets an unprivileged process move its soft memlock limit below the hard limit only', () => {
    const r = run(
      USER(0, 1000),
      'rlimit 0 9000000',
      'rlimit 0 0',
      `shmget 0 0 ${PAGE} ${0o600} #0`,
      `shmctl 0 #0 ${SHM_LOCK} 1 -`,
      'rlimit 0 8388608',
      `shmctl 0 #0 ${SHM_LOCK} 1 -`,
      'rlimit 0 18446744073709551615',
    );
    expect(r.map(outcome).slice(1)).toEqual(['EPERM', 'ok', 'ok', 'EPERM', 'ok', 'ok', 'EPERM']);
  });

  it('passes a numeric command through unchanged: 99 is EINVAL, 2 returns no structure', () => {
    const r = run(
      ROOT(0),
      `shmget 0 0 1 ${0o600} #0`,
      'shmctl 0 #0 99 0 -',
      `shmctl 0 #0 ${IPC_STAT} 0 -`,
      `shmctl 0 #0 ${IPC_STAT | 0x100} 0 -`,
      `shmctl 0 -1 ${IPC_INFO} 1 -`,
    );
    expect(r.map(outcome).slice(2)).toEqual(['EINVAL', 'ok', 'EINVAL', 'EINVAL']);
    expect(r[3]).toEqual({ ok: true, ret: 0n });
  });

  it('binds only on success: a failed shmget leaves the slot unbound (-1)', () => {
    const r = run(ROOT(0), 'shmget 0 9 1 0 #0', `shmctl 0 #0 ${IPC_STAT} 1 -`, `shmat 0 99 0 0 @0`, 'shmdt 0 @0+0');
    expect(r.map(outcome).slice(1)).toEqual(['ENOENT', 'EINVAL', 'EINVAL', 'EINVAL']);
  });

  it('reports a malformed program as a failure naming the line, and prints nothing for it', () => {
    const bad = runOracle('1 proc 0 0 0 0 -1 0\n2 shmget 0 1 2\n');
    expect(E.isLeft(bad) && bad.left).toMatchObject({ kind: 'failure', message: expect.stringMatching(/scenario line 2/) });
    const dead = runOracle('1 proc 0 0 0 0 -1 0\n2 exit 0\n3 shmget 0 0 1 0 -\n');
    expect(E.isLeft(dead) && dead.left).toMatchObject({ kind: 'failure', message: expect.stringMatching(/not a running process/) });
  });

  it('reports a capability this machine withholds as unavailable, never as a result', () => {
    const r = runOracle('1 proc 0 1000 1000 0 8 0\n2 rlimit 0 9000000\n');
    if (E.isLeft(r)) {
      expect(r.left).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/CAP_SYS_RESOURCE/) });
    } else {
      expect(r.right.map(outcome)).toEqual(['ok', 'ok']);
    }
  });
});
