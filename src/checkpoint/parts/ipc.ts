/**
 * The IPC part of an image: every IPC namespace of the kernel (its limits,
 * membership and id allocator) and the shared memory segments in it, with
 * their page runs. Processes find a segment by namespace index and id, and
 * a segment names its creator by pid, since processes are restored after
 * the segments (linkCreators closes that loop).
 */
import { permMeta, restoredPerm } from './perm.js';
import { IpcNamespace } from '../../kernel/ipc_namespace.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Shm } from '../../shm/shm.js';
import type { Metadata, SegmentMetaT } from '../metadata.js';
import type { Walk } from '../walk.js';
import type { MsgQueue } from '../../msg/queue.js';
import type { SemSet } from '../../sem/set.js';
import { restoreMsg, restoreSem, saveMsg, saveSem } from './sysv.js';

type IpcNamespaceMetaT = Metadata['ipcNamespaces'][number];

/** Where a segment sits in the image: its namespace's index and its id. */
export interface SegmentPlace {
  readonly ns: number;
  readonly id: number;
}

/** The IPC part as written, with the indexes the other parts refer by. */
export interface SavedIpc {
  readonly meta: IpcNamespaceMetaT[];
  readonly namespaceIndex: ReadonlyMap<IpcNamespace, number>;
  readonly segmentPlace: ReadonlyMap<Shm, SegmentPlace>;
}

/** Every IPC namespace of the kernel, the initial one first, with its segments. */
export function saveIpc(walk: Walk): SavedIpc {
  const namespaces = walk.kernel.ipcNamespaces();
  const segmentPlace = new Map<Shm, SegmentPlace>();
  const pidOfCreator = new Map<object, number>(walk.kernel.processes().map((p) => [p.creatorToken, p.pid]));
  const meta = namespaces.map((ns, i): IpcNamespaceMetaT => {
    const segments = ns.shm.segmentsForCheckpoint().map((s) => {
      segmentPlace.set(s, { ns: i, id: s.id });
      return segmentMeta(walk, s, pidOfCreator);
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
      sem: saveSem(ns),
      msg: saveMsg(ns),
    };
  });
  return { meta, namespaceIndex: new Map(namespaces.map((ns, i) => [ns, i])), segmentPlace };
}

function segmentMeta(walk: Walk, s: Shm, pidOfCreator: ReadonlyMap<object, number>): SegmentMetaT {
  const pages = walk.pageRuns(`segment ${s.id}`, (fn) => s.forEachPage(fn));
  const counts = s.checkpointCounts();
  const creator = s.creator === undefined ? null : pidOfCreator.get(s.creator);
  if (creator === undefined) throw new Error(`checkpoint: segment ${s.id}'s creator is not a live process`);
  return {
    ...permMeta(s.perm),
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
    pages,
  };
}

/** A restored IPC namespace and its segments, semaphore sets and message queues by id. */
export interface RestoredIpcNamespace {
  readonly ns: IpcNamespace;
  readonly segments: ReadonlyMap<number, Shm>;
  readonly sets: ReadonlyMap<number, SemSet>;
  readonly queues: ReadonlyMap<number, MsgQueue>;
}

/** The IPC part rebuilt; segment creators wait for the processes (linkCreators). */
export interface RestoredIpc {
  readonly namespaces: readonly RestoredIpcNamespace[];
  /** Each segment whose creator lives, with the creator's pid. */
  readonly creators: readonly (readonly [Shm, number])[];
}

/** Rebuilds the IPC namespaces into `kernel`, [0] being its initial one. */
export function restoreIpc(meta: readonly IpcNamespaceMetaT[], kernel: Kernel): RestoredIpc {
  const creators: [Shm, number][] = [];
  const namespaces = meta.map((m, i) => {
    const ns = i === 0 ? kernel.initialIpcNamespace : new IpcNamespace(m.nsId, kernel.environment, false);
    Object.assign(ns.limits, m.limits);
    ns.restoreMembership(m.members, m.dead);
    ns.shm.restoreIdAllocator(m.allocator);
    const segments = new Map<number, Shm>();
    for (const s of m.segments) {
      const seg = restoreSegment(ns, s);
      if (s.creator === null) seg.creator = undefined;
      else creators.push([seg, s.creator]);
      segments.set(s.id, seg);
    }
    return { ns, segments, sets: restoreSem(m.sem, ns), queues: restoreMsg(m.msg, ns) };
  });
  return { namespaces, creators };
}

function restoreSegment(ns: IpcNamespace, s: SegmentMetaT): Shm {
  const seg = ns.shm.restoreSegment({
    perm: restoredPerm(s),
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
  return seg;
}

/** Gives each segment its creator's token, once the processes exist. */
export function linkCreators(ipc: RestoredIpc, tokenOfPid: ReadonlyMap<number, object>): void {
  for (const [seg, pid] of ipc.creators) seg.creator = tokenOfPid.get(pid);
}
