/**
 * The VFS layer over tmpfs: mounts, mount namespaces, path resolution, and
 * the path-based calls that change directories (after Linux fs/namespace.c
 * and fs/namei.c).
 *
 * A mount is a view of a tmpfs rooted at one of its directories, with its
 * own flags; a bind mount is a second view of the same superblock. A mount
 * namespace is an ordered table of mounts, each attached on a directory of
 * its parent mount. Processes forked share their parent's namespace; a
 * container gets its own.
 *
 * Lifetime: a Mount holds one reference to its superblock. The table holds
 * one reference to the mount, each open file description another (and a
 * mapping holds its description). A lazy unmount takes the mount out of the
 * table at once; the last reference then releases the superblock.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SysError } from '../abi/errno.js';
import { sysError } from '../abi/errno.js';
import { MAY_EXEC, MNT_DETACH, NAME_MAX, PATH_MAX, S_IALLUGO, S_ISVTX } from '../abi/fs.js';
import type { Credentials } from '../auth/credentials.js';
import { hasCapability } from '../auth/credentials.js';
import { Directory } from '../tmpfs/directory.js';
import type { Inode } from '../tmpfs/inode.js';
import { mayModifyDirectory, passesStickyRule, permits } from '../tmpfs/permission.js';
import type { Tmpfs } from '../tmpfs/superblock.js';

/** Per-mount flags (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC). */
export interface MountFlags {
  readonly readonly?: boolean;
  readonly nosuid?: boolean;
  readonly nodev?: boolean;
  readonly noexec?: boolean;
}

let nextMountId = 1;

/** One mount: a tmpfs seen from `root`, with flags. */
export class Mount {
  readonly mountId = nextMountId++;
  readonly flags: Required<MountFlags>;
  private refs = 1;

  /** @internal */
  constructor(
    readonly sb: Tmpfs,
    /** @internal */
    readonly root: Directory,
    flags: MountFlags,
  ) {
    this.flags = { readonly: false, nosuid: false, nodev: false, noexec: false, ...flags };
    sb.hold();
    root.pin();
  }

  /** Open file descriptions and the table's entry using the mount. */
  get refCount(): number {
    return this.refs;
  }

  /**
   * Checkpoint restore: the mount number and reference count checkpointed;
   * numbers handed out later stay clear of it.
   * @internal
   */
  restoreState(mountId: number, refs: number): void {
    (this as { mountId: number }).mountId = mountId;
    nextMountId = Math.max(nextMountId, mountId + 1);
    this.refs = refs;
  }

  /** An open file description starts using the mount. */
  get(): void {
    if (this.refs <= 0) throw new Error(`mount ${this.mountId} used after release`);
    this.refs += 1;
  }

  /** A user of the mount let go; the last one releases the superblock. */
  put(): void {
    if (this.refs <= 0) throw new Error(`mount ${this.mountId} released twice`);
    this.refs -= 1;
    if (this.refs === 0) {
      this.root.unpin();
      this.sb.release();
    }
  }

  /** EROFS unless the mount allows changes (mnt_want_write). */
  wantWrite(): E.Either<SysError, void> {
    return this.flags.readonly ? E.left(sysError('EROFS', 'the mount is read-only')) : E.right(undefined);
  }
}

/** A resolved path: the inode, the mount it was reached through, and its path in the namespace. */
export interface Location {
  readonly mount: Mount;
  readonly inode: Inode;
  readonly path: string;
}

/** A path resolved up to its last component. `name` is "." for "/". */
export interface ParentLocation {
  readonly dir: Location;
  readonly name: string;
  /** The path ended with "/", so the last component must be a directory. */
  readonly trailingSlash: boolean;
}

/** A row of the mount table, as /proc/self/mountinfo lists it. */
export interface MountEntry {
  readonly mountpoint: string;
  readonly mount: Mount;
  /** The mount the entry is attached in, and the directory it covers; none for the root. */
  readonly parent: Mount | undefined;
  readonly covers: Inode | undefined;
}

