/**
 * The tasks part of an image: processes in the kernel's order, each with
 * its credentials, namespaces (by index), memory cgroup, descriptor table
 * and address space, and the anonymous memory its VMAs map. A VMA names
 * what it maps by the image's index for it: a segment by namespace and id
 * (the IPC part), an open file description (the file system part), or an
 * anonymous memory object of this part.
 */
import { PAGE_SIZE, RLIM_INFINITY } from '../../abi/constants.js';
import type { RLimit } from '../../auth/credentials.js';
import { makeCredentials } from '../../auth/credentials.js';
import type { IpcNamespace } from '../../kernel/ipc_namespace.js';
import type { Kernel } from '../../kernel/kernel.js';
import { Process } from '../../kernel/process.js';
import type { MemoryCharge } from '../../memcg/charge.js';
import { AnonymousMemory } from '../../mm/anon.js';
import type { GuardRuns } from '../../mm/guards.js';
import type { Mappable, MappingIdentity } from '../../mm/memmap.js';
import { MemoryManager } from '../../mm/memory_manager.js';
import type { Vma } from '../../mm/vma.js';
import { setVmaFlags } from '../../mm/vma.js';
import { Shm } from '../../shm/shm.js';
import { RegularFile } from '../../tmpfs/regular.js';
import { FdTable, OpenFile } from '../../vfs/files.js';
import type { MountNamespace } from '../../vfs/mounts.js';
import { CheckpointFailure, checkpointError } from '../errors.js';
import type { ChargeRefMeta, Metadata } from '../metadata.js';
import type { Walk } from '../walk.js';
import type { RestoredFilesystems, SavedMountNamespaces } from './fs.js';
import { openFileIndex } from './fs.js';
import type { RestoredIpc, SavedIpc } from './ipc.js';
import type { SavedUndoLists } from './sysv.js';

type ProcessMetaT = Metadata['processes'][number];
type VmaMetaT = ProcessMetaT['vmas'][number];

/** Every process of the kernel; numbers the open files, anonymous memory and cgroups they hold. */
export function saveProcesses(walk: Walk, ipc: SavedIpc, mountNamespaces: SavedMountNamespaces, undo: SavedUndoLists): ProcessMetaT[] {
  return walk.kernel.processes().map((p) => {
    const where = `process ${p.pid}`;
    const ipcIndex = ipc.namespaceIndex.get(p.ipcNamespace);
    if (ipcIndex === undefined) throw new Error(`checkpoint: ${where}'s IPC namespace is not known to the kernel`);
    const mnt = mountNamespaces.index.get(p.mountNamespace);
    if (mnt === undefined) throw new Error(`checkpoint: ${where}'s mount namespace is not known to the kernel`);
    const c = p.creds;
    const fds = p.files.entries().map(([fd, file]): [number, number] => [fd, openFileIndex(walk, file)]);
    const cloexec = p.files.closeOnExecFds();
    const vmas = p.mm.vmas().map((v) => vmaMeta(walk, v, ipc, where));
    const semUndo = undo.indexOf(p);
    return {
      pid: p.pid,
      uid: c.uid,
      gid: c.gid,
      groups: [...c.groups],
      caps: [...c.caps],
      memlock: { soft: c.memlock.soft, hard: c.memlock.hard },
      ipcNamespace: ipcIndex,
      mountNamespace: mnt,
      charge: walk.charge(p.memoryCharge, where),
      fdLimit: p.files.limit,
      fds,
      mmapBase: p.mm.mmapBase,
      vmas,
      ...(semUndo === undefined ? {} : { semUndo }),
      ...(cloexec.length === 0 ? {} : { cloexec }),
      ...(p.umaskValue === 0 ? {} : { umask: p.umaskValue }),
      ...(fsizeUnlimited(p.fsizeRlimit) ? {} : { fsize: { soft: p.fsizeRlimit.soft, hard: p.fsizeRlimit.hard } }),
    };
  });
}

/** Whether RLIMIT_FSIZE is the default, which the image leaves out. */
function fsizeUnlimited(l: RLimit): boolean {
  return l.soft === RLIM_INFINITY && l.hard === RLIM_INFINITY;
}

