/**
 * The shapes that shmctl copies out: struct shmid_ds (with its ipc_perm),
 * struct shminfo (IPC_INFO) and struct shm_info (SHM_INFO), as glibc lays them
 * out on x86-64. 64-bit quantities that can exceed 2^53 are bigints.
 */

/** struct ipc_perm as the kernel fills it for shm. */
export interface IpcPerm {
  /** The key, as a signed 32-bit key_t; 0 (IPC_PRIVATE) once dissociated. */
  readonly key: number;
  readonly uid: number;
  readonly gid: number;
  readonly cuid: number;
  readonly cgid: number;
  /** Nine permission bits plus SHM_DEST (01000) and SHM_LOCKED (02000). */
  readonly mode: number;
  /** The sequence part of the id (id >> 15). */
  readonly seq: number;
}

/** struct shmid_ds. Times are CLOCK_REALTIME seconds; 0 means never. */
export interface ShmidDs {
  readonly perm: IpcPerm;
  /** The exact size asked for at shmget, not rounded to pages. */
  readonly segsz: bigint;
  readonly atime: number;
  readonly dtime: number;
  readonly ctime: number;
  readonly cpid: number;
  readonly lpid: number;
  /** Mapping pieces (VMAs) of this segment across all address spaces. */
  readonly nattch: number;
}

/** struct shminfo, returned by IPC_INFO. */
export interface ShmInfoLimits {
  readonly shmmax: bigint;
  readonly shmmin: bigint;
  readonly shmmni: number;
  readonly shmseg: number;
  readonly shmall: bigint;
}

/** struct shm_info, returned by SHM_INFO. Page counts, not bytes. */
export interface ShmInfoUsage {
  readonly usedIds: number;
  readonly shmTot: bigint;
  readonly shmRss: number;
  readonly shmSwp: number;
  readonly swapAttempts: number;
  readonly swapSuccesses: number;
}
