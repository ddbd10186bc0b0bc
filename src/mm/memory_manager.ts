/**
 * MemoryManager: one process address space, after gVisor's mm.MemoryManager
 * and Linux's mm_struct. It owns the VMAs (shared mappings of Mappables),
 * implements mmap/munmap/mprotect/shmdt/fork/exit on them, and serves byte
 * and atomic accesses through Mappable.translate.
 *
 * Lock order: mappingMu (rank mmMappingMu) is taken by every method that
 * walks or changes the VMAs; Mappable.addMapping/removeMapping/copyMapping
 * run under it and may take their own, higher-ranked locks (shm registry,
 * shm segment). Identity references dropped under mappingMu are released
 * only after it is unlocked (gVisor's "droppedIDs" pattern), because a final
 * decRef may take locks that must not nest inside it.
 */

import * as E from 'fp-ts/lib/Either.js';
import { MMAP_MIN_ADDR, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, TASK_SIZE } from '../abi/constants.js';
import { sysError } from '../abi/errno.js';
import type { SysError } from '../abi/errno.js';
import { LockRank, Mutex } from '../sync/mutex.js';
import { atomic32, fillBytes, permits, readBytes, readBytesInto, writeBytes } from './access.js';
import type { AccessRules } from './access.js';
import type { Fault } from './access.js';
import { addressKey, frameKey } from './futex.js';
import type { FutexKey } from './futex.js';
import { ZERO_FRAME, isBusError } from './memmap.js';
import type { MappingContext, MappingIdentity, MappingSpace, MappingStamp, Mappable, Perms, ShmMappable } from './memmap.js';
import type { MemoryFile } from './memory_file.js';
import { AnonymousMemory } from './anon.js';
import { firstGuard, withGuards, withoutGuards } from './guards.js';
import { badMmapLength, fixedAddress, isPageAligned, mmapLengthFits, noFreeRange, pageAlign, unmappedArea } from './placement.js';
import { detachShmLocked } from './shmdt.js';
import { FUTEX_BY_ADDRESS, FUTEX_REFUSED, bumpGeneration, fillTlb, futexKeying, newGenerationWord } from './tlb.js';
import type { TlbFill } from './tlb.js';
import { STACK_GUARD_GAP, VmaSet, isHugetlbPiece, vmaFlags } from './vma.js';
import type { Vma, VmaFlag, VmaInfo } from './vma.js';

export type { Fault } from './access.js';
export type { VmaInfo } from './vma.js';

/** Where a new address space puts its top-down mappings. */
export interface AddressSpaceLayout {
  /** Where top-down placement starts (mm->mmap_base); page aligned. Default 0x7f0000000000. */
  readonly mmapBase?: number;
}

/** One piece's part of an madvise range: object pages [firstPage, firstPage + pages) of `vma`. */
export interface MadvisePiece {
  readonly vma: VmaInfo | Vma;
  readonly firstPage: number;
  readonly pages: number;
}

/** Linux's default vm.max_map_count (DEFAULT_MAX_MAP_COUNT). */
export const DEFAULT_MAX_MAP_COUNT = 65530;

/**
 * The machine-wide vm sysctls an address space obeys. One object is shared
 * by every address space of a kernel (fork passes it on), so a write is seen
 * by all of them at their next call.
 */
export interface VmSysctls {
  /**
   * vm.max_map_count: mmap and shmat fail with ENOMEM once the process holds
   * more VMAs than this, and a split (mprotect, or munmap inside one VMA)
   * once it holds this many. Default DEFAULT_MAX_MAP_COUNT.
   */
  maxMapCount: number;
}

/** Options for a new address space. */
export interface MemoryManagerOptions extends AddressSpaceLayout {
  /**
   * PROT_EXEC-only pages cannot be read, as on an x86-64 CPU with protection
   * keys (Linux then backs execute-only mappings with a pkey). Default false.
   */
  readonly executeOnly?: boolean;
  /** The physical memory that the mapped objects' frames come from. */
  readonly memoryFile: MemoryFile;
  /** The vm sysctls, shared with the kernel's other address spaces; default: an own object with Linux's defaults. */
  readonly vm?: VmSysctls;
}

/** The options of one mmap (or shmat) call; a shared mapping of `mappable`. */
export interface MmapOptions {
  /** Bytes to map, > 0; rounded up to whole pages. */
  readonly length: number;
  /**
   * Byte offset into the mappable: a multiple of PAGE_SIZE below 2^64 (an
   * unsigned long). Every such multiple is a double exactly, past 2^53 too,
   * so a caller holding a u64 checks its alignment on the exact value and
   * passes Number(offset). The mapping keeps it exactly (see Vma.offset).
   */
  readonly offset: number;
  /** With `fixed`, the exact address; otherwise a hint, used when that range is free. */
  readonly addr?: number;
  /** Map exactly at `addr` (MAP_FIXED). */
  readonly fixed?: boolean;
  /** With `fixed`: replace what is mapped there (MAP_FIXED); without it an overlap is EEXIST (MAP_FIXED_NOREPLACE). */
  readonly replace?: boolean;
  readonly perms: Perms;
  /** The most mprotect may grant later; `perms` must be a subset. */
  readonly maxPerms: Perms;
  readonly mappable: Mappable;
  readonly identity: MappingIdentity;
  /** Whether the mapping may ever be written through; passed to addMapping. */
  readonly writable: boolean;
  /** The caller holds CAP_SYS_RAWIO, so it may map below vm.mmap_min_addr (even page 0). */
  readonly mayMapBelowMinAddr?: boolean;
  /** A kernel-chosen address is a multiple of this (huge pages); default PAGE_SIZE. */
  readonly alignment?: number;
  /** MAP_GROWSDOWN: the mapping grows down on a fault below it; `offset` leaves the room (at most STACK_LIMIT). */
  readonly growsDown?: boolean;
  /** VM_WIPEONFORK from the start (MAP_DROPPABLE). */
  readonly wipeOnFork?: boolean;
  /** VM_DONTDUMP from the start (MAP_DROPPABLE). */
  readonly dontDump?: boolean;
}

const DEFAULT_MMAP_BASE = 0x7f0000000000;
const PROT_ALL = PROT_READ | PROT_WRITE | PROT_EXEC;

let nextSpaceId = 1;

/** The result of a call that succeeded with nothing to return; one shared object, as it carries nothing. */
const DONE: E.Either<never, void> = Object.freeze(E.right(undefined));

/* The errors of mmap and shmdt, built out of line (hot paths: see "Hot paths" in docs/architecture.md). */
function badMmapOffset(offset: number): E.Either<SysError, never> {
  const shown = Number.isInteger(offset) ? BigInt(offset).toString() : String(offset);
  return E.left(sysError('EINVAL', `mmap offset ${shown} is not a page-aligned byte offset below 2^64`));
}

const OFFSET_LIMIT = 2 ** 64;

/**
 * True when `offset` is a page-aligned byte offset an unsigned long holds
 * (sys_mmap's `off & ~PAGE_MASK` check). Past 2^53 a double is still exact
 * when it is a multiple of PAGE_SIZE, and the division by PAGE_SIZE is exact.
 */
function isMmapOffset(offset: number): boolean {
  return offset >= 0 && offset < OFFSET_LIMIT && Number.isInteger(offset / PAGE_SIZE);
}

function permsRefused(): E.Either<SysError, never> {
  return E.left(sysError('EACCES', 'mmap asks for access the mapped object does not allow'));
}

function unsplittable(start: number, end: number): E.Either<SysError, never> {
  return E.left(sysError('EINVAL', `mmap over [${start}, ${end}) would split a mapping that cannot be split there`));
}

function tooManyMaps(count: number): E.Either<SysError, never> {
  return E.left(sysError('ENOMEM', `the process holds ${count} mappings, more than vm.max_map_count`));
}

function splitOverLimit(count: number): E.Either<SysError, never> {
  return E.left(overMapCount(count));
}

