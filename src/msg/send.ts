/**
 * msgsnd(2) (ipc/msg.c ksys_msgsnd, do_msgsnd). The kernel layer runs it in
 * Linux's order:
 *
 *   1. read mtype from the user's msgbuf (EFAULT, before anything else);
 *   2. msgsndCheck: msgsz > kernel.msgmax, a negative msgsz (as a long) or
 *      msqid → EINVAL; mtype < 1 → EINVAL;
 *   3. copy the text out of user memory (load_msg: EFAULT, still before the
 *      lookup);
 *   4. msgsnd, which runs step 2 again (harmless) and then do_msgsnd's
 *      lookup (EINVAL) and loop: write permission (EACCES), a removed queue
 *      (EIDRM), room (msg_fits_inqueue), else EAGAIN under IPC_NOWAIT, else
 *      sleep on q_senders; once it fits, q_lspid and q_stime are set and
 *      pipelined_send offers the message to the sleeping receivers before
 *      it is queued.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPC_NOWAIT, S_IWUGO } from '../abi/constants.js';
import { ERRNO } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { ipcPermits } from '../ipc/perm.js';
import type { MsgLimits } from './limits.js';
import { Message } from './message.js';
import { asMsgType } from './mtype.js';
import type { MsgQueue } from './queue.js';
import type { MsgRegistry } from './registry.js';
import type { MsgCaller, MsgsndResult, MsgWaiter, SleepingSender } from './waiter.js';

/** msgsnd's answer: 0, or the waiter of a call that sleeps (its result comes through the callback). */
export type MsgsndAnswer = E.Either<SysError, 0 | MsgWaiter>;

/** msgsnd's success: one frozen Right for every call. */
export const SENT: E.Right<0> = Object.freeze(E.right(0 as const)) as E.Right<0>;
const INTERRUPTED: E.Either<SysError, never> = E.left(
  Object.freeze<SysError>({ errno: 'EINTR', code: ERRNO.EINTR, message: 'a signal interrupted the wait for room in the queue' }),
);
const SEND_REMOVED: E.Either<SysError, never> = E.left(
  Object.freeze<SysError>({ errno: 'EIDRM', code: ERRNO.EIDRM, message: 'the queue was removed while this send waited for room' }),
);

/**
 * do_msgsnd's checks before the text is copied: msgsz above kernel.msgmax
 * or negative as a long, or a negative msqid → EINVAL; then mtype < 1 →
 * EINVAL. `msgsz` is the size_t argument (a bigint for values a number
 * cannot hold exactly); `mtype` the long read from the msgbuf. Undefined
 * when they pass.
 */
export function msgsndCheck(limits: MsgLimits, msqid: number, mtype: number | bigint, msgsz: number | bigint): E.Either<SysError, never> | undefined {
  const size = typeof msgsz === 'number' ? msgsz : BigInt.asIntN(64, msgsz);
  if (size > limits.msgmax || size < 0 || !Number.isInteger(msqid) || msqid < 0) {
    return E.left(sysError('EINVAL', `msgsz ${msgsz} must be 0..kernel.msgmax (${limits.msgmax}) and msqid ${msqid} non-negative`));
  }
  const t = typeof mtype === 'number' ? mtype : BigInt.asIntN(64, mtype);
  if (t < 1) return E.left(sysError('EINVAL', `mtype ${t} must be at least 1`));
  return undefined;
}

/**
 * msgsnd: sends `text` (which the queue now owns: the kernel layer's copy of
 * the user's bytes) as a message of type `mtype` to queue `msqid`. Returns
 * 0 when it was queued or handed to a receiver, an error, or a waiter when
 * the queue is full and IPC_NOWAIT is clear; `onComplete` (given here, or
 * later through the waiter's own onComplete) then receives the result later
 * (see waiter.ts). Runs the wake queue before returning.
 */
