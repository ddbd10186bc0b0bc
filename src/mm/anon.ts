/**
 * Private memory (MAP_PRIVATE): the pages one address space owns, over
 * nothing (MAP_PRIVATE|MAP_ANONYMOUS: zero-filled pages; a process's stack
 * is one) or over a file (a private file mapping: a page reads as the
 * file's until the first write copies it).
 *
 * Copy-on-write, as Linux's do_wp_page: fork gives the child an object of
 * its own that names the same frames, each frame holding one MemoryFile
 * reference per object; a write to a page whose frame another object still
 * holds copies it first, and a write to one this object alone holds writes
 * in place. A page the object does not hold yet reads through to the file
 * (or, anonymous, reads as the zero page, allocating and charging nothing,
 * as Linux maps its shared zero page on a read fault; the first write
 * allocates the page and charges it).
 *
 * Translations of frames another object (or the file) also holds come back
 * marked `shared`: a read may use them for one access, but no thread may
 * cache them or write through them, so a worker's store to such a page
 * misses and comes back to the kernel, whose write translation copies it.
 *
 * Arenas: a frame sits in the arena of the object that allocated it, and
 * a worker thread is given whole chunks. So a shared frame in a relative's
 * arena is also marked `elsewhere`, and the kernel hands a thread its
 * bytes, never that chunk (tlb.ts); and a frame this object comes to hold
 * alone moves into its own arena before it is written in place (ownRun).
 * A chunk of this object's arena thus only ever shows bytes this process
 * could read: its own pages, and pages it shares or shared at a fork.
 *
 * Lifetime: one reference per VMA piece; at the last the frames and the
 * backing file's reference go.
 */
import { PAGE_SIZE } from '../abi/constants.js';
import type { AddrRange, BusError, MappingStamp, MappingIdentity, MappingSpace, Mappable, PageChargeTarget, PrivateCopies, Translation } from './memmap.js';
import { ZERO_FRAME, isBusError } from './memmap.js';
import { FrameTable } from './frame_table.js';
import type { MemoryFile } from './memory_file.js';
import { copyBytes } from './copy.js';

/** The file under a private file mapping: what its pages read as, and the reference the mapping holds. */
export interface PrivateBacking {
  readonly mappable: Mappable & { isResident?(page: number): boolean };
  /** The open file description, one reference of which this object holds while it lives. */
  readonly identity: MappingIdentity;
}

const BUS_PAST_END: BusError = { bus: true, reason: 'access past the end of the private mapping' };
const BUS_NO_MEMORY: BusError = { bus: true, reason: 'no page could be allocated for a private copy' };
const BUS_REFUSED: BusError = { bus: true, reason: 'the memory cgroup refused a private copy', refusedCharge: true };

/** What a page is charged to; undefined for a page restored from an image that did not say. */
type Charge = PageChargeTarget | undefined;

/** A private memory object covering object pages [0, bytes / PAGE_SIZE). */
export class AnonymousMemory implements Mappable, MappingIdentity, PrivateCopies {
  private refs = 0;
  /** The address space whose pieces map this object (one only: fork maps a copy), once a piece was announced. */
  private space: MappingSpace | undefined = undefined;
  /** Whether the backing file knows this object (trackPrivate), from its first reference to its last. */
  private tracked = false;
  /**
   * Mapped with MAP_NORESERVE (VM_NORESERVE): mprotect never asks the
   * overcommit heuristic for it (see Process.mprotect). Fork copies it.
   */
  noReserve = false;
  /**
   * Mapped with MAP_DROPPABLE (VM_DROPPABLE): mlock walks over its pieces
   * without locking them (they are still faulted in), and MADV_KEEPONFORK
   * and MADV_DODUMP refuse them. Fork copies it, MADV_WIPEONFORK's fresh
   * object too.
   */
  droppable = false;
  /**
   * Whether some frame may be held by another object too (a fork happened,
   * or a restore shared one). Until then every frame is this object's
   * alone, and anonymous memory translates whole runs at once.
   */
  private cow = false;
  /** The frames of the pages this object holds (its own, or shared copy-on-write with a fork relative). */
  private readonly frames: FrameTable<Charge>;
  /**
   * Anonymous pages a read mapped the zero page at (mincore counts them
   * resident); a write, MADV_DONTNEED and the last reference forget them.
   */
  private zeroMapped: Set<number> | undefined = undefined;
  /**
   * Whether Linux would have given the mapping an anon_vma: a page of it
   * was written (a frame allocated), or it was forked from one that had.
   * Fork copies the zero-page entries only then (copy_page_range skips a
   * VMA without one, so a child sees none of the parent's zero pages).
   */
  private anonVma = false;

