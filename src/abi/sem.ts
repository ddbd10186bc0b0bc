/**
 * System V semaphore constants and the shapes semctl copies out (uapi
 * linux/sem.h; glibc's struct semid_ds and struct seminfo on x86-64).
 * IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO, IPC_CREAT, IPC_EXCL and IPC_NOWAIT
 * are the shared values of constants.ts.
 */
import type { IpcPerm } from './shm.js';

/** sem_flg: the operation is undone when the process exits. */
export const SEM_UNDO = 0x1000;

// semctl commands (linux/sem.h).
export const GETPID = 11;
export const GETVAL = 12;
export const GETALL = 13;
export const GETNCNT = 14;
export const GETZCNT = 15;
export const SETVAL = 16;
export const SETALL = 17;
export const SEM_STAT = 18;
export const SEM_INFO = 19;
export const SEM_STAT_ANY = 20;

/** Linux's defaults for a new IPC namespace (kernel.sem reads "SEMMSL SEMMNS SEMOPM SEMMNI"). */
export const SEMMNI = 32000;
export const SEMMSL = 32000;
export const SEMMNS = SEMMNI * SEMMSL;
export const SEMOPM = 500;
/** The largest semaphore value. */
export const SEMVMX = 32767;
/** The largest adjust-on-exit value; a semadj lies in [-SEMAEM - 1, SEMAEM]. */
export const SEMAEM = SEMVMX;
/** Fixed seminfo fields Linux fills in but does not use. */
export const SEMUME = SEMOPM;
export const SEMMNU = SEMMNS;
export const SEMMAP = SEMMNS;
export const SEMUSZ = 20;

/** struct sembuf: one operation of a semop array. */
export interface Sembuf {
  /** unsigned short: the semaphore's index in the set. */
  readonly semNum: number;
  /** short: added to semval; 0 waits for zero. */
  readonly semOp: number;
  /** short: IPC_NOWAIT and SEM_UNDO. */
  readonly semFlg: number;
}

/** struct semid_ds. Times are CLOCK_REALTIME seconds; 0 means never. */
export interface SemidDs {
  /** key, uid, gid, cuid, cgid, mode (nine bits) and seq. */
  readonly perm: IpcPerm;
  /** The latest sem_otime of any semaphore of the set (get_semotime). */
  readonly otime: number;
  readonly ctime: number;
  readonly nsems: number;
}

/**
 * struct seminfo, returned by IPC_INFO and SEM_INFO. SEM_INFO puts the
 * number of sets in semusz and the number of semaphores in semaem; IPC_INFO
 * puts SEMUSZ and SEMAEM there.
 */
export interface Seminfo {
  readonly semmap: number;
  readonly semmni: number;
  readonly semmns: number;
  readonly semmnu: number;
  readonly semmsl: number;
  readonly semopm: number;
  readonly semume: number;
  readonly semusz: number;
  readonly semvmx: number;
  readonly semaem: number;
}
