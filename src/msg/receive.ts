/**
 * msgrcv(2) (ipc/msg.c ksys_msgrcv, do_msgrcv). The kernel layer runs it in
 * Linux's order:
 *
 *   1. msgrcvCheck: a negative msqid or bufsz (as a long) → EINVAL; with
 *      MSG_COPY, MSG_EXCEPT or a missing IPC_NOWAIT → EINVAL;
 *   2. with MSG_COPY, prepare_copy reads `copyLen` bytes of the user's
 *      buffer, starting at msgp itself (load_msg: EFAULT before the lookup);
 *   3. msgrcv, which runs step 1 again (harmless), convert_mode, the lookup
 *      (EINVAL), and do_msgrcv's loop: read permission (EACCES), a removed
 *      queue (EIDRM), find_msg; a message too large for the buffer without
 *      MSG_NOERROR is E2BIG and stays queued; MSG_COPY copies it (EINVAL
 *      when it is larger than copyLen) and changes nothing; otherwise it is
 *      dequeued. No message: ENOMSG under IPC_NOWAIT, else sleep on
 *      q_receivers;
 *   4. the kernel layer writes mtype and the text (do_msg_fill: EFAULT). By
 *      then the message has left the queue, so a bad buffer loses it, as in
 *      Linux.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPC_NOWAIT, S_IRUGO } from '../abi/constants.js';
import { ERRNO } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { MSG_COPY, MSG_EXCEPT, MSG_NOERROR } from '../abi/msg.js';
import { ipcPermits } from '../ipc/perm.js';
import type { MsgLimits } from './limits.js';
import { Message } from './message.js';
import type { MsgType } from './mtype.js';
import { asMsgType, negateType } from './mtype.js';
import type { MsgQueue } from './queue.js';
import type { MsgRegistry } from './registry.js';
import type { Search } from './select.js';
import type { SearchMode } from './select.js';
import { SEARCH_ANY, SEARCH_EQUAL, SEARCH_LESSEQUAL, SEARCH_NOTEQUAL, SEARCH_NUMBER, findMsgBy } from './select.js';
import type { MsgCaller, MsgReceived, MsgrcvResult, MsgWaiter, ReceiverOutcome, SleepingReceiver } from './waiter.js';

/** msgrcv's answer: the message, or the waiter of a call that sleeps (its result comes through the callback). */
export type MsgrcvAnswer = E.Either<SysError, MsgReceived | MsgWaiter>;

const INT_MAX = 0x7fffffff;
/** A size_t above this is larger than any message, so the model keeps it as this number. */
const HUGE = Number.MAX_SAFE_INTEGER;
const INTERRUPTED: E.Either<SysError, never> = E.left(
  Object.freeze<SysError>({ errno: 'EINTR', code: ERRNO.EINTR, message: 'a signal interrupted the wait for a message' }),
);

/** msgrcvCheck's answer without MSG_COPY: one frozen Right for every call. */
const NO_COPY: E.Either<SysError, number> = Object.freeze(E.right(0));

/** bufsz as a number: exact below 2^53, HUGE above (no message is that long); negative when it is negative as a long. */
function bufferSize(bufsz: number | bigint): number {
  if (typeof bufsz === 'number') return bufsz;
  const v = BigInt.asIntN(64, bufsz);
  return v < 0n ? -1 : v > BigInt(HUGE) ? HUGE : Number(v);
}

/**
 * do_msgrcv's checks before the lookup: a negative msqid, or a bufsz
 * negative as a long → EINVAL; with MSG_COPY, MSG_EXCEPT or no IPC_NOWAIT →
 * EINVAL. Right: how many bytes of the user's buffer prepare_copy reads
 * (min(bufsz, kernel.msgmax) with MSG_COPY, else 0).
 */
