/**
 * The file system part of an image: tmpfs superblocks with their inodes
 * and file contents (page runs, each with the cgroup it is charged to),
 * mounts, mount namespaces with their tables, and open file descriptions.
 *
 * Saving runs in two steps around the tasks part: the mount namespaces
 * first (their tables number the mounts), then, once the processes have
 * numbered the open files they hold, every open file, mount and tmpfs the
 * walk met. Restoring builds the objects before the processes and sets
 * their counts after them (restoreFsCounts), since constructors and
 * descriptor tables along the way take counts of their own.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../../abi/constants.js';
import { O_ACCMODE, O_APPEND, O_RDONLY, O_RDWR, O_WRONLY } from '../../abi/fs.js';
import { F_SEAL_SEAL, O_LARGEFILE } from '../../abi/memfd.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { MemoryCharge } from '../../memcg/charge.js';
import { Directory } from '../../tmpfs/directory.js';
import type { Inode } from '../../tmpfs/inode.js';
import { RegularFile } from '../../tmpfs/regular.js';
import type { Tmpfs } from '../../tmpfs/superblock.js';
import { OpenFile } from '../../vfs/files.js';
import { Mount, MountNamespace } from '../../vfs/mounts.js';
import type { MountEntry } from '../../vfs/mounts.js';
import { CheckpointFailure, checkpointError } from '../errors.js';
import type { ChargeRefMeta, InodeMetaT, Metadata } from '../metadata.js';
import type { Walk } from '../walk.js';

type MountNamespaceMetaT = Metadata['mountNamespaces'][number];
type FsMeta = Pick<Metadata, 'tmpfs' | 'mounts' | 'openFiles'>;
/** What restoreFsCounts reads: the file system part, and the mappings that count a file's writable pieces. */
type FsCountsMeta = FsMeta & Pick<Metadata, 'processes'>;

/** The mount namespaces as written, with the index the other parts refer by. */
export interface SavedMountNamespaces {
  readonly meta: MountNamespaceMetaT[];
  readonly index: ReadonlyMap<MountNamespace, number>;
}

/** Every mount namespace, the initial one first; the root filesystem becomes tmpfs 0 and its mounts come first. */
export function saveMountNamespaces(walk: Walk): SavedMountNamespaces {
  walk.tmpfs.of(walk.kernel.rootfs);
  const namespaces = walk.kernel.mountNamespaces();
  const meta = namespaces.map((ns) => ({
    members: ns.memberCount,
    table: ns
      .mounts()
      .map((e): [string, number, number | null, number | null] => [
        e.mountpoint,
        mountIndex(walk, e.mount),
        e.parent === undefined ? null : mountIndex(walk, e.parent),
        e.covers === undefined ? null : e.covers.ino,
      ]),
  }));
  return { meta, index: new Map(namespaces.map((ns, i) => [ns, i])) };
}

/** The image's index of a mount; numbers it, and its tmpfs, the first time. */
export function mountIndex(walk: Walk, m: Mount): number {
  const known = walk.mounts.has(m);
  const i = walk.mounts.of(m);
  if (!known) walk.tmpfs.of(m.sb);
  return i;
}

/** The image's index of an open file description; numbers it, and its mount, the first time. */
export function openFileIndex(walk: Walk, f: OpenFile): number {
  const known = walk.openFiles.has(f);
  const i = walk.openFiles.of(f);
  if (!known) mountIndex(walk, f.location.mount);
  return i;
}

/** The status flags of `f` the image keeps beside readable, writable and append: O_LARGEFILE is always there. */
function extraStatusFlags(f: OpenFile): number {
  return f.statusFlags & ~(O_ACCMODE | O_APPEND | O_LARGEFILE);
}

/** Every open file, mount and tmpfs the walk met, in the order it met them. */
export function saveFilesystems(walk: Walk): FsMeta {
  const openFiles = walk.openFiles.items.map((f) => ({
    mount: mountIndex(walk, f.location.mount),
    ino: f.location.inode.ino,
    path: f.location.path,
    readable: f.readable,
    writable: f.writable,
    append: f.append,
    offset: f.offset,
    refs: f.refCount,
    ...(extraStatusFlags(f) === 0 ? {} : { statusFlags: extraStatusFlags(f) }),
    ...(f.directIo ? { directIo: true as const } : {}),
  }));
  const mounts = walk.mounts.items.map((m) => ({
    mountId: m.mountId,
    tmpfs: walk.tmpfs.of(m.sb),
    rootIno: m.root.ino,
    flags: { ...m.flags },
    refs: m.refCount,
  }));
  const tmpfs = walk.tmpfs.items.map((sb, i) => tmpfsMeta(walk, sb, i));
  return { tmpfs, mounts, openFiles };
}

