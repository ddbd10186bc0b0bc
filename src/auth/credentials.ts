/**
 * Process credentials as the SysV IPC code consults them: effective ids,
 * supplementary groups, the capabilities that matter to IPC, and the
 * RLIMIT_MEMLOCK pair. Credentials are immutable values; a process replaces
 * its Credentials object to change them.
 */
import { RLIMIT_MEMLOCK_DEFAULT } from '../abi/constants.js';

/** The capabilities ipc-sentry models, by their Linux names. */
export type Capability = 'CAP_IPC_OWNER' | 'CAP_IPC_LOCK' | 'CAP_SYS_ADMIN' | 'CAP_SYS_RESOURCE' | 'CAP_SYS_RAWIO' | 'CAP_FOWNER' | 'CAP_DAC_OVERRIDE';

/** Every modelled capability: what root holds by default. */
export const ALL_CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>([
  'CAP_IPC_OWNER',
  'CAP_IPC_LOCK',
  'CAP_SYS_ADMIN',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_RAWIO',
  'CAP_FOWNER',
  'CAP_DAC_OVERRIDE',
]);

/** A resource limit: soft and hard values in bytes; RLIM_INFINITY for none. */
export interface RLimit {
  readonly soft: bigint;
  readonly hard: bigint;
}

/** Who a process is, for permission checks. */
export interface Credentials {
  /** Effective uid (also the fsuid: ipc-sentry does not split them). */
  readonly uid: number;
  /** Effective gid. */
  readonly gid: number;
  /** Supplementary groups. */
  readonly groups: readonly number[];
  readonly caps: ReadonlySet<Capability>;
  readonly memlock: RLimit;
}

/** Options for building Credentials; unspecified fields take Linux's defaults for a login. */
export interface CredentialsInit {
  readonly uid?: number;
  readonly gid?: number;
  readonly groups?: readonly number[];
  /** Defaults to every capability for uid 0 and none otherwise. */
  readonly caps?: Iterable<Capability>;
  readonly memlock?: RLimit;
}

/** Builds Credentials, defaulting as a fresh process would have them. */
export function makeCredentials(init: CredentialsInit = {}): Credentials {
  const uid = init.uid ?? 0;
  return {
    uid,
    gid: init.gid ?? 0,
    groups: [...(init.groups ?? [])],
    caps: new Set(init.caps ?? (uid === 0 ? ALL_CAPABILITIES : [])),
    memlock: init.memlock ?? { soft: RLIMIT_MEMLOCK_DEFAULT, hard: RLIMIT_MEMLOCK_DEFAULT },
  };
}

/** True when the credentials hold `cap` (capable() in Linux; one user namespace). */
export function hasCapability(creds: Credentials, cap: Capability): boolean {
  return creds.caps.has(cap);
}

/** in_group_p: the egid or any supplementary group is `gid`. */
export function inGroup(creds: Credentials, gid: number): boolean {
  return creds.gid === gid || creds.groups.includes(gid);
}
