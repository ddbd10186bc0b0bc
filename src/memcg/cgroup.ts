/**
 * A container's memory cgroup, as the host channel meets it: a limit and the
 * pages charged to it (tmpfs pages, and private memory: anonymous pages and
 * copy-on-write copies). Host processes stay in the kernel's root cgroup,
 * which has no limit.
 *
 * Linux charges a shmem page to the memory cgroup of the task that first
 * allocates it and keeps the charge there until the page is freed, whoever
 * frees it and wherever the task has gone (mm/memcontrol.c; measured in the
 * reference notes §6). A private page (anonymous memory, or the copy a
 * write to a private file page or a page shared after fork makes) is
 * charged the same way, to the faulting task's cgroup (do_anonymous_page,
 * wp_page_copy), and a page still shared after fork stays charged to the
 * cgroup that first paid for it. A charge that would pass a container's limit is
 * refused; the kernel then OOM-kills the writer (exit status 137) instead of
 * failing the write, and pages written before that stay charged.
 */
import { PAGE_SIZE } from '../abi/constants.js';
import type { MemoryCharge } from './charge.js';

/** One memory cgroup. tmpfs calls tryCharge/uncharge for every page it claims and frees. */
export class MemoryCgroup implements MemoryCharge {
  /** memory.limit_in_bytes in whole pages (Linux rounds the limit down); undefined without a limit. */
  readonly limitPages: number | undefined = undefined;
  private charged = 0;
  private refusals = 0;

  /**
   * @param path the cgroup's path under the memory hierarchy (`/` for the root).
   * @param limitBytes the limit in bytes; undefined or 0 means none, as `isula run -m 0`.
   */
  constructor(
    readonly path: string,
    limitBytes?: bigint,
  ) {
    // A constructor cannot return a Left: a value no caller could mean is a TypeError naming it.
    if (typeof path !== 'string') throw new TypeError('MemoryCgroup.constructor: path must be a string');
    if (limitBytes !== undefined && (typeof limitBytes !== 'bigint' || limitBytes < 0n || limitBytes > 0x7fffffffffffffffn)) {
      throw new TypeError('MemoryCgroup.constructor: limitBytes must be undefined or a bigint from 0 to 2^63-1');
    }
    this.limitPages = limitBytes === undefined || limitBytes === 0n ? undefined : Number(limitBytes / BigInt(PAGE_SIZE));
  }

  /** Pages charged now (memory.usage_in_bytes / PAGE_SIZE, counting tmpfs and private pages). */
  get usagePages(): number {
    return this.charged;
  }

  /** memory.usage_in_bytes, counting tmpfs and private pages. */
  get usageBytes(): bigint {
    return BigInt(this.charged) * BigInt(PAGE_SIZE);
  }

  /**
   * memory.failcnt: charges refused at the limit. The kernel OOM-kills the
   * writer of every refused charge, so this is also the oom_kill count.
   */
  get failCount(): number {
    return this.refusals;
  }

  /**
   * Checkpoint restore: the usage and refusal count checkpointed.
   * @internal
   */
  restoreCounters(chargedPages: number, refusals: number): void {
    this.charged = chargedPages;
    this.refusals = refusals;
  }

  /**
   * Charges `pages` pages, or refuses at the limit (counted in failCount
   * unless `speculative`). tmpfs calls it for each page it claims, private
   * memory for each page a fault allocates.
   */
  tryCharge(pages: number, speculative = false): boolean {
    if (this.limitPages !== undefined && this.charged + pages > this.limitPages) {
      if (!speculative) this.refusals += 1;
      return false;
    }
    this.charged += pages;
    return true;
  }

  /** Returns `pages` pages charged earlier. tmpfs calls it for each page it frees. */
  uncharge(pages: number): void {
    if (pages > this.charged) throw new Error(`memcg ${this.path}: uncharge of ${pages} pages with ${this.charged} charged`);
    this.charged -= pages;
  }
}
