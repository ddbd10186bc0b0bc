/**
 * Linux constants for System V IPC and memory mapping on x86-64
 * (uapi linux/ipc.h, linux/shm.h, asm-generic/mman-common.h).
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** On x86-64 the shm attach alignment equals the page size. */
export const SHMLBA = PAGE_SIZE;

export const IPC_PRIVATE = 0;

// shmget / ipc flags (octal, as in the headers).
export const IPC_CREAT = 0o1000;
export const IPC_EXCL = 0o2000;
export const IPC_NOWAIT = 0o4000;
export const SHM_HUGETLB = 0o4000;
export const SHM_NORESERVE = 0o10000;
export const SHM_HUGE_SHIFT = 26;

// shmat flags.
export const SHM_RDONLY = 0o10000;
export const SHM_RND = 0o20000;
export const SHM_REMAP = 0o40000;
export const SHM_EXEC = 0o100000;

// shmctl commands.
export const IPC_RMID = 0;
export const IPC_SET = 1;
export const IPC_STAT = 2;
export const IPC_INFO = 3;
export const SHM_LOCK = 11;
export const SHM_UNLOCK = 12;
export const SHM_STAT = 13;
export const SHM_INFO = 14;
export const SHM_STAT_ANY = 15;

// Mode bits beyond the nine permission bits, reported in shm_perm.mode.
export const SHM_DEST = 0o1000;
export const SHM_LOCKED = 0o2000;

// Permission request bits as the ipc layer folds them (ipcperms).
export const S_IRUGO = 0o444;
export const S_IWUGO = 0o222;
export const S_IXUGO = 0o111;

// mmap protections.
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

/** IPCMNI: the index part of an id is 15 bits; the sequence number sits above it. */
export const IPCMNI_SHIFT = 15;
export const IPCMNI = 1 << IPCMNI_SHIFT;
/** The sequence wraps to 0 when it would reach INT_MAX >> 15. */
export const IPCMNI_SEQ_MAX = 0x7fffffff >> IPCMNI_SHIFT;

/** Linux's defaults for a new IPC namespace. */
export const SHMMIN = 1n;
export const SHMMAX_DEFAULT = 0xffffffffffffffffn - (1n << 24n);
export const SHMALL_DEFAULT = 0xffffffffffffffffn - (1n << 24n);
export const SHMMNI_DEFAULT = 4096;
/** The shmem file size limit (MAX_LFS_FILESIZE on 64-bit). */
export const MAX_LFS_FILESIZE = 0x7fffffffffffffffn;

/** x86-64 user address space: TASK_SIZE = (1 << 47) - PAGE_SIZE. */
export const TASK_SIZE = 2 ** 47 - PAGE_SIZE;
/** vm.mmap_min_addr default on this distribution. */
export const MMAP_MIN_ADDR = 4096;

/** RLIMIT_MEMLOCK default (soft and hard) for a new process: 8 MiB. */
export const RLIMIT_MEMLOCK_DEFAULT = 8n * 1024n * 1024n;
/** RLIM_INFINITY. */
export const RLIM_INFINITY = 0xffffffffffffffffn;

export const U64_MAX = 0xffffffffffffffffn;
export const U32_MAX = 0xffffffff;

// The same values as bigints, for 64-bit argument arithmetic on hot paths
// (building a bigint from a number on every call is measurably slow).
export const PAGE_SIZE_N = 4096n;
export const PAGE_SHIFT_N = 12n;
export const SHMLBA_N = 4096n;
export const TASK_SIZE_N = BigInt(TASK_SIZE);
