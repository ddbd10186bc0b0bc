/**
 * shm_open(3) and shm_unlink(3) as glibc implements them: library calls
 * that turn a POSIX shared memory name into a path under /dev/shm and call
 * open(2) or unlink(2) on it. The object is a plain file of whatever tmpfs
 * the caller's mount namespace has at /dev/shm, so reading, writing,
 * mapping, and checkpointing it are the file calls'. There is no /dev/shm
 * unless one was mounted (or made): then shm_open passes open's ENOENT on.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { O_CLOEXEC, O_NOFOLLOW } from '../abi/memfd.js';
import type { FileCaller } from '../vfs/files.js';
import { open } from '../vfs/files.js';
import { utf8Length } from '../vfs/mounts.js';

/** The directory glibc puts every object in (SHMDIR). */
export const SHM_DIR = '/dev/shm/';

/**
 * The longest name glibc's buffer takes: sizeof("/dev/shm/") + 4 + NAME_MAX
 * bytes hold the directory, the name and its NUL. Names of 256 to 259
 * bytes get past glibc and fail in the kernel (ENAMETOOLONG) instead.
 */
const SHM_NAME_BUFFER = SHM_DIR.length + 1 + 4 + 255;

/**
 * The path of object `name` (glibc's __shm_get_name): every leading '/' is
 * dropped; an empty rest, or one with a '/' in it, is EINVAL; a rest too
 * long for glibc's buffer is ENAMETOOLONG (glibc 2.38 and later; 2.36, in
 * Debian 12, says EINVAL for it too). "." and ".." pass, as in glibc, and
 * name the directory itself. The name ends at its first NUL, as the C
 * string does.
 */
export function shmPath(name: string): E.Either<SysError, string> {
  const nul = name.indexOf('\0');
  let rest = nul < 0 ? name : name.slice(0, nul);
  let i = 0;
  while (rest.charCodeAt(i) === 0x2f) i += 1;
  rest = rest.slice(i);
  if (rest.length === 0 || rest.includes('/')) return E.left(sysError('EINVAL', `${JSON.stringify(name)} is not a POSIX shared memory name`));
  if (SHM_DIR.length + utf8Length(rest) + 1 > SHM_NAME_BUFFER) return E.left(sysError('ENAMETOOLONG', 'the shared memory name is too long'));
  return E.right(SHM_DIR + rest);
}

/**
 * shm_open(name, oflag, mode): open(2) of the object's path with the
 * caller's flags plus O_NOFOLLOW and O_CLOEXEC (so the descriptor has
 * FD_CLOEXEC). Every errno of open passes through but EISDIR, which glibc
 * reports as EINVAL (".." with O_RDWR, say).
 */
export function shmOpen(c: FileCaller, name: string, oflag: number, mode: number): E.Either<SysError, number> {
  const path = shmPath(name);
  if (E.isLeft(path)) return path;
  const fd = open(c, path.right, oflag | O_NOFOLLOW | O_CLOEXEC, mode);
  if (E.isLeft(fd) && fd.left.errno === 'EISDIR') return E.left(sysError('EINVAL', `${JSON.stringify(name)} names a directory: ${fd.left.message}`));
  return fd;
}

/**
 * shm_unlink(name): unlink(2) of the object's path. A bad name is ENOENT
 * here, not EINVAL; EPERM (the sticky bit of /dev/shm keeping another
 * user's object) becomes EACCES; other errnos pass through. Open
 * descriptors and mappings keep the object's contents until they go.
 */
export function shmUnlink(c: FileCaller, name: string): E.Either<SysError, void> {
  const path = shmPath(name);
  if (E.isLeft(path)) return E.left(sysError('ENOENT', path.left.message));
  const done = c.mountNamespace.unlink(c.creds, path.right);
  if (E.isLeft(done) && done.left.errno === 'EPERM') return E.left(sysError('EACCES', done.left.message));
  return done;
}
