/**
 * The interfaces between the memory manager and the things it maps, after
 * gVisor's pkg/sentry/memmap. A shm segment implements Mappable and
 * MappingIdentity; later a tmpfs file does too.
 *
 * Offsets and addresses are byte numbers. Everything a mapping can reach lies
 * below TASK_SIZE (2^47), so plain numbers are exact.
 */

import { PAGE_SIZE } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';

/** Access kinds, as PROT_READ | PROT_WRITE | PROT_EXEC bits. */
export type Perms = number;

/** Who is changing a mapping, and when: the Mappable records it (shm: lpid, atime, dtime). */
export interface MappingContext {
  /** The thread-group id of the process on whose behalf the change happens. */
  readonly pid: number;
  /** CLOCK_REALTIME in whole seconds. */
  now(): number;
}

/**
 * What a Mappable is told of a change to its mappings: who made it, and the
 * second it happened. The memory manager reads the clock once, before it
 * changes anything, so an injected clock that throws leaves every mapping as
 * it was. Valid for the call only: the manager reuses the object.
 */
export interface MappingStamp {
  /** The thread-group id of the process on whose behalf the change happens. */
  readonly pid: number;
  /** CLOCK_REALTIME in whole seconds. */
  readonly time: number;
}

/** An address range [start, end) in one address space; page aligned. */
export interface AddrRange {
  readonly start: number;
  readonly end: number;
}

/** An address space that holds mappings: the MemoryManager. Used only as an identity here. */
export interface MappingSpace {
  /** A number unique among live address spaces, for diagnostics. */
  readonly spaceId: number;
  /**
   * Runs `fn` under the space's mapping lock, then retires every translation
   * a thread of it may have cached: for pages a private object of this space
   * loses from outside it (a truncation discarding private copies). Absent:
   * `fn` just runs.
   */
  withPagesRetired?(fn: () => void): void;
}

/**
 * A private mapping of a file, as the file sees it: the copies of its pages
 * the mapping made on write. Linux's truncation zaps them too past the new
 * end (unmap_mapping_range with even_cows), so an access there is SIGBUS
 * again, not the old private copy.
 */
export interface PrivateCopies {
  /** Forgets the mapping's own copies of object pages from `page` on. */
  discardFrom(page: number): void;
}

/**
 * One run of consecutive pages of a Mappable that sit in consecutive frames of
 * the MemoryFile: object pages [page, page+pages) live in frames
 * [frame, frame+pages).
 */
export interface Translation {
  readonly page: number;
  readonly frame: number;
  readonly pages: number;
  /**
   * Set on a read translation of private memory whose frames something else
   * also holds (the file, or a fork relative before copy-on-write): good for
   * this one read, never to cache or to write through.
   */
  readonly shared?: boolean;
  /**
   * Set with `shared` when the frame sits in another private object's
   * arena (a fork relative's): a thread may be shown its bytes for this
   * read, never given its chunk, which holds that relative's other pages.
   */
  readonly elsewhere?: boolean;
  /**
   * Set on a read translation of a private anonymous page never written
   * (Linux maps the shared zero page, do_anonymous_page without
   * FAULT_FLAG_WRITE): the page reads as zeros, `frame` is ZERO_FRAME and
   * names no frame, and nothing was allocated or charged. Comes with
   * `shared` and `elsewhere`, so a thread is shown zeros for one read and
   * its write faults to the kernel, which allocates the page.
   */
  readonly zero?: boolean;
}

/** The `frame` of a zero translation: no frame of the MemoryFile. */
export const ZERO_FRAME = -1;

/** The bytes of the zero page, for readers only: nothing may write them. */
export const ZERO_PAGE_BYTES = new Uint8Array(PAGE_SIZE);

/** ZERO_PAGE_BYTES as 32-bit words, for an atomic read. */
export const ZERO_PAGE_WORDS = new Int32Array(ZERO_PAGE_BYTES.buffer);

/**
 * A memory cgroup as private memory sees it (src/memcg's MemoryCharge,
 * which sits above mm): what a page is charged to.
 */
export interface PageChargeTarget {
  /**
   * Charges `pages` pages; false, with nothing charged, at the limit. A
   * `speculative` charge (a page past the one a fault needs) is refused
   * without counting in failcnt: the fault that needs the page counts.
   */
  tryCharge(pages: number, speculative?: boolean): boolean;
  uncharge(pages: number): void;
}

/** Who pays for a private page a fault allocates (memcg's FaultChargeSource): the task touching memory now. */
export interface PageCharges {
  current(): PageChargeTarget;
  /** The current task's cgroup refused a page: the memory cgroup OOM killer's cue. */
  refused(): void;
}

