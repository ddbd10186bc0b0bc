/**
 * The JSON records the engine stores and reads back: the `HostChannel`
 * object of the hostconfig (lcr src/json/schema/host-config.json) and a
 * container's config record. Stored files are untrusted input: they are
 * decoded with io-ts into typed values, or rejected with one line per bad
 * field that names the field's path.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { isValidMountMode } from './mode.js';
import type { HostChannel } from './spec.js';

/**
 * A byte count: a non-negative JSON integer, as a bigint. JSON.parse reads
 * every number as a double, so only safe integers (below 2^53) are known to
 * be exact; a larger one is refused rather than silently rounded.
 */
const ByteCount = new t.Type<bigint, number, unknown>(
  'a non-negative integer',
  (u): u is bigint => typeof u === 'bigint' && u >= 0n && u <= BigInt(Number.MAX_SAFE_INTEGER),
  (u, c) => {
    if (typeof u === 'number' && Number.isSafeInteger(u) && u >= 0) return t.success(BigInt(u));
    if (typeof u === 'number' && Number.isInteger(u) && u > 0) {
      return t.failure(u, c, 'expected a non-negative integer below 2^53 (larger ones lose digits in JSON)');
    }
    return t.failure(u, c);
  },
  (b) => Number(b),
);

/** An absolute path, as the engine needs for both ends of the channel. */
const AbsolutePath = new t.Type<string, string, unknown>(
  'an absolute path',
  (u): u is string => typeof u === 'string' && u.startsWith('/'),
  (u, c) => (typeof u === 'string' && u.startsWith('/') ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** A mount mode util_valid_mount_mode accepts. */
const MountMode = new t.Type<string, string, unknown>(
  'a mount mode such as "rw" or "ro,rshared"',
  (u): u is string => typeof u === 'string' && isValidMountMode(u),
  (u, c) => (typeof u === 'string' && isValidMountMode(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** The stored form of a host channel, field names as in the hostconfig JSON. */
export interface HostChannelJson {
  readonly PathOnHost: string;
  readonly PathInContainer: string;
  readonly Permissions: string;
  readonly Size: number;
}

const HostChannelFields = t.type({ PathOnHost: AbsolutePath, PathInContainer: AbsolutePath, Permissions: MountMode, Size: ByteCount }, 'an object');

/**
 * HostChannel ⇄ its hostconfig JSON. The daemon does not re-validate a
 * stored channel, so a Size of 0 (an unlimited tmpfs) decodes; the paths must
 * be absolute and the mode a valid mount mode, since the engine relies on both.
 */
export const HostChannelCodec: t.Type<HostChannel, HostChannelJson, unknown> = renamed(
  HostChannelFields,
  (r) => ({ pathOnHost: r.PathOnHost, pathInContainer: r.PathInContainer, permissions: r.Permissions, size: r.Size }),
  (h) => ({ PathOnHost: h.pathOnHost, PathInContainer: h.pathInContainer, Permissions: h.permissions, Size: h.size }),
);

/** The lifecycle states of a container, as `isula inspect` names them in State.Status. */
export type ContainerState = 'created' | 'running' | 'exited';

const ContainerStateCodec = t.keyof({ created: null, running: null, exited: null }, 'one of "created", "running", "exited"');

/** The engine's record of one container. */
export interface ContainerConfig {
  readonly name: string;
  readonly state: ContainerState;
  readonly hostChannel?: HostChannel;
  /** The memory cgroup limit in bytes (`isula run -m`); absent or 0 means no limit. */
  readonly memoryLimit?: bigint;
  /** The --ipc value as given; absent when the option was not (a shareable container). */
  readonly ipcMode?: string;
  /** The size of the container's own /dev/shm tmpfs in bytes, as the daemon settled it (64 MiB for none or 0). */
  readonly shmSize?: bigint;
}

/** The stored form of a container record; HostConfig holds what `isula inspect` shows there. */
export interface ContainerConfigJson {
  readonly Name: string;
  readonly State: ContainerState;
  readonly HostConfig: {
    readonly HostChannel?: HostChannelJson;
    readonly Memory?: number;
    readonly IpcMode?: string;
    readonly ShmSize?: number;
  };
}

const ContainerName = new t.Type<string, string, unknown>(
  'a non-empty string',
  (u): u is string => typeof u === 'string' && u !== '',
  (u, c) => (typeof u === 'string' && u !== '' ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const ContainerFields = t.type(
  {
    Name: ContainerName,
    State: ContainerStateCodec,
    HostConfig: t.partial({ HostChannel: HostChannelCodec, Memory: ByteCount, IpcMode: t.string, ShmSize: ByteCount }, 'an object'),
  },
  'an object',
);

/** ContainerConfig ⇄ its stored JSON. */
export const ContainerConfigCodec: t.Type<ContainerConfig, ContainerConfigJson, unknown> = renamed(
  ContainerFields,
  (r) => ({
    name: r.Name,
    state: r.State,
    ...(r.HostConfig.HostChannel !== undefined ? { hostChannel: r.HostConfig.HostChannel } : {}),
    ...(r.HostConfig.Memory !== undefined ? { memoryLimit: r.HostConfig.Memory } : {}),
    ...(r.HostConfig.IpcMode !== undefined ? { ipcMode: r.HostConfig.IpcMode } : {}),
    ...(r.HostConfig.ShmSize !== undefined ? { shmSize: r.HostConfig.ShmSize } : {}),
  }),
  (config) => ({
    Name: config.name,
    State: config.state,
    HostConfig: {
      ...(config.hostChannel !== undefined ? { HostChannel: config.hostChannel } : {}),
      ...(config.memoryLimit !== undefined ? { Memory: config.memoryLimit } : {}),
      ...(config.ipcMode !== undefined ? { IpcMode: config.ipcMode } : {}),
      ...(config.shmSize !== undefined ? { ShmSize: config.shmSize } : {}),
    },
  }),
);

/**
 * The codec of a camelCase value stored under JSON field names: `fields`
 * decodes the JSON, `toValue` renames the result, `toFields` renames back.
 */
function renamed<F, O, V>(fields: t.Type<F, O, unknown>, toValue: (f: F) => V, toFields: (v: V) => F): t.Type<V, O, unknown> {
  return new t.Type<V, O, unknown>(
    fields.name,
    (u): u is V => typeof u === 'object' && u !== null && fields.is(toFields(u as V)),
    (u, c) => E.map(toValue)(fields.validate(u, c)),
    (v) => fields.encode(toFields(v)),
  );
}

/**
 * Decodes a stored HostChannel object. Errors name the field from the
 * record's root, e.g. `HostChannel.Size: expected a non-negative integer, got "abc"`.
 */
export function decodeHostChannel(json: unknown): E.Either<string[], HostChannel> {
  return E.mapLeft((errors: t.Errors) => describeErrors(errors, 'HostChannel'))(HostChannelCodec.decode(json));
}

/** Decodes a stored container record; errors name the field path, e.g. `HostConfig.Memory: ...`. */
export function decodeContainerConfig(json: unknown): E.Either<string[], ContainerConfig> {
  return E.mapLeft((errors: t.Errors) => describeErrors(errors, ''))(ContainerConfigCodec.decode(json));
}

/** Parses the text of a stored container record and decodes it. */
export function parseContainerConfig(text: string): E.Either<string[], ContainerConfig> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return E.left([`not JSON: ${e instanceof Error ? e.message : String(e)}`]);
  }
  return decodeContainerConfig(json);
}

/** The JSON text of a container record. */
export function stringifyContainerConfig(config: ContainerConfig): string {
  return JSON.stringify(ContainerConfigCodec.encode(config));
}

/**
 * One line per failed field: `<path>: expected <what>, got <value>`. io-ts
 * reports a field once per failing layer; only the innermost (the field's
 * own type) is kept.
 */
function describeErrors(errors: t.Errors, root: string): string[] {
  const lines = errors.map((error) => {
    const keys = error.context.map((entry) => entry.key).filter((key) => key !== '');
    const path = [root, ...keys].filter((key) => key !== '').join('.');
    const expected = error.message ?? `expected ${error.context[error.context.length - 1]?.type.name ?? 'a value'}`;
    return `${path === '' ? '(root)' : path}: ${expected}, got ${show(error.value)}`;
  });
  return [...new Set(lines)];
}

/** A value as the error line shows it: JSON where JSON can say it. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}