/** split_vma's refusal at vm.max_map_count (ENOMEM). */
function overMapCount(count: number): SysError {
  return sysError('ENOMEM', `a split would take the process's ${count} mappings past vm.max_map_count`);
}

/** madvise's split_vma refusal at vm.max_map_count: madvise_vma_behavior reports its ENOMEM as EAGAIN. */
function splitAgain(count: number): SysError {
  return sysError('EAGAIN', `a split would take the process's ${count} mappings past vm.max_map_count`);
}

function noShmOrigin(addr: number): E.Either<SysError, never> {
  return E.left(sysError('EINVAL', isPageAligned(addr) ? `no shm attachment has its origin at ${addr}` : `shmdt address ${addr} is not page aligned`));
}

/** A new VMA over [start, end); fields in Vma's order, so that every VMA has one shape. */
function makeVma(
  start: number,
  end: number,
  mappable: Mappable,
  offset: number,
  perms: Perms,
  maxPerms: Perms,
  identity: MappingIdentity,
  writable: boolean,
): Vma {
  return {
    start,
    end,
    mappable,
    offset,
    perms,
    maxPerms,
    identity,
    writable,
    locked: false,
    lockOnFault: false,
    dontCopy: false,
    wipeOnFork: false,
    growsDown: false,
    seqRead: false,
    randRead: false,
    hugePage: false,
    noHugePage: false,
    dontDump: false,
    guards: undefined,
  };
}

/** The VMA an mmap call makes at `start`, `len` bytes long. */
function newVma(opts: MmapOptions, start: number, len: number): Vma {
  const vma = makeVma(start, start + len, opts.mappable, opts.offset, opts.perms, opts.maxPerms, opts.identity, opts.writable);
  vma.growsDown = opts.growsDown === true;
  vma.wipeOnFork = opts.wipeOnFork === true;
  vma.dontDump = opts.dontDump === true;
  return vma;
}

/** A piece mlock_fixup leaves unlocked: hugetlb memory, or MAP_DROPPABLE memory (VM_DROPPABLE). */
function neverLocked(vma: Vma): boolean {
  return isHugetlbPiece(vma) || (vma.mappable instanceof AnonymousMemory && vma.mappable.droppable);
}

/** The first object page of `vma` in [page, last) that is a guard page, or -1. */
function guardedObjectPage(vma: Vma, page: number, last: number): number {
  // Both are exact integers: virtual pages below 2^36, object pages below 2^52.
  const shift = vma.start / PAGE_SIZE - vma.offset / PAGE_SIZE;
  const g = firstGuard(vma.guards!, page + shift, last + shift);
  return g < 0 ? -1 : g - shift;
}

/**
 * The longest a change to the address space waits for other threads'
 * accesses in flight (invalidateTlb): an access is a copy or one atomic
 * operation, but a thread may hold views of pages while its own code runs
 * (TlbCache.withViews), and the kernel thread must not wait on that for long.
 */
const SHOOTDOWN_WAIT_MS = 75;

/** RLIMIT_STACK's default soft limit (8 MiB), the most a growing-down mapping may span. */
export const STACK_LIMIT = 8 * 1024 * 1024;

/**
 * The kernel's mmap_min_addr, below which nothing grows down: the larger of
 * vm.mmap_min_addr (4096 here, MMAP_MIN_ADDR) and CONFIG_LSM_MMAP_MIN_ADDR
 * (65536 on common kernels, this machine's included).
 */
export const GROW_MIN_ADDR = 65536;

/** The stamp a growth gives addMapping: only private anonymous memory grows, which keeps no stamp. */
const GROWTH_STAMP: MappingStamp = { pid: 0, time: 0 };

/** Drops the identity reference of each of `vmas` and empties the list. */
function dropAll(vmas: Vma[]): void {
  for (const vma of vmas) vma.identity.decRef();
  vmas.length = 0;
}

/** One process address space: its VMAs and the access paths through them. */
export class MemoryManager implements MappingSpace {
  /** Never reused in this realm (fork and checkpoint restore make new ones): a futex in private memory is keyed by it (futex.ts's addressKey). */
  readonly spaceId = nextSpaceId++;
  /** Protects the VMA set (Linux mmap_lock). */
  readonly mappingMu = new Mutex('mm.mappingMu', LockRank.mmMappingMu);
  /**
   * How many pages the owner may hold locked (RLIMIT_MEMLOCK in pages, or
   * Infinity with CAP_IPC_LOCK), which a locked MAP_GROWSDOWN mapping may
   * not grow past (acct_stack_growth's mlock_future_ok). The process sets
   * it; read under mappingMu, so it must not take that lock.
   */
  stackLockLimit: () => number = () => Infinity;
  /** The physical memory behind every mapped object. */
  readonly memoryFile: MemoryFile;
  /** Where top-down placement starts. */
  readonly mmapBase: number;
  /** The vm sysctls (vm.max_map_count), shared with the kernel's other address spaces. */
  readonly vm: VmSysctls;
  /**
   * Bumped under mappingMu by every change to the VMAs that can make a
   * cached translation wrong, before any frame they unmapped can be freed,
   * once translations were ever handed out: threads caching translations of
   * this address space check it before each access (see tlb.ts). Made on
   * first use: a process no thread ever runs for (most of a property test's)
   * never pays for the SharedArrayBuffer.
   */
  get tlbGeneration(): Int32Array {
    return (this.generationWord ??= newGenerationWord());
  }
  private generationWord: Int32Array | undefined = undefined;
  /**
   * Whether any thread was ever handed translations of this address space
   * (translateForTlb). Until then nothing is cached, so no change needs to
   * bump the generation: a process that never ran a worker thread pays no
   * atomic read-modify-write on shmdt, munmap or mprotect.
   */
  private tlbFilled = false;
  /** How the simulated CPU checks page protection. */
  private readonly rules: AccessRules;
  private readonly set: VmaSet;
  /** detachShm's list of the pieces after an attachment's first: empty between calls. */
  private readonly detachedRest: Vma[] = [];
  /**
   * What the mappables are told of the change in progress (see MappingStamp):
   * filled by stampOf before anything changes, and reused by every call.
   */
  private readonly stamp: { pid: number; time: number } = { pid: 0, time: 0 };

  /** An empty address space. */
  constructor(options: MemoryManagerOptions) {
    this.memoryFile = options.memoryFile;
    const base = options.mmapBase ?? DEFAULT_MMAP_BASE;
    if (!isPageAligned(base) || base <= MMAP_MIN_ADDR || base > TASK_SIZE) {
      throw new RangeError(`mmapBase ${base} must be page aligned and in (mmap_min_addr, TASK_SIZE]`);
    }
    this.mmapBase = base;
    this.vm = options.vm ?? { maxMapCount: DEFAULT_MAX_MAP_COUNT };
    this.rules = { executeOnly: options.executeOnly === true };
    this.set = new VmaSet(base);
  }

  /** How many VMAs the address space holds. */
  get vmaCount(): number {
    return this.mappingMu.with(() => this.set.size);
  }

  /** Snapshots of every VMA in address order (for /proc/pid/maps and tests). */
  vmas(): ReadonlyArray<VmaInfo> {
    return this.mappingMu.with(() => this.set.infos());
  }

  /** True when any VMA overlaps [start, end): shmat's overlap check without SHM_REMAP. */
  intersects(start: number, end: number): boolean {
    return this.mappingMu.with(() => this.set.intersects(start, end));
  }