export function msgsnd(
  reg: MsgRegistry,
  caller: MsgCaller,
  msqid: number,
  mtype: number | bigint,
  text: Uint8Array,
  msgflg: number,
  onComplete?: (result: MsgsndResult) => void,
): MsgsndAnswer {
  const refused = msgsndCheck(reg.limits, msqid, mtype, text.length);
  if (refused !== undefined) return refused;
  const msg = new Message(asMsgType(mtype), text);
  // The clock before the lookup's reference: a throwing injected clock leaves no reference behind.
  const now = reg.now();
  const q = reg.findById(msqid);
  if (q === undefined) return E.left(sysError('EINVAL', `no queue has id ${msqid}`));
  let result: MsgsndResult | undefined;
  let op: SendOp | undefined;
  q.mu.lock();
  try {
    // The first pass needs no SendOp; one is made only when the call sleeps.
    result = sendLocked(q, caller, msg, msgflg, now);
    if (result === undefined) {
      op = new SendOp(reg, q, caller, msg, msgflg, msqid, onComplete);
      q.senders.addTail(op);
    }
  } finally {
    q.mu.unlock();
  }
  q.decRef();
  reg.wakeQueue.drain();
  return result ?? E.right(op as SendOp);
}

/**
 * One pass of do_msgsnd's loop: the result, or undefined when the call
 * must sleep (the caller then puts it on q_senders' tail). Precondition:
 * q.mu is held.
 */
function sendLocked(q: MsgQueue, caller: MsgCaller, msg: Message, msgflg: number, now: number): MsgsndResult | undefined {
  if (!ipcPermits(caller.creds, q.perm, S_IWUGO)) {
    return E.left(sysError('EACCES', `mode 0${(q.perm.mode & 0o777).toString(8)} does not grant write`));
  }
  if (q.pendingDestruction) return SEND_REMOVED;
  const msgsz = msg.size;
  if (!q.fitsLocked(msgsz)) {
    if ((msgflg & IPC_NOWAIT) !== 0) {
      return E.left(sysError('EAGAIN', `${msgsz} more bytes do not fit (${q.cbytes} of q_qbytes ${q.qbytes} used, ${q.qnum} messages) and IPC_NOWAIT is set`));
    }
    return undefined;
  }
  q.lspid = caller.pid;
  q.stime = now;
  if (!q.pipelinedSendLocked(msg, now)) q.enqueueLocked(msg);
  return SENT;
}

/** One msgsnd call: its arguments, and, once it sleeps, its entry on q_senders (struct msg_sender). */
class SendOp implements SleepingSender, MsgWaiter {
  readonly isMsgWaiter = true;
  readonly kind = 'send';
  prev: SleepingSender | undefined = undefined;
  next: SleepingSender | undefined = undefined;
  linked = false;
  queued = false;
  done = false;
  /** A signal arrived while it slept. */
  private signalled = false;
  readonly msgsz: number;

  constructor(
    private readonly reg: MsgRegistry,
    private readonly q: MsgQueue,
    private readonly caller: MsgCaller,
    private readonly msg: Message,
    private readonly msgflg: number,
    readonly msqid: number,
    private complete: ((result: MsgsndResult) => void) | undefined,
  ) {
    this.msgsz = msg.size;
  }

  onComplete(complete: (result: MsgsndResult) => void): void {
    this.complete = complete;
  }

  /**
   * One pass of do_msgsnd's loop: the result, or undefined when the call
   * sleeps (it is then on q_senders' tail). Precondition: q.mu is held.
   */
  attemptLocked(now: number): MsgsndResult | undefined {
    const result = sendLocked(this.q, this.caller, this.msg, this.msgflg, now);
    if (result === undefined) this.q.senders.addTail(this);
    return result;
  }

  /**
   * The woken sender's turn (after ss_wakeup, IPC_RMID or a signal): a
   * removed queue is EIDRM; else it leaves q_senders (ss_del), a signal is
   * EINTR, and otherwise it runs the loop again.
   */
  run(): void {
    if (this.done) return;
    const q = this.q;
    const now = this.reg.now();
    let result: MsgsndResult | undefined;
    q.mu.lock();
    try {
      if (q.pendingDestruction) {
        result = SEND_REMOVED;
      } else {
        if (this.linked) q.senders.remove(this);
        result = this.signalled ? INTERRUPTED : this.attemptLocked(now);
      }
    } finally {
      q.mu.unlock();
    }
    if (result !== undefined) {
      this.done = true;
      this.complete?.(result);
    }
  }

  interrupt(): boolean {
    if (this.done) return false;
    this.signalled = true;
    const wake = this.reg.wakeQueue;
    wake.add(this);
    wake.drain();
    return true;
  }
}
