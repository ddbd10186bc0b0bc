/**
 * Checkpoint and restore of a whole Kernel, after gVisor's sentry
 * save/restore: `checkpoint(kernel)` writes a self-describing, versioned
 * image, and `restore(image)` builds an identical, independent kernel from
 * it.
 *
 * This package sits above the kernel (an image also carries the container
 * engine and its memory cgroups, from src/hostchannel), so the entry points
 * are functions over a Kernel; Kernel.checkpoint and Kernel.restore are
 * thin methods over them. `restoreWithEngine` gives back the engine too.
 */
export { checkpoint } from './save.js';
export type { CheckpointOptions } from './save.js';
export { restore, restoreWithEngine } from './restore.js';
export type { EngineRestoreOptions, RestoreOptions, RestoredMachine } from './restore.js';
export type { CheckpointError } from './errors.js';
export type { RestoredCall } from './parts/waiting.js';
export { checkInvariants } from './invariants.js';
export { DEFAULT_MAX_RESTORED_FRAMES } from './validate.js';
export type { RestoreLimits } from './validate.js';
export { FORMAT_VERSION, MAGIC } from './format.js';
