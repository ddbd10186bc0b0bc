/**
 * restore(image): a new Kernel identical to the one checkpointed. The image
 * is checked completely first (header, version, checksums, io-ts decoding
 * of the metadata, cross references) and only then built, into objects no
 * one else can see yet: a failed restore leaves nothing behind and touches
 * no running kernel.
 *
 * Building goes bottom-up: frames and their bytes, cgroups, IPC namespaces
 * and segments, anonymous memory, tmpfs inodes, mounts, open files,
 * processes with their address spaces and descriptors; then every count
 * (links, opens, references, members) is set to its checkpointed value,
 * since constructors along the way took counts of their own. A container
 * engine comes last, over the rebuilt processes, namespaces and cgroups.
 */
import * as E from 'fp-ts/lib/Either.js';
import { O_APPEND, O_RDONLY, O_RDWR, O_WRONLY } from '../abi/fs.js';
import { PAGE_SIZE } from '../abi/constants.js';
import type { ContainerEngine, EngineOptions } from '../hostchannel/engine.js';
import { MemoryCgroup } from '../memcg/cgroup.js';
import { makeCredentials } from '../auth/credentials.js';
import { idSeq } from '../ipc/ids.js';
import { FdTable, OpenFile } from '../vfs/files.js';
import { IpcNamespace } from '../kernel/ipc_namespace.js';
import { Kernel } from '../kernel/kernel.js';
import { Process } from '../kernel/process.js';
import { Mount, MountNamespace } from '../vfs/mounts.js';
import type { MountEntry } from '../vfs/mounts.js';
import { AnonymousMemory } from '../mm/anon.js';
import type { MappingIdentity, Mappable } from '../mm/memmap.js';
import { MemoryManager } from '../mm/memory_manager.js';
import type { Vma } from '../mm/vma.js';
import type { Shm } from '../shm/shm.js';
import type { MemoryCharge } from '../memcg/charge.js';
import { Directory } from '../tmpfs/directory.js';
import type { Inode } from '../tmpfs/inode.js';
import { RegularFile } from '../tmpfs/regular.js';
import { rebuildEngine } from './engine.js';
import type { RestoredObjects } from './engine.js';
import { SectionHasher } from './checksum.js';
import type { CheckpointError } from './errors.js';
import { CheckpointFailure, checkpointError } from './errors.js';
import type { ImageSections } from './format.js';
import { PIECE_FRAMES, pagesDamaged, readSections } from './format.js';
import type { ChargeRefMeta, Metadata } from './metadata.js';
import { decodeMetadata } from './metadata.js';
import { validate } from './validate.js';
import { copyBytes } from '../mm/copy.js';

/** What the image cannot carry: the functions a simulator injected. */
export interface RestoreOptions {
  /** CLOCK_REALTIME for the restored kernel; default the host clock, as for a new Kernel. */
  readonly clock?: () => number;
  /**
   * The pid allocator. Needed when the checkpointed kernel had an injected
   * one; otherwise the default allocator carries on where it stopped.
   */
  readonly allocatePid?: () => number;
}

/** Restore options for an image that may carry a container engine. */
export interface EngineRestoreOptions extends RestoreOptions {
  /** The restored engine's options (its meminfo and log are functions, which an image cannot carry). */
  readonly engine?: EngineOptions;
}

/** A restored kernel, and the container engine bound to it when the image carries one. */
export interface RestoredMachine {
  readonly kernel: Kernel;
  readonly engine: ContainerEngine | undefined;
}

/**
 * Rebuilds the kernel of `image`, or says what is wrong with the image and
 * where. An engine the image carries is checked but not rebuilt: its daemon
 * and container processes are in the kernel as plain processes.
 */
export function restore(image: Uint8Array, options: RestoreOptions = {}): E.Either<CheckpointError, Kernel> {
  return E.map((m: RestoredMachine) => m.kernel)(restoreImage(image, options, undefined));
}

