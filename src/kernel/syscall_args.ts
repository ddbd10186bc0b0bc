/**
 * The one decoder of syscall arguments, for every thread a program runs on.
 * A program passes addresses and lengths as Words (a number, or a bigint for
 * full 64-bit values) and flags as numbers; the in-process Process, a
 * worker's Task and the kernel thread's server all turn them into what the
 * mechanisms take here, so an argument means the same thing whoever passes
 * it. Arguments arriving through a mailbox are not even typed yet: the
 * `is*` guards check what the wire carried before decoding starts.
 *
 * Everything here is on the hot path of some call (shmat, IPC_STAT, every
 * load and store), so the common case, a small non-negative number, is
 * decided without a bigint and without allocating.
 */
import * as E from 'fp-ts/lib/Either.js';
import { TASK_SIZE, TASK_SIZE_N } from '../abi/constants.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import type { Fault } from '../mm/access.js';
import type { IpcSetArgs, U64Arg } from '../shm/syscalls.js';

/** An address or length as a program passes it: a number, or a bigint for full 64-bit values. */
export type Word = number | bigint;

/** A Word as the u64 a register would hold, or undefined when it is not an integer (NaN, 1.5, Infinity). */
export function toU64(w: Word): bigint | undefined {
  if (typeof w === 'bigint') return BigInt.asUintN(64, w);
  if (!Number.isInteger(w)) return undefined;
  // Most arguments are small non-negative numbers, which need no wrapping.
  return w >= 0 && w <= Number.MAX_SAFE_INTEGER ? BigInt(w) : BigInt.asUintN(64, BigInt(w));
}

/** toU64 without a bigint for the common case, a non-negative safe integer, which stays a number. */
export function toU64Arg(w: Word): U64Arg | undefined {
  return typeof w === 'number' && w >= 0 && Number.isSafeInteger(w) ? w : toU64(w);
}

/** The EINVAL for an argument a C caller could not have passed at all. */
export function badArgument(name: string, value: unknown): E.Either<SysError, never> {
  return E.left(sysError('EINVAL', `${name} must be an integer, not ${String(value)}`));
}

/** EINVAL naming `name` when `value` is not an integer, else undefined. Allocates nothing on success. */
export function notInteger(name: string, value: number): E.Either<SysError, never> | undefined {
  return Number.isInteger(value) ? undefined : badArgument(name, value);
}

/** A user address (the u64 `w` holds) as a number, or undefined when no mapping can hold it. */
export function userAddress(w: Word): number | undefined {
  // The common case, a plain user address, needs no bigint.
  if (typeof w === 'number' && Number.isSafeInteger(w) && w >= 0) return w < TASK_SIZE ? w : undefined;
  return wideAddress(w);
}

/** userAddress for the rest: bigints, negative numbers and non-integers. */
function wideAddress(w: Word): number | undefined {
  const a = toU64(w);
  return a !== undefined && a < TASK_SIZE_N ? Number(a) : undefined;
}

/** Whether `len` can be the length of a load or store: a whole number of bytes. */
export function isAccessLength(len: number): boolean {
  return Number.isSafeInteger(len) && len >= 0;
}

/** The SIGSEGV of an access at `addr` that no mapping can hold. */
export function segvAt(addr: Word): E.Either<Fault, never> {
  return E.left({ signal: 'SIGSEGV', addr: typeof addr === 'number' && Number.isFinite(addr) ? addr : Number.MAX_SAFE_INTEGER });
}

/**
 * Why `addr` (userAddress's decoding) cannot be a futex word, as
 * kernel/futex/core.c get_futex_key says it: EFAULT outside the address
 * space, EINVAL when not 4-byte aligned. Call it only for such an address.
 */
export function badFutexAddress(addr: number | undefined): E.Either<SysError, never> {
  if (addr === undefined) return E.left(sysError('EFAULT', 'futex address outside the address space'));
  return E.left(sysError('EINVAL', `futex address 0x${addr.toString(16)} is not 4-byte aligned`));
}

/** The EFAULT of a futex word that is not mapped readable. */
export function unmappedFutex(addr: number): E.Either<SysError, never> {
  return E.left(sysError('EFAULT', `futex address 0x${addr.toString(16)} is not mapped readable`));
}

// What a mailbox request may carry, before decoding.

export const isWord = (v: unknown): v is Word => typeof v === 'number' || typeof v === 'bigint';

export const isNumber = (v: unknown): v is number => typeof v === 'number';

export function isSetArgs(v: unknown): v is IpcSetArgs {
  const s = v as Partial<IpcSetArgs>;
  return typeof v === 'object' && v !== null && isNumber(s.uid) && isNumber(s.gid) && isNumber(s.mode);
}
