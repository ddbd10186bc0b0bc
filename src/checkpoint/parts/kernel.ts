/**
 * The kernel part of an image: the machine's settings and counters (memory
 * size, chunk size, next pid and namespace number, how many frames were
 * ever handed out), the root memory cgroup's charge, locked memory per uid,
 * and the memory cgroups the other parts charge to, by index.
 *
 * Saving it comes last, since the tasks, file system and engine parts
 * number the cgroups they meet; restoring it comes first, since every
 * other part is built into the kernel it makes.
 */
import { PAGE_SIZE } from '../../abi/constants.js';
import { DEFAULT_HUGE_PAGE_SIZES } from '../../abi/memfd.js';
import { Kernel } from '../../kernel/kernel.js';
import { MemoryCgroup } from '../../memcg/cgroup.js';
import type { MemoryCharge } from '../../memcg/charge.js';
import { CheckpointFailure, checkpointError } from '../errors.js';
import type { ChargeRefMeta, Metadata } from '../metadata.js';
import type { Walk } from '../walk.js';

type KernelMeta = Pick<Metadata, 'kernel' | 'lockedMemory' | 'cgroups'>;

/** The kernel's own state, and every cgroup the other parts numbered. */
export function saveKernel(walk: Walk): KernelMeta {
  const { kernel, memoryFile: mf } = walk;
  const counters = kernel.counters;
  return {
    kernel: {
      memTotalBytes: mf.totalFrames * PAGE_SIZE,
      chunkBytes: 2 ** mf.chunkShift * PAGE_SIZE,
      executeOnly: kernel.executeOnly,
      hugetlbShmGroup: kernel.environment.hugetlbShmGroup,
      nextPid: counters.nextPid ?? null,
      nextNsId: counters.nextNsId,
      frameLimit: mf.frameLimit,
      rootCgroupCharged: kernel.rootMemoryCgroup.chargedPages,
      // Only sizes other than the default are written: images of other kernels stay as they were.
      ...(sameSizes(kernel.hugePageSizes, DEFAULT_HUGE_PAGE_SIZES) ? {} : { hugePageSizes: [...kernel.hugePageSizes] }),
    },
    lockedMemory: kernel.lockedMemory.entries(),
    cgroups: walk.cgroups.items.map((g) => ({
      path: g.path,
      limitPages: g.limitPages ?? null,
      chargedPages: g.usagePages,
      refusals: g.failCount,
    })),
  };
}

function sameSizes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** What the simulator injected into the checkpointed kernel, and gives the restored one again. */
export interface KernelFunctions {
  readonly clock?: () => number;
  readonly monotonicClock?: () => number;
  readonly allocatePid?: () => number;
}

/**
 * A new, empty kernel with the checkpointed one's settings and counters.
 * The settings passed validation, so what the constructor refuses is one of
 * the caller's functions (a clock whose first reading is no time): a
 * CheckpointFailure whose message names the option.
 */
export function restoreKernel(k: Metadata['kernel'], functions: KernelFunctions): Kernel {
  try {
    return newKernel(k, functions);
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw new CheckpointFailure(checkpointError('options', e.message));
    throw e;
  }
}

function newKernel(k: Metadata['kernel'], functions: KernelFunctions): Kernel {
  const kernel = new Kernel({
    memTotalBytes: k.memTotalBytes,
    chunkBytes: k.chunkBytes,
    executeOnly: k.executeOnly,
    hugetlbShmGroup: k.hugetlbShmGroup,
    ...(k.hugePageSizes !== undefined ? { hugePageSizes: k.hugePageSizes } : {}),
    ...(functions.clock !== undefined ? { clock: functions.clock } : {}),
    ...(functions.monotonicClock !== undefined ? { monotonicClock: functions.monotonicClock } : {}),
    ...(functions.allocatePid !== undefined ? { allocatePid: functions.allocatePid } : {}),
  });
  kernel.restoreCounters(k.nextPid ?? undefined, k.nextNsId);
  return kernel;
}

/** The restored cgroups by index, and the charge target of an image's charge reference. */
export interface RestoredMemory {
  readonly cgroups: readonly MemoryCgroup[];
  readonly charge: (c: ChargeRefMeta) => MemoryCharge;
}

/** The root cgroup's charge, the cgroups and the locked memory, once the frames are in place. */
export function restoreMemoryAccounting(meta: KernelMeta, kernel: Kernel): RestoredMemory {
  kernel.rootMemoryCgroup.restoreCharged(meta.kernel.rootCgroupCharged);
  const cgroups = meta.cgroups.map((g) => {
    const c = new MemoryCgroup(g.path, g.limitPages === null ? undefined : BigInt(g.limitPages) * BigInt(PAGE_SIZE));
    c.restoreCounters(g.chargedPages, g.refusals);
    return c;
  });
  const charge = (c: ChargeRefMeta): MemoryCharge => (c === 'root' ? kernel.rootMemoryCgroup : (cgroups[c] as MemoryCgroup));
  for (const [uid, pages] of meta.lockedMemory) kernel.lockedMemory.restoreEntry(uid, pages);
  return { cgroups, charge };
}
