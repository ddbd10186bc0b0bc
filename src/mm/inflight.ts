/**
 * In-flight access tracking for threads that access frames directly (the
 * MemoryFile's ReclaimGate), after the way a kernel waits for a TLB
 * shootdown before it frees pages.
 *
 * Each thread owns one counter word in shared memory. It increments the word
 * before it reads its generation word and starts an access, and again when
 * the access ends, so the word is odd exactly while an access is in flight.
 * Both sides use sequentially consistent Atomics: the kernel bumps a
 * generation and then reads the counters, the thread writes its counter and
 * then reads the generation, so either the kernel sees the access in flight
 * (and holds the frames back), or the thread sees the new generation (and
 * drops its stale translations).
 *
 * Owner: the kernel thread, which acquires a slot per worker thread and
 * releases it when the thread ends, however it ends. A released slot counts
 * as finished, so a thread killed mid-access holds nothing back.
 */
import type { ReclaimGate } from './memory_file.js';

/** (slot, counter) pairs of the accesses in flight at one moment. */
type Snapshot = Int32Array;

const EMPTY = new Int32Array(0);

/** The most worker threads one kernel runs at once: the in-flight slots, and the futex queue's slots after the kernel thread's. */
export const MAX_WORKER_THREADS = 256;

/**
 * Int32 words between two threads' counters: each counter has a 64-byte
 * cache line to itself. Packed side by side, two workers' marks on every
 * access bounced one line between their cores.
 */
export const IN_FLIGHT_STRIDE = 16;

/** The counter words of up to `capacity` threads. */
export class InFlightAccesses implements ReclaimGate {
  /** The shared words; hand this buffer to the threads. */
  readonly buffer: SharedArrayBuffer;
  private readonly counters: Int32Array;
  private readonly live: Uint8Array;
  private last: Snapshot = EMPTY;
  /** One past the highest slot ever acquired: the scans stop there. */
  private highWater = 0;
  /** Per slot: whether its thread is blocked waiting for the kernel thread (a call in its mailbox). */
  private readonly blockedOn: Array<(() => boolean) | undefined> = [];

  constructor(readonly capacity = MAX_WORKER_THREADS) {
    this.buffer = new SharedArrayBuffer(capacity * IN_FLIGHT_STRIDE * 4);
    this.counters = new Int32Array(this.buffer);
    this.live = new Uint8Array(capacity);
  }

  /** A free slot for a new thread, or undefined when all are taken. */
  acquire(): number | undefined {
    const slot = this.live.indexOf(0);
    if (slot < 0) return undefined;
    this.live[slot] = 1;
    this.highWater = Math.max(this.highWater, slot + 1);
    return slot;
  }

  /**
   * The thread in `slot` has ended: its access, if one was in flight, is
   * over. The counter moves to a new even value, so no snapshot taken while
   * the slot was live can match it again.
   */
  release(slot: number): void {
    if (this.live[slot] !== 1) throw new Error(`in-flight slot ${slot} released twice`);
    const v = Atomics.load(this.counters, slot * IN_FLIGHT_STRIDE);
    Atomics.store(this.counters, slot * IN_FLIGHT_STRIDE, (v | 1) + 1);
    this.live[slot] = 0;
    this.blockedOn[slot] = undefined;
  }

  /** How to tell that the thread in `slot` is blocked waiting for the kernel thread (see settled). */
  setBlocked(slot: number, blocked: () => boolean): void {
    this.blockedOn[slot] = blocked;
  }

  inFlight(): object | undefined {
    let odd = 0;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.live[slot] === 1 && (Atomics.load(this.counters, slot * IN_FLIGHT_STRIDE) & 1) === 1) odd++;
    }
    if (odd === 0) return undefined;
    const snap = new Int32Array(odd * 2);
    let k = 0;
    for (let slot = 0; slot < this.highWater && k < snap.length; slot++) {
      if (this.live[slot] !== 1) continue;
      const v = Atomics.load(this.counters, slot * IN_FLIGHT_STRIDE);
      if ((v & 1) === 1) {
        snap[k++] = slot;
        snap[k++] = v;
      }
    }
    // A counter may have moved between the two passes; the shorter snapshot
    // is still correct (an access that ended needs no waiting for).
    const taken = k === snap.length ? snap : snap.slice(0, k);
    if (taken.length === 0) return undefined;
    if (sameSnapshot(taken, this.last)) return this.last;
    this.last = taken;
    return taken;
  }

  /**
   * Whether every access in `inFlight` has ended or is blocked waiting for
   * the kernel thread (a translation it asked for): such a thread stores
   * only through what the kernel answers from now on, and its stores from
   * before the request have landed.
   */
  settled(inFlight: object): boolean {
    const snap = inFlight as Snapshot;
    for (let k = 0; k < snap.length; k += 2) {
      const slot = snap[k] as number;
      const running = this.live[slot] === 1 && Atomics.load(this.counters, slot * IN_FLIGHT_STRIDE) === snap[k + 1];
      if (running && this.blockedOn[slot]?.() !== true) return false;
    }
    return true;
  }

  finished(inFlight: object): boolean {
    const snap = inFlight as Snapshot;
    for (let k = 0; k < snap.length; k += 2) {
      const slot = snap[k] as number;
      if (this.live[slot] === 1 && Atomics.load(this.counters, slot * IN_FLIGHT_STRIDE) === snap[k + 1]) return false;
    }
    return true;
  }
}

function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
