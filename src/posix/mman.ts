/**
 * msync, mlock, mlock2, munlock, madvise and mincore: the range calls on an
 * address space, with Linux's argument checks in its order (mm/msync.c,
 * mm/mlock.c, mm/madvise.c, mm/mincore.c). Addresses and lengths arrive as
 * the u64s a register holds, and their sums wrap as C's do; the walks over
 * the VMAs are the memory manager's.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE, TASK_SIZE } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import {
  MADV_COLD,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MADV_KEEPONFORK,
  MADV_MERGEABLE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_SEQUENTIAL,
  MADV_UNMERGEABLE,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  MLOCK_ONFAULT,
  MS_ASYNC,
  MS_INVALIDATE,
  MS_SYNC,
} from '../abi/mman.js';
import { AnonymousMemory } from '../mm/anon.js';
import type { MappingContext } from '../mm/memmap.js';
import type { MadvisePiece, MemoryManager } from '../mm/memory_manager.js';
import { isHugetlbPiece } from '../mm/vma.js';
import type { Vma, VmaFlag } from '../mm/vma.js';

const PAGE = BigInt(PAGE_SIZE);
const U64 = (1n << 64n) - 1n;
const TASK = BigInt(TASK_SIZE);

/** PAGE_ALIGN on an unsigned long: wraps to 0 near 2^64, as C's does. */
function pageAlign(len: bigint): bigint {
  return (len + PAGE - 1n) & U64 & ~(PAGE - 1n);
}

/** A range end for the memory manager: past TASK_SIZE nothing is mapped, so one page past it stands for any end there. */
function clip(end: bigint): number {
  return Number(end > TASK ? TASK + PAGE : end);
}

/** What the range calls need of the caller. */
export interface RangeCaller {
  readonly mm: MemoryManager;
  readonly mappingContext: MappingContext;
}

/**
 * What mlock needs besides: RLIMIT_MEMLOCK in whole pages (Infinity for
 * none), whether it is 0 bytes (can_do_mlock's test: a limit below a page
 * still lets a call try, and fail with ENOMEM), and CAP_IPC_LOCK.
 */
export interface LockCaller extends RangeCaller {
  readonly memlockPages: number;
  readonly memlockZero: boolean;
  readonly capIpcLock: boolean;
}

/**
 * msync(2): EINVAL for an unknown flag, an unaligned start, or MS_ASYNC
 * with MS_SYNC; ENOMEM when start + PAGE_ALIGN(len) wraps; nothing to do
 * for an empty range; then the walk (ENOMEM for a hole, EBUSY for
 * MS_INVALIDATE of a locked piece).
 */
export function msync(c: RangeCaller, start: bigint, len: bigint, flags: number): E.Either<SysError, void> {
  if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) !== 0) return E.left(sysError('EINVAL', `msync flags ${flags} have unknown bits`));
  if (start % PAGE !== 0n) return E.left(sysError('EINVAL', 'msync needs a page-aligned start'));
  if ((flags & MS_ASYNC) !== 0 && (flags & MS_SYNC) !== 0) return E.left(sysError('EINVAL', 'MS_ASYNC and MS_SYNC exclude each other'));
  const end = start + pageAlign(len);
  if (end > U64) return E.left(sysError('ENOMEM', 'msync range wraps around'));
  if (end === start) return E.right(undefined);
  if (start >= TASK) return E.left(sysError('ENOMEM', 'msync: nothing is mapped there'));
  return c.mm.msync(Number(start), clip(end), (flags & MS_INVALIDATE) !== 0);
}

/** do_mlock's start and end: the start rounded down, the length grown by the part of the page before it, both page aligned and wrapping as C's do. */
function lockRange(start: bigint, len: bigint): { start: bigint; end: bigint; pages: bigint } {
  const within = start % PAGE;
  const aligned = pageAlign((len + within) & U64);
  const s = start - within;
  return { start: s, end: s + aligned, pages: aligned / PAGE };
}

/**
 * mlock(2) and mlock2(2): EINVAL for an unknown mlock2 flag; EPERM when
 * RLIMIT_MEMLOCK is 0 without CAP_IPC_LOCK; ENOMEM when the pages locked
 * after the call (those already locked in the range not counted twice)
 * would pass the limit without CAP_IPC_LOCK; then the pieces get VM_LOCKED
 * (ENOMEM at a hole, the pieces before it locked) and, without
 * MLOCK_ONFAULT, are faulted in.
 */