  constructor(
    private readonly mf: MemoryFile,
    /** The end of the object's page range in bytes, a page multiple: the mapping's size, or for a file its offset plus its size. */
    readonly bytes: number,
    /** The name /proc/pid/maps shows, e.g. "[stack]"; a file-backed object shows the file's. */
    private readonly name: string,
    /** The file a private file mapping reads through; absent for anonymous memory. */
    readonly backing?: PrivateBacking,
  ) {
    this.frames = new FrameTable<Charge>(mf, mf.pageCharges);
  }

  addMapping(_at: MappingStamp, ms: MappingSpace, _ar: AddrRange, _offset: number, _writable: boolean): void {
    this.space = ms;
  }
  removeMapping(_at: MappingStamp, _ms: MappingSpace, _ar: AddrRange, _offset: number, _writable: boolean): void {}
  copyMapping(_at: MappingStamp, ms: MappingSpace, _ar: AddrRange, _offset: number, _writable: boolean): void {
    this.space = ms;
  }

  /** Tells the backing file, if any, that this object may hold copies of its pages (see discardFrom). */
  private track(on: boolean): void {
    if (this.backing === undefined || this.tracked === on) return;
    this.tracked = on;
    this.backing.mappable.trackPrivate?.(this, on);
  }

  /**
   * The backing file shrank to end before object page `page`: the copies of
   * its pages from there on go, as Linux's truncate_pagecache zaps even
   * private copy-on-write pages past the new end. An access there reads the
   * file again, which is SIGBUS past its end. Threads of the mapping's
   * address space lose what they cached.
   */
  discardFrom(page: number): void {
    const end = this.bytes / PAGE_SIZE;
    if (page >= end || this.frames.residentPages === 0) return;
    const discard = (): void => this.frames.removeRange(page, end, (frame, charge) => this.drop(frame, charge));
    if (this.space?.withPagesRetired !== undefined) this.space.withPagesRetired(discard);
    else discard();
  }

  translate(page: number, maxPages: number, write: boolean): Translation | BusError {
    if (page >= this.bytes / PAGE_SIZE) return BUS_PAST_END;
    if (!this.cow && this.backing === undefined) {
      if (!write) return this.readRun(page, maxPages);
      return this.allocated(page, this.frames.run(page, maxPages, this.bytes / PAGE_SIZE));
    }
    const limit = Math.min(this.bytes / PAGE_SIZE, page + maxPages);
    const own = this.frames.frameAt(page);
    if (own >= 0) {
      if (this.mf.refCount(own) === 1) return this.ownRun(page, own, limit);
      if (!write) return { page, frame: own, pages: 1, shared: true, elsewhere: this.mf.arenaOf(own) !== this.frames.arena };
      return this.copyPage(page, own, true);
    }
    const backing = this.backing;
    if (backing === undefined) {
      if (!write) return this.zeroPage(page);
      // A zeroed frame of this object's own; following pages are translated as the run allows.
      const t = this.allocated(page, this.frames.run(page, 1, page + 1));
      if (isBusError(t)) return t;
      return this.ownRun(page, t.frame, limit);
    }
    // A file page: the file decides SIGBUS past its end, and claims a hole as its own fault would.
    const file = backing.mappable.translate(page, 1, false);
    if (isBusError(file)) return file;
    if (!write) return { page, frame: file.frame, pages: 1, shared: true };
    return this.copyPage(page, file.frame, false);
  }

  /**
   * A read of anonymous memory no fork shares: the run of frames the object
   * holds from `page`, allocating nothing, or the zero page when it holds
   * none there.
   */
  private readRun(page: number, maxPages: number): Translation {
    const own = this.frames.frameAt(page);
    if (own < 0) return this.zeroPage(page);
    return { page, frame: own, pages: this.frames.runLength(page, own, Math.min(this.bytes / PAGE_SIZE, page + maxPages)) };
  }

