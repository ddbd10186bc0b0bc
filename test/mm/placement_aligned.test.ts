/**
 * An aligned (hugetlb) placement keeps the highest aligned address of the
 * window it searched, and the window's unused slack stays visible to the next
 * search: a page placed after it lands directly below it, as Linux places it
 * (the differential fuzzer found the emulator one alignment lower).
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import type { Mappable, MappingIdentity } from '../../src/mm/memmap.js';
import { unmappedArea } from '../../src/mm/placement.js';
import type { Vma } from '../../src/mm/vma.js';
import { VmaSet } from '../../src/mm/vma.js';

const HUGE = 2 * 1024 * 1024;
const BASE = 64 * HUGE;
const nothing = {} as Mappable & MappingIdentity;
const vma = (start: number, end: number): Vma => ({ start, end, mappable: nothing, offset: 0, perms: 3, maxPerms: 7, identity: nothing, writable: true });

describe('aligned placement', () => {
  it('puts a huge mapping at the highest aligned address and the next page directly below it', () => {
    const set = new VmaSet(BASE);
    const huge = unmappedArea(set, 0, HUGE, HUGE);
    expect(huge).toBe(BASE - HUGE);
    set.insert(vma(huge, huge + HUGE));
    const page = unmappedArea(set, 0, PAGE_SIZE, PAGE_SIZE);
    expect(page).toBe(huge - PAGE_SIZE);
  });

  it('leaves the slack above an aligned mapping usable when the gap top is not aligned', () => {
    const set = new VmaSet(BASE - 3 * PAGE_SIZE);
    const huge = unmappedArea(set, 0, HUGE, HUGE);
    expect(huge % HUGE).toBe(0);
    set.insert(vma(huge, huge + HUGE));
    // Three pages between the huge mapping's end and the base are free: the next page goes there.
    expect(unmappedArea(set, 0, PAGE_SIZE, PAGE_SIZE)).toBe(BASE - 4 * PAGE_SIZE);
  });

  it('puts the next huge mapping directly below an aligned one, not below its unused slack', () => {
    // Two 4 MiB hugetlb attachments in a row touch on Linux 6.18; the emulator
    // left a 2 MiB hole between them, since the window's slack below the first
    // one was skipped as if it were a hole above the search floor.
    const set = new VmaSet(BASE);
    const first = unmappedArea(set, 0, 2 * HUGE, HUGE);
    expect(first).toBe(BASE - 2 * HUGE);
    set.insert(vma(first, first + 2 * HUGE));
    const second = unmappedArea(set, 0, 2 * HUGE, HUGE);
    expect(second).toBe(first - 2 * HUGE);
    set.insert(vma(second, second + 2 * HUGE));
    // A page then goes right below the second, and a huge mapping after it at
    // the highest aligned address below that page.
    const page = unmappedArea(set, 0, PAGE_SIZE, PAGE_SIZE);
    expect(page).toBe(second - PAGE_SIZE);
    set.insert(vma(page, page + PAGE_SIZE));
    expect(unmappedArea(set, 0, HUGE, HUGE)).toBe(second - 2 * HUGE);
  });
});
