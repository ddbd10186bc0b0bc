/**
 * Raw results: what a backend (emulated or native) reports for one statement,
 * before normalization. See docs/oracle-protocol.md. Integers that can exceed
 * 2^53 are bigints; the rest are numbers.
 */
import type { ErrnoName } from '../../abi/errno.js';
import type { SignalName } from '../parse/ast.js';

/** Raw shmid_ds, as the kernel filled it. */
export interface RawDs {
  readonly key: number;
  readonly uid: number;
  readonly gid: number;
  readonly cuid: number;
  readonly cgid: number;
  readonly mode: number;
  readonly seq: number;
  readonly segsz: bigint;
  readonly atime: number;
  readonly dtime: number;
  readonly ctime: number;
  readonly cpid: number;
  readonly lpid: number;
  readonly nattch: number;
}

/** Raw struct semid_ds. */
export interface RawSemDs {
  readonly key: number;
  readonly uid: number;
  readonly gid: number;
  readonly cuid: number;
  readonly cgid: number;
  readonly mode: number;
  readonly seq: number;
  readonly nsems: number;
  readonly otime: number;
  readonly ctime: number;
}

/** Raw struct msqid_ds. */
export interface RawMsqDs {
  readonly key: number;
  readonly uid: number;
  readonly gid: number;
  readonly cuid: number;
  readonly cgid: number;
  readonly mode: number;
  readonly seq: number;
  readonly stime: number;
  readonly rtime: number;
  readonly ctime: number;
  readonly cbytes: bigint;
  readonly qnum: bigint;
  readonly qbytes: bigint;
  readonly lspid: number;
  readonly lrpid: number;
}

/** Raw struct seminfo, in its field order. */
export const SEMINFO_KEYS = ['semmap', 'semmni', 'semmns', 'semmnu', 'semmsl', 'semopm', 'semume', 'semusz', 'semvmx', 'semaem'] as const;
export type RawSeminfo = { readonly [K in (typeof SEMINFO_KEYS)[number]]: bigint };

/** Raw struct msginfo, in its field order. */
export const MSGINFO_KEYS = ['msgpool', 'msgmap', 'msgmax', 'msgmnb', 'msgmni', 'msgssz', 'msgtql', 'msgseg'] as const;
export type RawMsginfo = { readonly [K in (typeof MSGINFO_KEYS)[number]]: bigint };

/** Raw struct shminfo (IPC_INFO). */
export interface RawInfo {
  readonly shmmax: bigint;
  readonly shmmin: bigint;
  readonly shmmni: bigint;
  readonly shmseg: bigint;
  readonly shmall: bigint;
}

/** Raw struct shm_info (SHM_INFO). */
export interface RawShmInfo {
  readonly used_ids: bigint;
  readonly shm_tot: bigint;
  readonly shm_rss: bigint;
  readonly shm_swp: bigint;
  readonly swap_attempts: bigint;
  readonly swap_successes: bigint;
}

/** struct statfs, the fields a scenario prints. */
export interface RawStatfs {
  readonly bsize: bigint;
  readonly blocks: bigint;
  readonly bfree: bigint;
  readonly bavail: bigint;
  readonly files: bigint;
  readonly ffree: bigint;
}

/** struct stat, the fields a scenario prints. */
export interface RawStat {
  readonly mode: number;
  readonly nlink: bigint;
  readonly uid: number;
  readonly gid: number;
  readonly size: bigint;
  readonly blocks: bigint;
}

/**
 * What one dd run did: records read and written (full and partial), bytes
 * written, and the call that stopped it with its errno (`open` or `write`),
 * or that the OOM killer ended it. The runner formats dd's stderr from this.
 */
export interface RawDd {
  readonly inFull: bigint;
  readonly inPartial: bigint;
  readonly outFull: bigint;
  readonly outPartial: bigint;
  readonly bytes: bigint;
  readonly failed?: { readonly call: 'open' | 'write'; readonly errno: ErrnoName };
  readonly killed?: boolean;
}

/** A container's memory cgroup, in bytes (limit 0: none). */
export interface RawMemcg {
  readonly usage: bigint;
  readonly limit: bigint;
  readonly failcnt: bigint;
}

/** One statement's raw outcome. */
export type RawResult =
  | {
      readonly ok: true;
      readonly ret?: bigint;
      readonly pid?: number;
      readonly ds?: RawDs;
      readonly info?: RawInfo;
      readonly shmInfo?: RawShmInfo;
      readonly semDs?: RawSemDs;
      readonly msqDs?: RawMsqDs;
      readonly seminfo?: RawSeminfo;
      readonly msginfo?: RawMsginfo;
      /** semctl GETALL. */
      readonly vals?: readonly number[];
      /** msgrcv: the message's type (its text is `data`). */
      readonly mtype?: bigint;
      readonly data?: Uint8Array;
      readonly statfs?: RawStatfs;
      readonly stat?: RawStat;
      readonly dd?: RawDd;
      readonly memcg?: RawMemcg;
      /** sysvipc: the /proc/sysvipc file's text, as read. */
      readonly text?: Uint8Array;
      /**
       * A command's exit status and stderr lines (isula); also set, to 137
       * and `Killed`, on any statement during which the memory cgroup OOM
       * killer ended the process.
       */
      readonly exit?: number;
      readonly stderr?: readonly string[];
    }
  | { readonly ok: false; readonly errno: ErrnoName }
  | { readonly ok: false; readonly signal: SignalName }
  /** The call blocked (a blocking statement), or is still blocked (`wait`). */
  | { readonly ok: false; readonly blocked: true };
