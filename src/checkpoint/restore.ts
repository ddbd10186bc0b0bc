/**
 * restore(image): a new Kernel identical to the one checkpointed. The image
 * is checked completely first (header, version, checksums, io-ts decoding
 * of the metadata, cross references) and only then built, into objects no
 * one else can see yet: a failed restore leaves nothing behind and touches
 * no running kernel.
 *
 * Building goes bottom-up, part by part (parts/*.ts): the kernel and the
 * frames with their bytes, cgroups, IPC namespaces and segments, the file
 * systems, processes with their anonymous memory, address spaces and
 * descriptors; then segment creators are linked and every file system count
 * (links, opens, references, members) is set to its checkpointed value,
 * since constructors along the way took counts of their own. A container
 * engine comes last, over the rebuilt processes, namespaces and cgroups.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { ContainerEngine, EngineOptions } from '../hostchannel/engine.js';
import type { Kernel } from '../kernel/kernel.js';
import { HostOutOfMemory } from '../mm/memory_file.js';
import type { CheckpointError } from './errors.js';
import { checkRestoreArgs } from './arguments.js';
import { CheckpointFailure, checkpointError } from './errors.js';
import type { ImageSections } from './format.js';
import { pagesDamaged, readSections } from './format.js';
import type { Metadata } from './metadata.js';
import { decodeMetadata } from './metadata.js';
import { readPageSection } from './page_section.js';
import { restoreEngine } from './parts/engine.js';
import type { RestoredObjects } from './parts/engine.js';
import { restoreFilesystems, restoreFsCounts } from './parts/fs.js';
import { linkCreators, restoreIpc } from './parts/ipc.js';
import { restoreKernel, restoreMemoryAccounting } from './parts/kernel.js';
import { restoreMessages, restoreUndoLists } from './parts/sysv.js';
import { restoreWaitingCalls } from './parts/waiting.js';
import type { RestoredCall } from './parts/waiting.js';
import { restoreTasks } from './parts/tasks.js';
import { checkInvariants } from './invariants.js';
import { validate } from './validate.js';
import type { RestoreLimits } from './validate.js';

/** What the image cannot carry (the functions a simulator injected), and the limits the restoring kernel sets. */
export interface RestoreOptions extends RestoreLimits {
  /** CLOCK_REALTIME for the restored kernel; default the host clock, as for a new Kernel. */
  readonly clock?: () => number;
  /**
   * CLOCK_MONOTONIC in milliseconds for the restored kernel; default the
   * host's, as for a new Kernel. A semtimedop asleep in the image times out
   * when this clock has moved on by the time its timeout had left at the
   * checkpoint.
   */
  readonly monotonicClock?: () => number;
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

/** A restored kernel, the container engine bound to it when the image carries one, and the calls asleep in it. */
export interface RestoredMachine {
  readonly kernel: Kernel;
  readonly engine: ContainerEngine | undefined;
  /**
   * Every semop, semtimedop, msgsnd and msgrcv that slept in the
   * checkpointed kernel, asleep again on the same set or queue at the same
   * place, in the order the calls began to wait, each with a new Pending.
   */
  readonly waiting: readonly RestoredCall[];
}

/**
 * Rebuilds the kernel of `image`, or says what is wrong with the image and
 * where. An engine the image carries is checked but not rebuilt: its daemon
 * and container processes are in the kernel as plain processes. Calls that
 * slept in the image sleep again in the kernel; restoreWithEngine hands out
 * their Pendings too.
 */
export function restore(image: Uint8Array, options: RestoreOptions = {}): E.Either<CheckpointError, Kernel> {
  const args = checkRestoreArgs(image, options);
  if (E.isLeft(args)) return args;
  // The copies checkRestoreArgs made, not the caller's objects, which could read differently now.
  return E.map((m: RestoredMachine) => m.kernel)(restoreImage(args.right.image, args.right.options as RestoreOptions, undefined));
}

/**
 * Rebuilds the kernel of `image`, the container engine it carries
 * (undefined in an image without one), and new handles for the calls that
 * sleep in it.
 */
export function restoreWithEngine(image: Uint8Array, options: EngineRestoreOptions = {}): E.Either<CheckpointError, RestoredMachine> {
  const args = checkRestoreArgs(image, options);
  if (E.isLeft(args)) return args;
  const copied = args.right.options as EngineRestoreOptions;
  return restoreImage(args.right.image, copied, copied.engine ?? {});
}

function restoreImage(image: Uint8Array, options: RestoreOptions, engineOptions: EngineOptions | undefined): E.Either<CheckpointError, RestoredMachine> {
  // The page checksum is checked while the pages are copied (readPageSection).
  const sections = readSections(image, { deferPages: true });
  if (E.isLeft(sections)) return sections;
  const meta = decodeMetadata(sections.right.metadata);
  if (E.isLeft(meta)) return meta;
  const valid = validate(meta.right, sections.right.runs, options);
  if (E.isLeft(valid)) return valid;
  if (meta.right.kernel.nextPid === null && options.allocatePid === undefined) {
    return E.left(checkpointError('metadata.kernel.nextPid', 'the checkpointed kernel had an injected pid allocator: pass allocatePid to restore'));
  }
  try {
    const built = build(meta.right, image, sections.right, options);
    // What was built must hold together as a running kernel does; the checks above should make this pass.
    const sound = checkInvariants(built.kernel);
    if (E.isLeft(sound)) return E.left(checkpointError('image', `restored into a kernel whose invariants do not hold: ${sound.left.message}`));
    const engine = meta.right.engine;
    const waiting = built.waiting;
    if (engine === undefined || engineOptions === undefined) return E.right({ kernel: built.kernel, engine: undefined, waiting });
    return E.right({ kernel: built.kernel, engine: restoreEngine(built.kernel, engine, built, engineOptions), waiting });
  } catch (e) {
    // Damaged page data, found while copying it: the half-built kernel is dropped.
    if (e instanceof CheckpointFailure) return E.left(e.error);
    // The host refused a chunk for the image's pages: ENOMEM, naming whose pages they were.
    if (e instanceof HostOutOfMemory) return E.left(hostOutOfMemory(meta.right, e));
    // Validation should make this unreachable; the half-built kernel is dropped either way.
    return E.left(checkpointError('image', `passed every check but could not be rebuilt: ${(e as Error).message}`));
  }
}

/** A rebuilt kernel, the objects of it that an engine section refers to, and its sleeping calls. */
interface Built extends RestoredObjects {
  readonly kernel: Kernel;
  readonly waiting: readonly RestoredCall[];
}

/** Runs the parts' restores in order, over metadata that passed validation. */
function build(meta: Metadata, image: Uint8Array, sections: ImageSections, options: RestoreOptions): Built {
  const kernel = restoreKernel(meta.kernel, options);
  // First, before anything else is built: a damaged page section stops here.
  if (!readPageSection(kernel.memoryFile, sections, image, meta.kernel.frameLimit)) throw new CheckpointFailure(pagesDamaged());
  const memory = restoreMemoryAccounting(meta, kernel);
  const ipc = restoreIpc(meta.ipcNamespaces, kernel);
  const fs = restoreFilesystems(meta, kernel, memory.charge);
  const tasks = restoreTasks(meta, { kernel, charge: memory.charge, ipc, fs });
  linkCreators(ipc, tasks.tokens);
  restoreUndoLists(
    meta,
    ipc.namespaces.map((n) => n.sets),
    tasks.processes,
  );
  // Sleeping calls after the undo lists they use, and before the messages (a msgrcv made again must sleep).
  const waiting = restoreWaitingCalls(meta, { kernel, namespaces: ipc.namespaces, processes: tasks.processes });
  restoreMessages(
    meta.ipcNamespaces,
    ipc.namespaces.map((n) => n.queues),
  );
  restoreFsCounts(meta, fs);
  const ipcNamespaces = ipc.namespaces.map((n) => n.ns);
  const mountNamespaces = fs.mountNamespaces.map((n) => n.ns);
  kernel.adoptRestoredNamespaces(ipcNamespaces, mountNamespaces);
  return { kernel, processes: tasks.processes, ipcNamespaces, mountNamespaces, cgroups: memory.cgroups, waiting };
}

/** The Left of a restore the host ran out of memory for, at the object holding the frame being placed. */
function hostOutOfMemory(meta: Metadata, e: HostOutOfMemory): CheckpointError {
  const where = e.frame === undefined ? 'image' : (frameHolder(meta, e.frame) ?? 'image');
  return { ...checkpointError(where, `ENOMEM: the host has no memory for the restored pages: ${e.message}`), errno: 'ENOMEM' };
}

/** The metadata path of the segment, file or anonymous memory whose pages hold `frame`. */
function frameHolder(meta: Metadata, frame: number): string | undefined {
  const holds = (runs: ReadonlyArray<readonly [number, number, number, ...unknown[]]>) =>
    runs.some(([, first, count]) => frame >= first && frame < first + count);
  for (const [n, ns] of meta.ipcNamespaces.entries()) {
    const j = ns.segments.findIndex((s) => holds(s.pages));
    if (j >= 0) return `metadata.ipcNamespaces[${n}].segments[${j}]`;
  }
  for (const [t, sb] of meta.tmpfs.entries()) {
    const j = sb.inodes.findIndex((i) => holds(i.pages));
    if (j >= 0) return `metadata.tmpfs[${t}].inodes[${j}]`;
  }
  const a = meta.anonymous.findIndex((m) => holds(m.pages));
  return a >= 0 ? `metadata.anonymous[${a}]` : undefined;
}