function vmaMeta(walk: Walk, v: Vma, ipc: SavedIpc, where: string): VmaMetaT {
  let object: VmaMetaT['object'];
  if (v.mappable instanceof Shm) {
    const place = ipc.segmentPlace.get(v.mappable);
    if (place === undefined) throw new Error(`checkpoint: ${where} maps segment ${v.mappable.id}, which no namespace holds`);
    object = { kind: 'shm', ...place };
  } else if (v.mappable instanceof AnonymousMemory) {
    const backing = v.mappable.backing?.identity;
    if (backing !== undefined && !(backing instanceof OpenFile)) {
      throw new CheckpointFailure(checkpointError(`${where}: VMA at 0x${v.start.toString(16)}`, 'privately maps an object the image cannot describe'));
    }
    // The file is numbered now: the open files are saved before the anonymous memory.
    if (backing !== undefined) openFileIndex(walk, backing);
    object = { kind: 'anon', anon: walk.anonymous.of(v.mappable) };
  } else if (v.mappable instanceof RegularFile && v.identity instanceof OpenFile) {
    object = { kind: 'file', file: openFileIndex(walk, v.identity) };
  } else {
    throw new CheckpointFailure(checkpointError(`${where}: VMA at 0x${v.start.toString(16)}`, 'maps an object the image cannot describe'));
  }
  return {
    start: v.start,
    end: v.end,
    offset: v.offset,
    perms: v.perms,
    maxPerms: v.maxPerms,
    writable: v.writable,
    object,
    // The image holds a flag only when it is set (metadata.ts: each is `true` or absent).
    ...setVmaFlags(v),
    ...(v.guards === undefined ? {} : { guards: guardsMeta(v.start, v.guards) }),
  };
}

/** A VMA's guard runs as the image holds them: [first page counted from `start`, pages]. */
function guardsMeta(start: number, runs: GuardRuns): Array<[number, number]> {
  const base = start / PAGE_SIZE;
  const out: Array<[number, number]> = [];
  for (let i = 0; i < runs.length; i += 2) out.push([runs[i]! - base, runs[i + 1]! - runs[i]!]);
  return out;
}

/** The image's guard runs of a VMA at `start` as the VMA holds them (meaning.ts checked them). */
function restoreGuards(start: number, runs: ReadonlyArray<readonly [number, number]> | undefined): GuardRuns | undefined {
  if (runs === undefined) return undefined;
  const base = start / PAGE_SIZE;
  const out: number[] = [];
  for (const [first, pages] of runs) out.push(base + first, base + first + pages);
  return out;
}

/** The anonymous memory the processes map, with its page runs. */
export function saveAnonymous(walk: Walk): Metadata['anonymous'] {
  return walk.anonymous.items.map((a) => {
    const pages = walk.pageRuns(`anonymous memory ${a.mappedName()}`, (fn) => a.forEachPage(fn), true);
    const backing = a.backing?.identity;
    const file = backing instanceof OpenFile ? { file: openFileIndex(walk, backing) } : {};
    const noReserve = a.noReserve ? { noReserve: true as const } : {};
    const droppable = a.droppable ? { droppable: true as const } : {};
    return { bytes: a.bytes, name: a.ownName, refs: a.refCount, pages, ...file, charges: anonCharges(walk, a), ...noReserve, ...droppable };
  });
}

/** The charge runs of private memory's pages: [first page, count, charge], a run breaking where pages skip or the charge changes. */
function anonCharges(walk: Walk, a: AnonymousMemory): [number, number, ChargeRefMeta][] {
  const runs: [number, number, ChargeRefMeta][] = [];
  let last: [number, number, ChargeRefMeta] | undefined;
  a.forEachPage((page, _frame, charge) => {
    if (charge === undefined) return;
    const c = walk.charge(charge as MemoryCharge, `anonymous memory ${a.mappedName()} page ${page}`);
    if (last !== undefined && last[2] === c && last[0] + last[1] === page) last[1] += 1;
    else runs.push((last = [page, 1, c]));
  });
  return runs;
}

/** What the processes of a restored kernel refer to. */
export interface TaskRefs {
  readonly kernel: Kernel;
  readonly charge: (c: ChargeRefMeta) => MemoryCharge;
  readonly ipc: RestoredIpc;
  readonly fs: RestoredFilesystems;
}

/** The restored processes by pid, with each one's creator token (what a segment records of its creator). */
export interface RestoredTasks {
  readonly processes: ReadonlyMap<number, Process>;
  readonly tokens: ReadonlyMap<number, object>;
}

