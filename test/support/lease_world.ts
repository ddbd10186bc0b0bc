/**
 * A kernel on a clock the test moves, for the one-thread lease tests
 * (test/sem/lease.test.ts, test/msg/lease.test.ts,
 * test/workers/lease_review.test.ts): the kernel's CLOCK_REALTIME second
 * and the tick word a thread side reads move together, so every time a
 * lease stamps is exact; and a thread side driven from the test, with a
 * `take` that grants a lease and hands it over as the Node edge does.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../../src/abi/errno.js';
import { leaseClock } from '../../src/kernel/clock.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { SysResult } from '../../src/kernel/pending.js';
import type { Process } from '../../src/kernel/process.js';
import { LeasedQueues } from '../../src/msg/lease.js';
import type { LeaseGate } from '../../src/msg/lease.js';
import { LeasedSems } from '../../src/sem/lease.js';

/** The second the clock starts at; the tick word counts from TICK_BASE. */
export const START = 1_700_000_000;
export const TICK_BASE = START - 100;

export interface LeaseWorld {
  readonly k: Kernel;
  /** The kernel's CLOCK_REALTIME second. */
  readonly now: number;
  /** What the thread side reads as the tick word. */
  readonly tick: Int32Array;
  /** Moves both clocks to `s`. */
  at(s: number): void;
}

export function leaseWorld(): LeaseWorld {
  const tick = new Int32Array(new SharedArrayBuffer(4));
  let now = START;
  const at = (s: number): void => {
    now = s;
    Atomics.store(tick, 0, s - TICK_BASE);
  };
  at(START);
  const k = new Kernel({ clock: () => now });
  return {
    k,
    get now() {
      return now;
    },
    tick,
    at,
  };
}

/** A call's Either when it completed at once (no Pending). */
export function atOnce<T>(r: SysResult<T>): E.Either<SysError, T> {
  if (isPending(r)) throw new Error('the call sleeps');
  return r;
}

/** The fields of a lease message every kind shares, for `p`'s grant `g` in world `w`. */
function messageBase(w: LeaseWorld, p: Process, g: { lease: { buffer: SharedArrayBuffer; base: number }; lessee: number }) {
  return {
    buffer: g.lease.buffer,
    lessee: g.lessee,
    base: g.lease.base,
    epoch: Atomics.load(p.ipcEpochWord(), 0),
    tick: w.tick.buffer as SharedArrayBuffer,
    tickBase: TICK_BASE,
  };
}

/** A thread side of `p`'s semaphore leases; `take` grants set `semid` and hands the lease over (false when not granted). */
export function semThread(w: LeaseWorld, p: Process): { sems: LeasedSems; take(semid: number): boolean } {
  const sems = new LeasedSems(p.ipcEpochWord().buffer as SharedArrayBuffer);
  return {
    sems,
    take(semid: number): boolean {
      const g = p.semLease(semid, w.now);
      if (g === undefined) return false;
      sems.add([{ ...messageBase(w, p, g), semid, nsems: g.lease.nsems }], leaseClock);
      return true;
    },
  };
}

/** A gate that is always open (a thread whose process lives). */
export const openGate: LeaseGate = { enterLease: () => true, leaveLease: () => undefined };

/** A thread side of `p`'s queue leases behind `gate`; `take` grants queue `msqid` and hands the lease over. */
export function queueThread(w: LeaseWorld, p: Process, gate: LeaseGate = openGate): { queues: LeasedQueues; take(msqid: number): boolean } {
  const queues = new LeasedQueues(p.ipcEpochWord().buffer as SharedArrayBuffer, gate);
  return {
    queues,
    take(msqid: number): boolean {
      const g = p.msgLease(msqid, w.now);
      if (g === undefined) return false;
      queues.add([{ ...messageBase(w, p, g), msqid, ring: g.lease.ring }], leaseClock);
      return true;
    },
  };
}