  /**
   * Maps `opts.mappable` and returns the address. Checks run in do_mmap's
   * order: offset and length, then the address (get_unmapped_area: ENOMEM
   * above TASK_SIZE, EINVAL when unaligned, EPERM below mmap_min_addr), then
   * EEXIST for a non-replacing fixed overlap, then EACCES for perms beyond
   * maxPerms.
   */
  mmap(ctx: MappingContext, opts: MmapOptions): E.Either<SysError, number> {
    if (!isMmapOffset(opts.offset)) return badMmapOffset(opts.offset);
    if (!mmapLengthFits(opts.length)) return badMmapLength(opts.length);
    const len = pageAlign(opts.length);
    // do_mmap: "Too many mappings?", before the address is chosen.
    if (this.set.size > this.vm.maxMapCount) return tooManyMaps(this.set.size);
    const at = this.stampOf(ctx);
    if (opts.fixed === true) return this.mapFixed(at, opts, len);
    this.mappingMu.lock();
    try {
      return this.mapPlacedLocked(at, opts.addr ?? 0, len, opts.alignment ?? PAGE_SIZE, newVma(opts, 0, len));
    } finally {
      this.mappingMu.unlock();
    }
  }

  /**
   * The checks a MAP_FIXED (or, with `replace` false, MAP_FIXED_NOREPLACE)
   * mmap of `len` page-aligned bytes at `addr` makes of the address
   * (fixedAddress), for a caller whose own checks come after them (do_mmap
   * checks the file once the address is settled).
   */
  checkFixed(addr: number, len: number, replace: boolean, mayMapBelowMinAddr: boolean): E.Either<SysError, number> {
    return this.mappingMu.with(() => fixedAddress(this.set, { addr, replace, mayMapBelowMinAddr }, len));
  }

  /**
   * Whether a kernel-placed mapping of `len` page-aligned bytes, hinted at
   * `hint` and starting on a multiple of `alignment`, would find a free range now (get_unmapped_area without
   * MAP_FIXED). Maps nothing: mmap asks it only when a check that do_mmap
   * makes after its search has failed, since the search's ENOMEM comes first.
   */
  hasRoom(hint: number, len: number, alignment = PAGE_SIZE): boolean {
    return this.mappingMu.with(() => this.set.withCacheKept(() => unmappedArea(this.set, hint, len, alignment)) >= 0);
  }

  /**
   * shmat's common call: mmap of all of `seg` from offset 0, with no hint
   * and page alignment, taking its arguments directly instead of in an
   * MmapOptions (a hot path: see "Hot paths" in docs/architecture.md). A
   * shared mapping may be written through exactly when `maxPerms` has
   * PROT_WRITE (VM_MAYWRITE). A hugetlb segment goes through mmap. `at`
   * comes from stampOf, which shmat calls before it takes its reference on
   * the segment, so that a throwing clock changes nothing.
   */
  attachShm(at: MappingStamp, seg: ShmMappable & MappingIdentity, perms: Perms, maxPerms: Perms): E.Either<SysError, number> {
    // effectiveBytes is PAGE_ALIGN(segsz) already.
    const len = seg.effectiveBytes();
    if (!mmapLengthFits(len)) return badMmapLength(len);
    if (this.set.size > this.vm.maxMapCount) return tooManyMaps(this.set.size);
    this.mappingMu.lock();
    try {
      return this.mapPlacedLocked(at, 0, len, PAGE_SIZE, makeVma(0, len, seg, 0, perms, maxPerms, seg, (maxPerms & PROT_WRITE) !== 0));
    } finally {
      this.mappingMu.unlock();
    }
  }

  /**
   * The kernel-placed mmap, once offset and length are checked: the
   * placement (unmappedArea), then EACCES for perms beyond maxPerms, then
   * the insertion of `vma`, built over [0, len) and moved to the chosen
   * address. mmap and attachShm both end here.
   * Preconditions: mappingMu is held; `len` is page aligned.
   */
  private mapPlacedLocked(at: MappingStamp, hint: number, len: number, alignment: number, vma: Vma): E.Either<SysError, number> {
    const start = unmappedArea(this.set, hint, len, alignment);
    if (start < 0) return noFreeRange(len);
    if ((vma.perms & ~vma.maxPerms) !== 0) return permsRefused();
    vma.start = start;
    vma.end = start + len;
    this.insertMappingLocked(at, vma);
    return E.right(start);
  }

  /** mmap at a fixed address (MAP_FIXED or MAP_FIXED_NOREPLACE). */
  private mapFixed(at: MappingStamp, opts: MmapOptions, len: number): E.Either<SysError, number> {
    // Only a replacing mapping drops references, released after unlocking.
    const dropped: MappingIdentity[] | undefined = opts.replace === true ? [] : undefined;
    let result: E.Either<SysError, number>;
    this.mappingMu.lock();
    try {
      result = this.mapFixedLocked(at, opts, len, dropped);
    } finally {
      this.mappingMu.unlock();
    }
    if (dropped !== undefined) for (let i = 0; i < dropped.length; i++) dropped[i]!.decRef();
    return result;
  }

  /** removeMapping for each of `vmas`, taken out of the set. Preconditions: mappingMu is held. */
  private removeMappingsLocked(at: MappingStamp, vmas: readonly Vma[]): void {
    for (const vma of vmas) vma.mappable.removeMapping(at, this, vma, vma.offset, vma.writable);
  }

  /** Removes every mapping in [addr, addr+PAGE_ALIGN(len)), splitting pieces that straddle its edges. */
  munmap(ctx: MappingContext, addr: number, len: number): E.Either<SysError, void> {
    // do_vmi_munmap: unaligned start, an empty range, or one past TASK_SIZE is EINVAL.
    if (!isPageAligned(addr) || addr < 0 || !Number.isSafeInteger(len) || len <= 0) {
      return E.left(sysError('EINVAL', `munmap(${addr}, ${len}): unaligned address or empty length`));
    }
    const end = addr + pageAlign(len);
    if (end > TASK_SIZE) {
      return E.left(sysError('EINVAL', `munmap(${addr}, ${len}): range reaches past TASK_SIZE`));
    }
    const at = this.stampOf(ctx);
    return this.withDropped((dropped) => {
      const overLimit = this.unmapOverLimitLocked(addr, end);
      if (overLimit !== undefined) return overLimit;
      // __split_vma asks vm_ops->may_split first: hugetlb pieces split only at huge page boundaries.
      if (!this.maySplitAtLocked(addr) || !this.maySplitAtLocked(end)) {
        return E.left(sysError('EINVAL', `munmap(${addr}, ${len}) would split a mapping that cannot be split there`));
      }
      this.unmapLocked(at, addr, end, dropped);
      return E.right(undefined);
    });
  }

