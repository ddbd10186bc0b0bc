/**
 * Cross-reference checks on decoded metadata, run before anything is built:
 * every index points into its list, every page lies inside its object,
 * every frame is held exactly once and its bytes are in the page section,
 * address spaces are ordered and inside the user range, a container engine's
 * records agree with the processes and namespaces. Restore builds only
 * what passed, so building never meets a broken invariant halfway.
 */
import * as E from 'fp-ts/lib/Either.js';
import { IPCMNI, IPCMNI_SEQ_MAX, MMAP_MIN_ADDR, PAGE_SIZE, TASK_SIZE } from '../abi/constants.js';
import { NAME_MAX, O_ACCMODE, O_APPEND } from '../abi/fs.js';
import { DEFAULT_HUGE_PAGE_SIZES, F_ALL_SEALS, O_LARGEFILE, isHugePageSize } from '../abi/memfd.js';
import { MAX_FRAMES, isChunkSize } from '../mm/memory_file.js';
import { KEPT_OPEN_FLAGS } from '../vfs/files.js';
import type { CheckpointError } from './errors.js';
import { checkMeaning } from './meaning.js';
import { checkEngine } from './parts/engine.js';
import { checkSysv } from './parts/sysv.js';
import { checkWaitingCalls } from './parts/waiting.js';
import { CheckpointFailure, check } from './errors.js';
import type { PageRun } from './format.js';
import type { ChargeRefMeta, InodeMetaT, Metadata, PageRunMeta, SegmentMetaT } from './metadata.js';

type ProcessMetaT = Metadata['processes'][number];
type VmaMetaT = ProcessMetaT['vmas'][number];

const HUGE_PAGE_SIZES = new Set([0, 2 ** 21, 2 ** 30]);
/** tmpfs files reach 2^63 - 1 bytes (MAX_LFS_FILESIZE): page indices below 2^51. */
const MAX_FILE_PAGES = 2 ** 51;
const INT_MAX = 0x7fffffff;
const PERMS = 0o7;

/** What the restoring kernel accepts, whatever an image asks for. */
export interface RestoreLimits {
  /**
   * The most frames an image's frameLimit may name. Restore makes every frame
   * below the limit exist (the held ones with their bytes, the rest free), so
   * this bounds the memory a restore allocates. Default DEFAULT_MAX_RESTORED_FRAMES.
   */
  readonly maxFrames?: number;
  /** The most RAM an image's kernel may have. Default: as much as a MemoryFile can number. */
  readonly maxMemTotalBytes?: number;
}

/** 2^18 frames: 1 GiB of frame memory. */
export const DEFAULT_MAX_RESTORED_FRAMES = 2 ** 18;

/**
 * Checks `meta` against itself, against the page section's runs and against
 * the restoring kernel's limits. `live` is for checkInvariants, which
 * describes a running kernel: there a sleeping call may exceed a sysctl
 * lowered after it went to sleep (Linux does not wake it), which an image
 * may not hold (checkpoint refuses it).
 */
export function validate(meta: Metadata, runs: readonly PageRun[], limits: RestoreLimits = {}, live = false): E.Either<CheckpointError, void> {
  try {
    checkAll(meta, runs, limits, live);
    return E.right(undefined);
  } catch (e) {
    if (e instanceof CheckpointFailure) return E.left(e.error);
    throw e;
  }
}

function checkAll(meta: Metadata, runs: readonly PageRun[], limits: RestoreLimits, live: boolean): void {
  const frames = checkKernel(meta, limits);
  const pids = checkPids(meta);
  checkLockedMemory(meta);
  const segmentIds = checkIpc(meta, pids, frames);
  checkAnonymous(meta, frames);
  const kinds = checkTmpfs(meta, frames);
  checkMounts(meta, kinds);
  checkMountNamespaces(meta, kinds);
  checkOpenFiles(meta, kinds);
  meta.processes.forEach((p, i) => checkProcess(meta, p, `metadata.processes[${i}]`, segmentIds, kinds));
  if (meta.engine !== undefined) checkEngine(meta, meta.engine);
  checkPageSection(meta, runs, frames);
  checkSysv(meta);
  checkWaitingCalls(meta, !live);
  checkMeaning(meta);
}

/** Each tmpfs's inodes by number, with their kind. */
type InodeKinds = readonly ReadonlyMap<number, 'dir' | 'file'>[];