  /** The read fault of a page never written: the zero page is mapped there, and nothing is allocated or charged. */
  private zeroPage(page: number): Translation {
    (this.zeroMapped ??= new Set<number>()).add(page);
    return { page, frame: ZERO_FRAME, pages: 1, shared: true, elsewhere: true, zero: true };
  }

  /**
   * After a write translation that may have allocated frames for pages
   * [t.page, t.page + t.pages): they no longer map the zero page, and the
   * mapping has an anon_vma.
   */
  private allocated(page: number, t: Translation | BusError): Translation | BusError {
    if (isBusError(t)) return t;
    this.anonVma = true;
    const zero = this.zeroMapped;
    if (zero !== undefined && zero.size > 0) {
      if (zero.size < t.pages) {
        for (const p of zero) if (p >= page && p < page + t.pages) zero.delete(p);
      } else {
        for (let p = page; p < page + t.pages; p += 1) zero.delete(p);
      }
    }
    return t;
  }

  /**
   * The run of this object's own frames from `page` (holding `frame`),
   * consecutive, held by this object alone and in its arena. A frame it
   * holds alone that sits in a fork relative's arena (the relative copied
   * its page since) moves into this object's arena first, keeping its
   * number, bytes and charge: a thread of this process may then be given
   * the chunk, and the relative's threads, which may hold the old one, never
   * see this object's later writes.
   */
  private ownRun(page: number, frame: number, limit: number): Translation | BusError {
    const mf = this.mf;
    const arena = this.frames.arena;
    if (mf.arenaOf(frame) !== arena && !mf.moveTo(frame, arena)) return BUS_NO_MEMORY;
    let n = 1;
    while (page + n < limit && this.frames.frameAt(page + n) === frame + n && mf.refCount(frame + n) === 1 && mf.arenaOf(frame + n) === arena) n += 1;
    return { page, frame, pages: n };
  }

  /**
   * The write fault's copy: a new frame of this object with the bytes of
   * `from`, replacing the page's frame (whose reference this object drops
   * when `held`, as it held one).
   */
  private copyPage(page: number, from: number, held: boolean): Translation | BusError {
    const mf = this.mf;
    // The copy is charged to the writer's cgroup (wp_page_copy); the old page keeps its own charge.
    const charges = mf.pageCharges;
    const target = charges?.current();
    if (target !== undefined && !target.tryCharge(1)) {
      charges?.refused();
      return BUS_REFUSED;
    }
    const f = mf.allocate(false, this.frames.arena);
    if (f < 0) {
      target?.uncharge(1);
      return BUS_NO_MEMORY;
    }
    copyBytes(mf.chunkBytes(f), mf.byteOffset(f), mf.chunkBytes(from), mf.byteOffset(from), PAGE_SIZE);
    this.anonVma = true;
    if (held) {
      const old = this.frames.tagAt(page);
      this.frames.replace(page, f, target);
      this.drop(from, old);
    } else {
      this.frames.adopt(page, f, target);
    }
    return { page, frame: f, pages: 1 };
  }

  /**
   * Drops this object's reference to `frame`; the last reference returns
   * the page's charge, wherever the page was charged (a page shared after
   * fork stays charged to the cgroup that first paid for it until then).
   */
  private drop(frame: number, charge: Charge): void {
    if (charge !== undefined && this.mf.refCount(frame) === 1) charge.uncharge(1);
    this.mf.decRef(frame);
  }

  /**
   * fork: the child's object, naming the same frames (one more reference
   * each) and the same file (one more reference), with one reference of its
   * own for the first piece.
   */
  forkCopy(): AnonymousMemory {
    const copy = new AnonymousMemory(this.mf, this.bytes, this.name, this.backing);
    copy.noReserve = this.noReserve;
    copy.droppable = this.droppable;
    this.backing?.identity.incRef();
    this.cow = true;
    copy.cow = true;
    copy.anonVma = this.anonVma;
    // Page tables are copied only for a mapping with an anon_vma: only then does the child map the zero page where the parent did.
    if (this.anonVma && this.zeroMapped !== undefined && this.zeroMapped.size > 0) copy.zeroMapped = new Set(this.zeroMapped);
    this.frames.forEach((page, frame, charge) => {
      this.mf.incRef(frame);
      copy.frames.share(page, frame, charge);
    });
    copy.refs = 1;
    copy.track(true);
    return copy;
  }