  /**
   * Changes the protection of [addr, addr+PAGE_ALIGN(len)), as Linux's
   * mprotect: pieces are changed in address order and an error (EACCES for a
   * piece whose maxPerms forbid `prot`, ENOMEM for a hole) leaves the pieces
   * before it changed. A piece whose protection already equals `prot` is left
   * whole (mprotect_fixup returns early), so no split happens there.
   * A locked private piece (not MLOCK_ONFAULT) that becomes writable is
   * faulted in for writing afterwards, as mprotect_fixup's
   * populate_vma_page_range does, so a private file page is copied then;
   * a page that cannot be faulted in is left alone and no error is told.
   */
  mprotect(
    ctx: MappingContext,
    addr: number,
    len: number,
    prot: Perms,
    refuse?: (vma: Vma, from: number, to: number) => SysError | undefined,
  ): E.Either<SysError, void> {
    if (!isPageAligned(addr)) {
      return E.left(sysError('EINVAL', `mprotect address ${addr} is not page aligned`));
    }
    if (len === 0) {
      return E.right(undefined);
    }
    const end = addr + pageAlign(len);
    if (!Number.isSafeInteger(len) || len < 0 || addr < 0 || !Number.isSafeInteger(end)) {
      return E.left(sysError('ENOMEM', `mprotect(${addr}, ${len}): the range wraps around`));
    }
    if (!Number.isInteger(prot) || (prot & ~PROT_ALL) !== 0) {
      return E.left(sysError('EINVAL', `mprotect prot ${prot} has bits other than PROT_READ|PROT_WRITE|PROT_EXEC`));
    }
    const at = this.stampOf(ctx);
    // Made only when a piece needs it: most mprotect calls populate nothing.
    let populate: Array<[number, number]> | undefined;
    const changed = this.mappingMu.with((): E.Either<SysError, void> => {
      this.invalidateTlb();
      const set = this.set;
      let i = set.lowerBound(addr);
      let cur = addr;
      for (;;) {
        const vma = this.set.at(i);
        if (vma === undefined || vma.start > cur) {
          return E.left(sysError('ENOMEM', `mprotect: [${cur}, ${end}) is not fully mapped`));
        }
        if ((prot & ~vma.maxPerms) !== 0) {
          return E.left(sysError('EACCES', `mprotect: the mapping at ${vma.start} may not get prot ${prot}`));
        }
        const pieceEnd = Math.min(vma.end, end);
        if (prot !== vma.perms) {
          // mprotect_fixup's own refusal of the piece (the caller's: the overcommit heuristic), before it is split.
          const refused = refuse?.(vma, cur, pieceEnd);
          if (refused !== undefined) return E.left(refused);
          if ((vma.start < cur && !this.maySplitAtLocked(cur)) || (vma.end > end && !this.maySplitAtLocked(end))) {
            return E.left(sysError('EINVAL', `mprotect would split the mapping at ${vma.start} where it cannot be split`));
          }
          const piece = this.isolateLocked(at, i, vma, cur, end);
          if (typeof piece !== 'number') return E.left(piece);
          i = piece;
          const becomesWritable = (vma.perms & PROT_WRITE) === 0 && (prot & PROT_WRITE) !== 0;
          if (becomesWritable && vma.locked === true && vma.lockOnFault !== true && vma.mappable.forkCopy !== undefined) {
            (populate ??= []).push([cur, pieceEnd]);
          }
          vma.perms = prot;
        }
        cur = pieceEnd;
        if (cur >= end) {
          return E.right(undefined);
        }
        i++;
      }
    });
    // The pieces changed before an error are populated too, as mprotect_fixup populates each in turn.
    if (populate !== undefined) for (const [from, to] of populate) this.populateRange(from, to, true);
    return changed;
  }

  /**
   * msync's walk over [start, end) (page aligned, non-empty; the caller
   * made do_msync's argument checks): ENOMEM when part of the range is
   * unmapped, which is reported after the mapped parts are synced, EBUSY at
   * once for MS_INVALIDATE of a locked piece. tmpfs and shm have nothing to
   * write back, so a sync changes nothing.
   */
  msync(start: number, end: number, invalidate: boolean): E.Either<SysError, void> {
    return this.mappingMu.with(() => {
      const walked = this.eachPieceLocked(start, end, (vma) => {
        if (invalidate && vma.locked === true) return sysError('EBUSY', `msync(MS_INVALIDATE) of the locked mapping at ${vma.start}`);
        vma.identity.msync();
        return undefined;
      });
      if (typeof walked !== 'boolean') return E.left(walked);
      return walked ? E.left(sysError('ENOMEM', `msync: part of [${start}, ${end}) is not mapped`)) : DONE;
    });
  }

  /**
   * Visits the VMAs that meet [start, end) in address order, each with the
   * part of it inside the range, and stops at the first error `visit`
   * returns. Otherwise answers whether the range had a hole (the ENOMEM
   * msync and madvise report after doing the mapped parts). Preconditions:
   * mappingMu is held.
   */
  private eachPieceLocked(start: number, end: number, visit: (vma: Vma, from: number, to: number) => SysError | undefined): SysError | boolean {
    let unmapped = false;
    let cur = start;
    for (let i = this.set.lowerBound(start); cur < end; i++) {
      const vma = this.set.at(i);
      if (vma === undefined || vma.start >= end) return true;
      if (vma.start > cur) unmapped = true;
      const error = visit(vma, Math.max(cur, vma.start), Math.min(end, vma.end));
      if (error !== undefined) return error;
      cur = vma.end;
    }
    return unmapped;
  }

  /** mm->locked_vm: the pages of locked pieces (in [start, end) when given: count_mm_mlocked_page_nr). */
  lockedPages(start = 0, end = TASK_SIZE): number {
    return this.mappingMu.with(() => this.lockedPagesLocked(start, end));
  }

  /** lockedPages with mappingMu held. */
  private lockedPagesLocked(start: number, end: number): number {
    let n = 0;
    for (let i = this.set.lowerBound(start); ; i++) {
      const vma = this.set.at(i);
      if (vma === undefined || vma.start >= end) return n;
      if (vma.locked === true) n += (Math.min(end, vma.end) - Math.max(start, vma.start)) / PAGE_SIZE;
    }
  }

  /**
   * mlock and munlock's apply_vma_lock_flags over [start, end) (page
   * aligned, non-empty): pieces in address order get VM_LOCKED set or
   * cleared, split at the range's edges; a hole is ENOMEM, with the pieces
   * before it changed. Locking then faults the range in, unless `populate`
   * is false (MLOCK_ONFAULT, which the pieces keep as VM_LOCKONFAULT; a
   * lock without it clears that) (mm_populate: a
   * writable private piece is written, so copy-on-write copies now; faults
   * past a file's end are ignored).
   *
   * A hugetlb piece is walked over unchanged, as mlock_fixup leaves it: it
   * never gets VM_LOCKED (so it is not split, not counted in locked_vm, and
   * MADV_DONTNEED and MS_INVALIDATE still take it), yet the population that
   * follows any lock, MLOCK_ONFAULT's included, still faults it, since only
   * a VM_LOCKONFAULT piece is passed over there (populate_vma_page_range).
   * With no huge page to fault in, mlock and mlock2 over one are ENOMEM.
   * A MAP_DROPPABLE piece is walked over the same way (it is faulted in,
   * never locked), though RLIMIT_MEMLOCK's check before it counted the
   * whole range.
   */
  mlock(ctx: MappingContext, start: number, end: number, lock: boolean, populate = lock): E.Either<SysError, void> {
    const at = this.stampOf(ctx);
    const changed = this.mappingMu.with((): E.Either<SysError, void> => {
      const set = this.set;
      let i = set.lowerBound(start);
      let cur = start;
      for (;;) {
        const vma = set.at(i);
        if (vma === undefined || vma.start > cur) return E.left(sysError('ENOMEM', `m${lock ? '' : 'un'}lock: [${cur}, ${end}) is not fully mapped`));
        const onFault = lock && !populate;
        if (!neverLocked(vma) && ((vma.locked === true) !== lock || (vma.lockOnFault === true) !== onFault)) {
          const piece = this.isolateLocked(at, i, vma, cur, end);
          if (typeof piece !== 'number') return E.left(piece);
          i = piece;
          vma.locked = lock;
          vma.lockOnFault = onFault;
        }
        cur = Math.min(vma.end, end);
        if (cur >= end) return DONE;
        i++;
      }
    });
    if (E.isLeft(changed) || !lock) return changed;
    // __mm_populate without ignore_errors: a page that cannot be faulted in (past the end of its
    // file, or no room on its tmpfs) stops it, and mlock reports the EFAULT as ENOMEM; the lock stays.
    if (!this.populateRange(start, end, true)) return E.left(sysError('ENOMEM', `mlock: a page of [${start}, ${end}) cannot be faulted in`));
    return DONE;
  }

