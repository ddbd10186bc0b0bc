/**
 * One System V shared memory segment (Linux struct shmid_kernel; gVisor
 * kernel/shm.Shm). A Shm is at once the IPC object (perm, times, pids), the
 * Mappable whose pages address spaces map, and the MappingIdentity that keeps
 * it alive while mapped.
 *
 * Lifetime is IpcObject's (src/ipc/object.ts): a reference to itself until removal's first
 * phase (IPC_RMID, a forced removal, or namespace teardown), one per VMA
 * piece, and transient ones for syscalls. When the count reaches zero the
 * registry removes the id and the frames go back to the MemoryFile.
 *
 * Locks: mu guards every mutable field. Preconditions are stated per method;
 * decRef must never be called with mu held, because the final decRef takes
 * the registry lock, which ranks before mu.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SHIFT_N, PAGE_SIZE, PAGE_SIZE_N, SHM_LOCKED } from '../abi/constants.js';
import type { ShmidDs } from '../abi/shm.js';
import { FrameTable } from '../mm/frame_table.js';
import type { MemoryFile } from '../mm/memory_file.js';
import type { AddrRange, BusError, MappingIdentity, MappingStamp, MappingSpace, ShmMappable, Translation } from '../mm/memmap.js';
import type { IpcObject } from '../ipc/object.js';
import { refcountBug } from '../ipc/object.js';
import type { IpcPermState } from '../ipc/perm.js';
import { LockRank, Mutex } from '../sync/mutex.js';

/** IPC_STAT's result: ret 0 and the snapshot (syscalls.ts's ShmctlResult has this shape). */
export interface StatAnswer {
  readonly ret: number;
  readonly ds: ShmidDs;
}

/** 2^53: a size below it is exact as a number. */
const SAFE_SIZE = 2n ** 53n;

/** What a segment needs from its registry; the registry implements it. */
export interface ShmOwner {
  /** Removal's first phase (ipc/registry.ts). Takes the registry lock. */
  markDestroyed(s: Shm): void;
  /** Drops a reference; the last removes the id, subtracts shm_tot, returns the SHM_LOCK charge and the frames. */
  putRef(s: Shm): void;
  /** kernel.shm_rmid_forced of the segment's namespace. */
  rmidForced(): boolean;
}

/** Fields a new segment starts with. */
export interface ShmInit {
  readonly perm: IpcPermState;
  /** The size asked for; a number below 2^53 (shmget's common case) spares a bigint until someone reads segsz. */
  readonly segsz: bigint | number;
  /** Bytes a mapping of the segment spans (PAGE_ALIGN(segsz), or the huge-page-aligned size). */
  readonly mapBytes: number;
  /**
   * The huge page size of a SHM_HUGETLB segment, 0 for a normal one. No huge
   * pages are reserved in the model, so every touch of a hugetlb segment is a
   * SIGBUS.
   */
  readonly hugePageBytes: number;
  readonly cpid: number;
  readonly creator: object;
  readonly ctime: number;
}

/** A System V shm segment. */
export class Shm implements IpcObject, ShmMappable, MappingIdentity {
  readonly isSysvShm = true;
  /** Guards perm, times, pids, nattch and the destruction flags. */
  readonly mu = new Mutex('shm.Shm.mu', LockRank.shmSegmentMu);
  readonly perm: IpcPermState;
  /** The segment's size in bytes, kept as shmget got it. */
  private readonly size: bigint | number;
  /** segsz as a bigint, made on its first read when size is a number. */
  private sizeAsBigint: bigint | undefined = undefined;
  /** The last IPC_STAT snapshot and answer (see statLocked). */
  private lastStat: { readonly ds: ShmidDs; readonly answer: E.Right<StatAnswer> } | undefined = undefined;
  /** ceil(segsz / PAGE_SIZE): what the segment counts in shm_tot. Below 2^52, so exact as a number. */
  readonly pages: number;
  readonly hugePageBytes: number;
  readonly cpid: number;
  atime = 0;
  dtime = 0;
  ctime: number;
  lpid = 0;
  /** Mapping pieces across all address spaces (Linux shm_nattch). */
  nattch = 0;
  /** Set once the self-reference is dropped (SHM_DEST, forced removal, namespace teardown). */
  pendingDestruction = false;
  /**
   * The creating process while it lives (Linux shm_creator), as an opaque
   * token; undefined once it exited or left the namespace.
   */
  creator: object | undefined = undefined;
  /** The uid whose locked-memory count SHM_LOCK charged (Linux mlock_ucounts). */
  lockedBy: number | undefined = undefined;
  /** A removal forced by shm_rmid_forced, to run at the next decRef. */
  private forcedPending = false;

  private refs = 1;
  private readonly mapLimit: number;
  private readonly objectPages: number;
  /** The frames behind touched pages; made at the first touch (most segments of a create/remove loop are never touched). */
  private table: FrameTable | undefined = undefined;
  private readonly mf: MemoryFile;

