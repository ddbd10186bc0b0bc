/**
 * The namespace's wake queue (Linux's wake_q plus the scheduler running
 * the woken tasks): waiters that an operation woke, run in the order they
 * were woken once that operation has released its locks.
 *
 * Linux's msgsnd, msgrcv and msgctl collect the tasks they wake in a wake_q
 * under the queue lock and wake them after unlocking; each woken task then
 * finishes its own syscall (a receiver takes the message handed to it, a
 * sender or a receiver re-runs its loop). Here every syscall runs on one
 * thread, so the woken waiters run right after the waking operation, before
 * it returns to its caller, one at a time in wake order: that is one of the
 * schedules Linux allows (the woken tasks run before anything else touches
 * the queue), and it makes every run deterministic.
 *
 * A waiter that a running waiter wakes joins the end of the same queue. A
 * wake of a waiter that is already queued does nothing (wake_q_add of a
 * task already on a wake_q). drain() called while a drain is running (a
 * completion callback that makes another syscall) returns at once: the
 * outer drain runs what the inner call woke.
 */

/** What the wake queue holds: a waiter it can run. */
export interface Wakeable {
  /** True while the waiter is on the wake queue. Only WakeQueue writes it. */
  queued: boolean;
  /** The woken task's turn: finish or re-block. Called with no lock held. */
  run(): void;
}

/** One namespace's queue of woken waiters. */
export class WakeQueue {
  private items: (Wakeable | undefined)[] = [];
  private head = 0;
  private draining = false;

  /** Woken waiters that have not run yet. */
  get pending(): number {
    return this.items.length - this.head;
  }

  /** wake_q_add: `w` runs at the next drain, unless it is already queued. */
  add(w: Wakeable): void {
    if (w.queued) return;
    w.queued = true;
    this.items.push(w);
  }

  /** wake_up_q: runs every queued waiter, and those they wake, in order. Precondition: no lock is held. */
  drain(): void {
    // Nothing woken (the usual call) or a drain already running: nothing to do, and no array to copy.
    if (this.draining || this.head === this.items.length) return;
    this.draining = true;
    try {
      while (this.head < this.items.length) {
        const w = this.items[this.head]!;
        this.items[this.head] = undefined;
        this.head += 1;
        w.queued = false;
        w.run();
      }
    } finally {
      // A throwing callback leaves the rest queued for the next drain.
      this.items = this.items.slice(this.head);
      this.head = 0;
      this.draining = false;
    }
  }
}
