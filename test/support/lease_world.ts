/**
 * A kernel on a clock the test moves, for the one-thread lease tests
 * (test/sem/lease.test.ts, test/msg/lease.test.ts): the kernel's
 * CLOCK_REALTIME second and the tick word a thread side reads move
 * together, so every time a lease stamps is exact.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../../src/abi/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { isPending } from '../../src/kernel/pending.js';
import type { SysResult } from '../../src/kernel/pending.js';

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
