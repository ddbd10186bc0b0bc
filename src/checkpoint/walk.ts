/**
 * The state of one checkpoint's walk over a kernel, shared by the parts
 * (parts/*.ts): each numbers the shared objects it meets, in the order it
 * meets them, and marks the frames they hold for the page section. The
 * numbers are the objects' indexes in the image's lists, so the order the
 * parts run in (save.ts) is part of the format.
 */
import type { AnonymousMemory } from '../mm/anon.js';
import type { MemoryFile } from '../mm/memory_file.js';
import { MemoryCgroup } from '../memcg/cgroup.js';
import type { MemoryCharge } from '../memcg/charge.js';
import type { Kernel } from '../kernel/kernel.js';
import type { OpenFile } from '../vfs/files.js';
import type { Mount } from '../vfs/mounts.js';
import type { Tmpfs } from '../tmpfs/superblock.js';
import { CheckpointFailure, checkpointError } from './errors.js';
import type { ChargeRefMeta, PageRunMeta } from './metadata.js';

/** Numbers objects in the order they are first met. */
export class Numbering<T> {
  readonly items: T[] = [];
  private readonly index = new Map<T, number>();

  of(item: T): number {
    let i = this.index.get(item);
    if (i === undefined) {
      i = this.items.length;
      this.items.push(item);
      this.index.set(item, i);
    }
    return i;
  }

  has(item: T): boolean {
    return this.index.has(item);
  }
}

/** Collects page → frame pairs into runs where both advance together. */
export class RunBuilder {
  readonly runs: PageRunMeta[] = [];
  private page = -2;
  private frame = -2;
  private count = 0;

  add(page: number, frame: number): void {
    if (this.count > 0 && page === this.page + this.count && frame === this.frame + this.count) {
      this.count += 1;
      return;
    }
    this.flush();
    this.page = page;
    this.frame = frame;
    this.count = 1;
  }

  done(): PageRunMeta[] {
    this.flush();
    return this.runs;
  }

  private flush(): void {
    if (this.count > 0) this.runs.push([this.page, this.frame, this.count]);
    this.count = 0;
  }
}

/** The state of one walk. */
export class Walk {
  readonly cgroups = new Numbering<MemoryCgroup>();
  readonly anonymous = new Numbering<AnonymousMemory>();
  readonly tmpfs = new Numbering<Tmpfs>();
  readonly mounts = new Numbering<Mount>();
  readonly openFiles = new Numbering<OpenFile>();
  readonly memoryFile: MemoryFile;
  /** Every frame some object holds, to copy into the page section. */
  readonly frames: Uint8Array;

  constructor(readonly kernel: Kernel) {
    this.memoryFile = kernel.memoryFile;
    this.frames = new Uint8Array(this.memoryFile.frameLimit);
  }

  hold(frame: number, owner: string): void {
    if (this.frames[frame] !== 0) throw new Error(`checkpoint: frame ${frame} is held twice (again by ${owner})`);
    this.frames[frame] = 1;
  }

  /** hold for private memory, whose frames other private objects may share copy-on-write (never another kind of object). */
  holdPrivate(frame: number, owner: string): void {
    const held = this.frames[frame];
    if (held === 2) return;
    if (held !== 0) throw new Error(`checkpoint: frame ${frame} is held twice (again by ${owner})`);
    this.frames[frame] = 2;
  }

  /** The image's name for what a page or a process is charged to; numbers a cgroup the first time. */
  charge(c: MemoryCharge, where: string): ChargeRefMeta {
    if (c === this.kernel.rootMemoryCgroup) return 'root';
    if (c instanceof MemoryCgroup) return this.cgroups.of(c);
    throw new CheckpointFailure(checkpointError(where, 'is charged to a memory cgroup the image cannot describe'));
  }

  /** The page runs of one object's pages, holding their frames for the page section. */
  pageRuns(owner: string, forEachPage: (fn: (page: number, frame: number) => void) => void, sharable = false): PageRunMeta[] {
    const pages = new RunBuilder();
    forEachPage((page, frame) => {
      if (sharable) this.holdPrivate(frame, owner);
      else this.hold(frame, owner);
      pages.add(page, frame);
    });
    return pages.done();
  }
}