/** The kernel's settings, within the restoring kernel's limits; gives the frame owners the objects' checks fill. */
function checkKernel(meta: Metadata, limits: RestoreLimits): FrameOwners {
  const k = meta.kernel;
  check(isChunkSize(k.chunkBytes), 'metadata.kernel.chunkBytes', `${k.chunkBytes} is not a power of two between 4 KiB and 1 GiB`);
  const totalFrames = Math.floor(k.memTotalBytes / PAGE_SIZE);
  check(totalFrames <= MAX_FRAMES, 'metadata.kernel.memTotalBytes', `${k.memTotalBytes} bytes is more RAM than a MemoryFile can number`);
  const maxMem = limits.maxMemTotalBytes ?? MAX_FRAMES * PAGE_SIZE;
  check(k.memTotalBytes <= maxMem, 'metadata.kernel.memTotalBytes', `${k.memTotalBytes} bytes is more RAM than this restore accepts (${maxMem})`);
  check(k.frameLimit <= totalFrames, 'metadata.kernel.frameLimit', `${k.frameLimit} frames do not fit in ${totalFrames}`);
  const maxFrames = limits.maxFrames ?? DEFAULT_MAX_RESTORED_FRAMES;
  // Before anything as large as the frame limit is made, here or in the MemoryFile.
  check(
    k.frameLimit <= maxFrames,
    'metadata.kernel.frameLimit',
    `${k.frameLimit} frames are more than this restore makes (${maxFrames}; see RestoreOptions.maxFrames)`,
  );
  k.hugePageSizes?.forEach((h, i) => check(isHugePageSize(h), `metadata.kernel.hugePageSizes[${i}]`, `${h} is not a power of two above 4 KiB`));
  return new FrameOwners(k.frameLimit);
}

/** A charge names the root cgroup or one of the image's. */
function checkCharge(meta: Metadata, c: ChargeRefMeta, where: string): void {
  check(c === 'root' || c < meta.cgroups.length, where, `names cgroup ${c}, but there are ${meta.cgroups.length}`);
}

function checkPids(meta: Metadata): ReadonlySet<number> {
  const pids = new Set<number>();
  meta.processes.forEach((p, i) => {
    check(!pids.has(p.pid), `metadata.processes[${i}].pid`, `pid ${p.pid} appears twice`);
    pids.add(p.pid);
  });
  return pids;
}

function checkLockedMemory(meta: Metadata): void {
  const uids = new Set<number>();
  meta.lockedMemory.forEach(([uid], i) => {
    check(!uids.has(uid), `metadata.lockedMemory[${i}]`, `uid ${uid} appears twice`);
    uids.add(uid);
  });
}

/** IPC namespaces and their segments; gives each namespace's segment ids. */
function checkIpc(meta: Metadata, pids: ReadonlySet<number>, frames: FrameOwners): ReadonlySet<number>[] {
  check(meta.ipcNamespaces.length >= 1, 'metadata.ipcNamespaces', 'the initial namespace is missing');
  const nsIds = new Set<number>();
  return meta.ipcNamespaces.map((ns, n) => {
    const at = `metadata.ipcNamespaces[${n}]`;
    check(
      n === 0 ? ns.immortal && ns.nsId === 0 && !ns.dead : !ns.immortal,
      at,
      n === 0 ? 'is not the initial namespace' : 'claims to be the initial namespace',
    );
    check(!nsIds.has(ns.nsId), `${at}.nsId`, `namespace ${ns.nsId} appears twice`);
    check(n === 0 || ns.nsId < meta.kernel.nextNsId, `${at}.nsId`, `${ns.nsId} is not below the kernel's next namespace number ${meta.kernel.nextNsId}`);
    nsIds.add(ns.nsId);
    check(ns.limits.shmmni <= IPCMNI, `${at}.limits.shmmni`, `${ns.limits.shmmni} is above ${IPCMNI}`);
    check(ns.limits.shmNextId >= -1 && ns.limits.shmNextId <= INT_MAX, `${at}.limits.shmNextId`, `${ns.limits.shmNextId} is outside -1..${INT_MAX}`);
    const a = ns.allocator;
    check(a.cursor <= IPCMNI && a.lastIndex >= -1 && a.lastIndex < IPCMNI && a.seq < IPCMNI_SEQ_MAX, `${at}.allocator`, 'is outside the id space');
    return checkSegments(ns.segments, at, pids, frames);
  });
}

