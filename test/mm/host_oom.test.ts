/**
 * The host running out of memory while a MemoryFile grows: the chunk
 * allocator's RangeError (what SharedArrayBuffer throws) is the simulated
 * RAM running out, never a throw to the caller. A fault through a mapping
 * gets SIGBUS, a tmpfs write ENOMEM, and nothing is half-changed: the kernel
 * keeps its invariants and works again once memory is back.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CREAT, IPC_PRIVATE, PAGE_SIZE } from '../../src/abi/constants.js';
import { O_CREAT, O_RDWR } from '../../src/abi/fs.js';
import { checkInvariants } from '../../src/checkpoint/invariants.js';
import { allocateImage } from '../../src/checkpoint/save.js';
import { CheckpointFailure } from '../../src/checkpoint/errors.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { MemoryFile, hostChunk } from '../../src/mm/memory_file.js';
import { useSeed } from '../support/seed.js';

useSeed();

const CHUNK = 16 * PAGE_SIZE;

/** A chunk allocator that fails (as the host does) after `ok` chunks. */
function failingAfter(ok: number): (bytes: number) => ArrayBufferLike {
  let made = 0;
  return (bytes) => {
    if (made >= ok) throw new RangeError('Array buffer allocation failed');
    made += 1;
    return hostChunk(bytes);
  };
}

describe('host allocation failure', () => {
  it('makes MemoryFile.allocate return -1 and leaves the file as it was', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK, allocateChunk: failingAfter(1) });
    const frames: number[] = [];
    for (let i = 0; i < 16; i++) frames.push(mf.allocate());
    expect(frames).toEqual([...Array(16).keys()]);
    expect(mf.allocate()).toBe(-1);
    expect(mf.allocatedFrames).toBe(16);
    expect(mf.frameLimit).toBe(16);
    mf.decRef(3);
    expect(mf.allocate()).toBe(3);
    mf.allocateChunk = hostChunk;
    expect(mf.allocate()).toBe(16);
  });

  it('rethrows what is not an allocation failure', () => {
    const mf = new MemoryFile({
      chunkBytes: CHUNK,
      allocateChunk: () => {
        throw new TypeError('a broken allocator');
      },
    });
    expect(() => mf.allocate()).toThrow(TypeError);
  });

  it('gives SIGBUS to a fault, ENOMEM to a tmpfs write, and keeps the kernel whole, wherever the host runs out', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 80 }), (ok, segPages, filePages) => {
        const k = new Kernel({ chunkBytes: CHUNK });
        const p = k.spawn();
        k.memoryFile.allocateChunk = failingAfter(ok);
        const id = p.shmget(IPC_PRIVATE, segPages * PAGE_SIZE, IPC_CREAT | 0o600);
        if (E.isLeft(id)) throw new Error('shmget');
        const a = p.shmat(id.right, 0, 0);
        if (E.isLeft(a)) throw new Error('shmat');
        const fault = p.fill(a.right, segPages * PAGE_SIZE, 7);
        if (E.isLeft(fault)) expect(fault.left.signal).toBe('SIGBUS');
        const fd = p.open('/f', O_CREAT | O_RDWR, 0o600);
        if (E.isLeft(fd)) throw new Error('open');
        const w = p.writeFd(fd.right, new Uint8Array(filePages * PAGE_SIZE).fill(1));
        if (E.isLeft(w)) expect(w.left.errno).toBe('ENOMEM');
        else expect(w.right).toBeLessThanOrEqual(filePages * PAGE_SIZE);
        expect(E.isRight(checkInvariants(k))).toBe(true);
        // Memory comes back: everything works again.
        k.memoryFile.allocateChunk = hostChunk;
        expect(E.isRight(p.fill(a.right, segPages * PAGE_SIZE, 9))).toBe(true);
        expect(E.isRight(p.shmdt(a.right))).toBe(true);
        expect(E.isRight(p.exit())).toBe(true);
        expect(E.isRight(checkInvariants(k))).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('turns an image the host cannot allocate into a checkpoint error naming the size', () => {
    try {
      allocateImage(2 ** 53);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CheckpointFailure);
      expect((e as CheckpointFailure).error.message).toContain(String(2 ** 53));
    }
  });
});