/** Rebuilds the anonymous memory, then the processes in the kernel's order. */
export function restoreTasks(meta: Metadata, refs: TaskRefs): RestoredTasks {
  // A frame named by several objects (copy-on-write after fork) gets one reference per object.
  const seen = new Set<number>();
  const anonymous = meta.anonymous.map((a) => restoreAnonymous(refs, a, seen));
  const tokens = new Map<number, object>();
  const processes = new Map<number, Process>();
  for (const p of meta.processes) {
    const proc = restoreProcess(p, refs, anonymous);
    refs.kernel.adoptRestored(proc);
    tokens.set(p.pid, proc.creatorToken);
    processes.set(p.pid, proc);
  }
  return { processes, tokens };
}

function restoreAnonymous(refs: TaskRefs, a: Metadata['anonymous'][number], seen: Set<number>): AnonymousMemory {
  const mf = refs.kernel.memoryFile;
  const file = a.file === undefined ? undefined : (refs.fs.openFiles[a.file] as OpenFile);
  const backing = file === undefined ? undefined : { mappable: file.inode as RegularFile, identity: file };
  const mem = new AnonymousMemory(mf, a.bytes, a.name, backing);
  mem.noReserve = a.noReserve === true;
  mem.droppable = a.droppable === true;
  const charges = new Map<number, MemoryCharge>();
  for (const [page, count, c] of a.charges ?? []) for (let j = 0; j < count; j += 1) charges.set(page + j, refs.charge(c));
  const pages: [number, number, MemoryCharge | undefined][] = [];
  const shared = new Set<number>();
  for (const [page, frame, count] of a.pages) {
    for (let j = 0; j < count; j += 1) {
      const f = frame + j;
      pages.push([page + j, f, charges.get(page + j)]);
      if (seen.has(f)) {
        mf.incRef(f);
        shared.add(f);
      } else {
        seen.add(f);
      }
    }
  }
  mem.restoreState(a.refs, pages, shared);
  return mem;
}

function restoreProcess(p: ProcessMetaT, refs: TaskRefs, anonymous: readonly AnonymousMemory[]): Process {
  const { kernel, fs } = refs;
  const mm = new MemoryManager({ memoryFile: kernel.memoryFile, mmapBase: p.mmapBase, executeOnly: kernel.executeOnly });
  mm.restoreVmas(p.vmas.map((v) => restoreVma(v, refs, anonymous)));
  const files = new FdTable(p.fdLimit);
  for (const [fd, file] of p.fds) files.restoreEntry(fd, fs.openFiles[file] as OpenFile);
  for (const fd of p.cloexec ?? []) files.setCloseOnExec(fd, true);
  const creds = makeCredentials({ uid: p.uid, gid: p.gid, groups: p.groups, caps: p.caps, memlock: p.memlock });
  const ipc = refs.ipc.namespaces[p.ipcNamespace]?.ns as IpcNamespace;
  const mountNamespace = fs.mountNamespaces[p.mountNamespace]?.ns as MountNamespace;
  const proc = new Process(kernel, p.pid, creds, ipc, mm, { mountNamespace, files, memoryCharge: refs.charge(p.charge) });
  if (p.umask !== undefined) proc.umask(p.umask);
  if (p.fsize !== undefined) proc.restoreFsizeRlimit(p.fsize);
  return proc;
}

function restoreVma(v: VmaMetaT, refs: TaskRefs, anonymous: readonly AnonymousMemory[]): Vma {
  const o = v.object;
  let mappable: Mappable;
  let identity: MappingIdentity;
  if (o.kind === 'shm') {
    const seg = refs.ipc.namespaces[o.ns]?.segments.get(o.id) as Shm;
    mappable = seg;
    identity = seg;
  } else if (o.kind === 'anon') {
    const mem = anonymous[o.anon] as AnonymousMemory;
    mappable = mem;
    identity = mem;
  } else {
    const file = refs.fs.openFiles[o.file] as OpenFile;
    mappable = file.inode as RegularFile;
    identity = file;
  }
  return {
    start: v.start,
    end: v.end,
    offset: v.offset,
    perms: v.perms,
    maxPerms: v.maxPerms,
    writable: v.writable,
    mappable,
    identity,
    // As the image holds them; MemoryManager.restoreVmas reads absent ones as false.
    ...setVmaFlags(v),
    guards: restoreGuards(v.start, v.guards),
  };
}
