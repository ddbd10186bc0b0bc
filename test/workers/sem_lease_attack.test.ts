/**
 * Attacks on semaphore leases (src/sem/lease.ts) from real worker threads:
 * hostile programs that write the shared words they were lent, races
 * between a leased semop and the kernel thread, and the changes (IPC_SET,
 * a reused id, kernel.sem, exit) after which Linux answers a semop with an
 * errno or not at all. Linux is the reference for each expectation. Each
 * test that depends on a lease checks that the thread did perform semops
 * itself (Task.semopsInThread), or it would prove nothing about leases.
 * Sizes are small, for a 2-core box; every wait is bounded.
 *
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT } from '../../src/abi/constants.js';
import { GETNCNT, GETVAL, SETALL, SETVAL } from '../../src/abi/sem.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { hostSeconds } from '../../src/kernel/clock.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { spawnWorker } from '../../src/node/worker.js';
import type { WorkerThread } from '../../src/node/worker.js';
import { ok as right } from '../support/either.js';
import { exitWithin, resultWithin, until } from '../support/threads.js';

interface Outcome {
  readonly results: unknown[];
  readonly inThread: number;
  readonly inThreadBefore: number;
}

const outcome = (t: WorkerThread, ms?: number): Promise<Outcome> => resultWithin<Outcome>(t, ms ?? 20000);

const program = new URL('./programs/lease_attack.ts', import.meta.url);

function start(k: Kernel, p: Process, args: readonly unknown[]): WorkerThread {
  return right(spawnWorker(k, p, program, args));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const val = (p: Process, id: number, n: number, cmd = GETVAL): number => right(p.semctl(id, n, cmd)).ret;
const invariants = (k: Kernel) => expect(checkInvariants(k)).toEqual(E.right(undefined));

/** The value in word `n` of set `semid`'s lease, read without taking the set's lock (which would recall it); -1 when not lent. */
function leasedValue(k: Kernel, semid: number, n: number): number {
  const set = k.initialIpcNamespace.sem.findById(semid);
  if (set === undefined) return -1;
  set.decRef();
  const lease = set.lease;
  return lease?.live === true ? Atomics.load(lease.words, n) & 0xffff : -1;
}

