/**
 * One System V message queue (Linux struct msg_queue; gVisor
 * kernel/msgqueue.Queue): its perm, times, pids and counts, the messages in
 * send order, and the sleeping receivers and senders. The functions of
 * ipc/msg.c that work on one queue under its lock live here: msg_fits_inqueue,
 * pipelined_send, the dequeue of msgrcv, ss_wakeup, expunge_all and freeque's
 * part.
 *
 * Lifetime is IpcObject's (src/ipc/object.ts): a reference to itself until
 * IPC_RMID (or the namespace's end), plus one per syscall using it. Sleeping
 * waiters hold none (Linux's sleepers hold only RCU): IPC_RMID removes the
 * id at once, as freeque does, and wakes every waiter with EIDRM.
 *
 * Locks: mu guards every mutable field. decRef must never be called with mu
 * held (the last reference takes the registry lock, which ranks before mu).
 */
import { ERRNO } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import type { MsqidDs } from '../abi/msg.js';
import type { IpcObject } from '../ipc/object.js';
import { refcountBug } from '../ipc/object.js';
import type { IpcPermState } from '../ipc/perm.js';
import { LockRank, Mutex } from '../sync/mutex.js';
import type { MsgLease } from './lease.js';
import { List } from './list.js';
import { type Message, MessageList } from './message.js';
import { testmsg } from './select.js';
import type { SleepingReceiver, SleepingSender } from './waiter.js';
import type { WakeQueue } from './wake.js';

/** What a queue needs from its registry; the registry implements it. */
export interface MsgQueueOwner {
  /** Drops a reference; the last removes the id. */
  putRef(q: MsgQueue): void;
  /** The namespace's wake queue. */
  readonly wakeQueue: WakeQueue;
  /** CLOCK_REALTIME seconds. */
  readonly now: () => number;
  /** Credentials (ipc/lessee.ts) lent no queue again: a program of theirs kept a lock word (lease.ts). */
  readonly leaseBanned: Set<string>;
  /** Adds `delta` bytes to the namespace's lease buffers when they stay within MSG_LEASE_BUDGET; false (nothing added) otherwise. */
  chargeLeaseBytes(delta: number): boolean;
}

/** Fields a new (or restored) queue starts with. */
export interface MsgQueueInit {
  readonly perm: IpcPermState;
  readonly ctime: number;
  /** q_qbytes as msgctl_down's int holds it (msgmnb at creation); see MsgQueue.qbytes. */
  readonly qbytes: number;
}

/** E2BIG for a receiver whose buffer is too small for the message handed to it (pipelined_send). */
const HANDOFF_TOO_BIG: SysError = Object.freeze({
  errno: 'E2BIG',
  code: ERRNO.E2BIG,
  message: 'the message handed to this waiting receiver is larger than its buffer and MSG_NOERROR is not set',
});
/** EIDRM for a receiver of a removed queue (expunge_all(-EIDRM)). */
export const QUEUE_REMOVED: SysError = Object.freeze({ errno: 'EIDRM', code: ERRNO.EIDRM, message: 'the queue was removed while this call waited' });

/** A queue's mu: taking it recalls a live lease first (lease.ts), so whatever holds it sees the workers' calls. */
export class QueueMutex extends Mutex {
  constructor(private readonly queue: MsgQueue) {
    super('msg.MsgQueue.mu', LockRank.msgQueueMu);
  }

  override lock(): void {
    super.lock();
    const lease = this.queue.lease;
    if (lease?.live === true) lease.recall(this.queue, this.queue.now());
  }
}

/** A System V message queue. */
export class MsgQueue implements IpcObject {
  /** Guards perm, the times, pids, counts and the three lists. */
  readonly mu: QueueMutex = new QueueMutex(this);
  readonly perm: IpcPermState;
  pendingDestruction = false;
  /** Last msgsnd, in CLOCK_REALTIME seconds (0: never). */
  stime = 0;
  /** Last msgrcv or hand-off. */
  rtime = 0;
  /** Creation or last IPC_SET. */
  ctime: number;
  /** Bytes of the queued messages' text. */
  cbytes = 0;
  /** Queued messages. */
  qnum = 0;
  /**
   * q_qbytes. msgctl_down takes it as an int and stores it into an unsigned
   * long, so it is either 0..INT_MAX or a negative int sign-extended to
   * 2^64 + qbytes; this field keeps the int. A negative value is a limit no
   * reachable queue can meet (cbytes would need about 2^64 bytes).
   */
  qbytes: number;
  /** Thread-group id of the last sender (0: none). */
  lspid = 0;
  /** Last receiver: a tgid after a dequeue, the thread's id after a hand-off. */
  lrpid = 0;
  /** q_messages, in send order. */
  readonly messages = new MessageList();
  /** q_receivers, in the order they went to sleep. */
  readonly receivers = new List<SleepingReceiver>();
  /** q_senders, in the order they went to sleep (ss_wakeup rotates the ones that still do not fit). */
  readonly senders = new List<SleepingSender>();

