/**
 * The message queue registry of one IPC namespace (Linux msg_ids(ns) plus
 * ns->msg_hdrs and ns->msg_bytes; gVisor kernel/msgqueue.Registry): ipc's
 * generic Registry over MsgQueue, with what is msg's own: newque, IPC_SET's
 * qbytes rule and wake-ups, freeque, the namespace totals, IPC_INFO and
 * MSG_INFO, and the wake queue every blocking operation of the namespace
 * shares.
 *
 * The totals (ns->msg_hdrs and ns->msg_bytes, which Linux keeps in percpu
 * counters and MSG_INFO sums) are summed from the queues' own counts when
 * MSG_INFO asks: a send or receive then changes its queue's counts alone.
 *
 * msgsnd, msgrcv and msgctl are functions of their own files (send.ts,
 * receive.ts, ctl.ts) that take the registry.
 *
 * Lock order: MsgRegistry.mu → MsgQueue.mu. MsgRegistry.mu guards the
 * tables and the limits.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { MsgInfo } from '../abi/msg.js';
import { MSGMAP, MSGPOOL, MSGSEG, MSGSSZ, MSGTQL } from '../abi/msg.js';
import type { Credentials } from '../auth/credentials.js';
import { hasCapability } from '../auth/credentials.js';
import type { IpcSetArgs } from '../ipc/perm.js';
import { newPerm, updatePerm, validOwner } from '../ipc/perm.js';
import type { IpcCaller } from '../ipc/registry.js';
import { CONTROL_DONE, Registry as IpcRegistry } from '../ipc/registry.js';
import { LockRank, Mutex } from '../sync/mutex.js';
import type { MsgLimits } from './limits.js';
import { Message } from './message.js';
import type { MsgType } from './mtype.js';
import { MSG_LEASE_BUDGET } from './lease.js';
import type { MsgQueueInit, MsgQueueOwner } from './queue.js';
import { MsgQueue } from './queue.js';
import { WakeQueue } from './wake.js';

/** IPC_SET's buffer: the owner and mode, and msg_qbytes (an unsigned long; msgctl_down keeps its low 32 bits as an int). */
export interface MsgSetArgs extends IpcSetArgs {
  readonly qbytes: number | bigint;
}

const INT_MAX = 0x7fffffff;

/** msgctl_down's `int msg_qbytes`: the low 32 bits of the unsigned long, signed. */
function qbytesAsInt(v: number | bigint): number {
  return typeof v === 'number' ? v | 0 : Number(BigInt.asIntN(32, v));
}

/** ns->msg_hdrs and ns->msg_bytes: every queued message and its bytes in the namespace (MSG_INFO's msgmap and msgtql). */
export interface MsgTotals {
  readonly hdrs: number;
  readonly bytes: number;
}

/** The System V message queues of one IPC namespace. */
export class MsgRegistry extends IpcRegistry<MsgQueue, IpcCaller, undefined, MsgSetArgs> implements MsgQueueOwner {
  readonly wakeQueue = new WakeQueue();
  readonly leaseBanned = new Set<string>();
  /** Bytes of the lease buffers the namespace's queues keep (lease.ts). */
  private leaseBytes = 0;

  constructor(
    readonly limits: MsgLimits,
    /** CLOCK_REALTIME in whole seconds; every operation reads it before it changes anything. */
    readonly now: () => number,
  ) {
    super(new Mutex('msg.MsgRegistry.mu', LockRank.msgRegistryMu), 'queue');
  }

  /**
   * msgget (ksys_msgget): ipcget with no check of msg's own on an existing
   * key (EEXIST under IPC_CREAT|IPC_EXCL, then EACCES for the bits of
   * msgflg), ENOENT without IPC_CREAT, else newque. Returns the queue's id.
   */
  msgget(who: IpcCaller, key: number, msgflg: number): E.Either<SysError, number> {
    return this.ipcget(who, key, msgflg, undefined);
  }

  protected moreChecksLocked(): undefined {
    return undefined;
  }

  /**
   * newque: mode from msgflg's nine bits, q_ctime now, q_qbytes from
   * kernel.msgmnb as it is now (later writes leave the queue alone), then
   * ipc_addid (ENOSPC at msgmni). Precondition: mu is held.
   */
  protected newLocked(who: IpcCaller, key: number, flags: number): E.Either<SysError, number> {
    const now = this.now();
    const q = new MsgQueue(this, { perm: newPerm(who.creds, key, flags), ctime: now, qbytes: this.limits.msgmnb });
    return this.addIdLocked(q);
  }

  protected objectLimit(): number {
    return this.limits.msgmni;
  }

  protected takeNextId(): number {
    const next = this.limits.msgNextId;
    this.limits.msgNextId = -1;
    return next;
  }

