/**
 * The checks of Kernel.spawn's and trySpawn's options: what a process can
 * be started with. Credentials are values every later call trusts and a
 * checkpoint writes down, so a value no Linux process can hold is refused
 * here, before anything is built: a uid or gid outside 0..2^32-2 (-1 is
 * no id: setresuid reads it as "unchanged", and make_kuid gives
 * INVALID_UID), more supplementary groups than NGROUPS_MAX, a capability
 * ipc-sentry does not know, or an RLIMIT_MEMLOCK pair that is not two
 * rlim_t values with soft <= hard (setrlimit's EINVAL). The namespaces and
 * the memory charge must be objects of the kinds the kernel builds (or, for
 * the charge, an object implementing MemoryCharge); whether
 * a namespace belongs to this kernel and is alive is trySpawn's own check.
 */
import * as E from 'fp-ts/lib/Either.js';
import { RLIM_INFINITY } from '../abi/constants.js';
import type { SysError } from '../abi/errno.js';
import { ALL_CAPABILITIES } from '../auth/credentials.js';
import type { Capability, CredentialsInit } from '../auth/credentials.js';
import { MemoryCgroup } from '../memcg/cgroup.js';
import { UnlimitedCharge } from '../memcg/charge.js';
import { MountNamespace } from '../vfs/mounts.js';
import { IpcNamespace } from './ipc_namespace.js';
import type { Kernel, SpawnOptions } from './kernel.js';
import { invalid, isOptions } from './syscall_args.js';

/** The largest uid_t or gid_t that names an id: (uid_t)-1 is none. */
const MAX_ID = 0xfffffffe;

/** NGROUPS_MAX: the most supplementary groups a process can have. */
const NGROUPS_MAX = 65536;

/** Whether `v` is a uid or gid a process can hold. */
export function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ID;
}

/**
 * The credentials of `options`, checked: the CredentialsInit to build the
 * process's Credentials from (its caps read once, as an array), or EINVAL
 * naming the first option that cannot be.
 */
export function decodeSpawnOptions(kernel: Kernel, options: unknown): E.Either<SysError, CredentialsInit> {
  if (!isOptions(options)) return invalid('options', options, 'an object of spawn options');
  if (options === undefined) return E.right({});
  const o = options as { readonly [K in keyof SpawnOptions]?: unknown };
  if (o.uid !== undefined && !isId(o.uid)) return invalid('uid', o.uid, 'an integer in 0..4294967294');
  if (o.gid !== undefined && !isId(o.gid)) return invalid('gid', o.gid, 'an integer in 0..4294967294');
  if (o.groups !== undefined) {
    if (!Array.isArray(o.groups) || o.groups.length > NGROUPS_MAX) return invalid('groups', o.groups, `an array of at most ${NGROUPS_MAX} gids`);
    for (const g of o.groups as readonly unknown[]) if (!isId(g)) return invalid('groups[]', g, 'an integer in 0..4294967294');
  }
  let caps: Capability[] | undefined;
  if (o.caps !== undefined) {
    const c = o.caps as { [Symbol.iterator]?: unknown } | null;
    if (typeof c !== 'object' || c === null || typeof c[Symbol.iterator] !== 'function') return invalid('caps', o.caps, 'an iterable of capability names');
    caps = [];
    for (const cap of c as Iterable<unknown>) {
      if (!(ALL_CAPABILITIES as ReadonlySet<unknown>).has(cap)) return invalid('caps[]', cap, 'a capability name');
      caps.push(cap as Capability);
    }
  }
  if (o.memlock !== undefined) {
    const m = o.memlock as { soft?: unknown; hard?: unknown } | null;
    if (typeof m !== 'object' || m === null) return invalid('memlock', o.memlock, 'an object of soft and hard limits');
    if (!isRlim(m.soft)) return invalid('memlock.soft', m.soft, 'a bigint in 0..2^64-1');
    if (!isRlim(m.hard)) return invalid('memlock.hard', m.hard, 'a bigint in 0..2^64-1');
    if (m.soft > m.hard) return invalid('memlock.soft', m.soft, `at most the hard limit ${m.hard}`);
  }
  if (o.ipcNamespace !== undefined && !(o.ipcNamespace instanceof IpcNamespace)) return invalid('ipcNamespace', o.ipcNamespace, 'an IpcNamespace');
  if (o.mountNamespace !== undefined && !(o.mountNamespace instanceof MountNamespace)) return invalid('mountNamespace', o.mountNamespace, 'a MountNamespace');
  const charge = o.memoryCharge;
  if (charge !== undefined && charge !== kernel.rootMemoryCgroup && !isSoundCgroup(charge) && !isOwnCharge(charge)) {
    return invalid('memoryCharge', charge, "this kernel's root cgroup, a MemoryCgroup, or a MemoryCharge");
  }
  const init: CredentialsInit = options as CredentialsInit;
  return E.right(caps === undefined ? init : { ...init, caps });
}

/** An rlim_t: a bigint in 0..2^64-1 (RLIM_INFINITY is the largest). */
function isRlim(v: unknown): v is bigint {
  return typeof v === 'bigint' && v >= 0n && v <= RLIM_INFINITY;
}

/**
 * A MemoryCharge of the caller's own (a test's charge with a limit of its
 * own): it works, but a checkpoint of the kernel refuses it with a Left,
 * since an image can describe only MemoryCgroups.
 */
function isOwnCharge(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || v instanceof MemoryCgroup || v instanceof UnlimitedCharge) return false;
  const c = v as { tryCharge?: unknown; uncharge?: unknown };
  return typeof c.tryCharge === 'function' && typeof c.uncharge === 'function';
}

/** A MemoryCgroup whose fields a checkpoint can write down. */
function isSoundCgroup(v: unknown): v is MemoryCgroup {
  if (!(v instanceof MemoryCgroup)) return false;
  const limit = v.limitPages;
  return typeof v.path === 'string' && (limit === undefined || (Number.isSafeInteger(limit) && limit >= 0));
}
