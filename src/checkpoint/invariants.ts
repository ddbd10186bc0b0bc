/**
 * The invariants of a whole kernel: its own image, described without the
 * page bytes, must pass every check restore makes of an image (validate.ts
 * and meaning.ts: every reference in range, every frame held once, every
 * count equal to what the references imply, every mapping within what its
 * syscall could give, every statfs and cgroup counter equal to the pages
 * behind it), and the MemoryFile must have handed out exactly the frames
 * the objects hold. Tests call it after running a kernel; restore calls it
 * on the kernel it built, as a last check before handing it out.
 *
 * Sleeping calls are covered too (parts/waiting.ts): every call a process
 * sleeps in sits on a queue of a live set or queue, every queued waiter is
 * some process's call, and each passes the checks of an image's record,
 * but for semopm and msgmax, which may have been lowered since it slept.
 *
 * It sits in src/checkpoint, not src/kernel, because it reads the kernel
 * through the checkpoint walk, which sees every object kind (segments,
 * address spaces, tmpfs, mounts, cgroups) by the same numbering an image
 * uses. The walk only reads: checking changes nothing.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Kernel } from '../kernel/kernel.js';
import type { CheckpointError } from './errors.js';
import { CheckpointFailure, checkpointError } from './errors.js';
import { frameRuns } from './page_section.js';
import { describe } from './save.js';
import { validate } from './validate.js';

/** Right when every invariant of `kernel` holds; otherwise the first broken one, `where` naming it as an image path would. */
export function checkInvariants(kernel: Kernel): E.Either<CheckpointError, void> {
  let described: ReturnType<typeof describe>;
  try {
    described = describe(kernel, undefined);
  } catch (e) {
    if (e instanceof CheckpointFailure) return E.left(e.error);
    // The walk throws where it meets a broken invariant (a frame held twice, a creator that is gone).
    return E.left(checkpointError('kernel', (e as Error).message));
  }
  const { meta, walk } = described;
  const mf = walk.memoryFile;
  const runs = frameRuns(walk.frames).map(([firstFrame, count]) => ({ firstFrame, count, dataOffset: 0 }));
  const valid = validate(meta, runs, { maxFrames: mf.totalFrames, maxMemTotalBytes: meta.kernel.memTotalBytes }, true);
  if (E.isLeft(valid)) return valid;
  let held = 0;
  for (const r of runs) held += r.count;
  if (mf.allocatedFrames !== held) {
    return E.left(checkpointError('kernel.memoryFile', `${mf.allocatedFrames} frames are allocated, but the kernel's objects hold ${held}`));
  }
  return E.right(undefined);
}
