/**
 * Files past 2^53 bytes (tmpfs goes to 2^63 - 1) checkpoint and restore
 * exactly: sizes and file positions beyond a JSON number's exact range are
 * written as decimal strings, and the one page at 2^62 comes back.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkInvariants, checkpoint, restore } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { ok } from '../support/either.js';

describe('a sparse file past 2^53 bytes', () => {
  it('round-trips byte for byte, with its size, its page and an open file position', () => {
    const kernel = new Kernel();
    const p = kernel.spawn();
    const fd = ok(p.open('/big', O_RDWR | O_CREAT, 0o644));
    expect(ok(p.pwrite(fd, new TextEncoder().encode('!'), 2n ** 62n))).toBe(1);
    expect(ok(p.stat('/big')).size).toBe(2n ** 62n + 1n);
    const image = ok(checkpoint(kernel));
    const copy = ok(restore(image));
    expect(E.isRight(checkInvariants(copy))).toBe(true);
    expect(Buffer.compare(Buffer.from(ok(checkpoint(copy))), Buffer.from(image))).toBe(0);
    const twin = copy.processes().find((q) => q.pid === p.pid)!;
    expect(ok(twin.stat('/big')).size).toBe(2n ** 62n + 1n);
    expect(new TextDecoder().decode(ok(twin.pread(fd, 1, 2n ** 62n)))).toBe('!');
  });
});
