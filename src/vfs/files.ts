/**
 * Open file descriptions, per-process descriptor tables, and the
 * descriptor-based file calls (read, write, lseek, ftruncate, fallocate,
 * fstat) over tmpfs files, after Linux fs/open.c, fs/read_write.c and
 * mm/mmap.c.
 *
 * Lifetime: an OpenFile holds a reference to its inode and to the mount it
 * was opened through. Each descriptor naming it holds one reference (fork
 * shares descriptions, so the child's table adds its own), and each VMA of a
 * mapping holds one as its MappingIdentity. At zero the inode and the mount
 * are let go, which may evict an unlinked file or finish a lazy unmount.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  MAY_READ,
  MAY_WRITE,
  NR_OPEN_DEFAULT,
  O_ACCMODE,
  O_APPEND,
  O_ASYNC,
  O_CREAT,
  O_DIRECT,
  O_DIRECTORY,
  O_DSYNC,
  O_EXCL,
  O_NOATIME,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_SYNC,
  O_TRUNC,
  O_WRONLY,
  ST_NODEV,
  ST_NOEXEC,
  ST_NOSUID,
  ST_RDONLY,
} from '../abi/fs.js';
import { O_CLOEXEC, O_LARGEFILE, O_NOFOLLOW } from '../abi/memfd.js';
import type { Credentials } from '../auth/credentials.js';
import { hasCapability } from '../auth/credentials.js';
import type { MappingContext, MappingIdentity } from '../mm/memmap.js';
import type { MemoryManager } from '../mm/memory_manager.js';
import type { MemoryCharge } from '../memcg/charge.js';
import { isChargeRefused } from '../tmpfs/claim.js';
import { Directory } from '../tmpfs/directory.js';
import { permits } from '../tmpfs/permission.js';
import { RegularFile } from '../tmpfs/regular.js';
import type { TmpfsStatfs } from '../tmpfs/superblock.js';
import type { Inode } from '../tmpfs/inode.js';
import type { FileOffset } from '../tmpfs/offset.js';
import { MAX_LFS_FILESIZE, addOffset, offsetOf, subOffset } from '../tmpfs/offset.js';
import type { Location, MountNamespace } from './mounts.js';

/**
 * The open flags a description keeps in f_flags, which F_GETFL shows: the
 * access mode (all of O_ACCMODE, so 3 stays 3) and the status flags. What
 * open drops (O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC in do_dentry_open,
 * O_CLOEXEC in build_open_flags) and bits that name no flag are not kept;
 * neither are O_PATH and O_TMPFILE, which the model does not have. Only
 * O_APPEND changes what the model does; the rest are kept to be shown.
 */
export const KEPT_OPEN_FLAGS = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_SYNC;

/**
 * f_flags for an open with `flags`, as Linux 6.18 on x86-64 sets them
 * (checked with F_GETFL): the kept bits, O_DSYNC whenever __O_SYNC is
 * there, and O_LARGEFILE always (force_o_largefile on a 64-bit kernel).
 */
export function openStatusFlags(flags: number): number {
  const kept = flags & KEPT_OPEN_FLAGS;
  return kept | ((kept & O_SYNC) !== 0 ? O_DSYNC : 0) | O_LARGEFILE;
}

/** One open file description (Linux struct file). */
export class OpenFile implements MappingIdentity {
  readonly readable: boolean;
  readonly writable: boolean;
  /** O_APPEND: every write goes to the end of the file (F_SETFL may change it). */
  append: boolean;
  /** f_flags: the access mode and status flags, as F_GETFL returns them (see openStatusFlags); F_SETFL changes SETFL_MASK's bits. */
  statusFlags: number;
  /**
   * FMODE_CAN_ODIRECT: O_DIRECT is allowed (open, F_SETFL). tmpfs sets it
   * when a regular file is opened by path (shmem_file_open); a directory, a
   * memfd and the file of a shared anonymous mapping lack it.
   */
  directIo = false;
  /** The file position for read and write (f_pos), exact up to 2^63 - 1. */
  offset: FileOffset = 0;
  private refs = 1;

