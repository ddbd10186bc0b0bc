/**
 * System V message queue constants and the shapes msgctl copies out (uapi
 * linux/msg.h; glibc's struct msqid_ds and struct msginfo on x86-64).
 * IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO, IPC_CREAT, IPC_EXCL and IPC_NOWAIT
 * are the shared values of constants.ts.
 */
import type { IpcPerm } from './shm.js';

// msgrcv flags (octal, as in linux/msg.h).
/** Truncate a message longer than the buffer instead of failing with E2BIG. */
export const MSG_NOERROR = 0o10000;
/** With msgtyp > 0: take the first message whose type is not msgtyp. */
export const MSG_EXCEPT = 0o20000;
/** Copy the message at position msgtyp (0-based) without dequeuing it; needs IPC_NOWAIT. */
export const MSG_COPY = 0o40000;

// msgctl commands.
export const MSG_STAT = 11;
export const MSG_INFO = 12;
export const MSG_STAT_ANY = 13;

/** Linux's defaults for a new IPC namespace (linux/msg.h). */
export const MSGMNI = 32000;
/** kernel.msgmax: the largest message, in bytes. */
export const MSGMAX = 8192;
/** kernel.msgmnb: q_qbytes of a new queue, and the most IPC_SET may set without CAP_SYS_RESOURCE. */
export const MSGMNB = 16384;

/**
 * Fixed msginfo fields IPC_INFO reports and nothing uses (linux/msg.h):
 * MSGPOOL = MSGMNI * MSGMNB / 1024, MSGTQL = MSGMAP = MSGMNB, MSGSSZ = 16,
 * MSGSEG = min(MSGPOOL * 1024 / MSGSSZ, 0xffff).
 */
export const MSGPOOL = (MSGMNI * MSGMNB) / 1024;
export const MSGTQL = MSGMNB;
export const MSGMAP = MSGMNB;
export const MSGSSZ = 16;
export const MSGSEG = Math.min((MSGPOOL * 1024) / MSGSSZ, 0xffff);

/**
 * struct msqid_ds as IPC_STAT, MSG_STAT and MSG_STAT_ANY fill it (and as
 * the scenario language prints it). Times are CLOCK_REALTIME seconds, 0 for
 * never; pids are 0 until the first send or receive.
 */
export interface MsqidDs {
  readonly perm: IpcPerm;
  /** Last msgsnd (also set when the message went straight to a receiver). */
  readonly stime: number;
  /** Last msgrcv, or hand-off to a waiting receiver. */
  readonly rtime: number;
  /** Creation or last IPC_SET. */
  readonly ctime: number;
  /** Text bytes of the queued messages (__msg_cbytes). */
  readonly cbytes: number;
  /** Queued messages. */
  readonly qnum: number;
  /**
   * The queue's byte limit, an unsigned long. A bigint because IPC_SET
   * stores its int argument sign-extended: a negative int set with
   * CAP_SYS_RESOURCE reads back near 2^64.
   */
  readonly qbytes: bigint;
  /** Thread-group id of the last sender. */
  readonly lspid: number;
  /** Thread-group id of the last receiver; the receiving thread's own id after a hand-off (pipelined_send). */
  readonly lrpid: number;
}

/** The scalar fields of msqid_ds in the order the scenario language prints them. */
export const MSQID_DS_FIELDS = [
  'key',
  'uid',
  'gid',
  'cuid',
  'cgid',
  'mode',
  'seq',
  'stime',
  'rtime',
  'ctime',
  'cbytes',
  'qnum',
  'qbytes',
  'lspid',
  'lrpid',
] as const;

/**
 * struct msginfo, returned by IPC_INFO and MSG_INFO. msgmax, msgmnb and
 * msgmni are the namespace's sysctls and msgssz and msgseg are fixed in both;
 * msgpool, msgmap and msgtql differ: IPC_INFO reports MSGPOOL, MSGMAP and
 * MSGTQL, MSG_INFO the number of queues, of queued messages and of queued
 * bytes (each capped at INT_MAX).
 */
export interface MsgInfo {
  readonly msgpool: number;
  readonly msgmap: number;
  readonly msgmax: number;
  readonly msgmnb: number;
  readonly msgmni: number;
  readonly msgssz: number;
  readonly msgtql: number;
  readonly msgseg: number;
}
