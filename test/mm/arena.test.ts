/**
 * MemoryFile arenas: every object's frames sit in chunks of its own, which
 * start small and double; a freed slot is reused only by its arena; a chunk
 * a live thread holds never leaves its arena, and one that does leave holds
 * no earlier arena's byte by the time a thread is given it; checkpoint restore's frames move
 * into their objects' arenas keeping their numbers and bytes.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { FrameTable } from '../../src/mm/frame_table.js';
import { MemoryFile } from '../../src/mm/memory_file.js';

const CHUNK = 64 * PAGE_SIZE;

/** The frames behind pages [0, n) of `t`, touching them. */
function touch(t: FrameTable, n: number): number[] {
  const out: number[] = [];
  for (let page = 0; page < n; page++) {
    const r = t.run(page, 1, n);
    if ('bus' in r) throw new Error('out of memory');
    out.push(r.frame);
  }
  return out;
}

const chunkOf = (mf: MemoryFile, frame: number): number => mf.chunkIdOf(frame);

describe('MemoryFile arenas', () => {
  it('keeps two objects in different chunks, however their touches interleave, and grows an arena by doubling', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    const a = new FrameTable(mf);
    const b = new FrameTable(mf);
    const fa: number[] = [];
    const fb: number[] = [];
    for (let i = 0; i < 100; i++) {
      fa.push(...touch(a, i + 1).slice(i));
      if (i < 20) fb.push(...touch(b, i + 1).slice(i));
    }
    const ca = new Set(fa.map((f) => chunkOf(mf, f)));
    const cb = new Set(fb.map((f) => chunkOf(mf, f)));
    expect([...ca].some((c) => cb.has(c))).toBe(false);
    // 100 frames: chunks of 16, 16, 32, 64 (the largest) frames.
    expect(ca.size).toBe(4);
    expect(mf.allocatedFrames).toBe(120);
    // Frame numbers stay global and lowest-first, as without arenas.
    expect([...fa, ...fb].sort((x, y) => x - y)).toEqual([...Array(120).keys()]);
  });

  it('reuses a freed slot only in its own arena', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    const a = new FrameTable(mf);
    const b = new FrameTable(mf);
    touch(a, 8);
    const chunksOfA = new Set(touch(a, 8).map((f) => chunkOf(mf, f)));
    a.removeRange(0, 4, (f) => mf.decRef(f));
    for (const f of touch(b, 8)) expect(chunksOfA.has(chunkOf(mf, f))).toBe(false);
    // a's own new pages take its freed slots.
    for (const f of touch(a, 4)) expect(chunksOfA.has(chunkOf(mf, f))).toBe(true);
  });

  it('keeps a chunk a thread holds with its arena, and clears a chunk before a thread of another arena sees it', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    const a = new FrameTable(mf);
    const fa = touch(a, 16);
    for (const f of fa) mf.chunkBytes(f).fill(0x5a, mf.byteOffset(f), mf.byteOffset(f) + PAGE_SIZE);
    const held = chunkOf(mf, fa[0] as number);
    mf.holdChunk(held);
    a.release();
    const b = new FrameTable(mf);
    const [g] = touch(b, 1) as [number];
    expect(chunkOf(mf, g)).not.toBe(held);
    b.release();
    // The thread ends: the chunk goes to the pool, and the next arena may take it.
    mf.releaseChunk(held);
    expect(mf.chunkHolders(held)).toBe(0);
    const c = new FrameTable(mf);
    const [h] = touch(c, 1) as [number];
    expect(chunkOf(mf, h)).toBe(held);
    // The page it took reads as zero; the rest is cleared when a thread is given the chunk.
    expect(
      mf
        .chunkBytes(h)
        .subarray(mf.byteOffset(h), mf.byteOffset(h) + PAGE_SIZE)
        .every((x) => x === 0),
    ).toBe(true);
    mf.holdChunk(held);
    expect(new Uint8Array(mf.chunkBuffer(held)).every((x) => x === 0)).toBe(true);
    mf.releaseChunk(held);
  });

  it('moves a restored frame into the adopting table’s arena, keeping its number and bytes', () => {
    const mf = new MemoryFile({ chunkBytes: CHUNK });
    mf.restoreFrames(4, [{ firstFrame: 1, count: 2 }]);
    mf.chunkBytes(2)[mf.byteOffset(2) + 7] = 42;
    const t = new FrameTable(mf);
    const u = new FrameTable(mf);
    t.adopt(0, 2, undefined);
    u.adopt(0, 1, undefined);
    expect(mf.arenaOf(2)).toBe(t.arena);
    expect(mf.arenaOf(1)).toBe(u.arena);
    expect(chunkOf(mf, 2)).not.toBe(chunkOf(mf, 1));
    expect(mf.chunkBytes(2)[mf.byteOffset(2) + 7]).toBe(42);
    expect(t.frameAt(0)).toBe(2);
    expect(mf.allocatedFrames).toBe(2);
  });
});