  /**
   * The queue's lease to worker threads (lease.ts), kept while its
   * permissions and q_qbytes stay as they were so that a new grant reuses
   * its buffer; its messages are the workers' only while it is live.
   */
  lease: MsgLease | undefined = undefined;

  private refs = 1;

  constructor(
    private readonly owner: MsgQueueOwner,
    init: MsgQueueInit,
  ) {
    this.perm = init.perm;
    this.ctime = init.ctime;
    this.qbytes = init.qbytes;
  }

  // IpcObject's references.

  incRef(): void {
    if (this.refs <= 0) refcountBug(this, 'incRef after destruction');
    this.refs += 1;
  }

  /** Precondition: mu is not held. */
  decRef(): void {
    if (this.refs > 1) this.refs -= 1;
    else this.owner.putRef(this);
  }

  dropRef(): boolean {
    if (this.refs <= 0) refcountBug(this, 'decRef below zero');
    this.refs -= 1;
    return this.refs === 0;
  }

  /** Current reference count (for tests and invariants). */
  get refCount(): number {
    return this.refs;
  }

  // Under mu.

  /**
   * msg_fits_inqueue: a message of `msgsz` bytes fits when the bytes stay
   * within q_qbytes and so does the message count (which stops floods of
   * empty messages). Precondition: mu is held.
   */
  fitsLocked(msgsz: number): boolean {
    const limit = this.qbytes;
    return limit < 0 || (msgsz + this.cbytes <= limit && 1 + this.qnum <= limit);
  }

  /**
   * pipelined_send: offers `msg` to the sleeping receivers in the order they
   * slept. Each whose search matches is unlinked and woken: with E2BIG when
   * its buffer is too small (the offer goes on to the next), else with the
   * message, recording the receiving thread as q_lrpid and `now` as q_rtime.
   * True when a receiver took the message (it is then never queued).
   * Precondition: mu is held.
   */
  pipelinedSendLocked(msg: Message, now: number): boolean {
    const wake = this.owner.wakeQueue;
    for (let r = this.receivers.first; r !== undefined; ) {
      const next = r.next;
      if (testmsg(msg.mtype, r.search.msgtyp, r.search.mode)) {
        this.receivers.remove(r);
        if (r.maxsize < msg.size) {
          r.outcome = HANDOFF_TOO_BIG;
          wake.add(r);
        } else {
          this.lrpid = r.tid;
          this.rtime = now;
          r.outcome = msg;
          wake.add(r);
          return true;
        }
      }
      r = next;
    }
    return false;
  }

  /** do_msgsnd's enqueue when no receiver took the message. Precondition: mu is held. */
  enqueueLocked(msg: Message): void {
    this.messages.addTail(msg);
    this.cbytes += msg.size;
    this.qnum += 1;
  }

  /**
   * do_msgrcv's dequeue: the message leaves the queue with its full size
   * (even when MSG_NOERROR truncates the copy), q_rtime and q_lrpid (the
   * receiver's tgid) are set, and ss_wakeup wakes the senders that now fit.
   * Precondition: mu is held.
   */
  dequeueLocked(msg: Message, now: number, tgid: number): void {
    this.messages.remove(msg);
    this.qnum -= 1;
    this.rtime = now;
    this.lrpid = tgid;
    this.cbytes -= msg.size;
    // With no sleeping sender ss_wakeup has nothing to do; the test keeps its
    // walk (a large function) out of the receive paths that inline this one.
    if (this.senders.first !== undefined) this.ssWakeupLocked(false);
  }

