/**
 * The part every System V IPC object shares (struct kern_ipc_perm), and the
 * rules of ipc/util.c about it: ipcperms for access, the ownership rule of
 * ipcctl_obtain_check for IPC_SET and IPC_RMID, and IPC_SET's update of the
 * owner and mode (ipc_update_perm).
 */
import type { Credentials } from '../auth/credentials.js';
import { hasCapability, inGroup } from '../auth/credentials.js';

/**
 * Ownership and permission fields of one IPC object. The owning mechanism
 * (e.g. a shm segment) holds it and guards it with its own lock.
 */
export interface IpcPermState {
  /** The key as a signed 32-bit key_t; 0 (IPC_PRIVATE) when private or dissociated. */
  key: number;
  /** The full id: seq << 15 | index. */
  id: number;
  seq: number;
  uid: number;
  gid: number;
  /** The creator's ids never change; the creator keeps owner rights for ever. */
  readonly cuid: number;
  readonly cgid: number;
  /** The nine permission bits, plus mechanism-specific bits above them. */
  mode: number;
}

/**
 * ipcperms: may `creds` have the access bits in `flag`? The request folds the
 * owner, group and other triples of `flag` into one rwx triple. Exactly one
 * triple of the object's mode applies: the owner's when the euid is the uid or
 * the cuid, else the group's when the caller is in gid or cgid, else other's.
 * CAP_IPC_OWNER overrides a refusal.
 */
export function ipcPermits(creds: Credentials, perm: IpcPermState, flag: number): boolean {
  // Owner fast path, see docs/architecture.md, "Hot paths": the owner asking
  // for what the owner bits grant is decided here, the rest out of line.
  const requested = ((flag >> 6) | (flag >> 3) | flag) & 0o7;
  if ((creds.uid === perm.cuid || creds.uid === perm.uid) && (requested & ~(perm.mode >> 6)) === 0) return true;
  return permitsBy(creds, perm, requested);
}

/** ipcPermits for `requested` (rwx bits, 0 to 7): the class that applies, then CAP_IPC_OWNER. */
function permitsBy(creds: Credentials, perm: IpcPermState, requested: number): boolean {
  let granted = perm.mode;
  if (creds.uid === perm.cuid || creds.uid === perm.uid) {
    granted >>= 6;
  } else if (inGroup(creds, perm.cgid) || inGroup(creds, perm.gid)) {
    granted >>= 3;
  }
  if ((requested & ~granted & 0o7) === 0) return true;
  return hasCapability(creds, 'CAP_IPC_OWNER');
}

/** The euid is the owner or the creator of the object. */
export function isOwnerOrCreator(creds: Credentials, perm: IpcPermState): boolean {
  return creds.uid === perm.uid || creds.uid === perm.cuid;
}

/**
 * ipcctl_obtain_check's rule for IPC_SET and IPC_RMID: the owner, the
 * creator, or a holder of CAP_SYS_ADMIN (not CAP_IPC_OWNER).
 */
export function mayControl(creds: Credentials, perm: IpcPermState): boolean {
  return isOwnerOrCreator(creds, perm) || hasCapability(creds, 'CAP_SYS_ADMIN');
}

/** The uid, gid and mode that IPC_SET copies in. */
export interface IpcSetArgs {
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

/** (uid_t)-1, which IPC_SET refuses as an owner. */
const INVALID_ID = 0xffffffff;

/** ipc_update_perm's refusal: -1 is no valid uid or gid (EINVAL). */
export function validOwner(set: IpcSetArgs): boolean {
  return set.uid >>> 0 !== INVALID_ID && set.gid >>> 0 !== INVALID_ID;
}

/**
 * ipc_update_perm: the new owner, and the nine permission bits (the
 * mechanism's bits above them stay). Precondition: validOwner(set), and the
 * object's lock is held.
 */
export function updatePerm(perm: IpcPermState, set: IpcSetArgs): void {
  perm.uid = set.uid >>> 0;
  perm.gid = set.gid >>> 0;
  perm.mode = (perm.mode & ~0o777) | (set.mode & 0o777);
}

/**
 * The perm of an object being created (ipc_addid): the caller's euid and
 * egid as both owner and creator, the nine bits of the get call's flags.
 * The id is filled in when the registry enters the object.
 */
export function newPerm(creds: Credentials, key: number, flags: number): IpcPermState {
  return { key, id: -1, seq: 0, uid: creds.uid, gid: creds.gid, cuid: creds.uid, cgid: creds.gid, mode: flags & 0o777 };
}