/** One mount namespace. */
export class MountNamespace {
  private table: MountEntry[];
  private members = 0;

  /**
   * A namespace whose "/" is `root`. The initial namespace lives as long as its kernel.
   * @internal
   */
  constructor(
    root: Mount,
    readonly initial: boolean,
  ) {
    this.table = [{ mountpoint: '/', mount: root, parent: undefined, covers: undefined }];
  }

  /** The mount table in mount order. @internal */
  mounts(): readonly MountEntry[] {
    return [...this.table];
  }

  /** Checkpoint: processes in the namespace, plus its creator's reference while held. */
  get memberCount(): number {
    return this.members;
  }

  /** Checkpoint restore: the mount table and member count checkpointed. @internal */
  restoreState(table: readonly MountEntry[], members: number): void {
    this.table = [...table];
    this.members = members;
  }

  /** True once the last member left a non-initial namespace and its mounts were detached. */
  get isDead(): boolean {
    return this.table.length === 0;
  }

  /** A process entered the namespace (spawn, fork), or its creator took its reference. */
  join(): void {
    this.members += 1;
  }

  /** A process (or the creator) let go; when the last does, a non-initial namespace detaches every mount. */
  leave(): void {
    if (this.members <= 0) throw new Error('mount namespace left more often than joined');
    this.members -= 1;
    if (this.members > 0 || this.initial) return;
    const all = this.table;
    this.table = [];
    for (const entry of all) entry.mount.put();
  }

  /** Resolves `path` to its inode (path_lookupat). @internal */
  resolve(creds: Credentials, path: string): E.Either<SysError, Location> {
    const parsed = splitPath(path);
    if (E.isLeft(parsed)) return parsed;
    let cur = this.rootLocation();
    const stack: Location[] = [];
    for (const name of parsed.right.names) {
      const next = this.step(creds, cur, name, stack);
      if (E.isLeft(next)) return next;
      cur = next.right;
    }
    if (parsed.right.trailingSlash && cur.inode.kind !== 'dir') return E.left(sysError('ENOTDIR', `${path}: not a directory`));
    return E.right(cur);
  }

  /** Resolves all of `path` but its last component (filename_parentat). @internal */
  resolveParent(creds: Credentials, path: string): E.Either<SysError, ParentLocation> {
    const parsed = splitPath(path);
    if (E.isLeft(parsed)) return parsed;
    const names = parsed.right.names;
    let cur = this.rootLocation();
    const stack: Location[] = [];
    for (const name of names.slice(0, -1)) {
      const next = this.step(creds, cur, name, stack);
      if (E.isLeft(next)) return next;
      cur = next.right;
    }
    if (cur.inode.kind !== 'dir') return E.left(sysError('ENOTDIR', `${path}: a path component is not a directory`));
    // link_path_walk's may_lookup runs for the last component too (a dot included): search permission
    // on its directory comes before anything the call then does with the name.
    if (names.length > 0 && !permits(creds, cur.inode, MAY_EXEC)) return E.left(sysError('EACCES', `no search permission on ${cur.path}`));
    const name = names[names.length - 1] ?? '.';
    if (utf8Length(name) > NAME_MAX) return E.left(sysError('ENAMETOOLONG', `${path}: a component is longer than ${NAME_MAX} bytes`));
    return E.right({ dir: cur, name, trailingSlash: parsed.right.trailingSlash });
  }

  /** mount -t tmpfs: attaches a new mount of `sb` on the directory `target`. Needs CAP_SYS_ADMIN. */
  mountTmpfs(creds: Credentials, sb: Tmpfs, target: string, flags: MountFlags = {}): E.Either<SysError, Mount> {
    if (!hasCapability(creds, 'CAP_SYS_ADMIN')) return E.left(sysError('EPERM', 'mount needs CAP_SYS_ADMIN'));
    return this.attach(creds, target, () => new Mount(sb, sb.root, flags));
  }

