/**
 * Semaphore leases: the uncontended semop of a process running in a worker
 * thread, done in that thread on shared words instead of through the
 * kernel thread.
 *
 * A worker's semop otherwise costs a trip through its mailbox to the
 * kernel thread. When two workers pass a token through semaphores, every
 * operation either sleeps or wakes a sleeper, and each of those trips
 * through the host's scheduler costs tens of microseconds: two threads
 * talking through a third on two CPUs. A futex-style design lets the two
 * threads meet without the third, and that is what a lease is.
 *
 * The kernel thread lends a set's values to the workers of the processes
 * that may both read and alter it, while nothing waits on it: each value
 * moves into one 32-bit word of a SharedArrayBuffer, and a worker performs
 * a single-sop semop (no SEM_UNDO) with one compare-and-swap on its word.
 * An operation that would sleep polls the word for a while first (see
 * LeasedSems.semop) and, when nothing comes, goes to the kernel thread as
 * before, which sleeps it there.
 *
 * A word holds everything one operation changes, so one compare-and-swap
 * commits it as Linux's sem lock would:
 *   bits  0-15  semval (0..SEMVMX);
 *   bits 16-19  who last changed it: 0 for "as the kernel thread's own
 *               sempid and sem_otime say", else an index into the lease's
 *               lessees (their tgids);
 *   bits 20-30  that operation's sem_otime, in seconds after the lease's base;
 *   bit  31     recalled: the kernel thread has taken the values back.
 *
 * Any kernel-thread code that touches the set takes its lock, and taking
 * it recalls the lease first (SemSet.lock): every word gets its recalled
 * bit with one atomic OR, which returns what the word held, and the values,
 * sempids and times go back into the set. A worker's compare-and-swap then
 * fails, and it goes to the kernel thread. So there is never a waiter on a
 * leased set (queueing one takes the lock), a leased set's permissions,
 * limits and existence are those of the grant, and the kernel thread sees
 * every operation a worker committed before it took the lock.
 *
 * A lease is granted again (grantLease), after the next call a worker
 * makes to the kernel thread on the set, once the set is quiet again. The
 * buffer stays the same while the set's permissions do, so a worker keeps
 * what it was sent; IPC_SET retires it, and the next grant makes a new one,
 * so a process that has lost a permission holds only recalled words. RMID
 * recalls it for good, and so does the process moving to another IPC
 * namespace (its workers' epoch word, Process.ipcEpochWord, changes, and
 * they drop every lease they hold).
 *
 * What differs from a semop that went to the kernel thread: an operation
 * polling before it sleeps is not yet queued, so GETNCNT and GETZCNT do
 * not count it, as Linux does not count a task that has not yet entered
 * the call. And a worker's program holds the words, so it can write them
 * directly: set a value (it has alter permission, as SETVAL needs), name
 * another lessee as the last to change a semaphore, revive a recalled word
 * so that a fellow lessee's operation lands where the kernel no longer
 * reads. So a buffer is only ever shared by processes with the same
 * credentials (ipc/lessee.ts), which could already act on one another in
 * Linux; the kernel clamps a value it reads back to SEMVMX, a time to the
 * present, and takes only sempids of the lease's own lessees.
 *
 * sem_otime needs the kernel's clock in the worker: leases are granted
 * only while the kernel's clock is the host clock's second (kernel/clock.ts),
 * which the worker reads itself, or the tick clock (node/realtime.ts),
 * whose shared word the worker reads as the kernel thread does; never
 * with a clock a simulator injected.
 *
 * Platform-free: the Node edge (node/worker.ts) decides when to grant and
 * sends the buffer to the thread; the worker side (LeasedSems) runs in
 * kernel/task.ts.
 */
import { IPC_NOWAIT, S_IRUGO, S_IWUGO } from '../abi/constants.js';
import { SEMVMX } from '../abi/sem.js';
import type { Credentials } from '../auth/credentials.js';
import { HeldLeases, Lessees, MAX_LESSEES, lesseeIdentity } from '../ipc/lessee.js';
import type { LeaseMessageBase } from '../ipc/lessee.js';
import { ipcPermits } from '../ipc/perm.js';
import type { SemSet } from './set.js';

const VALUE_MASK = 0xffff;
const WHO_SHIFT = 16;
const WHO_MASK = 0xf;
const TIME_SHIFT = 20;
const TIME_MASK = 0x7ff;
/** Bit 31: the word is the kernel thread's again. */
const RECALLED = 1 << 31;

