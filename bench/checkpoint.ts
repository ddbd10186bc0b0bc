/**
 * The checkpoint rows of `npm run bench` (ipc-sentry only; the real kernel
 * has no counterpart): checkpoint and restore throughput for a kernel
 * holding TOUCH_MIB of touched pages, in memory, and the image size of a
 * kernel whose segments are mostly untouched, which must not grow with the
 * untouched pages.
 */
import * as E from 'fp-ts/lib/Either.js';
import { performance } from 'node:perf_hooks';
import { checkpoint, restore } from '../src/checkpoint/index.js';
import { IPC_CREAT, IPC_PRIVATE, Kernel, PAGE_SIZE } from '../src/node/index.js';
import { median } from './stats.js';

/** What the checkpoint rows report. */
export interface CheckpointReport {
  /** Bytes of touched pages checkpointed per second (median). */
  readonly checkpointRate: number;
  /** Bytes of touched pages restored per second (median). */
  readonly restoreRate: number;
  /** Image bytes for 64 segments of 1 GiB with one touched page each. */
  readonly mostlyUntouchedImage: number;
  /** Extra image bytes per untouched GiB: the same kernel with 1 GiB segments against 1 MiB ones. */
  readonly growthPerUntouchedGiB: number;
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function ok<T>(r: E.Either<unknown, T>, what: string): T {
  if (E.isLeft(r)) throw new Error(`${what} failed: ${JSON.stringify(r.left)}`);
  return r.right;
}

/** A kernel with `segments` attached segments of `bytes` each and the first page of each touched. */
function sparseKernel(segments: number, bytes: number): Kernel {
  const kernel = new Kernel({ memTotalBytes: 2 * GiB });
  const p = kernel.spawn();
  for (let i = 0; i < segments; i++) {
    const at = ok(p.shmat(ok(p.shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0o600), 'shmget'), 0, 0), 'shmat');
    ok(p.write(at, new Uint8Array([i + 1])), 'write');
  }
  return kernel;
}

/** Runs the rows: `touchMiB` of touched pages, `samples` timed runs after one warm-up. */
export function runCheckpointBench(touchMiB: number, samples: number): CheckpointReport {
  const kernel = new Kernel({ memTotalBytes: 4 * GiB });
  const p = kernel.spawn();
  const bytes = touchMiB * MiB;
  const at = ok(p.shmat(ok(p.shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0o600), 'shmget'), 0, 0), 'shmat');
  ok(p.fill(at, bytes, 0x5a), 'fill');
  ok(p.write(at + bytes - PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(7)), 'write');
  const saveRates: number[] = [];
  const restoreRates: number[] = [];
  for (let i = 0; i <= samples; i++) {
    const t0 = performance.now();
    const image = ok(checkpoint(kernel), 'checkpoint');
    const t1 = performance.now();
    const copy = ok(restore(image), 'restore');
    const t2 = performance.now();
    if (copy.memoryFile.allocatedFrames !== kernel.memoryFile.allocatedFrames) throw new Error('restore lost frames');
    if (i > 0) {
      saveRates.push(bytes / ((t1 - t0) / 1000));
      restoreRates.push(bytes / ((t2 - t1) / 1000));
    }
  }
  const imageOf = (k: Kernel): number => ok(checkpoint(k), 'checkpoint').length;
  const huge = imageOf(sparseKernel(64, GiB));
  const small = imageOf(sparseKernel(64, MiB));
  return {
    checkpointRate: median(saveRates),
    restoreRate: median(restoreRates),
    mostlyUntouchedImage: huge,
    growthPerUntouchedGiB: (huge - small) / ((64 * (GiB - MiB)) / GiB),
  };
}