function checkSegments(segments: readonly SegmentMetaT[], at: string, pids: ReadonlySet<number>, frames: FrameOwners): ReadonlySet<number> {
  const indexes = new Set<number>();
  const keys = new Set<number>();
  const ids = new Set<number>();
  segments.forEach((s, j) => {
    const sat = `${at}.segments[${j}]`;
    check(s.id <= INT_MAX, `${sat}.id`, `${s.id} is not an id`);
    const index = s.id % IPCMNI;
    check(!indexes.has(index), `${sat}.id`, `index ${index} is taken twice`);
    indexes.add(index);
    ids.add(s.id);
    check(s.key >= -(2 ** 31) && s.key < 2 ** 31, `${sat}.key`, `${s.key} is not a key_t`);
    check(s.key === 0 || !keys.has(s.key), `${sat}.key`, `key ${s.key} belongs to two segments`);
    keys.add(s.key);
    check(s.mode < 2 ** 31, `${sat}.mode`, `${s.mode} is not a mode`);
    check(s.segsz >= 1n, `${sat}.segsz`, 'is 0');
    check(s.mapBytes % BigInt(PAGE_SIZE) === 0n && s.mapBytes >= s.segsz, `${sat}.mapBytes`, `${s.mapBytes} is not a page-aligned size covering segsz`);
    check(HUGE_PAGE_SIZES.has(s.hugePageBytes), `${sat}.hugePageBytes`, `${s.hugePageBytes} is not a huge page size`);
    check(s.hugePageBytes === 0 || s.pages.length === 0, `${sat}.pages`, 'a SHM_HUGETLB segment holds no pages');
    check(s.refs >= 1, `${sat}.refs`, 'a segment in the table holds at least one reference');
    check(s.creator === null || pids.has(s.creator), `${sat}.creator`, `pid ${s.creator} is not a process of the image`);
    pageRuns(s.pages, Number(s.mapBytes / BigInt(PAGE_SIZE)), `${sat}.pages`, frames);
  });
  return ids;
}

function checkAnonymous(meta: Metadata, frames: FrameOwners): void {
  // Frames private objects share copy-on-write: each is held once in `frames`, for the first object naming it.
  const shared = new Set<number>();
  meta.anonymous.forEach((a, i) => {
    const at = `metadata.anonymous[${i}]`;
    // Anonymous memory fits the address space; a private file mapping's range ends at a file offset below 2^64.
    const limit = a.file === undefined ? TASK_SIZE : 2 ** 64;
    check(a.bytes > 0 && a.bytes % PAGE_SIZE === 0 && a.bytes <= limit, `${at}.bytes`, `${a.bytes} is not a page-aligned size`);
    check(a.refs >= 1, `${at}.refs`, 'mapped memory holds at least one reference');
    if (a.file !== undefined) check(a.file < meta.openFiles.length, `${at}.file`, `names open file ${a.file}, but there are ${meta.openFiles.length}`);
    pageRuns(a.pages, a.bytes / PAGE_SIZE, `${at}.pages`, frames, shared);
    (a.charges ?? []).forEach(([, , c], j) => checkCharge(meta, c, `${at}.charges[${j}]`));
  });
}

/** Each tmpfs and its inodes; gives every tmpfs's inode kinds. */
function checkTmpfs(meta: Metadata, frames: FrameOwners): InodeKinds {
  check(meta.tmpfs.length >= 1, 'metadata.tmpfs', 'the root filesystem is missing');
  const devices = new Set<number>();
  return meta.tmpfs.map((sb, i) => {
    const at = `metadata.tmpfs[${i}]`;
    check(!devices.has(sb.deviceId), `${at}.deviceId`, `device ${sb.deviceId} appears twice`);
    devices.add(sb.deviceId);
    const inodes = new Map<number, 'dir' | 'file'>();
    check(sb.inodes[0]?.kind === 'dir', `${at}.inodes[0]`, 'the root directory is missing');
    sb.inodes.forEach((n, j) => {
      check(!inodes.has(n.ino), `${at}.inodes[${j}].ino`, `inode ${n.ino} appears twice`);
      check(n.ino < sb.nextIno, `${at}.inodes[${j}].ino`, `${n.ino} is not below the next inode number ${sb.nextIno}`);
      inodes.set(n.ino, n.kind);
    });
    const rootIno = sb.inodes[0]?.ino;
    sb.inodes.forEach((n, j) => {
      if (n.kind === 'dir') checkDirectory(n, `${at}.inodes[${j}]`, inodes, rootIno);
      else checkFile(meta, n, `${at}.inodes[${j}]`, frames);
    });
    return inodes;
  });
}

