/**
 * A tmpfs instance (Linux struct shmem_sb_info): the size and inode limits,
 * the usage counters, the root directory, and the pool every file's pages
 * are claimed from.
 *
 * Lifetime: each Mount of the instance holds one reference (hold/release).
 * When the last one goes, after a lazy unmount and the last close, every
 * page still held by a file goes back to the MemoryFile and its cgroup, as
 * Linux's kill_litter_super does at the final deactivate.
 *
 * Locking: tmpfs takes no locks of its own. Its state changes only inside
 * syscalls and in translate, which Mappable requires to be lock-free; the
 * kernel runs those one at a time.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { NAME_MAX, S_IALLUGO, S_IFDIR, TMPFS_MAGIC } from '../abi/fs.js';
import type { Arena, MemoryFile } from '../mm/memory_file.js';
import type { FaultChargeSource, MemoryCharge } from '../memcg/charge.js';
import { UnlimitedCharge, fixedFaultCharge } from '../memcg/charge.js';
import { CLAIM_CHARGE_REFUSED, CLAIM_NO_MEMORY, CLAIM_NO_SPACE } from './claim.js';
import { Directory } from './directory.js';
import type { Inode } from './inode.js';

/** Mount options of a tmpfs (mount -o size=,nr_inodes=,mode=,uid=,gid=). */
export interface TmpfsOptions {
  /** size= in bytes, rounded up to whole pages; 0 (the default here) means no limit. */
  readonly sizeBytes?: number;
  /** nr_inodes=; the root directory counts as one; 0 (the default here) means no limit. */
  readonly nrInodes?: number;
  /** Mode of the root directory; default 01777. */
  readonly mode?: number;
  /** Owner of the root directory; default root. */
  readonly uid?: number;
  readonly gid?: number;
}

/** What a remount may change. An absent field keeps its value; 0 lifts the limit. */
export interface TmpfsRemount {
  readonly sizeBytes?: number;
  readonly nrInodes?: number;
}

/** struct statfs as shmem_statfs fills it. */
export interface TmpfsStatfs {
  readonly type: number;
  readonly bsize: number;
  readonly frsize: number;
  /** Capacity in pages; 0 without a size limit. */
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
  /** The inode limit; 0 without one. */
  readonly files: number;
  readonly ffree: number;
  readonly namelen: number;
}

/** What a checkpoint saves of a superblock besides its inodes' contents. */
export interface TmpfsCheckpointState {
  readonly deviceId: number;
  readonly maxPages: number;
  readonly maxInodes: number;
  readonly pagesUsed: number;
  readonly inodesUsed: number;
  readonly nextIno: number;
  readonly mounts: number;
  readonly dead: boolean;
  readonly live: readonly Inode[];
}

let nextDevice = 1;

/** One tmpfs superblock. */
export class Tmpfs {
  /** st_dev of every inode here (an anonymous block device number). */
  readonly deviceId = nextDevice++;
  /** @internal */
  readonly root: Directory;
  /** @internal */
  readonly faultCharges: FaultChargeSource;
  private maxPages: number;
  private maxInodes: number;
  private pagesUsed = 0;
  private inodesUsed = 0;
  private nextIno = 1;
  private mounts = 0;
  private dead = false;
  /** Every inode not yet evicted, so a dying instance can free what files still hold. */
  private readonly live = new Set<Inode>();

  private constructor(
    readonly memoryFile: MemoryFile,
    options: TmpfsOptions,
    faults: FaultChargeSource,
  ) {
    this.maxPages = pagesFor(options.sizeBytes ?? 0);
    this.maxInodes = options.nrInodes ?? 0;
    this.faultCharges = faults;
    this.inodesUsed = 1;
    this.root = new Directory(this, this.nextIno++, S_IFDIR | ((options.mode ?? 0o1777) & S_IALLUGO), options.uid ?? 0, options.gid ?? 0);
    this.root.links = 1;
    this.live.add(this.root);
  }

