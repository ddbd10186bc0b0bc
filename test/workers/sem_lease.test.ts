/**
 * Semaphore leases between real worker threads (src/sem/lease.ts): a
 * worker's uncontended single-sop semops stay in its thread, and the
 * kernel thread still sees each of them exactly once, with Linux's
 * errors the moment a permission, the set or the namespace changes.
 * test/sem/lease.test.ts checks the same rules in one thread with an exact
 * clock. Each test checks that the threads did perform semops themselves
 * (Task.semopsInThread), or it would prove nothing about leases. Sizes are
 * small, for a 2-core box; every wait is bounded.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import { GETALL, GETNCNT, GETPID, GETVAL, SETVAL } from '../../src/abi/sem.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { hostSeconds } from '../../src/kernel/clock.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Process } from '../../src/kernel/process.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerThread } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';
import { resultWithin, until } from '../support/threads.js';

interface Outcome {
  readonly done: number;
  readonly error: string;
  readonly inThread: number;
}

const outcome = (t: WorkerThread, ms?: number): Promise<Outcome> => resultWithin<Outcome>(t, ms ?? 30000);

const program = new URL('./programs/leased_semops.ts', import.meta.url);

function start(k: Kernel, p: Process, args: readonly unknown[]): WorkerThread {
  return right(spawnWorker(k, p, program, args));
}

const val = (p: Process, id: number, n: number, cmd = GETVAL): number => right(p.semctl(id, n, cmd)).ret;
const invariants = (k: Kernel) => expect(checkInvariants(k)).toEqual(E.right(undefined));

describe('semaphore leases between workers', () => {
  it('N workers × M semop -1 / +1 around a plain counter give exactly N·M, most of them performed in the threads', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    right(owner.semctl(semid, 0, SETVAL, 1));
    const shmid = right(owner.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    const addr = right(owner.shmat(shmid, 0, 0));
    const [n, m] = [3, 2000];
    const outs = await Promise.all(Array.from({ length: n }, () => outcome(start(k, k.spawn(), ['counter', semid, shmid, 64, m]))));
    expect(outs.map((o) => o.done)).toEqual([m, m, m]);
    expect(right(owner.atomicLoad32(addr + 64))).toBe(n * m);
    expect([val(owner, semid, 0), val(owner, semid, 0, GETNCNT)]).toEqual([1, 0]);
    // Each worker made 2·M semops; the lease must have carried a good share of them.
    expect(outs.reduce((s, o) => s + o.inThread, 0)).toBeGreaterThan(n * m);
    invariants(k);
  });

  it('two workers passing a token leave the values, sempids and sem_otime as the last operations made them', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o600));
    right(owner.semctl(semid, 0, SETVAL, 1));
    const before = hostSeconds();
    const [a, b] = [k.spawn(), k.spawn()];
    const times = 3000;
    const outs = await Promise.all([outcome(start(k, a, ['token', semid, 0, times])), outcome(start(k, b, ['token', semid, 1, times]))]);
    const after = hostSeconds();
    expect(outs.map((o) => o.done)).toEqual([times, times]);
    expect(outs[0]!.inThread + outs[1]!.inThread).toBeGreaterThan(0);
    // b's last give put the token back on semaphore 0; a's last give was semaphore 1, which b took.
    expect(right(owner.semctl(semid, 0, GETALL)).values).toEqual([1, 0]);
    expect([val(owner, semid, 0, GETPID), val(owner, semid, 1, GETPID)]).toEqual([b.pid, b.pid]);
    const otime = right(owner.semctl(semid, 0, IPC_STAT)).ds?.otime ?? 0;
    expect(otime).toBeGreaterThanOrEqual(before);
    expect(otime).toBeLessThanOrEqual(after);
    invariants(k);
  });

  it('IPC_SET taking alter permission away stops a looping worker with EACCES at once; every semop it was told succeeded counted', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const semid = right(owner.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o666));
    const t = start(k, k.spawn({ uid: 2000, gid: 2000 }), ['until-error', semid, 1_000_000]);
    await until(() => val(owner, semid, 0) >= 500);
    right(owner.semctl(semid, 0, IPC_SET, { uid: 1000, gid: 1000, mode: 0o644 }));
    const out = await outcome(t);
    expect(out.error).toBe('EACCES');
    expect(val(owner, semid, 0)).toBe(out.done);
    expect(out.inThread).toBeGreaterThan(0);
    invariants(k);
  });

  it('IPC_RMID under a looping worker: its next semop is EINVAL or EIDRM, never a success', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const t = start(k, k.spawn(), ['post', semid, 0, 30_000]);
    await until(() => val(owner, semid, 0) >= 500);
    right(owner.semctl(semid, 0, IPC_RMID));
    const out = await outcome(t);
    expect(['EINVAL', 'EIDRM']).toContain(out.error);
    expect(out.done).toBeLessThan(30_000);
    expect(out.inThread).toBeGreaterThan(0);
    invariants(k);
  });

  it('a worker whose process unshares its IPC namespace stops reaching the old set: its next semop is EINVAL there', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const p = k.spawn();
    const t = start(k, p, ['post', semid, 0, 30_000]);
    await until(() => val(owner, semid, 0) >= 500);
    right(p.unshareIpc());
    const out = await outcome(t);
    expect(out.error).toBe('EINVAL');
    // Every success landed in the old namespace's set, and nothing after the change did.
    expect(val(owner, semid, 0)).toBe(out.done);
    expect(out.inThread).toBeGreaterThan(0);
    invariants(k);
  });
});