  /**
   * mount --bind: a new view of the directory `source` (resolved in any
   * namespace) on `target`; the ro view of a channel is one. The new view
   * starts with the source mount's flags, as Linux's clone_mnt copies
   * mnt_flags: a bind of a read-only view is read-only too, so a second view
   * never grants what the first refused. `flags` can only add restrictions
   * (mount(8)'s `-o ro` is a remount of the new view). Needs CAP_SYS_ADMIN.
   * @internal
   */
  bind(creds: Credentials, source: Location, target: string, flags: MountFlags = {}): E.Either<SysError, Mount> {
    if (!hasCapability(creds, 'CAP_SYS_ADMIN')) return E.left(sysError('EPERM', 'mount needs CAP_SYS_ADMIN'));
    const root = source.inode;
    if (!(root instanceof Directory)) return E.left(sysError('ENOTDIR', `${source.path}: only directories are bind-mounted here`));
    const from = source.mount.flags;
    const inherited: MountFlags = {
      readonly: from.readonly || flags.readonly === true,
      nosuid: from.nosuid || flags.nosuid === true,
      nodev: from.nodev || flags.nodev === true,
      noexec: from.noexec || flags.noexec === true,
    };
    return this.attach(creds, target, () => new Mount(root.sb, root, inherited));
  }

  /**
   * umount2(target, flags). Without MNT_DETACH a mount in use (open files,
   * mounts below it) is EBUSY. With it the mount and everything below leave
   * the table at once and go when their last user does (umount_tree).
   */
  umount(creds: Credentials, target: string, flags: number): E.Either<SysError, void> {
    if (!hasCapability(creds, 'CAP_SYS_ADMIN')) return E.left(sysError('EPERM', 'umount needs CAP_SYS_ADMIN'));
    if ((flags & ~MNT_DETACH) !== 0) return E.left(sysError('EINVAL', `umount flags 0x${flags.toString(16)} are not supported`));
    const loc = this.resolve(creds, target);
    if (E.isLeft(loc)) return loc;
    const entry = this.table.find((e) => e.mount === loc.right.mount);
    if (entry === undefined || loc.right.inode !== entry.mount.root) return E.left(sysError('EINVAL', `${target} is not a mount point`));
    if (entry.parent === undefined) return E.left(sysError('EBUSY', 'the root mount stays'));
    const doomed = this.subtree(entry.mount);
    if ((flags & MNT_DETACH) === 0 && (doomed.length > 1 || entry.mount.refCount > 1)) {
      return E.left(sysError('EBUSY', `${target} is in use`));
    }
    this.table = this.table.filter((e) => !doomed.includes(e));
    for (const e of doomed) e.mount.put();
    return E.right(undefined);
  }

  /** mkdir(2): EEXIST, then EROFS, then EACCES, then ENOSPC (filename_create, vfs_mkdir). */
  mkdir(creds: Credentials, path: string, mode: number): E.Either<SysError, void> {
    const at = this.resolveParent(creds, path);
    if (E.isLeft(at)) return at;
    const { dir, name } = at.right;
    const parent = dir.inode as Directory;
    if (name === '.' || name === '..' || parent.lookup(name) !== undefined) return E.left(sysError('EEXIST', `${path} exists`));
    const writable = dir.mount.wantWrite();
    if (E.isLeft(writable)) return writable;
    if (!mayModifyDirectory(creds, parent)) return E.left(sysError('EACCES', `no write and search permission on ${dir.path}`));
    const made = parent.createDirectory(name, { uid: creds.uid, gid: creds.gid, mode: mode & (0o777 | S_ISVTX) });
    return E.map(() => undefined)(made);
  }

  /**
   * unlink(2): EROFS comes first (do_unlinkat takes write access before the
   * lookup), then ENOENT, then a trailing slash (EISDIR or ENOTDIR), then
   * may_delete: EACCES on the directory, EPERM from the sticky bit, EISDIR
   * for a directory.
   */
  unlink(creds: Credentials, path: string): E.Either<SysError, void> {
    return this.remove(creds, path, 'file');
  }

