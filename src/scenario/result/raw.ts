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
      readonly data?: Uint8Array;
      readonly statfs?: RawStatfs;
      readonly stat?: RawStat;
      readonly dd?: RawDd;
      readonly memcg?: RawMemcg;
      /**
       * A command's exit status and stderr lines (isula); also set, to 137
       * and `Killed`, on any statement during which the memory cgroup OOM
       * killer ended the process.
       */
      readonly exit?: number;
      readonly stderr?: readonly string[];
    }
  | { readonly ok: false; readonly errno: ErrnoName }
  | { readonly ok: false; readonly signal: SignalName };
