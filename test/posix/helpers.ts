/** Shared set-up for the POSIX shared memory and memfd tests. */
import { Kernel, PAGE_SIZE } from '../../src/index.js';
import type { Process } from '../../src/index.js';
import { ok } from '../support/either.js';

/** A kernel small enough for many of them per test. */
export function smallKernel(): Kernel {
  return new Kernel({ memTotalBytes: 2 ** 26, chunkBytes: 2 ** 16 });
}

/** A process whose namespace has a tmpfs at /dev/shm, mode 1777 as container runtimes mount it. */
export function withDevShm(kernel: Kernel = smallKernel()): { kernel: Kernel; p: Process } {
  const p = kernel.spawn();
  ok(p.mkdir('/dev', 0o755));
  ok(p.mkdir('/dev/shm', 0o755));
  ok(p.mountTmpfs(ok(kernel.newTmpfs({ sizeBytes: 64 * PAGE_SIZE, mode: 0o1777 })), '/dev/shm'));
  return { kernel, p };
}

export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
