/**
 * A regular file that no directory names, made straight on a superblock:
 * what shmem_file_setup gives memfd_create (and, in Linux, SysV shm and
 * shared anonymous memory). It lives while an open file description uses it
 * and is evicted at the last close, as any unlinked tmpfs file is.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { S_IALLUGO, S_IFREG } from '../abi/fs.js';
import type { InodeOwner } from './directory.js';
import { RegularFile } from './regular.js';
import type { Tmpfs } from './superblock.js';

/** A new empty file on `sb` with no directory entry; ENOSPC at the inode limit. The caller opens it at once. */
export function createUnlinkedFile(sb: Tmpfs, owner: InodeOwner): E.Either<SysError, RegularFile> {
  if (sb.destroyed) throw new Error('createUnlinkedFile on a destroyed tmpfs');
  return E.map((ino: number) => {
    const file = new RegularFile(sb, ino, S_IFREG | (owner.mode & S_IALLUGO), owner.uid, owner.gid);
    sb.adopt(file);
    return file;
  })(sb.reserveInode());
}