  /** rmdir(2): like unlink, plus ENOTDIR, EBUSY for a mount point, ENOTEMPTY. */
  rmdir(creds: Credentials, path: string): E.Either<SysError, void> {
    return this.remove(creds, path, 'dir');
  }

  /**
   * Finds or creates the inode open(2) will use (open_last_lookups): without
   * O_CREAT a plain lookup; with it, EISDIR for a trailing slash, EEXIST with
   * O_EXCL for "." and ".." or an existing name, EISDIR for "." and ".."
   * without, and for a new name EROFS, then EACCES, then ENOSPC.
   * @internal
   */
  lookupOrCreate(creds: Credentials, path: string, create: boolean, exclusive: boolean, mode: number): E.Either<SysError, { loc: Location; created: boolean }> {
    if (!create) return E.map((loc: Location) => ({ loc, created: false }))(this.resolve(creds, path));
    const at = this.resolveParent(creds, path);
    if (E.isLeft(at)) return at;
    const { dir, name, trailingSlash } = at.right;
    // A trailing slash is EISDIR in open_last_lookups; "." and ".." are looked up (handle_dots) and
    // do_open then finds a directory: EEXIST under O_EXCL (nothing was created), else EISDIR.
    if (trailingSlash && name !== '.' && name !== '..') return E.left(sysError('EISDIR', `${path} names a directory`));
    if (name === '.' || name === '..') {
      return E.left(exclusive ? sysError('EEXIST', `${path} exists (a directory)`) : sysError('EISDIR', `${path} names a directory`));
    }
    const parent = dir.inode as Directory;
    // The last component only: resolveParent has walked the rest.
    const existing = this.step(creds, dir, name, []);
    if (E.isRight(existing)) {
      if (exclusive) return E.left(sysError('EEXIST', `${path} exists`));
      return E.right({ loc: existing.right, created: false });
    }
    if (existing.left.errno !== 'ENOENT') return existing;
    const writable = dir.mount.wantWrite();
    if (E.isLeft(writable)) return writable;
    if (!mayModifyDirectory(creds, parent)) return E.left(sysError('EACCES', `no write and search permission on ${dir.path}`));
    const made = parent.createFile(name, { uid: creds.uid, gid: creds.gid, mode: mode & S_IALLUGO });
    return E.map((inode: Inode) => ({ loc: { mount: dir.mount, inode, path: join(dir.path, name) }, created: true }))(made);
  }

  private remove(creds: Credentials, path: string, want: 'file' | 'dir'): E.Either<SysError, void> {
    const at = this.resolveParent(creds, path);
    if (E.isLeft(at)) return at;
    const { dir, name, trailingSlash } = at.right;
    if (name === '.' || name === '..') {
      if (want === 'file') return E.left(sysError('EISDIR', `${path} is a directory`));
      return E.left(name === '.' ? sysError('EINVAL', 'rmdir of "."') : sysError('ENOTEMPTY', 'rmdir of ".."'));
    }
    const writable = dir.mount.wantWrite();
    if (E.isLeft(writable)) return writable;
    const parent = dir.inode as Directory;
    const victim = parent.lookup(name);
    if (victim === undefined) return E.left(sysError('ENOENT', `${path} does not exist`));
    // do_unlinkat judges a trailing slash right after the lookup, before may_delete: a directory
    // is EISDIR and anything else ENOTDIR, so "file/" is never unlinked.
    if (want === 'file' && trailingSlash) {
      return E.left(victim.kind === 'dir' ? sysError('EISDIR', `${path} is a directory`) : sysError('ENOTDIR', `${path}: not a directory`));
    }
    if (!mayModifyDirectory(creds, parent)) return E.left(sysError('EACCES', `no write and search permission on ${dir.path}`));
    if (!passesStickyRule(creds, parent, victim)) {
      return E.left(sysError('EPERM', `${dir.path} is sticky and neither ${path} nor the directory is yours`));
    }
    if (want === 'file' && victim.kind === 'dir') return E.left(sysError('EISDIR', `${path} is a directory`));
    if (want === 'dir') {
      if (!(victim instanceof Directory)) return E.left(sysError('ENOTDIR', `${path} is not a directory`));
      if (this.table.some((e) => e.parent === dir.mount && e.covers === victim)) return E.left(sysError('EBUSY', `${path} is a mount point`));
      if (!victim.isEmpty) return E.left(sysError('ENOTEMPTY', `${path} is not empty`));
    }
    parent.removeEntry(name);
    return E.right(undefined);
  }