/** Rebuilds the kernel of `image` and the container engine it carries (undefined in an image without one). */
export function restoreWithEngine(image: Uint8Array, options: EngineRestoreOptions = {}): E.Either<CheckpointError, RestoredMachine> {
  return restoreImage(image, options, options.engine ?? {});
}

function restoreImage(image: Uint8Array, options: RestoreOptions, engineOptions: EngineOptions | undefined): E.Either<CheckpointError, RestoredMachine> {
  // The page checksum is checked while the pages are copied (restoreFrames).
  const sections = readSections(image, { deferPages: true });
  if (E.isLeft(sections)) return sections;
  const meta = decodeMetadata(sections.right.metadata);
  if (E.isLeft(meta)) return meta;
  const valid = validate(meta.right, sections.right.runs);
  if (E.isLeft(valid)) return valid;
  if (meta.right.kernel.nextPid === null && options.allocatePid === undefined) {
    return E.left(checkpointError('metadata.kernel.nextPid', 'the checkpointed kernel had an injected pid allocator: pass allocatePid to restore'));
  }
  try {
    const built = build(meta.right, image, sections.right, options);
    const engine = meta.right.engine;
    if (engine === undefined || engineOptions === undefined) return E.right({ kernel: built.kernel, engine: undefined });
    return E.right({ kernel: built.kernel, engine: rebuildEngine(built.kernel, engine, built, engineOptions) });
  } catch (e) {
    // Damaged page data, found while copying it: the half-built kernel is dropped.
    if (e instanceof CheckpointFailure) return E.left(e.error);
    // Validation should make this unreachable; the half-built kernel is dropped either way.
    return E.left(checkpointError('image', `passed every check but could not be rebuilt: ${(e as Error).message}`));
  }
}

/** A rebuilt kernel and the objects of it that an engine section refers to. */
interface Built extends RestoredObjects {
  readonly kernel: Kernel;
}