  /**
   * msgctl_down's IPC_SET once ownership is checked: a msg_qbytes above
   * kernel.msgmnb (compared as unsigned, so a negative int is above it)
   * needs CAP_SYS_RESOURCE (EPERM); then ipc_update_perm (EINVAL for an
   * invalid uid or gid); then q_qbytes, q_ctime, and the wake-ups: every
   * sleeping receiver re-runs its loop (expunge_all(-EAGAIN): a stricter
   * mode now refuses it), then the senders that fit are woken (ss_wakeup).
   * The woken run at the caller's drain. Precondition: mu is held.
   */
  protected setLocked(q: MsgQueue, set: MsgSetArgs, creds: Credentials): E.Either<SysError, void> {
    const now = this.now();
    const qbytes = qbytesAsInt(set.qbytes);
    if (qbytes >>> 0 > this.limits.msgmnb && !hasCapability(creds, 'CAP_SYS_RESOURCE')) {
      return E.left(sysError('EPERM', `msg_qbytes ${qbytes >>> 0} is above kernel.msgmnb (${this.limits.msgmnb}) and needs CAP_SYS_RESOURCE`));
    }
    q.mu.lock();
    try {
      if (!validOwner(set)) return E.left(sysError('EINVAL', 'uid and gid must be valid ids (not -1)'));
      updatePerm(q.perm, set);
      q.qbytes = qbytes;
      // Workers hold the old lease's buffer under the old permissions and q_qbytes: the next grant makes a new one.
      if (q.lease !== undefined) q.lease.retired = true;
      q.ctime = now;
      q.expungeAllLocked(undefined);
      q.ssWakeupLocked(false);
    } finally {
      q.mu.unlock();
    }
    return CONTROL_DONE;
  }

  /** freeque's first part, at IPC_RMID or the namespace's end (see MsgQueue.freeLocked). Precondition: mu and q.mu are held. */
  protected markedLocked(q: MsgQueue): void {
    q.freeLocked();
  }

  /** Nothing is left to free once the id is gone: freeque freed the messages at removal. */
  protected freeLocked(): void {}

  /** free_ipcs: the namespace dies; every queue is removed as IPC_RMID would, and its waiters finish with EIDRM. */
  override release(): void {
    super.release();
    this.wakeQueue.drain();
  }

  /**
   * msgctl_info: the limits and fixed fields, and for MSG_INFO (`usage`)
   * the queue count, queued messages and queued bytes in msgpool, msgmap and
   * msgtql (each capped at INT_MAX) where IPC_INFO reports MSGPOOL, MSGMAP
   * and MSGTQL. maxIndex is the highest index in use (0 when none).
   */
  info(usage: boolean): { readonly info: MsgInfo; readonly maxIndex: number } {
    // The queues count what workers sent and received under leases only once the leases are recalled.
    if (usage) this.recallLeases();
    const totals = usage ? this.totals() : { hdrs: 0, bytes: 0 };
    return this.mu.with(() => ({
      info: {
        msgpool: usage ? this.ids.inUse : MSGPOOL,
        msgmap: usage ? Math.min(totals.hdrs, INT_MAX) : MSGMAP,
        msgmax: this.limits.msgmax,
        msgmnb: this.limits.msgmnb,
        msgmni: this.limits.msgmni,
        msgssz: MSGSSZ,
        msgtql: usage ? Math.min(totals.bytes, INT_MAX) : MSGTQL,
        msgseg: MSGSEG,
      },
      maxIndex: this.maxIndexLocked(),
    }));
  }

  /** The namespace totals: the queues' message counts and bytes, summed (what they hold as the kernel thread sees them). */
  totals(): MsgTotals {
    let hdrs = 0;
    let bytes = 0;
    for (const q of this.queuesForCheckpoint()) {
      hdrs += q.qnum;
      bytes += q.cbytes;
    }
    return { hdrs, bytes };
  }

  chargeLeaseBytes(delta: number): boolean {
    if (delta > 0 && this.leaseBytes + delta > MSG_LEASE_BUDGET) return false;
    this.leaseBytes += delta;
    return true;
  }

  /** Takes back every queue's lease (lease.ts): a limit changed, the kernel is being traced, or MSG_INFO sums the totals. */
  recallLeases(): void {
    for (const q of this.queuesForCheckpoint()) q.recallLease();
  }

  /** Every queue in index order, each with a reference the caller must drop (/proc/sysvipc/msg). */
  queues(): MsgQueue[] {
    return this.objects();
  }

  /** Checkpoint: every queue in index order, without references. */
  queuesForCheckpoint(): MsgQueue[] {
    return this.objectsForCheckpoint();
  }

  /**
   * Checkpoint restore: a queue rebuilt at exactly `init.perm.id` (its key
   * associated unless IPC_PRIVATE) holding `messages` in order, counted in
   * the queue's counts. The caller restores its times and pids.
   */
  restoreQueue(init: MsgQueueInit, messages: readonly { readonly mtype: MsgType; readonly text: Uint8Array }[]): MsgQueue {
    return this.mu.with(() => {
      const q = new MsgQueue(this, init);
      this.restoreLocked(q);
      q.mu.with(() => {
        for (const m of messages) q.restoreMessageLocked(new Message(m.mtype, m.text));
      });
      return q;
    });
  }
}
