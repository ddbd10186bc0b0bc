/**
 * Byte and atomic access to an address space: the page-fault path.
 *
 * An access resolves each address to its VMA, checks the VMA's protection
 * with x86-64 rules, asks the VMA's Mappable for the frames behind a whole
 * run of pages at once, and copies run by run, one typed-array operation per
 * stretch of consecutive frames in one chunk. Accesses go forward from the
 * first byte and stop at the first page that faults, as a CPU would.
 *
 * Every function requires the owning MemoryManager's mappingMu to be held.
 */

import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from '../abi/constants.js';
import { firstGuard } from './guards.js';
import type { GuardRuns } from './guards.js';
import { ZERO_PAGE_BYTES, ZERO_PAGE_WORDS, isBusError } from './memmap.js';
import type { MemoryFile } from './memory_file.js';
import type { Vma, VmaSet } from './vma.js';
import { copyBytes } from './copy.js';

/**
 * A failed access, as the signal the process would receive: SIGSEGV for an
 * address outside every VMA, against its protection or on a guard page, SIGBUS for a page the
 * backing object does not have (or a misaligned atomic). `addr` is the first
 * byte that could not be accessed.
 */
export interface Fault {
  readonly signal: 'SIGSEGV' | 'SIGBUS';
  readonly addr: number;
}

/** Receives one run: `n` bytes at `at` in `bytes`, which are bytes [done, done+n) of the access. */
type RunVisitor = (bytes: Uint8Array, at: number, n: number, done: number) => void;

const segv = (addr: number): Fault => ({ signal: 'SIGSEGV', addr });
const bus = (addr: number): Fault => ({ signal: 'SIGBUS', addr });
const touchOnly: RunVisitor = () => undefined;

/**
 * How the simulated CPU enforces page protection. x86-64 pages are readable
 * whenever they are present (R, W or X). On a CPU with protection keys Linux
 * makes PROT_EXEC-only mappings truly execute-only (arch/x86/mm/pkeys.c
 * execute_only_pkey), so a read of them faults.
 */
export interface AccessRules {
  readonly executeOnly: boolean;
}

/** Only W allows writing; PROT_NONE allows nothing; see AccessRules for reads. */
export function permits(vma: Vma, write: boolean, rules: AccessRules): boolean {
  if (write) return (vma.perms & PROT_WRITE) !== 0;
  const readable = rules.executeOnly ? PROT_READ | PROT_WRITE : PROT_READ | PROT_WRITE | PROT_EXEC;
  return (vma.perms & readable) !== 0;
}

/** True when `addr`/`len` can name a user range at all; anything else faults at `addr`. */
function plausible(addr: number, len: number): boolean {
  return Number.isSafeInteger(addr) && addr >= 0 && Number.isSafeInteger(len) && len >= 0;
}

/**
 * Where the VMA-level checks first fail in [addr, addr+len): the address of
 * the first byte that is unmapped or lacks the permission, or addr+len.
 */
function reachableEnd(vmas: VmaSet, addr: number, len: number, write: boolean, rules: AccessRules): number {
  const end = addr + len;
  let cur = addr;
  for (let i = vmas.lowerBound(addr); cur < end; i++) {
    const vma = vmas.at(i);
    if (vma === undefined || vma.start > cur || !permits(vma, write, rules)) {
      return cur;
    }
    cur = vma.end;
  }
  return end;
}

/**
 * Translates [addr, addr+len) and hands each run of consecutive frames in
 * one chunk to `visit`. Returns the first fault, after visiting every byte
 * before it; undefined when the whole range was visited.
 */
function walk(vmas: VmaSet, mf: MemoryFile, addr: number, len: number, write: boolean, rules: AccessRules, visit: RunVisitor): Fault | undefined {
  const end = addr + len;
  let cur = addr;
  while (cur < end) {
    const vma = vmas.find(cur);
    if (vma === undefined || !permits(vma, write, rules)) {
      return segv(cur);
    }
    let stop = Math.min(end, vma.end);
    // A guard page in the way ends the access there (SIGSEGV), after the bytes before it.
    const guard = vma.guards === undefined ? -1 : guardAddress(vma, cur, stop);
    if (guard >= 0) stop = guard;
    // Object pages, not bytes: the offset may be past 2^53, where only page-aligned bytes are doubles.
    const firstPage = vma.offset / PAGE_SIZE;
    const lastPage = firstPage + Math.ceil((stop - vma.start) / PAGE_SIZE);
    while (cur < stop) {
      const rel = cur - vma.start;
      const relPage = Math.floor(rel / PAGE_SIZE);
      const page = firstPage + relPage;
      const t = vma.mappable.translate(page, lastPage - page, write);
      if (isBusError(t)) {
        return bus(cur);
      }
      if (t.page !== page || !(t.pages >= 1 && t.pages <= lastPage - page)) {
        throw new Error(`translate(${page}, ${lastPage - page}) broke its contract: page ${t.page}, ${t.pages} pages`);
      }
      let inPage = rel - relPage * PAGE_SIZE;
      if (t.zero === true) {
        // The zero page (a read only): its bytes, not a frame's.
        const runEnd = Math.min(stop, cur - inPage + PAGE_SIZE);
        visit(ZERO_PAGE_BYTES, inPage, runEnd - cur, cur - addr);
        cur = runEnd;
        continue;
      }
      let frame = t.frame;
      let pages = t.pages;
      while (pages > 0 && cur < stop) {
        const inChunk = mf.contiguousInChunk(frame, pages);
        const runEnd = Math.min(stop, cur - inPage + inChunk * PAGE_SIZE);
        visit(mf.chunkBytes(frame), mf.byteOffset(frame) + inPage, runEnd - cur, cur - addr);
        cur = runEnd;
        frame += inChunk;
        pages -= inChunk;
        inPage = 0;
      }
    }
    if (guard >= 0) return segv(guard);
  }
  return undefined;
}

