/**
 * The default clock of a Kernel: CLOCK_REALTIME in whole seconds, which
 * Linux stamps into shm_atime, shm_dtime and shm_ctime.
 *
 * The core asks the host clock (Date.now()) on each read: it runs wherever
 * JavaScript does, and nothing cheaper is portable. Linux reads a second the
 * timer tick keeps current instead (ktime_get_real_seconds), and a platform
 * that can keep one installs its own reader here: on Node, the package's
 * entry (node/index.ts) installs node/realtime.ts's tick thread. A Kernel
 * takes the default when it is built; KernelOptions.clock replaces it.
 */

import type { LeaseClockShare } from '../ipc/lessee.js';

/** The host clock's current second. */
export function hostSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

let installed: () => number = hostSeconds;

/** The clock a Kernel built now gets when its options name none. */
export function defaultClock(): () => number {
  return installed;
}

/** Makes `clock` the default of every Kernel built from now on (a platform edge does this once, at load). */
export function setDefaultClock(clock: () => number): void {
  installed = clock;
}

/**
 * The kernel's CLOCK_REALTIME second as a worker thread reads it for a
 * lease (ipc/lessee.ts): the tick word (0 while it has none), or the
 * host's second.
 */
export function leaseClock(m: LeaseClockShare): () => number {
  if (m.tick === undefined) return hostSeconds;
  const tick = new Int32Array(m.tick, 0, 1);
  const base = m.tickBase ?? 0;
  return () => {
    const v = Atomics.load(tick, 0);
    return v === 0 ? 0 : base + v;
  };
}
