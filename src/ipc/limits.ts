/**
 * Per-namespace SysV shm limits and their sysctls (ipc/ipc_sysctl.c). Each
 * IPC namespace has its own copy, starting at Linux's defaults.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { IPCMNI, SHMALL_DEFAULT, SHMMAX_DEFAULT, SHMMNI_DEFAULT, U64_MAX } from '../abi/constants.js';

/** The shm sysctls under /proc/sys/kernel. */
export type ShmSysctl = 'shmmax' | 'shmall' | 'shmmni' | 'shm_rmid_forced' | 'shm_next_id';

/** Every shm sysctl name. */
export const SHM_SYSCTLS: readonly ShmSysctl[] = ['shmmax', 'shmall', 'shmmni', 'shm_rmid_forced', 'shm_next_id'];

/** Whether `name` names a shm sysctl (a file under /proc/sys/kernel that this namespace has). */
export function isShmSysctl(name: unknown): name is ShmSysctl {
  return typeof name === 'string' && (SHM_SYSCTLS as readonly string[]).includes(name);
}

const INT_MAX = 0x7fffffffn;
const SAFE_N = 2n ** 53n;

/** A u64 limit as a number: exact below 2^53, Infinity from there on. */
export function asNumberLimit(limit: bigint): number {
  return limit >= SAFE_N ? Infinity : Number(limit);
}

/** The limits of one IPC namespace. Guarded by the namespace's shm registry lock. */
export class IpcLimits {
  private shmmaxValue: bigint = SHMMAX_DEFAULT;
  private shmallValue: bigint = SHMALL_DEFAULT;
  /**
   * shmmax and shmall as numbers, Infinity from 2^53 on (no size or page
   * count below 2^53 can pass such a limit): shmget's common case compares
   * in numbers, without a bigint comparison and conversion per call.
   */
  private shmmaxNumber = asNumberLimit(SHMMAX_DEFAULT);
  private shmallNumber = asNumberLimit(SHMALL_DEFAULT);

  /** Largest segment, in bytes (kernel.shmmax). */
  get shmmax(): bigint {
    return this.shmmaxValue;
  }

  set shmmax(value: bigint) {
    this.shmmaxValue = value;
    this.shmmaxNumber = asNumberLimit(value);
  }

  /** Total pages of all segments (kernel.shmall). */
  get shmall(): bigint {
    return this.shmallValue;
  }

  set shmall(value: bigint) {
    this.shmallValue = value;
    this.shmallNumber = asNumberLimit(value);
  }

  /** shmmax as a number; Infinity when it is 2^53 or more. */
  get shmmaxAsNumber(): number {
    return this.shmmaxNumber;
  }

  /** shmall as a number; Infinity when it is 2^53 or more. */
  get shmallAsNumber(): number {
    return this.shmallNumber;
  }
  /** Most segments at once (kernel.shmmni), capped at IPCMNI. */
  shmmni: number = SHMMNI_DEFAULT;
  /** kernel.shm_rmid_forced: destroy a segment as soon as nobody has it attached. */
  shmRmidForced = false;
  /** kernel.shm_next_id: the id the next creation uses, or -1. */
  shmNextId = -1;

  /** Reads a sysctl as /proc/sys/kernel/NAME shows it. */
  read(name: ShmSysctl): bigint {
    switch (name) {
      case 'shmmax':
        return this.shmmax;
      case 'shmall':
        return this.shmall;
      case 'shmmni':
        return BigInt(this.shmmni);
      case 'shm_rmid_forced':
        return this.shmRmidForced ? 1n : 0n;
      case 'shm_next_id':
        return BigInt(this.shmNextId);
    }
  }

  /**
   * Writes a sysctl, with the range each handler enforces: shmmax and shmall
   * take any unsigned long (proc_doulongvec_minmax), shmmni 0..IPCMNI,
   * shm_rmid_forced 0..1, shm_next_id 0..INT_MAX (proc_dointvec_minmax).
   * Out of range is EINVAL and changes nothing, and so is anything but a
   * bigint (a fraction or a string has no place in an unsigned long) or a
   * name that is not a shm sysctl.
   */
  write(name: ShmSysctl, value: bigint): E.Either<SysError, void> {
    if (!isShmSysctl(name)) return E.left(sysError('EINVAL', `${typeof name === 'string' ? `kernel.${name}` : 'a non-string name'} is not a shm sysctl`));
    if (typeof value !== 'bigint') return E.left(sysError('EINVAL', `kernel.${name} takes a bigint, not a ${typeof value}`));
    const range = (lo: bigint, hi: bigint): E.Either<SysError, bigint> =>
      value >= lo && value <= hi ? E.right(value) : E.left(sysError('EINVAL', `kernel.${name} accepts ${lo}..${hi}, not ${value}`));
    switch (name) {
      case 'shmmax':
        return E.map((v: bigint) => void (this.shmmax = v))(range(0n, U64_MAX));
      case 'shmall':
        return E.map((v: bigint) => void (this.shmall = v))(range(0n, U64_MAX));
      case 'shmmni':
        return E.map((v: bigint) => void (this.shmmni = Number(v)))(range(0n, BigInt(IPCMNI)));
      case 'shm_rmid_forced':
        return E.map((v: bigint) => void (this.shmRmidForced = v === 1n))(range(0n, 1n));
      case 'shm_next_id':
        return E.map((v: bigint) => void (this.shmNextId = Number(v)))(range(0n, INT_MAX));
    }
  }
}
