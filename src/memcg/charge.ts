/**
 * Memory cgroup charging for tmpfs pages. Linux charges a shmem page to the
 * memory cgroup of the task that first allocates it (mem_cgroup_charge in
 * shmem_alloc_and_add_folio) and keeps that charge until the page is freed,
 * whoever frees it. tmpfs therefore remembers the target of every page.
 */

/**
 * A memory cgroup as tmpfs sees it. The container engine implements one with
 * a limit; the host's cgroup never refuses.
 */
export interface MemoryCharge {
  /**
   * Charges `pages` pages; false (and nothing charged) when the limit
   * forbids it. A `speculative` charge (private memory allocating a page
   * past the one its fault needs) is refused without counting in failcnt.
   */
  tryCharge(pages: number, speculative?: boolean): boolean;
  /** Returns `pages` pages charged earlier by tryCharge. */
  uncharge(pages: number): void;
}

/**
 * Who pays for a page first touched through a mapping. A fault has no
 * syscall argument to carry a cgroup, so the kernel answers for the task that
 * is touching memory now (Linux charges the faulting mm's memory cgroup).
 */
export interface FaultChargeSource {
  /** The charge target of the task now touching memory. */
  current(): MemoryCharge;
  /** The current task's cgroup refused a page: the memory cgroup OOM killer's cue. */
  refused(): void;
}

/** A cgroup without a limit (the root cgroup): it counts pages and never refuses. */
export class UnlimitedCharge implements MemoryCharge {
  private charged = 0;

  /** Pages charged and not yet uncharged. */
  get chargedPages(): number {
    return this.charged;
  }

  /** Checkpoint restore: the pages charged when the checkpoint was taken. */
  restoreCharged(pages: number): void {
    this.charged = pages;
  }

  tryCharge(pages: number): boolean {
    this.charged += pages;
    return true;
  }

  uncharge(pages: number): void {
    if (pages > this.charged) throw new Error(`uncharge of ${pages} pages with only ${this.charged} charged`);
    this.charged -= pages;
  }
}

/** A FaultChargeSource that bills every fault to one target; for a tmpfs used outside a kernel. */
export function fixedFaultCharge(target: MemoryCharge): FaultChargeSource {
  return { current: () => target, refused: () => undefined };
}
