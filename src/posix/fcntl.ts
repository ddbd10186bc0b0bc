/**
 * fcntl(2), the commands the model has: the descriptor flag (F_GETFD,
 * F_SETFD), the status flags the open left (F_GETFL), and
 * sealing (F_ADD_SEALS, F_GET_SEALS). Any other command is EINVAL, as
 * do_fcntl's default case is; a descriptor that names nothing is EBADF
 * first.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { FD_CLOEXEC, F_ADD_SEALS, F_GETFD, F_GETFL, F_GET_SEALS, F_SETFD } from '../abi/memfd.js';
import type { FileCaller } from '../vfs/files.js';
import { addSeals, getSeals } from './seals.js';

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
    case F_ADD_SEALS:
      return E.map(() => 0)(addSeals(file, arg));
    case F_GET_SEALS:
      return getSeals(file);
    default:
      return E.left(sysError('EINVAL', `fcntl command ${cmd} is not modelled or not known`));
  }
}