  /**
   * __mm_populate (MAP_POPULATE, MAP_LOCKED, mlock): faults in every page of [start, end) that some
   * piece other than a VM_LOCKONFAULT one maps with any access, writing where the piece is private and writable. A page that
   * cannot be faulted in (or an inaccessible piece) is skipped, as MAP_POPULATE and MAP_LOCKED ignore errors; with `stop`
   * (mlock) the walk ends there instead. Returns false when some page could not be faulted in.
   */
  populateRange(start: number, end: number, stop = false): boolean {
    return this.mappingMu.with(() => {
      let complete = true;
      for (let i = this.set.lowerBound(start); ; i++) {
        const vma = this.set.at(i);
        if (vma === undefined || vma.start >= end) return complete;
        // populate_vma_page_range passes over a VM_LOCKONFAULT piece: mlock2's MLOCK_ONFAULT faults nothing.
        if (vma.lockOnFault === true) continue;
        // An inaccessible piece is never faulted (GUP without FOLL_FORCE: EFAULT).
        if ((vma.perms & PROT_ALL) === 0) {
          if (stop) return false;
          continue;
        }
        const write = vma.mappable.forkCopy !== undefined && (vma.perms & PROT_WRITE) !== 0;
        const from = Math.max(start, vma.start);
        const to = Math.min(end, vma.end);
        let page = vma.offset / PAGE_SIZE + (from - vma.start) / PAGE_SIZE;
        const last = vma.offset / PAGE_SIZE + (to - vma.start) / PAGE_SIZE;
        while (page < last) {
          // A guard page's fault is SIGSEGV (GUP: EFAULT), and the run stops before the next one.
          const guard = vma.guards === undefined ? -1 : guardedObjectPage(vma, page, last);
          if (guard === page) {
            if (stop) return false;
            complete = false;
            page += 1;
            continue;
          }
          const upTo = guard > page ? guard : last;
          const t = vma.mappable.translate(page, upTo - page, write);
          if (isBusError(t)) {
            // A refused charge OOM-kills the task, and a population stops at a fatal signal.
            if (stop || t.refusedCharge === true) return false;
            complete = false;
            page += 1;
          } else page = t.page + t.pages;
        }
      }
    });
  }

  /**
   * madvise's walk over [start, end) (page aligned, non-empty; the caller
   * checked the advice and the range): `apply` runs on each piece's part in
   * the range, in address order, and its error stops the walk; a hole is
   * ENOMEM, reported after the mapped parts were advised. Frames an advice
   * takes away are no longer anyone's to cache: the TLB generation moves.
   */
  madvise(start: number, end: number, apply: (piece: MadvisePiece) => SysError | undefined): E.Either<SysError, void> {
    return this.mappingMu.with((): E.Either<SysError, void> => {
      this.invalidateTlb();
      const walked = this.eachPieceLocked(start, end, (vma, from, to) =>
        apply({ vma, firstPage: vma.offset / PAGE_SIZE + (from - vma.start) / PAGE_SIZE, pages: (to - from) / PAGE_SIZE }),
      );
      if (typeof walked !== 'boolean') return E.left(walked);
      return walked ? E.left(sysError('ENOMEM', `madvise: part of [${start}, ${end}) is not mapped`)) : DONE;
    });
  }

  /**
   * The VMA flags madvise sets and clears (the fork flags, VM_SEQ_READ and
   * VM_RAND_READ, VM_HUGEPAGE and VM_NOHUGEPAGE, VM_DONTDUMP) over
   * [start, end) (page aligned, non-empty), as madvise_walk_vmas and
   * madvise_update_vma do: each piece in address order is first asked
   * `refuse` (its error stops the walk), then, unless every flag in
   * `changes` already has its value, cut at the range's edges (split_vma:
   * ENOMEM at vm.max_map_count, which madvise reports as EAGAIN; EINVAL
   * where the mappable cannot be split, a hugetlb piece inside a huge page)
   * and changed. A hole is ENOMEM, reported after the mapped parts were
   * changed. No frame moves, so no translation goes stale.
   */
  setFlags(
    ctx: MappingContext,
    start: number,
    end: number,
    changes: Readonly<Partial<Record<VmaFlag, boolean>>>,
    refuse?: (vma: Vma) => SysError | undefined,
  ): E.Either<SysError, void> {
    const at = this.stampOf(ctx);
    const wanted = Object.entries(changes) as [VmaFlag, boolean][];
    return this.mappingMu.with((): E.Either<SysError, void> => {
      const set = this.set;
      let unmapped = false;
      let cur = start;
      for (let i = set.lowerBound(start); cur < end; i++) {
        const vma = set.at(i);
        if (vma === undefined || vma.start >= end) {
          unmapped = true;
          break;
        }
        if (vma.start > cur) unmapped = true;
        const from = Math.max(cur, vma.start);
        const to = Math.min(end, vma.end);
        const refused = refuse?.(vma);
        if (refused !== undefined) return E.left(refused);
        // madvise_update_vma returns early, splitting nothing, when the flags stay as they are.
        if (wanted.some(([flag, value]) => (vma[flag] === true) !== value)) {
          const piece = this.isolateLocked(at, i, vma, from, to, splitAgain, 'madvise');
          if (typeof piece !== 'number') return E.left(piece);
          i = piece;
          for (const [flag, value] of wanted) vma[flag] = value;
        }
        cur = to;
      }
      return unmapped ? E.left(sysError('ENOMEM', `madvise: part of [${start}, ${end}) is not mapped`)) : DONE;
    });
  }

  /**
   * MADV_GUARD_INSTALL (`install`) and MADV_GUARD_REMOVE over [start, end)
   * (page aligned, non-empty), as madvise_walk_vmas runs them: each piece in
   * address order is first asked `refuse` (its error stops the walk, the
   * pieces before it done), then gets the range's pages as guard pages, or
   * loses them. Installing zaps the pages: a private mapping's own pages go
   * (guardPages), a shared mapping's stay in their object, and cached
   * translations go stale either way. Neither splits a piece (the markers
   * live in the page table). A hole is ENOMEM, reported after the mapped
   * parts were done.
   */
  setGuards(start: number, end: number, install: boolean, refuse: (vma: Vma) => SysError | undefined): E.Either<SysError, void> {
    return this.mappingMu.with((): E.Either<SysError, void> => {
      // A removal zaps nothing, and threads cache no faults: nothing of theirs goes stale.
      if (install) this.invalidateTlb();
      const walked = this.eachPieceLocked(start, end, (vma, from, to) => {
        const refused = refuse(vma);
        if (refused !== undefined) return refused;
        if (!install) {
          vma.guards = withoutGuards(vma.guards, from / PAGE_SIZE, to / PAGE_SIZE);
          return undefined;
        }
        const m = vma.mappable;
        if (m instanceof AnonymousMemory) {
          const firstPage = vma.offset / PAGE_SIZE + (from - vma.start) / PAGE_SIZE;
          m.guardPages(firstPage, firstPage + (to - from) / PAGE_SIZE);
        }
        vma.guards = withGuards(vma.guards, from / PAGE_SIZE, to / PAGE_SIZE);
        return undefined;
      });
      if (typeof walked !== 'boolean') return E.left(walked);
      return walked ? E.left(sysError('ENOMEM', `madvise: part of [${start}, ${end}) is not mapped`)) : DONE;
    });
  }

  /**
   * MADV_POPULATE_READ and MADV_POPULATE_WRITE over [start, end) (page
   * aligned, non-empty), as madvise_populate's fault-in walk: pages are
   * faulted in address order, read faults or write faults (a write fault
   * copies a private page, breaking copy-on-write, and claims a file's
   * page). The first failure ends the call, the pages before it staying
   * in: ENOMEM where nothing is mapped, EINVAL for a piece that does not
   * allow the access (no PROT_READ for a read, no PROT_WRITE for a write;
   * the faults are made without FOLL_FORCE), EFAULT for a page the fault
   * refuses with SIGBUS (past the end of a file, a full tmpfs, no huge
   * page), ENOMEM for a charge the memory cgroup refused (VM_FAULT_OOM).
   */
  populateAdvised(start: number, end: number, write: boolean): E.Either<SysError, void> {
    const need = write ? PROT_WRITE : PROT_READ;
    return this.mappingMu.with((): E.Either<SysError, void> => {
      let cur = start;
      for (let i = this.set.lowerBound(start); cur < end; i++) {
        const vma = this.set.at(i);
        if (vma === undefined || vma.start > cur) return E.left(sysError('ENOMEM', `madvise: ${cur} is not mapped`));
        if ((vma.perms & need) === 0) return E.left(sysError('EINVAL', `madvise: the mapping at ${vma.start} does not allow ${write ? 'writing' : 'reading'}`));
        const to = Math.min(end, vma.end);
        let page = vma.offset / PAGE_SIZE + (cur - vma.start) / PAGE_SIZE;
        const last = vma.offset / PAGE_SIZE + (to - vma.start) / PAGE_SIZE;
        while (page < last) {
          // A guard page's fault is SIGSEGV, which madvise_populate reports as EFAULT.
          const guard = vma.guards === undefined ? -1 : guardedObjectPage(vma, page, last);
          if (guard === page) return E.left(sysError('EFAULT', `madvise: a page of the mapping at ${vma.start} is a guard page`));
          const upTo = guard > page ? guard : last;
          const t = vma.mappable.translate(page, upTo - page, write);
          if (isBusError(t)) {
            if (t.refusedCharge === true) return E.left(sysError('ENOMEM', 'madvise: the memory cgroup refused a page'));
            return E.left(sysError('EFAULT', `madvise: a page of the mapping at ${vma.start} cannot be faulted in (${t.reason})`));
          }
          page = t.page + t.pages;
        }
        cur = to;
      }
      return DONE;
    });
  }

