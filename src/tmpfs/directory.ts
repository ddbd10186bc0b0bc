/**
 * A tmpfs directory: a table of names. It takes no permission decisions;
 * the VFS layer (src/kernel/vfs.ts) makes them before calling in, as Linux's
 * namei does before calling the shmem inode operations.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { S_IFDIR, S_IFREG, S_ISGID } from '../abi/fs.js';
import { Inode } from './inode.js';
import { RegularFile } from './regular.js';

/** Linux's BOGO_DIRENT_SIZE: a tmpfs directory's st_size grows by this per entry. */
const BOGO_DIRENT_SIZE = 20;

/** Who creates an inode and with which permission bits (already masked by the umask). */
export interface InodeOwner {
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

/** A tmpfs directory. */
export class Directory extends Inode {
  readonly kind = 'dir';
  private readonly entries = new Map<string, Inode>();

  /** The inode named `name`, if any. */
  lookup(name: string): Inode | undefined {
    return this.entries.get(name);
  }

  /** Entry names in creation order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  get isEmpty(): boolean {
    return this.entries.size === 0;
  }

  /** st_size as shmem reports it: 20 bytes per entry, "." and ".." included. */
  get size(): number {
    return BOGO_DIRENT_SIZE * (this.entries.size + 2);
  }

  /** st_nlink: "." and the parent's entry, plus each subdirectory's "..". */
  get nlink(): number {
    let subdirs = 0;
    for (const child of this.entries.values()) if (child.kind === 'dir') subdirs += 1;
    return (this.links > 0 ? 2 : 0) + subdirs;
  }

  /** Creates an empty regular file `name`; EEXIST, or ENOSPC at the inode limit. */
  createFile(name: string, owner: InodeOwner): E.Either<SysError, RegularFile> {
    return this.create(name, (ino) => {
      const { gid } = this.inherited(owner, false);
      return new RegularFile(this.sb, ino, S_IFREG | owner.mode, owner.uid, gid);
    });
  }

  /** Creates an empty directory `name`; EEXIST, or ENOSPC at the inode limit. */
  createDirectory(name: string, owner: InodeOwner): E.Either<SysError, Directory> {
    return this.create(name, (ino) => {
      const { gid, setgid } = this.inherited(owner, true);
      return new Directory(this.sb, ino, S_IFDIR | owner.mode | setgid, owner.uid, gid);
    });
  }

  /** Removes the entry `name` and drops the link it held. Precondition: the entry exists. */
  removeEntry(name: string): void {
    const child = this.entries.get(name);
    if (child === undefined) throw new Error(`removeEntry: no entry ${JSON.stringify(name)}`);
    this.entries.delete(name);
    child.unlinked();
  }

  /** Checkpoint restore: adds the entry `name` for `inode` (whose link count is restored separately). */
  restoreEntry(name: string, inode: Inode): void {
    if (this.entries.has(name)) throw new Error(`restoreEntry: ${JSON.stringify(name)} restored twice`);
    this.entries.set(name, inode);
  }

  protected releaseData(): void {
    this.entries.clear();
  }

  private create<T extends Inode>(name: string, make: (ino: number) => T): E.Either<SysError, T> {
    if (this.entries.has(name)) return E.left(sysError('EEXIST', `${JSON.stringify(name)} already exists`));
    // A removed directory still reachable as a mount's root takes no new entries (IS_DEADDIR: ENOENT).
    if (this.links === 0) return E.left(sysError('ENOENT', 'the directory was removed'));
    // shmem_mknod reserves the inode before anything else can fail.
    const ino = this.sb.reserveInode();
    if (E.isLeft(ino)) return ino;
    const inode = make(ino.right);
    this.sb.adopt(inode);
    inode.links = 1;
    this.entries.set(name, inode);
    return E.right(inode);
  }

  /** inode_init_owner: in a set-group-ID directory, children take its group, and subdirectories its S_ISGID bit. */
  private inherited(owner: InodeOwner, dir: boolean): { gid: number; setgid: number } {
    if ((this.mode & S_ISGID) === 0) return { gid: owner.gid, setgid: 0 };
    return { gid: this.gid, setgid: dir ? S_ISGID : 0 };
  }
}
