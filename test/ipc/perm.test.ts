import { describe, expect, it } from 'vitest';
import { makeCredentials } from '../../src/auth/credentials.js';
import type { IpcPermState } from '../../src/ipc/perm.js';
import { ipcPermits, mayControl } from '../../src/ipc/perm.js';

function perm(mode: number, uid = 1000, gid = 1000, cuid = uid, cgid = gid): IpcPermState {
  return { key: 1, id: 0, seq: 0, uid, gid, cuid, cgid, mode };
}

const nobody = makeCredentials({ uid: 65534, gid: 65534 });

describe('ipcperms', () => {
  it('uses exactly one triple: an owner without owner bits is refused even when other bits allow', () => {
    const owner = makeCredentials({ uid: 1000, gid: 1000 });
    expect(ipcPermits(owner, perm(0o066), 0o400)).toBe(false);
    expect(ipcPermits(nobody, perm(0o066), 0o004)).toBe(true);
  });

  it('matches the creator as owner after the owner changed', () => {
    const creator = makeCredentials({ uid: 1000, gid: 1 });
    expect(ipcPermits(creator, perm(0o600, 1234, 5, 1000, 1000), 0o600)).toBe(true);
  });

  it('applies the group triple through gid, cgid and supplementary groups', () => {
    const member = makeCredentials({ uid: 2000, gid: 2000, groups: [65534] });
    expect(ipcPermits(member, perm(0o640, 0, 65534, 0, 0), 0o040)).toBe(true);
    const outsider = makeCredentials({ uid: 2000, gid: 2000 });
    expect(ipcPermits(outsider, perm(0o640, 0, 65534, 0, 0), 0o040)).toBe(false);
  });

  it('folds the requested triples: 0400, 0040 and 0004 all mean read', () => {
    for (const flag of [0o400, 0o040, 0o004]) {
      expect(ipcPermits(nobody, perm(0o004), flag)).toBe(true);
      expect(ipcPermits(nobody, perm(0o002), flag)).toBe(false);
    }
  });

  it('treats x as a real request', () => {
    expect(ipcPermits(nobody, perm(0o666), 0o001)).toBe(false);
    expect(ipcPermits(nobody, perm(0o667), 0o111)).toBe(true);
  });

  it('grants everything with CAP_IPC_OWNER, nothing with CAP_SYS_ADMIN alone', () => {
    const owner = makeCredentials({ uid: 5, caps: ['CAP_IPC_OWNER'] });
    const admin = makeCredentials({ uid: 5, caps: ['CAP_SYS_ADMIN'] });
    expect(ipcPermits(owner, perm(0), 0o700)).toBe(true);
    expect(ipcPermits(admin, perm(0), 0o400)).toBe(false);
  });

  it('an empty request is always granted', () => {
    expect(ipcPermits(nobody, perm(0), 0)).toBe(true);
    expect(ipcPermits(nobody, perm(0), 0o1000 | 0o2000)).toBe(true);
  });
});

describe('ownership for IPC_SET / IPC_RMID', () => {
  it('owner, creator or CAP_SYS_ADMIN; mode bits and CAP_IPC_OWNER do not matter', () => {
    expect(mayControl(makeCredentials({ uid: 1000 }), perm(0))).toBe(true);
    expect(mayControl(makeCredentials({ uid: 1000 }), perm(0o777, 7, 7, 1000, 1000))).toBe(true);
    expect(mayControl(makeCredentials({ uid: 7 }), perm(0o777, 7, 7, 1000, 1000))).toBe(true);
    expect(mayControl(nobody, perm(0o777))).toBe(false);
    expect(mayControl(makeCredentials({ uid: 3, caps: ['CAP_IPC_OWNER'] }), perm(0o777))).toBe(false);
    expect(mayControl(makeCredentials({ uid: 3, caps: ['CAP_SYS_ADMIN'] }), perm(0))).toBe(true);
  });
});
