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
