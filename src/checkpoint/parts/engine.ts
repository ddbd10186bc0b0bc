/**
 * The engine part of an image: a ContainerEngine's daemon process and
 * containers, written with its kernel, checked against the rest of the
 * metadata (validate.ts calls checkEngine), and rebuilt over the restored
 * kernel. It is saved after the kernel's objects, whose indexes it uses
 * (numbering the cgroups only stopped containers still hold), and restored
 * last, over the rebuilt processes, namespaces and cgroups.
 *
 * A container names processes by pid, and namespaces and cgroups by their
 * index in the image's lists, so a restored container holds the very
 * objects the restored processes hold: the init is a process of the new
 * kernel, and pages its tasks wrote stay charged to its cgroup.
 */
import { PAGE_SIZE } from '../../abi/constants.js';
import { DEV_SHM } from '../../hostchannel/daemon_fs.js';
import { ContainerEngine, isValidContainerName, ownShmPath } from '../../hostchannel/engine.js';
import { DEFAULT_SHM_SIZE, ipcModeOf } from '../../hostchannel/ipc_mode.js';
import { INT64_MAX } from '../../hostchannel/size.js';
import type { ContainerRecord, EngineOptions, EngineState } from '../../hostchannel/engine.js';
import type { MemoryCgroup } from '../../memcg/cgroup.js';
import { isValidMountMode } from '../../hostchannel/mode.js';
import { cleanAbsolutePath } from '../../hostchannel/path.js';
import type { IpcNamespace } from '../../kernel/ipc_namespace.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Process } from '../../kernel/process.js';
import type { MountNamespace } from '../../vfs/mounts.js';
import { CheckpointFailure, check, checkpointError } from '../errors.js';
import type { ContainerMetaT, EngineMetaT, Metadata } from '../metadata.js';

/** How the walk of the kernel numbered what containers refer to. */
export interface EngineRefs {
  ipcNamespace(ns: IpcNamespace): number | undefined;
  mountNamespace(ns: MountNamespace): number | undefined;
  /** Numbers the cgroup if the walk has not met it yet. */
  cgroup(c: MemoryCgroup): number;
}

/** The engine section for `state`; a container whose namespace the image lacks is a CheckpointFailure. */
export function saveEngine(state: EngineState, refs: EngineRefs): EngineMetaT {
  return {
    daemon: state.daemon.pid,
    containers: state.containers.map((c): ContainerMetaT => {
      let running: ContainerMetaT['running'] = null;
      if (c.running !== undefined) {
        const ipc = refs.ipcNamespace(c.running.ipcNamespace);
        const mnt = refs.mountNamespace(c.running.mountNamespace);
        // The init may have left the container's IPC namespace (unshare), which then died with nothing in it.
        if (ipc === undefined || mnt === undefined) {
          throw new CheckpointFailure(checkpointError(`engine: container ${c.name}`, 'runs in a namespace that no longer exists'));
        }
        running = { init: c.running.init.pid, ipcNamespace: ipc, mountNamespace: mnt };
      }
      return {
        name: c.name,
        hostChannel: c.hostChannel === undefined ? null : { ...c.hostChannel },
        memoryLimit: c.memoryLimit ?? null,
        autoRemove: c.autoRemove,
        state: c.state,
        running,
        cgroup: c.cgroup === undefined ? null : refs.cgroup(c.cgroup),
        ipcMode: c.ipcMode ?? null,
        shmSize: c.shmSize,
        shmPath: c.shmPath ?? null,
      };
    }),
  };
}

/**
 * Checks every reference of the engine section against the rest of the
 * metadata, and each container's record against itself: the state agrees
 * with what the container holds, and no two containers share a name, an
 * init, a namespace or a cgroup.
 */
export function checkEngine(meta: Metadata, engine: EngineMetaT): void {
  const at = 'metadata.engine';
  const processAt = new Map(meta.processes.map((p) => [p.pid, p]));
  const daemon = processAt.get(engine.daemon);
  check(daemon !== undefined, `${at}.daemon`, `pid ${engine.daemon} is not a process of the image`);
  check(daemon?.mountNamespace === 0, `${at}.daemon`, `pid ${engine.daemon} is not in the host's mount namespace`);
  const taken: Taken = { names: new Set(), inits: new Set([engine.daemon]), mountNamespaces: new Set(), cgroups: new Set() };
  engine.containers.forEach((c, i) => {
    const cat = `${at}.containers[${i}]`;
    check(isValidContainerName(c.name), `${cat}.name`, `${JSON.stringify(c.name)} is not a container name`);
    check(!taken.names.has(c.name), `${cat}.name`, `container ${c.name} appears twice`);
    taken.names.add(c.name);
    if (c.hostChannel !== null) checkHostChannel(c.hostChannel, `${cat}.hostChannel`);
    checkShm(c, cat);
    // created: never started; running: holds an init; exited: stopped, keeping the cgroup of its last start.
    check((c.state === 'running') === (c.running !== null), `${cat}.running`, `does not agree with the state ${c.state}`);
    check((c.state === 'created') === (c.cgroup === null), `${cat}.cgroup`, `does not agree with the state ${c.state}`);
    if (c.running !== null) checkRunning(meta, c.running, cat, processAt, taken);
    if (c.cgroup !== null) checkCgroup(meta, c, c.cgroup, cat, taken);
  });
}

/** What containers checked so far hold, which no other container may. */
interface Taken {
  readonly names: Set<string>;
  readonly inits: Set<number>;
  readonly mountNamespaces: Set<number>;
  readonly cgroups: Set<number>;
}