  /** MADV_WIPEONFORK's child object: the same size and name, no page, one reference (madvise allows the flag on anonymous memory only). */
  freshCopy(): AnonymousMemory {
    const fresh = new AnonymousMemory(this.mf, this.bytes, this.name);
    fresh.noReserve = this.noReserve;
    fresh.droppable = this.droppable;
    fresh.refs = 1;
    return fresh;
  }

  /** A private mapping of a hugetlbfs file splits only where the file's mappings may (hugetlb_vm_op_split). */
  maySplit(offset: number): boolean {
    return this.backing?.mappable.maySplit?.(offset) ?? true;
  }

  /**
   * Whether the object holds a page of its own at `page` (written, or shared
   * copy-on-write with a fork relative) rather than reading through to the
   * file or as the zero page: a futex keys the two differently (tlb.ts's
   * futexKeying).
   */
  holdsPage(page: number): boolean {
    return this.frames.frameAt(page) >= 0;
  }

  /** mincore: whether object page `page` is in memory (a page of its own, the zero page, or the file's). */
  isResident(page: number): boolean {
    if (this.frames.frameAt(page) >= 0 || this.zeroMapped?.has(page) === true) return true;
    return this.backing?.mappable.isResident?.(page) === true;
  }

  /**
   * MADV_DONTNEED: forgets object pages [first, end); they read again as the
   * file's, or as zeros.
   */
  dropPages(first: number, end: number): void {
    const zero = this.zeroMapped;
    if (zero !== undefined) for (const p of zero) if (p >= first && p < end) zero.delete(p);
    this.frames.removeRange(first, end, (frame, charge) => this.drop(frame, charge));
  }

  /**
   * MADV_GUARD_INSTALL over object pages [first, end): their pages go, as
   * MADV_DONTNEED's do (a later MADV_GUARD_REMOVE leaves zeros, or the
   * file's bytes), and the mapping gets an anon_vma (anon_vma_prepare), so
   * a fork copies its page tables: the zero-page entries of its other pages
   * too.
   */
  guardPages(first: number, end: number): void {
    this.dropPages(first, end);
    this.anonVma = true;
  }

  /** Checkpoint: VMA pieces holding a reference. */
  get refCount(): number {
    return this.refs;
  }

  /** Pages this object holds a frame for. */
  get residentPages(): number {
    return this.frames.residentPages;
  }

  /** Checkpoint: calls `fn` with every page this object holds, its frame and what it is charged to, in page order. */
  forEachPage(fn: (page: number, frame: number, charge: Charge) => void): void {
    this.frames.forEach(fn);
  }

  /**
   * Checkpoint restore: the reference count and the pages. Each frame's
   * reference passes to this object; a frame listed in `shared` is one an
   * object restored earlier holds too (copy-on-write after a fork), which
   * stays where that object put it.
   */
  restoreState(refs: number, pages: Iterable<readonly [number, number, Charge?]>, shared: ReadonlySet<number> = new Set()): void {
    this.refs = refs;
    this.track(refs > 0);
    for (const [page, frame, charge] of pages) {
      // The object restored first cannot tell which of its frames a later one will share: any may be.
      this.cow = true;
      this.anonVma = true;
      if (shared.has(frame)) this.frames.share(page, frame, charge);
      else this.frames.adopt(page, frame, charge);
    }
  }

  incRef(): void {
    this.refs += 1;
    if (this.refs === 1) this.track(true);
  }

  decRef(): void {
    if (this.refs <= 0) throw new Error(`${this.name}: decRef below zero`);
    this.refs -= 1;
    if (this.refs > 0) return;
    this.zeroMapped = undefined;
    this.frames.clear((frame, charge) => this.drop(frame, charge));
    this.track(false);
    this.backing?.identity.decRef();
  }

  mappedName(): string {
    return this.backing?.identity.mappedName() ?? this.name;
  }

  /** The name given at creation ("[stack]", or "" for an mmap), whatever the file shows. */
  get ownName(): string {
    return this.name;
  }

  deviceId(): number {
    return this.backing?.identity.deviceId() ?? 0;
  }

  inodeId(): number {
    return this.backing?.identity.inodeId() ?? 0;
  }

  msync(): void {}
}
