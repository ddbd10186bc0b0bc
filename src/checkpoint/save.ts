/**
 * checkpoint(kernel): walks a kernel and writes its image. The walk only
 * reads: no reference is taken or dropped, so a checkpoint never changes
 * what the kernel does next. (Taking a container engine along reaps its
 * exited containers first, as any command to the daemon would.)
 *
 * The walk starts at the kernel's own objects (the initial namespaces, the
 * root filesystem) and its processes, then a container engine's records,
 * and numbers every shared object the first time it meets it. Objects of a
 * kind the image cannot describe (a Mappable or a cgroup from outside
 * ipc-sentry) make the checkpoint fail with a Left naming them.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../abi/constants.js';
import type { ContainerEngine, EngineState } from '../hostchannel/engine.js';
import { MemoryCgroup } from '../memcg/cgroup.js';
import type { IpcNamespace } from '../kernel/ipc_namespace.js';
import type { Kernel } from '../kernel/kernel.js';
import { OpenFile } from '../vfs/files.js';
import type { Mount, MountNamespace } from '../vfs/mounts.js';
import { AnonymousMemory } from '../mm/anon.js';
import type { MemoryFile } from '../mm/memory_file.js';
import { Shm } from '../shm/shm.js';
import type { MemoryCharge } from '../memcg/charge.js';
import { Directory } from '../tmpfs/directory.js';
import type { Inode } from '../tmpfs/inode.js';
import { RegularFile } from '../tmpfs/regular.js';
import type { Tmpfs } from '../tmpfs/superblock.js';
import type { CheckpointError } from './errors.js';
import { CheckpointFailure, checkpointError } from './errors.js';
import { engineMeta } from './engine.js';
import { SectionHasher } from './checksum.js';
import { FORMAT_VERSION, HEADER_BYTES, PIECE_FRAMES, RUN_HEADER_BYTES, asciiJson, paddedLength, writeHeader } from './format.js';
import type { ChargeRefMeta, InodeMetaT, Metadata, PageRunMeta, SegmentMetaT } from './metadata.js';
import { MetadataCodec } from './metadata.js';
import { copyBytes } from '../mm/copy.js';

/** Numbers objects in the order they are first met. */
class Numbering<T> {
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
class RunBuilder {
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
class Walk {
  readonly cgroups = new Numbering<MemoryCgroup>();
  readonly anonymous = new Numbering<AnonymousMemory>();
  readonly tmpfs = new Numbering<Tmpfs>();
  readonly mounts = new Numbering<Mount>();
  readonly openFiles = new Numbering<OpenFile>();
  /** Every frame some object holds, to copy into the page section. */
  readonly frames: Uint8Array;

  constructor(
    readonly kernel: Kernel,
    mf: MemoryFile,
  ) {
    this.frames = new Uint8Array(mf.frameLimit);
  }

  hold(frame: number, owner: string): void {
    if (this.frames[frame] !== 0) throw new Error(`checkpoint: frame ${frame} is held twice (again by ${owner})`);
    this.frames[frame] = 1;
  }

