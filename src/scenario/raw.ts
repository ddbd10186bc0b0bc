/**
 * Raw results: what a backend (emulated or native) reports for one statement,
 * before normalization. See docs/oracle-protocol.md. Integers that can exceed
 * 2^53 are bigints; the rest are numbers.
 */
import type { ErrnoName } from '../abi/errno.js';

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
    }
  | { readonly ok: false; readonly errno: ErrnoName }
  | { readonly ok: false; readonly signal: 'SIGSEGV' | 'SIGBUS' };
