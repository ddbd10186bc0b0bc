/**
 * The `--host-channel <host path>:<container path>:<mode>:<size>` option as
 * iSulad's client parses it (src/cmd/isula/isula_host_spec.c,
 * parse_host_channel), before it ever contacts the daemon.
 *
 * Each field is validated as soon as its token is read, so with too many
 * fields the first four are fully checked (memory checks included) before
 * the fifth token is refused.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as O from 'fp-ts/lib/Option.js';
import { isValidMountMode } from './mode.js';
import { cleanAbsolutePath } from './path.js';
import { parseByteSize } from './size.js';

/** A validated host channel: what the client stores in the container's hostconfig. */
export interface HostChannel {
  /** The cleaned host path; the daemon creates it at create and mounts a tmpfs on it at start. */
  readonly pathOnHost: string;
  /** The cleaned path where the container sees the channel. */
  readonly pathInContainer: string;
  /** The mode string exactly as typed (`rw` when the field was empty). */
  readonly permissions: string;
  /** The tmpfs size in bytes (not necessarily a page multiple). */
  readonly size: bigint;
}

/** The isula command that parses the option; it decides the exit status of a failure. */
export type HostChannelCommand = 'create' | 'run';

/**
 * Exit status of a command whose option parsing failed: `isula create`
 * exits ECOMMON (1), `isula run` passes on EINVALIDARGS (125).
 */
export const SPEC_ERROR_EXIT_STATUS: Readonly<Record<HostChannelCommand, number>> = { create: 1, run: 125 };

/** Which rule rejected the option. */
export type HostChannelErrorKind =
  | 'bad-format'
  | 'host-path-not-absolute'
  | 'path-too-long'
  | 'host-path-exists'
  | 'container-path-not-absolute'
  | 'invalid-mode'
  | 'invalid-size'
  | 'size-too-small'
  | 'size-over-half-memory'
  | 'size-over-available-memory';

/** A rejected --host-channel option, as the user sees it. */
export interface HostChannelError {
  readonly kind: HostChannelErrorKind;
  /**
   * The line isula prints on stderr (without the newline), or undefined when
   * it prints nothing: a path too long to clean is only written to the
   * client log, which is quiet by default.
   */
  readonly stderr: string | undefined;
  /** The command's exit status (SPEC_ERROR_EXIT_STATUS). */
  readonly exitStatus: number;
}

/** The procfs meminfo values the size checks read, in kB as the file shows them. */
export interface Meminfo {
  /** The `MemTotal:` line; a missing line reads as 0. */
  readonly memTotalKb?: bigint | number;
  /** The `MemAvailable:` line; a missing line reads as 0. */
  readonly memAvailableKb?: bigint | number;
}

/** What the client consults on the machine it runs on. */
export interface HostChannelEnv {
  readonly meminfo: Meminfo;
  /** stat(2) says `path` is a directory (symlinks followed). */
  isExistingDirectory(path: string): boolean;
}

/** The size used when the size field is empty: 64 MiB, with no memory checks. */
export const DEFAULT_HOST_CHANNEL_SIZE = 64n * 1024n * 1024n;

/** The smallest size accepted (HOST_CHANNLE_MIN_SIZE, spelled so in utils.h). */
export const MIN_HOST_CHANNEL_SIZE = 4096n;

/** The mode used when the mode field is empty. */
export const DEFAULT_HOST_CHANNEL_MODE = 'rw';

/**
 * Parses and validates a --host-channel value the way `isula <command>`
 * does, returning the stored channel or the single error the user sees.
 */
export function parseHostChannel(spec: string, env: HostChannelEnv, command: HostChannelCommand = 'create'): E.Either<HostChannelError, HostChannel> {
  const fail = (kind: HostChannelErrorKind, stderr: string | undefined): E.Either<HostChannelError, HostChannel> =>
    E.left({ kind, stderr, exitStatus: SPEC_ERROR_EXIT_STATUS[command] });
  const badFormat = (): E.Either<HostChannelError, HostChannel> => fail('bad-format', `Bad host channel format: ${spec}`);

  // util_str_token splits on every ':' and keeps empty tokens.
  const tokens = spec.split(':');
  let pathOnHost = '';
  let pathInContainer = '';
  let permissions = '';
  let size = 0n;
  for (const [i, token] of tokens.entries()) {
    switch (i) {
      case 0: {
        if (token === '') return badFormat();
        if (!token.startsWith('/')) return fail('host-path-not-absolute', `Host channel host path should be absolute: ${token}`);
        const cleaned = cleanAbsolutePath(token);
        if (cleaned === undefined) return fail('path-too-long', undefined);
        if (env.isExistingDirectory(cleaned)) return fail('host-path-exists', `Host path '${cleaned}' already exists`);
        pathOnHost = cleaned;
        break;
      }
      case 1: {
        if (token === '') return badFormat();
        if (!token.startsWith('/')) return fail('container-path-not-absolute', `Host channel container path should be absolute: ${token}`);
        const cleaned = cleanAbsolutePath(token);
        if (cleaned === undefined) return fail('path-too-long', undefined);
        pathInContainer = cleaned;
        break;
      }
      case 2:
        if (token !== '' && !isValidMountMode(token)) return fail('invalid-mode', `Invalid mount mode for host channel: ${spec}`);
        permissions = token === '' ? DEFAULT_HOST_CHANNEL_MODE : token;
        break;
      case 3: {
        const checked = checkSize(token, spec, env.meminfo);
        if (E.isLeft(checked)) return fail(checked.left[0], checked.left[1]);
        size = checked.right;
        break;
      }
      default:
        return badFormat();
    }
  }
  if (tokens.length < 4) return badFormat();
  return E.right({ pathOnHost, pathInContainer, permissions, size });
}

/** Field 4 (isula_host_spec.c parse_size): the parse, the 4 KiB floor, then the two meminfo bounds. */
function checkSize(token: string, spec: string, meminfo: Meminfo): E.Either<[HostChannelErrorKind, string], bigint> {
  if (token === '') return E.right(DEFAULT_HOST_CHANNEL_SIZE);
  const parsed = parseByteSize(token);
  if (O.isNone(parsed)) return E.left(['invalid-size', `Invalid size limit for host channel: ${spec}`]);
  const size = parsed.value;
  if (size < MIN_HOST_CHANNEL_SIZE) return E.left(['size-too-small', 'Invalid size, larger than 4KB is allowed']);
  const memTotal = meminfoBytes(meminfo.memTotalKb);
  // The message prints the whole MemTotal, not the half it compared against.
  if (size > memTotal / 2n) {
    return E.left(['size-over-half-memory', `Required host channel size ${size} is larger than half of total memory ${memTotal}`]);
  }
  const memAvailable = meminfoBytes(meminfo.memAvailableKb);
  if (size > memAvailable) {
    return E.left(['size-over-available-memory', `Required host channel size ${size} is larger than available memory ${memAvailable}`]);
  }
  return E.right(size);
}

/** A meminfo kB value in bytes, as the uint64 arithmetic of get_proc_mem_size computes it. */
function meminfoBytes(kb: bigint | number | undefined): bigint {
  if (kb === undefined) return 0n;
  return BigInt.asUintN(64, BigInt(kb) * 1024n);
}
