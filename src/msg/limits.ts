/**
 * Per-namespace message queue limits and their sysctls (ipc/ipc_sysctl.c,
 * msg_init_ns). Each IPC namespace has its own copy, starting at Linux's
 * defaults.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPCMNI } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { MSGMAX, MSGMNB, MSGMNI } from '../abi/msg.js';

/** The message queue sysctls under /proc/sys/kernel. */
export type MsgSysctl = 'msgmax' | 'msgmnb' | 'msgmni' | 'auto_msgmni' | 'msg_next_id';

/** Every message queue sysctl name. */
export const MSG_SYSCTLS: readonly MsgSysctl[] = ['msgmax', 'msgmnb', 'msgmni', 'auto_msgmni', 'msg_next_id'];

/** Whether `name` names a message queue sysctl. */
export function isMsgSysctl(name: unknown): name is MsgSysctl {
  return typeof name === 'string' && (MSG_SYSCTLS as readonly string[]).includes(name);
}

const INT_MAX = 0x7fffffff;

/** The message queue limits of one IPC namespace. Guarded by the namespace's msg registry lock. */
export class MsgLimits {
  /** kernel.msgmax: the largest message msgsnd accepts, and MSG_COPY's buffer cap. */
  msgmax: number = MSGMAX;
  /** kernel.msgmnb: q_qbytes of a queue created from now on (existing queues keep theirs). */
  msgmnb: number = MSGMNB;
  /** kernel.msgmni: most queues at once (ipc_addid also caps it at IPCMNI). */
  msgmni: number = MSGMNI;
  /** kernel.msg_next_id: the id the next msgget creation uses, or -1. */
  msgNextId = -1;

  /** Reads a sysctl as /proc/sys/kernel/NAME shows it. auto_msgmni always reads 0. */
  read(name: MsgSysctl): bigint {
    switch (name) {
      case 'msgmax':
        return BigInt(this.msgmax);
      case 'msgmnb':
        return BigInt(this.msgmnb);
      case 'msgmni':
        return BigInt(this.msgmni);
      case 'auto_msgmni':
        return 0n;
      case 'msg_next_id':
        return BigInt(this.msgNextId);
    }
  }

  /**
   * Writes a sysctl with the range its proc_dointvec_minmax handler
   * enforces: msgmax and msgmnb 0..INT_MAX, msgmni 0..IPCMNI, msg_next_id
   * 0..INT_MAX (-1 cannot be written back), auto_msgmni 0..1 and then
   * ignored (proc_ipc_auto_msgmni writes into a dummy). Out of range is
   * EINVAL and changes nothing, and so is anything but a bigint or a name
   * that is not a message queue sysctl.
   */
  write(name: MsgSysctl, value: bigint): E.Either<SysError, void> {
    if (!isMsgSysctl(name)) return E.left(sysError('EINVAL', `${typeof name === 'string' ? `kernel.${name}` : 'a non-string name'} is not a msg sysctl`));
    if (typeof value !== 'bigint') return E.left(sysError('EINVAL', `kernel.${name} takes a bigint, not a ${typeof value}`));
    const hi = name === 'msgmni' ? IPCMNI : name === 'auto_msgmni' ? 1 : INT_MAX;
    if (value < 0n || value > BigInt(hi)) return E.left(sysError('EINVAL', `kernel.${name} accepts 0..${hi}, not ${value}`));
    const v = Number(value);
    switch (name) {
      case 'msgmax':
        this.msgmax = v;
        break;
      case 'msgmnb':
        this.msgmnb = v;
        break;
      case 'msgmni':
        this.msgmni = v;
        break;
      case 'auto_msgmni':
        break;
      case 'msg_next_id':
        this.msgNextId = v;
        break;
    }
    return E.right(undefined);
  }
}