  charge(c: MemoryCharge, where: string): ChargeRefMeta {
    if (c === this.kernel.rootMemoryCgroup) return 'root';
    if (c instanceof MemoryCgroup) return this.cgroups.of(c);
    throw new CheckpointFailure(checkpointError(where, 'is charged to a memory cgroup the image cannot describe'));
  }
}

/** What a checkpoint takes along with the kernel. */
export interface CheckpointOptions {
  /**
   * A container engine bound to the kernel: its daemon and containers go
   * into the image too. Taking them is one of the daemon's looks, so it
   * reaps first, as each of its commands does.
   */
  readonly engine?: ContainerEngine;
}

/**
 * An image of `kernel` (and of `options.engine`): a header, the metadata and
 * the page data. A Left names an object of a kind the image cannot hold.
 */
export function checkpoint(kernel: Kernel, options: CheckpointOptions = {}): E.Either<CheckpointError, Uint8Array> {
  const engine = options.engine;
  if (engine !== undefined && engine.kernel !== kernel) return E.left(checkpointError('engine', 'runs on another kernel'));
  try {
    // The engine reaps before anything of the kernel is read.
    return E.right(write(kernel, engine?.checkpointState()));
  } catch (e) {
    if (e instanceof CheckpointFailure) return E.left(e.error);
    throw e;
  }
}

function write(kernel: Kernel, engine: EngineState | undefined): Uint8Array {
  const mf = kernel.memoryFile;
  const walk = new Walk(kernel, mf);
  const ipcNamespaces = kernel.ipcNamespaces();
  const nsIndex = new Map<IpcNamespace, number>(ipcNamespaces.map((ns, i) => [ns, i]));
  const segmentPlace = new Map<Shm, { ns: number; id: number }>();
  const processes = kernel.processes();
  const pidOfCreator = new Map<object, number>(processes.map((p) => [p.creatorToken, p.pid]));

  const ipcMeta = ipcNamespaces.map((ns, i) => {
    const segments = ns.shm.segmentsForCheckpoint().map((s): SegmentMetaT => {
      segmentPlace.set(s, { ns: i, id: s.id });
      const pages = new RunBuilder();
      s.forEachPage((page, frame) => {
        walk.hold(frame, `segment ${s.id}`);
        pages.add(page, frame);
      });
      const counts = s.checkpointCounts();
      const creator = s.creator === undefined ? null : pidOfCreator.get(s.creator);
      if (creator === undefined) throw new Error(`checkpoint: segment ${s.id}'s creator is not a live process`);
      return {
        id: s.perm.id,
        key: s.perm.key,
        uid: s.perm.uid,
        gid: s.perm.gid,
        cuid: s.perm.cuid,
        cgid: s.perm.cgid,
        mode: s.perm.mode,
        segsz: s.segsz,
        mapBytes: BigInt(s.effectiveBytes()),
        hugePageBytes: s.hugePageBytes,
        cpid: s.cpid,
        creator,
        atime: s.atime,
        dtime: s.dtime,
        ctime: s.ctime,
        lpid: s.lpid,
        nattch: s.nattch,
        pendingDestruction: s.pendingDestruction,
        forcedPending: counts.forcedPending,
        lockedBy: s.lockedBy ?? null,
        refs: counts.refs,
        pages: pages.done(),
      };
    });
    const l = ns.limits;
    return {
      nsId: ns.nsId,
      immortal: ns.membership.immortal,
      dead: ns.isDead,
      members: ns.membership.members,
      limits: { shmmax: l.shmmax, shmall: l.shmall, shmmni: l.shmmni, shmRmidForced: l.shmRmidForced, shmNextId: l.shmNextId },
      allocator: ns.shm.idAllocatorState(),
      segments,
    };
  });

  // The root filesystem is tmpfs 0 and the initial namespace's mounts come first.
  walk.tmpfs.of(kernel.rootfs);
  const mountNamespaces = kernel.mountNamespaces();
  const mountNsIndex = new Map<MountNamespace, number>(mountNamespaces.map((ns, i) => [ns, i]));
  const mountNsMeta = mountNamespaces.map((ns) => ({
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

  const processMeta = processes.map((p) => {
    const where = `process ${p.pid}`;
    const ipc = nsIndex.get(p.ipcNamespace);
    if (ipc === undefined) throw new Error(`checkpoint: ${where}'s IPC namespace is not known to the kernel`);
    const mnt = mountNsIndex.get(p.mountNamespace);
    if (mnt === undefined) throw new Error(`checkpoint: ${where}'s mount namespace is not known to the kernel`);
    const c = p.creds;
    const fds = p.files.entries().map(([fd, file]): [number, number] => [fd, openFileIndex(walk, file)]);
    const vmas = p.mm.vmas().map((v) => {
      let object: Metadata['processes'][number]['vmas'][number]['object'];
      if (v.mappable instanceof Shm) {
        const place = segmentPlace.get(v.mappable);
        if (place === undefined) throw new Error(`checkpoint: ${where} maps segment ${v.mappable.id}, which no namespace holds`);
        object = { kind: 'shm', ...place };
      } else if (v.mappable instanceof AnonymousMemory) {
        object = { kind: 'anon', anon: anonIndex(walk, v.mappable) };
      } else if (v.mappable instanceof RegularFile && v.identity instanceof OpenFile) {
        object = { kind: 'file', file: openFileIndex(walk, v.identity) };
      } else {
        throw new CheckpointFailure(checkpointError(`${where}: VMA at 0x${v.start.toString(16)}`, 'maps an object the image cannot describe'));
      }
      return { start: v.start, end: v.end, offset: v.offset, perms: v.perms, maxPerms: v.maxPerms, writable: v.writable, object };
    });
    return {
      pid: p.pid,
      uid: c.uid,
      gid: c.gid,
      groups: [...c.groups],
      caps: [...c.caps],
      memlock: { soft: c.memlock.soft, hard: c.memlock.hard },
      ipcNamespace: ipc,
      mountNamespace: mnt,
      charge: walk.charge(p.memoryCharge, where),
      fdLimit: p.files.limit,
      fds,
      mmapBase: p.mm.mmapBase,
      vmas,
    };
  });

  const openFileMeta = walk.openFiles.items.map((f) => ({
    mount: mountIndex(walk, f.location.mount),
    ino: f.location.inode.ino,
    path: f.location.path,
    readable: f.readable,
    writable: f.writable,
    append: f.append,
    offset: f.offset,
    refs: f.refCount,
  }));
  const mountMeta = walk.mounts.items.map((m) => ({
    mountId: m.mountId,
    tmpfs: walk.tmpfs.of(m.sb),
    rootIno: m.root.ino,
    flags: { ...m.flags },
    refs: m.refCount,
  }));
  const tmpfsMeta = walk.tmpfs.items.map((sb, i) => {
    if (sb.faultCharges !== kernel.faultCharges) {
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
  });
  const anonMeta = walk.anonymous.items.map((a) => {
    const pages = new RunBuilder();
    a.forEachPage((page, frame) => {
      walk.hold(frame, `anonymous memory ${a.mappedName()}`);
      pages.add(page, frame);
    });
    return { bytes: a.bytes, name: a.mappedName(), refs: a.refCount, pages: pages.done() };
  });
  // Numbers the cgroups only stopped containers still hold, after those of processes and pages.
  const engineSection =
    engine === undefined
      ? {}
      : {
          engine: engineMeta(engine, {
            ipcNamespace: (ns) => nsIndex.get(ns),
            mountNamespace: (ns) => mountNsIndex.get(ns),
            cgroup: (c) => walk.cgroups.of(c),
          }),
        };
  const counters = kernel.counters;
  const meta: Metadata = {
    kernel: {
      memTotalBytes: mf.totalFrames * PAGE_SIZE,
      chunkBytes: 2 ** mf.chunkShift * PAGE_SIZE,
      executeOnly: kernel.executeOnly,
      hugetlbShmGroup: kernel.environment.hugetlbShmGroup,
      nextPid: counters.nextPid ?? null,
      nextNsId: counters.nextNsId,
      frameLimit: mf.frameLimit,
      rootCgroupCharged: kernel.rootMemoryCgroup.chargedPages,
    },
    lockedMemory: kernel.lockedMemory.entries(),
    cgroups: walk.cgroups.items.map((g) => ({
      path: g.path,
      limitPages: g.limitPages ?? null,
      chargedPages: g.usagePages,
      refusals: g.failCount,
    })),
    ipcNamespaces: ipcMeta,
    anonymous: anonMeta,
    tmpfs: tmpfsMeta,
    mounts: mountMeta,
    mountNamespaces: mountNsMeta,
    openFiles: openFileMeta,
    processes: processMeta,
    ...engineSection,
  };
  return assemble(asciiJson(MetadataCodec.encode(meta)), walk.frames, mf);
}

function mountIndex(walk: Walk, m: Mount): number {
  const known = walk.mounts.has(m);
  const i = walk.mounts.of(m);
  if (!known) walk.tmpfs.of(m.sb);
  return i;
}

function openFileIndex(walk: Walk, f: OpenFile): number {
  const known = walk.openFiles.has(f);
  const i = walk.openFiles.of(f);
  if (!known) mountIndex(walk, f.location.mount);
  return i;
}

function anonIndex(walk: Walk, a: AnonymousMemory): number {
  return walk.anonymous.of(a);
}

function inodeMeta(walk: Walk, n: Inode, where: string): InodeMetaT {
  const base = { ino: n.ino, mode: n.mode, uid: n.uid, gid: n.gid, links: n.links, opens: n.openCount };
  if (n instanceof Directory) {
    const entries = n.names().map((name): [string, number] => [name, (n.lookup(name) as Inode).ino]);
    return { ...base, kind: 'dir', entries, size: 0, pages: [] };
  }
  if (n instanceof RegularFile) {
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
    return { ...base, kind: 'file', entries: [], size: n.size, pages };
  }
  throw new CheckpointFailure(checkpointError(where, 'is neither a directory nor a regular file'));
}

/** Lays out header, metadata and the held frames as runs of consecutive frames. */
function assemble(metadata: string, held: Uint8Array, mf: MemoryFile): Uint8Array {
  const runs: [number, number][] = [];
  for (let f = 0; f < held.length; ) {
    if (held[f] === 0) {
      f += 1;
      continue;
    }
    const first = f;
    while (f < held.length && held[f] !== 0) f += 1;
    runs.push([first, f - first]);
  }
  let pageBytes = 0;
  for (const [, count] of runs) pageBytes += RUN_HEADER_BYTES + count * PAGE_SIZE;
  const metaStart = HEADER_BYTES;
  const pageStart = metaStart + paddedLength(metadata.length);
  const image = new Uint8Array(pageStart + pageBytes);
  for (let i = 0; i < metadata.length; i += 1) image[metaStart + i] = metadata.charCodeAt(i);
  image.fill(0x20, metaStart + metadata.length, pageStart);
  const view = new DataView(image.buffer);
  // The page section is hashed piece by piece right after each copy, while
  // the piece is still in cache, instead of in a second pass over memory.
  const sum = new SectionHasher(image, pageStart, pageStart + pageBytes, FORMAT_VERSION);
  let at = pageStart;
  for (const [first, count] of runs) {
    view.setUint32(at, first, true);
    view.setUint32(at + 4, count, true);
    at += RUN_HEADER_BYTES;
    // A run of frames may cross from one MemoryFile chunk to the next.
    for (let f = first, left = count; left > 0; ) {
      const n = Math.min(mf.contiguousInChunk(f, left), PIECE_FRAMES);
      const from = mf.byteOffset(f);
      copyBytes(image, at, mf.chunkBytes(f), from, n * PAGE_SIZE);
      at += n * PAGE_SIZE;
      f += n;
      left -= n;
      sum.upTo(at);
    }
  }
  writeHeader(image, metadata.length, runs.length, pageBytes, sum.digest());
  return image;
}
