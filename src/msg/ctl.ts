/**
 * msgctl(2) (ipc/msg.c ksys_msgctl, msgctl_info, msgctl_stat,
 * msgctl_down). A negative msqid or cmd is EINVAL for every command; each
 * command then runs its own checks in Linux's order:
 *
 * - IPC_INFO, MSG_INFO: none (msqid is ignored); returns the highest index
 *   in use (0 when none).
 * - IPC_STAT: the lookup with the sequence (EINVAL), read permission
 *   (EACCES, even for the owner of a mode-0 queue), a removed queue (EIDRM);
 *   returns 0.
 * - MSG_STAT: the lookup by index, whatever the sequence (EINVAL), read
 *   permission (EACCES); returns the full id. MSG_STAT_ANY: the same with no
 *   permission check.
 * - IPC_SET: (the kernel layer copies the buffer in first: EFAULT) the
 *   lookup (EINVAL), owner, creator or CAP_SYS_ADMIN (EPERM), msg_qbytes
 *   above kernel.msgmnb without CAP_SYS_RESOURCE (EPERM), an invalid uid or
 *   gid (EINVAL); then the wake-ups (registry.ts setLocked).
 * - IPC_RMID: the lookup (EINVAL), owner, creator or CAP_SYS_ADMIN (EPERM);
 *   then freeque: every waiter finishes with EIDRM.
 * - anything else, IPC_64 spellings included (x86-64's msgctl takes IPC_64
 *   as given): EINVAL.
 *
 * The kernel layer copies the result out afterwards (EFAULT). Waiters that
 * IPC_SET or IPC_RMID woke have run when msgctl returns.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT, S_IRUGO } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { MsgInfo, MsqidDs } from '../abi/msg.js';
import { MSG_INFO, MSG_STAT, MSG_STAT_ANY } from '../abi/msg.js';
import type { Credentials } from '../auth/credentials.js';
import { ipcPermits } from '../ipc/perm.js';
import type { MsgRegistry, MsgSetArgs } from './registry.js';

/** msgctl's answer: the return value, and what the command copies out. */
export interface MsgctlResult {
  readonly ret: number;
  /** IPC_STAT, MSG_STAT, MSG_STAT_ANY. */
  readonly ds?: MsqidDs;
  /** IPC_INFO, MSG_INFO. */
  readonly info?: MsgInfo;
}

const DONE: E.Either<SysError, MsgctlResult> = Object.freeze(E.right(Object.freeze({ ret: 0 })));
/** IPC_SET's buffer when none is given: a zeroed struct. */
const NO_SET: MsgSetArgs = Object.freeze({ uid: 0, gid: 0, mode: 0, qbytes: 0 });

/** msgctl: runs command `cmd` on queue `msqid` (an index for MSG_STAT and MSG_STAT_ANY) for a caller with `creds`. */
export function msgctl(reg: MsgRegistry, creds: Credentials, msqid: number, cmd: number, set?: MsgSetArgs): E.Either<SysError, MsgctlResult> {
  if (!Number.isInteger(cmd) || !Number.isInteger(msqid) || cmd < 0 || msqid < 0) {
    return E.left(sysError('EINVAL', 'msgctl needs a non-negative id and command'));
  }
  switch (cmd) {
    case IPC_INFO:
    case MSG_INFO: {
      const { info, maxIndex } = reg.info(cmd === MSG_INFO);
      return E.right({ ret: maxIndex, info });
    }
    case IPC_STAT:
    case MSG_STAT:
    case MSG_STAT_ANY:
      return stat(reg, creds, msqid, cmd);
    case IPC_SET:
    case IPC_RMID: {
      const done = reg.ctlDown(creds, msqid, cmd === IPC_SET ? (set ?? NO_SET) : undefined);
      reg.wakeQueue.drain();
      return E.isLeft(done) ? done : DONE;
    }
    default:
      return E.left(sysError('EINVAL', `unknown msgctl command ${cmd}`));
  }
}

/** msgctl_stat. */
function stat(reg: MsgRegistry, creds: Credentials, msqid: number, cmd: number): E.Either<SysError, MsgctlResult> {
  const q = cmd === IPC_STAT ? reg.findById(msqid) : reg.findByIndex(msqid);
  if (q === undefined) return E.left(sysError('EINVAL', cmd === IPC_STAT ? `no queue has id ${msqid}` : `no queue at index ${msqid & 0x7fff}`));
  try {
    if (cmd !== MSG_STAT_ANY && !ipcPermits(creds, q.perm, S_IRUGO)) {
      return E.left(sysError('EACCES', `mode 0${(q.perm.mode & 0o777).toString(8)} does not grant read`));
    }
    return q.mu.with(() => {
      if (q.pendingDestruction) return E.left(sysError('EIDRM', 'the queue was removed'));
      return E.right({ ret: cmd === IPC_STAT ? 0 : q.perm.id, ds: q.statLocked() });
    });
  } finally {
    q.decRef();
  }
}