/**
 * What a lent set's own semval entries hold until the recall: below any
 * value a single sop can bring back into 0..SEMVMX, so that a reader that
 * tests the value without the lock (semopUncontended) finds nothing it may
 * perform, and anything else shows up as out of range at once.
 */
export const LEASED_SEMVAL = -0x10000;

/** The most processes one lease lends to: the word's 4-bit index, 0 meaning the kernel thread's own. */
export const LEASE_MAX_LESSEES = MAX_LESSEES;
/** The largest set lent: a recall or a grant walks every semaphore. */
export const LEASE_MAX_SEMS = 64;
/**
 * A lease's base is replaced by a new lease (a new buffer) this many
 * seconds before the time field would overflow; workers stop using one
 * whose time has run past the field.
 */
const LEASE_RENEW_AGE = TIME_MASK - 60;

/** A set's values while lent: the buffer and who may write it (Lessees). Owned by the kernel thread. */
export class SemLease extends Lessees {
  readonly buffer: SharedArrayBuffer;
  readonly words: Int32Array;

  constructor(
    readonly nsems: number,
    /** CLOCK_REALTIME second that time fields count from. */
    readonly base: number,
  ) {
    super();
    this.buffer = new SharedArrayBuffer(nsems * 4);
    this.words = new Int32Array(this.buffer);
  }

  /**
   * Takes the values back into `set`: every word is marked recalled (a
   * worker's compare-and-swap on it fails from now on), and what it held is
   * the semaphore's value, and when a lessee changed it, its sempid and
   * sem_otime. Runs on the kernel thread only.
   */
  recall(set: SemSet): void {
    const words = this.words;
    // A time field a program wrote past the present reads as the present.
    const now = set.owner.now();
    for (let i = 0; i < this.nsems; i += 1) {
      const old = Atomics.or(words, i, RECALLED);
      const v = old & VALUE_MASK;
      set.semval[i] = Math.min(v, SEMVMX);
      const pid = this.pidOf((old >>> WHO_SHIFT) & WHO_MASK);
      if (pid !== undefined) {
        set.sempid[i] = pid;
        set.semOtime[i] = Math.min(this.base + ((old >>> TIME_SHIFT) & TIME_MASK), now);
      }
    }
    this.live = false;
  }
}

/** What a grant gives the Node edge to send: the lease, and the caller's index in it. */
export interface LeaseGrant {
  readonly lease: SemLease;
  readonly lessee: number;
}

/** What the thread is sent for one lease (structured-clonable). */
export interface SemLeaseMessage extends LeaseMessageBase {
  readonly semid: number;
  readonly nsems: number;
}

/**
 * Lends `set`'s values to the process with `creds` and tgid `pid`, when
 * the set may be lent to it: the set is not being removed, has at most
 * LEASE_MAX_SEMS semaphores, nobody waits on it, the namespace's semopm
 * admits a single operation, and the process may both read and alter it.
 * `now` is the kernel's CLOCK_REALTIME second. Undefined when it may not
 * (the process's semops keep going to the kernel thread). Takes the set's
 * lock; no lock may be held.
 */
export function grantLease(set: SemSet, creds: Credentials, pid: number, semopm: number, now: number): LeaseGrant | undefined {
  if (set.pendingDestruction || set.nsems > LEASE_MAX_SEMS || semopm >>> 0 < 1) return undefined;
  if (!ipcPermits(creds, set, S_IWUGO) || !ipcPermits(creds, set, S_IRUGO)) return undefined;
  const identity = lesseeIdentity(creds);
  const held = set.lease;
  // Lent already, with the lessee known: nothing to write.
  const known = held === undefined ? 0 : held.liveIndexOf(identity, pid);
  if (known !== 0) return { lease: held as SemLease, lessee: known };
  set.lock();
  try {
    if (set.pendingDestruction || !quiet(set)) return undefined;
    let lease = set.lease;
    if (lease === undefined || lease.retired || now < lease.base || now - lease.base > LEASE_RENEW_AGE) {
      lease = new SemLease(set.nsems, now);
      set.lease = lease;
    }
    const who = lease.admit(identity, pid);
    if (who === 0) return undefined;
    // Recalled by lock() above if it was live: the values go out with "as the kernel's own" attribution. The set's own
    // values read LEASED_SEMVAL until the recall: a reader that skipped the lock (semopUncontended's peek) declines.
    for (let i = 0; i < set.nsems; i += 1) {
      Atomics.store(lease.words, i, set.semval[i]!);
      set.semval[i] = LEASED_SEMVAL;
    }
    lease.live = true;
    return { lease, lessee: who };
  } finally {
    set.unlock();
  }
}

