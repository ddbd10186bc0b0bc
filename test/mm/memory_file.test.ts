import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { MemoryFile } from '../../src/mm/memory_file.js';

const CHUNK = 4 * PAGE_SIZE;

describe('MemoryFile', () => {
  it('hands out consecutive zeroed frames with one reference each', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    const frames = [mf.allocate(), mf.allocate(), mf.allocate()];
    expect(frames).toEqual([0, 1, 2]);
    for (const f of frames) {
      expect(mf.refCount(f)).toBe(1);
      const at = mf.byteOffset(f);
      expect(
        mf
          .chunkBytes(f)
          .subarray(at, at + PAGE_SIZE)
          .every((b) => b === 0),
      ).toBe(true);
    }
    expect(mf.allocatedFrames).toBe(3);
  });

  it('creates chunks lazily and places frames by chunk and offset', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    expect(mf.reservedBytes).toBe(0);
    expect(mf.chunkShift).toBe(2);
    const frames = Array.from({ length: 5 }, () => mf.allocate());
    expect(mf.reservedBytes).toBe(2 * CHUNK);
    // Identity comparisons: toBe on 16 KiB arrays would format them.
    expect(mf.chunkBytes(frames[3] ?? -1) === mf.chunkBytes(0)).toBe(true);
    expect(mf.chunkBytes(frames[4] ?? -1) === mf.chunkBytes(0)).toBe(false);
    expect(mf.byteOffset(4)).toBe(0);
    expect(mf.byteOffset(3)).toBe(3 * PAGE_SIZE);
  });

  it('uses SharedArrayBuffer chunks when the platform has them', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    const f = mf.allocate();
    expect(mf.chunkBytes(f).buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(mf.int32View(f).buffer).toBe(mf.chunkBytes(f).buffer);
  });

  it('reports how many frames stay within one chunk', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    expect(mf.contiguousInChunk(0, 10)).toBe(4);
    expect(mf.contiguousInChunk(2, 10)).toBe(2);
    expect(mf.contiguousInChunk(5, 2)).toBe(2);
    expect(mf.contiguousInChunk(7, 1)).toBe(1);
  });

  it('counts references and frees a frame at zero', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    const f = mf.allocate();
    mf.incRef(f);
    expect(mf.refCount(f)).toBe(2);
    mf.decRef(f);
    expect(mf.allocatedFrames).toBe(1);
    mf.decRef(f);
    expect(mf.refCount(f)).toBe(0);
    expect(mf.allocatedFrames).toBe(0);
    expect(() => mf.decRef(f)).toThrow(/already free/);
    expect(() => mf.incRef(f)).toThrow(/is free/);
    expect(() => mf.incRef(99)).toThrow(/never allocated/);
  });

  it('reuses freed frames lowest first and zeroes them', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    const frames = Array.from({ length: 6 }, () => mf.allocate());
    for (const f of frames) {
      mf.chunkBytes(f).fill(0xab, mf.byteOffset(f), mf.byteOffset(f) + PAGE_SIZE);
    }
    for (const f of [4, 1, 3, 2]) {
      mf.decRef(f);
    }
    const reused = [mf.allocate(), mf.allocate(), mf.allocate(), mf.allocate(), mf.allocate()];
    expect(reused).toEqual([1, 2, 3, 4, 6]);
    for (const f of reused) {
      const at = mf.byteOffset(f);
      expect(
        mf
          .chunkBytes(f)
          .subarray(at, at + PAGE_SIZE)
          .every((b) => b === 0),
      ).toBe(true);
    }
    expect(mf.reservedBytes).toBe(2 * CHUNK);
  });

  it('poisons freed frames when asked to', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK, poisonFreed: 0xcc });
    const f = mf.allocate();
    mf.decRef(f);
    const at = mf.byteOffset(f);
    expect(
      mf
        .chunkBytes(f)
        .subarray(at, at + PAGE_SIZE)
        .every((b) => b === 0xcc),
    ).toBe(true);
    expect(mf.allocate()).toBe(f);
    expect(mf.chunkBytes(f)[at]).toBe(0);
  });

  it('fails allocation with -1 when the simulated RAM is exhausted, and recovers after a free', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK, maxFrames: 3 });
    expect(mf.totalFrames).toBe(3);
    const frames = [mf.allocate(), mf.allocate(), mf.allocate()];
    expect(mf.allocate()).toBe(-1);
    mf.decRef(frames[1] ?? -1);
    expect(mf.allocate()).toBe(1);
    expect(mf.allocate()).toBe(-1);
  });

  it('keeps many frees and reallocations consistent', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    const frames = Array.from({ length: 1000 }, () => mf.allocate());
    for (let i = frames.length - 1; i >= 0; i -= 2) {
      mf.decRef(frames[i] ?? -1);
    }
    expect(mf.allocatedFrames).toBe(500);
    const again = Array.from({ length: 500 }, () => mf.allocate());
    expect(again).toEqual(Array.from({ length: 500 }, (_, i) => 2 * i + 1));
    expect(mf.allocate()).toBe(1000);
  });

  it('rejects a chunk size that is not a power of two of pages', () => {
    expect(() => new MemoryFile({ chunkBytes: 3 * PAGE_SIZE })).toThrow(RangeError);
    expect(() => new MemoryFile({ chunkBytes: 1024 })).toThrow(RangeError);
  });

  it('restores held runs across chunk boundaries, frees the gaps in order, and refuses runs out of order', () => {
    const framesPerChunk = CHUNK / PAGE_SIZE;
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    // One run crossing from the first chunk into the second, and one at the very end.
    const limit = 2 * framesPerChunk + 3;
    mf.restoreFrames(limit, [
      { firstFrame: 2, count: framesPerChunk },
      { firstFrame: limit - 1, count: 1 },
    ]);
    expect(mf.frameLimit).toBe(limit);
    expect(mf.allocatedFrames).toBe(framesPerChunk + 1);
    expect([0, 1, 2, framesPerChunk + 1, framesPerChunk + 2, limit - 1].map((f) => mf.refCount(f))).toEqual([0, 0, 1, 1, 0, 1]);
    // The free frames come back lowest first: the gap before the first run, then the one after it.
    const reused = Array.from({ length: 4 }, () => mf.allocate());
    expect(reused).toEqual([0, 1, framesPerChunk + 2, framesPerChunk + 3]);
    expect(() =>
      new MemoryFile({ chunkBytes: CHUNK }).restoreFrames(10, [
        { firstFrame: 5, count: 2 },
        { firstFrame: 6, count: 1 },
      ]),
    ).toThrow(RangeError);
    expect(() => new MemoryFile({ chunkBytes: CHUNK }).restoreFrames(10, [{ firstFrame: 9, count: 2 }])).toThrow(RangeError);
    expect(() => mf.restoreFrames(limit, [])).toThrow(/already handed out/);
  });
});
