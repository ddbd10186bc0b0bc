/**
 * An image handed to restore in shared memory (a SharedArrayBuffer another
 * thread can write) is copied before anything is checked, so the bytes the
 * checksums passed are the bytes restored; an image in an ordinary buffer
 * is used in place (images can be large).
 */
import { describe, expect, it } from 'vitest';
import { IPC_CREAT } from '../../src/abi/constants.js';
import { checkRestoreArgs } from '../../src/checkpoint/arguments.js';
import { checkpoint, restore } from '../../src/checkpoint/index.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { ok } from '../support/either.js';

function image(): Uint8Array {
  const k = new Kernel({ memTotalBytes: 16 << 20 });
  const p = k.spawn();
  ok(p.shmget(0x1234, 4096, IPC_CREAT | 0o600));
  return ok(checkpoint(k));
}

describe('an image in shared memory', () => {
  it('is copied out of the SharedArrayBuffer before the checks; an ordinary one is not', () => {
    const plain = image();
    const shared = new Uint8Array(new SharedArrayBuffer(plain.length));
    shared.set(plain);
    const fromShared = ok(checkRestoreArgs(shared, undefined));
    expect(fromShared.image.buffer).not.toBe(shared.buffer);
    expect(Buffer.from(fromShared.image).equals(Buffer.from(plain))).toBe(true);
    expect(ok(checkRestoreArgs(plain, undefined)).image.buffer).toBe(plain.buffer);
  });

  it('restores as the same image in an ordinary buffer does', () => {
    const plain = image();
    const shared = new Uint8Array(new SharedArrayBuffer(plain.length));
    shared.set(plain);
    const q = ok(restore(shared)).spawn();
    expect(ok(q.shmget(0x1234, 0, 0))).toBeGreaterThanOrEqual(0);
  });
});
