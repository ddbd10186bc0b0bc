/**
 * Linux constants for files, mounts and tmpfs on x86-64 (uapi asm-generic/fcntl.h,
 * linux/stat.h, linux/falloc.h, linux/mount.h, linux/magic.h, linux/limits.h).
 */

// open(2) flags (octal, as in asm-generic/fcntl.h).
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_ACCMODE = 0o3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DIRECTORY = 0o200000;
// Status flags open keeps (F_GETFL shows them) without the model acting on them.
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
/** FASYNC, O_ASYNC. */
export const O_ASYNC = 0o20000;
export const O_DIRECT = 0o40000;
export const O_NOATIME = 0o1000000;
/** O_SYNC is __O_SYNC | O_DSYNC. */
export const O_SYNC = 0o4010000;

// File type and mode bits (linux/stat.h).
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
/** The permission and special bits a mode may carry (S_IALLUGO). */
export const S_IALLUGO = 0o7777;

// Access requests as inode_permission takes them (MAY_EXEC, MAY_WRITE, MAY_READ).
export const MAY_EXEC = 0o1;
export const MAY_WRITE = 0o2;
export const MAY_READ = 0o4;

// mmap(2) flags.
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;

// umount2(2) flags.
export const MNT_FORCE = 0x1;
export const MNT_DETACH = 0x2;

// fallocate(2) modes.
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;

// statfs f_flags (ST_* in linux/statfs.h).
export const ST_RDONLY = 0x0001;
export const ST_NOSUID = 0x0002;
export const ST_NODEV = 0x0004;
export const ST_NOEXEC = 0x0008;

/** statfs f_type of a tmpfs. */
export const TMPFS_MAGIC = 0x01021994;
/** Longest path name, counting the terminating NUL. */
export const PATH_MAX = 4096;
/** Longest file name component. */
export const NAME_MAX = 255;
/** RLIMIT_NOFILE's default soft limit: the most open descriptors a process may hold. */
export const NR_OPEN_DEFAULT = 1024;
