/**
 * Test doubles for the memmap contracts: a fixed-size memory object backed by
 * a MemoryFile that counts every call mm makes on it, and its shm variant.
 */

import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from '../../src/abi/constants.js';
import type {
  AddrRange,
  BusError,
  Mappable,
  MappingContext,
  MappingIdentity,
  MappingSpace,
  MappingStamp,
  ShmMappable,
  Translation,
} from '../../src/mm/memmap.js';
import type { MemoryFile } from '../../src/mm/memory_file.js';
import type { MmapOptions } from '../../src/mm/memory_manager.js';
import { heldLockCount } from '../../src/sync/mutex.js';

/** One call mm made on a mappable. */
export interface MappingCall {
  readonly kind: 'add' | 'remove' | 'copy';
  readonly pid: number;
  readonly space: number;
  readonly start: number;
  readonly end: number;
  readonly offset: number;
  readonly writable: boolean;
}

/** mmap options for a read-write shared mapping of `obj`, with `extra` overriding. */
export function sharedRW(obj: FakeObject, extra: Partial<MmapOptions> = {}): MmapOptions {
  return {
    length: obj.bytes,
    offset: 0,
    perms: PROT_READ | PROT_WRITE,
    maxPerms: PROT_READ | PROT_WRITE | PROT_EXEC,
    mappable: obj,
    identity: obj,
    writable: true,
    ...extra,
  };
}

/** A context for process `pid` at a fixed time. */
export function ctxOf(pid: number, time = 1_000): MappingContext {
  return { pid, now: () => time };
}

/**
 * A memory object of `bytes` bytes whose pages get frames on first touch. It
 * is its own identity; its reference count starts at 0 and counts VMAs only.
 * Every decRef checks that no lock (in particular mm.mappingMu) is held.
 */
export class FakeObject implements Mappable, MappingIdentity {
  readonly calls: MappingCall[] = [];
  refs = 0;
  translateCalls = 0;
  private readonly frames: Int32Array;

  constructor(
    private readonly mf: MemoryFile,
    readonly bytes: number,
  ) {
    this.frames = new Int32Array(Math.ceil(bytes / PAGE_SIZE)).fill(-1);
  }

  /** Mapping pieces currently announced: what shm reports as nattch. */
  get pieces(): number {
    let n = 0;
    for (const c of this.calls) {
      n += c.kind === 'remove' ? -1 : 1;
    }
    return n;
  }

  /** How many calls of `kind` were made. */
  count(kind: MappingCall['kind']): number {
    return this.calls.filter((c) => c.kind === kind).length;
  }

  /** Pages that have a frame. */
  populatedPages(): number {
    return this.frames.filter((f) => f >= 0).length;
  }

  /** The frame behind `page`, or -1. */
  frameOf(page: number): number {
    return this.frames[page] ?? -1;
  }

  /** Drops every frame, as a destroyed segment does. */
  freeFrames(): void {
    this.frames.forEach((f, i) => {
      if (f >= 0) {
        this.mf.decRef(f);
        this.frames[i] = -1;
      }
    });
  }

  addMapping(at: MappingStamp, ms: MappingSpace, ar: AddrRange, offset: number, writable: boolean): void {
    this.record('add', at, ms, ar, offset, writable);
  }

  removeMapping(at: MappingStamp, ms: MappingSpace, ar: AddrRange, offset: number, writable: boolean): void {
    this.record('remove', at, ms, ar, offset, writable);
  }

  copyMapping(at: MappingStamp, ms: MappingSpace, ar: AddrRange, offset: number, writable: boolean): void {
    this.record('copy', at, ms, ar, offset, writable);
  }

  translate(page: number, maxPages: number): Translation | BusError {
    this.translateCalls++;
    const limit = Math.min(maxPages, this.frames.length - page);
    if (page < 0 || limit <= 0) {
      return { bus: true, reason: `page ${page} is past the object` };
    }
    let pages = 0;
    for (; pages < limit; pages++) {
      let frame = this.frames[page + pages] ?? -1;
      if (frame < 0) {
        frame = this.mf.allocate();
        if (frame < 0) {
          break;
        }
        this.frames[page + pages] = frame;
      }
      if (pages > 0 && frame !== (this.frames[page] ?? 0) + pages) {
        break;
      }
    }
    if (pages === 0) {
      return { bus: true, reason: 'out of memory' };
    }
    return { page, frame: this.frames[page] ?? -1, pages };
  }

  incRef(): void {
    this.refs++;
  }

  decRef(): void {
    // Plain checks, not expect(): the scale test makes tens of thousands of these calls.
    if (heldLockCount() !== 0) {
      throw new Error('identity decRef with a lock held');
    }
    if (this.refs <= 0) {
      throw new Error('identity decRef without a reference');
    }
    this.refs--;
  }

  mappedName(): string {
    return '/fake';
  }

  deviceId(): number {
    return 1;
  }

  inodeId(): number {
    return 1;
  }

  msync(): void {}

  private record(kind: MappingCall['kind'], at: MappingStamp, ms: MappingSpace, ar: AddrRange, offset: number, writable: boolean): void {
    if (!(ar.end > ar.start) || ar.start % PAGE_SIZE !== 0 || ar.end % PAGE_SIZE !== 0 || offset % PAGE_SIZE !== 0) {
      throw new Error(`${kind}Mapping got a bad range [${ar.start}, ${ar.end}) at offset ${offset}`);
    }
    this.calls.push({ kind, pid: at.pid, space: ms.spaceId, start: ar.start, end: ar.end, offset, writable });
  }
}

/** A FakeObject that mm recognises as a System V shm segment. */
export class FakeShm extends FakeObject implements ShmMappable {
  readonly isSysvShm = true as const;

  effectiveBytes(): number {
    return Math.ceil(this.bytes / PAGE_SIZE) * PAGE_SIZE;
  }
}
