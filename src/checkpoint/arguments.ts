/**
 * The checkpoint functions' arguments, checked before anything is read: a
 * caller from JavaScript can pass anything, and each refusal is a Left whose
 * `where` names the argument, never a TypeError from inside a walk.
 */
import * as E from 'fp-ts/lib/Either.js';
import { ContainerEngine } from '../hostchannel/engine.js';
import { Kernel } from '../kernel/kernel.js';
import { userBytes } from '../kernel/syscall_args.js';
import type { CheckpointError } from './errors.js';
import { checkpointError } from './errors.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionsObject(options: unknown): E.Either<CheckpointError, Record<string, unknown>> {
  if (options === undefined) return E.right({});
  return isRecord(options) ? E.right(options) : E.left(checkpointError('options', 'is not an options object'));
}

/** checkpoint(kernel, options): a Kernel, and options whose engine (if any) is a ContainerEngine. */
export function checkCheckpointArgs(kernel: unknown, options: unknown): E.Either<CheckpointError, void> {
  if (!(kernel instanceof Kernel)) return E.left(checkpointError('kernel', 'is not a Kernel'));
  if (kernel.disposed) return E.left(checkpointError('kernel', 'was disposed: its memory is gone'));
  const o = optionsObject(options);
  if (E.isLeft(o)) return o;
  const engine = o.right['engine'];
  if (engine !== undefined && !(engine instanceof ContainerEngine)) return E.left(checkpointError('options.engine', 'is not a ContainerEngine'));
  return E.right(undefined);
}

/** What checkRestoreArgs copied: the image's bytes and the options, each option read once. */
export interface RestoreArgs {
  readonly image: Uint8Array;
  readonly options: Record<string, unknown>;
}

/**
 * restore(image, options) and restoreWithEngine: bytes, and options of the
 * right kinds, returned as copies that the restore reads instead of the
 * caller's objects. The image is a plain view of the bytes the caller's
 * Uint8Array holds (userBytes: its subclass's own length, a Proxy or a
 * getter cannot make the checks and the copy see different bytes), copied
 * when it lies in a SharedArrayBuffer, and each option is read once, so
 * what was checked is what is used.
 */
export function checkRestoreArgs(image: unknown, options: unknown): E.Either<CheckpointError, RestoreArgs> {
  const view = userBytes(image);
  if (view === undefined) return E.left(checkpointError('image', 'is not a Uint8Array'));
  // Shared memory another thread may write while the restore runs: copied, so the bytes the checksums passed are the bytes restored.
  const bytes = isShared(view.buffer) ? view.slice() : view;
  const o = optionsObject(options);
  if (E.isLeft(o)) return o;
  const { clock, monotonicClock, allocatePid, maxFrames, maxMemTotalBytes, engine } = o.right;
  if (clock !== undefined && typeof clock !== 'function') return E.left(checkpointError('options.clock', 'is not a function'));
  if (monotonicClock !== undefined && typeof monotonicClock !== 'function') return E.left(checkpointError('options.monotonicClock', 'is not a function'));
  if (allocatePid !== undefined && typeof allocatePid !== 'function') return E.left(checkpointError('options.allocatePid', 'is not a function'));
  for (const [name, v] of [
    ['maxFrames', maxFrames],
    ['maxMemTotalBytes', maxMemTotalBytes],
  ] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= 0))
      return E.left(checkpointError(`options.${name}`, 'is not a whole number of at least 0'));
  }
  if (engine !== undefined && !isRecord(engine)) return E.left(checkpointError('options.engine', 'is not an options object'));
  return E.right({ image: bytes, options: { clock, monotonicClock, allocatePid, maxFrames, maxMemTotalBytes, engine } });
}

/** Whether `buffer` is a SharedArrayBuffer (a host without one has none to check for). */
function isShared(buffer: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer;
}