/** Whether nobody waits on any of the set's semaphores. Precondition: mu is held. */
function quiet(set: SemSet): boolean {
  if (set.complexCount !== 0 || set.globalAlter.length !== 0 || set.globalConst.length !== 0) return false;
  for (let i = 0; i < set.nsems; i += 1) {
    const a = set.pendingAlter[i];
    const c = set.pendingConst[i];
    if ((a !== undefined && a.length !== 0) || (c !== undefined && c.length !== 0)) return false;
  }
  return true;
}

/** One lease as a thread holds it. */
interface HeldLease {
  readonly words: Int32Array;
  readonly nsems: number;
  /** The lessee index, in place in a word. */
  readonly who: number;
  readonly base: number;
}

/** LeasedSems.semop: performed in the thread. */
export const LEASE_DONE = 1;
/** LeasedSems.semop: not performed; the call goes to the kernel thread, which decides it. */
export const LEASE_DECLINED = 0;

/** The leases one thread holds, by semid, and its semop on them. Owned by the thread. */
export class LeasedSems extends HeldLeases<SemLeaseMessage, HeldLease> {
  protected idOf(m: SemLeaseMessage): number {
    return m.semid;
  }

  protected hold(m: SemLeaseMessage): HeldLease {
    return { words: new Int32Array(m.buffer), nsems: m.nsems, who: m.lessee << WHO_SHIFT, base: m.base };
  }

  /**
   * semop(semid, [{ semNum, semOp, semFlg }]) on a leased set: LEASE_DONE
   * once performed, LEASE_DECLINED (having changed nothing) for anything
   * the kernel thread must decide: no live lease, a field that is not what
   * the kernel reads as it is, SEM_UNDO or any flag but IPC_NOWAIT, a
   * result past SEMVMX (ERANGE), or an operation that cannot proceed (with
   * IPC_NOWAIT at once; otherwise after polling the word for up to `spin`
   * loads, adapted as a futex wait's poll is).
   */
  semop(semid: unknown, sops: unknown, spin: number): number {
    if (!Array.isArray(sops) || sops.length !== 1) return LEASE_DECLINED;
    const held = this.held(semid);
    if (held === undefined) return LEASE_DECLINED;
    let semNum: unknown;
    let semOp: unknown;
    let semFlg: unknown;
    try {
      const s = sops[0] as { semNum?: unknown; semOp?: unknown; semFlg?: unknown } | null;
      if (typeof s !== 'object' || s === null) return LEASE_DECLINED;
      ({ semNum, semOp, semFlg } = s);
    } catch {
      return LEASE_DECLINED;
    }
    if (typeof semNum !== 'number' || typeof semOp !== 'number' || typeof semFlg !== 'number') return LEASE_DECLINED;
    if ((semNum & 0xffff) !== semNum || semNum >= held.nsems || (semOp << 16) >> 16 !== semOp) return LEASE_DECLINED;
    if (semFlg !== 0 && semFlg !== IPC_NOWAIT) return LEASE_DECLINED;
    const words = held.words;
    let polled = 0;
    let budget = -1;
    for (;;) {
      const w = Atomics.load(words, semNum);
      if (w < 0) break;
      const v = w & VALUE_MASK;
      const next = v + semOp;
      if (semOp === 0 ? v !== 0 : next < 0) {
        // Would sleep: poll for a change, then leave it to the kernel thread.
        if (semFlg !== 0) return LEASE_DECLINED;
        if (budget < 0) budget = this.pollBudget(spin);
        if (polled >= budget) {
          this.pollRanOut(budget, spin);
          return LEASE_DECLINED;
        }
        polled += 1;
        continue;
      }
      if (next > SEMVMX) return LEASE_DECLINED;
      const seconds = this.seconds();
      const delta = seconds === 0 ? -1 : seconds - held.base;
      if (delta < 0 || delta > TIME_MASK) return LEASE_DECLINED;
      if (Atomics.compareExchange(words, semNum, w, next | held.who | (delta << TIME_SHIFT)) === w) {
        this.performedAfter(polled, budget, spin);
        return LEASE_DONE;
      }
    }
    return LEASE_DECLINED;
  }
}
