/**
 * Private anonymous memory (MAP_PRIVATE|MAP_ANONYMOUS): zero-filled pages
 * that belong to one address space. A process's stack is one. At fork the
 * child gets a copy (Linux shares the pages copy-on-write; copying eagerly is
 * observably the same, and cheap because only touched pages exist).
 *
 * Lifetime: one reference per VMA piece; the frames go back to the
 * MemoryFile when the last piece is unmapped.
 */
import { PAGE_SIZE } from '../abi/constants.js';
import type { AddrRange, BusError, MappingStamp, MappingIdentity, MappingSpace, Mappable, Translation } from './memmap.js';
import { FrameTable } from './frame_table.js';
import type { MemoryFile } from './memory_file.js';
import { copyBytes } from './copy.js';

/** A private anonymous memory object of a fixed size. */
export class AnonymousMemory implements Mappable, MappingIdentity {
  private refs = 0;
  /** The frames behind touched pages. */
  private readonly frames: FrameTable;

  constructor(
    private readonly mf: MemoryFile,
    /** Size in bytes, a page multiple. */
    readonly bytes: number,
    /** The name /proc/pid/maps shows, e.g. "[stack]". */
    private readonly name: string,
  ) {
    this.frames = new FrameTable(mf);
  }

  addMapping(_at: MappingStamp, _ms: MappingSpace, _ar: AddrRange, _offset: number, _writable: boolean): void {}
  removeMapping(_at: MappingStamp, _ms: MappingSpace, _ar: AddrRange, _offset: number, _writable: boolean): void {}
  copyMapping(_at: MappingStamp, _ms: MappingSpace, _ar: AddrRange, _offset: number, _writable: boolean): void {}

  translate(page: number, maxPages: number, _write: boolean): Translation | BusError {
    if (page >= this.bytes / PAGE_SIZE) return { bus: true, reason: 'access past the end of the anonymous mapping' };
    return this.frames.run(page, maxPages, this.bytes / PAGE_SIZE);
  }

  forkCopy(): AnonymousMemory {
    const copy = new AnonymousMemory(this.mf, this.bytes, this.name);
    this.frames.forEach((page, frame) => {
      // Not cleared: the whole page is copied over before the child can see it.
      const f = this.mf.allocate(false, copy.frames.arena);
      // Out of memory at fork: Linux's fork fails with ENOMEM; here the child's page reads as zero-filled.
      if (f < 0) return;
      copyBytes(this.mf.chunkBytes(f), this.mf.byteOffset(f), this.mf.chunkBytes(frame), this.mf.byteOffset(frame), PAGE_SIZE);
      copy.frames.adopt(page, f);
    });
    copy.refs = 1;
    return copy;
  }

  /** Checkpoint: VMA pieces holding a reference. */
  get refCount(): number {
    return this.refs;
  }

  /** Checkpoint: calls `fn` with every touched page and its frame, in page order. */
  forEachPage(fn: (page: number, frame: number) => void): void {
    this.frames.forEach(fn);
  }

  /** Checkpoint restore: the reference count and the touched pages (each frame's reference passes to this object). */
  restoreState(refs: number, pages: Iterable<readonly [number, number]>): void {
    this.refs = refs;
    for (const [page, frame] of pages) this.frames.adopt(page, frame);
  }

  incRef(): void {
    this.refs += 1;
  }

  decRef(): void {
    if (this.refs <= 0) throw new Error(`${this.name}: decRef below zero`);
    this.refs -= 1;
    if (this.refs === 0) this.frames.release();
  }

  mappedName(): string {
    return this.name;
  }

  deviceId(): number {
    return 0;
  }

  inodeId(): number {
    return 0;
  }

  msync(): void {}
}