function checkDirectory(n: InodeMetaT, nat: string, inodes: ReadonlyMap<number, 'dir' | 'file'>, rootIno: number | undefined): void {
  check(n.pages.length === 0 && n.size === 0, nat, 'a directory holds no pages');
  check(n.seals === undefined, `${nat}.seals`, 'a directory has no seals');
  check(n.hugePageSize === undefined, `${nat}.hugePageSize`, 'a directory has no huge page size');
  check(n.fallocated === undefined, `${nat}.fallocated`, 'a directory has no fallocated pages');
  const names = new Set<string>();
  n.entries.forEach(([name, ino], e) => {
    const eat = `${nat}.entries[${e}]`;
    check(
      name.length > 0 && name.length <= NAME_MAX && !name.includes('/') && name !== '.' && name !== '..',
      eat,
      `${JSON.stringify(name)} is not a file name`,
    );
    check(!names.has(name), eat, `${JSON.stringify(name)} appears twice`);
    names.add(name);
    check(inodes.has(ino) && ino !== rootIno, eat, `inode ${ino} is not a non-root inode of this tmpfs`);
  });
}

/**
 * A hugetlbfs file: its huge page size is one the kernel has, its size a
 * whole number of them, and it holds no page (the pools are empty).
 */
function checkHugetlbFile(meta: Metadata, n: InodeMetaT, nat: string): void {
  const h = n.hugePageSize as number;
  const sizes = meta.kernel.hugePageSizes ?? DEFAULT_HUGE_PAGE_SIZES;
  check(sizes.includes(h), `${nat}.hugePageSize`, `${h} is not one of the kernel's huge page sizes (${sizes.join(', ')})`);
  check(h === 0 || BigInt(n.size) % BigInt(h) === 0n, `${nat}.size`, `${n.size} is not a multiple of the huge page size ${h}`);
  check(n.pages.length === 0, `${nat}.pages`, 'a hugetlbfs file holds no pages: the huge page pools are empty');
  check(n.links === 0, `${nat}.hugePageSize`, `inode ${n.ino} is a hugetlbfs memfd, but a directory entry names it`);
}

function checkFile(meta: Metadata, n: InodeMetaT, nat: string, frames: FrameOwners): void {
  check(n.entries.length === 0, nat, 'a regular file has no entries');
  check(n.seals === undefined || (n.seals & ~F_ALL_SEALS) === 0, `${nat}.seals`, `${n.seals} has bits that name no seal`);
  if (n.hugePageSize !== undefined) checkHugetlbFile(meta, n, nat);
  const runs3: PageRunMeta[] = [];
  n.pages.forEach(([page, frame, count, charge], r) => {
    checkCharge(meta, charge, `${nat}.pages[${r}]`);
    runs3.push([page, frame, count]);
  });
  pageRuns(runs3, MAX_FILE_PAGES, `${nat}.pages`, frames);
  if (n.fallocated !== undefined) checkFallocated(n, `${nat}.fallocated`);
}

/**
 * A file's fallocated runs: not empty, each of at least one page, in page
 * order without overlap, and every page one of the file's page runs holds.
 */
function checkFallocated(n: InodeMetaT, at: string): void {
  const runs = n.fallocated ?? [];
  check(runs.length > 0, at, 'is written only when the file has fallocated pages');
  // The page run holding `page`, if any; a fallocated run may span several page runs.
  const runAt = (page: number) => n.pages.find(([first, , count]) => page >= first && page < first + count);
  let next = 0;
  runs.forEach(([page, count], r) => {
    const rat = `${at}[${r}]`;
    check(count >= 1, rat, 'a run holds at least one page');
    check(page >= next, rat, `page ${page} is not after the previous run`);
    for (let p = page; p < page + count; ) {
      const held = runAt(p);
      check(held !== undefined, rat, `page ${p} is not one the file holds`);
      p = (held as (typeof n.pages)[number])[0] + (held as (typeof n.pages)[number])[2];
    }
    next = page + count;
  });
}

function checkMounts(meta: Metadata, kinds: InodeKinds): void {
  meta.mounts.forEach((m, i) => {
    const at = `metadata.mounts[${i}]`;
    check(m.tmpfs < meta.tmpfs.length, `${at}.tmpfs`, `names tmpfs ${m.tmpfs}, but there are ${meta.tmpfs.length}`);
    check(kinds[m.tmpfs]?.get(m.rootIno) === 'dir', `${at}.rootIno`, `inode ${m.rootIno} is not a directory of tmpfs ${m.tmpfs}`);
    check(m.refs >= 1, `${at}.refs`, 'a mount in use holds at least one reference');
  });
}

