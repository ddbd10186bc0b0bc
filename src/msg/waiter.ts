/**
 * Blocking as data. msgsnd on a full queue and msgrcv that finds no message
 * would sleep in Linux; here they return a MsgWaiter registered on the
 * queue's sender or receiver list, and the kernel layer parks its task. The
 * waiter finishes through its completion callback (given to the call, or
 * set on the waiter right after it returned), at most once and never during
 * the call that returned it:
 *
 * - a sender, when a receive or IPC_SET makes room and its retry sends
 *   (result 0), or fails (EACCES after a mode change), or IPC_RMID (EIDRM);
 * - a receiver, when a send hands it a message (pipelined_send) or finds its
 *   buffer too small (E2BIG), when IPC_SET's retry finds a message or fails
 *   (EACCES), or IPC_RMID (EIDRM);
 * - either, when the kernel calls interrupt() for a signal (EINTR, unless a
 *   message or EIDRM was already handed over, which wins as it does in
 *   Linux's lockless receive).
 *
 * EINTR stands for Linux's -ERESTARTNOHAND: the kernel layer turns it into
 * EINTR when a handler runs, or restarts the call when none does.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import type { IpcCaller } from '../ipc/registry.js';
import type { ListNode } from './list.js';
import type { Message } from './message.js';
import type { MsgType } from './mtype.js';
import type { Search } from './select.js';
import type { Wakeable } from './wake.js';

/** The caller of msgsnd and msgrcv: credentials and the pids the queue records. */
export interface MsgCaller extends IpcCaller {
  /** The thread-group id (q_lspid after a send, q_lrpid after a dequeue). */
  readonly pid: number;
  /** The calling thread's own id (q_lrpid after a hand-off to this caller blocked in msgrcv). */
  readonly tid: number;
}

/** What msgrcv delivers: do_msg_fill's mtype and the text, already cut to the buffer (MSG_NOERROR). Its length is msgrcv's return value. */
export interface MsgReceived {
  readonly mtype: MsgType;
  /** The bytes to copy out; owned by the caller (the queue no longer holds them, or they are a MSG_COPY copy). */
  readonly text: Uint8Array;
}

/** msgsnd's result: 0. */
export type MsgsndResult = E.Either<SysError, 0>;
/** msgrcv's result. */
export type MsgrcvResult = E.Either<SysError, MsgReceived>;

/** A blocked msgsnd or msgrcv, as the kernel layer holds it. */
export interface MsgWaiter {
  readonly isMsgWaiter: true;
  readonly kind: 'send' | 'receive';
  /** The queue's id. */
  readonly msqid: number;
  /** True once the completion callback has run. */
  readonly done: boolean;
  /**
   * Sets (or replaces) the completion callback. The waiter never finishes
   * during the call that returned it, so a callback set right after that
   * call returns is in place in time.
   */
  onComplete(complete: (result: E.Either<SysError, 0> | E.Either<SysError, MsgReceived>) => void): void;
  /**
   * A signal for the waiting task: the waiter finishes through its
   * callback, with EINTR unless a result was already handed to it (or, for
   * a sender, the queue is gone: EIDRM). The callback runs before interrupt
   * returns, or, when interrupt is called from inside a completion callback,
   * when the running drain reaches it. False when it had already finished.
   */
  interrupt(): boolean;
}

/** Whether a syscall's Right is a waiter (the call blocked) rather than its result. */
export function isMsgWaiter(v: unknown): v is MsgWaiter {
  return typeof v === 'object' && v !== null && (v as { isMsgWaiter?: unknown }).isMsgWaiter === true;
}

/** A sender on q_senders (struct msg_sender), as the queue's wake-ups see it. */
export interface SleepingSender extends ListNode<SleepingSender>, Wakeable {
  /** The size it waits to fit (ss_wakeup re-tests msg_fits_inqueue with it). */
  readonly msgsz: number;
}

/**
 * What a receiver on q_receivers has been handed (r_msg): nothing yet
 * (-EAGAIN: it runs its loop again when woken), a message, or an error
 * (E2BIG from pipelined_send, EIDRM from IPC_RMID).
 */
export type ReceiverOutcome = Message | SysError | undefined;

/** A receiver on q_receivers (struct msg_receiver), as the queue's wake-ups see it. */
export interface SleepingReceiver extends ListNode<SleepingReceiver>, Wakeable {
  /** r_mode and r_msgtype. */
  readonly search: Search;
  /** r_maxsize: INT_MAX with MSG_NOERROR, else the buffer size. */
  readonly maxsize: number;
  /** The receiving thread's id (pipelined_send records it as q_lrpid). */
  readonly tid: number;
  /** r_msg. */
  outcome: ReceiverOutcome;
}