export function msgrcvCheck(limits: MsgLimits, msqid: number, bufsz: number | bigint, msgflg: number): E.Either<SysError, number> {
  const size = bufferSize(bufsz);
  if (!Number.isInteger(msqid) || msqid < 0 || size < 0) return E.left(sysError('EINVAL', `msqid ${msqid} and msgsz ${bufsz} must be non-negative`));
  if ((msgflg & MSG_COPY) === 0) return NO_COPY;
  if ((msgflg & MSG_EXCEPT) !== 0 || (msgflg & IPC_NOWAIT) === 0) return E.left(sysError('EINVAL', 'MSG_COPY needs IPC_NOWAIT and refuses MSG_EXCEPT'));
  return E.right(Math.min(size, limits.msgmax));
}

/**
 * msgrcv: receives from queue `msqid` the message `msgtyp` and `msgflg`
 * select (see select.ts) into a buffer of `bufsz` bytes. Returns the
 * message, an error, or a waiter when nothing matches and IPC_NOWAIT is
 * clear; `onComplete` (given here, or later through the waiter's own
 * onComplete) then receives the result later (see waiter.ts). Runs
 * the wake queue before returning.
 */
export function msgrcv(
  reg: MsgRegistry,
  caller: MsgCaller,
  msqid: number,
  bufsz: number | bigint,
  msgtyp: number | bigint,
  msgflg: number,
  onComplete?: (result: MsgrcvResult) => void,
): MsgrcvAnswer {
  const checked = msgrcvCheck(reg.limits, msqid, bufsz, msgflg);
  if (E.isLeft(checked)) return checked;
  // convert_mode, without a Search object: one is made only when the call sleeps.
  const type = asMsgType(msgtyp);
  const mode = searchMode(type, msgflg);
  const searchType = mode === SEARCH_LESSEQUAL ? negateType(type) : type;
  // The clock before the lookup's reference: a throwing injected clock leaves no reference behind.
  const now = reg.now();
  const q = reg.findById(msqid);
  if (q === undefined) return E.left(sysError('EINVAL', `no queue has id ${msqid}`));
  const size = bufferSize(bufsz);
  let result: MsgrcvResult | undefined;
  let op: ReceiveOp | undefined;
  if (!ipcPermits(caller.creds, q.perm, S_IRUGO)) {
    result = noRead(q);
  } else {
    q.mu.lock();
    try {
      result = receiveLocked(q, caller.pid, mode, searchType, size, msgflg, checked.right, now);
      if (result === undefined) {
        op = new ReceiveOp(reg, q, caller, { mode, msgtyp: searchType }, size, msgflg, checked.right, msqid, onComplete);
        q.receivers.addTail(op);
      }
    } finally {
      q.mu.unlock();
    }
  }
  q.decRef();
  reg.wakeQueue.drain();
  return result ?? E.right(op as ReceiveOp);
}

/** convert_mode's mode (see select.ts). */
export function searchMode(msgtyp: MsgType, msgflg: number): SearchMode {
  if ((msgflg & MSG_COPY) !== 0) return SEARCH_NUMBER;
  if (msgtyp === 0) return SEARCH_ANY;
  if (msgtyp < 0) return SEARCH_LESSEQUAL;
  return (msgflg & MSG_EXCEPT) !== 0 ? SEARCH_NOTEQUAL : SEARCH_EQUAL;
}

function noRead(q: MsgQueue): MsgrcvResult {
  return E.left(sysError('EACCES', `mode 0${(q.perm.mode & 0o777).toString(8)} does not grant read`));
}

/**
 * One pass of do_msgrcv's loop after the permission check: the result, or
 * undefined when nothing matches and the call may sleep (the caller then
 * puts it on q_receivers' tail). Precondition: q.mu is held.
 */
