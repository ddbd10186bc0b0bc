/**
 * checkpoint(kernel): walks a kernel and writes its image. The walk only
 * reads: no reference is taken or dropped, so a checkpoint never changes
 * what the kernel does next. (Taking a container engine along reaps its
 * exited containers first, as any command to the daemon would.)
 *
 * The parts (parts/*.ts) each describe one kind of object; this driver
 * runs them in the order that numbers every shared object the first time
 * the walk meets it (walk.ts), starting at the kernel's own objects (the
 * initial namespaces, the root filesystem) and its processes, then a
 * container engine's records. Objects of a kind the image cannot describe
 * (a Mappable or a cgroup from outside ipc-sentry) make the checkpoint fail
 * with a Left naming them.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { ContainerEngine, EngineState } from '../hostchannel/engine.js';
import type { Kernel } from '../kernel/kernel.js';
import type { MemoryFile } from '../mm/memory_file.js';
import type { CheckpointError } from './errors.js';
import { checkCheckpointArgs } from './arguments.js';
import { CheckpointFailure, checkpointError } from './errors.js';
import { HEADER_BYTES, asciiJson, paddedLength, writeHeader } from './format.js';
import type { Metadata } from './metadata.js';
import { MetadataCodec } from './metadata.js';
import { frameRuns, pageSectionBytes, writePageSection } from './page_section.js';
import { saveEngine } from './parts/engine.js';
import { saveFilesystems, saveMountNamespaces } from './parts/fs.js';
import { saveIpc } from './parts/ipc.js';
import { saveKernel } from './parts/kernel.js';
import { saveUndoLists } from './parts/sysv.js';
import { refuseUncarriedCalls, saveWaitingCalls } from './parts/waiting.js';
import { saveAnonymous, saveProcesses } from './parts/tasks.js';
import { Walk } from './walk.js';

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
  const args = checkCheckpointArgs(kernel, options);
  if (E.isLeft(args)) return args;
  const engine = options.engine;
  if (engine !== undefined && engine.kernel !== kernel) return E.left(checkpointError('engine', 'runs on another kernel'));
  try {
    // Sleeping calls an image cannot carry (a worker thread's: EBUSY) refuse before anything is read.
    refuseUncarriedCalls(kernel);
    // The engine reaps before anything of the kernel is read.
    return E.right(write(kernel, engine?.checkpointState()));
  } catch (e) {
    if (e instanceof CheckpointFailure) return E.left(e.error);
    throw e;
  }
}

/** Runs the parts in numbering order and lays out their metadata and the frames they hold. */
function write(kernel: Kernel, engine: EngineState | undefined): Uint8Array {
  const { meta, walk } = describe(kernel, engine);
  return assemble(asciiJson(MetadataCodec.encode(meta)), walk.frames, walk.memoryFile);
}

/**
 * The metadata of `kernel` (and of an engine's state), with the walk that
 * numbered its objects and marked the frames they hold: the image without
 * its bytes. The invariant check (invariants.ts) validates it.
 */
export function describe(kernel: Kernel, engine: EngineState | undefined): { readonly meta: Metadata; readonly walk: Walk } {
  const walk = new Walk(kernel);
  const ipc = saveIpc(walk);
  const mountNamespaces = saveMountNamespaces(walk);
  const undo = saveUndoLists(kernel.processes(), kernel.ipcNamespaces());
  const waitingCalls = saveWaitingCalls(kernel, kernel.ipcNamespaces());
  const processes = saveProcesses(walk, ipc, mountNamespaces, undo);
  const fs = saveFilesystems(walk);
  const anonymous = saveAnonymous(walk);
  // Numbers the cgroups only stopped containers still hold, after those of processes and pages.
  const engineSection =
    engine === undefined
      ? {}
      : {
          engine: saveEngine(engine, {
            ipcNamespace: (ns) => ipc.namespaceIndex.get(ns),
            mountNamespace: (ns) => mountNamespaces.index.get(ns),
            cgroup: (c) => walk.cgroups.of(c),
          }),
        };
  // Last: the cgroup list holds every cgroup the other parts numbered.
  const own = saveKernel(walk);
  // The key order is the JSON's, and so part of the image's bytes.
  const meta: Metadata = {
    ...own,
    ipcNamespaces: ipc.meta,
    anonymous,
    tmpfs: fs.tmpfs,
    mounts: fs.mounts,
    mountNamespaces: mountNamespaces.meta,
    openFiles: fs.openFiles,
    processes,
    semUndoLists: undo.lists,
    // Absent when no call sleeps, so such an image is byte for byte what it was before sleeping calls were carried.
    ...(waitingCalls.length === 0 ? {} : { waitingCalls }),
    ...engineSection,
  };
  return { meta, walk };
}

/**
 * The image buffer of `bytes` bytes. The host may not have that much memory
 * (or a typed array may not be that long): its RangeError becomes the
 * checkpoint's Left, naming the size.
 * @internal
 */
export function allocateImage(bytes: number): Uint8Array {
  try {
    return new Uint8Array(bytes);
  } catch (e) {
    if (e instanceof RangeError) throw new CheckpointFailure(checkpointError('image', `the host cannot allocate an image of ${bytes} bytes (${e.message})`));
    throw e;
  }
}

/** Lays out header, metadata and the held frames as runs of consecutive frames. */
function assemble(metadata: string, held: Uint8Array, mf: MemoryFile): Uint8Array {
  const runs = frameRuns(held);
  const pageBytes = pageSectionBytes(runs);
  const metaStart = HEADER_BYTES;
  const pageStart = metaStart + paddedLength(metadata.length);
  const image = allocateImage(pageStart + pageBytes);
  for (let i = 0; i < metadata.length; i += 1) image[metaStart + i] = metadata.charCodeAt(i);
  image.fill(0x20, metaStart + metadata.length, pageStart);
  const pageChecksum = writePageSection(image, pageStart, pageBytes, runs, mf);
  writeHeader(image, metadata.length, runs.length, pageBytes, pageChecksum);
  return image;
}