/**
 * The first address of [cur, stop) (inside `vma`, which has guards) on a
 * guard page: `cur` itself when its page is one; -1 when none is. Out of
 * line: only a VMA with guard pages pays for it.
 */
function guardAddress(vma: Vma, cur: number, stop: number): number {
  const page = firstGuard(vma.guards!, Math.floor(cur / PAGE_SIZE), Math.ceil(stop / PAGE_SIZE));
  return page < 0 ? -1 : Math.max(cur, page * PAGE_SIZE);
}

/** Whether the page holding `addr` is one of `guards` (the caller tested that its VMA has some). */
function isGuarded(guards: GuardRuns, addr: number): boolean {
  const page = Math.floor(addr / PAGE_SIZE);
  return firstGuard(guards, page, page + 1) >= 0;
}

/**
 * Reads `len` bytes at `addr`. A read that faults returns only the fault; the
 * pages before the faulting one are still touched (and so populated).
 */
export function readBytes(vmas: VmaSet, mf: MemoryFile, rules: AccessRules, addr: number, len: number): E.Either<Fault, Uint8Array> {
  if (len === 0) return E.right(new Uint8Array(0));
  if (!plausible(addr, len)) {
    return E.left(segv(addr));
  }
  const reach = reachableEnd(vmas, addr, len, false, rules);
  if (reach < addr + len) {
    // Check the VMAs first so a read that must fail never allocates its whole result.
    return E.left(walk(vmas, mf, addr, reach - addr, false, rules, touchOnly) ?? segv(reach));
  }
  const out = new Uint8Array(len);
  const fault = copyOut(vmas, mf, rules, addr, out);
  return fault === undefined ? E.right(out) : E.left(fault);
}

/**
 * Reads `dst.length` bytes at `addr` into `dst` (a caller's buffer, as
 * read(2) fills one). On a fault, `dst` holds the bytes of the pages before
 * the faulting one.
 */
export function readBytesInto(vmas: VmaSet, mf: MemoryFile, rules: AccessRules, addr: number, dst: Uint8Array): E.Either<Fault, void> {
  if (dst.length === 0) return E.right(undefined);
  if (!plausible(addr, dst.length)) return E.left(segv(addr));
  const fault = copyOut(vmas, mf, rules, addr, dst);
  return fault === undefined ? E.right(undefined) : E.left(fault);
}

function copyOut(vmas: VmaSet, mf: MemoryFile, rules: AccessRules, addr: number, dst: Uint8Array): Fault | undefined {
  return walk(vmas, mf, addr, dst.length, false, rules, (bytes, at, n, done) => {
    copyBytes(dst, done, bytes, at, n);
  });
}

/** Writes `src` at `addr`. Bytes of pages before a faulting page stay written. */
export function writeBytes(vmas: VmaSet, mf: MemoryFile, rules: AccessRules, addr: number, src: Uint8Array): E.Either<Fault, void> {
  if (src.length === 0) return E.right(undefined);
  if (!plausible(addr, src.length)) {
    return E.left(segv(addr));
  }
  const fault = walk(vmas, mf, addr, src.length, true, rules, (bytes, at, n, done) => {
    copyBytes(bytes, at, src, done, n);
  });
  return fault === undefined ? E.right(undefined) : E.left(fault);
}

/** Sets `len` bytes at `addr` to `value` (memset), with writeBytes's partial semantics. */
export function fillBytes(vmas: VmaSet, mf: MemoryFile, rules: AccessRules, addr: number, len: number, value: number): E.Either<Fault, void> {
  if (len === 0) return E.right(undefined);
  if (!plausible(addr, len)) {
    return E.left(segv(addr));
  }
  const fault = walk(vmas, mf, addr, len, true, rules, (bytes, at, n) => {
    bytes.fill(value, at, at + n);
  });
  return fault === undefined ? E.right(undefined) : E.left(fault);
}

/**
 * Runs `op` on the 32-bit word at `addr` (an Int32Array over its chunk and
 * the word's index). The address must be 4-byte aligned, else SIGBUS: a
 * split-lock atomic is treated as a bus error here. Reads need a readable
 * page; `write` operations need PROT_WRITE.
 */
export function atomic32(
  vmas: VmaSet,
  mf: MemoryFile,
  rules: AccessRules,
  addr: number,
  write: boolean,
  op: (words: Int32Array, index: number, frame: number) => number,
): E.Either<Fault, number> {
  if (!plausible(addr, 4)) {
    return E.left(segv(addr));
  }
  if (addr % 4 !== 0) {
    return E.left(bus(addr));
  }
  const vma = vmas.find(addr);
  if (vma === undefined || !permits(vma, write, rules) || (vma.guards !== undefined && isGuarded(vma.guards, addr))) {
    return E.left(segv(addr));
  }
  const rel = addr - vma.start;
  const relPage = Math.floor(rel / PAGE_SIZE);
  const t = vma.mappable.translate(vma.offset / PAGE_SIZE + relPage, 1, write);
  if (isBusError(t)) {
    return E.left(bus(addr));
  }
  // The zero page takes only reads (a write translation allocates); its frame is ZERO_FRAME.
  if (t.zero === true) return E.right(op(ZERO_PAGE_WORDS, (rel - relPage * PAGE_SIZE) >> 2, t.frame));
  const at = mf.byteOffset(t.frame) + (rel - relPage * PAGE_SIZE);
  return E.right(op(mf.int32View(t.frame), at >> 2, t.frame));
}