function tmpfsMeta(walk: Walk, sb: Tmpfs, i: number): Metadata['tmpfs'][number] {
  if (sb.faultCharges !== walk.kernel.faultCharges) {
    throw new CheckpointFailure(checkpointError(`tmpfs[${i}]`, 'was made outside the kernel (its faults are charged elsewhere)'));
  }
  const st = sb.checkpointState();
  return {
    deviceId: st.deviceId,
    maxPages: st.maxPages,
    maxInodes: st.maxInodes,
    pagesUsed: st.pagesUsed,
    inodesUsed: st.inodesUsed,
    nextIno: st.nextIno,
    mounts: st.mounts,
    inodes: [sb.root, ...st.live.filter((n) => n !== sb.root)].map((n) => inodeMeta(walk, n, `tmpfs[${i}] inode ${n.ino}`)),
  };
}

function inodeMeta(walk: Walk, n: Inode, where: string): InodeMetaT {
  const base = { ino: n.ino, mode: n.mode, uid: n.uid, gid: n.gid, links: n.links, opens: n.openCount };
  if (n instanceof Directory) {
    const entries = n.names().map((name): [string, number] => [name, (n.lookup(name) as Inode).ino]);
    return { ...base, kind: 'dir', entries, size: 0, pages: [] };
  }
  if (n instanceof RegularFile) {
    const file: InodeMetaT = { ...base, kind: 'file', entries: [], size: n.size, pages: filePages(walk, n, where) };
    // Only a memfd's seals and huge page size differ from the default; images of other files stay as they were.
    const sealed = n.seals === F_SEAL_SEAL ? file : { ...file, seals: n.seals };
    const huge = n.hugePageSize === 0 ? sealed : { ...sealed, hugePageSize: n.hugePageSize };
    // Likewise the fallocated pages, written only when the file has some.
    const fallocated = pageRunsOf(n.fallocatedPages());
    return fallocated.length === 0 ? huge : { ...huge, fallocated };
  }
  throw new CheckpointFailure(checkpointError(where, 'is neither a directory nor a regular file'));
}

/** Pages in ascending order as [first page, count] runs. */
function pageRunsOf(pages: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  let last: [number, number] | undefined;
  for (const p of pages) {
    if (last !== undefined && p === last[0] + last[1]) last[1] += 1;
    else {
      last = [p, 1];
      runs.push(last);
    }
  }
  return runs;
}

/** A file's page runs; a run also breaks where the charge changes. */
function filePages(walk: Walk, n: RegularFile, where: string): [number, number, number, ChargeRefMeta][] {
  const pages: [number, number, number, ChargeRefMeta][] = [];
  let last: [number, number, number, ChargeRefMeta] | undefined;
  n.forEachPage((page, frame, charge) => {
    walk.hold(frame, where);
    const c = walk.charge(charge, `${where} page ${page}`);
    if (last !== undefined && last[3] === c && page === last[0] + last[2] && frame === last[1] + last[2]) {
      last[2] += 1;
    } else {
      last = [page, frame, 1, c];
      pages.push(last);
    }
  });
  return pages;
}

/** A restored tmpfs and its inodes by number. */
interface RestoredTmpfs {
  readonly sb: Tmpfs;
  readonly inodes: ReadonlyMap<number, Inode>;
}

/** The file system objects of a restored kernel, by their indexes in the image. */
export interface RestoredFilesystems {
  readonly tmpfs: readonly RestoredTmpfs[];
  readonly mounts: readonly Mount[];
  readonly openFiles: readonly OpenFile[];
  readonly mountNamespaces: readonly { readonly ns: MountNamespace; readonly table: readonly MountEntry[]; readonly members: number }[];
}

/** Rebuilds the file systems into `kernel`: tmpfs 0 is its root filesystem, mount namespace 0 its initial one. */
export function restoreFilesystems(meta: Metadata, kernel: Kernel, charge: (c: ChargeRefMeta) => MemoryCharge): RestoredFilesystems {
  const tmpfs = meta.tmpfs.map((m, i) => restoreTmpfs(m, i === 0 ? kernel.rootfs : unwrap(kernel.newTmpfs({})), charge, `metadata.tmpfs[${i}]`));
  const inodeOf = (mount: number, ino: number): Inode | undefined => tmpfs[meta.mounts[mount]?.tmpfs as number]?.inodes.get(ino);
  const mounts = meta.mounts.map((m) => {
    const fs = tmpfs[m.tmpfs] as RestoredTmpfs;
    return new Mount(fs.sb, fs.inodes.get(m.rootIno) as Directory, m.flags);
  });
  const openFiles = meta.openFiles.map((f) => {
    const access = f.readable && f.writable ? O_RDWR : f.writable ? O_WRONLY : f.readable ? O_RDONLY : O_RDWR | O_WRONLY;
    const flags = access | (f.append ? O_APPEND : 0) | (f.statusFlags ?? 0);
    const file = new OpenFile({ mount: mounts[f.mount] as Mount, inode: inodeOf(f.mount, f.ino) as Inode, path: f.path }, flags);
    file.offset = f.offset;
    file.directIo = f.directIo === true;
    return file;
  });
  const mountNamespaces = meta.mountNamespaces.map((m, i) => {
    const table = m.table.map(([mountpoint, mount, parent, covers]): MountEntry => {
      const parentMount = parent === null ? undefined : (mounts[parent] as Mount);
      const coversInode = parentMount === undefined || covers === null ? undefined : inodeOf(parent as number, covers);
      return { mountpoint, mount: mounts[mount] as Mount, parent: parentMount, covers: coversInode };
    });
    const ns = i === 0 ? kernel.initialMountNamespace : new MountNamespace((table[0] as MountEntry).mount, false);
    return { ns, table, members: m.members };
  });
  return { tmpfs, mounts, openFiles, mountNamespaces };
}

