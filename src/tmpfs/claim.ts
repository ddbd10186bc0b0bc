/**
 * The ways claiming a tmpfs page can fail, and the errors they become. The
 * codes are negative numbers so that the page-fault path allocates nothing.
 */
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';

/**
 * A page allocation the memory cgroup refused. It is the ENOMEM Linux's
 * shmem returns, marked so that the kernel can OOM-kill the allocating task.
 */
export interface ChargeRefused extends SysError {
  readonly chargeRefused: true;
}

/** True when `e` reports a refused memory cgroup charge. */
export function isChargeRefused(e: SysError): e is ChargeRefused {
  return (e as Partial<ChargeRefused>).chargeRefused === true;
}

/** claimPage's failures, as negative numbers so the hot path allocates nothing. */
export const CLAIM_NO_SPACE = -1;
export const CLAIM_CHARGE_REFUSED = -2;
export const CLAIM_NO_MEMORY = -3;

/** The SysError for a negative claimPage result. */
export function claimError(code: number): SysError {
  if (code === CLAIM_CHARGE_REFUSED) {
    const refused: ChargeRefused = { ...sysError('ENOMEM', 'the memory cgroup refused to charge a tmpfs page'), chargeRefused: true };
    return refused;
  }
  if (code === CLAIM_NO_MEMORY) return sysError('ENOMEM', 'the machine has no free page frame');
  return sysError('ENOSPC', 'the tmpfs has no free page');
}