function build(meta: Metadata, image: Uint8Array, sections: ImageSections, options: RestoreOptions): Built {
  const k = meta.kernel;
  const kernel = new Kernel({
    memTotalBytes: k.memTotalBytes,
    chunkBytes: k.chunkBytes,
    executeOnly: k.executeOnly,
    hugetlbShmGroup: k.hugetlbShmGroup,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.allocatePid !== undefined ? { allocatePid: options.allocatePid } : {}),
  });
  kernel.restoreCounters(k.nextPid ?? undefined, k.nextNsId);
  // First, before anything else is built: a damaged page section stops here.
  if (!restoreFrames(kernel, sections, image, k.frameLimit)) throw new CheckpointFailure(pagesDamaged());

  kernel.rootMemoryCgroup.restoreCharged(k.rootCgroupCharged);
  const cgroups = meta.cgroups.map((g) => {
    const c = new MemoryCgroup(g.path, g.limitPages === null ? undefined : BigInt(g.limitPages) * BigInt(PAGE_SIZE));
    c.restoreCounters(g.chargedPages, g.refusals);
    return c;
  });
  const charge = (c: ChargeRefMeta): MemoryCharge => (c === 'root' ? kernel.rootMemoryCgroup : (cgroups[c] as MemoryCgroup));
  for (const [uid, pages] of meta.lockedMemory) kernel.lockedMemory.restoreEntry(uid, pages);

  // IPC namespaces and segments; creators are filled in once processes exist.
  const creators: [Shm, number][] = [];
  const ipcNamespaces = meta.ipcNamespaces.map((m, i) => {
    const ns = i === 0 ? kernel.initialIpcNamespace : new IpcNamespace(m.nsId, kernel.environment, false);
    Object.assign(ns.limits, m.limits);
    ns.restoreMembership(m.members, m.dead);
    ns.shm.restoreIdAllocator(m.allocator);
    const segments = new Map<number, Shm>();
    for (const s of m.segments) {
      const seg = ns.shm.restoreSegment({
        perm: { key: s.key, id: s.id, seq: idSeq(s.id), uid: s.uid, gid: s.gid, cuid: s.cuid, cgid: s.cgid, mode: s.mode },
        segsz: s.segsz,
        mapBytes: Number(s.mapBytes),
        hugePageBytes: s.hugePageBytes,
        cpid: s.cpid,
        creator: {},
        ctime: s.ctime,
      });
      seg.atime = s.atime;
      seg.dtime = s.dtime;
      seg.lpid = s.lpid;
      seg.nattch = s.nattch;
      seg.pendingDestruction = s.pendingDestruction;
      seg.lockedBy = s.lockedBy ?? undefined;
      seg.restoreCounts(s.refs, s.forcedPending);
      for (const [page, frame, count] of s.pages) for (let j = 0; j < count; j += 1) seg.restorePage(page + j, frame + j);
      if (s.creator === null) seg.creator = undefined;
      else creators.push([seg, s.creator]);
      segments.set(s.id, seg);
    }
    return { ns, segments };
  });

  const anonymous = meta.anonymous.map((a) => {
    const mem = new AnonymousMemory(kernel.memoryFile, a.bytes, a.name);
    const pages: [number, number][] = [];
    for (const [page, frame, count] of a.pages) for (let j = 0; j < count; j += 1) pages.push([page + j, frame + j]);
    mem.restoreState(a.refs, pages);
    return mem;
  });

  // Filesystems: inodes first, then entries; counts are set at the end.
  const tmpfs = meta.tmpfs.map((m, i) => {
    const sb = i === 0 ? kernel.rootfs : unwrap(kernel.newTmpfs({}));
    const inodes = new Map<number, Inode>();
    m.inodes.forEach((n, j) => {
      const inode = j === 0 ? sb.root : n.kind === 'dir' ? new Directory(sb, n.ino, n.mode, n.uid, n.gid) : new RegularFile(sb, n.ino, n.mode, n.uid, n.gid);
      inode.mode = n.mode;
      inode.uid = n.uid;
      inode.gid = n.gid;
      inodes.set(n.ino, inode);
    });
    for (const n of m.inodes) {
      const inode = inodes.get(n.ino);
      if (inode instanceof Directory) for (const [name, ino] of n.entries) inode.restoreEntry(name, inodes.get(ino) as Inode);
      if (inode instanceof RegularFile) {
        inode.size = n.size;
        for (const [page, frame, count, c] of n.pages) for (let j = 0; j < count; j += 1) inode.restorePage(page + j, frame + j, charge(c));
      }
    }
    return { sb, inodes };
  });
  const mounts = meta.mounts.map((m) => {
    const fs = tmpfs[m.tmpfs] as (typeof tmpfs)[number];
    return new Mount(fs.sb, fs.inodes.get(m.rootIno) as Directory, m.flags);
  });
  const openFiles = meta.openFiles.map((f) => {
    const mount = mounts[f.mount] as Mount;
    const inode = tmpfs[meta.mounts[f.mount]?.tmpfs as number]?.inodes.get(f.ino) as Inode;
    const access = f.readable && f.writable ? O_RDWR : f.writable ? O_WRONLY : f.readable ? O_RDONLY : O_RDWR | O_WRONLY;
    const file = new OpenFile({ mount, inode, path: f.path }, access | (f.append ? O_APPEND : 0));
    file.offset = f.offset;
    return file;
  });
  const mountNamespaces = meta.mountNamespaces.map((m, i) => {
    const table = m.table.map(([mountpoint, mount, parent, covers]): MountEntry => {
      const parentMount = parent === null ? undefined : (mounts[parent] as Mount);
      const coversInode = parentMount === undefined || covers === null ? undefined : tmpfs[meta.mounts[parent as number]?.tmpfs as number]?.inodes.get(covers);
      return { mountpoint, mount: mounts[mount] as Mount, parent: parentMount, covers: coversInode };
    });
    const ns = i === 0 ? kernel.initialMountNamespace : new MountNamespace((table[0] as MountEntry).mount, false);
    return { ns, table, members: m.members };
  });

  // Processes, in the kernel's order.
  const tokens = new Map<number, object>();
  const processes = new Map<number, Process>();
  for (const p of meta.processes) {
    const mm = new MemoryManager({ memoryFile: kernel.memoryFile, mmapBase: p.mmapBase, executeOnly: kernel.executeOnly });
    mm.restoreVmas(
      p.vmas.map((v): Vma => {
        const o = v.object;
        let mappable: Mappable;
        let identity: MappingIdentity;
        if (o.kind === 'shm') {
          const seg = ipcNamespaces[o.ns]?.segments.get(o.id) as Shm;
          mappable = seg;
          identity = seg;
        } else if (o.kind === 'anon') {
          const mem = anonymous[o.anon] as AnonymousMemory;
          mappable = mem;
          identity = mem;
        } else {
          const file = openFiles[o.file] as OpenFile;
          mappable = file.inode as RegularFile;
          identity = file;
        }
        return { start: v.start, end: v.end, offset: v.offset, perms: v.perms, maxPerms: v.maxPerms, writable: v.writable, mappable, identity };
      }),
    );
    const files = new FdTable(p.fdLimit);
    for (const [fd, file] of p.fds) files.restoreEntry(fd, openFiles[file] as OpenFile);
    const creds = makeCredentials({ uid: p.uid, gid: p.gid, groups: p.groups, caps: p.caps, memlock: p.memlock });
    const ipc = ipcNamespaces[p.ipcNamespace]?.ns as IpcNamespace;
    const mountNamespace = mountNamespaces[p.mountNamespace]?.ns as MountNamespace;
    const proc = new Process(kernel, p.pid, creds, ipc, mm, { mountNamespace, files, memoryCharge: charge(p.charge) });
    kernel.adoptRestored(proc);
    tokens.set(p.pid, proc.creatorToken);
    processes.set(p.pid, proc);
  }
  for (const [seg, pid] of creators) seg.creator = tokens.get(pid);

  // Every count back to its checkpointed value.
  meta.tmpfs.forEach((m, i) => {
    const fs = tmpfs[i] as (typeof tmpfs)[number];
    for (const n of m.inodes) fs.inodes.get(n.ino)?.restoreCounts(n.links, n.opens);
    fs.sb.restoreState(
      { ...m, dead: false },
      m.inodes.map((n) => fs.inodes.get(n.ino) as Inode),
    );
  });
  meta.mounts.forEach((m, i) => mounts[i]?.restoreState(m.mountId, m.refs));
  meta.openFiles.forEach((f, i) => openFiles[i]?.restoreRefs(f.refs));
  for (const m of mountNamespaces) m.ns.restoreState(m.table, m.members);
  kernel.adoptRestoredNamespaces(
    ipcNamespaces.map((n) => n.ns),
    mountNamespaces.map((n) => n.ns),
  );
  return {
    kernel,
    processes,
    ipcNamespaces: ipcNamespaces.map((n) => n.ns),
    mountNamespaces: mountNamespaces.map((n) => n.ns),
    cgroups,
  };
}

/**
 * Makes the frames of the image exist in the new kernel's MemoryFile, with
 * their bytes. When the page checksum was left to this step, each piece of
 * the page section is hashed right after it is copied, while still in
 * cache; false when the section does not match its checksum.
 */
function restoreFrames(kernel: Kernel, sections: ImageSections, image: Uint8Array, frameLimit: number): boolean {
  const { runs, pendingPages } = sections;
  const mf = kernel.memoryFile;
  mf.restoreFrames(frameLimit, runs);
  const sum = pendingPages === undefined ? undefined : new SectionHasher(image, pendingPages.start, pendingPages.end, pendingPages.version);
  for (const r of runs) {
    let at = r.dataOffset;
    for (let f = r.firstFrame, left = r.count; left > 0; ) {
      const n = Math.min(mf.contiguousInChunk(f, left), PIECE_FRAMES);
      copyBytes(mf.chunkBytes(f), mf.byteOffset(f), image, at, n * PAGE_SIZE);
      at += n * PAGE_SIZE;
      f += n;
      left -= n;
      sum?.upTo(at);
    }
  }
  return sum === undefined || sum.digest() === pendingPages?.checksum;
}

function unwrap<T>(r: E.Either<{ readonly message: string }, T>): T {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}