  /**
   * mincore over [start, start + pages pages): one byte per page, 1 when the
   * page is in memory (a private page of the mapping, or the mapped
   * object's page). ENOMEM at the first page no piece maps.
   */
  mincore(start: number, pages: number): E.Either<SysError, Uint8Array> {
    return this.mappingMu.with((): E.Either<SysError, Uint8Array> => {
      const vec = new Uint8Array(pages);
      const end = start + pages * PAGE_SIZE;
      let cur = start;
      for (let i = this.set.lowerBound(start); cur < end; i++) {
        const vma = this.set.at(i);
        if (vma === undefined || vma.start > cur) return E.left(sysError('ENOMEM', `mincore: ${cur} is not mapped`));
        const to = Math.min(end, vma.end);
        const base = vma.offset / PAGE_SIZE - vma.start / PAGE_SIZE;
        for (let a = cur; a < to; a += PAGE_SIZE) {
          if (vma.mappable.isResident?.(base + a / PAGE_SIZE) === true) vec[(a - start) / PAGE_SIZE] = 1;
        }
        cur = to;
      }
      return E.right(vec);
    });
  }

  /** shmdt(addr): detaches the attachment whose attach origin is `addr` (see shmdt.ts). */
  detachShm(ctx: MappingContext, addr: number): E.Either<SysError, void> {
    if (!isPageAligned(addr) || addr < 0) return noShmOrigin(addr);
    // A hot path (see "Hot paths" in docs/architecture.md). The common attachment is one piece,
    // which needs no list; further pieces (cut by munmap or mprotect) go to a reused one.
    const rest = this.detachedRest;
    let first: Vma | undefined;
    // The clock is read before anything changes (see MappingStamp).
    const at = this.stamp;
    at.time = ctx.now();
    at.pid = ctx.pid;
    this.mappingMu.lock();
    try {
      first = detachShmLocked(this.set, addr, rest);
      if (first !== undefined) {
        this.invalidateTlb();
        first.mappable.removeMapping(at, this, first, first.offset, first.writable);
        if (rest.length > 0) this.removeMappingsLocked(at, rest);
      }
    } finally {
      this.mappingMu.unlock();
    }
    if (first === undefined) return noShmOrigin(addr);
    first.identity.decRef();
    if (rest.length > 0) dropAll(rest);
    return DONE;
  }

  /**
   * Builds the child's address space at fork: a copy of every VMA at the same
   * address, announced with copyMapping (Linux dup_mmap calls vm_ops->open)
   * and holding its own identity reference. `ctx` is the parent's, since fork
   * runs in the parent (shm records the parent as lpid).
   */
  fork(ctx: MappingContext, childLayout: AddressSpaceLayout = {}): MemoryManager {
    const at = this.stampOf(ctx);
    const child = new MemoryManager({
      memoryFile: this.memoryFile,
      mmapBase: childLayout.mmapBase ?? this.mmapBase,
      executeOnly: this.rules.executeOnly,
      vm: this.vm,
    });
    // The child is not reachable by anyone else yet, so only the parent's lock is needed.
    // Shared mappings and their frames stay as they are. Private pages become
    // copy-on-write: the parent's threads may hold writable translations of
    // them, which must go (Linux write-protects the parent's PTEs and flushes).
    this.mappingMu.with(() => {
      const copies: Vma[] = [];
      // One child object per private object, however many pieces map it.
      const privateCopies = new Map<Mappable, Mappable & MappingIdentity>();
      // Likewise one fresh object per private object for its MADV_WIPEONFORK pieces.
      const wiped = new Map<Mappable, Mappable & MappingIdentity>();
      let cow = false;
      for (const vma of this.set.all()) {
        // dup_mmap skips a VM_DONTCOPY piece: the child has nothing mapped there.
        if (vma.dontCopy === true) continue;
        if (vma.wipeOnFork === true && vma.mappable.freshCopy !== undefined) {
          // VM_WIPEONFORK: no page is copied; the child's piece reads as zeros and keeps the flag.
          let fresh = wiped.get(vma.mappable);
          if (fresh === undefined) {
            fresh = vma.mappable.freshCopy();
            wiped.set(vma.mappable, fresh);
          } else {
            fresh.incRef();
          }
          // The child's page tables are not copied, guard markers included.
          copies.push({ ...vma, mappable: fresh, identity: fresh, locked: false, lockOnFault: false, guards: undefined });
          continue;
        }
        if (vma.mappable.forkCopy !== undefined) {
          let copy = privateCopies.get(vma.mappable);
          if (copy === undefined) {
            copy = vma.mappable.forkCopy();
            privateCopies.set(vma.mappable, copy);
          } else {
            copy.incRef();
          }
          cow = true;
          // dup_mmap clears VM_LOCKED in the child.
          copies.push({ ...vma, mappable: copy, identity: copy, locked: false, lockOnFault: false });
          continue;
        }
        vma.mappable.copyMapping(at, child, { start: vma.start, end: vma.end }, vma.offset, vma.writable);
        vma.identity.incRef();
        copies.push({ ...vma, locked: false, lockOnFault: false });
      }
      if (cow) this.invalidateTlb();
      child.set.load(copies);
    });
    return child;
  }

  /**
   * Checkpoint restore: fills an empty address space with `vmas` (address
   * order, no overlaps). The mappables are not told: their counts (nattch,
   * references) are restored with them.
   */
  restoreVmas(vmas: readonly Vma[]): void {
    this.mappingMu.with(() =>
      this.set.load(
        vmas.map((v) => {
          const flags = vmaFlags(v);
          // VM_LOCKONFAULT only ever stands beside VM_LOCKED.
          flags.lockOnFault &&= flags.locked;
          return { ...v, ...flags };
        }),
      ),
    );
  }

  /** Removes every mapping (exit_mmap at exit or execve); the address space is empty afterwards. */
  release(ctx: MappingContext): void {
    const at = this.stampOf(ctx);
    this.withDropped((dropped) => {
      for (const vma of this.set.removeRange(0, this.set.size)) {
        this.removeMappingLocked(at, vma, dropped);
      }
    });
  }

  /** Reads `len` bytes at `addr`. */
  read(addr: number, len: number): E.Either<Fault, Uint8Array> {
    return this.mappingMu.with(() => {
      const r = readBytes(this.set, this.memoryFile, this.rules, addr, len);
      return this.grewLocked(r) ? readBytes(this.set, this.memoryFile, this.rules, addr, len) : r;
    });
  }

  /** Reads `dst.length` bytes at `addr` into `dst`, with no allocation. */
  readInto(addr: number, dst: Uint8Array): E.Either<Fault, void> {
    return this.mappingMu.with(() => {
      const r = readBytesInto(this.set, this.memoryFile, this.rules, addr, dst);
      return this.grewLocked(r) ? readBytesInto(this.set, this.memoryFile, this.rules, addr, dst) : r;
    });
  }