function receiveLocked(
  q: MsgQueue,
  pid: number,
  mode: SearchMode,
  msgtyp: MsgType,
  bufsz: number,
  msgflg: number,
  copyLen: number,
  now: number,
): MsgrcvResult | undefined {
  if (q.pendingDestruction) return E.left(sysError('EIDRM', 'the queue was removed'));
  const m = findMsgBy(q.messages, mode, msgtyp);
  if (m !== undefined) {
    if (bufsz < m.size && (msgflg & MSG_NOERROR) === 0) {
      return E.left(sysError('E2BIG', `the message has ${m.size} bytes, the buffer ${bufsz}, and MSG_NOERROR is not set`));
    }
    if ((msgflg & MSG_COPY) !== 0) {
      if (m.size > copyLen) return E.left(sysError('EINVAL', `MSG_COPY: the message has ${m.size} bytes, more than the copy buffer's ${copyLen}`));
      return E.right(new Message(m.mtype, m.text.slice(0, Math.min(bufsz, m.size))));
    }
    q.dequeueLocked(m, now, pid);
    return delivered(m, bufsz);
  }
  if ((msgflg & IPC_NOWAIT) !== 0) return E.left(sysError('ENOMSG', 'no message matches and IPC_NOWAIT is set'));
  return undefined;
}

/** do_msg_fill's view of a dequeued message: its type, and at most `bufsz` bytes of its text (the message itself when all fit). */
export function delivered(m: Message, bufsz: number): E.Right<MsgReceived> {
  return E.right(bufsz >= m.size ? m : new Message(m.mtype, m.text.subarray(0, bufsz))) as E.Right<MsgReceived>;
}

/** One msgrcv call: its arguments, and, once it sleeps, its entry on q_receivers (struct msg_receiver). */
class ReceiveOp implements SleepingReceiver, MsgWaiter {
  readonly isMsgWaiter = true;
  readonly kind = 'receive';
  prev: SleepingReceiver | undefined = undefined;
  next: SleepingReceiver | undefined = undefined;
  linked = false;
  queued = false;
  done = false;
  outcome: ReceiverOutcome = undefined;
  readonly maxsize: number;
  readonly tid: number;
  /** A signal arrived while it slept. */
  private signalled = false;

  constructor(
    private readonly reg: MsgRegistry,
    private readonly q: MsgQueue,
    private readonly caller: MsgCaller,
    readonly search: Search,
    private readonly bufsz: number,
    private readonly msgflg: number,
    /** MSG_COPY's buffer: min(bufsz, msgmax) at the call. */
    private readonly copyLen: number,
    readonly msqid: number,
    private complete: ((result: MsgrcvResult) => void) | undefined,
  ) {
    this.maxsize = (msgflg & MSG_NOERROR) !== 0 ? INT_MAX : bufsz;
    this.tid = caller.tid;
  }

  onComplete(complete: (result: MsgrcvResult) => void): void {
    this.complete = complete;
  }

  /**
   * One pass of do_msgrcv's loop: the result, or undefined when the call
   * sleeps (it is then on q_receivers' tail). Takes q.mu; precondition: it
   * is not held.
   */
  attempt(now: number): MsgrcvResult | undefined {
    const q = this.q;
    if (!ipcPermits(this.caller.creds, q.perm, S_IRUGO)) return noRead(q);
    q.mu.lock();
    try {
      const result = receiveLocked(q, this.caller.pid, this.search.mode, this.search.msgtyp, this.bufsz, this.msgflg, this.copyLen, now);
      if (result === undefined) {
        this.outcome = undefined;
        q.receivers.addTail(this);
      }
      return result;
    } finally {
      q.mu.unlock();
    }
  }

  /**
   * The woken receiver's turn: a message or an error handed to it finishes
   * the call (a signal does not change that); otherwise (IPC_SET's -EAGAIN,
   * or a signal) it leaves q_receivers, a signal is EINTR, and otherwise it
   * runs the loop again.
   */
  run(): void {
    if (this.done) return;
    const outcome = this.outcome;
    let result: MsgrcvResult | undefined;
    if (outcome === undefined) {
      const q = this.q;
      const now = this.reg.now();
      q.mu.lock();
      try {
        if (this.linked) q.receivers.remove(this);
      } finally {
        q.mu.unlock();
      }
      result = this.signalled ? INTERRUPTED : this.attempt(now);
    } else {
      result = 'errno' in outcome ? E.left(outcome) : delivered(outcome, this.bufsz);
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