  constructor(
    readonly location: Location,
    flags: number,
  ) {
    const acc = flags & O_ACCMODE;
    this.readable = acc === O_RDONLY || acc === O_RDWR;
    this.writable = acc === O_WRONLY || acc === O_RDWR;
    this.append = (flags & O_APPEND) !== 0;
    this.statusFlags = openStatusFlags(flags);
    location.mount.get();
    location.inode.open();
  }

  get inode(): Inode {
    return this.location.inode;
  }

  get refCount(): number {
    return this.refs;
  }

  /** Checkpoint restore: the reference count checkpointed. */
  restoreRefs(refs: number): void {
    this.refs = refs;
  }

  incRef(): void {
    if (this.refs <= 0) throw new Error(`${this.location.path}: file used after its last close`);
    this.refs += 1;
  }

  decRef(): void {
    if (this.refs <= 0) throw new Error(`${this.location.path}: file closed twice`);
    this.refs -= 1;
    if (this.refs > 0) return;
    this.location.inode.close();
    this.location.mount.put();
  }

  mappedName(): string {
    return this.inode.links === 0 ? `${this.location.path} (deleted)` : this.location.path;
  }

  deviceId(): number {
    return this.inode.sb.deviceId;
  }

  inodeId(): number {
    return this.inode.ino;
  }

  msync(): void {}
}

/** EBADF for a descriptor that names nothing. */
function badDescriptor(fd: number): E.Either<SysError, never> {
  return E.left(sysError('EBADF', `${fd} is not an open descriptor`));
}

/** A process's descriptor table (Linux files_struct). */
export class FdTable {
  private readonly fds = new Map<number, OpenFile>();
  /** Descriptors with FD_CLOEXEC (a per-descriptor flag, not the description's). */
  private readonly cloexec = new Set<number>();

  /** An empty table allowing `limit` descriptors (RLIMIT_NOFILE). */
  constructor(readonly limit: number = NR_OPEN_DEFAULT) {}

  /** Descriptors in use. */
  get size(): number {
    return this.fds.size;
  }

