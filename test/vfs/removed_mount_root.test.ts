/**
 * The source directory of a bind mount can be removed, as on Linux (it is
 * not itself a mount point): the mount keeps the directory (its mnt_root)
 * alive, new entries in it are ENOENT (a dead directory), the kernel still
 * checkpoints and restores, and the directory goes with the mount.
 * (The API boundary property test found the image refused before.)
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_WRONLY } from '../../src/abi/fs.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { errno, ok } from '../support/either.js';

describe('a bind mount whose source directory was removed', () => {
  it('keeps its root, refuses new entries, checkpoints, and lets the directory go at umount', () => {
    const kernel = new Kernel();
    const p = kernel.spawn();
    ok(p.mkdir('/a', 0o755));
    ok(p.mkdir('/b', 0o755));
    ok(p.bindMount('/a', '/b'));
    ok(p.rmdir('/a'));
    expect(errno(p.stat('/a'))).toBe('ENOENT');
    expect(ok(p.stat('/b')).mode & 0o777).toBe(0o755);
    expect(errno(p.open('/b/x', O_WRONLY | O_CREAT, 0o644))).toBe('ENOENT');
    expect(errno(p.mkdir('/b/d', 0o755))).toBe('ENOENT');
    expect(E.isRight(checkInvariants(kernel))).toBe(true);
    const copy = ok(restore(ok(checkpoint(kernel))));
    expect(E.isRight(checkInvariants(copy))).toBe(true);
    ok(p.umount('/b'));
    expect(E.isRight(checkInvariants(kernel))).toBe(true);
  });
});
