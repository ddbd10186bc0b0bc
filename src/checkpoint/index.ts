/**
 * Checkpoint and restore of a whole Kernel, after gVisor's sentry
 * save/restore: `checkpoint(kernel)` writes a self-describing, versioned
 * image, and `restore(image)` builds an identical, independent kernel from
 * it.
 *
 * This package sits above the kernel (an image also names the container
 * engine's memory cgroups, from src/hostchannel), so the two entry points
 * are functions over a Kernel rather than its methods.
 */
export { checkpoint } from './save.js';
export { restore } from './restore.js';
export type { RestoreOptions } from './restore.js';
export type { CheckpointError } from './errors.js';
export { FORMAT_VERSION, MAGIC } from './format.js';
