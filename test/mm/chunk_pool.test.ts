/**
 * The process-wide pool of chunk buffers: a disposed MemoryFile gives its
 * chunks to it (one a thread still holds only once that thread released
 * it), the next MemoryFile takes them before it asks the host, and a frame
 * allocated in a pooled buffer reads as zero whatever the earlier owner
 * left there. A disposed MemoryFile hands out nothing any more. Arenas grow
 * geometrically, so a huge object costs buffers in proportion to the pages
 * it touched.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { FrameTable } from '../../src/mm/frame_table.js';
import { MemoryFile, drainChunkPool, pooledChunkBytes } from '../../src/mm/memory_file.js';

const FIRST = 16 * PAGE_SIZE;

/** Touches pages [0, n) of `t` and returns their frames. */
function touch(t: FrameTable, n: number): number[] {
  const out: number[] = [];
  for (let page = 0; page < n; page++) {
    const r = t.run(page, 1, n);
    if ('bus' in r) throw new Error('out of memory');
    out.push(r.frame);
  }
  return out;
}

/** Fills every byte of the chunk holding `frame` with `byte`, as a program that used it all would leave it. */
function dirty(mf: MemoryFile, frame: number, byte: number): ArrayBufferLike {
  const bytes = mf.chunkBytes(frame);
  bytes.fill(byte);
  return bytes.buffer;
}

beforeEach(() => drainChunkPool());

describe('the process-wide chunk pool', () => {
  it('takes a disposed MemoryFile’s buffer for the next one, and a frame allocated there reads as zero', () => {
    const a = new MemoryFile();
    const [fa] = touch(new FrameTable(a), 1) as [number];
    const buffer = dirty(a, fa, 0xa5);
    expect(a.memoryUsage()).toEqual({ sabBytes: FIRST, pooledBytes: 0 });
    a.dispose();
    expect(a.memoryUsage()).toEqual({ sabBytes: 0, pooledBytes: FIRST });
    expect(pooledChunkBytes()).toBe(FIRST);

    const b = new MemoryFile();
    const t = new FrameTable(b);
    const frames = touch(t, 3);
    expect(b.chunkBuffer(b.chunkIdOf(frames[0] as number))).toBe(buffer);
    expect(b.memoryUsage()).toEqual({ sabBytes: FIRST, pooledBytes: 0 });
    for (const f of frames)
      expect(
        b
          .chunkBytes(f)
          .subarray(b.byteOffset(f), b.byteOffset(f) + PAGE_SIZE)
          .every((x) => x === 0),
      ).toBe(true);
    // Slots no frame used yet are cleared before a thread is given the chunk.
    const id = b.chunkIdOf(frames[0] as number);
    b.holdChunk(id);
    expect(new Uint8Array(b.chunkBuffer(id)).every((x) => x === 0)).toBe(true);
    b.releaseChunk(id);
    b.dispose();
  });

  it('keeps a chunk a thread holds out of the pool until the thread releases it', () => {
    const a = new MemoryFile();
    const [fa] = touch(new FrameTable(a), 1) as [number];
    const id = a.chunkIdOf(fa);
    const held = dirty(a, fa, 0x5a);
    a.holdChunk(id);
    a.dispose();
    expect(pooledChunkBytes()).toBe(0);
    expect(a.memoryUsage().sabBytes).toBe(FIRST);
    expect(a.chunkHolders(id)).toBe(1);

    // Another MemoryFile meanwhile gets a buffer of its own.
    const b = new MemoryFile();
    const [fb] = touch(new FrameTable(b), 1) as [number];
    expect(b.chunkBuffer(b.chunkIdOf(fb))).not.toBe(held);

    a.releaseChunk(id);
    expect(a.chunkHolders(id)).toBe(0);
    expect(a.memoryUsage().sabBytes).toBe(0);
    expect(pooledChunkBytes()).toBe(FIRST);
    const c = new MemoryFile();
    const [fc] = touch(new FrameTable(c), 1) as [number];
    expect(c.chunkBuffer(c.chunkIdOf(fc))).toBe(held);
    expect(
      c
        .chunkBytes(fc)
        .subarray(c.byteOffset(fc), c.byteOffset(fc) + PAGE_SIZE)
        .every((x) => x === 0),
    ).toBe(true);
  });

  it('hands out nothing after dispose, ignores reference drops, refuses to show bytes, and a second dispose does nothing', () => {
    const mf = new MemoryFile();
    const t = new FrameTable(mf);
    const [f] = touch(t, 1) as [number];
    mf.dispose();
    expect(mf.disposed).toBe(true);
    expect(mf.allocate()).toBe(-1);
    expect('bus' in t.run(1, 1, 2)).toBe(true);
    t.release();
    expect(() => mf.chunkBytes(f)).toThrow(/disposed/);
    expect(mf.moveTo(f, mf.newArena())).toBe(false);
    mf.dispose();
    expect(pooledChunkBytes()).toBe(FIRST);
  });

  it('leaves buffers of an injected allocator out of the pool, and gives none to one', () => {
    const made: ArrayBufferLike[] = [];
    const own = (bytes: number): ArrayBufferLike => {
      const b = new SharedArrayBuffer(bytes);
      made.push(b);
      return b;
    };
    const a = new MemoryFile({ allocateChunk: own });
    touch(new FrameTable(a), 1);
    a.dispose();
    expect(pooledChunkBytes()).toBe(0);

    const b = new MemoryFile();
    touch(new FrameTable(b), 1);
    b.dispose();
    expect(pooledChunkBytes()).toBe(FIRST);
    const c = new MemoryFile({ allocateChunk: own });
    const [fc] = touch(new FrameTable(c), 1) as [number];
    expect(made).toContain(c.chunkBuffer(c.chunkIdOf(fc)));
    expect(pooledChunkBytes()).toBe(FIRST);
  });

  it('grows a huge object’s arena geometrically: 1 GiB untouched holds nothing, and touched pages cost at most twice their bytes', () => {
    const mf = new MemoryFile();
    const t = new FrameTable(mf);
    expect(mf.memoryUsage().sabBytes).toBe(0);
    let touched = 0;
    const chunks = new Set<number>();
    for (const n of [1, 17, 100, 1000, 5000]) {
      // Pages spread over 1 GiB of pages, one every 64.
      for (; touched < n; touched++) {
        const r = t.run(touched * 64, 1, 2 ** 18);
        if ('bus' in r) throw new Error('out of memory');
        chunks.add(mf.chunkIdOf(r.frame));
      }
      const bytes = mf.memoryUsage().sabBytes;
      expect(bytes).toBeGreaterThanOrEqual(touched * PAGE_SIZE);
      expect(bytes).toBeLessThanOrEqual(Math.max(FIRST, 2 * touched * PAGE_SIZE));
      // 16, 32, 64, ... frames: a chunk per doubling.
      expect(chunks.size).toBeLessThanOrEqual(Math.ceil(Math.log2(touched / 16 + 1)) + 1);
    }
    mf.dispose();
  });
});
