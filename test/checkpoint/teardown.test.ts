/**
 * A namespace torn down while a segment is still attached (its last member
 * unshared, the mapping went along): teardown marks the segment for
 * destruction and it lives until the last detach. Such a kernel checkpoints,
 * restores and passes checkInvariants, and the segment goes at the detach.
 * (The API boundary property test found this: restore refused the state.)
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE } from '../../src/abi/constants.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { ok } from '../support/either.js';

describe('a torn-down namespace with an attached segment', () => {
  it('checkpoints, restores and keeps its invariants until the last detach', () => {
    const kernel = new Kernel();
    const ns = kernel.newIpcNamespace();
    const p = kernel.spawn({ ipcNamespace: ns });
    const addr = ok(p.shmat(ok(p.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)), 0, 0));
    ok(p.write(addr, new Uint8Array([9])));
    ok(p.unshareIpc());
    expect(ns.isDead).toBe(true);
    expect(E.isRight(checkInvariants(kernel))).toBe(true);
    const copy = ok(restore(ok(checkpoint(kernel))));
    expect(E.isRight(checkInvariants(copy))).toBe(true);
    const twin = copy.processes().find((q) => q.pid === p.pid)!;
    expect(ok(twin.read(addr, 1))[0]).toBe(9);
    ok(twin.shmdt(addr));
    expect(copy.memoryFile.allocatedFrames).toBe(0);
  });
});
