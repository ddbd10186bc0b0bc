/**
 * Linux errno values (x86-64, asm-generic/errno-base.h and errno.h) and the
 * SysError that every syscall in ipc-sentry returns on its Left side.
 */

/** The errno numbers ipc-sentry can return, by their Linux names. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  EROFS: 30,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENOMSG: 42,
  EIDRM: 43,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
} as const;

/** An errno name, e.g. `"EINVAL"`. */
export type ErrnoName = keyof typeof ERRNO;

/**
 * A failed system call: the errno a Linux program would see in `errno`, plus a
 * sentence for a person saying which rule produced it.
 */
export interface SysError {
  readonly errno: ErrnoName;
  readonly code: number;
  readonly message: string;
}

/** Builds a SysError for `name`, with a message naming the rule that fired. */
export function sysError(name: ErrnoName, message: string): SysError {
  return { errno: name, code: ERRNO[name], message };
}

/** True when `name` is a known errno name. */
export function isErrnoName(name: string): name is ErrnoName {
  return Object.hasOwn(ERRNO, name);
}