/** Translate failed in a way that is a SIGBUS for the accessing process. */
export interface BusError {
  readonly bus: true;
  readonly reason: string;
  /** Set when a memory cgroup refused the page: its task is being OOM-killed. */
  readonly refusedCharge?: true;
}

/** True when a translate result is a BusError. */
export function isBusError(r: Translation | BusError): r is BusError {
  return (r as BusError).bus === true;
}

/**
 * Something that can be mapped into an address space: a mutable mapping from
 * page offsets to frames. Every range passed in is non-empty and page aligned,
 * and valid for the call only (it may be the VMA itself): copy it to keep it.
 *
 * Methods other than translate may take the Mappable's own locks, which rank
 * after mm.mappingMu; translate takes none.
 */
export interface Mappable {
  /**
   * A new mapping piece of `ar` at object offset `offset` appears (mmap, shmat).
   * `writable` says whether the mapping may ever be written through.
   */
  addMapping(at: MappingStamp, ms: MappingSpace, ar: AddrRange, offset: number, writable: boolean): void;
  /** A mapping piece disappears (munmap, shmdt, replacement, exit). */
  removeMapping(at: MappingStamp, ms: MappingSpace, ar: AddrRange, offset: number, writable: boolean): void;
  /**
   * A mapping piece is created as a copy of an existing one: the child's copy
   * at fork, or the extra piece when a VMA is split (Linux calls vm_ops->open
   * in both cases).
   */
  copyMapping(at: MappingStamp, ms: MappingSpace, ar: AddrRange, offset: number, writable: boolean): void;
  /**
   * The frames behind object pages starting at `page`: one run of at most
   * `maxPages` pages, at least one page long. Frames are allocated on first
   * touch (reads too, as Linux shmem does). A page past the end of the
   * object is a BusError.
   */
  translate(page: number, maxPages: number, write: boolean): Translation | BusError;
  /**
   * Whether a mapping of this object may be split at object byte `offset`
   * (Linux vm_ops->may_split: hugetlb mappings split only at huge page
   * boundaries). Absent means any page boundary is fine.
   */
  maySplit?(offset: number): boolean;
  /**
   * For private memory (anonymous, MAP_PRIVATE): the object a forked child
   * maps instead of this one, holding a copy of its pages and one reference.
   * Absent for shared objects, which parent and child keep sharing.
   */
  forkCopy?(): Mappable & MappingIdentity;
  /**
   * For private anonymous memory: a new object of the same size and name
   * holding no page and one reference, which a forked child maps where the
   * parent advised MADV_WIPEONFORK. Absent for any other object.
   */
  freshCopy?(): Mappable & MappingIdentity;
  /**
   * MADV_REMOVE: frees object pages [firstPage, endPage), which read as
   * zeros afterwards (fallocate's FALLOC_FL_PUNCH_HOLE); an error, such as
   * a write seal's EPERM, changes nothing. Absent: EOPNOTSUPP.
   */
  removePages?(firstPage: number, endPage: number): SysError | undefined;
  /** mincore: whether object page `page` is in memory. Absent: never. */
  isResident?(page: number): boolean;
  /**
   * A private mapping over this object starts (`on`) or stops keeping copies
   * of its pages, which a shrinking file discards. Absent: the object never
   * shrinks under its mappings.
   */
  trackPrivate?(copies: PrivateCopies, on: boolean): void;
}

/**
 * Controls the lifetime of a Mappable, and names it in /proc/pid/maps. Each
 * VMA holds one reference. References dropped under mm.mappingMu are released
 * after it is unlocked, because a final decRef takes locks of lower rank.
 */
export interface MappingIdentity {
  incRef(): void;
  decRef(): void;
  /** The name /proc/pid/maps shows, e.g. "/SYSV0000abcd (deleted)". */
  mappedName(): string;
  deviceId(): number;
  inodeId(): number;
  /** Writes back dirty pages; a no-op for memory-only objects. */
  msync(): void;
}

/**
 * A System V shm segment as the memory manager sees it. mm needs to recognise
 * attachments for shmdt's attach-origin rule (ipc/shm.c ksys_shmdt) without
 * importing the shm package, which sits above it.
 */
export interface ShmMappable extends Mappable {
  readonly isSysvShm: true;
  /** PAGE_ALIGN(segsz): how far past the attach origin shmdt may look. */
  effectiveBytes(): number;
}

/** True when `m` is a System V shm segment. */
export function isShmMappable(m: Mappable): m is ShmMappable {
  return (m as Partial<ShmMappable>).isSysvShm === true;
}