/** The kind of inode `ino` in the tmpfs of mount `mount`, if both exist. */
function kindInMount(meta: Metadata, kinds: InodeKinds, mount: number, ino: number): 'dir' | 'file' | undefined {
  return kinds[meta.mounts[mount]?.tmpfs ?? -1]?.get(ino);
}

function checkMountNamespaces(meta: Metadata, kinds: InodeKinds): void {
  check(meta.mountNamespaces.length >= 1, 'metadata.mountNamespaces', 'the initial namespace is missing');
  meta.mountNamespaces.forEach((ns, i) => {
    const at = `metadata.mountNamespaces[${i}]`;
    check(ns.table.length >= 1, `${at}.table`, 'a namespace in use has a root mount');
    ns.table.forEach(([mountpoint, mount, parent, covers], r) => {
      const rat = `${at}.table[${r}]`;
      check(mount < meta.mounts.length, rat, `names mount ${mount}, but there are ${meta.mounts.length}`);
      check(mountpoint.startsWith('/'), rat, `mount point ${JSON.stringify(mountpoint)} is not absolute`);
      if (r === 0) {
        check(parent === null && covers === null, rat, 'the root mount has no parent');
      } else {
        check(
          parent !== null && parent < meta.mounts.length && covers !== null && kindInMount(meta, kinds, parent, covers) === 'dir',
          rat,
          'does not cover a directory of a mount',
        );
      }
    });
  });
}

function checkOpenFiles(meta: Metadata, kinds: InodeKinds): void {
  meta.openFiles.forEach((f, i) => {
    const at = `metadata.openFiles[${i}]`;
    check(f.mount < meta.mounts.length, `${at}.mount`, `names mount ${f.mount}, but there are ${meta.mounts.length}`);
    check(kindInMount(meta, kinds, f.mount, f.ino) !== undefined, `${at}.ino`, `inode ${f.ino} is not in the mount's tmpfs`);
    check(f.refs >= 1, `${at}.refs`, 'an open description holds at least one reference');
    const extra = f.statusFlags ?? 0;
    check(
      (extra & ~KEPT_OPEN_FLAGS) === 0 && (extra & (O_ACCMODE | O_APPEND | O_LARGEFILE)) === 0,
      `${at}.statusFlags`,
      `0${extra.toString(8)} has bits that are no status flag an open keeps, or that readable, writable and append already say`,
    );
  });
}

function checkProcess(meta: Metadata, p: ProcessMetaT, at: string, segmentIds: readonly ReadonlySet<number>[], kinds: InodeKinds): void {
  const ns = meta.ipcNamespaces[p.ipcNamespace];
  check(ns !== undefined && !ns.dead, `${at}.ipcNamespace`, `${p.ipcNamespace} is not a live IPC namespace of the image`);
  check(p.mountNamespace < meta.mountNamespaces.length, `${at}.mountNamespace`, `${p.mountNamespace} is not a mount namespace of the image`);
  checkCharge(meta, p.charge, `${at}.charge`);
  check(p.fds.length <= p.fdLimit, `${at}.fds`, `${p.fds.length} descriptors pass the limit ${p.fdLimit}`);
  if (p.fsize !== undefined) check(p.fsize.soft <= p.fsize.hard, `${at}.fsize.soft`, `${p.fsize.soft} is above the hard limit ${p.fsize.hard}`);
  const fds = new Set<number>();
  p.fds.forEach(([fd, file], j) => {
    check(fd < p.fdLimit && !fds.has(fd), `${at}.fds[${j}]`, `descriptor ${fd} is out of range or appears twice`);
    fds.add(fd);
    check(file < meta.openFiles.length, `${at}.fds[${j}]`, `names open file ${file}, but there are ${meta.openFiles.length}`);
  });
  const cloexec = new Set<number>();
  (p.cloexec ?? []).forEach((fd, j) => {
    check(fds.has(fd) && !cloexec.has(fd), `${at}.cloexec[${j}]`, `descriptor ${fd} is not open or appears twice`);
    cloexec.add(fd);
  });
  check(
    p.mmapBase % PAGE_SIZE === 0 && p.mmapBase > MMAP_MIN_ADDR && p.mmapBase <= TASK_SIZE,
    `${at}.mmapBase`,
    `${p.mmapBase} is not a page-aligned address in the user range`,
  );
  let floor = 0;
  p.vmas.forEach((v, j) => {
    const vat = `${at}.vmas[${j}]`;
    check(v.start % PAGE_SIZE === 0 && v.end % PAGE_SIZE === 0 && v.offset % PAGE_SIZE === 0, vat, 'is not page aligned');
    check(v.start >= floor && v.start < v.end && v.end <= TASK_SIZE, vat, 'overlaps the one before it, is empty, or leaves the user range');
    check((v.perms & ~PERMS) === 0 && (v.maxPerms & ~PERMS) === 0, vat, 'has protection bits other than rwx');
    floor = v.end;
    checkMapped(meta, v.object, `${vat}.object`, segmentIds, kinds);
  });
}