  private attach(creds: Credentials, target: string, make: () => Mount): E.Either<SysError, Mount> {
    const loc = this.resolve(creds, target);
    if (E.isLeft(loc)) return loc;
    if (loc.right.inode.kind !== 'dir') return E.left(sysError('ENOTDIR', `${target} is not a directory`));
    const mount = make();
    this.table.push({ mountpoint: loc.right.path, mount, parent: loc.right.mount, covers: loc.right.inode });
    return E.right(mount);
  }

  /** The entry of `mount` and every entry attached below it, parents first. */
  private subtree(mount: Mount): MountEntry[] {
    const out = this.table.filter((e) => e.mount === mount);
    for (let i = 0; i < out.length; i += 1) {
      const m = out[i]?.mount;
      for (const e of this.table) if (e.parent === m && !out.includes(e)) out.push(e);
    }
    return out;
  }

  private rootLocation(): Location {
    const root = this.table[0];
    if (root === undefined) throw new Error('mount namespace used after its last member left');
    return this.crossMounts({ mount: root.mount, inode: root.mount.root, path: '/' });
  }

  /** One step of the walk from the directory `cur` (walk_component), pushing `cur` so ".." can return. */
  private step(creds: Credentials, cur: Location, name: string, stack: Location[]): E.Either<SysError, Location> {
    if (!(cur.inode instanceof Directory)) return E.left(sysError('ENOTDIR', `${cur.path} is not a directory`));
    if (!permits(creds, cur.inode, MAY_EXEC)) return E.left(sysError('EACCES', `no search permission on ${cur.path}`));
    if (name === '.') return E.right(cur);
    if (name === '..') return E.right(stack.pop() ?? cur);
    if (utf8Length(name) > NAME_MAX) return E.left(sysError('ENAMETOOLONG', `a path component is longer than ${NAME_MAX} bytes`));
    const child = cur.inode.lookup(name);
    if (child === undefined) return E.left(sysError('ENOENT', `${join(cur.path, name)} does not exist`));
    stack.push(cur);
    return E.right(this.crossMounts({ mount: cur.mount, inode: child, path: join(cur.path, name) }));
  }

  /** __follow_mount: while a mount covers the location, go to that mount's root; the last mounted wins. */
  private crossMounts(loc: Location): Location {
    let cur = loc;
    for (;;) {
      let top: MountEntry | undefined;
      for (const e of this.table) if (e.parent === cur.mount && e.covers === cur.inode) top = e;
      if (top === undefined) return cur;
      cur = { mount: top.mount, inode: top.mount.root, path: cur.path };
    }
  }
}

/** Splits a path into components; ENOENT for "", ENAMETOOLONG at PATH_MAX. Relative paths start at "/" (no cwd is modelled). */
function splitPath(path: string): E.Either<SysError, { names: string[]; trailingSlash: boolean }> {
  if (path.length === 0) return E.left(sysError('ENOENT', 'empty path'));
  const bytes = utf8Length(path);
  // PATH_MAX counts the terminating NUL, as getname's strncpy_from_user does.
  if (bytes >= PATH_MAX) return E.left(sysError('ENAMETOOLONG', `path is ${bytes} bytes, PATH_MAX is ${PATH_MAX}`));
  const names = path.split('/').filter((n) => n.length > 0);
  return E.right({ names, trailingSlash: path.endsWith('/') && names.length > 0 });
}

/**
 * The length of `s` in UTF-8 bytes, the unit Linux counts NAME_MAX and
 * PATH_MAX in (a JavaScript length counts UTF-16 code units). A lone
 * surrogate counts as the three bytes of the U+FFFD it encodes to.
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}
