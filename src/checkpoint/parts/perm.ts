/**
 * The perm of a System V object (shm segment, semaphore set, message queue)
 * as an image records it, and back: the id, key, owner, creator and mode
 * (the sequence number is derived from the id).
 */
import { idSeq } from '../../ipc/ids.js';
import type { IpcPermState } from '../../ipc/perm.js';

/** The recorded fields of a perm. */
export interface PermMeta {
  readonly id: number;
  readonly key: number;
  readonly uid: number;
  readonly gid: number;
  readonly cuid: number;
  readonly cgid: number;
  readonly mode: number;
}

/** What an image records of `p`. */
export function permMeta(p: IpcPermState): PermMeta {
  return { id: p.id, key: p.key, uid: p.uid, gid: p.gid, cuid: p.cuid, cgid: p.cgid, mode: p.mode };
}

/** The perm a restored object starts with. */
export function restoredPerm(m: PermMeta): IpcPermState {
  return { key: m.key, id: m.id, seq: idSeq(m.id), uid: m.uid, gid: m.gid, cuid: m.cuid, cgid: m.cgid, mode: m.mode };
}