function checkHostChannel(h: NonNullable<ContainerMetaT['hostChannel']>, at: string): void {
  check(cleanAbsolutePath(h.pathOnHost) === h.pathOnHost, `${at}.pathOnHost`, `${JSON.stringify(h.pathOnHost)} is not a clean absolute path`);
  check(
    cleanAbsolutePath(h.pathInContainer) === h.pathInContainer,
    `${at}.pathInContainer`,
    `${JSON.stringify(h.pathInContainer)} is not a clean absolute path`,
  );
  check(isValidMountMode(h.permissions), `${at}.permissions`, `${JSON.stringify(h.permissions)} is not a mount mode`);
}

/**
 * The /dev/shm fields: all three or none (an image from before them), an
 * --ipc value the engine can have created a container with, a shm size
 * the client can have parsed, and a shm path that fits the mode.
 */
function checkShm(c: ContainerMetaT, cat: string): void {
  const present = [c.ipcMode, c.shmSize, c.shmPath].filter((v) => v !== undefined).length;
  check(present === 0 || present === 3, `${cat}.shmPath`, 'ipcMode, shmSize and shmPath come together or not at all');
  if (present === 0) return;
  const mode = ipcModeOf(c.ipcMode ?? undefined);
  check(mode.kind !== 'other', `${cat}.ipcMode`, `${JSON.stringify(c.ipcMode)} is not an --ipc mode a container can be created with`);
  const size = c.shmSize ?? 0n;
  check(size > 0n && size <= INT64_MAX, `${cat}.shmSize`, `${size} is not a shm size between 1 and 2^63-1 bytes`);
  const path = c.shmPath ?? null;
  if (path !== null) check(cleanAbsolutePath(path) === path, `${cat}.shmPath`, `${JSON.stringify(path)} is not a clean absolute path`);
  const expected = mode.kind === 'shareable' ? ownShmPath(c.name) : mode.kind === 'host' ? DEV_SHM : mode.kind === 'none' ? null : path;
  check(path === expected, `${cat}.shmPath`, `${JSON.stringify(path)} is not the shm path of --ipc ${c.ipcMode ?? 'shareable'}`);
}

function checkRunning(
  meta: Metadata,
  r: NonNullable<ContainerMetaT['running']>,
  cat: string,
  processAt: ReadonlyMap<number, Metadata['processes'][number]>,
  taken: Taken,
): void {
  const init = processAt.get(r.init);
  check(
    init !== undefined && !taken.inits.has(r.init),
    `${cat}.running.init`,
    `pid ${r.init} is not a process of the image, or is the daemon or another container's init`,
  );
  taken.inits.add(r.init);
  check(
    r.ipcNamespace < meta.ipcNamespaces.length,
    `${cat}.running.ipcNamespace`,
    `names IPC namespace ${r.ipcNamespace}, but there are ${meta.ipcNamespaces.length}`,
  );
  check(
    r.mountNamespace > 0 && r.mountNamespace < meta.mountNamespaces.length,
    `${cat}.running.mountNamespace`,
    `${r.mountNamespace} is not a container's mount namespace of the image`,
  );
  check(!taken.mountNamespaces.has(r.mountNamespace), `${cat}.running.mountNamespace`, `namespace ${r.mountNamespace} belongs to two containers`);
  taken.mountNamespaces.add(r.mountNamespace);
  check(init?.mountNamespace === r.mountNamespace, `${cat}.running.init`, `pid ${r.init} is not in the container's mount namespace`);
}

function checkCgroup(meta: Metadata, c: ContainerMetaT, cgroup: number, cat: string, taken: Taken): void {
  const g = meta.cgroups[cgroup];
  check(g !== undefined, `${cat}.cgroup`, `names cgroup ${cgroup}, but there are ${meta.cgroups.length}`);
  check(!taken.cgroups.has(cgroup), `${cat}.cgroup`, `cgroup ${cgroup} belongs to two containers`);
  taken.cgroups.add(cgroup);
  // Each start makes the cgroup with the container's -m, rounded down to pages as Linux does.
  const limitPages = c.memoryLimit === null || c.memoryLimit === 0n ? null : c.memoryLimit / BigInt(PAGE_SIZE);
  check(
    (g?.limitPages ?? null) === (limitPages === null ? null : Number(limitPages)),
    `${cat}.cgroup`,
    `the cgroup's limit is not the container's memoryLimit`,
  );
}

/** The objects of a restored kernel that containers refer to. */
export interface RestoredObjects {
  readonly processes: ReadonlyMap<number, Process>;
  readonly ipcNamespaces: readonly IpcNamespace[];
  readonly mountNamespaces: readonly MountNamespace[];
  readonly cgroups: readonly MemoryCgroup[];
}

/** The engine of a checked engine section, bound to the restored `kernel`. */
export function restoreEngine(kernel: Kernel, engine: EngineMetaT, objects: RestoredObjects, options: EngineOptions): ContainerEngine {
  const containers = engine.containers.map(
    (c): ContainerRecord => ({
      name: c.name,
      hostChannel: c.hostChannel === null ? undefined : { ...c.hostChannel },
      memoryLimit: c.memoryLimit ?? undefined,
      autoRemove: c.autoRemove,
      state: c.state,
      running:
        c.running === null
          ? undefined
          : {
              init: objects.processes.get(c.running.init) as Process,
              ipcNamespace: objects.ipcNamespaces[c.running.ipcNamespace] as IpcNamespace,
              mountNamespace: objects.mountNamespaces[c.running.mountNamespace] as MountNamespace,
            },
      cgroup: c.cgroup === null ? undefined : objects.cgroups[c.cgroup],
      ipcMode: c.ipcMode ?? undefined,
      shmSize: c.shmSize ?? DEFAULT_SHM_SIZE,
      shmPath: c.shmPath ?? undefined,
    }),
  );
  return new ContainerEngine(kernel, options, { daemon: objects.processes.get(engine.daemon) as Process, containers });
}