/** What a VMA maps exists in the image: a segment, anonymous memory, or a regular file's open description. */
function checkMapped(meta: Metadata, o: VmaMetaT['object'], at: string, segmentIds: readonly ReadonlySet<number>[], kinds: InodeKinds): void {
  if (o.kind === 'shm') check(segmentIds[o.ns]?.has(o.id) === true, at, `segment ${o.id} is not in IPC namespace ${o.ns}`);
  else if (o.kind === 'anon') check(o.anon < meta.anonymous.length, at, `names anonymous memory ${o.anon}, but there are ${meta.anonymous.length}`);
  else {
    const f = meta.openFiles[o.file];
    check(f !== undefined && kindInMount(meta, kinds, f.mount, f.ino) === 'file', at, `open file ${o.file} is not a regular file of the image`);
  }
}

/** The page section holds exactly the frames the objects hold. */
function checkPageSection(meta: Metadata, runs: readonly PageRun[], frames: FrameOwners): void {
  const limit = meta.kernel.frameLimit;
  let present = 0;
  runs.forEach((r, i) => {
    check(r.firstFrame + r.count <= limit, `pages.run[${i}]`, `frames ${r.firstFrame}..${r.firstFrame + r.count - 1} pass the frame limit ${limit}`);
    // Per frame, so the message is built only on failure.
    for (let f = r.firstFrame; f < r.firstFrame + r.count; f += 1) {
      if (!frames.held(f)) check(false, `pages.run[${i}]`, `frame ${f} has data but no owner in the metadata`);
    }
    present += r.count;
  });
  check(present === frames.count, 'pages', `${frames.count - present} frames held by objects have no data`);
}

/** Which frames objects hold; each may be held once. */
class FrameOwners {
  private readonly owner: Uint8Array;
  count = 0;

  constructor(readonly limit: number) {
    this.owner = new Uint8Array(limit);
  }

  /** Called once per frame of the image, so the messages are built only on failure. */
  hold(frame: number, where: string): void {
    if (frame >= this.limit) check(false, where, `frame ${frame} is past the frame limit ${this.limit}`);
    if (this.owner[frame] !== 0) check(false, where, `frame ${frame} is held twice`);
    this.owner[frame] = 1;
    this.count += 1;
  }

  held(frame: number): boolean {
    return this.owner[frame] === 1;
  }
}

/**
 * Page runs of one object: ascending, disjoint, inside `pages`, on frames
 * held by nobody else, or with `shared` (private memory) by nobody but
 * other private objects: `shared` collects the frames they named.
 */
function pageRuns(runs: readonly PageRunMeta[], pages: number, where: string, frames: FrameOwners, shared?: Set<number>): void {
  let next = 0;
  const mine = shared === undefined ? undefined : new Set<number>();
  runs.forEach(([page, frame, count], i) => {
    const at = `${where}[${i}]`;
    check(count >= 1 && page >= next && page + count <= pages, at, `pages ${page}..${page + count - 1} are not ascending inside the object's ${pages} pages`);
    check(frame + count <= frames.limit, at, `frames ${frame}..${frame + count - 1} pass the frame limit ${frames.limit}`);
    for (let j = 0; j < count; j += 1) {
      const f = frame + j;
      if (shared === undefined || mine === undefined) {
        frames.hold(f, at);
        continue;
      }
      // One object names a frame once; another private object may name it again (copy-on-write).
      check(!mine.has(f), at, `frame ${f} is held twice`);
      mine.add(f);
      if (!shared.has(f)) {
        frames.hold(f, at);
        shared.add(f);
      }
    }
    next = page + count;
  });
}
