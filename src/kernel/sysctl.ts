/**
 * The IPC sysctls of a namespace, /proc/sys/kernel/NAME, as one name space:
 * shm's (ipc/limits.ts), sem's (kernel.sem, kernel.sem_next_id) and msg's
 * (kernel.msgmax, msgmnb, msgmni, auto_msgmni, msg_next_id). Each write
 * takes the lock that guards its limits and goes through the mechanism's
 * own rules; this file only routes by name and checks a value's type.
 *
 * Values are bigints; kernel.sem is four ints ("SEMMSL SEMMNS SEMOPM
 * SEMMNI") and is written as an array of one to four bigints, as its file
 * takes one to four numbers (a lone bigint is a one-value write).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import type { ShmSysctl } from '../ipc/limits.js';
import { SHM_SYSCTLS, isShmSysctl } from '../ipc/limits.js';
import type { MsgSysctl } from '../msg/limits.js';
import { MSG_SYSCTLS, isMsgSysctl } from '../msg/limits.js';
import type { SemSysctl } from '../sem/limits.js';
import type { IpcNamespace } from './ipc_namespace.js';
import { describeValue } from './syscall_args.js';

/** Every IPC sysctl under /proc/sys/kernel. */
export type IpcSysctl = ShmSysctl | SemSysctl | MsgSysctl;

/** The sem sysctls. */
export const SEM_SYSCTLS: readonly SemSysctl[] = ['sem', 'sem_next_id'];

/** Every IPC sysctl name. */
export const IPC_SYSCTLS: readonly IpcSysctl[] = [...SHM_SYSCTLS, ...SEM_SYSCTLS, ...MSG_SYSCTLS];

/** A sysctl's value: a bigint, or kernel.sem's four (one to four when written). */
export type SysctlValue = bigint | readonly bigint[];

function isSemSysctl(name: unknown): name is SemSysctl {
  return name === 'sem' || name === 'sem_next_id';
}

function unknownName(name: unknown): E.Either<SysError, never> {
  return E.left(sysError('EINVAL', `${typeof name === 'string' ? `kernel.${name}` : describeValue(name)} is not an IPC sysctl`));
}

/**
 * Writes sysctl `name` of `ns`. Unknown names and values that are not
 * bigints (an array of them for kernel.sem) are EINVAL; the ranges are the
 * mechanisms'. kernel.shm_rmid_forced's side effect is the caller's.
 */
export function writeIpcSysctl(ns: IpcNamespace, name: IpcSysctl, value: SysctlValue): E.Either<SysError, void> {
  if (isShmSysctl(name)) return ns.shm.mu.with(() => ns.limits.write(name, value as bigint));
  if (isMsgSysctl(name)) {
    const written = ns.msg.mu.with(() => ns.msgLimits.write(name, value as bigint));
    // msgmax is copied into each lease's buffer when it is granted: workers read the new one after the next grant.
    if (E.isRight(written)) ns.msg.recallLeases();
    return written;
  }
  if (!isSemSysctl(name)) return unknownName(name);
  if (name === 'sem_next_id') return ns.sem.mu.with(() => ns.semLimits.writeSemNextId(value as bigint));
  const values = typeof value === 'bigint' ? [value] : value;
  if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'bigint')) {
    return E.left(sysError('EINVAL', `kernel.sem takes one to four bigints (more are ignored), not ${describeValue(value)}`));
  }
  const written = ns.sem.mu.with(() => ns.semLimits.writeSem(values));
  // semopm may now refuse a single operation, which workers' leased semops do not check.
  if (E.isRight(written)) ns.sem.recallLeases();
  return written;
}

/** Reads sysctl `name` of `ns`: a bigint, or kernel.sem's four. Unknown names are EINVAL. */
export function readIpcSysctl(ns: IpcNamespace, name: IpcSysctl): E.Either<SysError, SysctlValue> {
  if (isShmSysctl(name)) return E.right(ns.shm.mu.with(() => ns.limits.read(name)));
  if (isMsgSysctl(name)) return E.right(ns.msg.mu.with(() => ns.msgLimits.read(name)));
  if (!isSemSysctl(name)) return unknownName(name);
  return E.right(ns.sem.mu.with(() => (name === 'sem' ? ns.semLimits.readSem().map((v) => BigInt(v)) : BigInt(ns.semLimits.semNextId))));
}