export function mlock(c: LockCaller, start: bigint, len: bigint, flags: number): E.Either<SysError, void> {
  if ((flags & ~MLOCK_ONFAULT) !== 0) return E.left(sysError('EINVAL', `mlock2 flags ${flags} have unknown bits`));
  if (c.memlockZero && !c.capIpcLock) return E.left(sysError('EPERM', 'mlock with RLIMIT_MEMLOCK 0 needs CAP_IPC_LOCK'));
  const r = lockRange(start, len);
  if (!c.capIpcLock) {
    let locked = Number(r.pages) + c.mm.lockedPages();
    if (locked > c.memlockPages) locked -= c.mm.lockedPages(Number(r.start > TASK ? TASK : r.start), clip(r.end));
    if (locked > c.memlockPages) return E.left(sysError('ENOMEM', 'mlock would lock more than RLIMIT_MEMLOCK allows'));
  }
  return applyLock(c, r, true, (flags & MLOCK_ONFAULT) === 0);
}

/** munlock(2): the pieces lose VM_LOCKED (ENOMEM at a hole); no limit applies. */
export function munlock(c: RangeCaller, start: bigint, len: bigint): E.Either<SysError, void> {
  return applyLock(c, lockRange(start, len), false, false);
}

/** apply_vma_lock_flags: EINVAL when the range wraps, nothing for an empty one, ENOMEM where nothing is mapped. */
function applyLock(c: RangeCaller, r: { start: bigint; end: bigint }, lock: boolean, populate: boolean): E.Either<SysError, void> {
  if (r.end > U64) return E.left(sysError('EINVAL', 'the range wraps around'));
  if (r.end === r.start) return E.right(undefined);
  if (r.start >= TASK) return E.left(sysError('ENOMEM', 'nothing is mapped there'));
  const start = Number(r.start);
  const end = clip(r.end);
  return c.mm.mlock(c.mappingContext, start, end, lock, populate);
}

/** The advice that changes nothing the model can show (hints to the page cache, KSM, reclaim). */
const HINTS: ReadonlySet<number> = new Set([MADV_WILLNEED, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_COLD, MADV_PAGEOUT]);

/** The advice that drops or frees pages (see advise). */
const DROPS: ReadonlySet<number> = new Set([MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE, MADV_REMOVE]);

/**
 * The advice that sets or clears VMA flags (madvise_vma_behavior's new_flags):
 * the fork flags (VM_DONTCOPY, VM_WIPEONFORK), the read-ahead pattern
 * (VM_SEQ_READ, VM_RAND_READ, each clearing the other), transparent huge
 * pages (VM_HUGEPAGE, VM_NOHUGEPAGE, likewise) and VM_DONTDUMP. A change
 * cuts the pieces at the range's edges, so it costs VMAs, and in hugetlb
 * memory it is EINVAL inside a huge page; advice that changes nothing
 * splits nothing.
 */
const FLAG_ADVICE: ReadonlyMap<number, Readonly<Partial<Record<VmaFlag, boolean>>>> = new Map([
  [MADV_DONTFORK, { dontCopy: true }],
  [MADV_DOFORK, { dontCopy: false }],
  [MADV_WIPEONFORK, { wipeOnFork: true }],
  [MADV_KEEPONFORK, { wipeOnFork: false }],
  [MADV_NORMAL, { seqRead: false, randRead: false }],
  [MADV_RANDOM, { seqRead: false, randRead: true }],
  [MADV_SEQUENTIAL, { seqRead: true, randRead: false }],
  [MADV_HUGEPAGE, { hugePage: true, noHugePage: false }],
  [MADV_NOHUGEPAGE, { hugePage: false, noHugePage: true }],
  [MADV_DONTDUMP, { dontDump: true }],
  [MADV_DODUMP, { dontDump: false }],
]);

/** Advice Linux knows that the model does not (hugepage collapse, poison). */
const NOT_MODELLED: ReadonlySet<number> = new Set([25, 100, 101]);