  /**
   * A new instance. Faults through mappings are charged by `faults`
   * (default: one unlimited cgroup). Bad option values are EINVAL, as
   * shmem_parse_one rejects them.
   */
  static create(memoryFile: MemoryFile, options: TmpfsOptions = {}, faults?: FaultChargeSource): E.Either<SysError, Tmpfs> {
    const bad = badOption(options);
    if (bad !== undefined) return E.left(sysError('EINVAL', `tmpfs: bad value for '${bad}'`));
    return E.right(new Tmpfs(memoryFile, options, faults ?? fixedFaultCharge(new UnlimitedCharge())));
  }

  /** Capacity in pages (size rounded up to whole pages); 0 means no limit. */
  get capacityPages(): number {
    return this.maxPages;
  }

  get usedPages(): number {
    return this.pagesUsed;
  }

  /** The inode limit; 0 means no limit. */
  get inodeLimit(): number {
    return this.maxInodes;
  }

  get usedInodes(): number {
    return this.inodesUsed;
  }

  /** True once the last mount reference went and every page was freed. */
  get destroyed(): boolean {
    return this.dead;
  }

  /** Checkpoint: the counters not visible through statfs, and every inode not yet evicted (the root first). @internal */
  checkpointState(): TmpfsCheckpointState {
    return {
      deviceId: this.deviceId,
      maxPages: this.maxPages,
      maxInodes: this.maxInodes,
      pagesUsed: this.pagesUsed,
      inodesUsed: this.inodesUsed,
      nextIno: this.nextIno,
      mounts: this.mounts,
      dead: this.dead,
      live: [...this.live],
    };
  }

  /**
   * Checkpoint restore: the limits and counters of `state`, and `live` (the
   * root included) as the inodes not yet evicted. The device number is
   * taken over, and numbers handed out later stay clear of it.
   * @internal
   */
  restoreState(state: Omit<TmpfsCheckpointState, 'live'>, live: readonly Inode[]): void {
    (this as { deviceId: number }).deviceId = state.deviceId;
    nextDevice = Math.max(nextDevice, state.deviceId + 1);
    this.maxPages = state.maxPages;
    this.maxInodes = state.maxInodes;
    this.pagesUsed = state.pagesUsed;
    this.inodesUsed = state.inodesUsed;
    this.nextIno = state.nextIno;
    this.mounts = state.mounts;
    this.dead = state.dead;
    this.live.clear();
    for (const inode of live) this.live.add(inode);
  }

  /** statfs(2) figures (shmem_statfs): blocks and files stay 0 for an unlimited dimension. */
  statfs(): TmpfsStatfs {
    const blocks = this.maxPages;
    const free = blocks === 0 ? 0 : blocks - this.pagesUsed;
    return {
      type: TMPFS_MAGIC,
      bsize: PAGE_SIZE,
      frsize: PAGE_SIZE,
      blocks,
      bfree: free,
      bavail: free,
      files: this.maxInodes,
      ffree: this.maxInodes === 0 ? 0 : this.maxInodes - this.inodesUsed,
      namelen: NAME_MAX,
    };
  }

  /**
   * mount -o remount: shmem_reconfigure's rules. A limit cannot be put on an
   * unlimited dimension, nor set below what is in use; either failure is
   * EINVAL and changes nothing. The contents stay.
   */
  remount(change: TmpfsRemount): E.Either<SysError, void> {
    const bad = badOption(change);
    if (bad !== undefined) return E.left(sysError('EINVAL', `tmpfs: bad value for '${bad}'`));
    const pages = change.sizeBytes === undefined ? this.maxPages : pagesFor(change.sizeBytes);
    const inodes = change.nrInodes ?? this.maxInodes;
    if (change.sizeBytes !== undefined && pages !== 0) {
      if (this.maxPages === 0) return E.left(sysError('EINVAL', 'tmpfs: cannot retroactively limit size'));
      if (pages < this.pagesUsed) return E.left(sysError('EINVAL', 'tmpfs: too small a size for current use'));
    }
    if (change.nrInodes !== undefined && inodes !== 0) {
      if (this.maxInodes === 0) return E.left(sysError('EINVAL', 'tmpfs: cannot retroactively limit inodes'));
      if (inodes < this.inodesUsed) return E.left(sysError('EINVAL', 'tmpfs: too few inodes for current use'));
    }
    this.maxPages = pages;
    this.maxInodes = inodes;
    return E.right(undefined);
  }

