/**
 * The kernel's timer list: the deadlines of timed waits (semtimedop), on a
 * monotonic clock in milliseconds (Linux's hrtimers on CLOCK_MONOTONIC, which
 * semtimedop's relative timeout runs on). CLOCK_REALTIME in whole seconds
 * (Kernel.clock) is another clock: it stamps IPC times and never ends a wait.
 *
 * Nothing here runs on its own unless asked to: run() expires every timer
 * whose deadline has passed, in deadline order (ties in the order they were
 * armed). With the host's clock, the kernel arms one host timer
 * (setTimeout through globalThis, unref'd where the host can) for the
 * earliest deadline, which calls run(); with an injected clock the simulator
 * calls Kernel.runTimers or Kernel.advanceTime, so a run is reproducible.
 *
 * Platform-free: the host timer is whatever globalThis offers, or none.
 */

/** One armed deadline. */
export interface Timer {
  /** Disarms the timer; false when it had already fired or been cancelled. */
  cancel(): boolean;
}

interface Entry extends Timer {
  readonly deadline: number;
  readonly seq: number;
  readonly fire: () => void;
  armed: boolean;
}

/** The host's timer functions, when it has them. */
interface HostTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** setTimeout's longest delay (a signed 32-bit count of milliseconds). */
const MAX_HOST_DELAY = 0x7fffffff;

function hostTimers(): HostTimers | undefined {
  const g = globalThis as { setTimeout?: unknown; clearTimeout?: unknown };
  if (typeof g.setTimeout !== 'function' || typeof g.clearTimeout !== 'function') return undefined;
  const set = g.setTimeout as (fn: () => void, ms: number) => unknown;
  const clear = g.clearTimeout as (handle: unknown) => void;
  return { setTimeout: (fn, ms) => set(fn, ms), clearTimeout: (h) => clear(h) };
}

/** The timer list of one kernel. */
export class TimerList {
  /** Armed timers, sorted by (deadline, seq). */
  private readonly entries: Entry[] = [];
  private nextSeq = 0;
  private readonly host: HostTimers | undefined;
  private hostHandle: unknown = undefined;
  /** The deadline the host timer is set for, when one is. */
  private hostDeadline = Infinity;

  /**
   * @param now the monotonic clock, in milliseconds
   * @param useHostTimer whether a host timer expires timers by itself (the host's clock); else only run() does
   */
  constructor(
    private readonly now: () => number,
    useHostTimer: boolean,
  ) {
    this.host = useHostTimer ? hostTimers() : undefined;
  }

  /** Timers still armed. */
  get size(): number {
    return this.entries.length;
  }

  /** Arms `fire` for `deadline` (monotonic milliseconds). It runs from run(), never from add(). */
  add(deadline: number, fire: () => void): Timer {
    const entry: Entry = {
      deadline,
      seq: this.nextSeq++,
      fire,
      armed: true,
      cancel: () => this.remove(entry),
    };
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.deadline <= deadline) lo = mid + 1;
      else hi = mid;
    }
    this.entries.splice(lo, 0, entry);
    this.armHost();
    return entry;
  }

  /**
   * Expires every timer whose deadline is at or before the clock's reading
   * (read once, before anything changes), in deadline order. A timer armed
   * by a firing one waits for the next run. Returns how many fired.
   */
  run(): number {
    const now = this.now();
    let due = 0;
    while (due < this.entries.length && this.entries[due]!.deadline <= now) due += 1;
    const fired = this.entries.splice(0, due);
    for (const e of fired) e.armed = false;
    try {
      for (const e of fired) e.fire();
    } finally {
      this.armHost();
    }
    return fired.length;
  }

  private remove(entry: Entry): boolean {
    if (!entry.armed) return false;
    entry.armed = false;
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    if (this.entries.length === 0) this.armHost();
    return true;
  }

  /** Keeps the host timer set for the earliest deadline (none when no timer is armed). */
  private armHost(): void {
    const host = this.host;
    if (host === undefined) return;
    const first = this.entries[0];
    const deadline = first === undefined ? Infinity : first.deadline;
    if (deadline === this.hostDeadline) return;
    if (this.hostHandle !== undefined) host.clearTimeout(this.hostHandle);
    this.hostHandle = undefined;
    this.hostDeadline = deadline;
    if (first === undefined) return;
    const delay = Math.min(Math.max(0, Math.ceil(deadline - this.now())), MAX_HOST_DELAY);
    const handle = host.setTimeout(() => {
      this.hostHandle = undefined;
      this.hostDeadline = Infinity;
      this.run();
    }, delay);
    // A pending timed wait must not keep the host process alive on its own (Node's unref).
    (handle as { unref?: () => void } | null)?.unref?.();
    this.hostHandle = handle;
  }
}
