/**
 * The usual msgsnd and msgrcv, decided without the general path's setup:
 * a send that fits a queue nobody sleeps on to receive, and a receive that
 * finds its message at once and leaves no sleeping sender to wake. Each
 * takes the caller's values as given (hence unknown) and declines,
 * having changed nothing, whenever anything else could happen: an errno,
 * a sleep, a hand-off to a sleeping receiver, a sender to wake, MSG_COPY, a
 * type or size only a bigint holds, or a value that is not exactly what a
 * C caller passes. The kernel layer then takes the general path (send.ts,
 * receive.ts), which decides the call in Linux's order; a performed call
 * has the same effects as it would have there.
 *
 * Nothing here sleeps or calls out while it uses the queue, so the lookup
 * takes no reference (IpcRegistry.peekById): the clock, which may be an
 * injected one calling back into the kernel, is read before the lookup.
 */
import type * as E from 'fp-ts/lib/Either.js';
import { S_IRUGO, S_IWUGO } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { MSG_COPY, MSG_EXCEPT, MSG_NOERROR } from '../abi/msg.js';
import { ipcPermits } from '../ipc/perm.js';
import type { IpcPermState } from '../ipc/perm.js';
import { Message } from './message.js';
import type { MessageList } from './message.js';
import type { MsgRegistry } from './registry.js';
import { SEARCH_LESSEQUAL, findMsgBy } from './select.js';
import type { MsgCaller, MsgReceived } from './waiter.js';
import { delivered, searchMode } from './receive.js';

/**
 * Whether the caller owns or made the queue and the owner bits grant
 * `bit` (0o4 read, 0o2 write): ipcPermits' first answer, with loads of
 * its own that see only queues' perms (ipcPermits' see every kind of IPC
 * object and are megamorphic in a program that uses several). False sends
 * the caller to ipcPermits for the rest of the rule. semopUncontended
 * spells the same test out for its sets, on purpose: one shared function
 * would have one set of loads for both kinds of object again.
 */
function ownerMay(caller: MsgCaller, perm: IpcPermState, bit: number): boolean {
  const uid = caller.creds.uid;
  return (uid === perm.cuid || uid === perm.uid) && ((perm.mode >> 6) & bit) !== 0;
}

/** Whether `v` is a number a C int argument holds without conversion (a narrower test than the kernel layer's isInt: the rest declines). */
function plainInt(v: unknown): v is number {
  return typeof v === 'number' && (v | 0) === v;
}

/**
 * msgsnd of `text` as type `mtype` to `msqid`, when it can be queued at
 * once and no receiver sleeps on the queue: true once queued, false to
 * take the general path. `text` is the kernel's own copy of the caller's
 * bytes (load_msg's), which the queue keeps when it takes the message.
 */
export function msgsndUncontended(reg: MsgRegistry, caller: MsgCaller, msqid: unknown, mtype: unknown, text: Uint8Array, msgflg: unknown): boolean {
  if (!plainInt(msqid) || msqid < 0 || !plainInt(msgflg) || typeof mtype !== 'number' || !Number.isSafeInteger(mtype) || mtype < 1) return false;
  const size = text.length;
  if (size > reg.limits.msgmax) return false;
  // The clock first: an injected one is the user's code and may call into the kernel, so everything
  // below is decided on the state it left (Linux reads the time under the queue's lock).
  const now = reg.now();
  const q = reg.peekById(msqid);
  // A queue lent to worker threads (lease.ts) is the general path's: its lock takes the messages back.
  if (q === undefined || q.pendingDestruction || q.lease?.live === true || q.receivers.first !== undefined || !q.fitsLocked(size)) return false;
  if (!ownerMay(caller, q.perm, 0o2) && !ipcPermits(caller.creds, q.perm, S_IWUGO)) return false;
  const msg = new Message(mtype, text);
  // mu, for a section with no live lease to recall (above) that runs nothing able to look at a lock.
  q.mu.checkOrder();
  q.lspid = caller.pid;
  q.stime = now;
  q.enqueueLocked(msg);
  return true;
}

/**
 * msgrcv from `msqid` into a buffer of `msgsz` bytes, when the message
 * `msgtyp` and `msgflg` select is there, fits (or MSG_NOERROR cuts it), and
 * no sender sleeps on the queue: the message, dequeued; undefined to take
 * the general path.
 */
export function msgrcvUncontended(
  reg: MsgRegistry,
  caller: MsgCaller,
  msqid: unknown,
  msgsz: unknown,
  msgtyp: unknown,
  msgflg: unknown,
): E.Either<SysError, MsgReceived> | undefined {
  if (!plainInt(msqid) || msqid < 0 || !plainInt(msgflg) || (msgflg & MSG_COPY) !== 0) return undefined;
  if (typeof msgsz !== 'number' || !Number.isSafeInteger(msgsz) || msgsz < 0 || typeof msgtyp !== 'number' || !Number.isSafeInteger(msgtyp)) return undefined;
  // The clock first, as in msgsndUncontended.
  const now = reg.now();
  const q = reg.peekById(msqid);
  if (q === undefined || q.pendingDestruction || q.lease?.live === true || q.senders.first !== undefined) return undefined;
  if (!ownerMay(caller, q.perm, 0o4) && !ipcPermits(caller.creds, q.perm, S_IRUGO)) return undefined;
  // The first message, when msgtyp 0 or its own type selects it (find_msg stops there); else the search.
  const first = q.messages.first;
  const m = first !== undefined && (msgtyp === 0 || (msgtyp === first.mtype && (msgflg & MSG_EXCEPT) === 0)) ? first : findLater(q.messages, msgtyp, msgflg);
  if (m === undefined) return undefined;
  const size = m.size;
  if (msgsz < size && (msgflg & MSG_NOERROR) === 0) return undefined;
  // mu, as in msgsndUncontended; dequeueLocked has no sender to wake (above).
  q.mu.checkOrder();
  q.dequeueLocked(m, now, caller.pid);
  return delivered(m, msgsz);
}

/** find_msg for a receive the first message does not answer (out of line, so that the common case stays small). */
function findLater(messages: MessageList, msgtyp: number, msgflg: number): Message | undefined {
  // -0 reads as 0, as asMsgType makes it.
  const type = msgtyp === 0 ? 0 : msgtyp;
  const mode = searchMode(type, msgflg);
  return findMsgBy(messages, mode, mode === SEARCH_LESSEQUAL ? -type : type);
}
