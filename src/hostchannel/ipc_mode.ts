/**
 * The `--ipc` and `--shm-size` options of `isula create` and `isula run`,
 * as iSulad's client and daemon read them.
 *
 * The client takes `--ipc` verbatim (src/cmd/isula/base/create.h, a plain
 * string option) and never checks it; the daemon gives it meaning in three
 * places: specs_mount.c set_shm_path (which /dev/shm the container gets),
 * specs_namespace.c get_share_namespace_path (which IPC namespace it joins)
 * and service_container.c umount_share_shm (what rm unmounts).
 *
 * `--shm-size` goes through command_convert_membytes while the command line
 * is parsed, so a bad value stops `isula` before anything else is looked at.
 */
import type * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../abi/constants.js';
import { convertMembytes, OPTION_ERROR_EXIT_STATUS } from './size.js';

/** DEFAULT_SHM_SIZE in utils.h: what a container gets without --shm-size, or with 0. */
export const DEFAULT_SHM_SIZE = 64n * 1024n * 1024n;

/**
 * Exit status of a refused --shm-size: the option callback fails inside
 * command_parse_args, and both `isula create` and `isula run` then exit
 * EINVALIDARGS (125).
 */
export const SHM_SIZE_ERROR_EXIT_STATUS = OPTION_ERROR_EXIT_STATUS;

/** The prefix of the mode that joins another container's IPC namespace (SHARE_NAMESPACE_PREFIX). */
export const CONTAINER_MODE_PREFIX = 'container:';

/**
 * What the daemon makes of an --ipc value. iSulad knows four words and a
 * prefix; anything else (`private` included: iSulad has no such mode) is
 * `other`, which gets a new IPC namespace but no /dev/shm at all.
 */
export type IpcMode =
  /** No --ipc, or `shareable`: a new IPC namespace and the container's own /dev/shm tmpfs. */
  | { readonly kind: 'shareable' }
  /** `none`: a new IPC namespace and no /dev/shm mount. */
  | { readonly kind: 'none' }
  /** `host`: the host's IPC namespace and a bind of the host's /dev/shm. */
  | { readonly kind: 'host' }
  /** `container:NAME`: NAME's IPC namespace and NAME's /dev/shm. */
  | { readonly kind: 'container'; readonly name: string }
  /** Any other value. */
  | { readonly kind: 'other' };

/**
 * The meaning of an --ipc value (undefined when the option was not given).
 * The comparisons are exact and case-sensitive (strcmp in namespace.h);
 * `container:` with nothing after it names the container "".
 */
export function ipcModeOf(mode: string | undefined): IpcMode {
  if (mode === undefined || mode === 'shareable') return { kind: 'shareable' };
  if (mode === 'none') return { kind: 'none' };
  if (mode === 'host') return { kind: 'host' };
  if (mode.startsWith(CONTAINER_MODE_PREFIX)) return { kind: 'container', name: mode.slice(CONTAINER_MODE_PREFIX.length) };
  return { kind: 'other' };
}

/**
 * Parses a --shm-size value as command_convert_membytes does: iSulad's
 * byte-size grammar (parseByteSize), and no negative result. The Left is
 * the line the client prints. A parsed 0 stands: the daemon turns it into
 * DEFAULT_SHM_SIZE (effectiveShmSize).
 */
export function parseShmSize(value: string): E.Either<string, bigint> {
  return convertMembytes(value, 'shm-size');
}

/** merge_conf_mounts: a shm size of 0 (the option's absence) means the default. */
export function effectiveShmSize(size: bigint | undefined): bigint {
  return size === undefined || size === 0n ? DEFAULT_SHM_SIZE : size;
}

/**
 * The largest tmpfs size the emulator's Tmpfs takes: a safe integer that is a
 * page multiple. Linux accepts any size= up to the 64-bit limit; past this
 * one (8 PiB) no memory could fill the tmpfs anyway, so capping changes
 * nothing a process can observe but statfs's f_blocks.
 */
const MAX_TMPFS_BYTES = Math.floor(Number.MAX_SAFE_INTEGER / PAGE_SIZE) * PAGE_SIZE;

/** The size= a shm tmpfs of `size` bytes is made with (see MAX_TMPFS_BYTES). */
export function shmTmpfsBytes(size: bigint): number {
  return size >= BigInt(MAX_TMPFS_BYTES) ? MAX_TMPFS_BYTES : Number(size);
}