/**
 * is_valid_guard_vma on Linux 6.18: any mapping takes guard pages (private
 * or shared, anonymous or a file, System V segments, read-only or PROT_NONE
 * ones) except a hugetlb one, and a locked one for MADV_GUARD_INSTALL only
 * (its pages could not be zapped); EINVAL. A hugetlb mapping is the one
 * that cannot be cut at a small page boundary (vm_ops->may_split).
 */
function guardRefused(install: boolean): (vma: Vma) => SysError | undefined {
  return (vma) => {
    if (isHugetlbPiece(vma)) return sysError('EINVAL', 'guard pages need a mapping that is not hugetlb');
    if (install && vma.locked === true) return sysError('EINVAL', 'MADV_GUARD_INSTALL on a locked mapping');
    return undefined;
  };
}

/** MADV_KEEPONFORK and MADV_DODUMP refuse MAP_DROPPABLE memory, whose VM_WIPEONFORK and VM_DONTDUMP may not go (EINVAL). */
function droppableRefused(vma: Vma): SysError | undefined {
  const m = vma.mappable;
  return m instanceof AnonymousMemory && m.droppable ? sysError('EINVAL', 'MAP_DROPPABLE memory keeps VM_WIPEONFORK and VM_DONTDUMP') : undefined;
}

/** MADV_WIPEONFORK is for private anonymous memory only: a file (shmem behind shared anonymous memory included) or a shared piece is EINVAL. */
function wipeRefused(vma: Vma): SysError | undefined {
  const m = vma.mappable;
  return m instanceof AnonymousMemory && m.backing === undefined ? undefined : sysError('EINVAL', 'MADV_WIPEONFORK needs private anonymous memory');
}

/**
 * madvise(2): EINVAL for advice Linux does not know (or the model does not
 * model), an unaligned start, or a length that wraps; nothing for an empty
 * range; then each piece: MADV_DONTNEED drops a private mapping's pages
 * (they read again as the file's, or as zeros; a shared mapping's stay in
 * their object), MADV_FREE is allowed on anonymous private memory only and
 * frees nothing until memory runs short (never, here), MADV_REMOVE punches
 * a hole in a shared writable mapping's object (EACCES for a private or
 * read-only one, EINVAL for anonymous private memory). A locked piece
 * refuses DONTNEED, FREE, REMOVE, COLD and PAGEOUT with EINVAL, and so does
 * a hugetlb one COLD and PAGEOUT, and DONTNEED unless its part starts on a
 * huge page;
 * MADV_DONTNEED_LOCKED is DONTNEED that a locked piece allows (the page
 * stays locked: the next touch brings a fresh one back in). A hole in
 * the range is ENOMEM after the rest is advised.
 *
 * MADV_DONTFORK and MADV_DOFORK set and clear VM_DONTCOPY (fork leaves the
 * piece out of the child), MADV_WIPEONFORK and MADV_KEEPONFORK
 * VM_WIPEONFORK (the child gets zeroed memory there; EINVAL for anything
 * but private anonymous memory; MADV_KEEPONFORK, like MADV_DODUMP, refuses
 * MAP_DROPPABLE memory), cutting pieces at the range's edges (see
 * MemoryManager.setFlags). MADV_POPULATE_READ and MADV_POPULATE_WRITE
 * fault the range in and stop at the first failure (see
 * MemoryManager.populateAdvised). MADV_GUARD_INSTALL makes every page of
 * the range a guard page (any access is SIGSEGV), zapping what it held, and
 * MADV_GUARD_REMOVE takes the guards away (see guardRefused and
 * MemoryManager.setGuards).
 */