  constructor(
    private readonly owner: ShmOwner,
    mf: MemoryFile,
    init: ShmInit,
  ) {
    this.mf = mf;
    this.perm = init.perm;
    this.size = init.segsz;
    // Sizes below 2^53 divide exactly as numbers; larger ones (up to 2^64) round up in bigint.
    const size = init.segsz;
    this.pages =
      typeof size === 'number'
        ? Math.ceil(size / PAGE_SIZE)
        : size < SAFE_SIZE
          ? Math.ceil(Number(size) / PAGE_SIZE)
          : Number((size + PAGE_SIZE_N - 1n) >> PAGE_SHIFT_N);
    this.mapLimit = init.mapBytes;
    this.objectPages = Math.ceil(init.mapBytes / PAGE_SIZE);
    this.hugePageBytes = init.hugePageBytes;
    this.cpid = init.cpid;
    this.creator = init.creator;
    this.ctime = init.ctime;
  }

  /** shm_segsz: the size asked for at shmget. */
  get segsz(): bigint {
    const size = this.size;
    return typeof size === 'bigint' ? size : (this.sizeAsBigint ??= BigInt(size));
  }

  /**
   * shmget's size check on an existing segment: true when `size` is larger
   * than segsz. Two numbers compare without touching a bigint, which a key
   * lookup over thousands of segments would otherwise miss in cache.
   */
  smallerThan(size: bigint | number): boolean {
    const own = this.size;
    return typeof own === 'number' && typeof size === 'number' ? size > own : BigInt(size) > BigInt(own);
  }

  /** The frames behind touched pages, made on first use. */
  private get frames(): FrameTable {
    return (this.table ??= new FrameTable(this.mf));
  }

  /** The segment's id. */
  get id(): number {
    return this.perm.id;
  }

  /** True for a SHM_HUGETLB segment. */
  get hugetlb(): boolean {
    return this.hugePageBytes > 0;
  }

  /** Pages that hold a frame (shm_rss counts them). */
  get residentPages(): number {
    return this.table?.residentPages ?? 0;
  }

  /** Current reference count (for tests and invariants). */
  get refCount(): number {
    return this.refs;
  }

  effectiveBytes(): number {
    return this.mapLimit;
  }

  // MappingIdentity

  incRef(): void {
    if (this.refs <= 0) refcountBug(this, 'incRef after destruction');
    this.refs += 1;
  }

  /** Precondition: mu is not held. */
  decRef(): void {
    // Inline fast path, see docs/architecture.md, "Hot paths": the common
    // drop, of a reference that is not the last with no forced removal
    // waiting, is a decrement; the rest is out of line.
    if (this.refs > 1 && !this.forcedPending) this.refs -= 1;
    else this.decRefSlow();
  }

  /** decRef's uncommon cases: a forced removal waiting, the last reference, or a broken count. */
  private decRefSlow(): void {
    if (this.forcedPending) {
      this.forcedPending = false;
      // Linux's shm_close destroys when nattch reaches zero, and do_shmat
      // holds a temporary attach count across its mmap, so a SHM_REMAP of
      // the segment over its own last attachment never gets there. Here the
      // destruction waits for this decRef, outside mm's lock; an attachment
      // made since then (that remap) keeps the segment, as the count does.
      if (this.nattch === 0) this.owner.markDestroyed(this);
    }
    this.owner.putRef(this);
  }

  mappedName(): string {
    const key = (this.perm.key >>> 0).toString(16).padStart(8, '0');
    return `/SYSV${key} (deleted)`;
  }

  deviceId(): number {
    return 0;
  }

  /** Linux numbers the shm file's inode after the id, and ps tools rely on it. */
  inodeId(): number {
    return this.perm.id;
  }

  msync(): void {}

  // Mappable. Linux shm_open/shm_close update atime/dtime and lpid per piece.

  addMapping(at: MappingStamp, _ms: MappingSpace, _ar: AddrRange, _offset: number, _writable: boolean): void {
    // The memory manager read the clock before changing anything, so nothing
    // here can throw: lock/unlock without a closure, as this is shmat's hot path.
    this.mu.lock();
    this.atime = at.time;
    this.lpid = at.pid;
    this.nattch += 1;
    this.mu.unlock();
  }

  copyMapping(at: MappingStamp, ms: MappingSpace, ar: AddrRange, offset: number, writable: boolean): void {
    this.addMapping(at, ms, ar, offset, writable);
  }

  removeMapping(at: MappingStamp, _ms: MappingSpace, _ar: AddrRange, _offset: number, _writable: boolean): void {
    this.mu.lock();
    this.dtime = at.time;
    this.lpid = at.pid;
    this.nattch -= 1;
    // shm_close destroys at nattch 0 when shm_rmid_forced is set; the self-reference
    // goes at the VMA's deferred decRef, outside mm.mappingMu.
    if (this.nattch === 0 && !this.pendingDestruction && this.owner.rmidForced()) {
      this.forcedPending = true;
    }
    this.mu.unlock();
  }

