/**
 * Starting processes in namespaces they cannot enter: a namespace whose last
 * process left, or one of another kernel. No throw: trySpawn says EINVAL and
 * spawn's process exits at once.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, Kernel } from '../../src/index.js';
import { makeCredentials } from '../../src/auth/credentials.js';
import { errno, ok } from '../support/either.js';

describe('spawn into a namespace it cannot enter', () => {
  it('an IPC namespace torn down when its last process left: EINVAL, and spawn gives an exited process', () => {
    const k = new Kernel();
    const ns = k.newIpcNamespace();
    const first = ok(k.trySpawn({ ipcNamespace: ns }));
    ok(first.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600));
    ok(first.exit());
    expect(ns.isDead).toBe(true);
    expect(errno(k.trySpawn({ ipcNamespace: ns }))).toBe('EINVAL');
    const late = k.spawn({ ipcNamespace: ns });
    expect(late.exited).toBe(true);
    expect(errno(late.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600))).toBe('ESRCH');
    // The failed starts left nothing behind: no live process, no namespace brought back.
    expect(k.processes()).toEqual([]);
    expect(k.ipcNamespaces()).toEqual([k.initialIpcNamespace]);
  });

  it('namespaces of another kernel: EINVAL', () => {
    const a = new Kernel();
    const b = new Kernel();
    const foreign = b.newIpcNamespace();
    expect(errno(a.trySpawn({ ipcNamespace: foreign }))).toBe('EINVAL');
    expect(errno(a.trySpawn({ ipcNamespace: b.initialIpcNamespace }))).toBe('EINVAL');
    expect(errno(a.trySpawn({ mountNamespace: b.initialMountNamespace }))).toBe('EINVAL');
    expect(a.processes()).toEqual([]);
  });

  it('a mount namespace whose last process left: EINVAL', () => {
    const k = new Kernel();
    const host = k.spawn();
    ok(host.mkdir('/jail'));
    const loc = ok(k.initialMountNamespace.resolve(makeCredentials({}), '/jail'));
    const mnt = ok(k.newMountNamespace(loc));
    const p = ok(k.trySpawn({ mountNamespace: mnt }));
    mnt.leave();
    ok(p.exit());
    expect(mnt.isDead).toBe(true);
    expect(errno(k.trySpawn({ mountNamespace: mnt }))).toBe('EINVAL');
    expect(E.isRight(k.trySpawn())).toBe(true);
  });
});