export function madvise(c: RangeCaller, start: bigint, len: bigint, advice: number): E.Either<SysError, void> {
  const populate = advice === MADV_POPULATE_READ || advice === MADV_POPULATE_WRITE;
  const flags = FLAG_ADVICE.get(advice);
  const guard = advice === MADV_GUARD_INSTALL || advice === MADV_GUARD_REMOVE;
  const known = DROPS.has(advice) || HINTS.has(advice) || populate || flags !== undefined || guard;
  if (!known) {
    const why = NOT_MODELLED.has(advice) ? `madvise advice ${advice} is not modelled` : `madvise advice ${advice} is unknown`;
    return E.left(sysError('EINVAL', why));
  }
  if (start % PAGE !== 0n) return E.left(sysError('EINVAL', 'madvise needs a page-aligned start'));
  const aligned = pageAlign(len);
  if (len !== 0n && aligned === 0n) return E.left(sysError('EINVAL', 'madvise length wraps around'));
  const end = start + aligned;
  if (end > U64) return E.left(sysError('EINVAL', 'madvise range wraps around'));
  if (end === start) return E.right(undefined);
  if (start >= TASK) return E.left(sysError('ENOMEM', 'madvise: nothing is mapped there'));
  if (populate) return c.mm.populateAdvised(Number(start), clip(end), advice === MADV_POPULATE_WRITE);
  if (guard) {
    const install = advice === MADV_GUARD_INSTALL;
    return c.mm.setGuards(Number(start), clip(end), install, guardRefused(install));
  }
  if (flags !== undefined) {
    const refuse = advice === MADV_WIPEONFORK ? wipeRefused : advice === MADV_KEEPONFORK || advice === MADV_DODUMP ? droppableRefused : undefined;
    return c.mm.setFlags(c.mappingContext, Number(start), clip(end), flags, refuse);
  }
  return c.mm.madvise(Number(start), clip(end), (piece) => advise(piece, advice));
}

function advise(piece: MadvisePiece, advice: number): SysError | undefined {
  const { vma } = piece;
  const locked = vma.locked === true;
  const m = vma.mappable;
  switch (advice) {
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
      if (locked && advice === MADV_DONTNEED) return sysError('EINVAL', 'MADV_DONTNEED on a locked mapping (MADV_DONTNEED_LOCKED is allowed there)');
      // madvise_dontneed_free_valid_vma: in hugetlb memory the part advised must start on a huge page.
      if (isHugetlbPiece(vma) && m.maySplit?.(piece.firstPage * PAGE_SIZE) === false) return sysError('EINVAL', 'MADV_DONTNEED needs a huge page start there');
      if (m instanceof AnonymousMemory) m.dropPages(piece.firstPage, piece.firstPage + piece.pages);
      return undefined;
    case MADV_FREE:
      if (locked) return sysError('EINVAL', 'MADV_FREE on a locked mapping');
      if (!(m instanceof AnonymousMemory) || m.backing !== undefined) return sysError('EINVAL', 'MADV_FREE needs anonymous private memory');
      return undefined;
    case MADV_REMOVE:
      if (locked) return sysError('EINVAL', 'MADV_REMOVE on a locked mapping');
      if (m instanceof AnonymousMemory && m.backing === undefined) return sysError('EINVAL', 'MADV_REMOVE needs a file mapping');
      if (m instanceof AnonymousMemory || !vma.writable) return sysError('EACCES', 'MADV_REMOVE needs a shared mapping that may be written');
      if (m.removePages === undefined) return sysError('EOPNOTSUPP', 'the mapped object cannot punch holes');
      return m.removePages(piece.firstPage, piece.firstPage + piece.pages);
    case MADV_COLD:
    case MADV_PAGEOUT:
      // can_madv_lru_vma: neither a locked nor a hugetlb mapping.
      if (locked) return sysError('EINVAL', 'MADV_COLD and MADV_PAGEOUT refuse a locked mapping');
      return isHugetlbPiece(vma) ? sysError('EINVAL', 'MADV_COLD and MADV_PAGEOUT refuse hugetlb memory') : undefined;
    default:
      return undefined;
  }
}

/**
 * mincore(2): EINVAL for an unaligned start, ENOMEM when the range passes
 * the user address space; an empty vector for length 0; then one byte per
 * page (1: in memory), ENOMEM at the first page nothing maps.
 */
export function mincore(c: RangeCaller, start: bigint, len: bigint): E.Either<SysError, Uint8Array> {
  if (start % PAGE !== 0n) return E.left(sysError('EINVAL', 'mincore needs a page-aligned start'));
  if (start + len > TASK) return E.left(sysError('ENOMEM', 'mincore range passes the user address space'));
  const pages = Number((len + PAGE - 1n) / PAGE);
  if (pages === 0) return E.right(new Uint8Array(0));
  return c.mm.mincore(Number(start), pages);
}
