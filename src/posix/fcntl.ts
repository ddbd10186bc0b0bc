/**
 * fcntl(2), the commands the model has: the descriptor flag (F_GETFD,
 * F_SETFD), the status flags as far as they are kept (F_GETFL), and
 * sealing (F_ADD_SEALS, F_GET_SEALS). Any other command is EINVAL, as
 * do_fcntl's default case is; a descriptor that names nothing is EBADF
 * first.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { O_APPEND, O_RDONLY, O_RDWR, O_WRONLY } from '../abi/fs.js';
import { FD_CLOEXEC, F_ADD_SEALS, F_GETFD, F_GETFL, F_GET_SEALS, F_SETFD, O_LARGEFILE } from '../abi/memfd.js';
import type { FileCaller, OpenFile } from '../vfs/files.js';
import { addSeals, getSeals } from './seals.js';

/**
 * F_GETFL: the access mode, O_APPEND, and O_LARGEFILE, which every open on
 * a 64-bit kernel sets. Other status flags (O_NONBLOCK, O_NOFOLLOW...) are
 * not kept by the model's open file descriptions.
 */
function statusFlags(file: OpenFile): number {
  const acc = file.readable && file.writable ? O_RDWR : file.writable ? O_WRONLY : O_RDONLY;
  return acc | (file.append ? O_APPEND : 0) | O_LARGEFILE;
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
      return E.right(statusFlags(file));
    case F_ADD_SEALS:
      return E.map(() => 0)(addSeals(file, arg));
    case F_GET_SEALS:
      return getSeals(file);
    default:
      return E.left(sysError('EINVAL', `fcntl command ${cmd} is not modelled or not known`));
  }
}