  /** Writes `bytes` at `addr`; on a fault, the pages before the faulting one stay written. */
  write(addr: number, bytes: Uint8Array): E.Either<Fault, void> {
    return this.mappingMu.with(() => {
      const r = writeBytes(this.set, this.memoryFile, this.rules, addr, bytes);
      return this.grewLocked(r) ? writeBytes(this.set, this.memoryFile, this.rules, addr, bytes) : r;
    });
  }

  /** Sets `len` bytes at `addr` to `byte`. */
  fill(addr: number, len: number, byte: number): E.Either<Fault, void> {
    return this.mappingMu.with(() => {
      const r = fillBytes(this.set, this.memoryFile, this.rules, addr, len, byte);
      return this.grewLocked(r) ? fillBytes(this.set, this.memoryFile, this.rules, addr, len, byte) : r;
    });
  }

  /**
   * Whether access result `r` is a SIGSEGV in the hole below a growing-down
   * mapping that growBelowLocked then grew over: the access runs again, as
   * the faulting instruction does after expand_stack. Only a fault pays for
   * the lookup. Preconditions: mappingMu is held.
   */
  private grewLocked(r: E.Either<Fault, unknown>): boolean {
    return E.isLeft(r) && r.left.signal === 'SIGSEGV' && this.growBelowLocked(r.left.addr);
  }