  /**
   * ss_wakeup. With `kill` (IPC_RMID), every sender is detached and woken;
   * it then finds the queue gone (EIDRM). Otherwise the senders are walked
   * in order: one whose message now fits is woken (it stays on the list
   * until it runs, and then competes for the room again, with no
   * reservation); one that still does not fit is moved to the tail, and the
   * walk stops when it reaches the first sender it moved. Precondition: mu
   * is held.
   */
  ssWakeupLocked(kill: boolean): void {
    const wake = this.owner.wakeQueue;
    if (kill) {
      for (const s of this.senders.takeAll()) wake.add(s);
      return;
    }
    let stop: SleepingSender | undefined;
    for (let s = this.senders.first; s !== undefined; ) {
      const next = s.next;
      if (s === stop) break;
      if (!this.fitsLocked(s.msgsz)) {
        if (stop === undefined) stop = s;
        this.senders.moveTail(s);
      } else {
        wake.add(s);
      }
      s = next;
    }
  }

  /**
   * expunge_all: wakes every sleeping receiver in order. With an outcome
   * (EIDRM) each is handed it; without (IPC_SET's -EAGAIN) each stays
   * listed until it runs, then runs its loop again (permission check
   * included). Precondition: mu is held.
   */
  expungeAllLocked(outcome: SysError | undefined): void {
    const wake = this.owner.wakeQueue;
    if (outcome === undefined) {
      for (const r of this.receivers.toArray()) wake.add(r);
      return;
    }
    for (const r of this.receivers.takeAll()) {
      r.outcome = outcome;
      wake.add(r);
    }
  }

  /**
   * freeque's work on the queue, at IPC_RMID or the namespace's end: every
   * receiver gets EIDRM, every sender is woken to find the queue gone, and
   * the messages are freed. Precondition: the
   * registry's mu and this mu are held; pendingDestruction is set.
   */
  freeLocked(): void {
    this.expungeAllLocked(QUEUE_REMOVED);
    this.ssWakeupLocked(true);
    this.dropMessagesLocked();
    // The lease (recalled when mu was taken) is never lent again: its buffer goes back to the budget.
    if (this.lease !== undefined) {
      this.owner.chargeLeaseBytes(-this.lease.buffer.byteLength);
      this.lease.retired = true;
      this.lease = undefined;
    }
  }

  /** msgctl_stat's snapshot. Precondition: mu is held. */
  statLocked(): MsqidDs {
    const p = this.perm;
    return {
      perm: { key: p.key, uid: p.uid, gid: p.gid, cuid: p.cuid, cgid: p.cgid, mode: p.mode, seq: p.seq },
      stime: this.stime,
      rtime: this.rtime,
      ctime: this.ctime,
      cbytes: this.cbytes,
      qnum: this.qnum,
      qbytes: BigInt.asUintN(64, BigInt(this.qbytes)),
      lspid: this.lspid,
      lrpid: this.lrpid,
    };
  }

  /** CLOCK_REALTIME seconds, the registry's. */
  now(): number {
    return this.owner.now();
  }

  /** The namespace's credentials lent no queue again (lease.ts). */
  leaseBanned(): Set<string> {
    return this.owner.leaseBanned;
  }

  /** Charges the namespace's lease budget for this queue's buffer (lease.ts). */
  chargeLeaseBytes(delta: number): boolean {
    return this.owner.chargeLeaseBytes(delta);
  }

  /** Takes the messages back from a live lease, for a reader that holds no lock (a checkpoint, MSG_INFO). */
  recallLease(): void {
    if (this.lease?.live !== true) return;
    this.mu.lock();
    this.mu.unlock();
  }

  /**
   * A recalled lease's messages become the queue's, in order, with the
   * counts to match. Precondition: mu is held.
   */
  replaceMessagesLocked(msgs: readonly Message[]): void {
    this.dropMessagesLocked();
    for (const m of msgs) this.enqueueLocked(m);
  }

  /** Every message leaves the queue and its counts. Precondition: mu is held. */
  private dropMessagesLocked(): void {
    this.messages.takeAll();
    this.cbytes = 0;
    this.qnum = 0;
  }

  /** Checkpoint restore: appends a message as a send would queue it. Precondition: mu is held. */
  restoreMessageLocked(msg: Message): void {
    this.enqueueLocked(msg);
  }
}