/** A tmpfs's inodes first, then directory entries and file pages; counts come later. */
function restoreTmpfs(m: Metadata['tmpfs'][number], sb: Tmpfs, charge: (c: ChargeRefMeta) => MemoryCharge, at: string): RestoredTmpfs {
  const inodes = new Map<number, Inode>();
  m.inodes.forEach((n, j) => {
    const inode = j === 0 ? sb.root : n.kind === 'dir' ? new Directory(sb, n.ino, n.mode, n.uid, n.gid) : new RegularFile(sb, n.ino, n.mode, n.uid, n.gid);
    inode.mode = n.mode;
    inode.uid = n.uid;
    inode.gid = n.gid;
    inodes.set(n.ino, inode);
  });
  m.inodes.forEach((n, j) => {
    const inode = inodes.get(n.ino);
    if (inode instanceof Directory) for (const [name, ino] of n.entries) inode.restoreEntry(name, inodes.get(ino) as Inode);
    if (inode instanceof RegularFile) {
      inode.size = n.size;
      inode.seals = n.seals ?? F_SEAL_SEAL;
      inode.hugePageSize = n.hugePageSize ?? 0;
      for (const [page, frame, count, c] of n.pages) for (let j = 0; j < count; j += 1) inode.restorePage(page + j, frame + j, charge(c));
      checkFallocatedZero(n, sb, `${at}.inodes[${j}].fallocated`);
      for (const [page, count] of n.fallocated ?? []) for (let k = 0; k < count; k += 1) inode.restoreFallocated(page + k);
    }
  });
  return { sb, inodes };
}

/**
 * A fallocated page that is not uptodate holds zeros (shmem clears a folio
 * when fallocate claims it, and a write or fault makes it uptodate), so
 * one whose restored frame holds data was damaged: left in, read() would
 * return the data while SEEK_DATA and mincore call the page a hole.
 * Precondition: the file's pages are restored (their frames hold the image's bytes).
 */
function checkFallocatedZero(n: InodeMetaT, sb: Tmpfs, at: string): void {
  const mf = sb.memoryFile;
  for (const [page, count] of n.fallocated ?? []) {
    for (let p = page; p < page + count; p += 1) {
      const run = n.pages.find(([first, , held]) => p >= first && p < first + held);
      if (run === undefined) continue;
      const frame = run[1] + (p - run[0]);
      const bytes = mf.chunkBytes(frame);
      const from = mf.byteOffset(frame);
      for (let b = from; b < from + PAGE_SIZE; b += 1) {
        if (bytes[b] !== 0) throw new CheckpointFailure(checkpointError(at, `page ${p} is fallocated and not uptodate, so it holds zeros, not data`));
      }
    }
  }
}

/**
 * Every count (links, opens, references, members) back to its checkpointed
 * value, once the processes hold theirs; each file's writable mapping
 * pieces are counted from the processes' mappings (the restored VMAs were
 * not announced to the files).
 */
export function restoreFsCounts(meta: FsCountsMeta, fs: RestoredFilesystems): void {
  meta.tmpfs.forEach((m, i) => {
    const t = fs.tmpfs[i] as RestoredTmpfs;
    for (const n of m.inodes) t.inodes.get(n.ino)?.restoreCounts(n.links, n.opens);
    t.sb.restoreState(
      { ...m, dead: false },
      m.inodes.map((n) => t.inodes.get(n.ino) as Inode),
    );
  });
  meta.mounts.forEach((m, i) => fs.mounts[i]?.restoreState(m.mountId, m.refs));
  meta.openFiles.forEach((f, i) => fs.openFiles[i]?.restoreRefs(f.refs));
  const writable = new Map<RegularFile, number>();
  for (const p of meta.processes) {
    for (const v of p.vmas) {
      const inode = v.object.kind === 'file' && v.writable ? fs.openFiles[v.object.file]?.inode : undefined;
      if (inode instanceof RegularFile) writable.set(inode, (writable.get(inode) ?? 0) + 1);
    }
  }
  for (const [inode, count] of writable) inode.restoreWritableMappings(count);
  for (const m of fs.mountNamespaces) m.ns.restoreState(m.table, m.members);
}

function unwrap<T>(r: E.Either<{ readonly message: string }, T>): T {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}
