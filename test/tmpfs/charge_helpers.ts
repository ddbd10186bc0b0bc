/** A memory cgroup with a page limit, for tests of charging and refusal. */
import type { MemoryCharge } from '../../src/memcg/charge.js';

export class LimitedCharge implements MemoryCharge {
  charged = 0;
  refusals = 0;

  constructor(readonly limitPages: number) {}

  tryCharge(pages: number): boolean {
    if (this.charged + pages > this.limitPages) {
      this.refusals += 1;
      return false;
    }
    this.charged += pages;
    return true;
  }

  uncharge(pages: number): void {
    this.charged -= pages;
  }
}