describe('semaphore leases under attack', () => {
  it('a sleeper the kernel thread queues while workers post by lease is woken: no post is lost, GETNCNT ends at 0', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const posters = [k.spawn(), k.spawn()];
    const times = 3000;
    const ts = posters.map((p) => start(k, p, ['post', semid, times]));
    // The kernel thread's own process takes every post, sleeping (queued, so the lease is recalled) whenever none is there.
    let taken = 0;
    let slept = 0;
    const deadline = Date.now() + 20_000;
    while (taken < 2 * times && Date.now() < deadline) {
      const r = owner.semop(semid, [{ semNum: 0, semOp: -1, semFlg: 0 }]);
      if (isPending(r)) slept += 1;
      right(isPending(r) ? await r.done : r);
      taken += 1;
      if (taken % 64 === 0) await sleep(0);
    }
    const outs = await Promise.all(ts.map((t) => outcome(t)));
    expect(outs.map((o) => o.results)).toEqual([
      [times, 'none'],
      [times, 'none'],
    ]);
    expect(taken).toBe(2 * times);
    // The kernel thread did queue sleepers on the set while the workers held it, or this proves nothing.
    expect(slept).toBeGreaterThan(0);
    expect([val(owner, semid, 0), val(owner, semid, 0, GETNCNT)]).toEqual([0, 0]);
    expect(outs[0]!.inThread + outs[1]!.inThread).toBeGreaterThan(0);
    invariants(k);
  });

  it('a set removed and another made at the same id (kernel.sem_next_id) without access for the lessee: its next semop is EACCES', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666));
    const gate = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666));
    const t = start(k, k.spawn({ uid: 2000, gid: 2000 }), ['victim', semid, gate, 0]);
    await until(() => val(owner, gate, 0, GETNCNT) === 1);
    right(owner.semctl(semid, 0, IPC_RMID));
    right(k.writeSysctl(k.initialIpcNamespace, 'sem_next_id', BigInt(semid)));
    expect(right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600))).toBe(semid);
    right(owner.semctl(semid, 0, SETVAL, 5));
    right(owner.semctl(gate, 0, SETVAL, 1));
    const out = await outcome(t);
    expect(out.results).toEqual(['leased', 'EACCES']);
    expect(out.inThreadBefore).toBeGreaterThan(0);
    expect(val(owner, semid, 0)).toBe(5);
    invariants(k);
  });

  it('kernel.sem setting semopm to 0 under a lessee: its next single-sop semop is E2BIG', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const gate = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    right(owner.semctl(semid, 0, SETVAL, 3));
    const t = start(k, k.spawn(), ['victim', semid, gate, 0]);
    await until(() => val(owner, gate, 0, GETNCNT) === 1);
    right(k.writeSysctl(k.initialIpcNamespace, 'sem', [32000n, 1024000000n, 0n, 32000n]));
    right(owner.semctl(gate, 0, SETVAL, 1));
    const out = await outcome(t);
    expect(out.results).toEqual(['leased', 'E2BIG']);
    expect(out.inThreadBefore).toBeGreaterThan(0);
    expect(val(owner, semid, 0)).toBe(3);
  });

  // The words of a buffer are writable by every process it was lent to, so a process could revive a recalled word to
  // make a fellow lessee's semop land where the kernel no longer reads. A buffer is therefore shared only by processes
  // with the same credentials (ipc/lessee.ts), which could already act on one another: here the attacker (uid
  // 2000) was lent the set first, the victim (uid 1000) is lent nothing, and after IPC_SET takes the attacker's access
  // away, whatever it writes into the retired buffer reaches nobody. The set's value is 0, so the victim's IPC_NOWAIT
  // -1 is EAGAIN, as in Linux.
  it('a process that lost access by IPC_SET cannot revive the retired buffer to make another process’s semop succeed unseen', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666));
    const gate = right(owner.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o666));
    const attacker = start(k, k.spawn({ uid: 2000, gid: 2000 }), ['revive', semid, gate, 0, 1]);
    await until(() => val(owner, gate, 0, GETNCNT) === 1);
    const victimProcess = k.spawn({ uid: 1000, gid: 1000 });
    const victim = start(k, victimProcess, ['victim', semid, gate, 1]);
    await until(() => val(owner, gate, 1, GETNCNT) === 1);
    // The attacker loses every access; the victim, the set's owner, keeps it.
    right(owner.semctl(semid, 0, IPC_SET, { uid: 1000, gid: 1000, mode: 0o600 }));
    right(owner.semctl(gate, 0, SETVAL, 1));
    expect((await outcome(attacker)).results).toEqual(['leased', 'revived']);
    right(owner.semctl(gate, 1, SETVAL, 1));
    const out = await outcome(victim);
    expect(out.results[0]).toBe('no lease');
    expect([out.results[1], val(owner, semid, 0)]).toEqual(['EAGAIN', 0]);
  });

  it('a process with other credentials is never lent the buffer another process holds', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn({ uid: 1000, gid: 1000 });
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o666));
    const gate = right(owner.semget(IPC_PRIVATE, 2, IPC_CREAT | 0o666));
    const first = start(k, k.spawn({ uid: 1000, gid: 1000 }), ['victim', semid, gate, 0]);
    await until(() => val(owner, gate, 0, GETNCNT) === 1);
    // Same uid, other groups: other credentials.
    const other = start(k, k.spawn({ uid: 1000, gid: 1000, groups: [5] }), ['victim', semid, gate, 1]);
    await until(() => val(owner, gate, 1, GETNCNT) === 1);
    right(owner.semctl(gate, 0, SETALL, [1, 1]));
    const [a, b] = [await outcome(first), await outcome(other)];
    expect([a.results[0], b.results[0]]).toEqual(['leased', 'no lease']);
  });

  // A lessee's program can write its word's time field (up to 2047 s after the lease's base); the kernel reads a time
  // past the present back as the present, since Linux's sem_otime is the clock's second at some semop.
  it('a lessee writing its word’s time field cannot make sem_otime later than now', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const out = await outcome(start(k, k.spawn(), ['spoof', semid, 1, 0x7ff]));
    expect(out.results).toEqual(['spoofed']);
    expect(out.inThread).toBeGreaterThan(0);
    const otime = right(owner.semctl(semid, 0, IPC_STAT)).ds?.otime ?? 0;
    expect(otime).toBeLessThanOrEqual(hostSeconds());
  });

  // Who last changed a word is a field its writer sets, so a lessee's program can name another lessee as the last to
  // operate; lease.ts documents this, and shares a buffer only among processes with the same credentials (see above).
  // The kernel takes only indexes of real lessees back as sempids.
  // Process.exit on the kernel thread bumps the process's epoch word, so its threads drop their leases and their next
  // semop reaches the kernel thread, which ends them. Linux: an exited process makes no more semops.
  it('a process exited from the kernel thread stops changing a set lent to its worker', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    const p = k.spawn();
    const t = start(k, p, ['post', semid, 30_000]);
    await until(() => leasedValue(k, semid, 0) >= 200);
    right(p.exit());
    // Every post the dead process made before exit returned is in the word by now. One post may have passed its checks
    // before the exit and land just after, as a system call already running completes; nothing after that.
    const atExit = leasedValue(k, semid, 0);
    await sleep(100);
    const after = leasedValue(k, semid, 0);
    const exit = await exitWithin(t);
    expect(atExit).toBeGreaterThanOrEqual(200);
    const final = val(owner, semid, 0);
    expect(final - atExit).toBeGreaterThanOrEqual(0);
    expect(final - atExit).toBeLessThanOrEqual(1);
    if (after !== -1) expect(after).toBe(final);
    // Linux: the program never ran to its end.
    expect(exit.ok).toBe(false);
  });

  // A request that is no object (here null, put in the thread's own mailbox) is EINVAL, and nothing after serving it
  // (offerLease) reads its fields.
  it('a null request in a thread’s own mailbox is answered EINVAL, and the thread goes on', async () => {
    const k = new Kernel({ clock: hostSeconds });
    const owner = k.spawn();
    const semid = right(owner.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600));
    right(owner.semctl(semid, 0, SETVAL, 7));
    const out = await outcome(start(k, k.spawn(), ['null-request', semid]));
    expect((out.results[0] as E.Left<{ errno: string }>).left.errno).toBe('EINVAL');
    expect(out.results[1]).toEqual(E.right({ ret: 7 }));
  });
});