  /** hugetlb mappings split only at huge page boundaries (hugetlb_vm_op_split). */
  maySplit(offset: number): boolean {
    return !this.hugetlb || offset % this.hugePageBytes === 0;
  }

  translate(page: number, maxPages: number, _write: boolean): Translation | BusError {
    if (this.hugetlb) return { bus: true, reason: 'no huge pages are reserved' };
    if (page >= this.objectPages) return { bus: true, reason: 'access past the end of the segment' };
    return this.frames.run(page, maxPages, this.objectPages);
  }

  /**
   * struct shmid_ds as IPC_STAT reports it. Precondition: mu is held.
   *
   * The snapshot is frozen and handed out again while every field it shows
   * is unchanged, so a program polling IPC_STAT allocates nothing; comparing
   * the fields (rather than invalidating at each place that sets one) keeps
   * it right whatever changes them.
   */
  statLocked(): ShmidDs {
    const last = this.lastStat;
    if (last !== undefined && this.showsCurrent(last.ds)) return last.ds;
    return this.takeStat().ds;
  }

  /** IPC_STAT's whole answer (a Right with ret 0), reused like statLocked's snapshot. Precondition: mu is held. */
  ipcStatLocked(): E.Right<StatAnswer> {
    const last = this.lastStat;
    return last !== undefined && this.showsCurrent(last.ds) ? last.answer : this.takeStat().answer;
  }

  private showsCurrent(ds: ShmidDs): boolean {
    const p = this.perm;
    const q = ds.perm;
    return (
      ds.nattch === this.nattch &&
      ds.atime === this.atime &&
      ds.dtime === this.dtime &&
      ds.lpid === this.lpid &&
      ds.ctime === this.ctime &&
      q.mode === p.mode &&
      q.key === p.key &&
      q.uid === p.uid &&
      q.gid === p.gid &&
      q.cuid === p.cuid &&
      q.cgid === p.cgid &&
      q.seq === p.seq
    );
  }

  /** A new frozen snapshot, kept as the last one. */
  private takeStat(): { readonly ds: ShmidDs; readonly answer: E.Right<StatAnswer> } {
    const p = this.perm;
    const ds: ShmidDs = Object.freeze({
      perm: Object.freeze({ key: p.key, uid: p.uid, gid: p.gid, cuid: p.cuid, cgid: p.cgid, mode: p.mode, seq: p.seq }),
      segsz: this.segsz,
      atime: this.atime,
      dtime: this.dtime,
      ctime: this.ctime,
      cpid: this.cpid,
      lpid: this.lpid,
      nattch: this.nattch,
    });
    const stat = { ds, answer: Object.freeze(E.right(Object.freeze({ ret: 0, ds }))) as E.Right<StatAnswer> };
    this.lastStat = stat;
    return stat;
  }

  /** Whether shm_may_destroy holds: nobody attached, and removal asked for or forced. Precondition: mu is held. */
  mayDestroyLocked(): boolean {
    return this.nattch === 0 && (this.pendingDestruction || this.owner.rmidForced());
  }

  /** Sets or clears SHM_LOCKED. Precondition: mu is held. */
  setLockedLocked(uid: number | undefined): void {
    this.lockedBy = uid;
    if (uid === undefined) this.perm.mode &= ~SHM_LOCKED;
    else this.perm.mode |= SHM_LOCKED;
  }

  /** Checkpoint: the reference count and whether a forced removal waits for the next decRef. */
  checkpointCounts(): { readonly refs: number; readonly forcedPending: boolean } {
    return { refs: this.refs, forcedPending: this.forcedPending };
  }

  /** Checkpoint: calls `fn` with every touched page and its frame, in page order. */
  forEachPage(fn: (page: number, frame: number) => void): void {
    this.table?.forEach(fn);
  }

  /** mincore: whether page `page` of the segment is in memory. */
  isResident(page: number): boolean {
    return this.table !== undefined && this.table.frameAt(page) >= 0;
  }

  /** MADV_REMOVE on a writable attachment: the pages go back and read as zeros (shmem's hole punch). */
  removePages(firstPage: number, endPage: number): undefined {
    const mf = this.mf;
    this.table?.removeRange(firstPage, endPage, (frame) => mf.decRef(frame));
    return undefined;
  }

  /** Checkpoint restore: the counts checkpointCounts reported. */
  restoreCounts(refs: number, forcedPending: boolean): void {
    this.refs = refs;
    this.forcedPending = forcedPending;
  }

  /** Checkpoint restore: page `page` is held in `frame`, whose reference the segment now owns. Precondition: the page is untouched. */
  restorePage(page: number, frame: number): void {
    this.frames.adopt(page, frame);
  }

  dropRef(): boolean {
    if (this.refs <= 0) refcountBug(this, 'decRef below zero');
    this.refs -= 1;
    return this.refs === 0;
  }

  /** Gives every frame back to the MemoryFile: removal's second phase. */
  releaseFrames(): void {
    this.table?.release();
  }
}
