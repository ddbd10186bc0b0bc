/**
 * fcntl(2), the commands the model has: the descriptor flag (F_GETFD,
 * F_SETFD), the status flags (F_GETFL, F_SETFL), and sealing
 * (F_ADD_SEALS, F_GET_SEALS). Any other command is EINVAL, as do_fcntl's
 * default case is; a descriptor that names nothing is EBADF first.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { O_APPEND, O_DIRECT, O_NOATIME, O_NONBLOCK } from '../abi/fs.js';
import { FD_CLOEXEC, F_ADD_SEALS, F_GETFD, F_GETFL, F_GET_SEALS, F_SETFD, F_SETFL } from '../abi/memfd.js';
import { hasCapability } from '../auth/credentials.js';
import type { FileCaller, OpenFile } from '../vfs/files.js';
import { addSeals, getSeals } from './seals.js';

/** The status flags F_SETFL may change (fs/fcntl.c SETFL_MASK; O_NDELAY is O_NONBLOCK on x86-64). */
const SETFL_MASK = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;

/**
 * F_SETFL as setfl does it on tmpfs: O_NOATIME newly set needs the file's
 * owner or CAP_FOWNER (EPERM), O_DIRECT a description that allows it
 * (EINVAL: a directory, a memfd); then SETFL_MASK's bits are taken from
 * `arg` and the rest of f_flags stays. O_ASYNC changes nothing, as tmpfs
 * has no fasync, and tmpfs files are never append-only.
 */
function setStatusFlags(c: FileCaller, file: OpenFile, arg: number): E.Either<SysError, number> {
  if ((arg & O_NOATIME) !== 0 && (file.statusFlags & O_NOATIME) === 0 && c.creds.uid !== file.inode.uid && !hasCapability(c.creds, 'CAP_FOWNER')) {
    return E.left(sysError('EPERM', 'O_NOATIME on a file the caller does not own'));
  }
  if ((arg & O_DIRECT) !== 0 && !file.directIo) return E.left(sysError('EINVAL', 'O_DIRECT on a file that does not allow it'));
  file.statusFlags = (arg & SETFL_MASK) | (file.statusFlags & ~SETFL_MASK);
  file.append = (arg & O_APPEND) !== 0;
  return E.right(0);
}

/** fcntl(fd, cmd, arg): the command's result (0 for a command that only sets). */
export function fcntl(c: FileCaller, fd: number, cmd: number, arg: number): E.Either<SysError, number> {
  const file = c.files.lookup(fd);
  if (file === undefined) return E.left(sysError('EBADF', `${fd} is not an open descriptor`));
  switch (cmd) {
    case F_GETFD:
      return E.right(c.files.closeOnExec(fd) ? FD_CLOEXEC : 0);
    case F_SETFD:
      c.files.setCloseOnExec(fd, (arg & FD_CLOEXEC) !== 0);
      return E.right(0);
    case F_GETFL:
      // f_flags as the open left them: shm_open's O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK... (vfs/files.ts, openStatusFlags).
      return E.right(file.statusFlags);
    case F_SETFL:
      return setStatusFlags(c, file, arg);
    case F_ADD_SEALS:
      return E.map(() => 0)(addSeals(file, arg));
    case F_GET_SEALS:
      return getSeals(file);
    default:
      return E.left(sysError('EINVAL', `fcntl command ${cmd} is not modelled or not known`));
  }
}