  /** Checkpoint: every descriptor and its description, in descriptor order. */
  entries(): [number, OpenFile][] {
    return [...this.fds.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** Checkpoint restore: `fd` names `file` (whose reference count is restored separately). */
  restoreEntry(fd: number, file: OpenFile): void {
    if (this.fds.has(fd)) throw new Error(`FdTable.restoreEntry: descriptor ${fd} restored twice`);
    this.fds.set(fd, file);
  }

  /** Whether `fd` has FD_CLOEXEC. */
  closeOnExec(fd: number): boolean {
    return this.cloexec.has(fd);
  }

  /** Sets or clears FD_CLOEXEC on `fd` (F_SETFD); the caller has checked that it is open. */
  setCloseOnExec(fd: number, on: boolean): void {
    if (!this.fds.has(fd)) throw new Error(`FdTable.setCloseOnExec: descriptor ${fd} is not open`);
    if (on) this.cloexec.add(fd);
    else this.cloexec.delete(fd);
  }

  /** Checkpoint: the descriptors with FD_CLOEXEC, in order. */
  closeOnExecFds(): number[] {
    return [...this.cloexec].sort((a, b) => a - b);
  }

  /** EMFILE when no descriptor is free (get_unused_fd_flags, checked before the path lookup). */
  checkRoom(): E.Either<SysError, void> {
    return this.fds.size >= this.limit ? E.left(sysError('EMFILE', `all ${this.limit} descriptors are in use`)) : E.right(undefined);
  }

  /** Puts `file` (whose reference passes to the table) at the lowest free descriptor. Precondition: checkRoom passed. */
  install(file: OpenFile, closeOnExec = false): number {
    let fd = 0;
    while (this.fds.has(fd)) fd += 1;
    if (fd >= this.limit) throw new Error('FdTable.install without room');
    this.fds.set(fd, file);
    if (closeOnExec) this.cloexec.add(fd);
    return fd;
  }

  /** The description behind `fd`, or EBADF. */
  get(fd: number): E.Either<SysError, OpenFile> {
    const file = this.fds.get(fd);
    return file === undefined ? badDescriptor(fd) : E.right(file);
  }

  /** The description behind `fd`, or undefined: get without the Either, for the per-block read and write paths. */
  lookup(fd: number): OpenFile | undefined {
    return this.fds.get(fd);
  }

  /** close(2). */
  close(fd: number): E.Either<SysError, void> {
    const file = this.fds.get(fd);
    if (file === undefined) return E.left(sysError('EBADF', `${fd} is not an open descriptor`));
    this.fds.delete(fd);
    this.cloexec.delete(fd);
    file.decRef();
    return E.right(undefined);
  }

  /** The child's table at fork: the same descriptions, each with one more reference. */
  fork(): FdTable {
    const child = new FdTable(this.limit);
    for (const [fd, file] of this.fds) {
      file.incRef();
      child.fds.set(fd, file);
    }
    for (const fd of this.cloexec) child.cloexec.add(fd);
    return child;
  }

  /** Closes every descriptor (exit_files). */
  closeAll(): void {
    const all = [...this.fds.values()];
    this.fds.clear();
    this.cloexec.clear();
    for (const file of all) file.decRef();
  }
}

/** What the file calls need from the calling process. */
export interface FileCaller {
  readonly creds: Credentials;
  readonly mountNamespace: MountNamespace;
  readonly files: FdTable;
  /** The memory cgroup new pages are charged to. */
  readonly memoryCharge: MemoryCharge;
  readonly mm: MemoryManager;
  readonly mappingContext: MappingContext;
  /**
   * RLIMIT_FSIZE's soft limit in bytes, absent when there is none. A process
   * here ignores SIGXFSZ (as test suites set it up), so going past the limit
   * is EFBIG and never a signal.
   */
  readonly fsizeLimit?: FileOffset;
}

/** struct stat, the fields tmpfs fills. */
export interface FileStat {
  readonly dev: number;
  readonly ino: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  /** st_size: a number up to 2^53 - 1, a bigint past it (a tmpfs file reaches 2^63 - 1). */
  readonly size: FileOffset;
  /** 512-byte units: 8 per page held. */
  readonly blocks: number;
  readonly blksize: number;
}

/** statfs(2) for a mount: the superblock's figures plus the mount's flags. */
export interface Statfs extends TmpfsStatfs {
  /** ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC as the mount has them. */
  readonly flags: number;
}

/**
 * open(2), in do_sys_openat2's order: EINVAL for O_CREAT with O_DIRECTORY,
 * EMFILE, the lookup or creation (see MountNamespace.lookupOrCreate), then
 * do_open: EISDIR for O_CREAT on a
 * directory, ENOTDIR for O_DIRECTORY, EROFS for O_TRUNC on a read-only
 * mount, may_open's EISDIR and EACCES, then EROFS for a write open.
 * A file this call created skips the permission check and the truncation.
 */
export function open(c: FileCaller, path: string, flags: number, mode: number): E.Either<SysError, number> {
  // build_open_flags (Linux 6.4 and later) refuses the pair before a descriptor is taken.
  if ((flags & O_CREAT) !== 0 && (flags & O_DIRECTORY) !== 0) return E.left(sysError('EINVAL', 'O_CREAT with O_DIRECTORY'));
  const room = c.files.checkRoom();
  if (E.isLeft(room)) return room;
  const found = c.mountNamespace.lookupOrCreate(c.creds, path, (flags & O_CREAT) !== 0, (flags & O_EXCL) !== 0, mode);
  if (E.isLeft(found)) return found;
  const { loc, created } = found.right;
  const inode = loc.inode;
  if ((flags & O_CREAT) !== 0 && inode.kind === 'dir') return E.left(sysError('EISDIR', `${path} is a directory`));
  if ((flags & O_DIRECTORY) !== 0 && inode.kind !== 'dir') return E.left(sysError('ENOTDIR', `${path} is not a directory`));
  const acc = flags & O_ACCMODE;
  const truncate = !created && inode.kind === 'file' && (flags & O_TRUNC) !== 0;
  if (truncate) {
    const w = loc.mount.wantWrite();
    if (E.isLeft(w)) return w;
  }
  if (!created) {
    // build_open_flags: O_TRUNC asks for write permission even with O_RDONLY.
    const mask = (acc === O_RDONLY ? MAY_READ : acc === O_WRONLY ? MAY_WRITE : MAY_READ | MAY_WRITE) | ((flags & O_TRUNC) !== 0 ? MAY_WRITE : 0);
    if (inode.kind === 'dir' && (mask & MAY_WRITE) !== 0) return E.left(sysError('EISDIR', `${path} is a directory`));
    if (!permits(c.creds, inode, mask)) return E.left(sysError('EACCES', `no permission to open ${path}`));
    // may_open: O_NOATIME only for the owner or CAP_FOWNER.
    if ((flags & O_NOATIME) !== 0 && c.creds.uid !== inode.uid && !hasCapability(c.creds, 'CAP_FOWNER')) {
      return E.left(sysError('EPERM', `O_NOATIME on ${path}, which the caller does not own`));
    }
  }
  if (acc !== O_RDONLY) {
    const w = loc.mount.wantWrite();
    if (E.isLeft(w)) return w;
  }
  // do_dentry_open: O_DIRECT needs FMODE_CAN_ODIRECT, which only a tmpfs regular file gets.
  if ((flags & O_DIRECT) !== 0 && !(inode instanceof RegularFile)) return E.left(sysError('EINVAL', `O_DIRECT on ${path}, which is not a regular file`));
  const file = new OpenFile(loc, flags);
  file.directIo = inode instanceof RegularFile;
  if (truncate && inode instanceof RegularFile) inode.truncate(0);
  return E.right(c.files.install(file, (flags & O_CLOEXEC) !== 0));
}

/** MAX_RW_COUNT: the most one read or write moves (INT_MAX rounded down to a page). */
const MAX_RW_COUNT = 0x7ffff000;

/** EINVAL for pread/pwrite's negative offset, which ksys_pread64 and ksys_pwrite64 refuse before looking at the descriptor. */
function negativeOffset(at: FileOffset): E.Either<SysError, never> {
  return E.left(sysError('EINVAL', `offset ${at} is negative`));
}

/** rw_verify_area: EINVAL when pos + count overflows loff_t (pos ≥ 0 here), else undefined. */
function overflowsLoff(pos: FileOffset, count: number): E.Either<SysError, never> | undefined {
  // A number position is a safe integer and so is the count: their sum is far below 2^63 - 1, with no bigint made (docs/architecture.md, Hot paths).
  if (typeof pos === 'number') return undefined;
  return subOffset(MAX_LFS_FILESIZE, pos) < count ? E.left(sysError('EINVAL', `offset ${pos} + count ${count} overflows loff_t`)) : undefined;
}

/**
 * read(2) at the file position, or pread(2) at `at`: holes read as zeros,
 * nothing past the end. In Linux's order: pread's EINVAL for a negative
 * offset, then EBADF, then vfs_read's checks (EBADF without read access,
 * rw_verify_area's EINVAL when offset + count overflows loff_t), then
 * EISDIR; a count past MAX_RW_COUNT is cut to it.
 */
export function read(c: FileCaller, fd: number, count: number, at?: FileOffset): E.Either<SysError, Uint8Array> {
  // Written without E.chain or FdTable.get: fp-ts's dual() spreads its
  // arguments on every call, which showed up on this per-block path.
  if (at !== undefined && at < 0) return negativeOffset(at);
  const file = c.files.lookup(fd);
  if (file === undefined) return badDescriptor(fd);
  if (!file.readable) return E.left(sysError('EBADF', `descriptor ${fd} is not open for reading`));
  if (!Number.isSafeInteger(count) || count < 0) return E.left(sysError('EINVAL', `count ${count} is not a byte count`));
  const pos = at ?? file.offset;
  const overflow = overflowsLoff(pos, count);
  if (overflow !== undefined) return overflow;
  const inode = file.inode;
  if (!(inode instanceof RegularFile)) return E.left(sysError('EISDIR', `descriptor ${fd} is a directory`));
  const data = inode.read(pos, Math.min(count, MAX_RW_COUNT));
  if (at === undefined) file.offset = addOffset(pos, data.length);
  return E.right(data);
}

/**
 * write(2) at the file position (the end with O_APPEND), or pwrite(2) at
 * `at` (which Linux also sends to the end under O_APPEND). A write that runs
 * out of pages part-way returns the short count; one that writes nothing
 * fails with the reason (ENOSPC; or ENOMEM, marked as a refused charge when
 * the memory cgroup said no, which the caller answers with an OOM kill).
 */
export function write(c: FileCaller, fd: number, bytes: Uint8Array, at?: FileOffset): E.Either<SysError, number> {
  // In Linux's order: pwrite's EINVAL for a negative offset, EBADF, then
  // vfs_write's rw_verify_area (EINVAL when the given position + count
  // overflows loff_t, before O_APPEND moves the position to the end), then
  // generic_write_checks in RegularFile.write (EFBIG at RLIMIT_FSIZE or s_maxbytes).
  if (at !== undefined && at < 0) return negativeOffset(at);
  const file = c.files.lookup(fd);
  if (file === undefined) return badDescriptor(fd);
  if (!file.writable) return E.left(sysError('EBADF', `descriptor ${fd} is not open for writing`));
  // vfs_write: a hugetlbfs file has no write_iter (no FMODE_CAN_WRITE), EINVAL before the range check.
  if (file.inode instanceof RegularFile && file.inode.hugePageSize !== 0)
    return E.left(sysError('EINVAL', `descriptor ${fd} is a hugetlbfs file, which write(2) cannot write`));
  const overflow = overflowsLoff(at ?? file.offset, bytes.length);
  if (overflow !== undefined) return overflow;
  const inode = file.inode;
  if (!(inode instanceof RegularFile)) return E.left(sysError('EISDIR', `descriptor ${fd} is a directory`));
  const pos = file.append ? inode.size : (at ?? file.offset);
  const outcome = inode.write(pos, bytes.length > MAX_RW_COUNT ? bytes.subarray(0, MAX_RW_COUNT) : bytes, c.memoryCharge, c.fsizeLimit);
  if (E.isLeft(outcome)) return outcome;
  const { written, stopped } = outcome.right;
  if (at === undefined) file.offset = addOffset(pos, written);
  if (stopped !== undefined && (written === 0 || isChargeRefused(stopped))) return E.left(stopped);
  return E.right(written);
}

/**
 * ftruncate(2) in do_sys_ftruncate's order: EINVAL for a negative length
 * before the descriptor is looked at, EBADF, EINVAL unless the descriptor is
 * a regular file open for writing (do_ftruncate), then EFBIG for growing past
 * RLIMIT_FSIZE or s_maxbytes.
 */
export function ftruncate(c: FileCaller, fd: number, length: FileOffset): E.Either<SysError, void> {
  if (length < 0) return E.left(sysError('EINVAL', `length ${length} is negative`));
  return E.chain((file: OpenFile) => {
    const inode = file.inode;
    if (!(inode instanceof RegularFile) || !file.writable) return E.left(sysError('EINVAL', `descriptor ${fd} is not a regular file open for writing`));
    return inode.truncate(length, c.fsizeLimit);
  })(c.files.get(fd));
}

/** FALLOC_FL_MODE_MASK (Linux 6.17): the exclusive modes; FALLOC_FL_ALLOCATE_RANGE is 0. */
const FALLOC_FL_COLLAPSE_RANGE = 0x08;
const FALLOC_FL_ZERO_RANGE = 0x10;
const FALLOC_FL_INSERT_RANGE = 0x20;
const FALLOC_FL_UNSHARE_RANGE = 0x40;
const FALLOC_FL_WRITE_ZEROES = 0x80;
const FALLOC_FL_MODE_MASK =
  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_WRITE_ZEROES;

/** vfs_fallocate's mode rule: a flag outside the mask, or modes combined, or KEEP_SIZE where the mode forbids (or needs) it. */
function fallocateModeRefused(mode: number): boolean {
  if ((mode & ~(FALLOC_FL_MODE_MASK | FALLOC_FL_KEEP_SIZE)) !== 0) return true;
  switch (mode & FALLOC_FL_MODE_MASK) {
    case 0:
    case FALLOC_FL_UNSHARE_RANGE:
    case FALLOC_FL_ZERO_RANGE:
      return false;
    case FALLOC_FL_PUNCH_HOLE:
      return (mode & FALLOC_FL_KEEP_SIZE) === 0;
    case FALLOC_FL_COLLAPSE_RANGE:
    case FALLOC_FL_INSERT_RANGE:
    case FALLOC_FL_WRITE_ZEROES:
      return (mode & FALLOC_FL_KEEP_SIZE) !== 0;
    default:
      return true;
  }
}

/**
 * fallocate(2): EBADF for a descriptor that names nothing (ksys_fallocate),
 * then vfs_fallocate's order: EINVAL unless offset ≥ 0 and length > 0,
 * EOPNOTSUPP for a mode no filesystem takes, EBADF without write access,
 * EISDIR, EFBIG when offset + length passes s_maxbytes (or overflows
 * loff_t); then shmem_fallocate (EOPNOTSUPP for a mode tmpfs lacks).
 */
export function fallocate(c: FileCaller, fd: number, mode: number, offset: FileOffset, length: FileOffset): E.Either<SysError, void> {
  return E.chain((file: OpenFile) => {
    if (offset < 0 || length <= 0) return E.left(sysError('EINVAL', 'fallocate needs offset >= 0 and length > 0'));
    if (fallocateModeRefused(mode)) return E.left(sysError('EOPNOTSUPP', `fallocate mode ${mode} is not a valid mode`));
    if (!file.writable) return E.left(sysError('EBADF', `descriptor ${fd} is not open for writing`));
    const inode = file.inode;
    if (!(inode instanceof RegularFile)) return E.left(sysError('EISDIR', `descriptor ${fd} is a directory`));
    if (addOffset(offset, length) > MAX_LFS_FILESIZE)
      return E.left(sysError('EFBIG', `fallocate range ${offset} + ${length} reaches past the largest file size`));
    return inode.fallocate(mode, offset, length, c.memoryCharge, c.fsizeLimit);
  })(c.files.get(fd));
}

/** fstat(2). */
export function fstat(c: FileCaller, fd: number): E.Either<SysError, FileStat> {
  return E.map((file: OpenFile) => statInode(file.inode))(c.files.get(fd));
}

/** stat(2) of an inode. */
export function statInode(inode: Inode): FileStat {
  const isDir = inode instanceof Directory;
  const file = inode instanceof RegularFile ? inode : undefined;
  return {
    dev: inode.sb.deviceId,
    ino: inode.ino,
    mode: inode.mode,
    nlink: isDir ? inode.nlink : inode.links,
    uid: inode.uid,
    gid: inode.gid,
    size: isDir ? inode.size : (file?.size ?? 0),
    blocks: (file?.residentPages ?? 0) * (PAGE_SIZE / 512),
    // A hugetlbfs file's i_blkbits are its huge page size's.
    blksize: file !== undefined && file.hugePageSize !== 0 ? file.hugePageSize : PAGE_SIZE,
  };
}

/** statfs(2) through `loc`'s mount: a read-only view reports the same space as the writable one. */
export function statfsAt(loc: Location): Statfs {
  const f = loc.mount.flags;
  const flags = (f.readonly ? ST_RDONLY : 0) | (f.nosuid ? ST_NOSUID : 0) | (f.nodev ? ST_NODEV : 0) | (f.noexec ? ST_NOEXEC : 0);
  return { ...loc.mount.sb.statfs(), flags };
}

/** lseek(2) whence values (SEEK_MAX is SEEK_HOLE). */
const SEEK_SET = 0;
// SEEK_END is 2: any whence but SEEK_SET, SEEK_CUR, SEEK_DATA and SEEK_HOLE that passes the range check.
const SEEK_CUR = 1;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

/**
 * lseek(2): EBADF, then EINVAL for a whence past SEEK_HOLE (ksys_lseek),
 * then the file's llseek. A tmpfs file (shmem_file_llseek): SEEK_SET, CUR
 * and END as generic_file_llseek_size (EINVAL for a position below 0 or
 * past MAX_LFS_FILESIZE; SEEK_CUR by 0 only reads the position), SEEK_DATA
 * and SEEK_HOLE as mapping_seek_hole_data over the pages the file holds
 * (ENXIO for a negative offset or one at or past the size; the end of the
 * file is a hole). A directory (dcache_dir_lseek): SEEK_SET and SEEK_CUR
 * only, EINVAL for the rest or a negative position. Returns the new
 * position, a bigint past 2^53 - 1.
 */
export function lseek(c: FileCaller, fd: number, offset: FileOffset, whence: number): E.Either<SysError, FileOffset> {
  const file = c.files.lookup(fd);
  if (file === undefined) return badDescriptor(fd);
  if (whence < SEEK_SET || whence > SEEK_HOLE) return E.left(sysError('EINVAL', `lseek whence ${whence} is unknown`));
  const inode = file.inode;
  const off = BigInt(offset);
  const pos = BigInt(file.offset);
  let next: bigint;
  if (!(inode instanceof RegularFile)) {
    if (whence !== SEEK_SET && whence !== SEEK_CUR) return E.left(sysError('EINVAL', 'a directory seeks only with SEEK_SET and SEEK_CUR'));
    next = whence === SEEK_SET ? off : pos + off;
    if (next < 0n) return E.left(sysError('EINVAL', `lseek to ${next}, a negative position`));
  } else if (inode.hugePageSize !== 0 && (whence === SEEK_DATA || whence === SEEK_HOLE)) {
    // hugetlbfs seeks with default_llseek: the whole file is data.
    const size = BigInt(inode.size);
    if (off >= size) return E.left(sysError('ENXIO', `lseek offset ${off} is not inside the file's ${size} bytes`));
    next = whence === SEEK_DATA ? off : size;
    if (next < 0n) return E.left(sysError('EINVAL', `lseek to ${next}, a negative position`));
  } else if (whence === SEEK_DATA || whence === SEEK_HOLE) {
    const size = BigInt(inode.size);
    if (off < 0n || off >= size) return E.left(sysError('ENXIO', `lseek offset ${off} is not inside the file's ${size} bytes`));
    const found = whence === SEEK_DATA ? seekData(inode, off, size) : seekHole(inode, off, size);
    if (found === undefined) return E.left(sysError('ENXIO', `no data at or after ${off}`));
    // See seekHole: LLONG_MIN is returned as it is, and shmem_file_llseek leaves f_pos alone.
    if (found < 0n) return E.right(found);
    next = found;
  } else {
    if (whence === SEEK_CUR && off === 0n) return E.right(file.offset);
    next = whence === SEEK_SET ? off : (whence === SEEK_CUR ? pos : BigInt(inode.size)) + off;
    if (next < 0n || next > BigInt(MAX_LFS_FILESIZE)) return E.left(sysError('EINVAL', `lseek to ${next}, outside 0..2^63-1`));
  }
  file.offset = offsetOf(next);
  return E.right(file.offset);
}

const PAGE_N = BigInt(PAGE_SIZE);

/**
 * The last page a file can have (MAX_LFS_FILESIZE's). mapping_seek_hole_data
 * rounds a folio's position up to its end as a loff_t, which for this page
 * is 2^63 and wraps to LLONG_MIN: its data is never found (SEEK_DATA goes
 * on past it to ENXIO) and a data run reaching it ends at LLONG_MIN, which
 * SEEK_HOLE returns as its result (Linux 6.18).
 */
const LAST_PAGE = Number(((1n << 63n) - 1n) / PAGE_N);

/** The first byte at or after `off` (below `size`) in a page the file holds. */
function seekData(inode: RegularFile, off: bigint, size: bigint): bigint | undefined {
  const first = inode.nextResidentPage(Number(off / PAGE_N));
  if (first === undefined || first === LAST_PAGE) return undefined;
  const at = BigInt(first) * PAGE_N;
  const byte = at > off ? at : off;
  return byte < size ? byte : undefined;
}

/** The first byte at or after `off` in a hole, or the size. */
function seekHole(inode: RegularFile, off: bigint, size: bigint): bigint {
  const page = inode.nextHolePage(Number(off / PAGE_N));
  if (page > LAST_PAGE) return -(1n << 63n);
  const hole = BigInt(page) * PAGE_N;
  const byte = hole > off ? hole : off;
  return byte < size ? byte : size;
}
