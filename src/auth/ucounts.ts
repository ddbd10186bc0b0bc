/**
 * Locked-memory accounting per user (Linux ucounts, UCOUNT_RLIMIT_MEMLOCK),
 * which SHM_LOCK charges (mm/mlock.c user_shm_lock). Kernel-wide: one user
 * namespace.
 */
import { PAGE_SHIFT, RLIM_INFINITY } from '../abi/constants.js';

/** Pages locked by SHM_LOCK, per uid. */
export class LockedMemory {
  private readonly pagesByUid = new Map<number, bigint>();

  /** Pages currently charged to `uid`. */
  pages(uid: number): bigint {
    return this.pagesByUid.get(uid) ?? 0n;
  }

  /** Checkpoint: every uid with a charge, and its pages, in uid order. */
  entries(): [number, bigint][] {
    return [...this.pagesByUid.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** Checkpoint restore: `uid` has `pages` pages charged. */
  restoreEntry(uid: number, pages: bigint): void {
    if (pages > 0n) this.pagesByUid.set(uid, pages);
  }

  /**
   * user_shm_lock: charges the pages of `bytes` to `uid`, refusing (false)
   * when the total would pass the soft RLIMIT_MEMLOCK (in pages) and the
   * caller lacks CAP_IPC_LOCK.
   */
  charge(uid: number, bytes: bigint, softLimit: bigint, capIpcLock: boolean): boolean {
    const pages = (bytes + (1n << BigInt(PAGE_SHIFT)) - 1n) >> BigInt(PAGE_SHIFT);
    const total = this.pages(uid) + pages;
    const limit = softLimit === RLIM_INFINITY ? RLIM_INFINITY : softLimit >> BigInt(PAGE_SHIFT);
    if (total > limit && !capIpcLock) return false;
    this.pagesByUid.set(uid, total);
    return true;
  }

  /** user_shm_unlock: returns the charge taken by charge(). */
  uncharge(uid: number, bytes: bigint): void {
    const pages = (bytes + (1n << BigInt(PAGE_SHIFT)) - 1n) >> BigInt(PAGE_SHIFT);
    const left = this.pages(uid) - pages;
    if (left < 0n) throw new Error(`memlock accounting underflow for uid ${uid}`);
    if (left === 0n) this.pagesByUid.delete(uid);
    else this.pagesByUid.set(uid, left);
  }
}
