/**
 * Guard pages (madvise MADV_GUARD_INSTALL and MADV_GUARD_REMOVE, Linux
 * 6.13 and later). Linux keeps a marker in each guarded page's PTE, which
 * belongs to the address space, not to the mapped object: a forked child
 * copies it, munmap drops it with the page table, and any access to the
 * page is SIGSEGV.
 *
 * Here each VMA carries the guarded pages it covers as a sorted list of
 * runs of virtual page numbers (address / PAGE_SIZE), flattened into one
 * array [start0, end0, start1, end1, ...] with each run [start, end) non
 * empty, disjoint from and not touching the next. A list is never changed
 * in place: install and remove build a new one, so a fork's child and the
 * two halves of a split may hold the same array (a split clips it to each
 * half anyway). A VMA without guards holds `undefined`, and the access
 * paths test only that before doing anything else.
 */

/** Guarded virtual pages, as sorted flattened runs; see the module comment. */
export type GuardRuns = readonly number[];

/** Index of the first run whose end is past `page` (the run holding it, or the next one), as an even index; runs.length when none. */
function firstRunEndingAfter(runs: GuardRuns, page: number): number {
  let lo = 0;
  let hi = runs.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (runs[2 * mid + 1]! <= page) lo = mid + 1;
    else hi = mid;
  }
  return 2 * lo;
}

/** The first guarded page in [from, to), or -1. */
export function firstGuard(runs: GuardRuns, from: number, to: number): number {
  const i = firstRunEndingAfter(runs, from);
  if (i >= runs.length) return -1;
  const start = Math.max(runs[i]!, from);
  return start < to ? start : -1;
}

/** Whether any page of [from, to) is guarded. */
export function anyGuard(runs: GuardRuns | undefined, from: number, to: number): boolean {
  return runs !== undefined && firstGuard(runs, from, to) >= 0;
}

/** The runs with pages [from, to) guarded too (unchanged for an empty range). */
export function withGuards(runs: GuardRuns | undefined, from: number, to: number): GuardRuns | undefined {
  if (from >= to) return runs;
  const out: number[] = [];
  let s = from;
  let e = to;
  const list = runs ?? [];
  let i = 0;
  // Runs ending before the new one (not touching it) stay as they are.
  for (; i < list.length && list[i + 1]! < s; i += 2) out.push(list[i]!, list[i + 1]!);
  // Runs overlapping or touching it join it.
  for (; i < list.length && list[i]! <= e; i += 2) {
    s = Math.min(s, list[i]!);
    e = Math.max(e, list[i + 1]!);
  }
  out.push(s, e);
  for (; i < list.length; i += 2) out.push(list[i]!, list[i + 1]!);
  return out;
}

/** The runs without pages [from, to) (unchanged for an empty range); undefined when nothing stays guarded. */
export function withoutGuards(runs: GuardRuns | undefined, from: number, to: number): GuardRuns | undefined {
  if (runs === undefined || from >= to) return runs;
  const out: number[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    const s = runs[i]!;
    const e = runs[i + 1]!;
    if (e <= from || s >= to) {
      out.push(s, e);
      continue;
    }
    if (s < from) out.push(s, from);
    if (e > to) out.push(to, e);
  }
  return out.length === 0 ? undefined : out;
}

/** The part of the runs inside pages [from, to); undefined when none is. */
export function clipGuards(runs: GuardRuns | undefined, from: number, to: number): GuardRuns | undefined {
  if (runs === undefined) return undefined;
  const out: number[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    const s = Math.max(runs[i]!, from);
    const e = Math.min(runs[i + 1]!, to);
    if (s < e) out.push(s, e);
  }
  return out.length === 0 ? undefined : out;
}

/**
 * Whether `runs` is a well-formed list inside pages [from, to): an even
 * number of integers, each run non-empty, in order, not touching the next.
 * (The tests' check of the lists install, remove and clip build; a
 * checkpoint image's runs, [first page, pages], are checked in
 * checkpoint/meaning.ts.)
 */
export function guardRunsValid(runs: readonly number[], from: number, to: number): boolean {
  if (runs.length === 0 || runs.length % 2 !== 0) return false;
  let prev = from - 1;
  for (let i = 0; i < runs.length; i += 2) {
    const s = runs[i]!;
    const e = runs[i + 1]!;
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s <= prev || s >= e || s < from || e > to) return false;
    prev = e;
  }
  return true;
}