  /**
   * Claims one page for a file: the memory cgroup is charged first, then the
   * size limit is checked, then a frame is taken, in the order of Linux's
   * shmem_alloc_and_add_folio. Returns the frame, or a negative CLAIM_* code
   * with nothing held. With `clear` false the frame may hold old bytes, for a
   * caller that writes or zeroes all of it first (see MemoryFile.allocate).
   * The frame sits in `arena`: the claiming file's (FrameTable.arena).
   */
  claimPage(charge: MemoryCharge, clear = true, arena?: Arena): number {
    if (!charge.tryCharge(1)) return CLAIM_CHARGE_REFUSED;
    if (this.maxPages !== 0 && this.pagesUsed >= this.maxPages) {
      charge.uncharge(1);
      return CLAIM_NO_SPACE;
    }
    let frame: number;
    try {
      frame = this.memoryFile.allocate(clear, arena);
    } catch (e) {
      // Not the host refusing (that is -1) but a broken allocator: the charge goes with the frame that never came.
      charge.uncharge(1);
      throw e;
    }
    if (frame < 0) {
      charge.uncharge(1);
      return CLAIM_NO_MEMORY;
    }
    this.pagesUsed += 1;
    return frame;
  }

  /**
   * Gives back a page claimed by claimPage, to the cgroup it was charged to
   * and to its frame pool. The cgroup first: a charge target that throws
   * (one injected by the caller) then leaves the page held and charged.
   */
  releasePage(frame: number, charge: MemoryCharge): void {
    charge.uncharge(1);
    this.memoryFile.decRef(frame);
    this.pagesUsed -= 1;
  }

  /** Takes an inode number, or ENOSPC at the nr_inodes limit (shmem_reserve_inode). */
  reserveInode(): E.Either<SysError, number> {
    if (this.maxInodes !== 0 && this.inodesUsed >= this.maxInodes) {
      return E.left(sysError('ENOSPC', `the tmpfs has no free inode (nr_inodes=${this.maxInodes})`));
    }
    this.inodesUsed += 1;
    return E.right(this.nextIno++);
  }

  /** Registers an inode made with a number from reserveInode. @internal */
  adopt(inode: Inode): void {
    this.live.add(inode);
  }

  /** An inode is gone for good: its inode count returns (shmem_free_inode). @internal */
  evicted(inode: Inode): void {
    if (!this.live.delete(inode)) throw new Error(`inode ${inode.ino} evicted twice`);
    this.inodesUsed -= 1;
  }

  /** A mount of this instance appeared. */
  hold(): void {
    if (this.dead) throw new Error('tmpfs: mounting a destroyed instance');
    this.mounts += 1;
  }

  /** A mount of this instance went away; the last one frees everything. */
  release(): void {
    if (this.mounts <= 0) throw new Error('tmpfs: release without hold');
    this.mounts -= 1;
    if (this.mounts > 0) return;
    this.dead = true;
    for (const inode of [...this.live]) inode.destroy();
  }
}

/** ceil(bytes / PAGE_SIZE): the size limit in pages. */
function pagesFor(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE);
}

/** The first option whose value Linux would reject, if any. */
function badOption(o: TmpfsRemount & Pick<TmpfsOptions, 'mode' | 'uid' | 'gid'>): string | undefined {
  if (o.sizeBytes !== undefined && !(Number.isSafeInteger(o.sizeBytes) && o.sizeBytes >= 0)) return 'size';
  if (o.nrInodes !== undefined && !(Number.isSafeInteger(o.nrInodes) && o.nrInodes >= 0)) return 'nr_inodes';
  if (o.mode !== undefined && !(Number.isInteger(o.mode) && o.mode >= 0 && o.mode <= S_IALLUGO)) return 'mode';
  if (o.uid !== undefined && !(Number.isInteger(o.uid) && o.uid >= 0 && o.uid < 2 ** 32 - 1)) return 'uid';
  if (o.gid !== undefined && !(Number.isInteger(o.gid) && o.gid >= 0 && o.gid < 2 ** 32 - 1)) return 'gid';
  return undefined;
}
