/**
 * Who may share a lease's buffer (sem/lease.ts, msg/lease.ts): the
 * processes whose worker threads perform uncontended System V operations
 * in shared memory instead of through the kernel thread.
 *
 * Every holder of a buffer can write every byte of it: set values, name
 * another holder as the last to operate, or revive recalled state so that
 * a fellow holder's operation lands where the kernel no longer reads. So
 * only processes that could already act on one another in Linux share
 * one: the same user with the same privileges (which may ptrace or signal
 * each other). Any other process's calls go to the kernel thread.
 */
import type { Credentials } from '../auth/credentials.js';
import { nextSpin } from '../mm/spin.js';

/** Identities already computed: a process's Credentials object is replaced, never changed. */
const identities = new WeakMap<Credentials, string>();

/** The credentials a lease is shared under: uid, gid, supplementary groups and capabilities. */
export function lesseeIdentity(creds: Credentials): string {
  let id = identities.get(creds);
  if (id === undefined) {
    const groups = [...creds.groups].sort((a, b) => a - b).join(',');
    const caps = [...creds.caps].sort().join(',');
    id = `${creds.uid}:${creds.gid}:${groups}:${caps}`;
    identities.set(creds, id);
  }
  return id;
}

/**
 * How a lease message says the thread reads the kernel's clock: the tick
 * clock's shared word and base (node/realtime.ts) when the kernel's clock
 * is the tick clock, or nothing when it is the host clock's second
 * (kernel/clock.ts), which the thread reads itself.
 */
export interface LeaseClockShare {
  readonly tick?: SharedArrayBuffer;
  readonly tickBase?: number;
}

/**
 * A thread's view of its process's IPC epoch word (kernel Process.ipcEpochWord),
 * which moves when the process changes IPC namespace or exits: the thread
 * then drops every lease it holds, since a lease names its object by id.
 */
export class EpochWatch {
  private readonly word: Int32Array;
  /** The epoch the thread's leases belong to. */
  seen: number;

  constructor(buffer: SharedArrayBuffer) {
    this.word = new Int32Array(buffer, 0, 1);
    this.seen = Atomics.load(this.word, 0);
  }

  /** Whether the epoch moved since last seen (and takes the new one). */
  moved(): boolean {
    const e = Atomics.load(this.word, 0);
    if (e === this.seen) return false;
    this.seen = e;
    return true;
  }
}

/** The most processes one lease lends to: a 4-bit index in a semaphore's word, 0 meaning the kernel thread's own. */
export const MAX_LESSEES = 15;

/**
 * What every kind of lease keeps on the kernel side about who holds it:
 * its lessees' tgids (index i + 1 is lessees[i]), the credentials they
 * all share, and whether its buffer is live or retired for good. Owned by
 * the kernel thread.
 */
export class Lessees {
  /** tgid of lessee index i + 1. */
  readonly lessees: number[] = [];
  /** The credentials every lessee has (lesseeIdentity), set by the first grant. */
  identity: string | undefined = undefined;
  /** The buffer holds the object's state (workers may be changing it). */
  live = false;
  /** The object's permissions (or limits) changed since the buffer was made: it is never granted again. */
  retired = false;

  /** `pid`'s index in a live lease, when it holds one under `identity`; 0 otherwise (the grant takes the lock and admits it). */
  liveIndexOf(identity: string, pid: number): number {
    if (!this.live || this.identity !== identity) return 0;
    return this.lessees.indexOf(pid) + 1;
  }

  /** `pid`'s index, admitting it when it shares the lease's credentials and there is room; 0 when it may not hold the lease. */
  admit(identity: string, pid: number): number {
    this.identity ??= identity;
    if (this.identity !== identity) return 0;
    const who = this.lessees.indexOf(pid) + 1;
    if (who !== 0) return who;
    return this.lessees.length >= MAX_LESSEES ? 0 : this.lessees.push(pid);
  }

  /** The tgid of lessee index `who` as a buffer names it; undefined for 0 or an index no lessee has (a program wrote it). */
  pidOf(who: number): number | undefined {
    return who >= 1 && who <= this.lessees.length ? this.lessees[who - 1] : undefined;
  }
}

/** What every lease message carries besides its kind's own fields. */
export interface LeaseMessageBase extends LeaseClockShare {
  readonly buffer: SharedArrayBuffer;
  readonly lessee: number;
  /** CLOCK_REALTIME second the buffer's time fields count from. */
  readonly base: number;
  /** The process's IPC epoch when granted: a thread whose epoch word has moved on drops the message. */
  readonly epoch: number;
}

const noSeconds = (): number => 0;

/**
 * The leases of one kind that one thread holds, by the id its process
 * names the object by, with what every kind shares: the epoch they belong
 * to, the kernel's clock as the thread reads it, and how long a call that
 * cannot proceed polls before it goes to the kernel thread (adapted as a
 * futex wait's poll is, never below a quarter of the cap: at a sixteenth,
 * two workers that once both fell asleep kept waking each other through
 * the kernel). Owned by the thread.
 */
export abstract class HeldLeases<M extends LeaseMessageBase, H> {
  protected readonly byId = new Map<number, H>();
  private readonly epoch: EpochWatch;
  /** The kernel's CLOCK_REALTIME second as the thread reads it; 0 when it cannot. */
  protected seconds: () => number = noSeconds;
  /** How long the next call that cannot proceed polls first; -1 until the first. */
  private spinBudget = -1;
  /** Calls performed in the thread so far. */
  performed = 0;

  constructor(epochWord: SharedArrayBuffer) {
    this.epoch = new EpochWatch(epochWord);
  }

  /** The object id a message names. */
  protected abstract idOf(m: M): number;
  /** What the thread keeps of a message. */
  protected abstract hold(m: M): H;

  /**
   * Takes leases the kernel thread sent; one granted before the process's
   * last change of namespace (or its exit) is dropped. `clockOf` gives the
   * kernel's second as the thread reads it for a message (kernel/clock.ts
   * leaseClock).
   */
  add(messages: readonly M[], clockOf: (m: M) => () => number): void {
    this.dropIfMoved();
    for (const m of messages) {
      if (m.epoch !== this.epoch.seen) continue;
      this.byId.set(this.idOf(m), this.hold(m));
      this.seconds = clockOf(m);
    }
  }

  /** How many leases are held (for tests). */
  get size(): number {
    return this.byId.size;
  }

  /** The lease `id` names, when one is held and may be used now. */
  protected held(id: unknown): H | undefined {
    if (this.byId.size === 0 || typeof id !== 'number') return undefined;
    const h = this.byId.get(id);
    return h === undefined || this.dropIfMoved() ? undefined : h;
  }

  /** How many loads the call that cannot proceed polls, at most `spin`. */
  protected pollBudget(spin: number): number {
    return this.spinBudget < 0 ? spin : Math.min(this.spinBudget, spin);
  }

  /** A poll of `budget` loads ran out: the next one is shorter. */
  protected pollRanOut(budget: number, spin: number): void {
    this.spinBudget = nextSpin(budget, spin, false, spin >> 2);
  }

  /** A call was performed in the thread, after `polled` loads of a poll of `budget` (none: 0). */
  protected performedAfter(polled: number, budget: number, spin: number): void {
    if (polled !== 0) this.spinBudget = nextSpin(budget, spin, true, spin >> 2);
    this.performed += 1;
  }

  /** Drops every lease when the process has changed IPC namespace or exited; true when it did. */
  private dropIfMoved(): boolean {
    if (!this.epoch.moved()) return false;
    this.byId.clear();
    return true;
  }
}
