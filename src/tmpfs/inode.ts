/**
 * The part every tmpfs inode shares: identity, ownership, mode, and the
 * reference counts that decide when it goes.
 *
 * Lifetime: an inode lives while a directory entry names it (`links`) or an
 * open file description uses it (`opens`; a mapping holds its description).
 * A directory that is the root of a mount is kept by the mount too (`pins`).
 * When all reach zero it is evicted: its pages go back and its inode count
 * returns, as Linux's shmem_evict_inode and shmem_free_inode do. So an
 * unlinked file keeps its space until the last close or munmap.
 */
import type { Tmpfs } from './superblock.js';

/** One tmpfs inode: a directory or a regular file. */
export abstract class Inode {
  abstract readonly kind: 'dir' | 'file';
  /** Directory entries naming the inode; the superblock pins the root with one. */
  links = 0;
  private opens = 0;
  /** Mounts whose root this inode is (a mount's mnt_root keeps its dentry, and so the inode, even once removed). */
  private pins = 0;
  private gone = false;

  constructor(
    readonly sb: Tmpfs,
    readonly ino: number,
    /** st_mode: file type and permission bits. */
    public mode: number,
    public uid: number,
    public gid: number,
  ) {}

  /** Open file descriptions using the inode. */
  get openCount(): number {
    return this.opens;
  }

  /** True once the inode was evicted (or its superblock destroyed). */
  get evicted(): boolean {
    return this.gone;
  }

  /** Checkpoint restore: the link and open counts checkpointed. */
  restoreCounts(links: number, opens: number): void {
    this.links = links;
    this.opens = opens;
  }

  /** An open file description starts using the inode. */
  open(): void {
    if (this.gone) throw new Error(`inode ${this.ino} opened after eviction`);
    this.opens += 1;
  }

  /** An open file description let go of the inode. */
  close(): void {
    if (this.opens <= 0) throw new Error(`inode ${this.ino} closed more often than opened`);
    this.opens -= 1;
    this.evictIfUnused();
  }

  /** A mount starts using the inode as its root. */
  pin(): void {
    if (this.gone) throw new Error(`inode ${this.ino} mounted after eviction`);
    this.pins += 1;
  }

  /** A mount whose root the inode was went away. */
  unpin(): void {
    if (this.pins <= 0) throw new Error(`inode ${this.ino} unpinned more often than pinned`);
    this.pins -= 1;
    this.evictIfUnused();
  }

  /** A directory entry naming the inode was removed. */
  unlinked(): void {
    if (this.links <= 0) throw new Error(`inode ${this.ino} unlinked with no links`);
    this.links -= 1;
    this.evictIfUnused();
  }

  /** The superblock is going away: free everything whatever the counts say. */
  destroy(): void {
    if (this.gone) return;
    this.gone = true;
    this.releaseData();
    this.sb.evicted(this);
  }

  /** Frees what the inode holds (a file's pages, a directory's entries). */
  protected abstract releaseData(): void;

  private evictIfUnused(): void {
    if (this.links === 0 && this.opens === 0 && this.pins === 0) this.destroy();
  }
}