  /**
   * A fault at `addr` in the hole right below a VM_GROWSDOWN mapping grows
   * the mapping down to addr's page first, as lock_mm_and_find_vma's
   * expand_stack does: not below mmap_min_addr (GROW_MIN_ADDR), not within
   * stack_guard_gap of an accessible mapping below (one growing down too
   * does not count), and not to more than RLIMIT_STACK in all, nor, when it
   * is locked, past RLIMIT_MEMLOCK (stackLockLimit). The grown
   * part is a piece of its own here (Linux widens the VMA) with the
   * mapping's protection and flags. Whether it grew. Preconditions: mappingMu is held.
   */
  private growBelowLocked(addr: number): boolean {
    if (!Number.isSafeInteger(addr) || addr < 0 || addr >= TASK_SIZE) return false;
    const i = this.set.lowerBound(addr);
    const next = this.set.at(i);
    if (next === undefined || next.start <= addr || next.growsDown !== true) return false;
    const start = addr - (addr % PAGE_SIZE);
    if (start < GROW_MIN_ADDR) return false;
    const prev = i > 0 ? this.set.at(i - 1) : undefined;
    if (prev !== undefined && prev.growsDown !== true && (prev.perms & (PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0 && start - prev.end < STACK_GUARD_GAP)
      return false;
    // The mapping's end: the growing pieces of one object above, contiguous.
    let end = next.end;
    for (let j = i + 1; ; j++) {
      const v = this.set.at(j);
      if (v === undefined || v.start !== end || v.mappable !== next.mappable || v.growsDown !== true) break;
      end = v.end;
    }
    if (end - start > STACK_LIMIT || next.offset < next.start - start) return false;
    // A locked mapping's new pages are locked too: mlock_future_ok refuses them past RLIMIT_MEMLOCK.
    if (next.locked === true && this.lockedPagesLocked(0, TASK_SIZE) + (next.start - start) / PAGE_SIZE > this.stackLockLimit()) return false;
    const grown = makeVma(start, next.start, next.mappable, next.offset - (next.start - start), next.perms, next.maxPerms, next.identity, next.writable);
    // Linux widens the VMA, so the grown part has every flag of the piece above it (VM_LOCKED,
    // VM_DONTCOPY, VM_WIPEONFORK, the madvise hints, VM_GROWSDOWN), though none of its guard pages.
    Object.assign(grown, vmaFlags(next));
    this.insertMappingLocked(GROWTH_STAMP, grown);
    return true;
  }

  /** Atomically loads the signed 32-bit word at `addr` (4-byte aligned). */
  atomicLoad32(addr: number): E.Either<Fault, number> {
    return this.mappingMu.with(() => atomic32(this.set, this.memoryFile, this.rules, addr, false, (w, i) => Atomics.load(w, i)));
  }

  /** Atomically stores `value` at `addr`; returns it as the signed 32-bit word the store wrote. */
  atomicStore32(addr: number, value: number): E.Either<Fault, number> {
    return this.mappingMu.with(() =>
      atomic32(this.set, this.memoryFile, this.rules, addr, true, (w, i) => {
        Atomics.store(w, i, value);
        return value | 0;
      }),
    );
  }

  /** Atomically adds `delta` to the word at `addr`; returns the old value. */
  atomicAdd32(addr: number, delta: number): E.Either<Fault, number> {
    return this.mappingMu.with(() => atomic32(this.set, this.memoryFile, this.rules, addr, true, (w, i) => Atomics.add(w, i, delta)));
  }

  /** Atomically replaces the word at `addr` with `replacement` if it equals `expected`; returns the old value. */
  atomicCompareExchange32(addr: number, expected: number, replacement: number): E.Either<Fault, number> {
    return this.mappingMu.with(() =>
      atomic32(this.set, this.memoryFile, this.rules, addr, true, (w, i) => Atomics.compareExchange(w, i, expected, replacement)),
    );
  }

  /**
   * A software TLB's miss: translations from `addr` on, stamped with the
   * current generation (see tlb.ts). Frames are allocated on first touch.
   */
  translateForTlb(addr: number, len: number, write: boolean): E.Either<Fault, TlbFill> {
    if (!Number.isSafeInteger(addr) || addr < 0 || !Number.isSafeInteger(len) || len < 0) return E.left({ signal: 'SIGSEGV', addr });
    return this.mappingMu.with(() => {
      this.tlbFilled = true;
      return fillTlb(this.set, this.memoryFile, this.rules, Atomics.load(this.tlbGeneration, 0), addr, len, write);
    });
  }

  /**
   * The futex key of the 4-byte-aligned word at `addr`, as get_futex_key
   * makes it and a worker thread of this process makes it for the same word
   * (TlbCache.futexKey): the page is faulted in for writing where the
   * mapping may be written (on private memory that breaks copy-on-write,
   * and the key is then this address space and `addr`), else for reading.
   * A shared object's word is keyed by its frame, which stays put while the
   * object lives, so mappings of one segment at different addresses, in any
   * process, meet. SIGSEGV (EFAULT) where the word is not readable, and for
   * a read-only mapping's private page or zero page (futexKeying in tlb.ts).
   */
  futexWord(addr: number): E.Either<Fault, FutexKey> {
    const mf = this.memoryFile;
    return this.mappingMu.with((): E.Either<Fault, FutexKey> => {
      const vma = this.set.find(addr);
      if (vma === undefined) return E.left({ signal: 'SIGSEGV', addr });
      const write = permits(vma, true, this.rules);
      const keying = futexKeying(vma, vma.offset / PAGE_SIZE + Math.floor((addr - vma.start) / PAGE_SIZE), write);
      let key: FutexKey | undefined;
      const found = atomic32(this.set, mf, this.rules, addr, write, (words, index, frame) => {
        if (frame !== ZERO_FRAME && keying !== FUTEX_REFUSED) {
          key = keying === FUTEX_BY_ADDRESS ? addressKey(words, index, this.spaceId, addr) : frameKey(words, index, mf.chunkIdOf(frame), index);
        }
        return index;
      });
      if (E.isLeft(found)) return found;
      return key === undefined ? E.left({ signal: 'SIGSEGV', addr }) : E.right(key);
    });
  }

  /**
   * Reads the clock for a change about to begin, before anything changes, so
   * that a throwing clock leaves the address space and its mappables as they
   * were; returns the reused stamp the mappables are given.
   */
  stampOf(ctx: MappingContext): MappingStamp {
    const time = ctx.now();
    const at = this.stamp;
    at.time = time;
    at.pid = ctx.pid;
    return at;
  }

  /**
   * munmap's map-count rule (vms_gather_munmap_vmas): unmapping a range that
   * lies strictly inside one VMA splits it in three, ending with one VMA
   * more, so that is refused once the process holds vm.max_map_count VMAs;
   * other splits may pass the limit for a moment, as the unmap takes pieces
   * away. Preconditions: mappingMu is held.
   */
  private unmapOverLimitLocked(start: number, end: number): E.Either<SysError, never> | undefined {
    const vma = this.set.find(start);
    if (vma === undefined || vma.start >= start || vma.end <= end) return undefined;
    return this.set.size >= this.vm.maxMapCount ? splitOverLimit(this.set.size) : undefined;
  }

  /** MappingSpace.withPagesRetired: runs `fn` under mappingMu, then marks every cached translation stale. */
  withPagesRetired(fn: () => void): void {
    this.mappingMu.with(() => {
      fn();
      this.invalidateTlb();
    });
  }

  /**
   * Marks every cached translation stale (see tlb.ts), when any thread may
   * hold one, then waits (at most SHOOTDOWN_WAIT_MS) for the accesses other
   * threads have in flight to end: one that began with a translation from
   * before the bump may still load or store through it, and as Linux's TLB
   * flush does, none may land after the call that changed the mapping
   * (munmap, mprotect, ...) has returned. Preconditions: mappingMu is held.
   */
  private invalidateTlb(): void {
    if (!this.tlbFilled) return;
    bumpGeneration(this.tlbGeneration);
    this.memoryFile.accessesEnded(SHOOTDOWN_WAIT_MS);
  }

  /**
   * Runs `fn` under mappingMu, then drops the identity references it
   * collected, after unlocking.
   */
  private withDropped<T>(fn: (dropped: MappingIdentity[]) => T): T {
    const dropped: MappingIdentity[] = [];
    const result = this.mappingMu.with(() => {
      this.invalidateTlb();
      return fn(dropped);
    });
    for (const identity of dropped) {
      identity.decRef();
    }
    return result;
  }

  /**
   * A fixed mmap's placement and insertion, once the length is checked and
   * aligned. `dropped` is given exactly when the mapping replaces what is
   * there; identity references of replaced pieces go to it.
   * Preconditions: mappingMu is held.
   */
  private mapFixedLocked(at: MappingStamp, opts: MmapOptions, len: number, dropped: MappingIdentity[] | undefined): E.Either<SysError, number> {
    const addr = fixedAddress(this.set, opts, len);
    if (E.isLeft(addr)) return addr;
    const start = addr.right;
    if ((opts.perms & ~opts.maxPerms) !== 0) return permsRefused();
    if (dropped !== undefined) {
      const refused = this.clearForReplaceLocked(at, start, start + len, dropped);
      if (refused !== undefined) return refused;
    }
    this.insertMappingLocked(at, newVma(opts, start, len));
    return addr;
  }

  /**
   * mmap's last step, on free space: the VMA goes in, with the mappable's
   * addMapping and the identity reference. A mapping of unmapped space
   * invalidates no translation (threads cache no faults): no TLB bump.
   * Preconditions: mappingMu is held; [vma.start, vma.end) is free.
   */
  private insertMappingLocked(at: MappingStamp, vma: Vma): void {
    vma.mappable.addMapping(at, this, vma, vma.offset, vma.writable);
    vma.identity.incRef();
    this.set.insert(vma);
  }

  /**
   * A replacing fixed mapping's first step (MAP_FIXED): unmaps what is in
   * [start, end), or refuses with EINVAL when that would split a piece that
   * cannot be split there. Preconditions: mappingMu is held.
   */
  private clearForReplaceLocked(at: MappingStamp, start: number, end: number, dropped: MappingIdentity[]): E.Either<SysError, never> | undefined {
    const overLimit = this.unmapOverLimitLocked(start, end);
    if (overLimit !== undefined) return overLimit;
    if (!this.maySplitAtLocked(start) || !this.maySplitAtLocked(end)) return unsplittable(start, end);
    this.invalidateTlb();
    this.unmapLocked(at, start, end, dropped);
    return undefined;
  }

  /**
   * Unmaps [start, end): splits the pieces straddling either edge (the parts
   * outside the range become the extra pieces, as in Linux's munmap), then
   * removes every piece inside.
   * Preconditions: mappingMu is held.
   */
  private unmapLocked(at: MappingStamp, start: number, end: number, dropped: MappingIdentity[]): void {
    let i = this.set.lowerBound(start);
    const first = this.set.at(i);
    if (first !== undefined && first.start < start && first.end > start) {
      this.splitLocked(at, i, start, 'below');
      i++;
    }
    let j = i;
    for (let vma = this.set.at(j); vma !== undefined && vma.start < end; vma = this.set.at(++j)) {
      if (vma.end > end) {
        this.splitLocked(at, j, end, 'above');
      }
    }
    for (const vma of this.set.removeRange(i, j - i)) {
      this.removeMappingLocked(at, vma, dropped);
    }
  }

  /**
   * Whether a split at `addr` is allowed: true when no VMA straddles it or
   * its mappable accepts the split offset (vm_ops->may_split).
   * Preconditions: mappingMu is held.
   */
  private maySplitAtLocked(addr: number): boolean {
    const vma = this.set.find(addr);
    if (vma === undefined || vma.start === addr || vma.mappable.maySplit === undefined) return true;
    // Both terms are page aligned, so the sum is exact past 2^53 too.
    return vma.mappable.maySplit(vma.offset + (addr - vma.start));
  }

  /**
   * Makes [cur, end) of `vma`, the VMA at index `i`, a piece of its own: the
   * parts outside the range become the extra pieces (vma_modify's split_vma
   * calls; a first split stays when the second fails). Each split is refused
   * at vm.max_map_count with `overLimit`'s error and, for a call that asks
   * (`checkSplit` names it), where the mappable cannot be split (EINVAL).
   * Returns the piece's index, or the refusal. Preconditions: mappingMu is
   * held.
   */
  private isolateLocked(
    at: MappingStamp,
    i: number,
    vma: Vma,
    cur: number,
    end: number,
    overLimit: (count: number) => SysError = overMapCount,
    checkSplit?: string,
  ): number | SysError {
    let piece = i;
    if (vma.start < cur) {
      const refused = this.splitRefusedLocked(cur, vma, overLimit, checkSplit);
      if (refused !== undefined) return refused;
      this.splitLocked(at, piece, cur, 'below');
      piece++;
    }
    if (vma.end > end) {
      const refused = this.splitRefusedLocked(end, vma, overLimit, checkSplit);
      if (refused !== undefined) return refused;
      this.splitLocked(at, piece, end, 'above');
    }
    return piece;
  }

  /** isolateLocked's refusal of a split of `vma` at `addr`, if any. Preconditions: mappingMu is held. */
  private splitRefusedLocked(addr: number, vma: Vma, overLimit: (count: number) => SysError, checkSplit: string | undefined): SysError | undefined {
    if (this.set.size >= this.vm.maxMapCount) return overLimit(this.set.size);
    if (checkSplit !== undefined && !this.maySplitAtLocked(addr))
      return sysError('EINVAL', `${checkSplit} would split the mapping at ${vma.start} where it cannot be split`);
    return undefined;
  }

  /**
   * Splits VMA `i` at `addr`; the `extra` side becomes a new piece, which
   * the mappable sees as a copy and which holds its own identity reference
   * (__split_vma calls vm_ops->open: shm nattch rises by one).
   * Preconditions: mappingMu is held.
   */
  private splitLocked(at: MappingStamp, i: number, addr: number, extra: 'below' | 'above'): void {
    const piece = this.set.split(i, addr, extra);
    piece.mappable.copyMapping(at, this, { start: piece.start, end: piece.end }, piece.offset, piece.writable);
    piece.identity.incRef();
  }

  /**
   * Tells the mappable that `vma` is gone (the caller takes it out of the set), and
   * queues its identity reference for release after mappingMu is unlocked.
   * Preconditions: mappingMu is held.
   */
  private removeMappingLocked(at: MappingStamp, vma: Vma, dropped: MappingIdentity[]): void {
    vma.mappable.removeMapping(at, this, vma, vma.offset, vma.writable);
    dropped.push(vma.identity);
  }
}
